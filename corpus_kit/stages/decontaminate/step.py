"""The decontaminate step: look every record's grams up in the evaluation sets' index."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter

from corpus_kit.stages.decontaminate import grams as G

if TYPE_CHECKING:
    from corpus_kit.io.parquet_writer import ParquetShardWriter
    from corpus_kit.stages.decontaminate.evals import EvalIndex

REASON_PREFIX = "decontam."
FLAG_KEY = "decontam"
#: Benchmark names kept in a flagged record's metadata.decontam (the manifest has the counts).
MAX_FLAG_NAMES = 8


class DecontaminateFilter(BaseFilter):
    """Drops (``decontam.<benchmark>``) or flags records that share an n-gram with an evaluation set.

    Stats: ``checked``, ``not_checked``, ``contaminated``, ``contaminated/<benchmark>``,
    ``drop/<benchmark>``, ``flagged``.
    """

    name = "🧪 decontaminate"

    def __init__(
        self,
        index: EvalIndex,
        action: Literal["drop", "flag"],
        exclusion_writer: ParquetShardWriter | None = None,
    ):
        super().__init__(exclusion_writer=exclusion_writer)
        self.index = index
        self.action = action

    def warm_up(self) -> None:
        """Build the normalisation tables now (in the parent, before the workers fork)."""
        G.warm_up()

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        text = doc.text
        if not text or text.isspace():
            self.stat_update("not_checked")
            return True
        self.stat_update("checked")
        counts = self.index.matches(text)
        hits = np.flatnonzero(counts)
        if not hits.size:
            return True
        self.stat_update("contaminated")
        names = self.index.names
        for position in hits.tolist():
            self.stat_update(f"contaminated/{names[position]}")
        if self.action == "drop":
            # the benchmark with the most grams in the record; ties go to the first name
            top = names[int(np.argmax(counts))]
            self.stat_update(f"drop/{top}")
            return False, REASON_PREFIX + top
        self.stat_update("flagged")
        doc.metadata[FLAG_KEY] = [names[position] for position in hits.tolist()[:MAX_FLAG_NAMES]]
        return True
