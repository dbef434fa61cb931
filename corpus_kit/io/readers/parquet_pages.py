"""What a Parquet row group expands to, learnt from its page headers before anything is decompressed.

A Parquet file of a few KB can expand to GBs: one huge value compresses to almost nothing, and a
dictionary page holding one value can stand for millions of rows. The footer only gives column
chunk totals, and a dictionary-encoded chunk's total says nothing about what it expands to. Each
page header (Thrift compact protocol, read here with a few bytes per page and no decompression)
gives the page's uncompressed size and value count, which bound what a batch of rows can cost.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

_PAGE_DATA = 0
_PAGE_DICTIONARY = 2
_PAGE_DATA_V2 = 3
_DICTIONARY_ENCODINGS = frozenset({2, 8})  # PLAIN_DICTIONARY, RLE_DICTIONARY
_HEADER_READ = 4096
_MAX_HEADER = 16 * 1024 * 1024  # Arrow's own limit for one page header
# the most one page may expand to (whatever --max-record-size says, when it says less)
PAGE_CEILING = 256 * 1024 * 1024
_CODECS = {"SNAPPY": "snappy", "GZIP": "gzip", "ZSTD": "zstd", "BROTLI": "brotli", "LZ4_RAW": "lz4_raw"}


class PageHeaderError(ValueError):
    """A page header cannot be parsed: the row group is left to pyarrow, which names the error."""


@dataclass(frozen=True)
class Page:
    kind: int  # _PAGE_DATA, _PAGE_DICTIONARY, _PAGE_DATA_V2 or another page type
    offset: int  # of the header
    header_size: int
    uncompressed: int
    compressed: int
    values: int  # values (data v1, dictionary) or rows (data v2)
    encoding: int


class _Compact:
    """Just enough of Thrift's compact protocol to read a ``PageHeader`` and skip what it ignores."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise EOFError
        value = self.data[self.pos]
        self.pos += 1
        return value

    def varint(self) -> int:
        shift = result = 0
        while True:
            byte = self.byte()
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7
            if shift > 70:
                raise PageHeaderError("varint too long")

    def zigzag(self) -> int:
        value = self.varint()
        return (value >> 1) ^ -(value & 1)

    def skip(self, kind: int, depth: int = 0) -> None:
        if depth > 32:
            raise PageHeaderError("nesting too deep")
        if kind in (1, 2):  # booleans live in the field header
            return
        if kind == 3:
            self.pos += 1
        elif kind in (4, 5, 6):
            self.varint()
        elif kind == 7:
            self.pos += 8
        elif kind == 8:
            length = self.varint()  # read before ``pos`` is: ``pos += varint()`` would lose its bytes
            self.pos += length
        elif kind in (9, 10):
            head = self.byte()
            size = head >> 4 if head >> 4 != 15 else self.varint()
            self._fits(size)
            for _ in range(size):
                self._element(head & 0x0F, depth)
        elif kind == 11:
            size = self.varint()
            if size:
                self._fits(2 * size)
                types = self.byte()
                for _ in range(size):
                    self._element(types >> 4, depth)
                    self._element(types & 0x0F, depth)
        elif kind == 12:
            self.struct(lambda _field, kind: self.skip(kind, depth + 1))
        else:
            raise PageHeaderError(f"unknown Thrift type {kind}")
        if self.pos > len(self.data):
            raise EOFError

    def _fits(self, elements: int) -> None:
        # every element of a container takes at least one byte: a size larger than what is left is
        # a forged header (read as it claims, it could loop 2**63 times without consuming a byte)
        if elements > len(self.data) - self.pos:
            raise PageHeaderError("container larger than the header")

    def _element(self, kind: int, depth: int) -> None:
        if kind in (1, 2):  # a boolean in a container is a byte of its own
            self.byte()
        else:
            self.skip(kind, depth + 1)

    def struct(self, on_field: object) -> None:
        """Calls ``on_field(id, type)`` for every field; the callback reads or skips the value."""
        field_id = 0
        while True:
            head = self.byte()
            if head == 0:
                return
            delta = head >> 4
            field_id = field_id + delta if delta else self.zigzag()
            on_field(field_id, head & 0x0F)  # type: ignore[operator]


def _parse_header(data: bytes, offset: int) -> Page:
    reader = _Compact(data)
    found: dict[str, int] = {"kind": -1, "uncompressed": -1, "compressed": -1, "values": 0, "encoding": 0}

    def inner(field_id: int, kind: int) -> None:
        # DataPageHeader/DictionaryPageHeader: 1 num_values, 2 encoding; V2: 1 num_values,
        # 3 num_rows, 4 encoding (rows, not values, are what a batch counts)
        v2 = found["kind"] == _PAGE_DATA_V2
        if kind == 5 and field_id in ((3, 4) if v2 else (1, 2)):
            value = reader.zigzag()
            if field_id in (1, 3):
                found["values"] = value
            else:
                found["encoding"] = value
        else:
            reader.skip(kind)

    def outer(field_id: int, kind: int) -> None:
        if kind == 5 and field_id in (1, 2, 3):
            found[("kind", "uncompressed", "compressed")[field_id - 1]] = reader.zigzag()
        elif kind == 12 and field_id in (5, 7, 8):
            reader.struct(inner)
        else:
            reader.skip(kind)

    reader.struct(outer)
    if found["uncompressed"] < 0 or found["compressed"] < 0 or found["values"] < 0:
        raise PageHeaderError("page header without sizes")
    return Page(
        found["kind"],
        offset,
        reader.pos,
        found["uncompressed"],
        found["compressed"],
        found["values"],
        found["encoding"],
    )


