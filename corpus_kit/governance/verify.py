"""``manifest verify``: the dataset on disk is exactly what its manifest lists."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from corpus_kit.governance.manifest import (
    MANIFEST_NAME,
    DataFile,
    Manifest,
    read_dataset_manifest,
    seal_problem,
)
from corpus_kit.utils import sha256_file


@dataclass(frozen=True)
class Problem:
    path: str
    message: str


def _leaves_the_dataset(root: Path, path: Path) -> bool:
    current = path
    while current != root:
        if current.is_symlink():
            return True
        current = current.parent
    return False


@dataclass(frozen=True)
class VerifyReport:
    problems: list[Problem]
    files: int
    bytes: int


def _check_file(root: Path, item: DataFile, count_rows: bool) -> Problem | None:
    path = root / item.path
    if not path.is_file():
        return Problem(item.path, "listed in the manifest but missing")
    if _leaves_the_dataset(root, path):
        # publish would copy what the link points at, which may be anything on this machine
        return Problem(item.path, "is a symbolic link or leads outside the dataset folder; corpus-kit "
                       "writes regular files only, rebuild the dataset")  # fmt: skip
    size = path.stat().st_size
    if size != item.bytes:
        return Problem(item.path, f"has {size} bytes, the manifest says {item.bytes}")
    digest = sha256_file(path)
    if digest != item.sha256:
        return Problem(item.path, f"sha256 {digest[:12]}… differs from the manifest's {item.sha256[:12]}…")
    if count_rows:
        try:
            rows = pq.ParquetFile(path).metadata.num_rows
        except (pa.ArrowException, OSError):
            return Problem(item.path, "is not a readable Parquet file")
        if rows != item.rows:
            return Problem(item.path, f"holds {rows} rows, the manifest says {item.rows}")
    return None


def _ledger_problems(root: Path, manifest: Manifest) -> list[Problem]:
    """The ledger files recounted by fate and reason against the manifest's ledger block (when the
    folder is present: a published copy never holds it)."""
    from corpus_kit.io.ledger import LEDGER_FOLDER, add_counts, empty_counts, recount

    folder = root / LEDGER_FOLDER
    if manifest.ledger is None or not folder.is_dir():
        return []
    entry = next((item for item in manifest.restricted if item.path == f"{LEDGER_FOLDER}/"), None)
    listed = {item.path for item in entry.files} if entry is not None else set()
    problems = []
    total = empty_counts()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative not in listed:
            problems.append(Problem(relative, "is under ledger/ but not listed in the manifest"))
            continue
        try:
            add_counts(total, recount(path))
        except (pa.ArrowException, OSError, ValueError, KeyError):
            problems.append(Problem(relative, "is not a readable ledger file"))
    stated = manifest.ledger.model_dump()
    if not problems and total != stated:
        differing = [key for key in ("rows", "kept", "dropped", "rejected") if total[key] != stated[key]]
        message = (
            f"the ledger's rows recounted differ from the manifest's ledger block ({', '.join(differing)})"
        )
        problems.append(Problem(f"{LEDGER_FOLDER}/", message))
    return problems


def verify_dataset(folder: str | Path) -> VerifyReport:
    """Check every listed data file (size, sha256, Parquet row count) and look for unlisted ones.

    Restricted folders (rejects/, removed/) are checked when present: they are never published,
    so a published copy may rightly lack them.
    """
    root = Path(folder)
    manifest = read_dataset_manifest(root)
    if root.is_file():
        manifest_path, root = root, root.parent
    else:
        manifest_path = root / MANIFEST_NAME
    problems = []
    sealing = seal_problem(manifest_path.read_bytes())
    if sealing:
        problems.append(Problem(MANIFEST_NAME, f"{sealing}; rebuild the dataset or restore its manifest"))
    problems += [p for item in manifest.files if (p := _check_file(root, item, count_rows=True))]
    listed = {item.path for item in manifest.files}
    data = root / "data"
    if data.is_dir():
        for path in sorted(p for p in data.rglob("*") if p.is_file()):
            relative = path.relative_to(root).as_posix()
            if relative not in listed:
                problems.append(Problem(relative, "is under data/ but not listed in the manifest"))
    for folder_entry in manifest.restricted:
        if not (root / folder_entry.path).is_dir():
            continue
        for item in folder_entry.files:
            problem = _check_file(root, item, count_rows=item.path.endswith(".parquet"))
            if problem:
                problems.append(problem)
    problems += _ledger_problems(root, manifest)
    return VerifyReport(
        problems=problems,
        files=len(manifest.files),
        bytes=sum(item.bytes for item in manifest.files),
    )
