"""``dedup`` stage: exact, near-duplicate (script-aware MinHash + LSH) and media deduplication.

Four phases, each a datatrove pipeline whose state lives in files under ``WORK/dedup`` (see
:mod:`.state`), so every phase runs on any executor and clusters span all input files:

1. :class:`~.signature.DedupSignatures` (one task per input task): exact key, MinHash bands, media hashes;
2. :class:`~.buckets.DedupBuckets` (one task per band, plus one for exact keys): candidate pairs;
3. :class:`~.clusters.DedupClusters` (one task): verification, clusters, survivors;
4. :class:`~.filter.DedupFilter` (in the main pipeline): drops copies, annotates survivors.

docs/dedup.md describes the choices (shingles, threshold, bands and rows, survivors, media).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from corpus_kit.governance.manifest import DedupSummary
from corpus_kit.stages.base import Stage, StageContext, StageParams

if TYPE_CHECKING:
    from datatrove.pipeline.base import PipelineStep
    from datatrove.utils.stats import Stats

    from corpus_kit.catalog.report import ReportSection
    from corpus_kit.governance.manifest import Manifest
    from corpus_kit.stages.dedup.filter import DedupFilter


class DedupParams(StageParams):
    """Each unset parameter takes its value from the rule file (default rules/dedup.yaml)."""

    mode: Literal["exact", "near", "both"] | None = Field(
        None, description="exact | near | both (near includes media when records have any) [default: both]."
    )
    threshold: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Estimated Jaccard similarity at or above which texts are near duplicates "
        "[default: 0.8].",
    )
    image_hamming: int | None = Field(
        None, ge=0, le=20, description="Max differing bits between two images' 64-bit pHashes [default: 10]."
    )
    media: bool | None = Field(None, description="Deduplicate images and audio too [default: true].")
    num_perm: int | None = Field(None, description="MinHash permutations (a power of two, 8-1024).")
    bands: int | None = Field(None, ge=1, description="LSH bands (default: derived from the threshold).")
    rows: int | None = Field(None, ge=1, description="LSH rows per band (default: derived).")
    candidate_recall: float | None = Field(None, gt=0, le=1, description="Recall of the LSH candidate stage.")
    candidate_margin: float | None = Field(None, ge=0, lt=1, description="Below the threshold, for recall.")
    ngram_unspaced: int | None = Field(None, ge=1, le=16, description="Shingle size for unspaced scripts.")
    ngram_spaced: int | None = Field(None, ge=1, le=16, description="Shingle size in words for spaced ones.")
    seed: int | None = Field(None, description="MinHash seed.")
    batch_bytes: int | str | None = Field(None, description="Text per signature batch, e.g. 1MiB.")
    verify: Literal["exact", "estimate"] | None = Field(
        None,
        description="exact: near candidates decided on their exact shingle Jaccard; estimate: on the "
        "MinHash estimate alone [default: exact].",
    )
    fold_script: bool | None = Field(
        None, description="Fold Traditional Chinese to Simplified before exact and near keys [default: true]."
    )
    keep: Literal["first", "longest", "best_media", "source_priority"] | None = Field(
        None,
        description="Which record of a cluster survives: first | longest | best_media | source_priority "
        "(ties: first in input order) [default: first].",
    )
    source_priority: list[str] | None = Field(
        None, description="With keep source_priority: source names (metadata.source), first wins."
    )
    against: list[str] | None = Field(
        None,
        description="Dedup indexes (corpus-kit index build): records duplicating an indexed one go as "
        "dedup.index.",
        json_schema_extra={"path": True},
    )
    index_out: str | None = Field(
        None,
        description="Add the records this run keeps to this dedup index (created when missing).",
        json_schema_extra={"path": True},
    )
    rules: str | None = Field(
        None, description="Dedup rule file (default rules/dedup.yaml).", json_schema_extra={"path": True}
    )


class DedupStage(Stage[DedupParams]):
    """Remove exact, near-duplicate (MinHash, CJK-aware) and media duplicates across all inputs."""

    name = "dedup"
    summary = "Remove exact, near-duplicate (MinHash, CJK-aware) and media duplicates across all inputs."
    params_model = DedupParams
    reasons = ("dedup.exact", "dedup.near", "dedup.media", "dedup.index")
    columns = ("dup_cluster", "dup_count", "dup_of", "dup_dataset")
    section_model = DedupSummary
    extra = "dedup"
    one_per_pipeline = True  # its phases and state live in fixed places under the work folder
    example = "- dedup: {mode: both, threshold: 0.8}"

    def build(self, params: DedupParams, context: StageContext) -> DedupFilter:
        from corpus_kit.stages.dedup.config import load_dedup_config
        from corpus_kit.stages.dedup.filter import DedupFilter
        from corpus_kit.stages.dedup.minhash import warm_up

        given = params.model_dump(exclude_none=True)
        if params.rules:
            given["rules"] = context.resolve_path(params.rules)
        if params.against:
            given["against"] = [context.resolve_path(path) for path in params.against]
        index_out = context.resolve_path(given.pop("index_out", None))
        config = load_dedup_config(given)
        if config.against:
            from corpus_kit.stages.dedup.index import DedupIndex

            for path in config.against:  # refused now (one line), not in a worker later
                DedupIndex.open(path).check_parameters(config)
        # built once here, before the executor forks its workers, instead of once per task (~0.4 s each)
        warm_up(config.seed, config.fold_script)
        return DedupFilter(
            state_dir=f"{context.work_dir}/dedup",
            config=config,
            exclusion_writer=context.exclusion_writer(),
            index_out=index_out,
        )

    def manifest_section(self, step: PipelineStep, stats: Stats) -> DedupSummary | None:
        from corpus_kit.stages.dedup.filter import DedupFilter

        assert isinstance(step, DedupFilter)
        return step.manifest_summary()

    def report_section(self, section: DedupSummary, manifest: Manifest) -> ReportSection:
        from corpus_kit.catalog.report import dedup_report_section

        return dedup_report_section(section, manifest)


__all__ = ["DedupParams", "DedupStage"]
