"""The record ledger: one row per input record, rejects included, saying what became of it.

Every run writes ``OUT/ledger/<rank>-ledger.parquet`` (one file per task, in the order records left
the pipeline) with the columns of :data:`LEDGER_SCHEMA`:

* ``id`` and ``source`` (input file) as the record left the pipeline, i.e. as ``data/`` or
  ``removed/`` show them (a ``pii`` step scrubs personal data in both), ``location`` (``line 12``,
  ``row 5``, ``member a/b``) as read;
* ``content_sha256``: sha256 of the record as read (:func:`content_digest`; null for a reject);
* ``fate``: ``kept`` | ``dropped`` | ``rejected``; ``stage``: the step that dropped it (``read`` for a
  reject); ``reason``: the drop or reject reason;
* ``dup_of``: for a duplicate, the id of the record kept in its place; ``dup_dataset``: the dataset
  that record is in when it was found in an index of an earlier release.

How rows are collected, cheaply enough to be always on: the reader notes every record it passes on
(:meth:`LedgerTask.read`: the hash, the location, and an ordinal kept in the record's metadata under
:data:`STASH`), and rejects as they come; a record leaves the pipeline either through a stage's
exclusion writer (:class:`LedgerExclusion`, which every filter stage gets, and which still writes
``removed/`` with ``--keep-removed``) or through the dataset writer (``kept``). Both remove the stash
before anything is serialised. A step that drops records without telling an exclusion writer is
found by order: pipelines preserve record order, so once the writer has a record, every earlier
record still unaccounted for was dropped silently; it is charged to the step the runner names as the
one that drops without reporting (:class:`LedgerSpec`), with that step's only reason.

The ledger may hold raw ids, file names and locations: it is restricted, listed in the manifest with
checksums like ``rejects/``, and never published.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document

from corpus_kit.io.rejects import Reject

LEDGER_FOLDER = "ledger"
FATES = ("kept", "dropped", "rejected")
#: Metadata key carrying a record's ordinal from the reader to where it leaves (never written out).
STASH = "\x00corpus-kit.ledger"
#: Parquet key-value metadata of a ledger file: its rows counted by fate and reason, as written.
COUNTS_KEY = b"corpus_kit.ledger_counts"
_ROWS_PER_GROUP = 65_536
_DICTIONARY_COLUMNS = ["source", "fate", "stage", "reason", "dup_dataset"]

LEDGER_SCHEMA = pa.schema(
    [
        ("id", pa.string()),  # null: a reject has none
        ("source", pa.string()),  # the input file as named on the command line (or its part's file)
        ("location", pa.string()),  # "line 12", "row 5", "member a/b", "row 5 (split train)"
        ("content_sha256", pa.binary(32)),  # of the record as read: content_digest(); null for rejects
        ("fate", pa.string()),  # kept | dropped | rejected
        ("stage", pa.string()),  # step that dropped it; "read" for rejects; null when kept
        ("reason", pa.string()),  # drop or reject reason; null when kept
        ("dup_of", pa.string()),  # dedup: id of the record kept in its place
        ("dup_dataset", pa.string()),  # dedup against an index: the dataset holding that record
    ]
)

_LOCATION_KEYS = {
    "jsonl": ("source_line", "line"),
    "parquet": ("source_row", "row"),
    "hf_disk": ("source_row", "row"),
    "webdataset": ("source_member", "member"),
}


def content_digest(text: str | None, media: Iterable[tuple[bytes | None, str | None]] = ()) -> bytes:
    """sha256 of a record's content: its text as UTF-8, then for each media item a NUL and its bytes
    (or, for an item without bytes, NUL SOH and its URI). The same function hashes data rows (diff)."""
    digest = hashlib.sha256((text or "").encode("utf-8", "surrogatepass"))
    for data, uri in media:
        if data is not None:
            digest.update(b"\x00")
            digest.update(data)
        else:
            digest.update(b"\x00\x01" + (uri or "").encode("utf-8", "surrogatepass"))
    return digest.digest()


def document_digest(document: Document) -> bytes:
    media = [(item.media_bytes, item.url or item.path) for item in document.media or ()]
    return content_digest(document.text, media)


def location_of(fmt: str, metadata: dict[str, Any]) -> str | None:
    """Where a record was in its input file, from the locator key its reader set."""
    key, label = _LOCATION_KEYS.get(fmt, ("source_line", "line"))
    value = metadata.get(key)
    if value is None:
        return None
    where = f"{label} {value}"
    split = metadata.get("source_split") if fmt == "hf_disk" else None
    return f"{where} (split {split})" if split is not None else where


def reject_location(reject: Reject, offset: int = 0) -> str | None:
    if reject.line is not None:
        return f"line {reject.line + offset}"
    if reject.row is not None:
        return f"row {reject.row + offset}"
    if reject.member is not None:
        return f"member {reject.member}"
    return None


@dataclass(frozen=True)
class LedgerSpec:
    """Where a run's ledger goes, and which step drops records without an exclusion writer."""

    folder: str
    #: (step, reason) charged with records that vanish without a note; None: nobody is known to
    unreported: tuple[str, str | None] | None = None


