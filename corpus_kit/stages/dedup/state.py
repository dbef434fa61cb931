"""Where dedup keeps its state between phases: plain files in the run's work folder, so that each
phase can run as separate tasks on any executor (Local, Ray, Slurm) and no phase holds another's
data in memory.

``WORK/dedup/``::

    docs/{rank:05d}.npz          per document of a task: exact key, kind, id check, media items
    ids/{rank:05d}.arrow         the task's document ids (Arrow IPC, memory-mapped when read)
    signatures/{rank:05d}.u32    MinHash signatures, rows of num_perm uint32
    shingles/{rank:05d}.u64      every document's shingle hashes as a sorted set, one after another
    shingles/{rank:05d}.off      where each document's set starts (int64, documents + 1 entries)
    bands/{band:03d}/{rank:05d}.u64   one uint64 key per document for that band
    edges/{name}.npy             candidate pairs (global positions) from one bucket task
    decisions/{rank:05d}.parquet what the filter does to the task's documents
    summary.json                 clusters, sizes, parameters (for the manifest)

A document's global position is its task's offset (sum of earlier tasks' document counts) plus
its index within the task: the order in which the filter phase sees the same documents again.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from datatrove.pipeline.base import PipelineStep

from corpus_kit.stages.dedup.config import DedupConfig

KIND_TEXT = 0  # text, no media
KIND_MEDIA = 1  # text and media
KIND_MEDIA_ONLY = 2  # media, empty text
KIND_EMPTY = 3  # neither: never a duplicate of anything

REASON_EXACT, REASON_NEAR, REASON_MEDIA, REASON_INDEX = 1, 2, 3, 4
REASONS = {
    REASON_EXACT: "dedup.exact",
    REASON_NEAR: "dedup.near",
    REASON_MEDIA: "dedup.media",
    REASON_INDEX: "dedup.index",
}

ITEM_IMAGE, ITEM_AUDIO, ITEM_OTHER = 0, 1, 2


class DedupState:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def docs(self, rank: int) -> Path:
        return self.root / "docs" / f"{rank:05d}.npz"

    def ids(self, rank: int) -> Path:
        return self.root / "ids" / f"{rank:05d}.arrow"

    def signatures(self, rank: int) -> Path:
        return self.root / "signatures" / f"{rank:05d}.u32"

    def shingles(self, rank: int) -> Path:
        return self.root / "shingles" / f"{rank:05d}.u64"

    def shingle_offsets(self, rank: int) -> Path:
        return self.root / "shingles" / f"{rank:05d}.off"

    def band(self, band: int, rank: int) -> Path:
        return self.root / "bands" / f"{band:03d}" / f"{rank:05d}.u64"

    def edges(self, name: str) -> Path:
        return self.root / "edges" / f"{name}.npy"

    def decisions(self, rank: int) -> Path:
        return self.root / "decisions" / f"{rank:05d}.parquet"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    def ranks(self) -> list[int]:
        return sorted(int(path.stem) for path in (self.root / "docs").glob("*.npz"))

    def column(self, name: str, ranks: list[int], dtype: type = np.uint64) -> np.ndarray:
        """One per-document array of the ``docs`` files, over ``ranks`` in order (global positions)."""
        parts = [np.load(self.docs(rank))[name] for rank in ranks]
        return np.concatenate(parts) if parts else np.empty(0, dtype)

    def kinds(self) -> tuple[list[int], list[int], np.ndarray]:
        """Tasks in order, their document counts, and every document's kind in global order."""
        ranks = self.ranks()
        parts = [np.load(self.docs(rank))["kind"] for rank in ranks]
        kinds = np.concatenate(parts) if parts else np.empty(0, np.uint8)
        return ranks, [part.size for part in parts], kinds


class DedupPhase(PipelineStep):
    """Base of the steps of the preparation phases: they share the state folder and the settings."""

    type = "🫂 - DEDUP"

    def __init__(self, state_dir: str, config: DedupConfig):
        super().__init__()
        self.state_dir = state_dir
        self.config = config
