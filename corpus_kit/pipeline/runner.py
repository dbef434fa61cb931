"""Run a pipeline end to end: read -> stages -> Parquet, in phases on a datatrove executor.

Output layout (docs/architecture.md §3)::

    OUT/data/train-00000-of-0000N.parquet   the dataset
    OUT/rejects/rejects-<rank>.jsonl         malformed input (restricted)
    OUT/removed/<stage>/...                  dropped records with --keep-removed (restricted)
    OUT/manifest.json                        written last, atomically (see finalize.py)
    OUT/.corpus-kit/                         work folder (logs, staging); removed after success

The runner changes nothing in its host process beyond a phase (see ``tuning.shared_with_workers``);
the CLI applies the process-wide settings (malloc) before it calls :func:`run_pipeline`.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from datatrove.pipeline.base import PipelineStep
from pydantic import ValidationError

import corpus_kit
from corpus_kit.errors import CorpusKitError, UsageError
from corpus_kit.governance.accounting import StepTally, Tally
from corpus_kit.governance.manifest import MANIFEST_NAME, Manifest, seal_problem
from corpus_kit.io.folder_lock import folder_lock
from corpus_kit.io.ledger import LEDGER_FOLDER, LedgerExclusion, LedgerSpec
from corpus_kit.io.parquet_writer import ParquetShardWriter
from corpus_kit.io.readers import MixedReader, TaskFolders
from corpus_kit.paths import WORK_DIR_NAME, name_problem
from corpus_kit.pipeline.finalize import check_max_rejects, finalize
from corpus_kit.pipeline.local_executor import CorpusLocalExecutor, restore_console_logs, silence_console_logs
from corpus_kit.pipeline.ownership import (
    FINISHED_WORK_DIR,
    RUN_STATE,
    SLURM_MARKER,
    prepare_output,
    refuse_foreign_entries,
    refuse_while_slurm_jobs_run,
)
from corpus_kit.pipeline.spec import (
    Phase,
    ProgressCallback,
    RunResult,
    RunSpec,
    StepSpec,
    config_sha256,
    phase_logs,
)
from corpus_kit.pipeline.tuning import shared_with_workers
from corpus_kit.records import held_size
from corpus_kit.stages.base import StageContext
from corpus_kit.stages.registry import check_extra, get_stage
from corpus_kit.utils import atomic_write_bytes, first_validation_error

__all__ = ["Phase", "ProgressCallback", "RunResult", "RunSpec", "StepSpec", "run_pipeline"]


def _step_error(error: CorpusKitError, index: int) -> CorpusKitError:
    error.step_index = index  # type: ignore[attr-defined]  # lets `run` name the YAML line
    return error


def _stage_steps(
    spec: RunSpec,
    work: Path,
    staging: Path,
    keep_removed: bool,
    count: int | None = None,
    ledger: str | None = None,
) -> list[PipelineStep]:
    """The pipeline's stages, built; ``count``: only the first ``count`` of them; ``ledger``: the
    record ledger's folder (the main pipeline's stages note every record they drop)."""
    steps = []
    seen: set[str] = set()
    for index, step in enumerate(spec.steps[:count]):
        try:
            stage = get_stage(step.name)
        except UsageError as error:
            raise _step_error(error, index) from None
        if stage.one_per_pipeline and stage.name in seen:
            message = (
                f"a pipeline can have one {stage.name} step (its state lives in one place under the run)"
            )
            raise _step_error(UsageError(message), index)
        if stage.last_in_pipeline and index != len(spec.steps) - 1:
            message = (
                f"the {stage.name} step must be the pipeline's last step (it describes the rows as "
                "written; a later step could drop rows or change their text)"
            )
            raise _step_error(UsageError(message), index)
        seen.add(stage.name)
        removed = str(staging / "removed" / step.name) if keep_removed else None
        context = StageContext(
            work_dir=str(work),
            removed_dir=removed,
            base_dir=str(spec.base_dir),
            ledger_dir=ledger,
            step=step.name,
        )
        try:
            params = stage.parse_params(step.params)
        except ValidationError as invalid:
            _, where, message = first_validation_error(invalid)
            raise _step_error(
                UsageError(f"{step.name} step: {where or '(parameters)'}: {message}"), index
            ) from None
        try:
            check_extra(stage)
            steps.append(stage.build(params, context))
        except UsageError as error:
            raise _step_error(error, index) from None
        except ModuleNotFoundError as error:
            from corpus_kit.stages.registry import missing_extra_error

            raise _step_error(missing_extra_error(error, f"the {step.name} step"), index) from None
    return steps


#: Documents a stage's input is pulled in at a time (at most about ``RUN_CHARACTERS`` characters of text
#: and bytes of media, or one document larger than that).
RUN_DOCUMENTS = 256
RUN_CHARACTERS = 1 << 20


def _runs_of(data: Iterable[Any]) -> Iterator[Any]:
    """``data`` unchanged, pulled ahead in runs: the step before works on a run of documents in one go."""
    iterator = iter(data)
    while True:
        run: list[Any] = []
        held = 0
        for document in iterator:
            run.append(document)
            held += held_size(document)  # media bytes count: 256 pictures can be large
            if len(run) >= RUN_DOCUMENTS or held >= RUN_CHARACTERS:
                break
        if not run:
            return
        yield from run


def _take_input_in_runs(step: PipelineStep) -> None:
    """Make ``step`` pull its input in runs of documents (see ``_runs_of``).

    A document goes through every stage before the next one is read; the stages' tables (tokenizer
    vocabularies, lexicon automata, PII patterns, n-gram hashes) then evict each other from the CPU
    caches at every document. Pulled in runs, each stage works on many documents in a row."""
    step.run = _InRuns(step.run)


class _InRuns:
    """A step's ``run`` fed through ``_runs_of`` (a class, not a closure: Ray and Slurm pickle steps)."""

    def __init__(self, run: Callable[..., Any]):
        self.run = run

    def __call__(self, data: Any, rank: int = 0, world_size: int = 1) -> Any:
        return self.run(_runs_of(data), rank, world_size)


