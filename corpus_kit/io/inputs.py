"""Resolve INPUT arguments (files, folders, globs) into an ordered list of input units.

A unit is what one reader task reads in one go: a file, or a folder written by
``datasets.Dataset.save_to_disk``. Units are ordered deterministically (arguments in the order
given, paths sorted inside a folder or glob) so that the same input always shards the same way.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from corpus_kit.errors import UsageError
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


@dataclass(frozen=True)
class InputUnit:
    """One file (or ``save_to_disk`` folder) to read."""

    path: str  # absolute local path
    format: str  # one of FORMATS
    uri: str  # portable name used in manifests and rejects
    size: int  # bytes on disk (for progress and throughput)


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


def _folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _unit(path: Path, fmt: str) -> InputUnit:
    size = _folder_size(path) if path.is_dir() else path.stat().st_size
    return InputUnit(path=str(path.resolve()), format=fmt, uri=display_uri(path), size=size)


def _scan_folder(folder: Path, forced: str | None) -> list[InputUnit]:
    units: list[InputUnit] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        root_path = Path(root)
        # save_to_disk folders are one unit each: do not read their .arrow files one by one
        keep_dirs = []
        for name in sorted(dirs):
            if name.startswith("."):
                continue
            sub = root_path / name
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


def resolve_inputs(inputs: list[str], forced_format: str | None = None) -> list[InputUnit]:
    """Expand INPUT arguments into input units.

    ``forced_format`` (``--format``) applies to files named directly or matched by a glob; folders
    are scanned for files whose name carries that format's suffix.
    """
    if forced_format is not None and forced_format not in FORMATS:
        raise UsageError(f"unknown --format {forced_format!r}; choose one of: {', '.join(FORMATS)}")
    if not inputs:
        raise UsageError("no INPUT given; name a file, a folder or a glob such as 'data/*.jsonl.gz'")

    units: list[InputUnit] = []
    for argument in inputs:
        if any(char in argument for char in "*?["):
            matches = sorted(glob.glob(argument, recursive=True))
            if not matches:
                raise UsageError(f"{argument}: the glob matches no file; check the pattern and quote it")
            candidates = [Path(match) for match in matches]
        else:
            candidates = [Path(argument)]
        for path in candidates:
            if not path.exists():
                raise UsageError(f"{path}: input not found; check the path")
            if path.is_dir():
                if is_hf_disk_folder(path) and forced_format in (None, "hf_disk"):
                    units.append(_unit(path, "hf_disk"))
                    continue
                found = _scan_folder(path, forced_format)
                if not found:
                    raise UsageError(
                        f"{path}: no readable input in this folder (looked for {SUPPORTED_SUFFIXES} "
                        "files and save_to_disk folders); pass --format or a glob"
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
