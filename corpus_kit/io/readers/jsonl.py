"""JSONL reader: ``.jsonl``, ``.jsonl.gz``, ``.jsonl.zst`` (streaming, bounded per record)."""

from __future__ import annotations

import gzip
import io
import os
import re
import zlib
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Protocol, final

import orjson
import zstandard

from corpus_kit.io.inputs import InputUnit
from corpus_kit.io.readers.base import CorpusReader, ReadItem
from corpus_kit.io.rejects import Reject

_READ_BUFFER = 1 << 20
_REPORT_EVERY_LINES = 2048


@final  # lets mypy narrow ``type(line) is _TooLong`` in both branches
class _TooLong:
    """Marker for a line longer than the record cap; only its head is kept."""

    __slots__ = ("head", "size")

    def __init__(self, head: bytes, size: int):
        self.head = head
        self.size = size


class LineStream(Protocol):
    """What :func:`iter_bounded_lines` reads from (``BufferedReader``, ``GzipFile``)."""

    def readline(self, size: int = -1, /) -> bytes: ...

    def peek(self, size: int, /) -> bytes: ...

    def read(self, size: int = -1, /) -> bytes: ...


def open_decompressed(raw: io.BufferedReader[io.FileIO], name: str, stack: ExitStack) -> LineStream:
    """A buffered, streaming, decompressed view of ``raw`` chosen by the file name."""
    lowered = name.lower()
    if lowered.endswith(".gz"):
        return stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb"))
    if lowered.endswith((".zst", ".zstd")):
        # libzstd's default window limit (128 MiB) bounds the decoder's memory
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        return stack.enter_context(io.BufferedReader(reader, buffer_size=_READ_BUFFER))
    return raw


_ZSTD_FRAME_MAGIC = 0xFD2FB528
_ZSTD_SKIPPABLE_MASK = 0xFFFFFFF0
_ZSTD_SKIPPABLE_MAGIC = 0x184D2A50
_ZSTD_FCS_SIZES = (0, 2, 4, 8)  # Frame_Content_Size field by its flag (flag 0: 1 byte if single-segment)
_ZSTD_DICT_ID_SIZES = (0, 1, 2, 4)


def zstd_end_missing(fd: int) -> bool:
    """True when a zstd file does not end with a complete frame (it was cut off).

    python-zstandard's stream reader reports a stream cut at a block boundary as a clean end of
    data, so the records after the cut would vanish without a trace. This walks the frame and block
    headers (RFC 8878 §3.1) with a few bytes read per block, and decompresses nothing. A file that
    is not zstd at all is left to the decompressor, which names the error.
    """
    size = os.fstat(fd).st_size
    position = 0
    while position < size:
        head = os.pread(fd, 5, position)
        if len(head) < 4:
            return True
        magic = int.from_bytes(head[:4], "little")
        if magic & _ZSTD_SKIPPABLE_MASK == _ZSTD_SKIPPABLE_MAGIC:
            length = os.pread(fd, 4, position + 4)
            if len(length) < 4:
                return True
            position += 8 + int.from_bytes(length, "little")
            continue
        if magic != _ZSTD_FRAME_MAGIC:
            return False
        if len(head) < 5:
            return True
        descriptor = head[4]
        single_segment = descriptor >> 5 & 1
        fcs_size = _ZSTD_FCS_SIZES[descriptor >> 6] or single_segment
        position += 5 + (1 - single_segment) + _ZSTD_DICT_ID_SIZES[descriptor & 3] + fcs_size
        while True:
            block = os.pread(fd, 3, position)
            if len(block) < 3:
                return True
            header = int.from_bytes(block, "little")
            # an RLE block (type 1) stores one byte, whatever size it expands to
            position += 3 + (1 if header >> 1 & 3 == 1 else header >> 3)
            if header & 1:  # the frame's last block
                break
        position += 4 * (descriptor >> 2 & 1)  # content checksum
    return position > size


_WHITESPACE = re.compile(rb"[ \t\r\n\x0b\x0c]*")  # what ``bytes.strip`` removes
_BLANK_FIRST = frozenset(b" \t\r\n\x0b\x0c")
# blank lines in a row read one by one before the rest of the run is skipped buffer by buffer:
# a look at the buffer copies it, which only a long run pays back
_BLANK_RUN = 256


def _skip_blank_lines(stream: LineStream, budget: int | None) -> tuple[int, int]:
    """Consume the blank lines at the stream's position, buffer by buffer: ``(lines, bytes)``.

    A file of nothing but newlines would otherwise cost a ``readline`` per byte."""
    lines = consumed = 0
    match = _WHITESPACE.match
    while budget is None or consumed < budget:
        window = stream.peek(_READ_BUFFER)
        size = len(window) if budget is None else min(len(window), budget - consumed)
        blank = match(window, 0, size)
        end = window.rfind(b"\n", 0, blank.end() if blank else 0) + 1
        if not end:
            break
        lines += window.count(b"\n", 0, end)
        consumed += len(stream.read(end))
        if end < size - 1:
            break
    return lines, consumed