def build_pipeline(spec: RunSpec, work: Path) -> list[PipelineStep]:
    staging = work / "staging"
    ledger = str(staging / LEDGER_FOLDER)
    stages = _stage_steps(spec, work, staging, spec.keep_removed, ledger=ledger)
    folders = TaskFolders(
        rejects=str(staging / "rejects"),
        sources=str(work / "sources"),
        progress=str(work / "progress" / "main"),
        record_ledger=LedgerSpec(ledger, _unreported_drops(spec, stages)),
    )
    steps: list[PipelineStep] = [MixedReader(spec.parts, spec.read, folders)]
    for stage_step in stages:
        _take_input_in_runs(stage_step)
    steps.extend(stages)
    steps.append(
        ParquetShardWriter(str(staging / "data"), spec.shard_bytes, spec.row_group_bytes, ledger=ledger)
    )
    return steps


def _unreported_drops(spec: RunSpec, stages: list[PipelineStep]) -> tuple[str, str | None] | None:
    """The step the ledger charges with records that vanish without an exclusion writer's note: the
    one step that can drop and has no exclusion writer (``sample``), with its reason when it has one."""
    silent = []
    for step, built in zip(spec.steps, stages, strict=True):
        stage = get_stage(step.name)
        reports = isinstance(getattr(built, "exclusion_writer", None), LedgerExclusion)
        if stage.drops_records() and not reports:
            reasons = [reason for reason in stage.reasons if not reason.endswith("*")]
            silent.append((step.name, reasons[0] if len(stage.reasons) == 1 and reasons else None))
    return silent[0] if len(silent) == 1 else None


