"""Resolve INPUT arguments (files, folders, globs) into an ordered list of input units.

A unit is what one reader task reads in one go: a file, or a folder written by
``datasets.Dataset.save_to_disk``. Units are ordered deterministically (arguments in the order
given, paths sorted inside a folder or glob) so that the same input always shards the same way.

corpus-kit never reads its own output back as input (docs/architecture.md §2): while a folder or a
glob is expanded, the run's own output folder and every folder that is a corpus-kit output (it
holds a corpus-kit ``manifest.json`` or a ``.corpus-kit`` work folder) are skipped, with their
restricted ``rejects/`` and ``removed/``. A corpus-kit dataset named as the INPUT itself is read
through its ``data/`` folder only. Files named one by one are always read.
"""

from __future__ import annotations

import errno
import glob
import itertools
import mmap
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from corpus_kit.errors import UsageError
from corpus_kit.governance.manifest import MANIFEST_NAME
from corpus_kit.paths import WORK_DIR_NAME
from corpus_kit.resources import display_uri

FORMATS = ("jsonl", "parquet", "webdataset", "hf_disk")

_SUFFIX_FORMATS = (
    (".jsonl", "jsonl"),
    (".ndjson", "jsonl"),
    (".jsonl.gz", "jsonl"),
    (".ndjson.gz", "jsonl"),
    (".jsonl.zst", "jsonl"),
    (".jsonl.zstd", "jsonl"),
    (".ndjson.zst", "jsonl"),
    (".parquet", "parquet"),
    (".tar", "webdataset"),
    (".tar.gz", "webdataset"),
    (".tgz", "webdataset"),
)
SUPPORTED_SUFFIXES = ", ".join(suffix for suffix, _ in _SUFFIX_FORMATS)

_MANIFEST_HEAD_BYTES = 4096


@dataclass(frozen=True)
class InputUnit:
    """One file (or ``save_to_disk`` folder) to read, or a line-aligned part of a JSONL file."""

    path: str  # absolute local path
    format: str  # one of FORMATS
    uri: str  # portable name used in manifests and rejects
    size: int  # bytes on disk (for progress and throughput); of the part, for a part
    start: int = 0  # a part: first byte (the start of a line)
    end: int | None = None  # a part: end byte (exclusive, the end of a line); None: the whole file
    first_line: int = 0  # a part: lines of the file before ``start``

    @property
    def is_part(self) -> bool:
        return self.end is not None


def format_from_name(name: str) -> str | None:
    """The format implied by a file name, or ``None`` when the name says nothing."""
    lowered = name.lower()
    for suffix, fmt in _SUFFIX_FORMATS:
        if lowered.endswith(suffix):
            return fmt
    return None


def is_hf_disk_folder(path: Path) -> bool:
    """True for a folder written by ``Dataset.save_to_disk`` or ``DatasetDict.save_to_disk``."""
    return path.is_dir() and ((path / "state.json").is_file() or (path / "dataset_dict.json").is_file())


def is_corpus_kit_output(folder: Path) -> bool:
    """A folder corpus-kit wrote: a dataset with our manifest, or the output of a run under way."""
    if (folder / WORK_DIR_NAME).is_dir():
        return True
    try:
        with open(folder / MANIFEST_NAME, "rb") as handle:
            head = handle.read(_MANIFEST_HEAD_BYTES)
    except OSError:
        return False
    # our manifests open with these keys (pydantic keeps the model's field order)
    return b'"schema_version"' in head and b'"dataset"' in head


@dataclass
class _Expansion:
    """What expanding folders and globs skipped because it is corpus-kit's own output."""

    excluded: frozenset[str]  # real paths of the run's own output folder(s)
    skipped: list[Path] = field(default_factory=list)

    def is_output(self, folder: Path) -> bool:
        if os.path.realpath(folder) in self.excluded or is_corpus_kit_output(folder):
            self.skipped.append(folder)
            return True
        return False


def _broken(path: Path, error: OSError) -> UsageError:
    """One line naming an input file that cannot be read and what to do about it."""
    if error.errno == errno.ELOOP:
        what = "is a symbolic link loop"
    elif isinstance(error, FileNotFoundError) and path.is_symlink():
        what = "is a symbolic link whose target does not exist"
    elif isinstance(error, PermissionError):
        what = "cannot be read (permission denied)"
    else:
        what = f"cannot be read ({error.strerror or type(error).__name__})"
    return UsageError(f"{path}: {what}; fix or remove it, or name the good inputs one by one")


