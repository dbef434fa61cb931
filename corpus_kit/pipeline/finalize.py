"""Finalise a run whose tasks all completed: name the data files, move the staged folders into place,
write the manifest (assembled from the accounting and the stages' sections) and the report.

Nothing under ``OUT/data`` ever looks complete before it is: tasks write ``*.parquet.tmp`` files in
the staging folder, the finaliser names them ``train-…-of-…`` there and moves the whole folder into
place with one rename, then writes the manifest. Every part is re-entrant: a finaliser killed
half-way and run again completes the same dataset.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
from datatrove.pipeline.base import PipelineStep

from corpus_kit.errors import CorpusKitError
from corpus_kit.governance.accounting import Tally, load_merged_stats, tally_from_stats
from corpus_kit.governance.assemble import (
    StageContribution,
    assemble_manifest,
    collect_contributions,
    package_versions,
)
from corpus_kit.governance.manifest import (
    MANIFEST_NAME,
    DataFile,
    DatasetInfo,
    LedgerSummary,
    PipelineRecord,
    RestrictedFolder,
    Source,
    StepRecord,
    utc_now,
)
from corpus_kit.governance.signing import SIGNATURE_NAME
from corpus_kit.io.ledger import LEDGER_FOLDER, stated_counts
from corpus_kit.io.parquet_writer import open_parquet_writer
from corpus_kit.pipeline.ownership import SWAP_MARKER, check_replaceable, retire_work_folder
from corpus_kit.pipeline.spec import RunResult, RunSpec, config_sha256
from corpus_kit.stages.registry import get_stage
from corpus_kit.utils import atomic_write_bytes, sha256_file

_RESTRICTED_REASON = "may hold raw input, including personal data; never publish"
_LEDGER_REASON = "the record ledger: ids, input file names and locations of every record; never publish"
_FOLDERS = ("data", "rejects", "removed", LEDGER_FOLDER)


def _describe_files(folder: Path, relative_to: Path, pattern: str, with_rows: bool) -> list[DataFile]:
    files = []
    for path in sorted(folder.rglob(pattern)) if folder.is_dir() else []:
        rows = pq.ParquetFile(path).metadata.num_rows if with_rows else _count_lines(path)
        files.append(
            DataFile(
                path=path.relative_to(relative_to).as_posix(),
                sha256=sha256_file(path),
                bytes=path.stat().st_size,
                rows=rows,
            )
        )
    return files


def _count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def _name_data_files(staged: Path) -> None:
    """Give staged task files their Hub names, in (rank, sequence) order; an empty run gets one empty file.

    Re-entrant: a finaliser killed half-way left some files named already; they come first, in order.
    """
    leftovers = sorted(staged.glob("*.tmp"))
    if leftovers:
        raise CorpusKitError(f"{leftovers[0]}: a task did not finish writing; run the command again")
    named = sorted(staged.glob("train-*.parquet"))
    parts = named + sorted(path for path in staged.glob("*.parquet") if not path.name.startswith("train-"))
    if not parts:
        staged.mkdir(parents=True, exist_ok=True)
        empty = staged / "00000-0000.parquet"
        open_parquet_writer(empty).close()
        parts = [empty]
    total = len(parts)
    for index, part in enumerate(parts):
        os.replace(part, staged / f"train-{index:05d}-of-{total:05d}.parquet")


def _swap_into_place(staging: Path, output: Path, work: Path) -> None:
    """Replace OUT/data, OUT/rejects, OUT/removed with the staged ones (old manifest removed first).

    Re-entrant: each folder is marked once handled, so a finaliser killed half-way and run again
    moves only what it had not moved yet.
    """
    marker = work / SWAP_MARKER
    if not marker.exists():  # which folders were staged, recorded before anything moves
        names = [name for name in _FOLDERS if (staging / name).exists()]
        atomic_write_bytes(marker, orjson.dumps(names))
    # after the marker: a folder without a manifest is ours only while the marker says so
    (output / MANIFEST_NAME).unlink(missing_ok=True)
    staged_names = set(orjson.loads(marker.read_bytes()))
    trash = work / "trash"
    for name in _FOLDERS:
        current, staged, handled = output / name, staging / name, work / f"{SWAP_MARKER}-{name}"
        if handled.exists() or (name in staged_names and not staged.exists()):
            continue  # already in place
        if current.exists():
            trash.mkdir(parents=True, exist_ok=True)
            os.replace(current, trash / name)
        if staged.exists():
            os.replace(staged, current)
        handled.touch()


def check_max_rejects(limit: float | int | None, rejected: int, total: int) -> str | None:
    """A message when ``rejected`` exceeds the limit (a count, or a fraction of ``total``)."""
    if limit is None:
        return None
    allowed = limit if isinstance(limit, int) else limit * total
    if rejected > allowed:
        shown = f"{limit}" if isinstance(limit, int) else f"{limit:.2%} of {total}"
        return f"{rejected} rejected records exceed --max-rejects {shown}"
    return None


def _source_ledger(work: Path, spec: RunSpec) -> list[Source]:
    """One entry per input file, the parts of a file that was cut into parts added up."""
    from corpus_kit.stages.base import StageContext
    from corpus_kit.stages.registry import public_input_names

    ledger: dict[str, dict[str, Any]] = {}
    for path in sorted((work / "sources").glob("*.json")):
        for entry in orjson.loads(path.read_bytes()):
            is_part = entry.pop("part", False)
            whole = ledger.get(entry["uri"])
            if whole is not None and is_part:  # another part of the same file: add it up
                for key in ("bytes", "records", "rejected"):
                    whole[key] += entry[key]
                whole["sha256"] = whole["sha256"] or entry["sha256"]
            else:
                ledger[entry["uri"]] = entry
    entries = [ledger[unit.uri] for unit in spec.units if unit.uri in ledger]  # matched by the real names
    # file names leave the run as the records' source_file does: a pii step scrubs them (issue 22)
    context = StageContext(work_dir=str(work), removed_dir=None, base_dir=str(spec.base_dir))
    steps = [(step.name, step.params) for step in spec.steps]
    uris = public_input_names(steps, context, [entry["uri"] for entry in entries])
    return [Source(**{**entry, "uri": uri}) for entry, uri in zip(entries, uris, strict=True)]


def _restricted_folders(
    tally: Tally, reject_files: list[DataFile], removed_files: list[DataFile], ledger_files: list[DataFile]
) -> list[RestrictedFolder]:
    restricted = []
    if reject_files:
        restricted.append(
            RestrictedFolder(
                path="rejects/", records=tally.rejected, files=reject_files, reason=_RESTRICTED_REASON
            )
        )
    if removed_files:
        restricted.append(
            RestrictedFolder(
                path="removed/",
                records=sum(item.rows for item in removed_files),
                files=removed_files,
                reason=_RESTRICTED_REASON,
            )
        )
    if ledger_files:
        restricted.append(
            RestrictedFolder(
                path=f"{LEDGER_FOLDER}/",
                records=sum(item.rows for item in ledger_files),
                files=ledger_files,
                reason=_LEDGER_REASON,
            )
        )
    return restricted


def _step_params(spec: RunSpec, index: int) -> dict[str, Any]:
    config = spec.resolved_config()
    if index == 0:
        return {**config["read"], "inputs": len(spec.units)}
    if index <= len(spec.steps):
        return spec.steps[index - 1].params
    return config["write"]


def _pipeline_record(
    spec: RunSpec, tally: Tally, tasks: int, seconds: float, phase_seconds: dict[int, float]
) -> PipelineRecord:
    return PipelineRecord(
        name=spec.pipeline_name,
        steps=[
            StepRecord(
                name=step.name,
                params=_step_params(spec, index),
                input=step.input,
                output=step.output,
                dropped=step.dropped,
                seconds=round(step.seconds + phase_seconds.get(index, 0.0), 3),
            )
            for index, step in enumerate(tally.steps)
        ],
        config_sha256=config_sha256(spec.resolved_config()),
        versions=package_versions(),
        tasks=tasks,
        wall_seconds=round(seconds, 3),
    )


def stage_contributions(spec: RunSpec, pipeline: list[PipelineStep], merged: Any) -> list[StageContribution]:
    """Each stage's manifest section, from its step and its stats summed over tasks."""
    stages = pipeline[1:-1]  # between the reader and the writer, one per spec step
    stats = merged.stats[1:-1]
    return collect_contributions(
        [
            (step.name, get_stage(step.name), built, step_stats)
            for step, built, step_stats in zip(spec.steps, stages, stats, strict=True)
        ]
    )


