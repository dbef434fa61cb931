"""Parquet writer step: explicit schema, zstd, row groups and shards sized in bytes, atomic files.

Written by hand rather than subclassing datatrove's ``ParquetWriter`` because that one sizes row
groups by document count, infers the schema from the first record unless told, blanks media bytes
by default, and writes straight to the final file name. Here each task writes
``<rank>-<seq>.parquet.tmp`` in the run's staging folder, buffers columns (not per-row dicts),
flushes a row group every ``row_group_bytes`` of input, starts a new file past ``shard_bytes``, and
renames a file to ``.parquet`` only once it is closed. The run's finaliser later gives the files
their Hub names (``train-00000-of-00003.parquet``) and moves them into ``OUT/data`` in one rename.

Where the installed pyarrow supports them (checked once, at import), files are written with
content-defined chunking (pyarrow >= 21), so the Hub's Xet storage dedups the pages a new release
leaves unchanged, and with the page index. Older pyarrow (17-20) writes the same layout without
them. See ``docs/parquet-layout.md``.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from corpus_kit.records import COLUMN_KEYS, OUTPUT_SCHEMA, as_optional_str, dumps_json, media_to_row

DEFAULT_SHARD_BYTES = 512 * 1024 * 1024
DEFAULT_ROW_GROUP_BYTES = 128 * 1024 * 1024

_DICTIONARY_COLUMNS = ["source", "license", "language"]
_INT32_MAX = 2**31 - 1
_STATISTICS_COLUMNS = ["id", "source", "license", "language", "language_score", "pii_spans"]

#: Content-defined chunking parameters: pyarrow's documented defaults, spelled out (as datatrove
#: does) so a change of pyarrow's defaults cannot move every page boundary between two releases.
CDC_OPTIONS: dict[str, int] = {"min_chunk_size": 256 * 1024, "max_chunk_size": 1024 * 1024, "norm_level": 0}


def _supported_writer_options(writer_class: type = pq.ParquetWriter) -> dict[str, Any]:
    """The optional ``ParquetWriter`` keywords this pyarrow accepts: CDC (21+) and the page index.

    Detected by feature, not version. A named parameter of ``ParquetWriter.__init__`` is accepted;
    anything else is tried on an in-memory writer, because ``__init__`` also takes ``**options``
    and hands them to the Cython writer: pyarrow 21-23 accept ``use_content_defined_chunking``
    only that way (26 names it), while 17-20 raise ``TypeError`` for it.
    """
    wanted: dict[str, Any] = {"use_content_defined_chunking": dict(CDC_OPTIONS), "write_page_index": True}
    try:
        named = set(inspect.signature(writer_class).parameters)
    except (TypeError, ValueError):
        named = set()
    probe_schema = pa.schema([("probe", pa.string())])
    supported: dict[str, Any] = {}
    for name, value in wanted.items():
        if name not in named:
            try:
                writer_class(pa.BufferOutputStream(), probe_schema, **{name: value}).close()
            except (TypeError, ValueError, pa.ArrowException):
                continue
        supported[name] = value
    return supported


#: Computed once per process; ``open_parquet_writer`` passes these to every writer.
WRITER_OPTIONS: dict[str, Any] = _supported_writer_options()


def staged_file_name(rank: int, sequence: int) -> str:
    return f"{rank:05d}-{sequence:04d}.parquet"


def open_parquet_writer(path: str | Path, schema: pa.Schema = OUTPUT_SCHEMA) -> pq.ParquetWriter:
    """A zstd ParquetWriter tuned for long text: no dictionary or min/max stats on text and bytes.

    Adds content-defined chunking and the page index where pyarrow supports them
    (``WRITER_OPTIONS``); the page index's column index covers the statistics columns only.
    """
    return pq.ParquetWriter(
        str(path),
        schema,
        compression="zstd",
        use_dictionary=_DICTIONARY_COLUMNS,
        write_statistics=_STATISTICS_COLUMNS,
        **WRITER_OPTIONS,
    )


class _ColumnBuffer:
    """Column-wise buffer of documents (cheaper than building a dict per row)."""

    def __init__(self) -> None:
        self.columns: dict[str, list[Any]] = {name: [] for name in OUTPUT_SCHEMA.names}
        self.bytes = 0
        self.rows = 0

    def append(self, document: Document) -> None:
        columns = self.columns
        metadata = document.metadata
        text = document.text.encode()  # encoded once: sizes row groups in bytes and feeds the array
        columns["id"].append(document.id)
        columns["text"].append(text)
        media_rows = [media_to_row(media) for media in document.media]
        columns["media"].append(media_rows)
        columns["source"].append(as_optional_str(metadata.get("source")))
        columns["license"].append(as_optional_str(metadata.get("license")))
        columns["language"].append(as_optional_str(metadata.get("language")))
        score = metadata.get("language_score")
        columns["language_score"].append(float(score) if score is not None else None)
        signals = metadata.get("quality_signals")
        columns["quality_signals"].append(as_optional_str(signals))
        spans = metadata.get("pii_spans")
        columns["pii_spans"].append(int(spans) if spans is not None else None)
        columns["dup_cluster"].append(as_optional_str(metadata.get("dup_cluster")))
        dup_count = metadata.get("dup_count")
        columns["dup_count"].append(int(dup_count) if dup_count is not None else None)
        columns["safety"].append(as_optional_str(metadata.get("safety")))
        tokens = metadata.get("tokens")
        columns["tokens"].append(int(tokens) if tokens is not None else None)
        rest = {key: value for key, value in metadata.items() if key not in COLUMN_KEYS}
        encoded_rest = dumps_json(rest) if rest else None
        columns["metadata"].append(encoded_rest)
        self.rows += 1
        self.bytes += (
            len(text) + sum(len(row["bytes"] or b"") for row in media_rows) + len(encoded_rest or "")
        )

    def to_table(self) -> pa.Table:
        arrays = [
            _utf8_array(self.columns["text"], None, 0)
            if field.name == "text"
            else _to_arrow(self.columns[field.name], field.type)
            for field in OUTPUT_SCHEMA
        ]
        return pa.Table.from_arrays(arrays, schema=OUTPUT_SCHEMA)


# Arrays are assembled from NumPy buffers where the type is simple: ``pa.array`` on Python lists
# imports pandas in every worker (~0.2 s and ~50 MB each) and is no faster. Media lists, rare and
# nested, still go through ``pa.array``.
def _validity(values: list[Any]) -> tuple[pa.Buffer | None, int]:
    missing = np.fromiter((value is None for value in values), dtype=bool, count=len(values))
    null_count = int(missing.sum())
    if not null_count:
        return None, 0
    return pa.py_buffer(np.packbits(~missing, bitorder="little")), null_count


def _utf8_array(encoded: list[bytes], validity: pa.Buffer | None, null_count: int) -> pa.Array:
    """A string array from UTF-8 values (valid by construction: they come from ``str.encode``)."""
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
    if offsets[-1] > _INT32_MAX:
        raise ValueError("a row group holds over 2 GiB in one column; lower row_group_size")
    return pa.StringArray.from_buffers(
        len(encoded),
        pa.py_buffer(offsets.astype(np.int32)),
        pa.py_buffer(b"".join(encoded)),
        validity,
        null_count,
    )


def string_array(values: list[str | None]) -> pa.Array:
    """``pa.array(values, pa.string())`` without importing pandas."""
    validity, null_count = _validity(values)
    return _utf8_array(
        [value.encode() if value is not None else b"" for value in values], validity, null_count
    )


def numpy_array(values: np.ndarray, arrow_type: pa.DataType) -> pa.Array:
    """``pa.array(values, arrow_type)`` for a NumPy array of a fixed-width type, without importing pandas."""
    dense = np.ascontiguousarray(values, dtype=arrow_type.to_pandas_dtype())
    return pa.Array.from_buffers(arrow_type, len(dense), [None, pa.py_buffer(dense)])


def _to_arrow(values: list[Any], arrow_type: pa.DataType) -> pa.Array:
    count = len(values)
    if pa.types.is_string(arrow_type):
        return string_array(values)
    if pa.types.is_list(arrow_type):
        if any(values):
            return pa.array(values, type=arrow_type)
        offsets = pa.py_buffer(np.zeros(count + 1, dtype=np.int32))
        return pa.ListArray.from_buffers(
            arrow_type, count, [None, offsets], children=[pa.nulls(0, arrow_type.value_type)]
        )
    validity, null_count = _validity(values)
    if null_count == count:
        return pa.nulls(count, arrow_type)
    dense = np.array([0 if value is None else value for value in values], dtype=arrow_type.to_pandas_dtype())
    return pa.Array.from_buffers(arrow_type, count, [validity, pa.py_buffer(dense)], null_count)


class _ShardFiles:
    """One task's sequence of Parquet files: buffer, flush row groups, rotate, rename when closed."""

    def __init__(self, folder: Path, rank: int, shard_bytes: int, row_group_bytes: int, step: PipelineStep):
        self.folder = folder
        self.rank = rank
        self.shard_bytes = shard_bytes
        self.row_group_bytes = row_group_bytes
        self.step = step
        self.sequence = 0
        self.writer: pq.ParquetWriter | None = None
        self.tmp_path: Path | None = None
        self.buffer = _ColumnBuffer()
        self.rows = 0
        self.licenses: dict[str, int] = {}
        self.languages: dict[str, int] = {}
        folder.mkdir(parents=True, exist_ok=True)

    def add(self, document: Document) -> None:
        self.buffer.append(document)
        self.rows += 1
        metadata = document.metadata
        license_id = metadata.get("license")
        license_key = license_id if isinstance(license_id, str) and license_id else "(none)"
        self.licenses[license_key] = self.licenses.get(license_key, 0) + 1
        language = metadata.get("language")
        if isinstance(language, str):
            self.languages[language] = self.languages.get(language, 0) + 1
        if self.buffer.bytes >= self.row_group_bytes:
            self._flush()
            if self.tmp_path is not None and self.tmp_path.stat().st_size >= self.shard_bytes:
                self._close_file()

    def _flush(self) -> None:
        if not self.buffer.rows:
            return
        if self.writer is None:
            self.tmp_path = self.folder / (staged_file_name(self.rank, self.sequence) + ".tmp")
            self.writer = open_parquet_writer(self.tmp_path)
        with self.step.track_time("row_group"):
            self.writer.write_table(self.buffer.to_table(), row_group_size=self.buffer.rows)
        self.buffer = _ColumnBuffer()

    def _close_file(self) -> None:
        if self.writer is None or self.tmp_path is None:
            return
        self.writer.close()
        os.replace(self.tmp_path, self.folder / staged_file_name(self.rank, self.sequence))
        self.writer, self.tmp_path = None, None
        self.sequence += 1

    def close(self) -> None:
        """Flush and give the last file its final name."""
        self._flush()
        self._close_file()

    def abandon(self) -> None:
        """After a failure: release the file but leave it under its .tmp name."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class ParquetShardWriter(PipelineStep):
    """Writes every document it sees to Parquet shards in ``folder`` and passes it on.

    Also usable as a datatrove ``BaseFilter(exclusion_writer=...)``: ``with writer: writer.write(doc,
    rank)``, which is how stages keep dropped records in ``removed/<stage>/``.
    Stats: ``written`` (rows), ``license/<id>`` and ``language/<code>`` counts.
    """

    type = "💽 - WRITER"
    name = "corpus-kit Parquet writer"

    def __init__(
        self,
        folder: str,
        shard_bytes: int = DEFAULT_SHARD_BYTES,
        row_group_bytes: int = DEFAULT_ROW_GROUP_BYTES,
        ledger: str | None = None,
    ):
        super().__init__()
        self.folder = folder
        self.ledger = ledger  # the run's ledger folder: the dataset writer notes kept records, closes it
        self.shard_bytes = shard_bytes
        self.row_group_bytes = min(row_group_bytes, shard_bytes)
        self._files: _ShardFiles | None = None

    def _open(self, rank: int) -> _ShardFiles:
        return _ShardFiles(Path(self.folder), rank, self.shard_bytes, self.row_group_bytes, self)

    def _record_stats(self, files: _ShardFiles) -> None:
        self.stat_update("written", value=files.rows)
        for key, count in files.licenses.items():
            self.stat_update(f"license/{key[:200]}", value=count)
        for key, count in files.languages.items():
            self.stat_update(f"language/{key[:50]}", value=count)

    # -- exclusion-writer API (datatrove's DiskWriter protocol) ---------------------------------
    def write(self, document: Document, rank: int = 0, **_: Any) -> None:
        if self._files is None:
            self._files = self._open(rank)
        self._files.add(document)

    def __enter__(self) -> ParquetShardWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        if self._files is None:
            return
        if exc_type is None:
            self._files.close()
            self._record_stats(self._files)
        else:
            self._files.abandon()
        self._files = None

    # -- pipeline step ---------------------------------------------------------------------------
    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        files = self._open(rank)
        if self.ledger is not None:
            yield from self._run_with_ledger(data, files, self.ledger, rank)
            return
        try:
            for document in data:
                files.add(document)
                yield document
            files.close()
        except BaseException:
            # leave only the .tmp file behind: nothing incomplete carries a final name
            files.abandon()
            raise
        self._record_stats(files)

    def _run_with_ledger(
        self, data: DocumentsPipeline, files: _ShardFiles, folder: str, rank: int
    ) -> DocumentsPipeline:
        from corpus_kit.io.ledger import current_task, finish_task

        task = None
        try:
            for document in data:
                if task is None:  # opened by the reader when it starts, i.e. on the first record
                    task = current_task(folder, rank)
                if task is not None:
                    task.kept_row(document)
                files.add(document)
                yield document
            files.close()
        except BaseException:
            files.abandon()
            finish_task(folder, rank, failed=True)
            raise
        finish_task(folder, rank)
        self._record_stats(files)
