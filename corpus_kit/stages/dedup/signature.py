"""Dedup phase 1: per task, fingerprint every document (exact key, MinHash bands, media hashes).

Runs as the last step of a pipeline that re-reads the input exactly as the filter phase will (same
reader, same earlier stages, same task count), so positions line up. Yields nothing.
"""

from __future__ import annotations

import hashlib
import io
import os
from typing import Any, cast

import numpy as np
import pyarrow as pa
from datatrove.data import Document, DocumentsPipeline, MediaType

from corpus_kit.io.parquet_writer import string_array
from corpus_kit.stages.dedup.minhash import (
    band_hashes,
    exact_key,
    normalize_text,
    shingle_hashes,
    shingle_sets,
    signatures_of,
)
from corpus_kit.stages.dedup.state import (
    ITEM_AUDIO,
    ITEM_IMAGE,
    ITEM_OTHER,
    KIND_EMPTY,
    KIND_MEDIA,
    KIND_MEDIA_ONLY,
    KIND_TEXT,
    DedupPhase,
    DedupState,
)
from corpus_kit.utils import atomic_write_bytes

NO_PHASH = np.uint64(0)  # with has_phash False


def id_check(doc_id: str) -> int:
    """64-bit fingerprint of a document id: the filter phase checks it is looking at the same record."""
    return int.from_bytes(hashlib.blake2b(doc_id.encode("utf-8"), digest_size=8).digest(), "little")


class _AppendFile:
    """A binary file written batch by batch, renamed into place when complete."""

    def __init__(self, path: os.PathLike[str] | str):
        self.path = str(path)
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.handle = open(self.path + ".tmp", "wb")  # noqa: SIM115 - closed in close()

    def write(self, array: np.ndarray) -> None:
        self.handle.write(np.ascontiguousarray(array).tobytes())

    def close(self) -> None:
        self.handle.close()
        os.replace(self.path + ".tmp", self.path)


