"""Adding to a dedup index: from a run's dedup state (``dedup --index-out``) or from published
datasets (``corpus-kit index build``). See :mod:`.index` for the format."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from corpus_kit.errors import UsageError
from corpus_kit.stages.dedup.buckets import load_column
from corpus_kit.stages.dedup.config import DedupConfig
from corpus_kit.stages.dedup.index import DedupIndex, SegmentData, sig16
from corpus_kit.stages.dedup.minhash import band_hashes, exact_key, normalize_text, signatures
from corpus_kit.stages.dedup.state import (
    ITEM_AUDIO,
    ITEM_IMAGE,
    ITEM_OTHER,
    KIND_EMPTY,
    KIND_MEDIA,
    KIND_MEDIA_ONLY,
    KIND_TEXT,
    DedupState,
)

_SIG_CHUNK = 65_536  # signature rows copied at a time


def add_run_segment(index_out: str, config: DedupConfig, state: DedupState) -> str:
    """Index the records this run's dedup kept (everything its decisions do not drop)."""
    ranks, counts, kinds = state.kinds()
    offsets = (
        np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64) if ranks else np.zeros(0, np.int64)
    )
    dropped = np.zeros(kinds.size, dtype=bool)
    ids: list[str] = []
    for task, offset in zip(ranks, offsets, strict=True):
        table = pq.ParquetFile(state.decisions(task)).read(columns=["index", "reason"])
        has_reason = table.column("reason").is_valid().to_numpy(zero_copy_only=False)
        index = table.column("index").to_numpy()
        dropped[index[has_reason] + offset] = True
        with pa.memory_map(str(state.ids(task))) as source:
            ids.extend(pa.ipc.open_file(source).read_all().column("id").to_pylist())
    kept = np.flatnonzero(~dropped)
    exact_lo = state.column("exact_lo", ranks)[kept]
    exact_hi = state.column("exact_hi", ranks)[kept]
    bands = None
    sig = None
    if config.near and kinds.size:

        def bands(band: int) -> np.ndarray:
            return load_column([str(state.band(band, task)) for task in ranks], counts)[kept]

        sig = np.empty((kept.size, config.num_perm), dtype=np.uint16)
        from corpus_kit.stages.dedup.clusters import _Signatures

        rows = _Signatures(state, ranks, offsets, config.num_perm)
        for start in range(0, kept.size, _SIG_CHUNK):
            sig[start : start + _SIG_CHUNK] = sig16(rows.rows(kept[start : start + _SIG_CHUNK]))
    media_sha, media_row = _run_media(state, ranks, offsets, kept, kinds.size)
    output = Path(state.root).parent.parent  # OUT/.corpus-kit/dedup
    data = SegmentData(
        ids=[ids[position] for position in kept.tolist()],
        dataset=np.zeros(kept.size, np.int16),
        datasets=[{"name": output.name, "manifest_sha256": None, "pending": str(output.resolve())}],
        kind=kinds[kept],
        exact_lo=exact_lo,
        exact_hi=exact_hi,
        bands=bands,
        sig16=sig,
        media_sha=media_sha,
        media_row=media_row,
    )
    return DedupIndex.add(index_out, config, data)


def _run_media(
    state: DedupState, ranks: list[int], offsets: np.ndarray, kept: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    new_row = np.full(size, -1, dtype=np.int64)
    new_row[kept] = np.arange(kept.size)
    keys, rows = [], []
    for task, offset in zip(ranks, offsets, strict=True):
        stored = np.load(state.docs(task))
        doc = stored["item_doc"] + offset
        keep = new_row[doc] >= 0
        keys.append((stored["item_sha_lo"] ^ (stored["item_kind"].astype(np.uint64) << np.uint64(56)))[keep])
        rows.append(new_row[doc][keep])
    if not keys:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    return np.concatenate(keys), np.concatenate(rows)


def build_from_datasets(
    paths: list[str], index_out: str, config: DedupConfig, batch_rows: int = 2048
) -> tuple[str, int]:
    """Index every record of corpus-kit datasets (their ``data/*.parquet``), bound to their manifests."""
    datasets = []
    files: list[tuple[int, Path]] = []
    for number, raw in enumerate(paths):
        folder = Path(raw)
        manifest_path = folder / "manifest.json"
        try:
            manifest_bytes = manifest_path.read_bytes()
            manifest = json.loads(manifest_bytes)
            name = str(manifest["dataset"]["name"])
        except (OSError, ValueError, KeyError, TypeError):
            raise UsageError(f"{folder}: not a corpus-kit dataset (no readable manifest.json)") from None
        datasets.append(
            {
                "name": name,
                "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
                "path": str(folder.resolve()),
            }
        )
        files.extend((number, path) for path in sorted((folder / "data").glob("*.parquet")))
    ids: list[str] = []
    dataset_of: list[int] = []
    kinds: list[int] = []
    lo: list[int] = []
    hi: list[int] = []
    band_parts: list[np.ndarray] = []
    sig_parts: list[np.ndarray] = []
    media_keys: list[int] = []
    media_rows: list[int] = []
    for number, path in files:
        parquet = pq.ParquetFile(path)
        columns = [name for name in ("id", "text", "media") if name in parquet.schema_arrow.names]
        for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
            texts: list[str] = []
            rows = batch.to_pylist()
            for row in rows:
                normalized = normalize_text(row.get("text") or "", config.fold_script)
                media = [item for item in row.get("media") or [] if item.get("bytes")] if config.media else []
                key_lo, key_hi = exact_key(normalized)
                record = len(ids)
                ids.append(str(row["id"]))
                dataset_of.append(number)
                lo.append(key_lo)
                hi.append(key_hi)
                if normalized:
                    kinds.append(KIND_MEDIA if media else KIND_TEXT)
                else:
                    kinds.append(KIND_MEDIA_ONLY if media else KIND_EMPTY)
                for item in media:
                    digest = hashlib.sha256(item["bytes"]).digest()
                    code = {"image": ITEM_IMAGE, "audio": ITEM_AUDIO}.get(item.get("type") or "", ITEM_OTHER)
                    media_keys.append(int.from_bytes(digest[:8], "little") ^ (code << 56))
                    media_rows.append(record)
                texts.append(normalized)
            if config.near and texts:
                sig = signatures(
                    texts, config.num_perm, config.ngram_unspaced, config.ngram_spaced, config.seed
                )
                band_parts.append(band_hashes(sig, config.bands, config.rows, config.seed))
                sig_parts.append(sig16(sig))
    all_bands = np.concatenate(band_parts, axis=1) if band_parts else None
    data = SegmentData(
        ids=ids,
        dataset=np.asarray(dataset_of, dtype=np.int16),
        datasets=datasets,
        kind=np.asarray(kinds, dtype=np.uint8),
        exact_lo=np.asarray(lo, dtype=np.uint64),
        exact_hi=np.asarray(hi, dtype=np.uint64),
        bands=(lambda band: all_bands[band]) if all_bands is not None else None,
        sig16=np.concatenate(sig_parts) if sig_parts else None,
        media_sha=np.asarray(media_keys, dtype=np.uint64),
        media_row=np.asarray(media_rows, dtype=np.int64),
    )
    return DedupIndex.add(index_out, config, data), len(ids)