def iter_pages(fd: int, chunk: pq.ColumnChunkMetaData) -> Iterator[Page]:
    """Every page header of a column chunk, read with ``pread`` (the file position is untouched)."""
    start = chunk.data_page_offset
    if chunk.has_dictionary_page and 0 < chunk.dictionary_page_offset < start:
        start = chunk.dictionary_page_offset
    end = start + chunk.total_compressed_size
    position = start
    while position < end:
        want = _HEADER_READ
        while True:
            data = os.pread(fd, want, position)
            try:
                page = _parse_header(data, position)
                break
            except (EOFError, IndexError):
                if len(data) < want or want >= _MAX_HEADER:
                    raise PageHeaderError("page header runs past the end of the file") from None
                want *= 8
        yield page
        position += page.header_size + page.compressed


def _largest_plain_value(page: Page, fd: int, codec: str) -> int | None:
    """Length of the longest value in a BYTE_ARRAY dictionary page (``None``: cannot tell)."""
    raw = os.pread(fd, page.compressed, page.offset + page.header_size)
    try:
        if codec == "UNCOMPRESSED":
            data = raw
        elif codec in _CODECS:
            data = pa.decompress(raw, decompressed_size=page.uncompressed, codec=_CODECS[codec]).to_pybytes()
        else:
            return None
    except (pa.ArrowException, ValueError):
        return None
    unpack = struct.Struct("<I").unpack_from
    largest = position = 0
    size = len(data)
    for _ in range(page.values):
        if position + 4 > size:
            return None
        (length,) = unpack(data, position)
        largest = max(largest, length)
        position += 4 + length
    return largest


@dataclass(frozen=True)
class RowGroupPlan:
    """How to read one row group: in batches of ``batch_rows``, or not at all (``too_large``)."""

    batch_rows: int
    too_large: str | None = None  # why its rows are rejected unread (never record content)


def plan_row_group(
    fd: int,
    parquet: pq.ParquetFile,
    group: int,
    max_record_bytes: int,
    batch_budget: int,
    max_batch_rows: int,
) -> RowGroupPlan:
    """Refuse a row group holding a page that expands beyond ``max_record_bytes`` and either must
    hold a value over it or is over :data:`PAGE_CEILING`; otherwise pick the largest batch (a
    power of two up to ``max_batch_rows``) whose rows cannot expand beyond ``batch_budget``."""
    metadata = parquet.metadata.row_group(group)
    columns = []
    for index in range(metadata.num_columns):
        chunk = metadata.column(index)
        pages = list(iter_pages(fd, chunk))
        name = chunk.path_in_schema
        dictionary_value = 0
        data_pages: list[tuple[int, int, bool]] = []  # (rows, uncompressed bytes, dictionary-encoded)
        ceiling = max(max_record_bytes, PAGE_CEILING)
        for page in pages:
            # a page over the cap may still hold only values under it (pyarrow puts 100 images of
            # 1 MiB in one page); it is refused when one of its values must be over the cap, or
            # when decompressing it at once would cost more than the ceiling
            size = page.uncompressed
            if size > max_record_bytes and (size > max_record_bytes * max(page.values, 1) or size > ceiling):
                what = "dictionary page" if page.kind == _PAGE_DICTIONARY else "page"
                why = "a value over --max-record-size" if size <= ceiling else f"over {ceiling} bytes at once"
                return RowGroupPlan(
                    0,
                    f"column {name!r} has a {what} of {page.values} value(s) expanding to {size} bytes "
                    f"({why}; --max-record-size is {max_record_bytes} bytes); not decompressed",
                )
            if page.kind == _PAGE_DICTIONARY:
                dictionary_value = page.uncompressed
                if chunk.physical_type == "BYTE_ARRAY" and page.uncompressed * max_batch_rows > batch_budget:
                    largest = _largest_plain_value(page, fd, chunk.compression)
                    if largest is not None:
                        dictionary_value = largest
                elif chunk.physical_type != "BYTE_ARRAY":  # fixed-width values: all the same size
                    dictionary_value = -(-page.uncompressed // max(page.values, 1))
            elif page.kind in (_PAGE_DATA, _PAGE_DATA_V2):
                data_pages.append(
                    (max(page.values, 1), page.uncompressed, page.encoding in _DICTIONARY_ENCODINGS)
                )
        columns.append((data_pages, dictionary_value))

    rows = max_batch_rows
    while rows > 1 and sum(_window_bytes(pages, value, rows) for pages, value in columns) > batch_budget:
        rows //= 2
    return RowGroupPlan(rows)


def _window_bytes(pages: list[tuple[int, int, bool]], dictionary_value: int, rows: int) -> int:
    """An upper bound of what any ``rows`` consecutive rows of one column expand to: the pages they
    touch, each counted as its plain bytes or as its dictionary references times the largest value.

    Two pointers over the pages (linear: a hostile file may hold millions of one-row pages)."""
    costs = [
        min(page_rows, rows) * dictionary_value if encoded else size for page_rows, size, encoded in pages
    ]
    worst = total = covered = 0
    end = 0  # pages[start:end] is the window
    for start, (first_rows, _, _) in enumerate(pages):
        # a window may start at the last row of its first page
        while end < len(pages) and covered - first_rows + 1 < rows:
            total += costs[end]
            covered += pages[end][0]
            end += 1
        worst = max(worst, total)
        if end == len(pages) and covered - first_rows + 1 < rows:
            break  # every later window is a part of this one
        total -= costs[start]
        covered -= first_rows
    return worst
