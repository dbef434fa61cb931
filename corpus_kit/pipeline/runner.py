"""Run a pipeline end to end: read -> stages -> Parquet, then finalise the dataset and its manifest.

Output layout (DESIGN.md §3)::

    OUT/data/train-00000-of-0000N.parquet   the dataset
    OUT/rejects/rejects-<rank>.jsonl         malformed input (restricted)
    OUT/removed/<stage>/...                  dropped records with --keep-removed (restricted)
    OUT/manifest.json                        written last, atomically
    OUT/.corpus-kit/                         work folder (logs, staging); removed after success

Nothing under ``OUT/data`` ever looks complete before it is: tasks write ``*.parquet.tmp`` files
in the staging folder, the finaliser names them ``train-…-of-…`` there and moves the whole folder
into place with one rename, then writes the manifest.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.stats import PipelineStats

import corpus_kit
from corpus_kit.errors import CorpusKitError, UsageError
from corpus_kit.governance.accounting import Tally, load_merged_stats, tally_from_stats
from corpus_kit.governance.manifest import (
    MANIFEST_NAME,
    DataFile,
    DatasetInfo,
    Manifest,
    PipelineRecord,
    RestrictedFolder,
    Source,
    StepRecord,
    Supply,
    utc_now,
)
from corpus_kit.io.inputs import MIN_PART_BYTES, InputUnit, split_into_parts
from corpus_kit.io.parquet_writer import ParquetShardWriter, open_parquet_writer
from corpus_kit.io.readers import MixedReader, ReadOptions, TaskFolders
from corpus_kit.pipeline.executor import CorpusLocalExecutor, restore_console_logs, silence_console_logs
from corpus_kit.pipeline.tuning import keep_freed_memory, shared_with_workers
from corpus_kit.stages import StageContext, stage_builder
from corpus_kit.utils import atomic_write_bytes, sha256_file

WORK_DIR_NAME = ".corpus-kit"
_OWNED_NAMES = {
    "data",
    "rejects",
    "removed",
    MANIFEST_NAME,
    WORK_DIR_NAME,
    "README.md",
    "croissant.json",
    "report.html",
}
_VERSIONED_PACKAGES = ("datatrove", "pyarrow", "datasets", "pydantic", "orjson", "zstandard", "typer")
_RESTRICTED_REASON = "may hold raw input, including personal data; never publish"


@dataclass
class StepSpec:
    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunSpec:
    """Everything a run needs, resolved (paths absolute, sizes in bytes)."""

    pipeline_name: str
    units: list[InputUnit]
    output: Path
    read: ReadOptions = field(default_factory=ReadOptions)
    steps: list[StepSpec] = field(default_factory=list)
    shard_bytes: int = 512 * 1024 * 1024
    row_group_bytes: int = 128 * 1024 * 1024
    keep_removed: bool = False
    dataset_name: str | None = None
    dataset_version: str = "0.1.0"
    dataset_description: str = ""
    supply: Supply | None = None
    max_rejects: float | int | None = None
    base_dir: Path = field(default_factory=Path.cwd)  # for relative paths in step parameters
    workers: int | None = None
    tasks: int | None = None
    overwrite: bool = False
    verbose: bool = False
    executor: str = "local"  # local | ray | slurm
    ray_address: str | None = None
    slurm: dict[str, Any] = field(default_factory=dict)  # partition, time, dry_run, sbatch_args, venv
    command: list[str] = field(default_factory=list)  # the CLI invocation, for Slurm's finalising job
    min_part_bytes: int = MIN_PART_BYTES  # smallest part a large JSONL file is cut into
    _parts: list[InputUnit] | None = field(default=None, init=False, repr=False, compare=False)

    def resolved_config(self) -> dict[str, Any]:
        """What determines the output (not workers, paths of the output, or verbosity)."""
        return {
            "pipeline": self.pipeline_name,
            "inputs": [{"uri": unit.uri, "format": unit.format} for unit in self.units],
            "read": {
                "text_field": self.read.text_field,
                "id_field": self.read.id_field,
                "max_record_bytes": self.read.max_record_bytes,
            },
            "steps": [{"name": step.name, "params": step.params} for step in self.steps],
            "write": {
                "shard_bytes": self.shard_bytes,
                "row_group_bytes": self.row_group_bytes,
                "keep_removed": self.keep_removed,
            },
            "tasks": self.task_count(),
        }

    @property
    def parts(self) -> list[InputUnit]:
        """What the tasks read: the units, with large JSONL files cut into parts (computed once)."""
        if self._parts is None:
            self._parts = split_into_parts(self.units, min_part_bytes=self.min_part_bytes)
        return self._parts

    def task_count(self) -> int:
        # depends on the input only, so output files are the same for any number of workers
        return self.tasks or max(1, min(len(self.parts), 64))


@dataclass
class RunResult:
    manifest: Manifest
    output: Path
    tally: Tally
    seconds: float
    input_bytes: int
    max_rejects_exceeded: str | None = None


ProgressCallback = Callable[[int, int], None]  # (records, bytes) so far


def package_versions() -> dict[str, str]:
    versions = {"corpus-kit": corpus_kit.__version__, "python": platform.python_version()}
    for name in _VERSIONED_PACKAGES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions


def config_sha256(config: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(config, option=orjson.OPT_SORT_KEYS)).hexdigest()


def prepare_output(output: Path, overwrite: bool) -> None:
    """Refuse to clobber anything that is not a corpus-kit dataset; refuse a dataset without --overwrite."""
    if output.exists() and not output.is_dir():
        raise UsageError(f"{output}: exists and is not a folder; choose another -o")
    if not output.exists():
        output.mkdir(parents=True)
        return
    entries = {entry.name for entry in output.iterdir()}
    foreign = sorted(entries - _OWNED_NAMES)
    if foreign:
        raise UsageError(
            f"{output}: folder is not empty and not a corpus-kit dataset (found {foreign[0]!r}); "
            "choose an empty or new -o"
        )
    if entries & {"data", MANIFEST_NAME, "rejects", "removed"} and not overwrite:
        raise UsageError(
            f"{output}: already holds a dataset; pass --overwrite to replace it or choose another -o"
        )


def _stage_steps(
    spec: RunSpec, work: Path, staging: Path, keep_removed: bool, count: int | None = None
) -> list[PipelineStep]:
    """The pipeline's stages, built; ``count``: only the first ``count`` of them."""
    steps = []
    seen: set[str] = set()
    for index, step in enumerate(spec.steps[:count]):
        if step.name == "dedup" and step.name in seen:
            # its phases and state live in fixed places under the work folder (WORK/dedup)
            error = UsageError("a pipeline can have one dedup step; give it mode: both for exact and near")
            error.step_index = index  # type: ignore[attr-defined]
            raise error
        seen.add(step.name)
        removed = str(staging / "removed" / step.name) if keep_removed else None
        context = StageContext(work_dir=str(work), removed_dir=removed, base_dir=str(spec.base_dir))
        try:
            steps.append(stage_builder(step.name)(step.params, context))
        except UsageError as error:
            error.step_index = index  # type: ignore[attr-defined]  # lets `run` name the YAML line
            raise
    return steps


