"""Clause 9.2's manual check: draw a review sheet from a finished dataset, read the verdicts back.

``corpus-kit safety sample DATASET -o SHEET.csv`` draws ``min(size, rows)`` rows without replacement
(``numpy.random.default_rng(seed)``) from all rows of the data files in manifest order, and writes
them in that order to a CSV sheet (``id,source,excerpt,verdict,risk,note``; the excerpt is the
record's first 500 characters, line breaks kept inside CSV quotes, a NUL shown as U+FFFD). The
sample depends only on the finished files, the seed and the size, not on how the dataset was built.
Beside the sheet, ``SHEET.csv.json`` binds it to the dataset: its name, the manifest's seal, the data
files' checksums, the seed and size, and the sha256 of the sampled ids in sheet order.

``corpus-kit safety review DATASET --labels SHEET.csv`` draws the sample again, checks that the sheet
holds exactly its ids in order and that every row has a verdict, and writes the counts, the pass
rate and its 95 % Wilson lower bound to ``manifest.safety.manual`` (then reseals the manifest and
re-renders report.html and a corpus-kit card, when present).

The sheet holds record text: it is restricted material, like ``rejects/``, and is written with
owner-only permissions. Nothing here prints or logs record text; messages name sheet lines,
positions in the sample and ids.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Literal

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from corpus_kit.errors import CheckFailed, CorpusKitError, UsageError
from corpus_kit.governance.manifest import (
    MANIFEST_NAME,
    Manifest,
    manifest_seal,
    read_dataset_manifest,
    seal_problem,
)
from corpus_kit.governance.safety import (
    ManualAssessment,
    data_checksum,
    risk_catalogue,
    safety_policy,
    wilson_lower_bound,
)
from corpus_kit.utils import atomic_write_bytes

SHEET_HEADER = ("id", "source", "excerpt", "verdict", "risk", "note")
#: Characters of a record's text shown in the sheet.
EXCERPT_CHARS = 500
#: What ``review`` reads at most: the sheet's bytes and rows, a sidecar's bytes.
MAX_SHEET_BYTES = 256 * 1024 * 1024
MAX_SHEET_ROWS = 2_000_000
MAX_SIDECAR_BYTES = 1024 * 1024
#: The largest sample ``sample`` draws (a sheet ``review`` can read back).
MAX_SAMPLE_SIZE = MAX_SHEET_ROWS
#: csv's per-field limit while reading a sheet (raised for longer ids of the sample).
FIELD_LIMIT = 1024 * 1024
_BATCH_ROWS = 8192
_SHOWN_ID_CHARS = 80


# -- checksums ----------------------------------------------------------------------------------------


def ids_sha256(ids: Iterable[str]) -> str:
    """sha256 of ids in order, newline-joined (``sample_sha256``)."""
    digest = hashlib.sha256()
    for position, value in enumerate(ids):
        if position:
            digest.update(b"\n")
        digest.update(value.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def binding_sha256(manifest: Manifest) -> str:
    """The seal of the manifest as this corpus-kit writes it, with ``safety.manual`` left out: a sheet
    stays bound to a manifest that a review (this one or an earlier) has changed only there."""
    document = orjson.loads(manifest.model_dump_json())
    safety = document.get("safety")
    if isinstance(safety, dict):
        document["safety"] = {**safety, "manual": None}
    return manifest_seal(document)


def sidecar_path(sheet: Path) -> Path:
    """``SHEET.csv.json`` beside ``SHEET.csv``."""
    return sheet.with_name(sheet.name + ".json")


# -- the dataset ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedDataset:
    """A dataset folder that verifies and was screened, and its manifest as read."""

    folder: Path
    manifest: Manifest
    raw: bytes

    @property
    def population(self) -> int:
        return sum(item.rows for item in self.manifest.files)

    @property
    def data_sha256(self) -> str:
        return data_checksum([item.sha256 for item in self.manifest.files])


def check_dataset(dataset: Path) -> CheckedDataset:
    """The dataset's manifest when it is sealed, its files verify and it was screened; else one line:
    ``UsageError`` (not a folder) or ``CheckFailed``."""
    from corpus_kit.governance.verify import verify_dataset

    folder = Path(dataset)
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder; give a dataset folder written by corpus-kit")
    manifest = read_dataset_manifest(folder)
    raw = (folder / MANIFEST_NAME).read_bytes()
    sealing = seal_problem(raw)
    if sealing:
        raise CheckFailed(
            f"{folder / MANIFEST_NAME} {sealing}; rebuild the dataset or restore the manifest it wrote"
        )
    manifest = Manifest.model_validate_json(raw)  # the bytes checked, whatever changed since the read
    if manifest.safety is None:
        raise CheckFailed(
            f"{folder}: not screened; run the safety step first (corpus-kit safety INPUT... -o OUT "
            "--lexicon FILE, or a pipeline step '- safety: {lexicon: [FILE]}')"
        )
    report = verify_dataset(folder)
    if report.problems:
        first = report.problems[0]
        more = len(report.problems) - 1
        raise CheckFailed(
            f"{folder / first.path} {first.message}"
            + (f" (and {more} more problem(s))" if more else "")
            + f"; the dataset does not verify: corpus-kit manifest verify {folder}"
        )
    return CheckedDataset(folder, manifest, raw)


def sample_indices(population: int, size: int, seed: int) -> np.ndarray:
    """``min(size, population)`` distinct row positions (0-based, over all data files in manifest
    order), drawn with ``numpy.random.default_rng(seed)`` and sorted."""
    count = min(size, population)
    rng = np.random.default_rng(seed)
    picked = rng.choice(population, size=count, replace=False) if count else np.empty(0, np.int64)
    return np.sort(np.asarray(picked, dtype=np.int64))


def _iter_selected(
    checked: CheckedDataset, indices: np.ndarray, columns: Sequence[str]
) -> Iterator[pa.Table]:
    """The rows at ``indices`` (sorted global positions), in order, as small tables of ``columns``
    (those the files have): one row group at a time, in batches, so a large text column is never
    read whole."""
    offset = 0
    cursor = 0
    for item in checked.manifest.files:
        path = checked.folder / item.path
        with pq.ParquetFile(path) as parquet:
            present = [name for name in columns if name in parquet.schema_arrow.names]
            if "id" not in present:
                raise CheckFailed(f"{path}: has no id column; the dataset was not written by corpus-kit")
            for group in range(parquet.metadata.num_row_groups):
                rows = parquet.metadata.row_group(group).num_rows
                end = int(np.searchsorted(indices, offset + rows, side="left"))
                if end > cursor:
                    wanted = indices[cursor:end] - offset
                    start = 0
                    for batch in parquet.iter_batches(
                        batch_size=_BATCH_ROWS, row_groups=[group], columns=present, use_threads=False
                    ):
                        stop = start + batch.num_rows
                        low = int(np.searchsorted(wanted, start, side="left"))
                        high = int(np.searchsorted(wanted, stop, side="left"))
                        if high > low:
                            table = pa.Table.from_batches([batch])
                            yield table.take(pa.array(wanted[low:high] - start))
                        start = stop
                    if start != rows:
                        raise CheckFailed(
                            f"{path}: row group {group} holds {start} rows, its metadata {rows}"
                        )
                cursor = end
                offset += rows
    if offset != checked.population or cursor != len(indices):
        raise CheckFailed(
            f"{checked.folder}: the data files hold {offset} rows, the manifest {checked.population}; "
            f"corpus-kit manifest verify {checked.folder}"
        )


def _column(table: pa.Table, name: str) -> list[Any]:
    if name not in table.column_names:
        return [None] * table.num_rows
    return table.column(name).to_pylist()


def sample_ids(checked: CheckedDataset, indices: np.ndarray) -> list[str]:
    """The ids at ``indices``, in order (the id column only)."""
    ids: list[str] = []
    for table in _iter_selected(checked, indices, ("id",)):
        ids.extend("" if value is None else str(value) for value in _column(table, "id"))
    return ids


# -- the sidecar ----------------------------------------------------------------------------------------


class SampleRecord(BaseModel):
    """``SHEET.csv.json``: what binds a review sheet to the dataset it was drawn from (no text)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["corpus-kit safety sample"] = "corpus-kit safety sample"
    sheet: str = Field(description="The sheet's file name.")
    dataset: str = Field(description="The dataset's name in its manifest.")
    seal_sha256: str = Field(description="The manifest's seal when the sample was drawn.")
    binding_sha256: str = Field(description="The manifest's seal without safety.manual.")
    data_sha256: str = Field(description="sha256 of the data files' sha256 values, newline-joined.")
    seed: int = Field(ge=0)
    size: int = Field(ge=1, description="Sample size asked for.")
    sample_size: int = Field(ge=0, description="Rows drawn: min(size, population).")
    population: int = Field(ge=0, description="Rows of the dataset.")
    sample_sha256: str = Field(description="sha256 of the sampled ids in sheet order, newline-joined.")
    numpy: str = Field(description="NumPy version that drew the sample.")
    created_at: datetime


