"""A dedup index: the keys of published records, kept release after release, for ``dedup --against``.

``INDEX/``::

    catalog.json                 format, version, key parameters, segments (written last, atomically)
    segments/NAME/               one immutable folder per addition (a release, a dataset)
        ids.arrow                record ids and their dataset (index into the segment's datasets)
        kind.npy                 uint8 per record: text / text + media / media only
        exact_lo.npy, exact_row.npy   sorted low halves of the 128-bit exact keys, and their records
        exact_hi.npy             the high halves, per record
        bands.npy, band_rows.npy (bands, records): each band's keys sorted, and their records
        sig16.npy                (records, num_perm) uint16: the low 16 bits of each MinHash bin
        media_sha.npy, media_row.npy  sorted sha256 prefixes of media items, and their records
    .corpus-kit.lock             held by a writer (a second writer is refused with a clear message)

A segment folder is complete before it is renamed into place, and the catalogue names it only
after that: a killed writer leaves an unnamed folder that readers never open. Segments are bound to
the manifests their records came from by sha256 (``index build``); a segment added by ``dedup
--index-out`` is bound to its run's dataset, whose manifest (written after the segment) names it:
until that manifest exists and names it, readers skip it.

Lookups search the sorted key arrays with ``np.searchsorted`` on memory-mapped ``.npy`` files, so
their cost grows with log(index size) per key and only the touched pages are read. Near hits are
verified on the stored signatures: the MinHash estimate (16-bit bins; a chance equality adds
1/65536) must reach the threshold; the text is not in the index, so the estimate's noise applies
(std ~0.025 at 0.8 with 256 bins), not the exact verification of a run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from corpus_kit.errors import UsageError
from corpus_kit.io.parquet_writer import numpy_array, string_array
from corpus_kit.stages.dedup.config import DedupConfig
from corpus_kit.utils import atomic_write_bytes

FORMAT = "corpus-kit-dedup-index"
VERSION = 1
CATALOG = "catalog.json"
_ARRAYS = (
    "kind",
    "exact_lo",
    "exact_row",
    "exact_hi",
    "bands",
    "band_rows",
    "sig16",
    "media_sha",
    "media_row",
)
_LOOKUP_CHUNK = 1_000_000  # query keys per searchsorted step
MAX_JSON_BYTES = 256 * 1024 * 1024  # a catalogue or bound manifest larger than this is refused unread


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class SegmentData:
    """What a new segment holds, in record order (``bands`` yields one band's keys at a time)."""

    ids: list[str]
    dataset: np.ndarray  # int16 per record: index into ``datasets``
    datasets: list[dict[str, Any]]  # name, manifest_sha256 or pending dataset path
    kind: np.ndarray
    exact_lo: np.ndarray
    exact_hi: np.ndarray
    bands: Callable[[int], np.ndarray] | None  # band -> uint64 keys per record (None: no near keys)
    sig16: np.ndarray | None  # (records, num_perm) uint16
    media_sha: np.ndarray  # uint64 per media item (sha256 prefix salted with the item kind)
    media_row: np.ndarray  # record of each media item


def _save(folder: Path, name: str, array: np.ndarray) -> None:
    np.save(folder / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)


class DedupIndex:
    """An index folder: its catalogue, and lookups over its segments (memory-mapped)."""

    def __init__(self, root: Path, catalog: dict[str, Any]):
        self.root = root
        self.catalog = catalog
        self._segments: list[_Segment] | None = None

    # ---- opening -------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> DedupIndex:
        root = Path(path)
        catalog_path = root / CATALOG
        if not catalog_path.is_file():
            raise UsageError(
                f"{root}: not a dedup index (no {CATALOG}); make one with corpus-kit index build"
            )
        try:
            if catalog_path.stat().st_size > MAX_JSON_BYTES:
                raise ValueError(f"over {MAX_JSON_BYTES // 2**20} MiB")
            catalog = json.loads(catalog_path.read_bytes())
        except (OSError, ValueError) as error:
            raise UsageError(f"{catalog_path}: unreadable dedup index catalogue ({error})") from None
        if not isinstance(catalog, dict) or catalog.get("format") != FORMAT:
            raise UsageError(f"{catalog_path}: not a corpus-kit dedup index catalogue")
        if catalog.get("version") != VERSION:
            found = catalog.get("version")
            raise UsageError(
                f"{catalog_path}: dedup index version {found!r}; this corpus-kit reads {VERSION}"
            )
        if not isinstance(catalog.get("segments"), list) or not isinstance(catalog.get("parameters"), dict):
            raise UsageError(f"{catalog_path}: malformed dedup index catalogue (segments, parameters)")
        return cls(root, catalog)

    def check_parameters(self, config: DedupConfig) -> None:
        stored, wanted = self.catalog["parameters"], config.key_parameters()
        differ = sorted(key for key in wanted if stored.get(key) != wanted[key])
        if differ:
            detail = ", ".join(f"{key} {stored.get(key)!r} (run: {wanted[key]!r})" for key in differ)
            raise UsageError(f"{self.root}: dedup index made with other settings: {detail}")

    @property
    def records(self) -> int:
        return sum(int(segment.get("records", 0)) for segment in self.catalog["segments"])

    def segments(self) -> list[_Segment]:
        if self._segments is None:
            self._segments = [
                segment
                for entry in self.catalog["segments"]
                if (segment := _Segment.open(self.root, entry, int(self.catalog["parameters"]["bands"])))
                is not None
            ]
        return self._segments

    # ---- writing -------------------------------------------------------------------------------
    @staticmethod
    def add(path: str | os.PathLike[str], config: DedupConfig, data: SegmentData) -> str:
        """Append a segment (creating the index when missing); returns the segment's name."""
        from corpus_kit.io.folder_lock import folder_lock

        root = Path(path)
        with folder_lock(root, activity="dedup index update"):
            if (root / CATALOG).exists():
                index = DedupIndex.open(root)
                index.check_parameters(config)
                catalog = index.catalog
            elif any(item.name != ".corpus-kit.lock" for item in root.iterdir()):
                raise UsageError(
                    f"{root}: exists, is not empty and is not a dedup index; choose another folder"
                )
            else:
                catalog = {
                    "format": FORMAT,
                    "version": VERSION,
                    "parameters": config.key_parameters(),
                    "segments": [],
                }
            name = f"seg-{len(catalog['segments']) + 1:05d}-{uuid.uuid4().hex[:8]}"
            staging = root / "segments" / f".{name}.tmp"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            _write_segment(staging, config, data)
            files = {item.name: _sha256_file(item) for item in sorted(staging.iterdir())}
            os.replace(staging, root / "segments" / name)
            catalog["segments"].append(
                {
                    "name": name,
                    "records": len(data.ids),
                    "datasets": data.datasets,
                    "bytes": sum((root / "segments" / name / file).stat().st_size for file in files),
                    "sha256": files,
                }
            )
            atomic_write_bytes(root / CATALOG, json.dumps(catalog, indent=1, sort_keys=True).encode())
            return name


def _write_segment(folder: Path, config: DedupConfig, data: SegmentData) -> None:
    records = len(data.ids)
    table = pa.table(
        {
            "id": string_array(list(data.ids)),
            "dataset": numpy_array(data.dataset.astype(np.int16), pa.int16()),
        }
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    (folder / "ids.arrow").write_bytes(sink.getvalue().to_pybytes())
    _save(folder, "kind", data.kind.astype(np.uint8))
    order = np.argsort(data.exact_lo, kind="stable")
    _save(folder, "exact_lo", data.exact_lo[order])
    _save(folder, "exact_row", order.astype(np.uint32))
    _save(folder, "exact_hi", data.exact_hi)
    bands = np.lib.format.open_memmap(
        folder / "bands.npy", mode="w+", dtype=np.uint64, shape=(config.bands, records)
    )
    rows = np.lib.format.open_memmap(
        folder / "band_rows.npy", mode="w+", dtype=np.uint32, shape=(config.bands, records)
    )
    for band in range(config.bands):  # one band in memory at a time
        keys = data.bands(band) if data.bands is not None else np.zeros(records, np.uint64)
        order = np.argsort(keys, kind="stable")
        bands[band] = keys[order]
        rows[band] = order
    bands.flush()
    rows.flush()
    del bands, rows
    sig = data.sig16 if data.sig16 is not None else np.zeros((records, config.num_perm), np.uint16)
    _save(folder, "sig16", sig)
    order = np.argsort(data.media_sha, kind="stable")
    _save(folder, "media_sha", data.media_sha[order])
    _save(folder, "media_row", data.media_row[order].astype(np.uint32))


class _Segment:
    def __init__(self, root: Path, entry: dict[str, Any], arrays: dict[str, np.ndarray]):
        self.root = root
        self.entry = entry
        self.name = str(entry["name"])
        self.arrays = arrays
        self.records = int(entry["records"])
        self._ids: pa.Table | None = None

    @classmethod
    def open(cls, root: Path, entry: dict[str, Any], bands: int) -> _Segment | None:
        """The segment's arrays, memory-mapped; None for a segment whose run never finished."""
        try:
            name, records = str(entry["name"]), int(entry["records"])
            datasets = list(entry["datasets"])
        except (KeyError, TypeError, ValueError):
            raise UsageError(f"{root / CATALOG}: malformed segment entry {entry!r:.80}") from None
        for dataset in datasets:
            if dataset.get("manifest_sha256") is None and not _pending_bound(dataset, name):
                return None  # added by a run whose dataset was never written: not part of the index
        folder = root / "segments" / name
        arrays = {}
        try:
            for key in _ARRAYS:
                arrays[key] = np.load(folder / f"{key}.npy", mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as error:
            raise UsageError(f"{folder}: damaged dedup index segment ({error})") from None
        expected = {
            "kind": (records,),
            "exact_lo": (records,),
            "exact_row": (records,),
            "exact_hi": (records,),
            "bands": (bands, records),
            "band_rows": (bands, records),
        }
        for key, shape in expected.items():
            if arrays[key].shape != shape:
                raise UsageError(
                    f"{folder}: damaged dedup index segment ({key} has shape {arrays[key].shape})"
                )
        if arrays["sig16"].shape[0] != records or arrays["media_row"].shape != arrays["media_sha"].shape:
            raise UsageError(f"{folder}: damaged dedup index segment (signatures or media)")
        return cls(root, entry, arrays)

    def ids(self, rows: np.ndarray) -> tuple[list[str], list[str]]:
        if self._ids is None:
            path = self.root / "segments" / self.name / "ids.arrow"
            try:
                with pa.memory_map(str(path)) as source:
                    self._ids = pa.ipc.open_file(source).read_all()
            except (OSError, pa.ArrowInvalid) as error:
                raise UsageError(f"{path}: damaged dedup index segment ({error})") from None
        taken = self._ids.take(numpy_array(rows.astype(np.int64), pa.int64()))
        names = [str(dataset.get("name")) for dataset in self.entry["datasets"]]
        return taken.column("id").to_pylist(), [names[code] for code in taken.column("dataset").to_pylist()]


def _pending_bound(dataset: dict[str, Any], segment: str) -> bool:
    """A segment of ``dedup --index-out``: bound once its dataset's manifest exists and names it."""
    path = dataset.get("pending")
    if not path:
        return False
    try:
        manifest_path = Path(path) / "manifest.json"
        if manifest_path.stat().st_size > MAX_JSON_BYTES:
            return False
        manifest = json.loads(manifest_path.read_bytes())
    except (OSError, ValueError):
        return False
    dedup = manifest.get("dedup") if isinstance(manifest, dict) else None
    return isinstance(dedup, dict) and dedup.get("index_segment") == segment


def _matches(sorted_keys: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(query position, sorted slot) for every equal key; queries searched in ascending order."""
    order = np.argsort(queries, kind="stable")
    ordered = queries[order]
    left = np.searchsorted(sorted_keys, ordered, side="left")
    right = np.searchsorted(sorted_keys, ordered, side="right")
    counts = right - left
    hit = np.flatnonzero(counts)
    if hit.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    repeats = counts[hit]
    query = np.repeat(order[hit], repeats)
    starts = np.repeat(left[hit], repeats)
    within = np.arange(repeats.sum()) - np.repeat(np.cumsum(repeats) - repeats, repeats)
    return query.astype(np.int64), (starts + within).astype(np.int64)


@dataclass
class IndexHits:
    """For each query record that duplicates an indexed one: the indexed record's id and dataset."""

    positions: np.ndarray  # query positions, ascending
    ids: list[str]
    datasets: list[str]


def lookup(
    indexes: Sequence[DedupIndex],
    config: DedupConfig,
    kinds: np.ndarray,
    exact_lo: np.ndarray,
    exact_hi: np.ndarray,
    band_keys: Callable[[int], np.ndarray] | None,
    sig_rows: Callable[[np.ndarray], np.ndarray] | None,
    media: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> IndexHits:
    """Which query records duplicate an indexed record (first index, first segment, lowest row wins).

    Text: same exact key (both halves), or a shared LSH band key whose stored signature estimates a
    Jaccard similarity >= threshold; of the same kind (text only, or text with media). Media: every
    media item's sha256 is in the index (pictures by bytes: the index holds no pHash search), and a
    captioned record's text must hit too.
    """
    size = kinds.size
    best = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)  # (index, segment, row) packed
    segment_list: list[_Segment] = []
    has_text = (kinds == 0) | (kinds == 1)
    for index in indexes:
        for segment in index.segments():
            number = len(segment_list)
            segment_list.append(segment)
            rows = _segment_text_hits(
                segment, config, kinds, has_text, exact_lo, exact_hi, band_keys, sig_rows
            )
            found = np.flatnonzero(rows >= 0)
            packed = (np.int64(number) << np.int64(32)) | rows[found]
            best[found] = np.minimum(best[found], packed)
    text_hit = best != np.iinfo(np.int64).max
    if media is not None and media[0].size:
        item_doc, item_key, _ = media
        covered = np.zeros(item_doc.size, dtype=bool)
        for segment in segment_list:
            sha = segment.arrays["media_sha"]
            if sha.size:
                at = np.minimum(np.searchsorted(sha, item_key), sha.size - 1)
                covered |= np.asarray(sha[at]) == item_key
        items = np.bincount(item_doc, minlength=size)
        matched = np.bincount(item_doc[covered], minlength=size)
        media_hit = (items > 0) & (matched == items)
        # captioned: media and text must both be in the index; media-only: media alone
        keep_text = text_hit & ((kinds == 0) | ((kinds == 1) & media_hit))
        only = (kinds == 2) & media_hit
        text_hit = keep_text | only
        best = np.where(only & (best == np.iinfo(np.int64).max), -1, best)
    else:
        text_hit &= kinds == 0
    positions = np.flatnonzero(text_hit)
    ids: list[str] = [""] * positions.size
    datasets: list[str] = [""] * positions.size
    chosen = best[positions]
    for number, segment in enumerate(segment_list):
        mask = (chosen >> np.int64(32)) == number
        if mask.any():
            found_ids, found_sets = segment.ids(chosen[mask] & np.int64(0xFFFFFFFF))
            for slot, doc_id, dataset in zip(
                np.flatnonzero(mask).tolist(), found_ids, found_sets, strict=True
            ):
                ids[slot], datasets[slot] = doc_id, dataset
    for slot in np.flatnonzero(chosen == -1).tolist():  # media-only hit: name the indexed item's record
        ids[slot], datasets[slot] = _media_owner(segment_list, media, int(positions[slot]))
    return IndexHits(positions, ids, datasets)


def _media_owner(
    segments: list[_Segment], media: tuple[np.ndarray, np.ndarray, np.ndarray] | None, doc: int
) -> tuple[str, str]:
    assert media is not None
    item_doc, item_key, _ = media
    key = item_key[np.flatnonzero(item_doc == doc)[0]]
    for segment in segments:
        sha = segment.arrays["media_sha"]
        at = int(np.searchsorted(sha, key))
        if at < sha.size and sha[at] == key:
            found_ids, found_sets = segment.ids(np.asarray([segment.arrays["media_row"][at]], np.int64))
            return found_ids[0], found_sets[0]
    return "", ""


def _segment_text_hits(
    segment: _Segment,
    config: DedupConfig,
    kinds: np.ndarray,
    has_text: np.ndarray,
    exact_lo: np.ndarray,
    exact_hi: np.ndarray,
    band_keys: Callable[[int], np.ndarray] | None,
    sig_rows: Callable[[np.ndarray], np.ndarray] | None,
) -> np.ndarray:
    """Per query record, the lowest row of ``segment`` it duplicates by text (-1: none)."""
    arrays = segment.arrays
    stored_kind = np.asarray(arrays["kind"])
    none = np.iinfo(np.int64).max
    result = np.full(kinds.size, none, dtype=np.int64)

    def take(query: np.ndarray, rows: np.ndarray) -> None:
        same = (stored_kind[rows] == kinds[query]) & has_text[query]
        np.minimum.at(result, query[same], rows[same])

    if config.exact and segment.records:
        for start in range(0, kinds.size, _LOOKUP_CHUNK):
            stop = min(start + _LOOKUP_CHUNK, kinds.size)
            query, slot = _matches(arrays["exact_lo"], exact_lo[start:stop])
            query += start
            rows = np.asarray(arrays["exact_row"][slot]).astype(np.int64)
            same = np.asarray(arrays["exact_hi"][rows]) == exact_hi[query]
            take(query[same], rows[same])
    if config.near and band_keys is not None and sig_rows is not None and segment.records:
        pairs: list[np.ndarray] = []
        for band in range(config.bands):
            keys = band_keys(band)
            for start in range(0, keys.size, _LOOKUP_CHUNK):
                query, slot = _matches(arrays["bands"][band], keys[start : start + _LOOKUP_CHUNK])
                rows = np.asarray(arrays["band_rows"][band][slot]).astype(np.int64)
                pairs.append(np.stack((query + start, rows), axis=1))
        candidates = np.unique(np.concatenate(pairs), axis=0) if pairs else np.empty((0, 2), np.int64)
        candidates = candidates[(result[candidates[:, 0]] == none) & has_text[candidates[:, 0]]]
        for start in range(0, candidates.shape[0], 20_000):
            chunk = candidates[start : start + 20_000]
            left = (sig_rows(chunk[:, 0]) & np.uint32(0xFFFF)).astype(np.uint16)
            right = np.asarray(arrays["sig16"][np.sort(chunk[:, 1])])[np.argsort(np.argsort(chunk[:, 1]))]
            estimate = (left == right).mean(axis=1)
            good = chunk[estimate >= config.threshold]
            take(good[:, 0], good[:, 1])
    result[result == none] = -1
    return result


def catalog_bytes(index: DedupIndex) -> int:
    """Bytes of the index's segments on disk (as the catalogue records them)."""
    return sum(int(segment.get("bytes", 0)) for segment in index.catalog["segments"])


def sig16(sig: np.ndarray) -> np.ndarray:
    """Signatures as the index stores them: the low 16 bits of each bin."""
    return (sig & np.uint32(0xFFFF)).astype(np.uint16)