class DedupSignatures(DedupPhase):
    """Fingerprints of every document, written under ``WORK/dedup`` for the bucket and cluster phases."""

    name = "🫆 dedup signatures"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        state = DedupState(self.state_dir)
        config = self.config
        band_files = (
            [_AppendFile(state.band(band, rank)) for band in range(config.bands)] if config.near else []
        )
        signature_file = _AppendFile(state.signatures(rank)) if config.near else None
        exact_verify = config.near and config.verify == "exact"
        shingle_file = _AppendFile(state.shingles(rank)) if exact_verify else None
        offset_file = _AppendFile(state.shingle_offsets(rank)) if exact_verify else None
        shingles_written = 0
        if offset_file is not None:
            offset_file.write(np.zeros(1, np.int64))
        ids: list[str] = []
        sources: list[str | None] = []
        lengths: list[int] = []
        pixels: list[int] = []
        media_bytes: list[int] = []
        kinds: list[int] = []
        exact_lo: list[int] = []
        exact_hi: list[int] = []
        checks: list[int] = []
        items: dict[str, list[Any]] = {
            "doc": [],
            "kind": [],
            "sha_lo": [],
            "sha_hi": [],
            "phash": [],
            "has_phash": [],
            "alpha": [],
            "has_alpha": [],
        }
        batch_texts: list[str] = []
        batch_bytes = 0

        def flush() -> None:
            nonlocal batch_bytes, shingles_written
            if not batch_texts:
                return
            with self.track_time():
                values, owners = shingle_hashes(
                    batch_texts, config.ngram_unspaced, config.ngram_spaced, config.seed
                )
                sig = signatures_of(values, owners, len(batch_texts), config.num_perm)
                if shingle_file is not None and offset_file is not None:
                    sets, offsets = shingle_sets(values, owners, len(batch_texts))
                    shingle_file.write(sets)
                    offset_file.write(offsets[1:] + shingles_written)
                    shingles_written += int(sets.size)
                assert signature_file is not None
                signature_file.write(sig)
                keys = band_hashes(sig, config.bands, config.rows, config.seed)
                for band, handle in enumerate(band_files):
                    handle.write(keys[band])
            batch_texts.clear()
            batch_bytes = 0

        for document in data:
            with self.track_time():
                index = len(ids)
                ids.append(document.id)
                source = document.metadata.get("source")
                sources.append(None if source is None else str(source))
                checks.append(id_check(document.id))
                normalized = normalize_text(document.text, config.fold_script) if document.text else ""
                lengths.append(len(normalized))
                lo, hi = exact_key(normalized)
                exact_lo.append(lo)
                exact_hi.append(hi)
                has_media = bool(document.media) and config.media
                if normalized:
                    kinds.append(KIND_MEDIA if has_media else KIND_TEXT)
                else:
                    kinds.append(KIND_MEDIA_ONLY if has_media else KIND_EMPTY)
                area, size = self._media_items(document, index, items) if has_media else (0, 0)
                pixels.append(area)
                media_bytes.append(size)
                self.stat_update("fingerprinted")
            if config.near:
                batch_texts.append(normalized)
                batch_bytes += len(normalized)
                if batch_bytes >= config.batch_bytes // 4:  # characters, up to 4 bytes each in UTF-32
                    flush()
        if config.near:
            flush()
            assert signature_file is not None
            signature_file.close()
            for handle in band_files:
                handle.close()
            if shingle_file is not None and offset_file is not None:
                shingle_file.close()
                offset_file.close()
        extra = {
            "length": np.asarray(lengths, dtype=np.int64),
            "pixels": np.asarray(pixels, dtype=np.int64),
            "media_bytes": np.asarray(media_bytes, dtype=np.int64),
        }
        self._write_docs(state, rank, ids, sources, kinds, exact_lo, exact_hi, checks, items, extra)
        return
        yield  # a generator that yields nothing: the phase ends here

    def _media_items(self, document: Document, index: int, items: dict[str, list[Any]]) -> tuple[int, int]:
        """Hash the record's media items into ``items``; return its decoded pixels and media bytes
        (what ``keep: best_media`` compares; pixel counts from the image headers)."""
        from corpus_kit.stages.dedup.media_hash import image_hashes, image_pixels

        area = size = 0
        for media in document.media:
            data = media.media_bytes
            if data is None:
                continue
            size += len(data)
            digest = hashlib.sha256(data).digest()
            kind = {MediaType.IMAGE: ITEM_IMAGE, MediaType.AUDIO: ITEM_AUDIO}.get(media.type, ITEM_OTHER)
            hashes = image_hashes(data) if kind == ITEM_IMAGE else None
            if kind == ITEM_IMAGE:
                area += image_pixels(data)
                if hashes is None:
                    self.stat_update("image_undecodable")
                elif hashes.flat:
                    self.stat_update("image_flat")  # matched byte for byte only
            phash = hashes.phash if hashes is not None else None
            alpha = hashes.alpha if hashes is not None else None
            items["doc"].append(index)
            items["kind"].append(kind)
            items["sha_lo"].append(int.from_bytes(digest[:8], "little"))
            items["sha_hi"].append(int.from_bytes(digest[8:16], "little"))
            items["phash"].append(phash or 0)
            items["has_phash"].append(phash is not None)
            items["alpha"].append(alpha or 0)
            items["has_alpha"].append(alpha is not None)
        return area, size

    def _write_docs(
        self,
        state: DedupState,
        rank: int,
        ids: list[str],
        sources: list[str | None],
        kinds: list[int],
        exact_lo: list[int],
        exact_hi: list[int],
        checks: list[int],
        items: dict[str, list[Any]],
        extra: dict[str, np.ndarray],
    ) -> None:
        # pa.array would import pandas in every worker; the cast only widens the element type
        # (string_array takes list[str | None] and does not modify it)
        table = pa.table({"id": string_array(cast("list[str | None]", ids)), "source": string_array(sources)})
        sink = pa.BufferOutputStream()
        with pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        atomic_write_bytes(state.ids(rank), sink.getvalue().to_pybytes())
        arrays = io.BytesIO()
        np.savez(
            arrays,
            kind=np.asarray(kinds, dtype=np.uint8),
            exact_lo=np.asarray(exact_lo, dtype=np.uint64),
            exact_hi=np.asarray(exact_hi, dtype=np.uint64),
            id_check=np.asarray(checks, dtype=np.uint64),
            item_doc=np.asarray(items["doc"], dtype=np.int64),
            item_kind=np.asarray(items["kind"], dtype=np.uint8),
            item_sha_lo=np.asarray(items["sha_lo"], dtype=np.uint64),
            item_sha_hi=np.asarray(items["sha_hi"], dtype=np.uint64),
            item_phash=np.asarray(items["phash"], dtype=np.uint64),
            item_has_phash=np.asarray(items["has_phash"], dtype=bool),
            item_alpha=np.asarray(items["alpha"], dtype=np.uint64),
            item_has_alpha=np.asarray(items["has_alpha"], dtype=bool),
            **extra,  # type: ignore[arg-type]  # numpy's stub types savez's keyword arrays as bool
        )
        atomic_write_bytes(state.docs(rank), arrays.getvalue())  # last: marks the task's state complete
