"""Dedup phase 2: candidate pairs. Task ``b < bands`` handles LSH band ``b``; task ``bands`` exact keys.

Each task loads one 64-bit key per document of *all* input tasks (plus its kind), sorts them, and
emits, for every run of equal keys, an edge from each member to the run's first (lowest) position.
Memory: 8 bytes key + 8 bytes sort order + 1 byte kind per document, plus the edges, so ~25
bytes per document at any corpus size (tests/test_dedup_scale.py measures it on 10M signatures).
Documents of different kinds (text only vs text with media) never share a bucket: their keys are
salted with the kind; documents without text take no part.
"""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING

import numpy as np
from datatrove.data import DocumentsPipeline

from corpus_kit.stages.dedup.state import KIND_MEDIA, KIND_TEXT, DedupPhase, DedupState
from corpus_kit.utils import atomic_write_bytes

if TYPE_CHECKING:
    import numpy.typing as npt

_KIND_SALT = np.uint64(0x9E3779B97F4A7C15)


def run_edges(keys: np.ndarray, eligible: np.ndarray | None = None) -> np.ndarray:
    """(E, 2) int64 edges ``(first, member)`` for runs of equal ``keys`` among ``eligible`` positions.

    Peak memory ~ 17 bytes per key (sort order + sorted keys + a flag); everything after the sort
    works on the duplicates only.
    """
    positions = None if eligible is None or eligible.all() else np.flatnonzero(eligible)
    chosen = keys if positions is None else keys[positions]
    if chosen.size < 2:
        return np.empty((0, 2), np.int64)
    order = np.argsort(chosen, kind="stable")  # stable: within a run, positions stay ascending
    sorted_keys = chosen[order]
    same = sorted_keys[1:] == sorted_keys[:-1]
    del sorted_keys
    members = np.flatnonzero(same) + 1  # sorted slots that repeat the previous key
    del same
    if members.size == 0:
        return np.empty((0, 2), np.int64)
    new_run = np.ones(members.size, dtype=bool)
    new_run[1:] = members[1:] != members[:-1] + 1
    run_of_member = np.cumsum(new_run) - 1
    firsts = (members[new_run] - 1)[run_of_member]
    first_rows, member_rows = order[firsts], order[members]
    if positions is not None:
        first_rows, member_rows = positions[first_rows], positions[member_rows]
    return np.stack((first_rows, member_rows), axis=1).astype(np.int64)


def load_column(paths: list[str], counts: list[int], dtype: npt.DTypeLike = np.uint64) -> np.ndarray:
    """Per-task files of one value per document, read into one preallocated global array."""
    column = np.empty(sum(counts), dtype=dtype)
    offset = 0
    for path, count in zip(paths, counts, strict=True):
        column[offset : offset + count] = np.fromfile(path, dtype=dtype, count=count)
        offset += count
    return column


def write_edges(path: str | os.PathLike[str], edges: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.save(buffer, edges)
    atomic_write_bytes(path, buffer.getvalue())


class DedupBuckets(DedupPhase):
    """Candidate pairs from LSH bands (near) and from exact keys; one band per task."""

    name = "🪣 dedup buckets"

    @property
    def tasks(self) -> int:
        """Bands (+ exact keys) dealt out to at most 8 tasks: fewer, longer tasks cost less start-up."""
        return min(self.config.bands + 1, 8)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        state = DedupState(self.state_dir)
        with self.track_time():
            ranks, counts, kinds = state.kinds()
            has_text = (kinds == KIND_TEXT) | (kinds == KIND_MEDIA)
            for band in range(rank, self.config.bands + 1, self.tasks):
                self._bucket(state, band, ranks, counts, kinds, has_text)
        return
        yield

    def _bucket(
        self,
        state: DedupState,
        band: int,
        ranks: list[int],
        counts: list[int],
        kinds: np.ndarray,
        has_text: np.ndarray,
    ) -> None:
        """Edges of one LSH band (``band < bands``) or of the exact keys (``band == bands``)."""
        keys: np.ndarray | None = None
        if band == self.config.bands:
            name = "exact"
            if ranks and self.config.exact:  # --mode near: the cluster phase reads no exact edges
                keys = state.column("exact_lo", ranks)
        else:
            name = f"band-{band:03d}"
            if self.config.near:
                keys = load_column([str(state.band(band, task)) for task in ranks], counts)
        if keys is None or keys.size == 0:
            edges = np.empty((0, 2), np.int64)
        else:
            if keys.size != kinds.size:
                raise RuntimeError(
                    f"dedup state is inconsistent: {keys.size} keys for {kinds.size} documents"
                )
            keys ^= kinds * _KIND_SALT
            edges = run_edges(keys, has_text)
        write_edges(state.edges(name), edges)
        self.stat_update("candidate_pairs", value=int(edges.shape[0]))
