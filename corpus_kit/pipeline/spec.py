"""What a run is: its resolved configuration (:class:`RunSpec`), its phases and its result.

Kept apart from the runner so that executors, the finaliser and the CLI can share these types
without importing each other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from corpus_kit.io.inputs import MIN_PART_BYTES, InputUnit, split_into_parts
from corpus_kit.io.readers.base import ReadOptions

if TYPE_CHECKING:
    from datatrove.pipeline.base import PipelineStep

    from corpus_kit.governance.accounting import Tally
    from corpus_kit.governance.manifest import Manifest, Supply

ProgressCallback = Callable[[int, int], None]  # (records, bytes) so far


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

    def __post_init__(self) -> None:
        # every reader task gets a count limit and stops as soon as its own rejects exceed it; a
        # fraction needs the run's total input and is judged when the run ends (finalize)
        limit = self.max_rejects
        count = limit if isinstance(limit, int) else 0 if limit == 0 else None
        if self.read.max_rejects != count:
            self.read = replace(self.read, max_rejects=count)

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
class Phase:
    """One datatrove pipeline of a run; phases run in order, each after the previous one finished."""

    name: str
    pipeline: list[PipelineStep]
    tasks: int
    step_index: int | None = None  # the main pipeline step this phase prepares (its time is added there)
    #: The preparation's own steps (not the reader and earlier stages an ``after_input`` phase replays):
    #: warmed up in the parent before the phase's workers fork (the safety scan's automaton).
    own_steps: list[PipelineStep] = field(default_factory=list)


def config_sha256(config: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(config, option=orjson.OPT_SORT_KEYS)).hexdigest()


def phase_logs(work: Path, phase: Phase) -> Path:
    return work / "logs" if phase.name == "main" else work / "phases" / phase.name / "logs"


@dataclass
class RunResult:
    manifest: Manifest
    output: Path
    tally: Tally
    seconds: float
    input_bytes: int
    max_rejects_exceeded: str | None = None