def read_sidecar(sheet: Path) -> SampleRecord | None:
    """The sheet's sidecar, ``None`` when there is none; an unreadable one is ``CheckFailed``."""
    path = sidecar_path(sheet)
    if not path.exists():
        return None
    if not path.is_file() or path.stat().st_size > MAX_SIDECAR_BYTES:
        raise CheckFailed(f"{path}: not a sample record written by corpus-kit safety sample")
    try:
        return SampleRecord.model_validate_json(path.read_bytes())
    except ValidationError:
        raise CheckFailed(
            f"{path}: not a sample record written by corpus-kit safety sample (edited or damaged); "
            "restore it, or remove it and give --seed and --size as used for the sample"
        ) from None


# -- sample ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleResult:
    sheet: Path
    sidecar: Path
    record: SampleRecord


def _inside(path: Path, folder: Path) -> bool:
    resolved, root = path.resolve(), folder.resolve()
    return resolved == root or root in resolved.parents


#: A cell starting with one of these is a formula to a spreadsheet (CSV injection): the text a
#: reviewer opens must not run. Such cells get a leading apostrophe (OWASP's advice); ids are never
#: changed (the review compares them), and the review does not read the other cells back.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any, limit: int | None = None) -> str:
    if value is None:
        return ""
    text = str(value)
    if limit is not None:
        text = text[:limit]
    if text.startswith(_FORMULA_STARTS):
        text = "'" + text
    return text.replace("\x00", "\ufffd")  # csv readers (Python 3.10, spreadsheets) refuse NUL


