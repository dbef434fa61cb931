"""The dataset Parquet layout: deterministic bytes, row groups, statistics, page index, CDC."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datatrove.data import Document

from corpus_kit.io import parquet_writer
from corpus_kit.io.parquet_writer import (
    CDC_OPTIONS,
    WRITER_OPTIONS,
    ParquetShardWriter,
    open_parquet_writer,
)
from corpus_kit.records import OUTPUT_SCHEMA, make_media


def _accepts_cdc() -> bool:
    """Independent of the module's detection: does this pyarrow's writer take the keyword?"""
    try:
        pq.ParquetWriter(
            pa.BufferOutputStream(), pa.schema([("x", pa.int8())]), use_content_defined_chunking=True
        ).close()
    except TypeError:
        return False
    return True


CDC_SUPPORTED = _accepts_cdc()

_VOCABULARY = [
    "".join(chr(97 + letter) for letter in np.random.default_rng(word).integers(0, 26, 2 + word % 8))
    for word in range(4000)
]


def _texts(count: int, seed: int) -> list[str]:
    """Deterministic word salad, 200-800 words a document (about 3.3 KB on average)."""
    rng = np.random.default_rng(seed)
    return [
        " ".join(_VOCABULARY[index] for index in rng.integers(0, len(_VOCABULARY), rng.integers(200, 800)))
        for _ in range(count)
    ]


def _documents() -> list[Document]:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))  # only stored and read back, never decoded
    documents = []
    for index, text in enumerate(_texts(60, seed=5)):
        metadata = {"source": "web", "license": "MIT" if index % 3 else "CC-BY-4.0", "language": "en"}
        metadata |= {"language_score": 0.5 + index / 200, "pii_spans": index % 4, "extra": index}
        media = [make_media(f"{index}.png", png, f"{index}.png", mime="image/png")] if index % 20 == 0 else []
        documents.append(Document(text=text, id=f"doc-{index:03d}", media=media, metadata=metadata))
    return documents


def _write_shards(folder: Path) -> Path:
    writer = ParquetShardWriter(str(folder), row_group_bytes=50_000)
    for _ in writer.run(iter(_documents()), rank=0):
        pass
    (path,) = sorted(folder.glob("*.parquet"))
    assert not list(folder.glob("*.tmp"))
    return path


def test_writer_options_follow_the_installed_pyarrow() -> None:
    assert WRITER_OPTIONS["write_page_index"] is True  # every supported pyarrow (>= 17) has it
    if CDC_SUPPORTED:
        assert WRITER_OPTIONS["use_content_defined_chunking"] == CDC_OPTIONS
    else:
        assert "use_content_defined_chunking" not in WRITER_OPTIONS
    if int(pa.__version__.split(".")[0]) >= 21:
        assert CDC_SUPPORTED


class _Pyarrow17Writer:
    """pyarrow 17-20: the page index is a named parameter, CDC is refused by the Cython writer."""

    def __init__(self, where, schema, write_page_index=False, **options):
        if options:
            raise TypeError(f"__cinit__() got an unexpected keyword argument {next(iter(options))!r}")

    def close(self) -> None:
        pass


class _Pyarrow21Writer(_Pyarrow17Writer):
    """pyarrow 21-23: CDC is accepted, but only through ``**options`` (26 names it)."""

    def __init__(self, where, schema, write_page_index=False, **options):
        assert set(options) <= {"use_content_defined_chunking"}


def test_detection_by_feature_covers_older_pyarrow(monkeypatch) -> None:
    page_index_only = {"write_page_index": True}
    both = {"use_content_defined_chunking": CDC_OPTIONS, "write_page_index": True}
    assert parquet_writer._supported_writer_options(_Pyarrow17Writer) == page_index_only
    assert parquet_writer._supported_writer_options(_Pyarrow21Writer) == both

    def unreadable(_):
        raise ValueError("no signature found")

    monkeypatch.setattr(parquet_writer.inspect, "signature", unreadable)  # then probes decide it all
    assert parquet_writer._supported_writer_options(_Pyarrow17Writer) == page_index_only
    assert parquet_writer._supported_writer_options(_Pyarrow21Writer) == both
    assert parquet_writer._supported_writer_options(pq.ParquetWriter) == WRITER_OPTIONS


def test_same_input_gives_identical_bytes_row_groups_statistics_and_page_index(tmp_path: Path) -> None:
    first = _write_shards(tmp_path / "a")
    second = _write_shards(tmp_path / "b")
    assert first.name == second.name == "00000-0000.parquet"
    assert first.read_bytes() == second.read_bytes()

    file = pq.ParquetFile(first)
    assert file.schema_arrow.equals(OUTPUT_SCHEMA)
    metadata = file.metadata
    # a row group every 50 kB of input, ~3.3 kB a document: about 16 rows each
    assert metadata.num_rows == 60 and 3 <= metadata.num_row_groups <= 5
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        for index in range(row_group.num_columns):
            column = row_group.column(index)
            name = column.path_in_schema.split(".")[0]
            assert column.compression == "ZSTD"
            assert column.has_offset_index, column.path_in_schema
            stats = name in parquet_writer._STATISTICS_COLUMNS
            assert column.is_stats_set == stats, column.path_in_schema
            assert column.has_column_index == stats, column.path_in_schema  # built from page stats

    rows = file.read().to_pylist()
    documents = _documents()
    assert [row["id"] for row in rows] == [document.id for document in documents]
    assert [row["text"] for row in rows] == [document.text for document in documents]
    assert rows[20]["media"][0]["bytes"] == documents[20].media[0].media_bytes and rows[21]["media"] == []
    assert rows[0]["license"] == "CC-BY-4.0" and rows[1]["license"] == "MIT"
    assert rows[7]["pii_spans"] == 3 and rows[7]["metadata"] == '{"extra":7}'


def test_empty_file_from_open_parquet_writer(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    open_parquet_writer(path).close()
    file = pq.ParquetFile(path)
    assert file.metadata.num_rows == 0 and file.schema_arrow.equals(OUTPUT_SCHEMA)


# -- content-defined chunking ------------------------------------------------------------------------
_GEAR = np.random.default_rng(42).integers(0, 2**63, 256, dtype=np.uint64)


def _chunk_sizes(data: bytes, window: int = 16, mask_bits: int = 12) -> dict[bytes, int]:
    """Content-defined chunks of a file (~4 KiB average), as a dedup store like Xet sees them."""
    values = _GEAR[np.frombuffer(data, dtype=np.uint8)]
    count = len(values) - window + 1
    hashes = np.zeros(count, dtype=np.uint64)
    for offset in range(window):  # xor of the window's bytes' table values, each rotated by its place
        hashes = (hashes << np.uint64(1)) | (hashes >> np.uint64(63))
        hashes ^= values[offset : offset + count]
    cuts = (np.flatnonzero((hashes >> np.uint64(64 - mask_bits)) == 0) + window).tolist()
    bounds = [0, *cuts, len(data)]
    return {hashlib.sha256(data[s:e]).digest(): e - s for s, e in itertools.pairwise(bounds) if e > s}


def _shared(old: bytes, new: bytes) -> float:
    """Share of ``new``'s bytes a dedup store already holds from ``old``."""
    known = _chunk_sizes(old)
    return sum(size for digest, size in _chunk_sizes(new).items() if digest in known) / len(new)


