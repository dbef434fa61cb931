"""Ray and Slurm: the same phases as a local run, on datatrove's executors.

* **Ray** (``--executor ray``): connects to ``--ray-address`` or starts a local cluster with
  ``--workers`` CPUs, then runs each phase with datatrove's ``RayPipelineExecutor`` (one CPU per
  task). State and logs live under ``OUT/.corpus-kit``, which every Ray node must see (shared FS).
* **Slurm** (``--executor slurm``): one job array per phase with ``SlurmPipelineExecutor``, each
  depending on the previous one (``afterok``), then a last job that runs the same ``corpus-kit``
  command locally: every task is complete by then, so it only finalises (names files, writes the
  manifest and report). ``--dry-run`` writes the scripts and ``submit.sh`` instead of calling sbatch.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datatrove.pipeline.base import PipelineStep
from datatrove.utils.stats import PipelineStats

from corpus_kit.errors import UsageError
from corpus_kit.pipeline.local_executor import silence_console_logs
from corpus_kit.pipeline.ownership import SLURM_FINALISE_ENV

if TYPE_CHECKING:
    from corpus_kit.pipeline.spec import Phase, RunSpec


def connect_ray(address: str | None, workers: int | None) -> None:
    try:
        import ray
    except ImportError:
        raise UsageError("--executor ray needs Ray: pip install 'corpus-kit[ray]'") from None
    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=workers or os.cpu_count() or 1, include_dashboard=False, log_to_driver=False)


def ray_executor(pipeline: list[PipelineStep], tasks: int, workers: int, logging_dir: str) -> Any:
    from datatrove.executor.ray import RayPipelineExecutor

    class CorpusRayExecutor(RayPipelineExecutor):
        def save_executor_as_json(self, indent: int = 4) -> None:
            return None  # the steps' settings name every input file; nothing reads the file back

        def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1) -> PipelineStats:
            silence_console_logs()
            return super()._run_for_rank(rank, local_rank, node_rank)

    return CorpusRayExecutor(
        pipeline,
        tasks=tasks,
        workers=workers,
        logging_dir=logging_dir,
        skip_completed=True,
        cpus_per_task=1,
        mem_per_cpu_gb=2,
    )


class _DryRunSubmitter:
    """Stands in for ``sbatch``: keeps each script and its dependency, hands out placeholder job ids."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.jobs: list[tuple[str, str, list[str]]] = []  # (variable, script file, sbatch args)

    def __call__(self, contents: str, job_id_retriever: Any, *args: str) -> str:
        number = len(self.jobs) + 1
        variable = f"JOB{number}"
        name = next((line.split("=", 1)[1] for line in contents.splitlines() if "--job-name=" in line), "job")
        script = f"{number:02d}-{name}.slurm"
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / script).write_text(contents, encoding="utf-8")
        self.jobs.append((variable, script, list(args)))
        return f"${{{variable}}}"

    def write_submit_script(self) -> Path:
        lines = [
            "#!/bin/bash",
            "# Submits the jobs in order; each waits for the previous one (afterok).",
            "set -euo pipefail",
        ]
        lines.append('cd "$(dirname "$0")"')
        for variable, script, args in self.jobs:
            lines.append(f"{variable}=$(sbatch --parsable {' '.join(args)} {script})".replace("  ", " "))
        lines.append('echo "submitted: ' + " ".join(f"${{{variable}}}" for variable, _, _ in self.jobs) + '"')
        path = self.folder / "submit.sh"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        path.chmod(0o755)
        return path


def _finalise_command(spec: RunSpec) -> str:
    """The user's command again, run locally: all tasks are complete, so it only finalises."""
    command = list(spec.command) or ["corpus-kit", "run"]
    kept: list[str] = []
    skip = False
    for argument in command:
        if skip:
            skip = False
            continue
        if argument in ("--executor", "--slurm-partition", "--slurm-time"):
            skip = True
            continue
        if (
            argument.startswith(("--executor=", "--slurm-partition=", "--slurm-time="))
            or argument in ("--dry-run", "--overwrite")  # --overwrite would start afresh, locally
        ):
            continue
        kept.append(argument)
    executable = str(Path(sys.executable).with_name("corpus-kit"))
    arguments = shlex.join([*kept[1:], "--executor", "local", "--quiet"])
    # the environment marks the one run allowed past the Slurm marker (ownership.py)
    return f"cd {shlex.quote(os.getcwd())} && {SLURM_FINALISE_ENV}=1 {shlex.quote(executable)} {arguments}"


def launch_slurm(spec: RunSpec, work: Path, phases: list[Phase]) -> Path:
    """Submit (or, with ``dry_run``, write) one job array per phase plus the finalising job."""
    import datatrove.executor.slurm as slurm_module
    from datatrove.executor.slurm import SlurmPipelineExecutor

    from corpus_kit.pipeline.spec import phase_logs

    class CorpusSlurmExecutor(SlurmPipelineExecutor):
        def launch_merge_stats(self) -> None:
            """corpus-kit merges per-task stats itself when it finalises."""

        def save_executor_as_json(self, indent: int = 4) -> None:
            return None  # the steps' settings name every input file; nothing reads the file back

        def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1) -> PipelineStats:
            silence_console_logs()
            return super()._run_for_rank(rank, local_rank, node_rank)

    options = spec.slurm
    folder = work / "slurm"
    submitter = _DryRunSubmitter(folder) if options.get("dry_run") else None
    original = slurm_module.launch_slurm_job
    if submitter is not None:
        slurm_module.launch_slurm_job = submitter
    try:
        previous = None
        for phase in phases:
            executor = CorpusSlurmExecutor(
                pipeline=phase.pipeline,
                tasks=phase.tasks,
                time=options.get("time") or "4:00:00",
                partition=options.get("partition") or "cpu",
                job_name=f"ck-{phase.name}",
                logging_dir=str(phase_logs(work, phase)),
                depends=previous,
                cpus_per_task=1,
                mem_per_cpu_gb=int(options.get("mem_per_cpu_gb") or 4),
                venv_path=str(Path(sys.prefix) / "bin" / "activate"),
                sbatch_args=options.get("sbatch_args") or {},
                skip_completed=True,
            )
            previous = executor
        assert previous is not None
        previous.launch_job()  # launches the chain of dependencies first
        final_args = {**previous.get_sbatch_args(), "job-name": "ck-finalise", "cpus-per-task": 1}
        final_args.pop("array")
        final = previous.get_launch_file_contents(final_args, _finalise_command(spec))
        dependency = f"--dependency=afterok:{previous.job_id}" if previous.job_id not in (None, -1) else ""
        slurm_module.launch_slurm_job(final, previous.job_id_retriever, *([dependency] if dependency else []))
    finally:
        slurm_module.launch_slurm_job = original
    if submitter is not None:
        submitter.write_submit_script()
    return folder