def build_pipeline(spec: RunSpec, work: Path) -> list[PipelineStep]:
    staging = work / "staging"
    folders = TaskFolders(
        rejects=str(staging / "rejects"),
        sources=str(work / "sources"),
        progress=str(work / "progress" / "main"),
    )
    steps: list[PipelineStep] = [MixedReader(spec.parts, spec.read, folders)]
    steps.extend(_stage_steps(spec, work, staging, spec.keep_removed))
    steps.append(ParquetShardWriter(str(staging / "data"), spec.shard_bytes, spec.row_group_bytes))
    return steps


@dataclass
class Phase:
    """One datatrove pipeline of a run; phases run in order, each after the previous one finished."""

    name: str
    pipeline: list[PipelineStep]
    tasks: int
    step_index: int | None = None  # the main pipeline step this phase prepares (its time is added there)


def build_phases(spec: RunSpec, work: Path, pipeline: list[PipelineStep]) -> list[Phase]:
    """Preparation phases of multi-phase stages (dedup), then the main pipeline.

    A stage with ``preparation()`` (see :class:`corpus_kit.stages.dedup.Preparation`) gets its phases
    run first; one marked ``after_input`` re-reads the input through the stages before it, so that it
    sees exactly the records the stage will see in the main pipeline.
    """
    tasks = spec.task_count()
    phases: list[Phase] = []
    for index, step in enumerate(pipeline[1:-1], start=1):
        prepare = getattr(step, "preparation", None)
        if prepare is None:
            continue
        for preparation in prepare():
            if preparation.after_input:
                scratch = work / "phases" / preparation.name
                folders = TaskFolders(
                    rejects=str(scratch / "rejects"),
                    sources=str(scratch / "sources"),
                    progress=str(work / "progress" / preparation.name),
                    hash_sources=False,  # the main phase hashes the inputs for the manifest
                )
                earlier = _stage_steps(spec, work, scratch, keep_removed=False, count=index - 1)
                steps = [MixedReader(spec.parts, spec.read, folders), *earlier, *preparation.steps]
                phases.append(Phase(preparation.name, steps, tasks, index))
            else:
                phases.append(Phase(preparation.name, preparation.steps, preparation.tasks or 1, index))
    phases.append(Phase("main", pipeline, tasks))
    return phases


