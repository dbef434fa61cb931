"""WebDataset reader: a ``.tar`` (or ``.tar.gz``) whose members are grouped into samples by key.

The key is the member path up to the first dot of its base name (``shard/0001.seg.jpg`` has key
``shard/0001`` and extension ``seg.jpg``); members of one sample are contiguous, as WebDataset
writes them. Per sample: ``.txt`` is the text, ``.json`` holds fields (text, id, licence...),
images, audio and video become media with their bytes, other small UTF-8 members go to metadata
under their extension. The archive is streamed: nothing is extracted to disk, members with an
absolute path or ``..`` and non-regular members (links, devices) are refused, and a sample larger
than ``--max-record-size`` is rejected without being read.
"""

from __future__ import annotations

import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import orjson

from corpus_kit.io.inputs import InputUnit
from corpus_kit.io.readers.base import CorpusReader, ReadItem
from corpus_kit.io.rejects import Reject
from corpus_kit.records import make_media

IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff"})
AUDIO_EXTENSIONS = frozenset({"wav", "flac", "mp3", "ogg", "opus", "m4a"})
VIDEO_EXTENSIONS = frozenset({"mp4", "webm", "mkv", "avi", "mov"})
_SMALL_TEXT_MEMBER = 64 * 1024


def split_key(name: str) -> tuple[str, str]:
    """``(key, extension)`` of a member name, by the WebDataset convention."""
    folder, _, base = name.rpartition("/")
    stem, dot, extension = base.partition(".")
    key = f"{folder}/{stem}" if folder else stem
    return key, extension.lower() if dot else ""


def is_unsafe_member_name(name: str) -> bool:
    """Absolute paths and any ``..`` component are refused, whatever the platform."""
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":"):
        return True
    return ".." in PurePosixPath(normalised).parts


_END_MARKER_SEEN = "_corpus_kit_end_marker_seen"
# raised on the zero block that ends an archive; public since Python 3.0, missing from typeshed
_END_OF_ARCHIVE: type[Exception] = tarfile.EOFHeaderError  # type: ignore[attr-defined]


class _EndAwareTarInfo(tarfile.TarInfo):
    """Notes on the archive whether it ended with its end-of-archive marker (a zero block).

    tarfile's iteration ends silently at a missing, cut-off or unreadable header after the first
    member, so an archive cut at a member boundary would lose its remaining samples without a trace.
    """

    @classmethod
    def fromtarfile(cls, archive: tarfile.TarFile) -> _EndAwareTarInfo:
        try:
            return super().fromtarfile(archive)
        except _END_OF_ARCHIVE:
            setattr(archive, _END_MARKER_SEEN, True)
            raise


@dataclass
class _Sample:
    key: str
    shown_key: str = ""  # the key as written to rejects and metadata (valid UTF-8)
    bad_name: str | None = None  # a member name that is not valid UTF-8, made printable
    members: list[tuple[str, str, bytes]] = field(default_factory=list)  # (name, ext, data)
    sizes: list[tuple[str, int]] = field(default_factory=list)
    total: int = 0
    too_large: bool = False

    def excerpt(self) -> str:
        return ", ".join(f"{name} ({size} bytes)" for name, size in self.sizes)


