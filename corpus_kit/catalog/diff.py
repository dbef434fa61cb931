"""``corpus-kit diff OLD NEW``: what changed between two releases of a dataset.

Records are matched by id and content: each data row is reduced to a 64-bit hash of its id and a
64-bit prefix of :func:`corpus_kit.io.ledger.content_digest` of its text and media (as published),
held in NumPy arrays (16 bytes a row) and compared sorted, never as Python sets of strings. With
ids repeated inside a release, an (id, content) pair present in both counts as unchanged as many
times as both hold it; the rest of an id's rows pair up as changed, and what is left over is added
or removed.

Removed records are explained by NEW's ledger when it has one (the reason NEW's run gave for each
id it read and did not keep: ``dedup.index``, ``quality.*``...); ids NEW never read are counted as
not supplied. Drift: licences, supply mode, classification and the data schema (columns added,
removed or retyped).

Two different ids with the same 64-bit hash would be counted as one (chance about n^2 / 2^65:
~3e-4 for 10^8 ids).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash

from corpus_kit.errors import UsageError
from corpus_kit.governance.manifest import MANIFEST_NAME, Manifest, read_dataset_manifest
from corpus_kit.io.ledger import content_digest, ledger_files

_BATCH_ROWS = 8192
_PAIR = np.dtype([("id", "<u8"), ("content", "<u8")])


def id_hash(value: str) -> int:
    return xxhash.xxh3_64_intdigest(value.encode("utf-8", "surrogatepass"))


@dataclass
class Release:
    folder: Path
    manifest: Manifest
    pairs: np.ndarray  # _PAIR, one per data row
    schema: pa.Schema | None


def _data_paths(folder: Path, manifest: Manifest) -> list[Path]:
    paths = []
    for item in manifest.files:
        path = folder / item.path
        if not path.is_file():
            raise UsageError(f"{path}: listed in {folder / MANIFEST_NAME} but missing; run manifest verify")
        paths.append(path)
    return paths


def _row_pairs(paths: list[Path]) -> tuple[np.ndarray, pa.Schema | None]:
    chunks: list[np.ndarray] = []
    schema = None
    for path in paths:
        parquet = pq.ParquetFile(path)
        schema = schema or parquet.schema_arrow
        names = parquet.schema_arrow.names
        if "id" not in names or "text" not in names:
            raise UsageError(f"{path}: has no id and text columns; not a corpus-kit data file")
        columns = ["id", "text", *(["media"] if "media" in names else [])]
        for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, columns=columns, use_threads=False):
            ids = batch.column("id").to_pylist()
            texts = batch.column("text").to_pylist()
            media_column = batch.column("media") if "media" in columns else None
            media: list[Any] = [None] * len(ids)
            if (
                media_column is not None
                and media_column.null_count < len(media_column)
                and pc.sum(pc.list_value_length(media_column)).as_py()
            ):
                media = media_column.to_pylist()
            pairs = np.empty(len(ids), dtype=_PAIR)
            pairs["id"] = np.fromiter(
                (id_hash(value or "") for value in ids), dtype=np.uint64, count=len(ids)
            )
            pairs["content"] = np.fromiter(
                (
                    int.from_bytes(
                        content_digest(text, [(item.get("bytes"), item.get("uri")) for item in items or ()])[
                            :8
                        ],
                        "little",
                    )
                    for text, items in zip(texts, media, strict=True)
                ),
                dtype=np.uint64,
                count=len(ids),
            )
            chunks.append(pairs)
    return (np.concatenate(chunks) if chunks else np.empty(0, dtype=_PAIR)), schema


def load_release(folder: str | Path) -> Release:
    root = Path(folder)
    manifest = read_dataset_manifest(root)
    if root.is_file():
        root = root.parent
    pairs, schema = _row_pairs(_data_paths(root, manifest))
    return Release(root, manifest, pairs, schema)


def _counted(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    unique, counts = np.unique(values, return_counts=True)
    return unique, counts.astype(np.int64)


def _at(keys: np.ndarray, counts: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """``counts`` of ``wanted`` keys in sorted ``keys`` (0 where absent)."""
    if not keys.size:
        return np.zeros(wanted.size, dtype=np.int64)
    where = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
    return np.where(keys[where] == wanted, counts[where], 0)


def compare_pairs(old: np.ndarray, new: np.ndarray) -> dict[str, Any]:
    """Added, removed, changed and unchanged record counts, and the hashed ids with removed rows."""
    old_pairs, old_pair_counts = _counted(old)
    new_pairs, new_pair_counts = _counted(new)
    common, old_at, new_at = np.intersect1d(old_pairs, new_pairs, assume_unique=True, return_indices=True)
    same = np.minimum(old_pair_counts[old_at], new_pair_counts[new_at])
    same_ids, same_inverse = np.unique(common["id"], return_inverse=True)
    same_by_id = np.bincount(same_inverse, weights=same, minlength=same_ids.size).astype(np.int64)

    old_ids, old_counts = _counted(old["id"])
    new_ids, new_counts = _counted(new["id"])
    ids = np.union1d(old_ids, new_ids)
    unchanged = _at(same_ids, same_by_id, ids)
    left = _at(old_ids, old_counts, ids) - unchanged
    right = _at(new_ids, new_counts, ids) - unchanged
    changed = np.minimum(left, right)
    removed = left - changed
    added = right - changed
    gone = removed > 0
    return {
        "added": int(added.sum()),
        "removed": int(removed.sum()),
        "changed": int(changed.sum()),
        "unchanged": int(unchanged.sum()),
        "removed_ids": ids[gone],
        "removed_counts": removed[gone],
    }


def removed_reasons(
    new_folder: Path, removed_ids: np.ndarray, removed_counts: np.ndarray
) -> dict[str, int] | None:
    """Removed records by the reason NEW's ledger gives for their id (``None``: NEW has no ledger).

    An id NEW's ledger holds several rows for takes the first one not kept (file order, then row order).
    """
    files = ledger_files(new_folder)
    if not files:
        return None
    found_ids: list[np.ndarray] = []
    found_reasons: list[list[str]] = []
    for path in files:
        parquet = pq.ParquetFile(path)
        for batch in parquet.iter_batches(
            batch_size=1 << 16, columns=["id", "fate", "reason"], use_threads=False
        ):
            gone = batch.filter(
                pc.and_(pc.not_equal(batch.column("fate"), "kept"), pc.is_valid(batch.column("id")))
            )
            if not gone.num_rows:
                continue
            hashed = np.fromiter(
                (id_hash(value) for value in gone.column("id").to_pylist()),
                dtype=np.uint64,
                count=gone.num_rows,
            )
            hit = np.isin(hashed, removed_ids)
            if hit.any():
                batch_reasons = gone.column("reason").to_pylist()
                found_ids.append(hashed[hit])
                found_reasons.append([batch_reasons[i] or "(none)" for i in np.flatnonzero(hit)])
    reasons: dict[str, int] = {}
    if found_ids:
        hashed = np.concatenate(found_ids)
        flat = [reason for chunk in found_reasons for reason in chunk]
        _, first = np.unique(hashed, return_index=True)
        for index in np.sort(first):
            count = int(removed_counts[np.searchsorted(removed_ids, hashed[index])])
            reasons[flat[index]] = reasons.get(flat[index], 0) + count
    return dict(sorted(reasons.items()))


def _change(old: Any, new: Any) -> dict[str, Any] | None:
    return None if old == new else {"old": old, "new": new}


def _schema_drift(old: pa.Schema | None, new: pa.Schema | None) -> dict[str, Any]:
    old_types = {field.name: str(field.type) for field in old} if old is not None else {}
    new_types = {field.name: str(field.type) for field in new} if new is not None else {}
    return {
        "added": sorted(set(new_types) - set(old_types)),
        "removed": sorted(set(old_types) - set(new_types)),
        "retyped": {
            name: {"old": old_types[name], "new": new_types[name]}
            for name in sorted(set(old_types) & set(new_types))
            if old_types[name] != new_types[name]
        },
    }


def _licence_drift(old: Manifest, new: Manifest) -> dict[str, Any]:
    before, after = old.licenses, new.licenses
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "records": {
            key: {"old": before.get(key, 0), "new": after.get(key, 0)}
            for key in sorted(set(before) | set(after))
            if before.get(key, 0) != after.get(key, 0)
        },
        "expression": _change(
            old.license.expression if old.license else None, new.license.expression if new.license else None
        ),
    }


def _classification(manifest: Manifest) -> dict[str, Any] | None:
    if manifest.supply is None or manifest.supply.classification is None:
        return None
    return manifest.supply.classification.model_dump(mode="json", exclude_none=True)


def _classification_drift(old: Manifest, new: Manifest) -> dict[str, Any] | None:
    before, after = _classification(old), _classification(new)
    if before == after:
        return None
    before, after = before or {}, after or {}
    return {
        key: {"old": before.get(key), "new": after.get(key)}
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def diff_releases(old_folder: str | Path, new_folder: str | Path) -> dict[str, Any]:
    """The comparison as one JSON-ready object (see the module docstring)."""
    old, new = load_release(old_folder), load_release(new_folder)
    compared = compare_pairs(old.pairs, new.pairs)
    reasons = removed_reasons(new.folder, compared.pop("removed_ids"), compared.pop("removed_counts"))
    explained = sum(reasons.values()) if reasons is not None else 0
    old_mode = old.manifest.supply.mode.value if old.manifest.supply else None
    new_mode = new.manifest.supply.mode.value if new.manifest.supply else None
    return {
        "old": {
            "name": old.manifest.dataset.name,
            "version": old.manifest.dataset.version,
            "rows": int(old.pairs.size),
        },
        "new": {
            "name": new.manifest.dataset.name,
            "version": new.manifest.dataset.version,
            "rows": int(new.pairs.size),
        },
        **compared,
        "removed_by_reason": reasons,
        "removed_not_in_new_input": compared["removed"] - explained if reasons is not None else None,
        "drift": {
            "licenses": _licence_drift(old.manifest, new.manifest),
            "supply_mode": _change(old_mode, new_mode),
            "classification": _classification_drift(old.manifest, new.manifest),
            "schema": _schema_drift(old.schema, new.schema),
        },
    }
