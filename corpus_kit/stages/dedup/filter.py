"""Dedup phase 4: drop the records the cluster phase marked, annotate the survivors.

The filter sees the same records, in the same order, as the signature phase did; each record's id is
checked against the fingerprint taken then, so a change in between (edited input, a stage that is
not deterministic) stops the run instead of dropping the wrong records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import orjson
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.filters.base_filter import BaseFilter

from corpus_kit.errors import CorpusKitError
from corpus_kit.stages.base import Preparation
from corpus_kit.stages.dedup.buckets import DedupBuckets
from corpus_kit.stages.dedup.clusters import DedupClusters
from corpus_kit.stages.dedup.config import DedupConfig
from corpus_kit.stages.dedup.signature import DedupSignatures, id_check
from corpus_kit.stages.dedup.state import DedupState
from corpus_kit.utils import atomic_write_bytes

if TYPE_CHECKING:
    from corpus_kit.governance.manifest import DedupSummary
    from corpus_kit.io.parquet_writer import ParquetShardWriter


class DedupFilter(BaseFilter):
    """Drops ``dedup.exact`` / ``dedup.near`` / ``dedup.media`` copies; annotates survivors.

    Survivors get ``dup_cluster`` (the id of the record kept for the cluster) and ``dup_count``.
    """

    name = "🫂 dedup"

    def __init__(
        self,
        state_dir: str,
        config: DedupConfig,
        exclusion_writer: ParquetShardWriter | None = None,
        index_out: str | None = None,
    ):
        super().__init__(exclusion_writer=exclusion_writer)
        self.state_dir = state_dir
        self.config = config
        self.index_out = index_out

    def warm_up(self) -> None:
        """Import what the cluster phase needs (scipy, ~0.15 s): it is forked from this process later."""
        import scipy.sparse.csgraph  # noqa: F401

    def preparation(self) -> list[Preparation]:
        buckets = DedupBuckets(self.state_dir, self.config)
        return [
            Preparation("dedup-signatures", [DedupSignatures(self.state_dir, self.config)], after_input=True),
            Preparation("dedup-buckets", [buckets], tasks=buckets.tasks),
            Preparation("dedup-clusters", [DedupClusters(self.state_dir, self.config)], tasks=1),
        ]

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        state = DedupState(self.state_dir)
        try:
            checks = np.load(state.docs(rank))["id_check"]
            # ParquetFile, not read_table: that would import pyarrow.dataset in every worker
            decisions = pq.ParquetFile(state.decisions(rank)).read().to_pylist()
        except OSError as error:
            raise CorpusKitError(
                f"dedup state for task {rank} is missing ({error}); run the command again"
            ) from error
        by_index = {row["index"]: row for row in decisions}
        position = 0

        def annotated() -> DocumentsPipeline:
            nonlocal position
            for document in data:
                if position >= checks.size or int(checks[position]) != id_check(document.id):
                    raise CorpusKitError(
                        f"dedup: task {rank} sees different records than when it fingerprinted them "
                        f"(record #{position}); the input changed during the run, or a step before dedup is "
                        "not deterministic"
                    )
                decision = by_index.get(position)
                if decision is None:
                    document.metadata["dup_cluster"] = document.id
                    document.metadata["dup_count"] = 1
                else:
                    document.metadata["dup_cluster"] = decision["dup_cluster"]
                    document.metadata["dup_count"] = decision["dup_count"]
                    if decision["reason"]:
                        document.metadata["_dedup_reason"] = decision["reason"]
                    if decision.get("dup_dataset"):
                        document.metadata["_dup_dataset"] = decision["dup_dataset"]
                position += 1
                yield document
            if position != checks.size:
                raise CorpusKitError(
                    f"dedup: task {rank} fingerprinted {checks.size} records but now read {position}; "
                    "the input changed during the run"
                )

        yield from super().run(annotated(), rank, world_size)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        reason = doc.metadata.pop("_dedup_reason", None)
        if reason is None:
            return True
        doc.metadata["dup_of"] = doc.metadata.pop("dup_cluster")
        doc.metadata.pop("dup_count", None)
        dataset = doc.metadata.pop("_dup_dataset", None)
        if dataset is not None:  # dedup.index: the indexed record lives in another dataset
            doc.metadata["dup_dataset"] = dataset
        return False, reason

    def manifest_summary(self) -> DedupSummary | None:
        from corpus_kit.governance.manifest import DedupSummary

        path = DedupState(self.state_dir).summary
        try:
            summary = orjson.loads(path.read_bytes())
        except OSError:
            return None
        if self.index_out and "index_segment" not in summary:
            from corpus_kit.stages.dedup.index_write import add_run_segment

            # the dataset's manifest, written after this, names the segment: that binds it
            summary["index_segment"] = add_run_segment(
                self.index_out, self.config, DedupState(self.state_dir)
            )
            summary["index_out"] = self.index_out
            atomic_write_bytes(path, orjson.dumps(summary))
        return DedupSummary.from_state(summary)
