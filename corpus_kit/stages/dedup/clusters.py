"""Dedup phase 3 (one task): verify candidates, build clusters across all tasks, pick survivors.

* Near candidates are verified on their exact shingle Jaccard (``verify: exact``, the default): the
  signature phase stored every record's shingle hashes as a sorted set, and only the candidates'
  sets are read back (candidates whose MinHash estimate is more than :func:`estimate_slack` below
  the threshold are not: a pair at the threshold scores that low with probability ~1e-13).
  ``verify: estimate`` decides on the MinHash estimate alone. Exact candidates are verified on the
  other 64 bits of the 128-bit key. LSH only proposes; this step decides.
* Text-only records cluster by text. Records with media are duplicates when they share a matching
  image (same bytes, or pHash within ``image_hamming`` bits) or audio (same bytes), hold the same
  number of media items, and their texts are duplicates of each other (same text cluster) or both
  empty. So a copied picture with a new caption is kept (new text is new content), a media-only
  record is judged by its media alone, and a caption shared by different pictures removes nothing.
* Clusters are connected components over all verified edges (scipy), across every input task.
* The survivor of a cluster follows ``keep``: ``first`` (lowest global position), ``longest``
  (most normalised characters), ``best_media`` (most decoded pixels, then most media bytes) or
  ``source_priority``; ties go to the first in input order. Everything it ranks by is a function of
  the input, never of the number of workers.
"""

from __future__ import annotations

import itertools
import json
import os
from collections import Counter
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import DocumentsPipeline

from corpus_kit.io.parquet_writer import numpy_array, string_array
from corpus_kit.stages.dedup.buckets import load_column, run_edges
from corpus_kit.stages.dedup.config import estimate_slack
from corpus_kit.stages.dedup.index import DedupIndex, IndexHits, lookup
from corpus_kit.stages.dedup.minhash import EMPTY_BIN, exact_jaccard, similarity
from corpus_kit.stages.dedup.state import (
    ITEM_IMAGE,
    KIND_MEDIA,
    KIND_MEDIA_ONLY,
    KIND_TEXT,
    REASON_EXACT,
    REASON_INDEX,
    REASON_MEDIA,
    REASON_NEAR,
    REASONS,
    DedupPhase,
    DedupState,
)
from corpus_kit.utils import atomic_write_bytes

_VERIFY_CHUNK = 20_000  # pairs per verification step: 2 x 20 MB of signature rows
_SHINGLE_CHUNK = 8_000_000  # shingle hashes read back per exact verification step (64 MB + sort)