def draw_sample(
    dataset: Path, sheet: Path, size: int = 4000, seed: int = 0, overwrite: bool = False
) -> SampleResult:
    """Write the review sheet and its sidecar (both atomically); see the module docstring."""
    if size < 1 or size > MAX_SAMPLE_SIZE:
        raise UsageError(f"--size {size}: give 1 to {MAX_SAMPLE_SIZE:,}")
    if seed < 0:
        raise UsageError(f"--seed {seed}: give a seed of 0 or more")
    sheet, folder = Path(sheet), Path(dataset)
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder; give a dataset folder written by corpus-kit")
    if _inside(sheet, folder):
        raise UsageError(
            f"{sheet}: inside the dataset folder, which publish copies; the sheet holds record text: "
            "write it outside the dataset (-o)"
        )
    if sheet.is_dir():
        raise UsageError(f"{sheet}: is a folder; give a file name for the sheet (-o SHEET.csv)")
    if sheet.exists() and not overwrite:
        raise UsageError(
            f"{sheet}: exists (a sheet and its verdicts?); choose another -o, or give --overwrite to "
            "replace it"
        )
    from corpus_kit.io.folder_lock import folder_lock

    # no run may rebuild the dataset while its rows are read
    with folder_lock(folder, activity="safety sample", read_only_ok=True):
        checked = check_dataset(folder)
        population = checked.population
        if population == 0:
            raise CheckFailed(f"{dataset}: the dataset has no rows; there is nothing to sample")
        indices = sample_indices(population, size, seed)
        sample_sha = _write_sheet(checked, indices, sheet)
    record = SampleRecord(
        sheet=sheet.name,
        dataset=checked.manifest.dataset.name,
        seal_sha256=checked.manifest.seal_sha256 or "",
        binding_sha256=binding_sha256(checked.manifest),
        data_sha256=checked.data_sha256,
        seed=seed,
        size=size,
        sample_size=len(indices),
        population=population,
        sample_sha256=sample_sha,
        numpy=np.__version__,
        created_at=datetime.now(timezone.utc).replace(microsecond=0),
    )
    side = sidecar_path(sheet)
    atomic_write_bytes(side, (record.model_dump_json(indent=2) + "\n").encode())
    return SampleResult(sheet=sheet, sidecar=side, record=record)


