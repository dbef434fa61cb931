"""Shared machinery of corpus-kit readers (each reader is a datatrove ``PipelineStep``).

datatrove's own readers skip records with empty text and give up on a broken line; ours keep
media-only records and turn every malformed record into a :class:`Reject` so that the manifest can
account for every input record: ``input == output + dropped + rejected``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from abc import abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import orjson
from datatrove.data import Document, DocumentsPipeline, Media
from datatrove.pipeline.base import PipelineStep

from corpus_kit.io.inputs import InputUnit
from corpus_kit.io.ledger import LedgerSpec, finish_task, open_task
from corpus_kit.io.rejects import DEFAULT_REJECT_LINES_PER_FILE, Reject, RejectLimitExceeded, RejectSink
from corpus_kit.records import make_media
from corpus_kit.utils import atomic_write_bytes, sha256_file

DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024
_PROGRESS_EVERY_RECORDS = 512
_PROGRESS_MIN_SECONDS = 0.5

# datatrove ships no type information, so mypy sees ``Document`` as ``Any``; the annotation makes
# this an explicit alias (an inferred one cannot include ``Any``).
ReadItem: TypeAlias = Document | Reject


@dataclass(frozen=True)
class ReadOptions:
    """How input records map onto documents."""

    text_field: str = "text"
    id_field: str = "id"
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    # rejects of one input file beyond this are counted by reason but not written one by one
    reject_lines_per_file: int = DEFAULT_REJECT_LINES_PER_FILE
    # a count limit (--max-rejects N): a task stops as soon as its own rejects exceed it
    max_rejects: int | None = None


@dataclass(frozen=True)
class TaskFolders:
    """Where a reader task leaves its side outputs (all inside the run's work folder)."""

    rejects: str
    sources: str
    progress: str | None = None
    hash_sources: bool = True  # sha256 of every input file in the ledger (a re-read need not repeat it)
    record_ledger: LedgerSpec | None = None  # the run's record ledger (main phase only; io/ledger.py)


def lookup_field(record: dict[str, Any], field: str) -> tuple[bool, Any]:
    """``(found, value)`` for a top-level key or a dotted path such as ``content.body``."""
    if field in record:
        return True, record[field]
    if "." in field:
        value: Any = record
        for part in field.split("."):
            if not isinstance(value, dict) or part not in value:
                return False, None
            value = value[part]
        return True, value
    return False, None


def _pop_field(record: dict[str, Any], field: str) -> tuple[bool, Any]:
    if field in record:
        return True, record.pop(field)
    return lookup_field(record, field)


#: Metadata keys the writer lifts into its number columns (records.py).
_NUMBER_COLUMNS = frozenset({"language_score", "pii_spans", "dup_count", "tokens"})


def folder_sha256(folder: Path) -> str:
    """sha256 over the sorted listing ``relative path NUL file sha256 LF`` of every file in a folder."""
    lines = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        lines.append(f"{path.relative_to(folder).as_posix()}\0{sha256_file(path)}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def _write_unwritten(rejects: RejectSink, source: str, unwritten: dict[str, int], lines: int) -> None:
    """One line per reason for the rejects of a file that were counted but not written: each holds
    their number in ``records``, so the lines of ``rejects/`` still add up to the manifest's counts."""
    for reason, count in sorted(unwritten.items()):
        detail = (
            f"{count} more record(s) of this file rejected for this reason, counted but not written "
            f"(at most {lines} reject lines per input file: read.reject_lines_per_file)"
        )
        rejects.write(Reject(reason, None, records=count, detail=detail), source)


class ProgressReporter:
    """Writes a task's running totals to a small JSON file that the CLI polls (cheap, cross-process)."""

    def __init__(self, folder: str | None, rank: int):
        self.path = Path(folder) / f"{rank:05d}.json" if folder else None
        self.records = 0
        self.done_bytes = 0  # bytes of the units already finished
        self.position = 0  # bytes consumed of the current unit
        self._last = 0.0

    def tick(self, force: bool = False) -> None:
        if self.path is None:
            return
        now = time.monotonic()
        if force or now - self._last >= _PROGRESS_MIN_SECONDS:
            self._last = now
            payload = {"records": self.records, "bytes": self.done_bytes + self.position}
            atomic_write_bytes(self.path, orjson.dumps(payload))

    def finish_unit(self, size: int) -> None:
        self.done_bytes += size
        self.position = 0
        self.tick(force=True)


class CorpusReader(PipelineStep):
    """Base reader: shards input units across tasks, routes rejects, keeps per-source tallies.

    Subclasses implement :meth:`read_unit`, yielding ``Document`` or ``Reject`` for every record.
    Stats: ``input`` (records seen), ``documents`` (records passed on), ``rejected`` and
    ``rejected_<reason>``; the manifest is built from them.
    """

    type = "📖 - READER"
    name = "corpus-kit reader"

    def __init__(self, units: list[InputUnit], options: ReadOptions, folders: TaskFolders):
        super().__init__()
        self.units = list(units)
        self.options = options
        self.folders = folders
        self._progress: ProgressReporter | None = None

    # -- subclass API -------------------------------------------------------------------------
    @abstractmethod
    def read_unit(self, unit: InputUnit) -> Iterator[ReadItem]:
        """Yield a ``Document`` or a ``Reject`` for every record of ``unit``."""

    def report_position(self, position: int) -> None:
        """Tell the progress display how many bytes of the current unit have been consumed."""
        if self._progress is not None:
            self._progress.position = position

    # -- record mapping shared by the JSON-like readers -----------------------------------------
    def document_from_record(
        self,
        record: dict[str, Any],
        unit: InputUnit,
        default_id: str,
        locator: dict[str, Any],
        media_base: Path | None = None,
        media: list[Media] | None = None,
    ) -> ReadItem:
        """Map one decoded record (a dict, consumed) onto a ``Document``, or explain why not."""
        _, raw_id = lookup_field(record, self.options.id_field)
        item = self._document_from_record(record, unit, default_id, locator, media_base, media)
        if type(item) is Reject and isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool):
            item.record_id = str(raw_id)  # the ledger names the record explain is asked about
        return item

    def _document_from_record(
        self,
        record: dict[str, Any],
        unit: InputUnit,
        default_id: str,
        locator: dict[str, Any],
        media_base: Path | None = None,
        media: list[Media] | None = None,
    ) -> ReadItem:
        options = self.options
        has_text, text = _pop_field(record, options.text_field)
        has_id, raw_id = _pop_field(record, options.id_field)

        media_items = list(media or [])
        if "media" in record:
            parsed = self._parse_media(record.pop("media"), media_base, default_id)
            if isinstance(parsed, Reject):
                return parsed
            media_items.extend(parsed)

        if not has_text or text is None:
            if not media_items:
                return Reject("text.missing", detail=f"no {options.text_field!r} field")
            text = ""
        elif not isinstance(text, str):
            if not media_items:
                return Reject("text.not_string", detail=f"{options.text_field!r} is {type(text).__name__}")
            text = ""
        if not text and not media_items:
            return Reject("text.empty")

        if not has_id or raw_id is None or raw_id == "":
            doc_id = default_id
        elif isinstance(raw_id, str):
            doc_id = raw_id
        elif isinstance(raw_id, int) and not isinstance(raw_id, bool):
            doc_id = str(raw_id)
        else:
            return Reject("id.invalid", detail=f"{options.id_field!r} is {type(raw_id).__name__}")

        metadata = record.pop("metadata", None)
        if isinstance(metadata, str):
            try:
                metadata = orjson.loads(metadata)
            except orjson.JSONDecodeError:
                metadata = {"metadata": metadata}
        if metadata is None:
            metadata = {}
        elif not isinstance(metadata, dict):
            metadata = {"metadata": metadata}
        if record:
            metadata.update(record)
        for key in _NUMBER_COLUMNS.intersection(metadata):
            value = metadata[key]
            # an input may carry these (a dataset read again): numbers only, or the writer fails
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                return Reject("field.invalid", detail=f"{key!r} is {type(value).__name__}, not a number")
        metadata.setdefault("source", unit.uri)
        metadata["source_file"] = unit.uri
        metadata.update(locator)
        return Document(text=text, id=doc_id, media=media_items, metadata=metadata)

    def _parse_media(self, value: Any, base: Path | None, default_id: str) -> list[Media] | Reject:
        if value is None:
            return []
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            return Reject("media.invalid", detail="'media' is not a list")
        items: list[Media] = []
        for index, entry in enumerate(value):
            if not isinstance(entry, dict):
                return Reject("media.invalid", detail=f"media[{index}] is not an object")
            declared = entry.get("type")
            media_id = str(entry.get("id") or f"{default_id}#media{index}")
            data: bytes | None = None
            uri = entry.get("uri") or entry.get("url") or entry.get("path")
            raw_bytes = entry.get("bytes")
            if isinstance(raw_bytes, str):
                try:
                    data = base64.b64decode(raw_bytes, validate=True)
                except (binascii.Error, ValueError):
                    return Reject("media.invalid", detail=f"media[{index}].bytes is not base64")
            elif raw_bytes is not None and not isinstance(raw_bytes, (bytes, bytearray)):
                return Reject("media.invalid", detail=f"media[{index}].bytes is {type(raw_bytes).__name__}")
            elif raw_bytes is not None:
                data = bytes(raw_bytes)
            path = entry.get("path")
            if data is None and isinstance(path, str) and base is not None:
                loaded = self._load_media_file(base, path)
                if isinstance(loaded, Reject):
                    return loaded
                data = loaded
            if data is not None and len(data) > self.options.max_record_bytes:
                return Reject("record.too_large", detail=f"media[{index}] has {len(data)} bytes")
            if data is None and not isinstance(uri, str):
                return Reject("media.invalid", detail=f"media[{index}] has no bytes, path or url")
            items.append(
                make_media(media_id, data, str(uri) if uri else media_id, declared, entry.get("mime"))
            )
        return items

    def _load_media_file(self, base: Path, relative: str) -> bytes | Reject:
        candidate = Path(relative)
        if candidate.is_absolute() or ".." in candidate.parts:
            return Reject("media.unsafe_path", detail="media path is absolute or contains '..'")
        full = (base / candidate).resolve()
        try:
            full.relative_to(base.resolve())
        except ValueError:
            return Reject("media.unsafe_path", detail="media path leaves the input folder")
        if not full.is_file():
            return Reject("media.missing", detail=f"media file {relative!r} not found")
        if full.stat().st_size > self.options.max_record_bytes:
            return Reject("record.too_large", detail=f"media file {relative!r} is too large")
        return full.read_bytes()

    # -- datatrove entry point ------------------------------------------------------------------
    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        rejects = RejectSink(self.folders.rejects, rank)
        self._progress = progress = ProgressReporter(self.folders.progress, rank)
        ledger: list[dict[str, Any]] = []
        record_ledger = self.folders.record_ledger
        records_noted = open_task(record_ledger, rank) if record_ledger is not None else None
        reject_lines = self.options.reject_lines_per_file
        # a preparation phase that re-reads the input (dedup) stops too: the runner raises a
        # child process's CorpusKitError again in the parent, as one line
        limit = self.options.max_rejects
        task_rejected = 0
        try:
            for unit in self.units[rank::world_size]:
                self.stat_update("input_units")
                path = Path(unit.path)
                # a later part of a file: the task that reads its first part hashes the whole file
                sha256 = None
                if self.folders.hash_sources and not unit.start:
                    sha256 = folder_sha256(path) if path.is_dir() else sha256_file(path)
                records = rejected = written = 0
                unwritten: dict[str, int] = {}
                try:
                    for item in self.read_unit(unit):
                        if type(item) is Document:
                            records += 1
                            progress.records += 1
                            if not progress.records % _PROGRESS_EVERY_RECORDS:
                                progress.tick()
                            if records_noted is not None:
                                records_noted.read(item, unit.uri, unit.format)
                            yield item
                            continue
                        if records_noted is not None:
                            records_noted.reject(item, unit.uri)
                        if written < reject_lines:
                            rejects.write(item, unit.uri)
                            written += 1
                        else:
                            unwritten[item.reason] = unwritten.get(item.reason, 0) + item.records
                        records += item.records
                        rejected += item.records
                        self.stat_update("rejected", value=item.records)
                        self.stat_update(f"rejected_{item.reason}", value=item.records)
                        task_rejected += item.records
                        if limit is not None and task_rejected > limit:
                            raise RejectLimitExceeded(unit.uri, limit, self.folders.rejects)
                finally:
                    _write_unwritten(rejects, unit.uri, unwritten, reject_lines)
                self.stat_update("input", value=records)
                self.stat_update("documents", value=records - rejected)
                progress.finish_unit(unit.size)
                ledger.append(
                    {
                        "uri": unit.uri,
                        "format": unit.format,
                        "sha256": sha256,
                        "bytes": unit.size,
                        "records": records,
                        "rejected": rejected,
                        "part": unit.is_part,  # parts of one file are added up into one source
                    }
                )
        except BaseException:
            if record_ledger is not None:
                finish_task(record_ledger.folder, rank, failed=True)
            raise
        finally:
            rejects.close()
        atomic_write_bytes(Path(self.folders.sources) / f"{rank:05d}.json", orjson.dumps(ledger))