def _unique_edges(edges: np.ndarray, size: int) -> np.ndarray:
    if edges.size == 0:
        return np.empty((0, 2), np.int64)
    low = np.minimum(edges[:, 0], edges[:, 1])
    high = np.maximum(edges[:, 0], edges[:, 1])
    keep = low != high
    packed = np.unique(low[keep].astype(np.uint64) * np.uint64(size) + high[keep].astype(np.uint64))
    return np.stack(
        ((packed // np.uint64(size)).astype(np.int64), (packed % np.uint64(size)).astype(np.int64)), 1
    )


class _Signatures:
    """Rows of every task's signature file by global position, memory-mapped (the OS pages them in)."""

    def __init__(self, state: DedupState, ranks: list[int], offsets: np.ndarray, num_perm: int):
        self.offsets = offsets
        self.maps = []
        for rank in ranks:
            path = state.signatures(rank)
            rows = os.path.getsize(path) // (4 * num_perm)
            self.maps.append(
                np.memmap(path, dtype=np.uint32, mode="r", shape=(rows, num_perm)) if rows else None
            )
        self.num_perm = num_perm

    def release(self) -> None:
        """Drop the mapped pages from this process's resident set (they stay in the page cache)."""
        import mmap

        for mapped in self.maps:
            if mapped is not None and hasattr(mapped, "_mmap") and hasattr(mmap, "MADV_DONTNEED"):
                mapped._mmap.madvise(mmap.MADV_DONTNEED)

    def rows(self, positions: np.ndarray) -> np.ndarray:
        out = np.empty((positions.size, self.num_perm), dtype=np.uint32)
        owner = np.searchsorted(self.offsets, positions, side="right") - 1
        for task in np.unique(owner):
            mask = owner == task
            out[mask] = self.maps[task][positions[mask] - self.offsets[task]]
        return out


class _ShingleSets:
    """Every task's stored shingle sets by global position, memory-mapped (only candidates are read)."""

    def __init__(self, state: DedupState, ranks: list[int], offsets: np.ndarray):
        self.offsets = offsets
        self.values: list[np.ndarray] = []
        self.starts: list[np.ndarray] = []
        for rank in ranks:
            starts = np.fromfile(state.shingle_offsets(rank), dtype=np.int64)
            size = os.path.getsize(state.shingles(rank)) // 8
            if starts.size == 0 or int(starts[-1]) != size:
                raise RuntimeError(f"dedup state is inconsistent: shingle file of task {rank} is incomplete")
            self.starts.append(starts)
            self.values.append(
                np.memmap(state.shingles(rank), dtype=np.uint64, mode="r") if size else np.empty(0, np.uint64)
            )

    def sizes(self, positions: np.ndarray) -> np.ndarray:
        owner = np.searchsorted(self.offsets, positions, side="right") - 1
        out = np.empty(positions.size, dtype=np.int64)
        for task in np.unique(owner):
            mask = owner == task
            local = positions[mask] - self.offsets[task]
            starts = self.starts[task]
            out[mask] = starts[local + 1] - starts[local]
        return out

    def sets(self, positions: np.ndarray) -> list[np.ndarray]:
        owner = np.searchsorted(self.offsets, positions, side="right") - 1
        result: list[np.ndarray] = []
        for position, task in zip(positions.tolist(), owner.tolist(), strict=True):
            local = position - int(self.offsets[task])
            starts = self.starts[task]
            result.append(np.asarray(self.values[task][int(starts[local]) : int(starts[local + 1])]))
        return result


def connected_labels(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(nodes, component label per node) for the nodes that appear in ``edges``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    nodes = np.unique(edges)
    if nodes.size == 0:
        return nodes, np.empty(0, np.int64)
    local = np.searchsorted(nodes, edges)
    graph = coo_matrix(
        (np.ones(local.shape[0], dtype=np.int8), (local[:, 0], local[:, 1])), shape=(nodes.size, nodes.size)
    ).tocsr()
    _, labels = connected_components(graph, directed=False)
    return nodes, labels.astype(np.int64)


class DedupClusters(DedupPhase):
    """Verified duplicate clusters and, per input task, what the filter must do to which record."""

    name = "🧩 dedup clusters"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        with self.track_time():
            self._cluster(DedupState(self.state_dir))
        return
        yield

    def _cluster(self, state: DedupState) -> None:
        config = self.config
        ranks, task_counts, kinds = state.kinds()
        counts = np.array(task_counts, dtype=np.int64)
        offsets = np.concatenate(([0], np.cumsum(counts)[:-1])) if ranks else np.zeros(0, np.int64)
        size = int(kinds.size)
        exact_lo = state.column("exact_lo", ranks)
        exact_hi = state.column("exact_hi", ranks)
        summary: dict[str, Any] = {"documents": size, "candidate_pairs": 0, "verified_pairs": 0}

        text_edges = [np.empty((0, 2), np.int64)]
        if config.exact and size:
            exact = np.load(state.edges("exact"))
            same = exact_hi[exact[:, 0]] == exact_hi[exact[:, 1]] if exact.size else np.empty(0, bool)
            text_edges.append(exact[same])
            summary["exact_pairs"] = int(same.sum())
        if config.near and size:
            candidates = _unique_edges(
                np.concatenate([np.load(state.edges(f"band-{band:03d}")) for band in range(config.bands)]),
                size,
            )
            summary["candidate_pairs"] = int(candidates.shape[0])
            verified = self._verify(state, ranks, offsets, candidates, summary)
            summary["verified_pairs"] = int(verified.shape[0])
            text_edges.append(verified)
        text = _unique_edges(np.concatenate(text_edges), max(size, 1))

        edges = [text[kinds[text[:, 0]] == KIND_TEXT]] if text.size else []
        absorbed = np.empty((0, 2), np.int64)
        if config.media and size:
            media, absorbed = self._media_edges(state, ranks, offsets, kinds, text, summary)
            edges.append(media)
        all_edges = np.concatenate(edges) if edges else np.empty((0, 2), np.int64)
        # absorbed media-only records join their captioned record's cluster, never linking two of them
        absorbed = absorbed[
            np.argsort(absorbed[:, 0] * np.int64(max(size, 1)) + absorbed[:, 1], kind="stable")
        ]
        if absorbed.size:
            first = np.ones(absorbed.shape[0], dtype=bool)
            first[1:] = absorbed[1:, 0] != absorbed[:-1, 0]
            absorbed = absorbed[first]  # each media-only record goes to its earliest captioned match
        joined = np.concatenate((all_edges, absorbed[:, ::-1]))
        hits = self._index_hits(state, ranks, task_counts, offsets, kinds, exact_lo, exact_hi, summary)
        if hits is not None and hits.positions.size and joined.size:
            # a record already published goes as dedup.index; it links nothing in this run
            joined = joined[~(np.isin(joined[:, 0], hits.positions) | np.isin(joined[:, 1], hits.positions))]
        nodes, labels = connected_labels(joined)

        # survivor = lowest position of each component, a record with text before a media-only one
        # (a media-only record whose picture also comes with a caption goes in the caption's favour)
        policy = self._survivor_keys(state, ranks, offsets, nodes)
        order = np.lexsort((nodes, *policy, kinds[nodes] == KIND_MEDIA_ONLY, labels))
        sorted_labels = labels[order]
        first = np.ones(sorted_labels.size, dtype=bool)
        first[1:] = sorted_labels[1:] != sorted_labels[:-1]
        label_survivor = np.empty(labels.max() + 1 if labels.size else 0, dtype=np.int64)
        label_survivor[sorted_labels[first]] = nodes[order[first]]
        label_size = np.bincount(labels) if labels.size else np.empty(0, np.int64)
        survivor = label_survivor[labels] if labels.size else np.empty(0, np.int64)
        dropped = nodes != survivor

        reasons = np.zeros(nodes.size, dtype=np.uint8)
        if nodes.size:
            media_kind = (kinds[nodes] == KIND_MEDIA) | (kinds[nodes] == KIND_MEDIA_ONLY)
            same_text = (exact_lo[nodes] == exact_lo[survivor]) & (exact_hi[nodes] == exact_hi[survivor])
            reasons[dropped] = np.where(
                media_kind[dropped], REASON_MEDIA, np.where(same_text[dropped], REASON_EXACT, REASON_NEAR)
            )
        summary["clusters"] = int((label_size >= 2).sum())
        summary["largest_cluster"] = int(label_size.max()) if label_size.size else 0
        summary["clustered_records"] = int(nodes.size)
        summary["dropped"] = {
            REASONS[code]: int(count) for code, count in sorted(Counter(reasons[dropped].tolist()).items())
        }
        if hits is not None and hits.positions.size:
            summary["dropped"][REASONS[REASON_INDEX]] = int(hits.positions.size)
        self._write_decisions(
            state,
            ranks,
            offsets,
            nodes,
            survivor,
            label_size[labels] if labels.size else labels,
            reasons,
            hits,
        )
        summary["survivor"] = config.survivor_rule()
        summary["parameters"] = config.as_record()
        atomic_write_bytes(state.summary, json.dumps(summary, indent=1, sort_keys=True).encode("utf-8"))

    def _index_hits(
        self,
        state: DedupState,
        ranks: list[int],
        task_counts: list[int],
        offsets: np.ndarray,
        kinds: np.ndarray,
        exact_lo: np.ndarray,
        exact_hi: np.ndarray,
        summary: dict[str, Any],
    ) -> IndexHits | None:
        """Records that duplicate a record of the ``against`` indexes (None: no index given)."""
        config = self.config
        if not config.against:
            return None
        indexes = [DedupIndex.open(path) for path in config.against]
        for index in indexes:
            index.check_parameters(config)
        band_keys = sig_rows = None
        if config.near and kinds.size:
            signatures = _Signatures(state, ranks, offsets, config.num_perm)

            def band_keys(band: int) -> np.ndarray:
                return load_column([str(state.band(band, task)) for task in ranks], task_counts)

            sig_rows = signatures.rows
        media = None
        if config.media and kinds.size:
            parts = [np.load(state.docs(task)) for task in ranks]
            item_doc = np.concatenate(
                [part["item_doc"] + offset for part, offset in zip(parts, offsets, strict=True)]
            )
            item_key = np.concatenate(
                [
                    part["item_sha_lo"] ^ (part["item_kind"].astype(np.uint64) << np.uint64(56))
                    for part in parts
                ]
            )
            media = (item_doc.astype(np.int64), item_key, np.empty(0))
        hits = lookup(indexes, config, kinds, exact_lo, exact_hi, band_keys, sig_rows, media)
        summary["index_hits"] = int(hits.positions.size)
        summary["against"] = [
            {"path": str(index.root), "records": index.records, "segments": len(index.catalog["segments"])}
            for index in indexes
        ]
        return hits

    def _survivor_keys(
        self, state: DedupState, ranks: list[int], offsets: np.ndarray, nodes: np.ndarray
    ) -> tuple[np.ndarray, ...]:
        """Sort keys of ``keep`` for the clustered records, least significant first (np.lexsort);
        smaller wins. Input order (the position) breaks ties after them."""
        keep = self.config.keep
        if keep == "first" or nodes.size == 0:
            return ()
        if keep == "longest":
            return (-state.column("length", ranks, np.int64)[nodes],)
        if keep == "best_media":
            pixels = state.column("pixels", ranks, np.int64)[nodes]
            size = state.column("media_bytes", ranks, np.int64)[nodes]
            return (-size, -pixels)
        priority = {name: rank for rank, name in enumerate(self.config.source_priority)}
        rank = np.full(nodes.size, len(priority), dtype=np.int64)
        owner = np.searchsorted(offsets, nodes, side="right") - 1
        for task_index, task in enumerate(ranks):
            mask = owner == task_index
            if not mask.any():
                continue
            with pa.memory_map(str(state.ids(task))) as source:
                table = pa.ipc.open_file(source).read_all()
                positions = numpy_array(nodes[mask] - offsets[task_index], pa.int64())
                names = table.column("source").take(positions).to_pylist()
            rank[mask] = [priority.get(name, len(priority)) for name in names]
        return (rank,)

    def _verify(
        self,
        state: DedupState,
        ranks: list[int],
        offsets: np.ndarray,
        candidates: np.ndarray,
        summary: dict[str, Any],
    ) -> np.ndarray:
        config = self.config
        exact = config.verify == "exact"
        floor = config.threshold - estimate_slack(config.num_perm) if exact else config.threshold
        signatures = _Signatures(state, ranks, offsets, config.num_perm)
        estimates = np.zeros(candidates.shape[0], dtype=np.float64)
        for start in range(0, candidates.shape[0], _VERIFY_CHUNK):
            chunk = candidates[start : start + _VERIFY_CHUNK]
            left, right = signatures.rows(chunk[:, 0]), signatures.rows(chunk[:, 1])
            # densified signatures are empty in every bin or in none: the first bin tells
            valid = (left[:, 0] != EMPTY_BIN) & (right[:, 0] != EMPTY_BIN)
            estimates[start : start + chunk.shape[0]] = np.where(valid, similarity(left, right), -1.0)
            signatures.release()
        summary["estimate_pairs"] = int((estimates >= config.threshold).sum())
        if not exact:
            return candidates[estimates >= config.threshold]
        checked = candidates[estimates >= floor]
        summary["exact_checked_pairs"] = int(checked.shape[0])
        return checked[self._exact_similarity(state, ranks, offsets, checked) >= config.threshold]

    def _exact_similarity(
        self, state: DedupState, ranks: list[int], offsets: np.ndarray, pairs: np.ndarray
    ) -> np.ndarray:
        """Exact Jaccard of each pair's shingle sets, read back in steps of ~``_SHINGLE_CHUNK`` hashes."""
        result = np.zeros(pairs.shape[0], dtype=np.float64)
        if pairs.size == 0:
            return result
        sets = _ShingleSets(state, ranks, offsets)
        work = sets.sizes(pairs[:, 0]) + sets.sizes(pairs[:, 1])
        bounds = np.searchsorted(np.cumsum(work), np.arange(_SHINGLE_CHUNK, int(work.sum()), _SHINGLE_CHUNK))
        cuts = np.unique(np.minimum(np.concatenate(([0], bounds + 1, [pairs.shape[0]])), pairs.shape[0]))
        for start, stop in itertools.pairwise(cuts.tolist()):
            chunk = pairs[start:stop]
            result[start:stop] = exact_jaccard(sets.sets(chunk[:, 0]), sets.sets(chunk[:, 1]))
        return result

    def _media_edges(
        self,
        state: DedupState,
        ranks: list[int],
        offsets: np.ndarray,
        kinds: np.ndarray,
        text: np.ndarray,
        summary: dict[str, Any],
    ) -> tuple[np.ndarray, np.ndarray]:
        """Media duplicate edges between records of the same kind, and (media-only, captioned) absorptions."""
        from corpus_kit.stages.dedup.media_hash import hamming_pairs, popcount

        columns: dict[str, list[np.ndarray]] = {
            key: [] for key in ("doc", "kind", "sha_lo", "sha_hi", "phash", "has", "alpha", "has_alpha")
        }
        for task, offset in zip(ranks, offsets, strict=True):
            stored = np.load(state.docs(task))
            columns["doc"].append(stored["item_doc"] + offset)
            columns["kind"].append(stored["item_kind"])
            columns["sha_lo"].append(stored["item_sha_lo"])
            columns["sha_hi"].append(stored["item_sha_hi"])
            columns["phash"].append(stored["item_phash"])
            columns["has"].append(stored["item_has_phash"])
            columns["alpha"].append(stored["item_alpha"])
            columns["has_alpha"].append(stored["item_has_alpha"])
        doc, kind, sha_lo, sha_hi, phash, has, alpha, has_alpha = (
            np.concatenate(columns[key]) for key in columns
        )
        summary["media_items"] = int(doc.size)
        summary["images_without_phash"] = int(((kind == ITEM_IMAGE) & ~has).sum())
        if doc.size < 2:
            return np.empty((0, 2), np.int64), np.empty((0, 2), np.int64)
        item_edges = run_edges(
            sha_lo ^ (kind.astype(np.uint64) << np.uint64(56)), np.ones(doc.size, dtype=bool)
        )
        item_edges = item_edges[sha_hi[item_edges[:, 0]] == sha_hi[item_edges[:, 1]]]
        images = np.flatnonzero((kind == ITEM_IMAGE) & has)
        if images.size >= 2:
            near = images[hamming_pairs(phash[images], self.config.image_hamming)]
            # two pictures that both have an alpha channel must also match on it (different shapes
            # on transparency can look alike over one background)
            first, second = near[:, 0], near[:, 1]
            both = has_alpha[first] & has_alpha[second]
            apart = popcount(alpha[first] ^ alpha[second]) > self.config.image_hamming
            item_edges = np.concatenate((item_edges, near[~(both & apart)]))
        # covered[x, y]: how many of x's items match some item of y (both directions of every item pair)
        directed = np.concatenate((item_edges, item_edges[:, ::-1]))
        directed = directed[doc[directed[:, 0]] != doc[directed[:, 1]]]
        if directed.size == 0:
            return np.empty((0, 2), np.int64), np.empty((0, 2), np.int64)
        triples = np.unique(
            np.stack((doc[directed[:, 0]], doc[directed[:, 1]], directed[:, 0]), axis=1), axis=0
        )
        pairs, covered = np.unique(triples[:, :2], axis=0, return_counts=True)
        item_count = np.bincount(doc, minlength=kinds.size)
        x, y = pairs[:, 0], pairs[:, 1]
        x_in_y = covered == item_count[x]
        # y_in_x: x_in_y of the reverse pair; pairs are sorted, so packed keys are too
        packed = x * np.int64(kinds.size) + y
        reverse = np.minimum(np.searchsorted(packed, y * np.int64(kinds.size) + x), packed.size - 1)
        y_in_x = x_in_y[reverse] & (packed[reverse] == y * np.int64(kinds.size) + x)
        kind_x, kind_y = kinds[x], kinds[y]
        same_set = x_in_y & y_in_x & (x < y)
        # captioned pairs: same media and duplicate texts (same component of the text edges)
        captioned = same_set & (kind_x == KIND_MEDIA) & (kind_y == KIND_MEDIA)
        if captioned.any():
            media_text = text[kinds[text[:, 0]] == KIND_MEDIA] if text.size else text
            nodes, labels = connected_labels(media_text)
            label = np.full(kinds.size, -1, dtype=np.int64)
            label[nodes] = labels
            captioned &= (label[x] >= 0) & (label[x] == label[y])
        media_only = same_set & (kind_x == KIND_MEDIA_ONLY) & (kind_y == KIND_MEDIA_ONLY)
        # a media-only record whose every item is in a captioned record adds nothing: absorbed by it;
        # its media-only edges go, so that it cannot chain two differently captioned records together
        absorbed = pairs[x_in_y & (kind_x == KIND_MEDIA_ONLY) & (kind_y == KIND_MEDIA)]
        media_only &= ~np.isin(x, absorbed[:, 0]) & ~np.isin(y, absorbed[:, 0])
        symmetric = np.concatenate((pairs[captioned], pairs[media_only]))
        summary["media_pairs"] = int(symmetric.shape[0] + absorbed.shape[0])
        return symmetric, absorbed

    def _write_decisions(
        self,
        state: DedupState,
        ranks: list[int],
        offsets: np.ndarray,
        nodes: np.ndarray,
        survivor: np.ndarray,
        cluster_size: np.ndarray,
        reasons: np.ndarray,
        hits: IndexHits | None = None,
    ) -> None:
        owner = np.searchsorted(offsets, nodes, side="right") - 1 if nodes.size else nodes
        survivor_owner = np.searchsorted(offsets, survivor, side="right") - 1 if nodes.size else nodes
        survivor_ids = np.empty(nodes.size, dtype=object)
        for task_index, task in enumerate(ranks):
            mask = survivor_owner == task_index
            if not mask.any():
                continue
            with pa.memory_map(str(state.ids(task))) as source:
                ids = pa.ipc.open_file(source).read_all().column("id")
                positions = numpy_array(survivor[mask] - offsets[task_index], pa.int64())
                survivor_ids[mask] = ids.take(positions).to_pylist()
        datasets = np.full(nodes.size, None, dtype=object)
        if hits is not None and hits.positions.size:
            # index hits are decisions of their own: reason dedup.index, dup_of in another dataset
            nodes = np.concatenate((nodes, hits.positions))
            survivor_ids = np.concatenate((survivor_ids, np.asarray(hits.ids, dtype=object)))
            datasets = np.concatenate((datasets, np.asarray(hits.datasets, dtype=object)))
            cluster_size = np.concatenate((cluster_size, np.ones(hits.positions.size, np.int64)))
            reasons = np.concatenate((reasons, np.full(hits.positions.size, REASON_INDEX, np.uint8)))
            owner = np.searchsorted(offsets, nodes, side="right") - 1
        # arrays from NumPy buffers: pa.array would import pandas in this process (~0.2 s)
        for task_index, task in enumerate(ranks):
            mask = owner == task_index
            order = np.argsort(nodes[mask], kind="stable")
            table = pa.table(
                {
                    "index": numpy_array(nodes[mask][order] - offsets[task_index], pa.int64()),
                    "reason": string_array([REASONS.get(int(code)) for code in reasons[mask][order]]),
                    "dup_cluster": string_array(list(survivor_ids[mask][order])),
                    "dup_count": numpy_array(cluster_size[mask][order].astype(np.int32), pa.int32()),
                    "dup_dataset": string_array(list(datasets[mask][order])),
                }
            )
            buffer = pa.BufferOutputStream()
            pq.write_table(table, buffer)
            atomic_write_bytes(state.decisions(task), buffer.getvalue().to_pybytes())