class WebDatasetReader(CorpusReader):
    """Reads WebDataset tar shards (text + images + audio grouped by key)."""

    name = "corpus-kit WebDataset reader"

    def read_unit(self, unit: InputUnit) -> Iterator[ReadItem]:
        max_bytes = self.options.max_record_bytes
        with open(unit.path, "rb", buffering=1 << 20) as raw:
            sample: _Sample | None = None
            last_key: str | None = None  # of the last sample passed on whole
            try:
                with tarfile.open(fileobj=raw, mode="r|*", tarinfo=_EndAwareTarInfo) as archive:
                    for member in archive:
                        if member.isdir():
                            continue
                        name = member.name
                        # tarfile decodes a name that is not UTF-8 with surrogate escapes, which no
                        # JSON or Parquet writer accepts: such a sample is rejected, under a
                        # printable version of its name
                        printable = name if name.isascii() else _printable(name)
                        if is_unsafe_member_name(name):
                            yield Reject("tar.unsafe_path", printable, member=printable)
                            continue
                        if not member.isfile():
                            yield Reject(
                                "tar.not_regular_file", printable, member=printable, detail=_kind(member)
                            )
                            continue
                        key, extension = split_key(name)
                        if sample is None or key != sample.key:
                            if sample is not None:
                                yield self._build(sample, unit)
                                last_key = sample.shown_key
                            sample = _Sample(key, shown_key=key if key.isascii() else _printable(key))
                        sample.sizes.append((printable, member.size))
                        sample.total += member.size
                        if printable is not name:
                            sample.bad_name = printable
                        if sample.bad_name is not None:
                            continue
                        if sample.too_large or sample.total > max_bytes:
                            sample.too_large = True
                            continue
                        handle = archive.extractfile(member)
                        data = handle.read() if handle is not None else b""
                        sample.members.append((name, extension, data))
                        self.report_position(raw.tell())
                    ended = getattr(archive, _END_MARKER_SEEN, False)
                if not ended:
                    # the last sample may be missing members: it is the first record lost
                    cause = "the archive ends without its end-of-archive marker (cut off or a corrupt header)"
                    yield _unreadable(sample, cause, last_key)
                elif sample is not None:
                    yield self._build(sample, unit)
            except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
                yield _unreadable(sample, type(error).__name__, last_key)

    def _build(self, sample: _Sample, unit: InputUnit) -> ReadItem:
        key = sample.shown_key
        if sample.bad_name is not None:
            detail = f"member name '{sample.bad_name}' is not valid UTF-8 (shown with \\xNN escapes)"
            return Reject("tar.invalid_member", sample.excerpt(), member=key, detail=detail)
        if sample.too_large:
            return Reject("record.too_large", sample.excerpt(), member=key, detail=f"{sample.total} bytes")
        record: dict[str, Any] = {}
        text: str | None = None
        extra: dict[str, str] = {}
        media = []
        for name, extension, data in sample.members:
            last = extension.rsplit(".", 1)[-1]
            if last == "json":
                try:
                    parsed = orjson.loads(data)
                except orjson.JSONDecodeError:
                    return Reject("tar.invalid_member", sample.excerpt(), member=name, detail="invalid JSON")
                if not isinstance(parsed, dict):
                    return Reject(
                        "tar.invalid_member", sample.excerpt(), member=name, detail="JSON is not an object"
                    )
                record.update(parsed)
            elif last == "txt":
                try:
                    decoded = data.decode("utf-8")
                except UnicodeDecodeError:
                    return Reject(
                        "tar.invalid_member", sample.excerpt(), member=name, detail="text is not UTF-8"
                    )
                if text is None:
                    text = decoded
                else:
                    extra[extension] = decoded
            elif last in IMAGE_EXTENSIONS or last in AUDIO_EXTENSIONS or last in VIDEO_EXTENSIONS:
                declared = (
                    "image" if last in IMAGE_EXTENSIONS else "audio" if last in AUDIO_EXTENSIONS else "video"
                )
                media.append(make_media(name, data, name, declared))
            else:
                small_text = _small_utf8(data)
                if small_text is not None:
                    extra[extension or "member"] = small_text
                else:
                    media.append(make_media(name, data, name))
        if text is not None:
            record[self.options.text_field] = text
        record.update(extra)
        item = self.document_from_record(record, unit, key, {"source_member": key}, None, media)
        if type(item) is Reject:
            item.member = key
            item.raw = sample.excerpt()
        return item


def _unreadable(sample: _Sample | None, cause: str, last_key: str | None) -> Reject:
    where = f"sample {last_key!r} is the last complete one" if last_key else "no complete sample was read"
    detail = f"{cause}; {where}, the rest of the archive is lost"
    if sample is not None and sample.sizes:
        return Reject("input.unreadable", sample.excerpt(), member=sample.shown_key, detail=detail)
    return Reject("input.unreadable", None, detail=detail)


def _printable(name: str) -> str:
    """``name`` as valid UTF-8: bytes that were not UTF-8 (surrogate escapes) as ``\\xNN``."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a surrogate that is no escaped byte
            return name.encode("utf-8", "backslashreplace").decode("utf-8")
    return name


def _small_utf8(data: bytes) -> str | None:
    if len(data) > _SMALL_TEXT_MEMBER:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return "symbolic link"
    if member.islnk():
        return "hard link"
    if member.isdev():
        return "device"
    return "special file"