def _write_sheet(checked: CheckedDataset, indices: np.ndarray, sheet: Path) -> str:
    """Stream the sampled rows to a temporary file beside ``sheet`` (owner-only), then rename it;
    returns the sha256 of the ids written."""
    sheet.parent.mkdir(parents=True, exist_ok=True)
    temporary = sheet.with_name(f".{sheet.name}.tmp-{os.getpid()}")
    digest = hashlib.sha256()
    first = True
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with open(handle, "wb", closefd=True) as binary:
            text = io.TextIOWrapper(binary, encoding="utf-8", newline="", write_through=False)
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerow(SHEET_HEADER)
            for table in _iter_selected(checked, indices, ("id", "source", "text")):
                ids = _column(table, "id")
                sources = _column(table, "source")
                texts = _column(table, "text")
                for record_id, source, record_text in zip(ids, sources, texts, strict=True):
                    value = "" if record_id is None else str(record_id)
                    if not first:
                        digest.update(b"\n")
                    first = False
                    digest.update(value.encode("utf-8", "surrogatepass"))
                    writer.writerow((value, _cell(source), _cell(record_text, EXCERPT_CHARS), "", "", ""))
            text.flush()
            binary.flush()
            os.fsync(binary.fileno())
            text.detach()
        os.replace(temporary, sheet)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return digest.hexdigest()


# -- review ----------------------------------------------------------------------------------------------


@dataclass
class Verdicts:
    reviewed: int = 0
    passed: int = 0
    failed: int = 0
    failed_by_code: dict[str, int] = field(default_factory=dict)
    sheet_sha256: str = ""

    @property
    def without_code(self) -> int:
        return self.failed - sum(self.failed_by_code.values())


class _HashingReader(io.RawIOBase):
    """A raw stream over a file that hashes what it reads and refuses more than ``limit`` bytes."""

    def __init__(self, handle: io.BufferedReader, limit: int, name: Path) -> None:
        self._handle = handle
        self._limit = limit
        self._name = name
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._handle.readinto(buffer)
        if count:
            self.digest.update(memoryview(buffer)[:count])
            self.size += count
            if self.size > self._limit:
                raise CheckFailed(
                    f"{self._name}: larger than {self._limit // (1024 * 1024)} MiB; not a review sheet"
                )
        return count or 0


def _show_id(value: str) -> str:
    shown = json.dumps(value[:_SHOWN_ID_CHARS], ensure_ascii=False)
    return shown + ("…" if len(value) > _SHOWN_ID_CHARS else "")


