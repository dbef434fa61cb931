"""Evaluation sets: read from JSONL / Parquet text or from a hash-only index, merged into one lookup.

Text files: one item per JSONL line (``.jsonl``, ``.ndjson``, ``.jsonl.gz``, ``.jsonl.zst``) or Parquet
row. An item's benchmark is its ``benchmark`` field when that is a string, else the file's stem; its
text is its text fields (``DEFAULT_FIELDS`` present, or the ones named), strings in lists and
mappings included, joined by line feeds. A folder is read file by file (sorted, hidden ones
skipped).

Index files (``corpus-kit decontam-index build``): a magic line, a JSON header and, per benchmark,
its sorted unique gram hashes as little-endian uint64. They hold no text; the stage gives the same
result with the index as with the files it was built from. A file is recognised as an index by its
first bytes, whatever its name.

Everything here is hostile input: lines are read with a length bound, a malformed line or a file
that is not what it claims stops with one line naming ``file:line``, and an index is checked
(magic, header, sizes, sha256 of the hashes, order) before it is used.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from corpus_kit.errors import UsageError
from corpus_kit.stages.decontaminate import grams as G
from corpus_kit.utils import sha256_file

#: Fields whose text counts when none are named (those present in an item are used).
DEFAULT_FIELDS: tuple[str, ...] = (
    "text",
    "question",
    "query",
    "prompt",
    "instruction",
    "input",
    "context",
    "passage",
    "article",
    "problem",
    "premise",
    "hypothesis",
    "sentence",
    "choices",
    "options",
    "endings",
    "answer",
    "answers",
    "output",
    "target",
    "solution",
    "response",
    "completion",
)
BENCHMARK_FIELD = "benchmark"
INDEX_MAGIC = b"corpus-kit decontam-index\n"
INDEX_FORMAT_VERSION = 1
INDEX_SUFFIX = ".ckdi"
TEXT_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".jsonl.zst", ".ndjson.gz", ".ndjson.zst", ".parquet")
MAX_ITEM_BYTES = 16 * 1024 * 1024  # one JSONL line / item
MAX_HEADER_BYTES = 16 * 1024 * 1024
MAX_BENCHMARKS = 1_000
MAX_TOTAL_GRAMS = 1 << 28  # 2 GiB of hashes
MAX_NAME_CHARS = 64
_MAX_DEPTH = 4  # nesting of lists / mappings read for an item's text
_UNSAFE = re.compile(r"[^a-z0-9_-]+")
_ALIGN = 8


def benchmark_id(raw: str) -> str:
    """A safe id for a benchmark name (the reason ``decontam.<id>``, a manifest key): lower-case
    ASCII letters, digits, ``_`` and ``-``, anything else becomes ``_``; a name with other characters
    (``中文阅读``) gets the first 8 hex digits of its sha256, so that two such names stay apart."""
    name = raw.strip().lower()
    value = _UNSAFE.sub("_", name).strip("_-")
    if name.isascii():
        return value[:MAX_NAME_CHARS].strip("_-") or "unnamed"
    suffix = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{value[: MAX_NAME_CHARS - 9].strip('_-') or 'benchmark'}-{suffix}"


def _stem(path: Path) -> str:
    name = path.name
    for suffix in sorted((*TEXT_SUFFIXES, INDEX_SUFFIX), key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


# -- what a benchmark contributes ---------------------------------------------------------------


class BenchmarkHeader(BaseModel):
    """One benchmark of an index: counts and where its hashes are (never text)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    items: int = Field(ge=0, description="Items read.")
    matchable: int = Field(ge=0, description="Items of at least n units (all their n-grams are used).")
    short: int = Field(ge=0, description="Items of min_units..n-1 units: one whole-item gram each.")
    too_short: int = Field(ge=0, description="Items of fewer than min_units units: not matchable.")
    empty: int = Field(ge=0, description="Items without text in the fields used.")
    short_lengths: list[int] = Field(default_factory=list, description="Lengths of the whole-item grams.")
    grams: int = Field(ge=0, description="Distinct gram hashes.")


