"""``dedup`` stage: exact, near-duplicate (script-aware MinHash + LSH) and media deduplication.

Four phases, each a datatrove pipeline whose state lives in files under ``WORK/dedup`` (see
:mod:`.state`), so every phase runs on any executor and clusters span all input files:

1. :class:`~.signature.DedupSignatures` (one task per input task): exact key, MinHash bands, media hashes;
2. :class:`~.buckets.DedupBuckets` (one task per band, plus one for exact keys): candidate pairs;
3. :class:`~.clusters.DedupClusters` (one task): verification, clusters, survivors;
4. :class:`~.filter.DedupFilter` (in the main pipeline): drops copies, annotates survivors.

docs/dedup.md describes the choices (shingles, threshold, bands and rows, survivors, media).
"""

from corpus_kit.stages.dedup.config import DedupConfig, load_dedup_config
from corpus_kit.stages.dedup.filter import DedupFilter, Preparation, build_dedup_stage

__all__ = ["DedupConfig", "DedupFilter", "Preparation", "build_dedup_stage", "load_dedup_config"]