class _Sheet:
    """Reads a sheet against the sample's ids; the first problem is one ``CheckFailed`` line."""

    def __init__(self, path: Path, expected: Sequence[str]) -> None:
        self.path = path
        self.expected = expected
        self._positions: dict[str, int] | None = None
        catalogue = risk_catalogue()
        self._codes = {code.lower(): code for code in catalogue.risks}
        self._code_order = {code: index for index, code in enumerate(catalogue.risks)}

    def _where(self, line: int, row: int) -> str:
        return f"{self.path}:{line} (row {row + 1})"

    def _position(self, value: str) -> int | None:
        if self._positions is None:
            self._positions = {}
            for index, item in enumerate(self.expected):
                self._positions.setdefault(item, index)
        return self._positions.get(value)

    def _id_problem(self, value: str, index: int) -> str:
        count = len(self.expected)
        if index >= count:
            return f"an extra row: the sample has {count:,} ids; remove it"
        want = f"the sample's id #{index + 1} {_show_id(self.expected[index])}"
        found = self._position(value)
        if found is None:
            return (
                f"the id is not in the sample where {want} belongs: a changed id (a spreadsheet may "
                "convert ids: keep the id column as text), or a sheet of another sample"
            )
        if found > index:
            return (
                f"holds the sample's id #{found + 1} where {want} belongs: a row is missing or rows "
                "were reordered"
            )
        return f"holds the sample's id #{found + 1} again where {want} belongs: a repeated or reordered row"

    def read(self) -> Verdicts:
        path = self.path
        if not path.is_file():
            raise UsageError(f"{path}: no such sheet; give the file written by corpus-kit safety sample")
        if path.stat().st_size > MAX_SHEET_BYTES:
            raise CheckFailed(
                f"{path}: larger than {MAX_SHEET_BYTES // (1024 * 1024)} MiB; not a review sheet"
            )
        longest = max((len(item) for item in self.expected), default=0)
        previous_limit = csv.field_size_limit()
        csv.field_size_limit(max(FIELD_LIMIT, 2 * longest + 16))
        try:
            with open(path, "rb") as handle:
                raw = _HashingReader(handle, MAX_SHEET_BYTES, path)
                text = io.TextIOWrapper(io.BufferedReader(raw), encoding="utf-8-sig", newline="")
                verdicts = self._parse(text)
                while raw.read(1024 * 1024):  # what the reader left unread still counts in the checksum
                    pass
                verdicts.sheet_sha256 = raw.digest.hexdigest()
                return verdicts
        finally:
            csv.field_size_limit(previous_limit)

    def _parse(self, text: io.TextIOWrapper) -> Verdicts:
        reader = csv.reader(text, strict=True)
        verdicts = Verdicts()
        line = 1
        try:
            header = next(reader, None)
            columns = self._columns(header)
            index = 0
            records = 0
            while True:
                line = reader.line_num + 1
                row = next(reader, None)
                if row is None:
                    break
                records += 1
                if records > MAX_SHEET_ROWS:
                    raise CheckFailed(f"{self.path}: more than {MAX_SHEET_ROWS:,} rows; not a review sheet")
                if not any(cell.strip() for cell in row):
                    continue  # a blank line (or a spreadsheet's empty row)
                if len(row) > len(header or ()):
                    raise CheckFailed(
                        f"{self._where(line, index + 1)}: {len(row)} fields, the header has "
                        f"{len(header or ())}; fix the row"
                    )
                cells = [row[i] if i < len(row) else "" for i in columns]
                self._row(verdicts, cells, line, index)
                index += 1
        except csv.Error as error:
            raise CheckFailed(
                f"{self.path}:{reader.line_num or line}: malformed CSV ({error}); save the sheet as "
                "CSV (UTF-8)"
            ) from None
        except UnicodeDecodeError:
            raise CheckFailed(
                f"{self.path}: not UTF-8 text (at or after line {reader.line_num + 1}); save the sheet as "
                "CSV (UTF-8)"
            ) from None
        if index < len(self.expected):
            raise CheckFailed(
                f"{self.path}:{reader.line_num + 1}: the sheet ends after {index:,} row(s) but the "
                f"sample has {len(self.expected):,}: the row for the sample's id #{index + 1} "
                f"{_show_id(self.expected[index])} is missing"
            )
        verdicts.failed_by_code = dict(
            sorted(verdicts.failed_by_code.items(), key=lambda item: self._code_order.get(item[0], 0))
        )
        return verdicts

    def _columns(self, header: list[str] | None) -> list[int]:
        """Positions of id, verdict and risk (risk may be missing: -1 reads as empty)."""
        names = [cell.strip().lower() for cell in header or ()]
        wanted = ",".join(SHEET_HEADER)
        if not names:
            raise CheckFailed(f"{self.path}: empty; the header must be {wanted}")
        if len(set(names)) != len(names):
            raise CheckFailed(f"{self.path}:1: the header names a column twice; it must be {wanted}")
        missing = [name for name in ("id", "verdict") if name not in names]
        if missing:
            raise CheckFailed(
                f"{self.path}:1: the header has no {' or '.join(missing)} column; it must be {wanted} "
                "(comma-separated)"
            )
        return [names.index(name) if name in names else len(names) + 1 for name in ("id", "verdict", "risk")]

    def _row(self, verdicts: Verdicts, cells: list[str], line: int, index: int) -> None:
        record_id, verdict, risk = cells
        if index >= len(self.expected) or record_id != self.expected[index]:
            raise CheckFailed(f"{self._where(line, index + 1)}: {self._id_problem(record_id, index)}")
        decision = verdict.strip().lower()
        if decision not in ("pass", "fail"):
            state = "it is empty" if not decision else "it is neither"
            raise CheckFailed(f"{self._where(line, index + 1)}: the verdict must be pass or fail ({state})")
        code_given = risk.strip()
        code = self._codes.get(code_given.lower()) if code_given else None
        if code_given and code is None:
            raise CheckFailed(
                f"{self._where(line, index + 1)}: the risk must be an Annex A code (A1a..A5b, listed in "
                "rules/safety/risks.yaml) or empty"
            )
        if code_given and decision == "pass":
            raise CheckFailed(
                f"{self._where(line, index + 1)}: a risk is given for a pass; mark the row fail or "
                "clear the risk"
            )
        verdicts.reviewed += 1
        if decision == "pass":
            verdicts.passed += 1
        else:
            verdicts.failed += 1
            if code is not None:
                verdicts.failed_by_code[code] = verdicts.failed_by_code.get(code, 0) + 1