def _folder_size(path: Path) -> int:
    total = 0
    for item in path.rglob("*"):
        try:
            if item.is_file():
                total += item.stat().st_size
            elif item.exists() and not item.is_dir():
                raise _not_regular(item, item.stat().st_mode)
        except OSError as error:
            raise _broken(item, error) from None
    return total


def _not_regular(path: Path, mode: int) -> UsageError:
    """One line refusing an input that is not a regular file: opening a named pipe blocks until
    something writes to it, and a device can be endless."""
    kind = (
        "a named pipe (FIFO)"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "not a regular file"
    )
    return UsageError(
        f"{path}: is {kind}, not a regular file; corpus-kit reads files only: save the stream to a file "
        "and name that"
    )


def _unit(path: Path, fmt: str) -> InputUnit:
    try:
        if path.is_dir():
            size = _folder_size(path)
        else:
            status = path.stat()
            if not stat.S_ISREG(status.st_mode):
                raise _not_regular(path, status.st_mode)
            size = status.st_size
            if not os.access(path, os.R_OK):
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
    except OSError as error:
        raise _broken(path, error) from None
    return InputUnit(path=str(path.resolve()), format=fmt, uri=display_uri(path), size=size)


def _scan_folder(folder: Path, forced: str | None, expansion: _Expansion) -> list[InputUnit]:
    if is_corpus_kit_output(folder):
        # a corpus-kit dataset named as input: its data, never its restricted rejects/ or removed/
        folder = folder / "data"
        if not folder.is_dir():
            return []
    units: list[InputUnit] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        root_path = Path(root)
        # save_to_disk folders are one unit each: do not read their .arrow files one by one
        keep_dirs = []
        for name in sorted(dirs):
            if name.startswith("."):
                continue
            sub = root_path / name
            if expansion.is_output(sub):
                continue
            if is_hf_disk_folder(sub):
                if forced in (None, "hf_disk"):
                    units.append(_unit(sub, "hf_disk"))
            else:
                keep_dirs.append(name)
        dirs[:] = keep_dirs
        for name in sorted(files):
            if name.startswith("."):
                continue
            fmt = format_from_name(name)
            if fmt is not None and (forced is None or forced == fmt):
                units.append(_unit(root_path / name, fmt))
    return sorted(units, key=lambda unit: unit.path)


def _glob_base(pattern: str) -> Path:
    """The literal folder a glob starts from (``data/**/*.jsonl`` -> ``data``)."""
    parts = []
    for part in Path(pattern).parts:
        if any(char in part for char in "*?["):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(".")


def _in_output(path: Path, base: Path, expansion: _Expansion) -> bool:
    """A glob match inside a corpus-kit output folder below the glob's literal folder, inside the
    run's own output, or outside ``data/`` of a corpus-kit dataset that is the literal folder."""
    folder = path if path.is_dir() else path.parent
    below = [folder, *folder.parents]
    base_real = os.path.realpath(base)
    for ancestor in below:
        if os.path.realpath(ancestor) == base_real:
            if is_corpus_kit_output(ancestor) and ancestor / "data" not in (folder, *folder.parents):
                expansion.skipped.append(path)
                return True
            break
        if expansion.is_output(ancestor):
            return True
    real = os.path.realpath(path)
    return any(real == excluded or real.startswith(excluded + os.sep) for excluded in expansion.excluded)


