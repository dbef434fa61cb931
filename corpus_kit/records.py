"""The record model: datatrove ``Document`` in, one explicit Arrow schema out (docs/architecture.md §2-3).

Columns a stage owns (``language``, ``quality_signals``, ``pii_spans``...) live in
``Document.metadata`` under the same key while the record travels through the pipeline; the
writer lifts them into their columns and serialises the rest of the metadata as JSON.
"""

from __future__ import annotations

import hashlib
import mimetypes
from typing import Any

import orjson
import pyarrow as pa
from datatrove.data import Document, Media, MediaType

MEDIA_TYPE_NAMES = {
    MediaType.IMAGE: "image",
    MediaType.VIDEO: "video",
    MediaType.AUDIO: "audio",
    MediaType.DOCUMENT: "document",
}
MEDIA_TYPE_CODES = {name: code for code, name in MEDIA_TYPE_NAMES.items()}

MEDIA_STRUCT = pa.struct(
    [
        ("type", pa.string()),
        ("mime", pa.string()),
        ("uri", pa.string()),
        ("bytes", pa.binary()),
        ("sha256", pa.string()),
    ]
)

#: The output schema, fixed up front: never inferred from the first record.
OUTPUT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("text", pa.string()),
        ("media", pa.list_(MEDIA_STRUCT)),
        ("source", pa.string()),
        ("license", pa.string()),
        ("language", pa.string()),
        ("language_score", pa.float32()),
        ("quality_signals", pa.string()),  # JSON object, rule id -> signal value
        ("pii_spans", pa.int32()),
        ("dup_cluster", pa.string()),  # id of the record that represents this record's duplicate cluster
        ("dup_count", pa.int32()),  # records in that cluster, this one included (1: no duplicate)
        ("safety", pa.string()),  # JSON object: {"risks": {code: hits}, "flagged": bool}; null: not screened
        ("tokens", pa.int64()),  # tokens of the text (manifest tokens block: tokenizer); null: not counted
        ("metadata", pa.string()),  # JSON object with everything else
    ]
)

#: Metadata keys that become columns of their own (everything else goes to ``metadata`` JSON).
COLUMN_KEYS = frozenset(
    (
        "source",
        "license",
        "language",
        "language_score",
        "quality_signals",
        "pii_spans",
        "dup_cluster",
        "dup_count",
        "safety",
        "tokens",
    )
)

_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"fLaC", "audio/flac"),
    (b"OggS", "audio/ogg"),
    (b"ID3", "audio/mpeg"),
    (b"%PDF-", "application/pdf"),
)


def sniff_mime(data: bytes | None, name: str | None = None) -> str:
    """MIME type from magic bytes, falling back to the file name's extension."""
    if data:
        head = data[:16]
        for magic, mime in _MAGIC:
            if head.startswith(magic):
                return mime
        if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
            return "audio/wav"
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return "image/webp"
        if head[4:8] == b"ftyp":
            return "video/mp4"
        if head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
            return "audio/mpeg"
    if name:
        guessed, _ = mimetypes.guess_type(name)
        if guessed:
            return guessed
    return "application/octet-stream"


def media_type_for(mime: str, declared: str | int | None = None) -> int:
    """datatrove ``MediaType`` code from a declared type (name or code) or, failing that, the MIME type."""
    if isinstance(declared, int) and declared in MEDIA_TYPE_NAMES:
        return declared
    if isinstance(declared, str) and declared.lower() in MEDIA_TYPE_CODES:
        return MEDIA_TYPE_CODES[declared.lower()]
    family = mime.split("/", 1)[0]
    return MEDIA_TYPE_CODES.get(family, MediaType.DOCUMENT)


def make_media(
    media_id: str,
    data: bytes | None,
    uri: str,
    declared_type: str | int | None = None,
    mime: str | None = None,
) -> Media:
    """A datatrove ``Media`` with its bytes and MIME type (kept in ``media.metadata['mime']``)."""
    mime = mime or sniff_mime(data, uri)
    return Media(
        id=media_id,
        type=media_type_for(mime, declared_type),
        url=uri,
        media_bytes=data,
        length=len(data) if data is not None else None,
        metadata={"mime": mime},
    )


def media_to_row(media: Media) -> dict[str, Any]:
    """One element of the ``media`` column; the sha256 is computed from the bytes actually written."""
    data = media.media_bytes
    return {
        "type": MEDIA_TYPE_NAMES.get(media.type, "document"),
        "mime": (media.metadata or {}).get("mime") or sniff_mime(data, media.url or media.path),
        "uri": media.url or media.path,
        "bytes": data,
        "sha256": hashlib.sha256(data).hexdigest() if data is not None else None,
    }


def media_from_row(row: dict[str, Any], fallback_id: str) -> Media:
    """Inverse of :func:`media_to_row`, for reading corpus-kit's own Parquet output back in."""
    data = row.get("bytes")
    return make_media(
        media_id=fallback_id,
        data=data,
        uri=row.get("uri") or fallback_id,
        declared_type=row.get("type"),
        mime=row.get("mime"),
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


def dumps_json(value: Any) -> str:
    """Compact, key-sorted JSON text (stable output for identical input)."""
    return orjson.dumps(
        value, default=_json_default, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
    ).decode()


def as_optional_str(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return dumps_json(value) if isinstance(value, (dict, list)) else str(value)


def held_size(document: Document) -> int:
    """What holding ``document`` in memory costs, roughly: its text's characters plus its media bytes
    (used to bound the runs of documents a step holds back)."""
    size = len(document.text or "")
    for media in document.media or ():
        data = media.media_bytes
        if data is not None:
            size += len(data)
    return size