def build_phases(spec: RunSpec, work: Path, pipeline: list[PipelineStep]) -> list[Phase]:
    """Preparation phases of multi-phase stages (dedup), then the main pipeline.

    A stage with ``preparation()`` (see :class:`corpus_kit.stages.base.Preparation`) gets its phases
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
                phases.append(Phase(preparation.name, steps, tasks, index, own_steps=preparation.steps))
            else:
                phases.append(
                    Phase(
                        preparation.name,
                        preparation.steps,
                        preparation.tasks or 1,
                        index,
                        own_steps=preparation.steps,
                    )
                )
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


def run_pipeline(spec: RunSpec, progress: ProgressCallback | None = None) -> RunResult:
    """Run ``spec`` and write the dataset; raises ``CorpusKitError`` subclasses on failure."""
    if not spec.units:
        raise UsageError("no input to read")
    output = spec.output.resolve()
    name = spec.dataset_name or output.name
    problem = name_problem(name)
    if problem:  # it names the dataset's folder in a catalog
        where = "--name (or the pipeline's dataset.name)" if spec.dataset_name else f"-o {output}"
        raise UsageError(f"the dataset name {name!r} {problem}; give a plain name with {where}")
    work = output / WORK_DIR_NAME
    pipeline = build_pipeline(spec, work)  # checks step parameters before anything is written
    with folder_lock(output):
        return _run_locked(spec, output, work, pipeline, progress)


def _run_locked(
    spec: RunSpec, output: Path, work: Path, pipeline: list[PipelineStep], progress: ProgressCallback | None
) -> RunResult:
    refuse_foreign_entries(output)  # before anything in it is touched, our leftovers included
    fingerprint = _run_fingerprint(spec)
    already_done = _finish_clean_up(spec, output, fingerprint)
    if already_done is not None:
        return already_done
    # --overwrite always starts clean: it is how a user gets out of any state a folder is in
    same_run = _resumable(work, fingerprint)
    if not spec.overwrite:  # --overwrite is how a user whose jobs are cancelled starts again
        refuse_while_slurm_jobs_run(work, resubmitting=same_run and spec.executor == "slurm")
    resuming = not spec.overwrite and same_run
    prepare_output(output, spec.overwrite or resuming)
    if work.exists() and not resuming:
        shutil.rmtree(work)  # another configuration's or input's leftovers: start afresh
    (work / "progress").mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(work / RUN_STATE, orjson.dumps(fingerprint))

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
            from corpus_kit.pipeline.distributed import launch_slurm

            launch_slurm(spec, work, phases)
            if not spec.slurm.get("dry_run"):
                # the jobs own the work folder now: only their finalising job may use -o (scripts
                # written with --dry-run and submitted by hand are the user's to keep apart)
                atomic_write_bytes(work / SLURM_MARKER, orjson.dumps({"submitted": time.time()}))
            raise SlurmLaunched(work / "slurm", len(phases))
        if spec.executor == "ray":
            from corpus_kit.pipeline.distributed import connect_ray

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
            elif spec.executor == "local":
                warm_up_steps(phase.own_steps)  # what the phase's workers need, loaded once for all
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


def _run_fingerprint(spec: RunSpec) -> dict[str, Any]:
    """What a resume depends on: the configuration, corpus-kit's version and the inputs' content.

    The content, not sizes and times: an input rewritten between a kill and the resume keeps both
    (a copy with ``cp -p``, a tool that restores times), and tasks completed on the old bytes would
    be mixed with tasks run on the new ones. xxh3 reads at memory speed (~0.06 s per 100 MB here);
    it detects changes, it is not a security boundary.
    """
    hashes: dict[str, str] = {}
    for unit in spec.units:
        if unit.path not in hashes:
            hashes[unit.path] = content_fingerprint(Path(unit.path))
    return {
        "config_sha256": config_sha256(spec.resolved_config()),
        "corpus-kit": corpus_kit.__version__,
        # names hashed: the work folder outlives a failed run, and a file name can hold personal data
        "inputs": [[_name_digest(unit.uri), unit.start, unit.size, hashes[unit.path]] for unit in spec.units],
    }


def _name_digest(name: str) -> str:
    import hashlib

    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()


def content_fingerprint(path: Path) -> str:
    """xxh3-128 of a file's bytes, or of a folder's sorted file names and their fingerprints."""
    import xxhash

    if path.is_dir():
        digest = xxhash.xxh3_128()
        for member in sorted(item for item in path.rglob("*") if item.is_file()):
            digest.update(f"{member.relative_to(path).as_posix()}\0{content_fingerprint(member)}\n".encode())
        return digest.hexdigest()
    digest = xxhash.xxh3_128()
    with open(path, "rb") as handle:
        while chunk := handle.read(4 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _finish_clean_up(spec: RunSpec, output: Path, fingerprint: dict[str, Any]) -> RunResult | None:
    """Finish removing a finished run's work folder; the same command again then has nothing to do.

    A run killed while it removed its work folder (after the manifest was written) left
    ``FINISHED_WORK_DIR`` behind: the rerun removes it and, when it is the same run (fingerprint)
    and the dataset is whole (the manifest's seal holds), reports that dataset instead of refusing
    it as one that already exists.
    """
    leftover = output / FINISHED_WORK_DIR
    if not leftover.exists():
        return None
    if leftover.is_symlink() or not leftover.is_dir():
        raise UsageError(f"{leftover}: not a folder corpus-kit left; move it away or choose another -o")
    same_run = not spec.overwrite and _resumable(leftover, fingerprint)
    shutil.rmtree(leftover)
    manifest_path = output / MANIFEST_NAME
    if not same_run or not manifest_path.is_file() or seal_problem(manifest_path.read_bytes()):
        return None
    manifest = Manifest.read(manifest_path)
    return RunResult(
        manifest=manifest,
        output=output,
        tally=_tally_from_manifest(manifest),
        seconds=0.0,
        input_bytes=sum(source.bytes for source in manifest.sources),
        max_rejects_exceeded=check_max_rejects(
            spec.max_rejects, manifest.counts.rejected, manifest.counts.input
        ),
    )


def _tally_from_manifest(manifest: Manifest) -> Tally:
    counts = manifest.counts
    return Tally(
        input=counts.input,
        output=counts.output,
        rejected=counts.rejected,
        dropped=dict(counts.dropped),
        licenses=dict(manifest.licenses),
        languages=dict(manifest.languages),
        steps=[
            StepTally(name=step.name, input=step.input, output=step.output, dropped=dict(step.dropped),
                      seconds=step.seconds)
            for step in manifest.pipeline.steps
        ],
    )  # fmt: skip


def _resumable(work: Path, fingerprint: dict[str, Any]) -> bool:
    """An unfinished run of the same configuration, version and inputs left its work folder here."""
    try:
        previous = orjson.loads((work / RUN_STATE).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return False
    return bool(previous == fingerprint)


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


def _run_and_note_the_end(executor: CorpusLocalExecutor, finished: Any, errors: Any) -> None:
    try:
        executor.run()
    except CorpusKitError as error:  # a one-line refusal (too many rejects...) reaches the user as one
        errors.send((type(error).__name__, str(error)))
        raise SystemExit(3) from None
    finished.value = time.monotonic()  # one clock for all processes of the machine


def _run_in_child(executor: CorpusLocalExecutor, meanwhile: Callable[[], None] | None = None) -> float:
    """Run a phase in a child process (the memory it needed goes with it); ``meanwhile`` runs here.

    Returns when the phase finished (``time.monotonic()``), not when ``meanwhile`` did. A
    ``CorpusKitError`` raised in the child is raised again here, with its class and message."""
    import multiprocessing

    from corpus_kit import errors as error_classes

    context: Any = multiprocessing.get_context(default_start_method())
    finished = context.Value("d", 0.0)
    received, sent = context.Pipe(duplex=False)
    child = context.Process(target=_run_and_note_the_end, args=(executor, finished, sent))
    child.start()
    sent.close()
    try:
        if meanwhile is not None:
            meanwhile()
    except BaseException:
        child.terminate()
        child.join()
        raise
    child.join()
    if child.exitcode != 0:
        if received.poll():
            name, message = received.recv()
            kind = getattr(error_classes, name, CorpusKitError)
            raise (kind if isinstance(kind, type) and issubclass(kind, CorpusKitError) else CorpusKitError)(
                message
            )
        raise RuntimeError(f"the phase's process exited with status {child.exitcode}")
    return finished.value


def _run_phase(spec: RunSpec, work: Path, phase: Phase, meanwhile: Callable[[], None] | None = None) -> float:
    """Run one phase; ``meanwhile`` (local executor, preparation phases) runs in this process alongside.

    Returns when the phase finished (``time.monotonic()``)."""
    logs = phase_logs(work, phase)
    _clean_incomplete(work, phase)
    workers = max(1, min(spec.workers or os.cpu_count() or 1, phase.tasks))
    if spec.executor == "ray":
        from corpus_kit.pipeline.distributed import ray_executor

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