class IndexSource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=255)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class IndexHeader(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: str = Field(pattern="^corpus-kit-decontam-index$")
    format_version: int
    n: int = Field(ge=1, le=64)
    min_units: int = Field(ge=1, le=64)
    normalisation: str = Field(max_length=200)
    fields: list[str] | None = Field(None, max_length=100)
    benchmarks: list[BenchmarkHeader] = Field(max_length=MAX_BENCHMARKS)
    sources: list[IndexSource] = Field(max_length=100_000)
    hashes_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


@dataclass
class Benchmark:
    """A benchmark's grams and counts, as read from text or from an index."""

    name: str
    items: int = 0
    matchable: int = 0
    short: int = 0
    too_short: int = 0
    empty: int = 0
    short_lengths: set[int] = field(default_factory=set)
    parts: list[np.ndarray] = field(default_factory=list)
    _hashes: np.ndarray | None = None

    def add_item(self, text: str | None, n: int, min_units: int) -> int:
        """Count an item and keep its grams; returns how many gram hashes it added."""
        self.items += 1
        if text is None:
            self.empty += 1
            return 0
        hashes, units = G.item_grams(text, n, min_units)
        if units == 0:
            self.empty += 1
        elif units >= n:
            self.matchable += 1
        elif units >= min_units:
            self.short += 1
            self.short_lengths.add(units)
        else:
            self.too_short += 1
        if hashes.size:
            self._hashes = None
            self.parts.append(hashes)
        return int(hashes.size)

    def merge(self, other: Benchmark) -> None:
        self.items += other.items
        self.matchable += other.matchable
        self.short += other.short
        self.too_short += other.too_short
        self.empty += other.empty
        self.short_lengths |= other.short_lengths
        self.parts.extend(other.hashes_list())
        self._hashes = None

    def hashes_list(self) -> list[np.ndarray]:
        return [self.hashes] if self.parts else []

    @property
    def hashes(self) -> np.ndarray:
        """Sorted unique gram hashes."""
        if self._hashes is None:
            merged = np.unique(np.concatenate(self.parts)) if self.parts else np.empty(0, np.uint64)
            self.parts = [merged] if merged.size else []
            self._hashes = merged
        return self._hashes

    def header(self) -> BenchmarkHeader:
        return BenchmarkHeader(
            name=self.name,
            items=self.items,
            matchable=self.matchable,
            short=self.short,
            too_short=self.too_short,
            empty=self.empty,
            short_lengths=sorted(self.short_lengths),
            grams=int(self.hashes.size),
        )


@dataclass(frozen=True)
class SourceFile:
    """One evaluation file as the manifest lists it."""

    path: str
    kind: str  # "text" or "index"
    sha256: str


# -- reading text ---------------------------------------------------------------------------------


def resolve_eval_paths(values: Sequence[str]) -> list[Path]:
    """The files behind the ``evals`` values: files as named, folders expanded (sorted, recursive,
    hidden entries and unknown extensions skipped)."""
    found: list[Path] = []
    for value in values:
        path = Path(value)
        if path.is_dir():
            inside = sorted(
                candidate
                for candidate in path.rglob("*")
                if candidate.is_file()
                and not any(part.startswith(".") for part in candidate.relative_to(path).parts)
                and candidate.name.lower().endswith((*TEXT_SUFFIXES, INDEX_SUFFIX))
            )
            if not inside:
                raise UsageError(
                    f"evals: {path}: no evaluation file in this folder (.jsonl, .parquet, "
                    f"{INDEX_SUFFIX}); give files or another folder"
                )
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        elif path.exists():
            raise UsageError(f"evals: {path}: not a regular file or folder")
        else:
            raise UsageError(f"evals: {path}: no such file or folder; check the path")
    unique: list[Path] = []
    seen: set[str] = set()
    for path in found:
        key = str(path.resolve())
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def is_index(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(len(INDEX_MAGIC)) == INDEX_MAGIC


def _strings(value: Any, out: list[str], depth: int = 0) -> None:
    if isinstance(value, str):
        if value:
            out.append(value)
    elif depth < _MAX_DEPTH and isinstance(value, list | tuple):
        for element in value:
            _strings(element, out, depth + 1)
    elif depth < _MAX_DEPTH and isinstance(value, dict):
        for element in value.values():
            _strings(element, out, depth + 1)


def _lookup(item: dict[str, Any], name: str) -> Any:
    if name in item:
        return item[name]
    value: Any = item
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def item_text(item: dict[str, Any], fields: Sequence[str] | None) -> str | None:
    """The text of an item's counted fields, joined by line feeds (``None``: none has text)."""
    parts: list[str] = []
    for name in fields if fields is not None else DEFAULT_FIELDS:
        value = _lookup(item, name)
        if value is not None:
            _strings(value, parts)
    return "\n".join(parts) if parts else None


def _jsonl_items(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    from corpus_kit.io.readers.jsonl import open_decompressed

    with ExitStack() as stack:
        raw = stack.enter_context(io.BufferedReader(io.FileIO(path, "rb")))
        stream = open_decompressed(raw, path.name, stack)
        number = 0
        while True:
            try:
                line = stream.readline(MAX_ITEM_BYTES + 1)
            except (OSError, EOFError, ValueError) as error:
                raise UsageError(
                    f"{path}:{number + 1}: cannot be read ({type(error).__name__}); the file is "
                    "corrupt or truncated"
                ) from None
            if not line:
                return
            number += 1
            if len(line) > MAX_ITEM_BYTES:
                raise UsageError(
                    f"{path}:{number}: item longer than {MAX_ITEM_BYTES // (1024 * 1024)} MiB; "
                    "split it or remove it"
                )
            if not line.strip():
                continue
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError:
                raise UsageError(f"{path}:{number}: not valid JSON (UTF-8); fix or remove the line") from None
            if not isinstance(item, dict):
                raise UsageError(f"{path}:{number}: not a JSON object; each line must be one item")
            yield number, item


def _parquet_items(path: Path, fields: Sequence[str] | None) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        names = set(parquet.schema_arrow.names)
        wanted = {name.split(".")[0] for name in (fields if fields is not None else DEFAULT_FIELDS)}
        columns = sorted(names & (wanted | {BENCHMARK_FIELD}))
        row = 0
        for batch in parquet.iter_batches(batch_size=256, columns=columns):
            for item in batch.to_pylist():
                row += 1
                yield row, item
    except (OSError, pa.ArrowException) as error:
        detail = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        raise UsageError(f"{path}: not a readable Parquet file ({detail})") from None


def read_text_eval(
    path: Path, fields: Sequence[str] | None, n: int = G.N, min_units: int = G.MIN_UNITS
) -> dict[str, Benchmark]:
    """The benchmarks of one text evaluation file."""
    lowered = path.name.lower()
    if lowered.endswith(".parquet"):
        items: Iterator[tuple[int, dict[str, Any]]] = _parquet_items(path, fields)
    elif lowered.endswith(TEXT_SUFFIXES):
        items = _jsonl_items(path)
    else:
        raise UsageError(
            f"evals: {path}: unknown format; give .jsonl, .jsonl.gz, .jsonl.zst, .parquet or an index "
            "built by corpus-kit decontam-index build"
        )
    default = benchmark_id(_stem(path))
    found: dict[str, Benchmark] = {}
    total = 0
    with_text = 0
    for number, item in items:
        named = item.get(BENCHMARK_FIELD)
        name = benchmark_id(named) if isinstance(named, str) and named.strip() else default
        benchmark = found.get(name)
        if benchmark is None:
            if len(found) >= MAX_BENCHMARKS:
                raise UsageError(f"{path}:{number}: more than {MAX_BENCHMARKS} benchmarks in one file")
            benchmark = found[name] = Benchmark(name)
        text = item_text(item, fields)
        with_text += text is not None
        total += benchmark.add_item(text, n, min_units)
        if total > MAX_TOTAL_GRAMS:
            raise UsageError(
                f"{path}:{number}: more than {MAX_TOTAL_GRAMS:,} n-grams; split the evaluation set"
            )
    if not found:
        raise UsageError(f"evals: {path}: no items; give a file with one JSON object per line")
    if not with_text:
        wanted = ", ".join(fields if fields is not None else DEFAULT_FIELDS[:6]) + ("" if fields else ", ...")
        raise UsageError(
            f"evals: {path}: no item has text in the fields used ({wanted}); name them with fields"
        )
    return found


# -- the index file ---------------------------------------------------------------------------------


def write_index(
    path: Path,
    benchmarks: dict[str, Benchmark],
    sources: list[SourceFile],
    fields: Sequence[str] | None,
    n: int = G.N,
    min_units: int = G.MIN_UNITS,
) -> IndexHeader:
    """Write a hash-only index atomically (temporary file in the same folder, then rename)."""
    ordered = [benchmarks[name] for name in sorted(benchmarks)]
    digest = hashlib.sha256()
    for benchmark in ordered:
        digest.update(benchmark.hashes.astype("<u8", copy=False).tobytes())
    header = IndexHeader(
        format="corpus-kit-decontam-index",
        format_version=INDEX_FORMAT_VERSION,
        n=n,
        min_units=min_units,
        normalisation=G.normalisation_version(),
        fields=list(fields) if fields is not None else None,
        benchmarks=[benchmark.header() for benchmark in ordered],
        sources=[IndexSource(name=Path(source.path).name, sha256=source.sha256) for source in sources],
        hashes_sha256=digest.hexdigest(),
    )
    blob = orjson.dumps(header.model_dump(mode="json"))
    head = INDEX_MAGIC + len(blob).to_bytes(8, "little") + blob
    head += b"\0" * (-len(head) % _ALIGN)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(head)
            for benchmark in ordered:
                out.write(benchmark.hashes.astype("<u8", copy=False).tobytes())
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return header


def _refuse(path: Path, problem: str) -> UsageError:
    return UsageError(
        f"evals: {path}: {problem}; rebuild it with corpus-kit decontam-index build or give the "
        "evaluation files"
    )


def read_index(
    path: Path, n: int = G.N, min_units: int = G.MIN_UNITS
) -> tuple[IndexHeader, dict[str, Benchmark]]:
    """An index's header and benchmarks, after checking every byte of it."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        if handle.read(len(INDEX_MAGIC)) != INDEX_MAGIC:
            raise _refuse(path, "not a corpus-kit decontamination index (unknown first bytes)")
        length_bytes = handle.read(8)
        if len(length_bytes) < 8:
            raise _refuse(path, "truncated index (no header)")
        length = int.from_bytes(length_bytes, "little")
        if length > MAX_HEADER_BYTES or len(INDEX_MAGIC) + 8 + length > size:
            raise _refuse(path, "truncated or corrupt index (header length)")
        blob = handle.read(length)
        try:
            raw = orjson.loads(blob)
            if not isinstance(raw, dict):
                raise ValueError("not an object")
            if raw.get("format_version") != INDEX_FORMAT_VERSION:
                raise _refuse(
                    path,
                    f"index format version {raw.get('format_version')!r}, expected {INDEX_FORMAT_VERSION}",
                )
            header = IndexHeader.model_validate(raw)
        except (orjson.JSONDecodeError, ValueError, ValidationError):
            raise _refuse(path, "corrupt index header") from None
        start = len(INDEX_MAGIC) + 8 + length
        start += -start % _ALIGN
        if header.n != n or header.min_units != min_units:
            raise _refuse(
                path,
                f"index of {header.n}-grams (min {header.min_units}), this corpus-kit uses {n} "
                f"(min {min_units})",
            )
        wanted = G.normalisation_version().split(";")[0]
        built = header.normalisation.split(";")[0]
        if built != wanted:
            raise _refuse(
                path,
                f"index built with normalisation {built}, this corpus-kit uses {wanted}",
            )
        names = [benchmark.name for benchmark in header.benchmarks]
        if len(set(names)) != len(names):
            raise _refuse(path, "corrupt index header (a benchmark twice)")
        total = sum(benchmark.grams for benchmark in header.benchmarks)
        if total > MAX_TOTAL_GRAMS or start + 8 * total != size:
            raise _refuse(
                path,
                f"truncated or corrupt index ({size:,} bytes, the header describes {start + 8 * total:,})",
            )
        handle.seek(start)
        digest = hashlib.sha256()
        found: dict[str, Benchmark] = {}
        for entry in header.benchmarks:
            data = handle.read(8 * entry.grams)
            if len(data) != 8 * entry.grams:
                raise _refuse(path, "truncated index")
            digest.update(data)
            hashes = np.frombuffer(data, dtype="<u8").astype(np.uint64)
            if hashes.size > 1 and not bool(np.all(hashes[1:] > hashes[:-1])):
                raise _refuse(path, f"corrupt index (hashes of {entry.name} out of order)")
            if any(not 1 <= value < n for value in entry.short_lengths) or len(entry.short_lengths) > n:
                raise _refuse(path, "corrupt index header (whole-item gram lengths)")
            benchmark = Benchmark(
                entry.name,
                items=entry.items,
                matchable=entry.matchable,
                short=entry.short,
                too_short=entry.too_short,
                empty=entry.empty,
                short_lengths=set(entry.short_lengths),
            )
            if hashes.size:
                benchmark.parts = [hashes]
                benchmark._hashes = hashes
            found[entry.name] = benchmark
        if digest.hexdigest() != header.hashes_sha256:
            raise _refuse(path, "corrupt index (the hashes do not match their sha256)")
    return header, found


# -- all evaluation sets of a step, merged ---------------------------------------------------------


def load_evals(
    values: Sequence[str], fields: Sequence[str] | None, n: int = G.N, min_units: int = G.MIN_UNITS
) -> tuple[dict[str, Benchmark], list[SourceFile]]:
    """Every benchmark of the evaluation files and indexes named, and the files read."""
    benchmarks: dict[str, Benchmark] = {}
    sources: list[SourceFile] = []
    for path in resolve_eval_paths(values):
        try:
            digest = sha256_file(path)
            if is_index(path):
                header, found = read_index(path, n, min_units)
                if fields is not None and header.fields is not None and list(fields) != header.fields:
                    raise UsageError(
                        f"evals: {path}: index built with fields {','.join(header.fields)}, the step names "
                        f"{','.join(fields)}; rebuild the index with --fields or give the same fields"
                    )
                kind = "index"
            else:
                found = read_text_eval(path, fields, n, min_units)
                kind = "text"
        except OSError as error:
            raise UsageError(f"evals: {path}: {error.strerror or type(error).__name__}") from None
        sources.append(SourceFile(str(path), kind, digest))
        for name, benchmark in found.items():
            if name in benchmarks:
                benchmarks[name].merge(benchmark)
            else:
                benchmarks[name] = benchmark
            if len(benchmarks) > MAX_BENCHMARKS:
                raise UsageError(f"evals: more than {MAX_BENCHMARKS} benchmarks; merge some")
    if sum(int(benchmark.hashes.size) for benchmark in benchmarks.values()) > MAX_TOTAL_GRAMS:
        raise UsageError(f"evals: more than {MAX_TOTAL_GRAMS:,} n-grams in all; split the evaluation sets")
    return benchmarks, sources


class EvalIndex:
    """All benchmarks' grams in one sorted array, with the benchmarks each gram belongs to.

    A record's grams are looked up with one ``np.searchsorted``; a gram held by several benchmarks
    counts for each. Shipped to worker tasks by key: a process that has it (the parent built it
    before the workers forked) uses it, another one reads the evaluation files again and checks that
    they are the same.
    """

    _built: ClassVar[dict[str, EvalIndex]] = {}

    def __init__(
        self,
        benchmarks: dict[str, Benchmark],
        sources: list[SourceFile],
        values: Sequence[str],
        fields: Sequence[str] | None,
    ):
        self.values = list(values)
        self.fields = list(fields) if fields is not None else None
        self.sources = sources
        self.names = sorted(benchmarks)
        self.headers = [benchmarks[name].header() for name in self.names]
        self.key = hashlib.sha256(
            orjson.dumps(
                [[source.kind, source.sha256] for source in sources]
                + [self.fields, G.normalisation_version()]
            )
        ).hexdigest()
        arrays = [benchmarks[name].hashes for name in self.names]
        owners = np.concatenate(
            [np.full(array.size, position, dtype=np.int32) for position, array in enumerate(arrays)]
            or [np.empty(0, np.int32)]
        )
        hashes = np.concatenate(arrays or [np.empty(0, np.uint64)])
        order = np.lexsort((owners, hashes))
        hashes, owners = hashes[order], owners[order]
        first = np.ones(hashes.size, dtype=bool)
        first[1:] = hashes[1:] != hashes[:-1]
        self.keys = hashes[first]
        # a bit per 2**-bits slice of the hash space: most grams of a record are ruled out by one
        # look-up in it (~1.5 % false positives at 64 bits per key) before the binary search
        bits = int(min(max(self.keys.size * 64, 1 << 16), 1 << 31)).bit_length() - 1
        self.shift = np.uint64(64 - bits)
        top = self.keys >> self.shift
        self.bitmap = np.zeros(1 << (bits - 3), dtype=np.uint8)
        bit = np.left_shift(np.uint8(1), (top & np.uint64(7)).astype(np.uint8))
        np.bitwise_or.at(self.bitmap, top >> np.uint64(3), bit)
        self.starts = np.append(np.flatnonzero(first), hashes.size).astype(np.int64)
        self.owners = owners
        lengths = {G.N} | {length for header in self.headers for length in header.short_lengths}
        self.lengths = tuple(sorted(lengths, reverse=True))
        if len(self._built) >= 4:  # a long-lived process (the Python API) keeps the last few only
            self._built.clear()
        self._built[self.key] = self

    @classmethod
    def load(cls, values: Sequence[str], fields: Sequence[str] | None) -> EvalIndex:
        benchmarks, sources = load_evals(values, fields)
        probe = hashlib.sha256(
            orjson.dumps(
                [[source.kind, source.sha256] for source in sources]
                + [list(fields) if fields is not None else None, G.normalisation_version()]
            )
        ).hexdigest()
        return cls._built.get(probe) or cls(benchmarks, sources, values, fields)

    def __getstate__(self) -> dict[str, Any]:
        return {"key": self.key, "values": self.values, "fields": self.fields}

    def __setstate__(self, state: dict[str, Any]) -> None:
        built = self._built.get(state["key"])
        if built is None:
            built = EvalIndex.load(state["values"], state["fields"])
            if built.key != state["key"]:
                raise UsageError("evals: the evaluation files changed during the run; run the command again")
        self.__dict__.update(built.__dict__)

    def __deepcopy__(self, memo: dict[int, Any]) -> EvalIndex:
        return self

    def matches(self, text: str) -> np.ndarray:
        """Distinct grams of ``text`` found per benchmark (int64, one count per name)."""
        counts = np.zeros(len(self.names), dtype=np.int64)
        if not self.keys.size:
            return counts
        found: list[np.ndarray] = []
        last = self.keys.size - 1
        seven = np.uint64(7)
        for batch in G.text_grams(text, self.lengths):
            top = batch >> self.shift
            candidates = (self.bitmap[top >> np.uint64(3)] >> (top & seven).astype(np.uint8)) & 1
            batch = batch[candidates.view(bool)]
            if not batch.size:
                continue
            where = np.searchsorted(self.keys, batch)
            np.minimum(where, last, out=where)
            hit = where[self.keys[where] == batch]
            if hit.size:
                found.append(hit)
        if not found:
            return counts
        keys = np.unique(np.concatenate(found))
        begins, ends = self.starts[keys], self.starts[keys + 1]
        sizes = ends - begins
        if bool(np.all(sizes == 1)):
            owners = self.owners[begins]
        else:
            offsets = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
            owners = self.owners[np.repeat(begins, sizes) + offsets]
        counts += np.bincount(owners, minlength=len(self.names))
        return counts