def iter_bounded_lines(
    stream: LineStream,
    max_bytes: int,
    first_line: int = 0,
    stop_after: int | None = None,
    skip_limit: int | None = None,
) -> Iterator[tuple[int, bytes | _TooLong]]:
    """Yield ``(line number, line)``; a line over ``max_bytes`` is skipped in chunks, never held whole.

    Line numbers continue from ``first_line``; with ``stop_after``, reading ends once that many bytes
    were consumed (a part of a file ends at the end of a line). Blank lines are not yielded. With
    ``skip_limit``, a line over ``max_bytes`` is skipped for at most that many more bytes; a longer
    one ends the stream (its ``_TooLong`` has ``size`` -1): in a compressed file, finding its end
    could mean expanding gigabytes of a bomb.
    """
    readline = stream.readline
    limit = max_bytes + 1
    line_no = first_line
    remaining = stop_after
    blanks = 0  # blank lines in a row
    while remaining is None or remaining > 0:
        line = readline(limit)
        if not line:
            return
        line_no += 1
        if len(line) == limit and not line.endswith(b"\n"):
            head, size = line[:1024], len(line)
            while chunk := readline(_READ_BUFFER):
                size += len(chunk)
                if chunk.endswith(b"\n"):
                    break
                if skip_limit is not None and size > max_bytes + skip_limit:
                    yield line_no, _TooLong(head, -1)
                    return
            if remaining is not None:
                remaining -= size
            yield line_no, _TooLong(head, size)
            continue
        if line[0] in _BLANK_FIRST and not line.strip():
            if remaining is not None:
                remaining -= len(line)
            blanks += 1
            if blanks >= _BLANK_RUN:
                skipped, consumed = _skip_blank_lines(stream, remaining)
                line_no += skipped
                if remaining is not None:
                    remaining -= consumed
                blanks = 0
            continue
        blanks = 0
        if remaining is not None:
            remaining -= len(line)
        yield line_no, line


class JsonlReader(CorpusReader):
    """Reads JSON Lines; every line is one record. Blank lines are not records and are skipped."""

    name = "corpus-kit JSONL reader"

    def read_unit(self, unit: InputUnit) -> Iterator[ReadItem]:
        path = Path(unit.path)
        max_bytes = self.options.max_record_bytes
        base = path.parent
        uri = unit.uri
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        to_document = self.document_from_record
        with ExitStack() as stack:
            raw = stack.enter_context(io.BufferedReader(io.FileIO(path, "rb"), buffer_size=_READ_BUFFER))
            cut_off = False  # the compressed stream lacks its end: its last line may be partial
            if unit.is_part:  # a line-aligned byte range of an uncompressed file
                raw.seek(unit.start)
                lines = iter_bounded_lines(raw, max_bytes, unit.first_line, unit.size)
            else:
                cut_off = path.name.lower().endswith((".zst", ".zstd")) and zstd_end_missing(raw.fileno())
                stream = open_decompressed(raw, path.name, stack)
                # past the cap, a line of a compressed file is skipped for at most one more cap
                skip = max_bytes if stream is not raw else None
                lines = iter_bounded_lines(stream, max_bytes, skip_limit=skip)
            line_no = unit.first_line
            try:
                for line_no, line in lines:
                    if not line_no % _REPORT_EVERY_LINES:
                        self.report_position(raw.tell() - unit.start)
                    if type(line) is _TooLong:
                        if line.size < 0:
                            detail = (
                                f"over {2 * max_bytes} bytes once decompressed; reading stopped there "
                                "(a decompression bomb, or a record far over --max-record-size)"
                            )
                            yield Reject("record.too_large", line.head, line=line_no, detail=detail)
                            cause = "a line far over --max-record-size in a compressed file"
                            yield Reject(
                                "input.unreadable", None, line=line_no + 1, detail=unreadable(cause, line_no)
                            )
                            return
                        yield Reject("record.too_large", line.head, line=line_no, detail=f"{line.size} bytes")
                        continue
                    if cut_off and not line.endswith(b"\n"):
                        line_no -= 1  # the cut-off tail is the unreadable rest, reported below
                        break
                    if line_no == 1 and line.startswith(b"\xef\xbb\xbf"):
                        line = line[3:]
                    try:
                        record = loads(line)
                    except decode_error as error:
                        if not line.strip():
                            continue
                        yield _json_reject(line, line_no, error)
                        continue
                    if type(record) is not dict:
                        kind = type(record).__name__
                        yield Reject("json.not_object", line, line=line_no, detail=f"got {kind}")
                        continue
                    item = to_document(record, unit, f"{uri}:{line_no}", {"source_line": line_no}, base)
                    if type(item) is Reject:
                        item.raw, item.line = line, line_no
                    yield item
            except EOFError:  # gzip: the stream ends before its end-of-stream marker
                cut_off = True
            except (OSError, zlib.error, zstandard.ZstdError) as error:
                # a corrupt stream ends this unit; the lines read so far stay good
                cause = f"{type(error).__name__} (corrupt compressed data or an I/O error)"
                yield Reject("input.unreadable", None, line=line_no + 1, detail=unreadable(cause, line_no))
                return
            if cut_off:
                cause = "the compressed stream ends without its end marker (the file was cut off)"
                yield Reject("input.unreadable", None, line=line_no + 1, detail=unreadable(cause, line_no))


def unreadable(cause: str, last_line: int) -> str:
    """The ``detail`` of an ``input.unreadable`` reject: what broke, and where reading stopped."""
    where = f"line {last_line} is the last complete line" if last_line else "no complete line was read"
    return f"{cause}; {where}, the rest of the file is lost"


def _json_reject(line: bytes, line_no: int, error: Exception) -> Reject:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as decode_error:
        return Reject("encoding.invalid_utf8", line, line=line_no, detail=f"byte {decode_error.start}")
    # orjson's message holds only positions ("unexpected character: line 1 column 5"), no content
    return Reject("json.invalid", line, line=line_no, detail=str(error))