def read_sheet(sheet: Path, expected: Sequence[str]) -> Verdicts:
    """The verdicts of ``sheet``, which must hold exactly the ids ``expected``, in order."""
    return _Sheet(Path(sheet), expected).read()


@dataclass
class ReviewResult:
    dataset: Path
    assessment: ManualAssessment
    population: int
    meets: bool
    shortfalls: list[str]
    previous: ManualAssessment | None
    refreshed: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sheet_inside: bool = False


def policy_shortfalls(assessment: ManualAssessment) -> list[str]:
    """Why the assessment misses ``rules/safety_policy.yaml`` (clause 9.2), empty when it meets it."""
    policy = safety_policy()
    needed = min(policy.manual_sample, assessment.population)
    shortfalls = []
    if assessment.reviewed < needed or assessment.sample_size < needed:
        shortfalls.append(f"{assessment.reviewed:,} reviewed, {needed:,} needed")
    if assessment.pass_rate < policy.manual_pass_rate:
        shortfalls.append(f"pass rate {assessment.pass_rate:.3f} is below {policy.manual_pass_rate:.3f}")
    return shortfalls


def _check_reviewer(reviewer: str | None) -> str | None:
    if reviewer is None:
        return None
    value = reviewer.strip()
    if not value:
        return None
    if len(value) > 200 or any(
        ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 or ch in "\u2028\u2029" for ch in value
    ):
        raise UsageError("--reviewer: give a name or role of at most 200 characters on one line")
    return value


