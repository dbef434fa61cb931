"""What in an output folder is corpus-kit's to replace, and what never is.

A dataset is ours when its ``manifest.json`` is, and then only the files that manifest lists may
be replaced: a ``data/`` folder without a manifest, a file the manifest does not list, or a
``README.md`` beside no dataset of ours belongs to someone else and is never touched,
``--overwrite`` or not. The work folder records the rest: ``run.json`` (what a resume depends
on), the swap marker (a finaliser moving folders into place had removed the manifest first), the
Slurm marker (jobs submitted; only their finalising job may finish the run).

Checked when a run starts and again just before the finaliser moves anything, because a user can
add a file while a run goes.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from corpus_kit.errors import UsageError
from corpus_kit.governance.manifest import MANIFEST_NAME, Manifest
from corpus_kit.governance.signing import SIGNATURE_NAME
from corpus_kit.io.folder_lock import LOCK_NAME
from corpus_kit.paths import WORK_DIR_NAME

RUN_STATE = "run.json"
SWAP_MARKER = "swap-started"
#: Written when Slurm jobs are submitted: until their finalising job ends, no other run may use -o.
SLURM_MARKER = "slurm-submitted"
#: Set in the finalising Slurm job's environment: the one run the Slurm marker lets through.
SLURM_FINALISE_ENV = "CORPUS_KIT_SLURM_FINALISE"
#: A finished run's work folder, renamed in one step before it is removed: a removal cut short
#: leaves this (ours by name, with the run's fingerprint), never a half-deleted work folder.
FINISHED_WORK_DIR = ".corpus-kit.finished"
DATASET_FOLDERS = ("data", "rejects", "removed", "ledger")
#: Written by ``card`` and by a run; without a manifest of ours beside them they are someone else's.
_DERIVED_FILES = {"README.md", "croissant.json", "report.html", SIGNATURE_NAME}
_OWNED_NAMES = {*DATASET_FOLDERS, MANIFEST_NAME, WORK_DIR_NAME, FINISHED_WORK_DIR, LOCK_NAME, *_DERIVED_FILES}


def refuse_foreign_entries(output: Path) -> None:
    """Refuse an ``-o`` that holds anything corpus-kit did not (or could not have) put there."""
    if output.exists() and not output.is_dir():
        raise UsageError(f"{output}: exists and is not a folder; choose another -o")
    if not output.exists():
        return
    entries = {entry.name for entry in output.iterdir()}
    foreign = sorted(entries - _OWNED_NAMES)
    if not foreign and not entries & {MANIFEST_NAME, WORK_DIR_NAME, FINISHED_WORK_DIR}:
        foreign = sorted(entries & _DERIVED_FILES)  # a README.md beside no dataset of ours
    if foreign:
        raise UsageError(
            f"{output}: folder is not empty and not a corpus-kit dataset (found {foreign[0]!r}); "
            "choose an empty or new -o"
        )


def prepare_output(output: Path, overwrite: bool) -> None:
    """Refuse to clobber anything that is not a corpus-kit dataset; refuse a dataset without --overwrite."""
    refuse_foreign_entries(output)
    if not output.exists():
        output.mkdir(parents=True)
        return
    entries = {entry.name for entry in output.iterdir()}
    if not entries & {*DATASET_FOLDERS, MANIFEST_NAME}:
        return
    check_replaceable(output, output / WORK_DIR_NAME)
    if not overwrite:
        raise UsageError(
            f"{output}: already holds a dataset; pass --overwrite to replace it or choose another -o"
        )


def check_replaceable(output: Path, work: Path) -> None:
    """The dataset folders in ``output`` are ours to replace: listed by our manifest, or being moved
    into place by an interrupted finaliser of ours (the swap marker)."""
    if (work / SWAP_MARKER).is_file():
        return
    if (output / MANIFEST_NAME).is_file():
        _check_only_listed_files(output)
        return
    present = sorted(name for name in DATASET_FOLDERS if os.path.lexists(output / name))
    if present:
        raise UsageError(
            f"{output / present[0]}: exists but {output} has no {MANIFEST_NAME}, so it is not a corpus-kit "
            "dataset and corpus-kit will not replace it; move it away or choose another -o"
        )


def _check_only_listed_files(output: Path) -> None:
    """The dataset's folders hold only what its manifest lists (the files an overwrite replaces)."""
    try:
        manifest = Manifest.read(output / MANIFEST_NAME)
    except (ValidationError, ValueError, OSError):
        raise UsageError(
            f"{output / MANIFEST_NAME}: not a corpus-kit manifest, so {output} is not a dataset corpus-kit "
            "may replace; move it away or choose another -o"
        ) from None
    listed = {item.path for item in manifest.files}
    listed |= {item.path for folder in manifest.restricted for item in folder.files}
    for name in DATASET_FOLDERS:
        folder = output / name
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise UsageError(f"{folder}: not a folder corpus-kit wrote; move it away or choose another -o")
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            relative = path.relative_to(output).as_posix()
            if path.is_symlink() or (path.is_file() and relative not in listed):
                raise UsageError(
                    f"{path}: not listed in {output / MANIFEST_NAME}; corpus-kit replaces only the files "
                    "its manifest lists: move it away or choose another -o"
                )


def refuse_while_slurm_jobs_run(work: Path, resubmitting: bool) -> None:
    """After a Slurm submission only its finalising job (or a resubmission of the same run) may
    use the folder: any other run would share or delete the jobs' live work folder."""
    if not (work / SLURM_MARKER).is_file() or resubmitting or os.environ.get(SLURM_FINALISE_ENV) == "1":
        return
    raise UsageError(
        f"{work.parent}: Slurm jobs were submitted for this folder and their last job finalises it; "
        "wait for them, or cancel them (scancel) and start again with --overwrite"
    )


def retire_work_folder(work: Path) -> None:
    """Rename the work folder to ``FINISHED_WORK_DIR`` (one atomic step), then remove it with its
    ``run.json`` last: a removal cut short leaves a leftover the same command recognises."""
    import shutil

    finished = work.parent / FINISHED_WORK_DIR
    if finished.exists():
        shutil.rmtree(finished)
    os.replace(work, finished)
    for entry in sorted(finished.iterdir()):
        if entry.name == RUN_STATE:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    (finished / RUN_STATE).unlink(missing_ok=True)
    shutil.rmtree(finished, ignore_errors=True)