def resolve_inputs(
    inputs: list[str], forced_format: str | None = None, exclude: Iterable[str | Path] = ()
) -> list[InputUnit]:
    """Expand INPUT arguments into input units.

    ``forced_format`` (``--format``) applies to files named directly or matched by a glob; folders
    are scanned for files whose name carries that format's suffix. ``exclude``: the run's output
    folder, never read when a folder or glob is expanded (nor any other corpus-kit output found
    there, see the module's docstring).
    """
    if forced_format is not None and forced_format not in FORMATS:
        raise UsageError(f"unknown --format {forced_format!r}; choose one of: {', '.join(FORMATS)}")
    if not inputs:
        raise UsageError("no INPUT given; name a file, a folder or a glob such as 'data/*.jsonl.gz'")

    expansion = _Expansion(frozenset(os.path.realpath(path) for path in exclude))
    units: list[InputUnit] = []
    for argument in inputs:
        if any(char in argument for char in "*?["):
            matches = sorted(glob.glob(argument, recursive=True))
            if not matches:
                raise UsageError(f"{argument}: the glob matches no file; check the pattern and quote it")
            base = _glob_base(argument)
            candidates = [Path(match) for match in matches if not _in_output(Path(match), base, expansion)]
            if not candidates:
                raise UsageError(
                    f"{argument}: the glob matches only corpus-kit output (such as {expansion.skipped[0]}), "
                    "which is never read back; name its data/ folder to read a dataset"
                )
        else:
            candidates = [Path(argument)]
        for path in candidates:
            if not path.exists():
                if path.is_symlink():
                    raise UsageError(
                        f"{path}: a symbolic link whose target does not exist (or a loop); fix the link"
                    )
                raise UsageError(f"{path}: input not found; check the path")
            if path.is_dir():
                if is_hf_disk_folder(path) and forced_format in (None, "hf_disk"):
                    units.append(_unit(path, "hf_disk"))
                    continue
                found = _scan_folder(path, forced_format, expansion)
                if not found:
                    skipped = (
                        f"; corpus-kit output inside it is skipped ({expansion.skipped[-1]})"
                        if expansion.skipped
                        else ""
                    )
                    raise UsageError(
                        f"{path}: no readable input in this folder (looked for {SUPPORTED_SUFFIXES} "
                        f"files and save_to_disk folders{skipped}); pass --format or a glob"
                    )
                units.extend(found)
                continue
            fmt = forced_format or format_from_name(path.name)
            if fmt is None:
                raise UsageError(
                    f"{path}: cannot tell the format from the name (known: {SUPPORTED_SUFFIXES}); "
                    "pass --format jsonl|parquet|webdataset|hf_disk"
                )
            units.append(_unit(path, fmt))

    seen: set[str] = set()
    unique: list[InputUnit] = []
    for unit in units:
        if unit.path not in seen:
            seen.add(unit.path)
            unique.append(unit)
    return unique


# A run whose input is a few large files would keep workers idle: one task per file, and a file
# is read by one worker. Uncompressed JSONL files are therefore cut into line-aligned parts until
# the run has this many, each at least MIN_PART_BYTES. The cut depends on the input only, so that
# the output is the same for any number of workers.
TARGET_PARTS = 16
MIN_PART_BYTES = 4 * 1024 * 1024
_SPLITTABLE_SUFFIXES = (".jsonl", ".ndjson")
_COUNT_CHUNK = 64 * 1024 * 1024


def split_into_parts(
    units: list[InputUnit], target: int = TARGET_PARTS, min_part_bytes: int = MIN_PART_BYTES
) -> list[InputUnit]:
    """``units`` with large uncompressed JSONL files cut into parts (in file order), when there are
    fewer than ``target`` units. Reads each file that is cut once, to find line starts and count lines."""
    if len(units) >= target:
        return list(units)
    part_bytes = max(min_part_bytes, -(-sum(unit.size for unit in units) // target))
    parts: list[InputUnit] = []
    for unit in units:
        splittable = unit.format == "jsonl" and unit.path.lower().endswith(_SPLITTABLE_SUFFIXES)
        pieces = -(-unit.size // part_bytes)
        if not splittable or pieces < 2 or unit.is_part:
            parts.append(unit)
            continue
        parts.extend(_cut_lines(unit, pieces))
    return parts


def _cut_lines(unit: InputUnit, pieces: int) -> list[InputUnit]:
    """``pieces`` parts of about equal size, each starting at a line start."""
    with open(unit.path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        size = len(data)
        bounds = [0]
        for piece in range(1, pieces):
            newline = data.find(b"\n", max(piece * size // pieces - 1, bounds[-1]))
            if newline == -1 or newline + 1 >= size:
                break
            bounds.append(newline + 1)  # after bounds[-1]: the search starts there
        bounds.append(size)
        if len(bounds) == 2:
            return [unit]
        parts = []
        lines = 0
        for start, end in itertools.pairwise(bounds):
            parts.append(replace(unit, size=end - start, start=start, end=end, first_line=lines))
            for chunk in range(start, end, _COUNT_CHUNK):
                lines += data[chunk : min(end, chunk + _COUNT_CHUNK)].count(b"\n")
        return parts