def _binding(
    checked: CheckedDataset, sheet: Path, record: SampleRecord | None, seed: int | None, size: int | None
) -> tuple[int, int]:
    """The seed and size to draw again, once the sidecar (if any) is known to fit the dataset."""
    if record is None:
        if seed is None or size is None:
            raise UsageError(
                f"{sidecar_path(sheet)}: missing; keep the sidecar written with the sheet beside it, or give "
                "--seed and --size as used for corpus-kit safety sample"
            )
        if seed < 0 or size < 1 or size > MAX_SAMPLE_SIZE:
            raise UsageError(
                f"--seed {seed} --size {size}: give a seed >= 0 and a size of 1 to {MAX_SAMPLE_SIZE:,}"
            )
        return seed, size
    if (seed is not None and seed != record.seed) or (size is not None and size != record.size):
        raise UsageError(
            f"--seed/--size differ from the sheet's sidecar (seed {record.seed}, size {record.size}); "
            "leave them out: the sidecar records them"
        )
    manifest = checked.manifest
    if record.dataset != manifest.dataset.name:
        raise CheckFailed(
            f"{sheet}: sampled from dataset {json.dumps(record.dataset, ensure_ascii=False)}, not from "
            f"{json.dumps(manifest.dataset.name, ensure_ascii=False)}; review it against the dataset it "
            "came from"
        )
    if record.data_sha256 != checked.data_sha256:
        raise CheckFailed(
            f"{sheet}: the dataset's data files changed since the sheet was sampled (data_sha256 differs); "
            f"draw and review a new sample: corpus-kit safety sample {checked.folder}"
        )
    if record.binding_sha256 != binding_sha256(checked.manifest) or record.population != checked.population:
        raise CheckFailed(
            f"{sheet}: the dataset's manifest changed since the sheet was sampled (its seal differs); "
            f"draw and review a new sample: corpus-kit safety sample {checked.folder}"
        )
    return record.seed, record.size


def review_sheet(
    dataset: Path,
    sheet: Path,
    reviewer: str | None = None,
    seed: int | None = None,
    size: int | None = None,
    today: date | None = None,
) -> ReviewResult:
    """Check ``sheet`` against the sample drawn again from ``dataset`` and record its verdicts in the
    manifest (``safety.manual``), under the dataset's lock; see the module docstring."""
    from corpus_kit.io.folder_lock import folder_lock

    folder, sheet = Path(dataset), Path(sheet)
    reviewer = _check_reviewer(reviewer)
    if not sheet.is_file():
        raise UsageError(f"{sheet}: no such sheet; give the file written by corpus-kit safety sample")
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder; give a dataset folder written by corpus-kit")
    record = read_sidecar(sheet)
    # from the first check to the last write, no run or publication changes the dataset under us
    with folder_lock(folder, activity="safety review"):
        checked = check_dataset(folder)
        seed, size = _binding(checked, sheet, record, seed, size)
        indices = sample_indices(checked.population, size, seed)
        expected = sample_ids(checked, indices)
        if record is not None and ids_sha256(expected) != record.sample_sha256:
            drawn_by = (
                f" (drawn with NumPy {record.numpy}, now {np.__version__})"
                if record.numpy != np.__version__
                else ""
            )
            raise CheckFailed(
                f"{sidecar_path(sheet)}: the sample drawn again with seed {seed} and size {size} is not the "
                f"one recorded{drawn_by}; draw and review a new sample"
            )
        verdicts = read_sheet(sheet, expected)
        assessment = ManualAssessment(
            population=checked.population,
            sample_size=len(expected),
            seed=seed,
            sample_sha256=ids_sha256(expected),
            data_sha256=checked.data_sha256,
            sheet_sha256=verdicts.sheet_sha256,
            reviewed=verdicts.reviewed,
            passed=verdicts.passed,
            failed=verdicts.failed,
            pass_rate=verdicts.passed / verdicts.reviewed if verdicts.reviewed else 0.0,
            wilson_lower_95=wilson_lower_bound(verdicts.passed, verdicts.reviewed),
            failed_by_code=verdicts.failed_by_code,
            reviewer=reviewer,
            reviewed_on=today or date.today(),
        )
        raw = (folder / MANIFEST_NAME).read_bytes()
        if raw != checked.raw:
            raise CheckFailed(
                f"{folder / MANIFEST_NAME}: changed while the sheet was read; run corpus-kit safety "
                "review again"
            )
        manifest = Manifest.model_validate_json(raw)
        assert manifest.safety is not None  # check_dataset
        previous = manifest.safety.manual
        old = manifest.model_copy(deep=True)
        manifest.safety.manual = assessment
        manifest.write(folder)
        try:
            refreshed, notes = refresh_derived_files(folder, old, manifest)
        except (CorpusKitError, OSError, ValueError) as error:  # the manifest is written: say what is left
            refreshed, notes = (
                [],
                [
                    f"report.html and the card were not re-rendered ({type(error).__name__}); run "
                    f"corpus-kit card {folder} again"
                ],
            )
    if (folder / "manifest.sig").exists():
        notes.append("manifest.sig no longer matches the manifest: sign the dataset again (corpus-kit sign)")
    shortfalls = policy_shortfalls(assessment)
    return ReviewResult(
        dataset=folder,
        assessment=assessment,
        population=checked.population,
        meets=not shortfalls,
        shortfalls=shortfalls,
        previous=previous,
        refreshed=refreshed,
        notes=notes,
        sheet_inside=_inside(sheet, folder),
    )


