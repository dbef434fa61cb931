"""Rejects: malformed input that never stops a run and is never lost.

Each reader task writes ``rejects-<rank>.jsonl`` (one JSON object per rejected record: source,
line/row/member, reason, a truncated raw excerpt). The file is written under a temporary name and
renamed when the task ends. Rejects may hold raw personal data: the manifest marks the folder as
restricted and publication never ships it.

A tiny compressed file can expand into millions of malformed lines, so at most
``reject_lines_per_file`` rejects of one input file are written one by one; the rest are counted
exactly (in the manifest, by reason) and written as one line per reason whose ``records`` says how
many it stands for. A count given as ``--max-rejects`` stops a reader task as soon as its own
rejects exceed it (:class:`RejectLimitExceeded`), instead of reading and writing on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import orjson

from corpus_kit.errors import CheckFailed
from corpus_kit.utils import truncate_excerpt

#: Rejects of one input file written one by one; further ones are only counted (by reason).
DEFAULT_REJECT_LINES_PER_FILE = 1000

#: Every reject reason, with what it means; README's table is generated from the same words.
REJECT_REASONS: dict[str, str] = {
    "json.invalid": "the line is not valid JSON",
    "json.not_object": "the line is valid JSON but not an object",
    "encoding.invalid_utf8": "the bytes are not valid UTF-8",
    "text.missing": "no text field and no media",
    "text.not_string": "the text field is not a string (and there is no media)",
    "text.empty": "the text is empty and there is no media",
    "id.invalid": "the id field is neither a string nor an integer",
    "field.invalid": "a field that names one of the dataset's number columns holds something else",
    "record.too_large": "one record is larger than --max-record-size (expanded)",
    "media.invalid": "a media entry is malformed (not an object, bad base64, unknown fields)",
    "media.missing": "a media path points to a file that does not exist",
    "media.unsafe_path": "a media path is absolute or leaves the input folder",
    "input.unreadable": "the stream broke (truncated or corrupt compression, I/O error)",
    "parquet.unreadable_file": "the Parquet footer or schema cannot be read",
    "parquet.unreadable_row_group": "a Parquet row group cannot be decoded",
    "tar.unsafe_path": "a tar member has an absolute path or '..'",
    "tar.not_regular_file": "a tar member is a link, device or other non-file",
    "tar.invalid_member": "a tar member of the sample cannot be decoded (bad JSON, bad UTF-8 text)",
    "hf_disk.unreadable": "the save_to_disk folder or one of its Arrow files cannot be read",
}


@dataclass(slots=True)
class Reject:
    """A record that could not be read, with where it was and why."""

    reason: str
    raw: bytes | str | None = None
    line: int | None = None
    row: int | None = None
    member: str | None = None
    records: int = 1  # an unreadable row group stands for all of its rows
    detail: str | None = None  # a parser message; never record content
    record_id: str | None = None  # the record's id when it could be read (the ledger's, not rejects/)

    def to_json(self, source: str) -> bytes:
        entry: dict[str, object] = {"source": source}
        for key in ("line", "row", "member"):
            value = getattr(self, key)
            if value is not None:
                entry[key] = value
        entry["reason"] = self.reason
        if self.detail:
            entry["detail"] = self.detail
        if self.records != 1:
            entry["records"] = self.records
        entry["raw"] = truncate_excerpt(self.raw) if self.raw is not None else None
        return orjson.dumps(entry) + b"\n"


class RejectSink:
    """Appends rejects of one task to a temporary file; renamed into place on ``close``."""

    def __init__(self, folder: str | Path, rank: int):
        self.final_path = Path(folder) / f"rejects-{rank:05d}.jsonl"
        self.tmp_path = self.final_path.with_name(self.final_path.name + ".tmp")
        self._handle: IO[bytes] | None = None
        self.count = 0

    def write(self, reject: Reject, source: str) -> None:
        if self._handle is None:
            self.final_path.parent.mkdir(parents=True, exist_ok=True)
            # kept open across writes and closed in close(): one file per task, opened on first reject
            self._handle = open(self.tmp_path, "wb")  # noqa: SIM115
        self._handle.write(reject.to_json(source))
        self.count += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
            os.replace(self.tmp_path, self.final_path)


class RejectLimitExceeded(CheckFailed):
    """A reader task's rejects exceeded the ``--max-rejects`` count: the run stops early (exit 1).

    Each task counts its own rejects against the whole limit, so a task stops only when the run's
    total surely exceeds it; a total spread thinly over many tasks is caught when the run ends.
    """

    def __init__(self, source: str, limit: int, folder: str):
        super().__init__(
            f"{source}: more than {limit} records rejected (--max-rejects {limit}); the run stopped "
            f"early and wrote no dataset; the rejects so far are in {folder}/: fix the input or raise "
            "--max-rejects"
        )
        self.source = source
        self.limit = limit
        self.folder = folder

    def __reduce__(self) -> tuple[type[RejectLimitExceeded], tuple[str, int, str]]:
        # a worker process's error travels to the parent by pickle, which would call __init__ with
        # the message alone
        return (RejectLimitExceeded, (self.source, self.limit, self.folder))