def finalize(
    spec: RunSpec,
    work: Path,
    tasks: int,
    step_names: list[str],
    seconds: float,
    pipeline: list[PipelineStep],
    phase_seconds: dict[int, float] | None = None,
) -> RunResult:
    """Turn a finished run's staging folder into the dataset and write its manifest and report."""
    output = spec.output.resolve()
    staging = work / "staging"
    merged = load_merged_stats(work / "logs", tasks)
    tally = tally_from_stats(merged, step_names)
    if not tally.invariant_holds():
        raise CorpusKitError(
            f"accounting does not balance (input {tally.input} != output {tally.output} + dropped "
            f"{sum(tally.dropped.values())} + rejected {tally.rejected}); this is a bug, please report it "
            f"with the logs in {work}"
        )

    # a finaliser killed after it began moving folders into place: each folder is where it got to
    marker = work / SWAP_MARKER
    moved = set(orjson.loads(marker.read_bytes())) if marker.exists() else set()

    def place(name: str) -> Path:
        """Folder holding ``name`` now (a missing folder describes as no files)."""
        return output if name in moved and not (staging / name).exists() else staging

    if place("data") == staging:
        _name_data_files(staging / "data")
    # described before anything moves (paths are the same relative to OUT)
    files = _describe_files(place("data") / "data", place("data"), "*.parquet", with_rows=True)
    rows = sum(item.rows for item in files)
    if rows != tally.output:
        raise CorpusKitError(f"data files hold {rows} rows but {tally.output} were written; this is a bug")
    reject_files = _describe_files(place("rejects") / "rejects", place("rejects"), "*.jsonl", with_rows=False)
    removed_files = _describe_files(
        place("removed") / "removed", place("removed"), "*.parquet", with_rows=True
    )
    ledger_place = place(LEDGER_FOLDER)
    ledger_files = _describe_files(ledger_place / LEDGER_FOLDER, ledger_place, "*.parquet", with_rows=True)
    ledger = LedgerSummary(**stated_counts([ledger_place / item.path for item in ledger_files]))
    sources = _source_ledger(work, spec)
    # before anything moves: a stage that cannot describe its run leaves the previous dataset as it was
    contributions = stage_contributions(spec, pipeline, merged)
    # again now: a file a user put in data/ while the run went is theirs, and the swap would bin it
    check_replaceable(output, work)
    _swap_into_place(staging, output, work)

    manifest = assemble_manifest(
        dataset=DatasetInfo(
            name=spec.dataset_name or output.name,
            version=spec.dataset_version,
            description=spec.dataset_description,
            created_at=utc_now(),
        ),
        supply=spec.supply,
        tally=tally,
        sources=sources,
        files=files,
        restricted=_restricted_folders(tally, reject_files, removed_files, ledger_files),
        pipeline=_pipeline_record(spec, tally, tasks, seconds, phase_seconds or {}),
        contributions=contributions,
    )
    manifest.ledger = ledger
    # a signature of the dataset this run replaces signs another manifest: it goes with it (sign again)
    (output / SIGNATURE_NAME).unlink(missing_ok=True)
    manifest.write(output)
    from corpus_kit.catalog.report import write_report

    write_report(output, manifest)  # the stages' sections as the manifest holds them, one per section
    retire_work_folder(work)
    return RunResult(
        manifest=manifest,
        output=output,
        tally=tally,
        seconds=seconds,
        input_bytes=sum(unit.size for unit in spec.units),
        max_rejects_exceeded=check_max_rejects(spec.max_rejects, tally.rejected, tally.input),
    )