# -- report.html and the card ------------------------------------------------------------------------------


def refresh_derived_files(folder: Path, old: Manifest, new: Manifest) -> tuple[list[Path], list[str]]:
    """Re-render report.html and a corpus-kit card (README.md, croissant.json) from ``new``, so that
    they do not contradict it. A card is re-rendered only when it is what ``corpus-kit card`` wrote
    for ``old`` (its language, task categories, URL and creator kept); otherwise a note says what to
    run. Returns the files written and the notes."""
    from corpus_kit.catalog.card import CARD_NAME, card_body, write_card
    from corpus_kit.catalog.croissant import CROISSANT_NAME, build_croissant, write_croissant
    from corpus_kit.catalog.report import REPORT_NAME, write_report

    written: list[Path] = []
    notes: list[str] = []
    if (folder / REPORT_NAME).is_file():
        written.append(write_report(folder, new))
    card, croissant = folder / CARD_NAME, folder / CROISSANT_NAME
    if not card.is_file() or not croissant.is_file():
        return written, notes
    options = _card_options(folder, old, card, croissant, card_body, build_croissant)
    if options is None:
        notes.append(
            f"{CARD_NAME} and {CROISSANT_NAME} are not what corpus-kit card wrote for the previous manifest "
            f"(a custom template or an edit); run corpus-kit card {folder} again with your options"
        )
        return written, notes
    languages, categories, url, creator = options
    written.extend(write_card(folder, languages, categories))
    written.append(write_croissant(folder, url, creator))
    return written, notes


def _card_options(
    folder: Path, old: Manifest, card: Path, croissant: Path, card_body: Any, build_croissant: Any
) -> tuple[list[str] | None, list[str] | None, str | None, str | None] | None:
    """The options ``corpus-kit card`` was run with, when the card is its default output for ``old``."""
    from huggingface_hub import DatasetCard

    try:
        loaded = DatasetCard.load(card)
        document = json.loads(croissant.read_text(encoding="utf-8"))
    except Exception:  # any unreadable card is "not ours"
        return None
    if not isinstance(document, dict) or "corpus-kit" not in (loaded.data.tags or []):
        return None
    if loaded.text.strip("\n") != card_body(old).strip("\n"):
        return None
    languages = loaded.data.language
    languages = [languages] if isinstance(languages, str) else languages
    categories = loaded.data.task_categories
    categories = [categories] if isinstance(categories, str) else categories
    url = document.get("url")
    creator = document.get("creator", {}).get("name") if isinstance(document.get("creator"), dict) else None
    url = None if url == folder.resolve().as_uri() else url
    creator = None if creator == "publisher not declared" else creator
    if not isinstance(url, str | None) or not isinstance(creator, str | None):
        return None
    try:
        if build_croissant(folder, old, url, creator) != document:
            return None
    except Exception:  # a card corpus-kit cannot rebuild is not ours
        return None
    return languages or None, categories or None, url, creator