def _in_memory(table: pa.Table, options: dict) -> bytes:
    sink = pa.BufferOutputStream()
    with pq.ParquetWriter(
        sink,
        table.schema,
        compression="zstd",
        use_dictionary=parquet_writer._DICTIONARY_COLUMNS,
        write_statistics=parquet_writer._STATISTICS_COLUMNS,
        **options,
    ) as writer:
        writer.write_table(table, row_group_size=len(table))
    return sink.getvalue().to_pybytes()


@pytest.mark.skipif(not CDC_SUPPORTED, reason="content-defined chunking needs pyarrow >= 21")
def test_cdc_lets_a_slightly_changed_release_reuse_most_pages(tmp_path: Path) -> None:
    schema = pa.schema([OUTPUT_SCHEMA.field("id"), OUTPUT_SCHEMA.field("text")])
    texts = _texts(1000, seed=1)  # ~3.3 MB of text: several CDC pages (256 KiB-1 MiB before encoding)
    ids = [f"doc-{index:05d}" for index in range(len(texts))]
    # next release: 3 records inserted in the middle, the one after them edited
    new_texts = [*texts[:500], *_texts(3, seed=2), *texts[500:]]
    new_texts[503] += " edited"
    new_ids = [*ids[:500], "new-0", "new-1", "new-2", *ids[500:]]
    old = pa.table([ids, texts], schema=schema)
    new = pa.table([new_ids, new_texts], schema=schema)

    path = tmp_path / "old.parquet"  # the module's own writer is the one under test
    with open_parquet_writer(path, schema) as writer:
        writer.write_table(old, row_group_size=len(old))
    assert path.read_bytes() == _in_memory(old, WRITER_OPTIONS)

    with_cdc = _shared(_in_memory(old, WRITER_OPTIONS), _in_memory(new, WRITER_OPTIONS))
    without = {key: value for key, value in WRITER_OPTIONS.items() if key != "use_content_defined_chunking"}
    without_cdc = _shared(_in_memory(old, without), _in_memory(new, without))
    # measured with pyarrow 21.0.0 and 26.0.1: 0.92 with CDC, 0.45 without (every later page moves)
    assert with_cdc > 0.75 and with_cdc > without_cdc + 0.25, (with_cdc, without_cdc)