def _poll_progress(current: Callable[[], Path], callback: ProgressCallback, done: threading.Event) -> None:
    """Sum the current phase's progress files; report only once a task has written one."""
    while not done.wait(0.25):
        reports = list(current().glob("*.json"))
        if not reports:
            continue
        records = size = 0
        for path in reports:
            try:
                payload = orjson.loads(path.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                continue
            records += payload.get("records", 0)
            size += payload.get("bytes", 0)
        callback(records, size)


def default_start_method() -> str:
    """``fork`` on Linux (workers inherit imports: ~0.8 s less per run than forkserver), else ``spawn``.

    Fork is safe here because the parent runs no thread that holds locks the children use (see
    ``progress_display``); ``CORPUS_KIT_START_METHOD`` overrides the choice.
    """
    chosen = os.environ.get("CORPUS_KIT_START_METHOD")
    if chosen:
        return chosen
    return "fork" if sys.platform == "linux" else "spawn"


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


_SWAP_MARKER = "swap-started"


def _swap_into_place(staging: Path, output: Path, work: Path) -> None:
    """Replace OUT/data, OUT/rejects, OUT/removed with the staged ones (old manifest removed first).

    Re-entrant: each folder is marked once handled, so a finaliser killed half-way and run again
    moves only what it had not moved yet.
    """
    (output / MANIFEST_NAME).unlink(missing_ok=True)
    marker = work / _SWAP_MARKER
    if not marker.exists():  # which folders were staged, recorded before anything moves
        names = [name for name in ("data", "rejects", "removed") if (staging / name).exists()]
        atomic_write_bytes(marker, orjson.dumps(names))
    staged_names = set(orjson.loads(marker.read_bytes()))
    trash = work / "trash"
    for name in ("data", "rejects", "removed"):
        current, staged, handled = output / name, staging / name, work / f"{_SWAP_MARKER}-{name}"
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


def run_pipeline(spec: RunSpec, progress: ProgressCallback | None = None) -> RunResult:
    """Run ``spec`` and write the dataset; raises ``CorpusKitError`` subclasses on failure."""
    if not spec.units:
        raise UsageError("no input to read")
    output = spec.output.resolve()
    work = output / WORK_DIR_NAME
    keep_freed_memory()  # before the stages' tables are built and workers are forked
    pipeline = build_pipeline(spec, work)  # checks step parameters before anything is written
    resuming = _resumable(work, spec)
    prepare_output(output, spec.overwrite or resuming)
    if work.exists() and not resuming:
        shutil.rmtree(work)  # another configuration's leftovers: start afresh
    (work / "progress").mkdir(parents=True, exist_ok=True)
    _write_run_state(work, spec)

    tasks = spec.task_count()
    phases = build_phases(spec, work, pipeline)
    step_names = ["read", *[step.name for step in spec.steps], "write"]
    current = {"progress": work / "progress" / phases[0].name}

    started = time.monotonic()
    done = threading.Event()
    poller = None
    if progress is not None:
        poller = threading.Thread(
            target=_poll_progress, args=(lambda: current["progress"], progress, done), daemon=True
        )
        poller.start()
    if not spec.verbose:
        silence_console_logs()
    phase_seconds: dict[int, float] = {}
    try:
        if spec.executor == "slurm":
            from corpus_kit.pipeline.executors import launch_slurm

            launch_slurm(spec, work, phases)
            raise SlurmLaunched(work / "slurm", len(phases))
        if spec.executor == "ray":
            from corpus_kit.pipeline.executors import connect_ray

            connect_ray(spec.ray_address, spec.workers)
        # the main pipeline's heavy state (presidio, models, tables) is loaded here, in the parent,
        # while the first preparation phase runs in a child: the main phase's workers inherit it
        warm_up: Callable[[], None] | None = None
        if spec.executor == "local":
            warm_up = partial(warm_up_steps, pipeline)
        for phase in phases:
            current["progress"] = work / "progress" / phase.name
            phase_started = time.monotonic()
            if phase.name == "main" and warm_up is not None:
                warm_up()  # no preparation phase to overlap with
            finished = _run_phase(spec, work, phase, meanwhile=warm_up)
            warm_up = None
            if phase.step_index is not None:
                elapsed = finished - phase_started
                phase_seconds[phase.step_index] = phase_seconds.get(phase.step_index, 0.0) + elapsed
    finally:
        done.set()
        if poller is not None:
            poller.join()
        if not spec.verbose:
            restore_console_logs()
    seconds = time.monotonic() - started
    return finalize(spec, work, tasks, step_names, seconds, pipeline, phase_seconds)


class SlurmLaunched(Exception):
    """Jobs were submitted (or, with --dry-run, written); the dataset is finalised by the last job."""

    def __init__(self, folder: Path, phases: int):
        super().__init__(str(folder))
        self.folder = folder
        self.phases = phases


RUN_STATE = "run.json"


def _run_fingerprint(spec: RunSpec) -> dict[str, Any]:
    # sizes and modification times too: tasks completed before an input changed must not be kept
    inputs = [[unit.uri, unit.size, os.stat(unit.path).st_mtime_ns] for unit in spec.units]
    return {
        "config_sha256": config_sha256(spec.resolved_config()),
        "corpus-kit": corpus_kit.__version__,
        "inputs": inputs,
    }


def _resumable(work: Path, spec: RunSpec) -> bool:
    """An unfinished run of the same configuration (and corpus-kit version) left its work folder here."""
    try:
        previous = orjson.loads((work / RUN_STATE).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return False
    return previous == _run_fingerprint(spec)


def _write_run_state(work: Path, spec: RunSpec) -> None:
    atomic_write_bytes(work / RUN_STATE, orjson.dumps(_run_fingerprint(spec)))


def phase_logs(work: Path, phase: Phase) -> Path:
    return work / "logs" if phase.name == "main" else work / "phases" / phase.name / "logs"


def _clean_incomplete(work: Path, phase: Phase) -> None:
    """Remove what tasks that did not complete may have left (a killed run): they run again from scratch."""
    completions = phase_logs(work, phase) / "completions"
    done = {path.name for path in completions.glob("*")} if completions.is_dir() else set()
    pending = [rank for rank in range(phase.tasks) if f"{rank:05d}" not in done]
    if not pending or phase.name != "main":
        return  # preparation phases write each file atomically and whole; a rerun replaces them
    staging = work / "staging"
    if not staging.is_dir():
        return
    prefixes = tuple(f"{rank:05d}-" for rank in pending)
    rejects = {f"rejects-{rank:05d}.jsonl" for rank in pending}
    for path in staging.rglob("*"):
        name = path.name.removesuffix(".tmp")
        if path.is_file() and (name.startswith(prefixes) or name in rejects):
            path.unlink()


def warm_up_steps(pipeline: list[PipelineStep]) -> None:
    """Load what the steps load on first use (``warm_up()``), in this process."""
    for step in pipeline:
        warm_up = getattr(step, "warm_up", None)
        if warm_up is not None:
            warm_up()


def _run_and_note_the_end(executor: CorpusLocalExecutor, finished: Any) -> None:
    executor.run()
    finished.value = time.monotonic()  # one clock for all processes of the machine


def _run_in_child(executor: CorpusLocalExecutor, meanwhile: Callable[[], None] | None = None) -> float:
    """Run a phase in a child process (the memory it needed goes with it); ``meanwhile`` runs here.

    Returns when the phase finished (``time.monotonic()``), not when ``meanwhile`` did."""
    import multiprocessing

    context = multiprocessing.get_context(default_start_method())
    finished = context.Value("d", 0.0)
    child = context.Process(target=_run_and_note_the_end, args=(executor, finished))
    child.start()
    try:
        if meanwhile is not None:
            meanwhile()
    except BaseException:
        child.terminate()
        child.join()
        raise
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"the phase's process exited with status {child.exitcode}")
    return finished.value


def _run_phase(spec: RunSpec, work: Path, phase: Phase, meanwhile: Callable[[], None] | None = None) -> float:
    """Run one phase; ``meanwhile`` (local executor, preparation phases) runs in this process alongside.

    Returns when the phase finished (``time.monotonic()``)."""
    logs = phase_logs(work, phase)
    _clean_incomplete(work, phase)
    workers = max(1, min(spec.workers or os.cpu_count() or 1, phase.tasks))
    if spec.executor == "ray":
        from corpus_kit.pipeline.executors import ray_executor

        executor = ray_executor(phase.pipeline, phase.tasks, workers, str(logs))
    else:
        executor = CorpusLocalExecutor(
            phase.pipeline,
            tasks=phase.tasks,
            workers=workers,
            logging_dir=str(logs),
            skip_completed=True,  # resume: tasks a killed run completed are not run again
            start_method=default_start_method(),
            verbose=spec.verbose,
        )
    try:
        with shared_with_workers():  # workers share the parent's pages instead of copying them
            if phase.name != "main" and spec.executor == "local" and (workers == 1 or meanwhile is not None):
                # one worker: datatrove would run it in this process, which would keep its peak memory
                finished = _run_in_child(executor, meanwhile)
            else:
                executor.run()
                finished = time.monotonic()
    except CorpusKitError:
        raise
    except Exception as error:
        raise CorpusKitError(
            f"{type(error).__name__} in a pipeline task ({phase.name}); details in {logs / 'logs'}/, "
            "fix the cause and run the command again (completed tasks are not run again)"
        ) from error
    missing = [rank for rank in range(phase.tasks) if not (logs / "completions" / f"{rank:05d}").exists()]
    if missing:
        raise CorpusKitError(
            f"{len(missing)} task(s) of {phase.name} did not complete (first: {missing[0]}); details in "
            f"{logs / 'logs'}/; run the command again to resume"
        )
    return finished


def _contributions(pipeline: list[PipelineStep], merged: PipelineStats) -> dict[str, Any]:
    """What the steps add to the manifest (``manifest_contribution``), merged; lists are joined."""
    merged_sections: dict[str, Any] = {}
    for step, stats in zip(pipeline, merged.stats, strict=True):
        contribute = getattr(step, "manifest_contribution", None)
        if contribute is None:
            continue
        for key, value in contribute(stats).items():
            if isinstance(value, list):
                merged_sections.setdefault(key, []).extend(value)
            else:
                merged_sections[key] = value
    return merged_sections


def finalize(
    spec: RunSpec,
    work: Path,
    tasks: int,
    step_names: list[str],
    seconds: float,
    pipeline: list[PipelineStep],
    phase_seconds: dict[int, float] | None = None,
) -> RunResult:
    """Turn a finished run's staging folder into the dataset and write its manifest."""
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
    marker = work / _SWAP_MARKER
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
    sources = [Source(**ledger[unit.uri]) for unit in spec.units if unit.uri in ledger]

    _swap_into_place(staging, output, work)
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

    sections = _contributions(pipeline, merged)
    extras = sections.pop("extra_licences", [])
    from corpus_kit.governance.licences import registry_for, resolve_dataset

    registry = registry_for(extras)
    dataset_licence = resolve_dataset(tally.licenses, registry)
    config = spec.resolved_config()
    manifest = Manifest(
        dataset=DatasetInfo(
            name=spec.dataset_name or output.name,
            version=spec.dataset_version,
            description=spec.dataset_description,
            created_at=utc_now(),
        ),
        supply=spec.supply,
        counts={
            "input": tally.input,
            "output": tally.output,
            "rejected": tally.rejected,
            "dropped": tally.dropped,
        },
        languages=tally.languages,
        licenses=tally.licenses,
        license=dataset_licence,
        pii=sections.get("pii"),
        quality=sections.get("quality"),
        dedup=sections.get("dedup"),
        sources=sources,
        provenance=sections.get("provenance", []),
        files=files,
        restricted=restricted,
        pipeline=PipelineRecord(
            name=spec.pipeline_name,
            steps=[
                StepRecord(
                    name=step.name,
                    params=_step_params(spec, index),
                    input=step.input,
                    output=step.output,
                    dropped=step.dropped,
                    seconds=round(step.seconds + (phase_seconds or {}).get(index, 0.0), 3),
                )
                for index, step in enumerate(tally.steps)
            ],
            config_sha256=config_sha256(config),
            versions=package_versions(),
            tasks=tasks,
            wall_seconds=round(seconds, 3),
        ),
    )
    manifest.write(output)
    from corpus_kit.pipeline.report import write_report

    write_report(output, manifest)
    (work / RUN_STATE).unlink(missing_ok=True)  # first: a removal cut short must not look resumable
    shutil.rmtree(work, ignore_errors=True)
    return RunResult(
        manifest=manifest,
        output=output,
        tally=tally,
        seconds=seconds,
        input_bytes=sum(unit.size for unit in spec.units),
        max_rejects_exceeded=check_max_rejects(spec.max_rejects, tally.rejected, tally.input),
    )


def _step_params(spec: RunSpec, index: int) -> dict[str, Any]:
    config = spec.resolved_config()
    if index == 0:
        return {**config["read"], "inputs": len(spec.units)}
    if index <= len(spec.steps):
        return spec.steps[index - 1].params
    return config["write"]
