"""Row mapping shared by the columnar readers (Parquet files and ``save_to_disk`` folders).

Besides a ``media`` column in corpus-kit's own layout, any column holding Hugging Face
``Image``/``Audio`` values (a struct with ``bytes`` and ``path``, or a list of them) becomes
media of the record, so that datasets exported by ``datasets`` keep their images and audio.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpus_kit.io.inputs import InputUnit
from corpus_kit.io.readers.base import CorpusReader, ReadItem
from corpus_kit.io.rejects import Reject

_HF_MEDIA_TYPES = {"Image": "image", "Audio": "audio", "Video": "video", "Pdf": "document"}


def _is_bytes_struct(arrow_type: pa.DataType) -> bool:
    return pa.types.is_struct(arrow_type) and any(
        arrow_type.field(i).name == "bytes" for i in range(arrow_type.num_fields)
    )


def _feature_media_type(feature: Any) -> str | None:
    """Media type named by a Hugging Face feature (as a dict from schema metadata)."""
    if isinstance(feature, list) and feature:
        return _feature_media_type(feature[0])
    if isinstance(feature, dict):
        kind = feature.get("_type")
        if kind in _HF_MEDIA_TYPES:
            return _HF_MEDIA_TYPES[kind]
        if kind in ("Sequence", "List", "LargeList"):
            return _feature_media_type(feature.get("feature"))
    return None


def hf_features_from_schema(schema: pa.Schema) -> dict[str, Any]:
    """Features stored by ``datasets`` in the Arrow schema metadata, if any."""
    raw = (schema.metadata or {}).get(b"huggingface")
    if not raw:
        return {}
    try:
        return json.loads(raw).get("info", {}).get("features", {}) or {}
    except (ValueError, AttributeError):
        return {}


def media_columns(schema: pa.Schema, features: dict[str, Any], text_field: str) -> dict[str, str | None]:
    """Columns to turn into media, with their declared type (``None``: sniff from bytes)."""
    found: dict[str, str | None] = {}
    for field in schema:
        if field.name in ("media", text_field):
            continue
        arrow_type = field.type
        is_list = pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type)
        inner = arrow_type.value_type if is_list else arrow_type
        declared = _feature_media_type(features.get(field.name))
        if declared or _is_bytes_struct(inner):
            found[field.name] = declared
    return found


class TableRowsMixin(CorpusReader):
    """Maps Arrow record batches onto documents."""

    def documents_from_batches(
        self,
        batches: Iterable[pa.RecordBatch],
        unit: InputUnit,
        media_cols: dict[str, str | None],
        first_row: int = 0,
        extra_locator: dict[str, Any] | None = None,
    ) -> Iterator[ReadItem]:
        row_index = first_row
        prefix = f"{unit.uri}:{extra_locator['source_split']}" if extra_locator else unit.uri
        limit = self.options.max_record_bytes
        for batch in batches:
            sizes = _row_bytes(batch)
            try:
                records: list[dict[str, Any] | None] = batch.to_pylist()
            except UnicodeDecodeError:
                # Arrow does not validate UTF-8 when it reads a string column; only a batch that
                # holds a broken value pays for finding it row by row
                records = _rows_or_none(batch)
            for position, record in enumerate(records):
                if record is None:
                    yield Reject(
                        "encoding.invalid_utf8",
                        _binary_excerpt(batch.slice(position, 1)),
                        row=row_index,
                        detail="a string column holds bytes that are not UTF-8",
                    )
                    row_index += 1
                    continue
                if sizes[position] > limit:  # as a JSONL line over the cap is: whatever the page layout
                    yield Reject(
                        "record.too_large",
                        None,
                        row=row_index,
                        detail=f"row of {int(sizes[position])} bytes (--max-record-size is {limit} bytes)",
                    )
                    row_index += 1
                    continue
                locator = {"source_row": row_index, **(extra_locator or {})}
                media_entries = []
                for column, declared in media_cols.items():
                    value = record.pop(column, None)
                    values = value if isinstance(value, list) else [value]
                    for item in values:
                        if isinstance(item, dict) and (item.get("bytes") is not None or item.get("path")):
                            media_entries.append(
                                {
                                    "type": declared,
                                    "bytes": item.get("bytes"),
                                    "uri": item.get("path") or column,
                                }
                            )
                if media_entries:
                    existing = record.get("media")
                    record["media"] = (existing if isinstance(existing, list) else []) + media_entries
                item = self.document_from_record(record, unit, f"{prefix}:{row_index}", locator)
                if type(item) is Reject:
                    item.row = row_index
                    item.raw = _row_excerpt(batch.slice(position, 1).to_pylist()[0])
                yield item
                row_index += 1


def _row_bytes(batch: pa.RecordBatch) -> np.ndarray:
    """Bytes of each row's string and binary values (top level and in structs, e.g. an image's
    ``bytes``), counted by Arrow without building Python objects."""
    sizes = np.zeros(batch.num_rows, dtype=np.int64)
    pending = list(batch.columns)
    while pending:
        column = pending.pop()
        kind = column.type
        if (
            pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
            or pa.types.is_binary(kind)
            or (pa.types.is_large_binary(kind))
        ):
            sizes += pc.fill_null(pc.binary_length(column), 0).to_numpy(zero_copy_only=False)
        elif pa.types.is_struct(kind):
            pending.extend(column.field(index) for index in range(kind.num_fields))
    return sizes


def _row_excerpt(record: dict[str, Any]) -> str:
    """A JSON excerpt of a rejected row with binary values shortened."""
    shown = {
        key: (f"<{len(value)} bytes>" if isinstance(value, (bytes, bytearray)) else value)
        for key, value in record.items()
    }
    return json.dumps(shown, ensure_ascii=False, default=str)[:2048]


def _rows_or_none(batch: pa.RecordBatch) -> list[dict[str, Any] | None]:
    """The rows of ``batch``, ``None`` for each row holding invalid UTF-8."""
    rows: list[dict[str, Any] | None] = []
    for position in range(batch.num_rows):
        try:
            rows.append(batch.slice(position, 1).to_pylist()[0])
        except UnicodeDecodeError:
            rows.append(None)
    return rows


def _binary_excerpt(row: pa.RecordBatch) -> bytes:
    """The raw bytes of a row's top-level string columns (their text cannot be decoded)."""
    parts = []
    for name, column in zip(row.schema.names, row.columns, strict=True):
        kind = column.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            value = column.cast(pa.large_binary())[0].as_py()
            if value is not None:
                parts.append(name.encode() + b"=" + value[:1024])
    return b"; ".join(parts)