# -- one task's ledger --------------------------------------------------------------------------------


class LedgerTask:
    """Rows of one task, buffered by column and written a row group at a time; renamed when done."""

    def __init__(self, spec: LedgerSpec, rank: int):
        self.path = Path(spec.folder) / f"{rank:05d}-ledger.parquet"
        self.tmp_path = self.path.with_name(self.path.name + ".tmp")
        self.unreported = spec.unreported
        self._writer: pq.ParquetWriter | None = None
        self._columns: dict[str, list[Any]] = {name: [] for name in LEDGER_SCHEMA.names}
        self._pending: dict[int, tuple[str, str, str | None, bytes]] = {}
        self._next = 0  # ordinal of the next record read
        self._low = 0  # every ordinal below has left the pipeline
        self.kept = 0
        self.dropped: dict[str, int] = {}
        self.rejected: dict[str, int] = {}
        self.rows = 0

    # -- what the reader notes ------------------------------------------------------------------
    def read(self, document: Document, source: str, fmt: str) -> None:
        ordinal = self._next
        self._next += 1
        metadata = document.metadata
        self._pending[ordinal] = (
            document.id,
            source,
            location_of(fmt, metadata),
            document_digest(document),
        )
        metadata[STASH] = ordinal

    def reject(self, reject: Reject, source: str) -> None:
        """One row per record the reject stands for (an unreadable row group stands for its rows)."""
        count = max(reject.records, 1)
        self.rejected[reject.reason] = self.rejected.get(reject.reason, 0) + count
        for offset in range(count):
            location = reject_location(reject, offset)
            self._append(reject.record_id, source, location, None, "rejected", "read", reject.reason)

    # -- where records leave ---------------------------------------------------------------------
    def kept_row(self, document: Document) -> None:
        ordinal = document.metadata.pop(STASH, None)
        if type(ordinal) is int:
            self._silent_below(ordinal)
        entry = self._entry(document, ordinal)
        self.kept += 1
        self._append(*entry, "kept", None, None)

    @staticmethod
    def _as_it_left(
        document: Document, entry: tuple[str | None, str | None, str | None, bytes | None]
    ) -> tuple[str | None, str | None, str | None, bytes | None]:
        """The id and file name as the record left (what data/ or removed/ show: a pii step scrubs
        both), the location and content hash as it was read."""
        record_id = document.id if isinstance(document.id, str) and document.id else entry[0]
        source = document.metadata.get("source_file")
        return (record_id, source if isinstance(source, str) else entry[1], entry[2], entry[3])

    def dropped_row(self, document: Document, stage: str) -> None:
        metadata = document.metadata
        ordinal = metadata.pop(STASH, None)
        entry = self._entry(document, ordinal)
        reason = metadata.get("filter_reason")
        reason = reason if isinstance(reason, str) and reason else stage
        self.dropped[reason] = self.dropped.get(reason, 0) + 1
        dup_of = metadata.get("dup_of") if reason.startswith("dedup") else None
        dup_dataset = metadata.get("dup_dataset") if dup_of is not None else None
        self._append(
            *entry,
            "dropped",
            stage,
            reason,
            dup_of if isinstance(dup_of, str) else None,
            dup_dataset if isinstance(dup_dataset, str) else None,
        )

    def _entry(
        self, document: Document, ordinal: Any
    ) -> tuple[str | None, str | None, str | None, bytes | None]:
        found = self._pending.pop(ordinal, None) if type(ordinal) is int else None
        entry: tuple[str | None, str | None, str | None, bytes | None]
        if found is not None:
            entry = found
        else:
            # a stage passed on a new record in place of the one it dropped (pii keeps only a scrubbed
            # id): it is the earliest record still in the pipeline when no stage reorders or holds back
            while self._low < self._next and self._low not in self._pending:
                self._low += 1
            entry = self._pending.pop(self._low) if self._low < self._next else (None, None, None, None)
        return self._as_it_left(document, entry)

    def _silent_below(self, ordinal: int) -> None:
        """Records read before ``ordinal`` that are still pending were dropped without a note."""
        pending = self._pending
        while self._low < ordinal:
            entry = pending.pop(self._low, None)
            if entry is not None:
                self._silent(entry)
            self._low += 1

    def _silent(self, entry: tuple[str, str, str | None, bytes]) -> None:
        stage, reason = self.unreported or (None, None)
        key = reason or "(none)"
        self.dropped[key] = self.dropped.get(key, 0) + 1
        self._append(*entry, "dropped", stage, reason)

    def _append(
        self,
        record_id: str | None,
        source: str | None,
        location: str | None,
        digest: bytes | None,
        fate: str,
        stage: str | None,
        reason: str | None,
        dup_of: str | None = None,
        dup_dataset: str | None = None,
    ) -> None:
        columns = self._columns
        columns["id"].append(record_id)
        columns["source"].append(source)
        columns["location"].append(location)
        columns["content_sha256"].append(digest)
        columns["fate"].append(fate)
        columns["stage"].append(stage)
        columns["reason"].append(reason)
        columns["dup_of"].append(dup_of)
        columns["dup_dataset"].append(dup_dataset)
        self.rows += 1
        if len(columns["id"]) >= _ROWS_PER_GROUP:
            self._flush()

    # -- files -------------------------------------------------------------------------------------
    def counts(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "kept": self.kept,
            "dropped": dict(sorted(self.dropped.items())),
            "rejected": dict(sorted(self.rejected.items())),
        }

    def _flush(self) -> None:
        columns = self._columns
        if not columns["id"]:
            return
        table = pa.Table.from_arrays(
            [_array(columns[field.name], field.type) for field in LEDGER_SCHEMA], schema=LEDGER_SCHEMA
        )
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(
                str(self.tmp_path),
                LEDGER_SCHEMA,
                compression="zstd",
                use_dictionary=_DICTIONARY_COLUMNS,
                write_statistics=False,
            )
        self._writer.write_table(table, row_group_size=table.num_rows)
        self._columns = {name: [] for name in LEDGER_SCHEMA.names}

    def close(self) -> None:
        """Charge what is still pending to the silent step, write the counts, rename into place."""
        self._silent_below(self._next)
        self._flush()
        if self._writer is None:
            return  # a task that read nothing leaves no file
        self._writer.add_key_value_metadata(
            {COUNTS_KEY: orjson.dumps(self.counts(), option=orjson.OPT_SORT_KEYS)}
        )
        self._writer.close()
        self._writer = None
        os.replace(self.tmp_path, self.path)

    def abandon(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _array(values: list[Any], arrow_type: pa.DataType) -> pa.Array:
    """An Arrow array without ``pa.array`` on Python lists (which imports pandas in every worker)."""
    from corpus_kit.io.parquet_writer import string_array

    if pa.types.is_string(arrow_type):
        return string_array(values)
    missing = np.fromiter((value is None for value in values), dtype=bool, count=len(values))
    nulls = int(missing.sum())
    validity = pa.py_buffer(np.packbits(~missing, bitorder="little")) if nulls else None
    width = arrow_type.byte_width
    data = b"".join(value if value is not None else bytes(width) for value in values)
    return pa.Array.from_buffers(arrow_type, len(values), [validity, pa.py_buffer(data)], nulls)


# -- the tasks of this process -----------------------------------------------------------------------
# A task's steps run in one process (datatrove chains them as generators), one task at a time.
_TASKS: dict[tuple[str, int], LedgerTask] = {}


def open_task(spec: LedgerSpec, rank: int) -> LedgerTask:
    """Start task ``rank``'s ledger (the reader calls this first); a stale one of a failed task goes."""
    key = (spec.folder, rank)
    stale = _TASKS.pop(key, None)
    if stale is not None:
        stale.abandon()
    task = _TASKS[key] = LedgerTask(spec, rank)
    return task


def current_task(folder: str, rank: int) -> LedgerTask | None:
    return _TASKS.get((folder, rank))


def finish_task(folder: str, rank: int, failed: bool = False) -> None:
    """Close task ``rank``'s ledger (the dataset writer calls this last); after a failure the file
    keeps its ``.tmp`` name, which a resumed run removes."""
    task = _TASKS.pop((folder, rank), None)
    if task is None:
        return
    if failed:
        task.abandon()
    else:
        task.close()


class LedgerExclusion:
    """The exclusion writer every filter stage gets: a ledger row per dropped record, and with
    ``--keep-removed`` the record itself in ``removed/<step>/`` (the wrapped writer) as before."""

    def __init__(self, folder: str, stage: str, removed: Any = None):
        self.folder = folder
        self.stage = stage
        self.removed = removed  # a ParquetShardWriter, or None

    def __enter__(self) -> LedgerExclusion:
        if self.removed is not None:
            self.removed.__enter__()
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        if self.removed is not None:
            self.removed.__exit__(exc_type, exc, traceback)

    def write(self, document: Document, rank: int = 0, **kwargs: Any) -> None:
        task = current_task(self.folder, rank)
        if task is not None:
            task.dropped_row(document, self.stage)
        else:
            document.metadata.pop(STASH, None)
        if self.removed is not None:
            self.removed.write(document, rank, **kwargs)

    def __getattr__(self, name: str) -> Any:
        # stages may read the wrapped writer's attributes (stats, folder)
        removed = self.__dict__.get("removed")
        if removed is None:
            raise AttributeError(name)
        return getattr(removed, name)


# -- reading ledgers back ------------------------------------------------------------------------------


def ledger_files(dataset: str | Path) -> list[Path]:
    folder = Path(dataset) / LEDGER_FOLDER
    return sorted(folder.glob("*.parquet")) if folder.is_dir() else []


def empty_counts() -> dict[str, Any]:
    return {"rows": 0, "kept": 0, "dropped": {}, "rejected": {}}


def add_counts(total: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    total["rows"] += int(part.get("rows", 0))
    total["kept"] += int(part.get("kept", 0))
    for fate in ("dropped", "rejected"):
        for reason, count in (part.get(fate) or {}).items():
            total[fate][reason] = total[fate].get(reason, 0) + int(count)
    return total


def stated_counts(paths: Sequence[Path]) -> dict[str, Any]:
    """The counts the ledger files state in their metadata (what the writer tallied)."""
    total = empty_counts()
    for path in paths:
        metadata = pq.ParquetFile(path).metadata.metadata or {}
        raw = metadata.get(COUNTS_KEY)
        if raw is None:
            raise ValueError(f"{path.name}: not a corpus-kit ledger file (no counts)")
        add_counts(total, orjson.loads(raw))
    return total


def recount(path: Path) -> dict[str, Any]:
    """Rows of one ledger file counted by fate and reason from its columns (``manifest verify``)."""
    total = empty_counts()
    parquet = pq.ParquetFile(path)
    for batch in parquet.iter_batches(columns=["fate", "reason"], batch_size=1 << 20):
        table = pa.Table.from_batches([batch])
        total["rows"] += table.num_rows
        grouped = table.group_by(["fate", "reason"]).aggregate([("fate", "count")])
        for fate, reason, count in zip(
            grouped["fate"].to_pylist(),
            grouped["reason"].to_pylist(),
            grouped["fate_count"].to_pylist(),
            strict=True,
        ):
            if fate == "kept":
                total["kept"] += count
            elif fate in ("dropped", "rejected"):
                bucket = total[fate]
                key = reason if isinstance(reason, str) else "(none)"
                bucket[key] = bucket.get(key, 0) + count
            else:
                raise ValueError(f"{path.name}: unknown fate {str(fate)[:40]!r}")
    return total


def find_rows(dataset: str | Path, ids: Sequence[str]) -> Iterator[dict[str, Any]]:
    """Ledger rows whose id is one of ``ids``, file by file and batch by batch (bounded memory)."""
    import pyarrow.compute as pc

    wanted = pa.array(list(dict.fromkeys(ids)), pa.string())
    for path in ledger_files(dataset):
        parquet = pq.ParquetFile(path)
        for batch in parquet.iter_batches(batch_size=1 << 18):
            mask = pc.is_in(batch.column("id"), value_set=wanted)
            if not pc.any(mask).as_py():
                continue
            yield from batch.filter(mask).to_pylist()
