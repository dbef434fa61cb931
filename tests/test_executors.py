"""Executors and resume: Slurm scripts (dry run), SIGKILL + rerun gives the same bytes, Ray == local."""

from __future__ import annotations

import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import skip_unless_required

ROOT = Path(__file__).resolve().parent.parent
STANDARD = ROOT / "pipelines" / "standard.yaml"
CORPUS_KIT = str(Path(sys.executable).with_name("corpus-kit"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 MB of mixed zh/en JSONL in 6 files, with duplicates and PII (benchmarks/make_corpus.py)."""
    folder = tmp_path_factory.mktemp("corpus")
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "make_corpus.py"),
            "-o",
            str(folder),
            "--mb",
            "6",
            "--files",
            "6",
        ],
        check=True,
        capture_output=True,
    )
    return folder


def _run(corpus: Path, out: Path, *extra: str, **kwargs) -> subprocess.CompletedProcess | subprocess.Popen:
    command = [CORPUS_KIT, "run", str(STANDARD), "-i", str(corpus), "-o", str(out), "--quiet", *extra]
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


def _data(out: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((out / "data").glob("*.parquet"))}


def _counts(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())["counts"]


def test_sigkill_then_rerun_resumes_to_byte_identical_data(corpus: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    started = time.monotonic()
    done = _run(corpus, reference, "--workers", "1")
    reference_seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr

    seed = int(os.environ.get("CORPUS_KIT_KILL_SEED", random.randrange(1 << 30)))
    # the killed run has 2 workers and ends sooner than the 1-worker reference: stay in its first half
    delay = random.Random(seed).uniform(0.15, 0.45) * reference_seconds
    print(f"\nkilling after {delay:.2f} s of ~{reference_seconds:.1f} s (CORPUS_KIT_KILL_SEED={seed})")
    out = tmp_path / "resumed"
    command = [
        CORPUS_KIT,
        "run",
        str(STANDARD),
        "-i",
        str(corpus),
        "-o",
        str(out),
        "--quiet",
        "--workers",
        "2",
    ]
    process = subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(delay)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)  # the whole machine dies: main process and workers
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run ended before the kill: nothing was resumed"
    assert not (out / "manifest.json").exists()  # killed: no dataset claimed

    rerun = _run(corpus, out, "--workers", "2")
    assert rerun.returncode == 0, rerun.stderr
    assert _data(out) == _data(reference)  # byte-identical, and across worker counts (1 vs 2)
    assert _counts(out) == _counts(reference)
    assert not (out / ".corpus-kit").exists()


def test_a_changed_configuration_does_not_resume(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    work = out / ".corpus-kit"
    work.mkdir(parents=True)
    (work / "run.json").write_text('{"config_sha256": "something else", "corpus-kit": "0"}')
    (work / "stale").write_text("left by another configuration")
    result = _run(corpus, out, "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert not work.exists() and (out / "manifest.json").exists()


def test_slurm_dry_run_writes_one_job_array_per_phase_chained(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = subprocess.run(
        [CORPUS_KIT, "run", str(STANDARD), "-o", str(out), "--executor", "slurm", "--dry-run",
         "--slurm-partition", "batch", "--slurm-time", "2:00:00", "--overwrite"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    folder = out / ".corpus-kit" / "slurm"
    assert "wrote Slurm jobs for 6 phases + a finalising job" in result.stdout
    assert "submit with: bash" in result.stdout
    scripts = sorted(path.name for path in folder.glob("*.slurm"))
    assert scripts == [
        "01-ck-safety-scan.slurm",
        "02-ck-safety-sources.slurm",
        "03-ck-dedup-signatures.slurm",
        "04-ck-dedup-buckets.slurm",
        "05-ck-dedup-clusters.slurm",
        "06-ck-main.slurm",
        "07-ck-finalise.slurm",
    ]
    contents = {name: (folder / name).read_text() for name in scripts}
    inputs = 4  # the demo sample's four files: one task each
    assert f"#SBATCH --array=0-{inputs - 1}" in contents["01-ck-safety-scan.slurm"]
    assert "#SBATCH --array=0-0" in contents["02-ck-safety-sources.slurm"]
    assert f"#SBATCH --array=0-{inputs - 1}" in contents["03-ck-dedup-signatures.slurm"]
    assert "#SBATCH --array=0-7" in contents["04-ck-dedup-buckets.slurm"]  # 42 bands + exact keys, 8 tasks
    assert "#SBATCH --array=0-0" in contents["05-ck-dedup-clusters.slurm"]
    for name in scripts[:6]:
        assert "#SBATCH --partition=batch" in contents[name] and "#SBATCH --time=2:00:00" in contents[name]
        assert "launch_pickled_pipeline" in contents[name]
    assert (
        "--executor local" in contents["07-ck-finalise.slurm"]
        and "--array" not in contents["07-ck-finalise.slurm"]
        and "--overwrite" not in contents["07-ck-finalise.slurm"]  # it would start afresh, locally
    )
    submit = (folder / "submit.sh").read_text().splitlines()
    jobs = [line for line in submit if line.startswith("JOB")]
    assert len(jobs) == 7 and "--dependency" not in jobs[0]
    for number in range(2, 8):
        assert f"--dependency=afterok:${{JOB{number - 1}}}" in jobs[number - 1]
    for phase in ("safety-scan", "safety-sources", "dedup-signatures", "dedup-buckets", "dedup-clusters"):
        assert (out / ".corpus-kit" / "phases" / phase / "logs" / "executor.pik").is_file()
    assert not (out / "manifest.json").exists()  # nothing ran
    assert not list(out.rglob("executor.json"))  # datatrove's settings dump names every input file


@pytest.mark.slow
def test_ray_local_cluster_gives_the_same_dataset_as_local(corpus: Path, tmp_path: Path) -> None:
    if importlib.util.find_spec("ray") is None:
        skip_unless_required('ray is not installed (pip install ".[ray]")')
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    assert _run(corpus, local, "--workers", "2").returncode == 0
    result = _run(
        corpus, on_ray, "--workers", "2", "--executor", "ray", env={**os.environ, "RAY_AUTH_MODE": "disabled"}
    )
    assert result.returncode == 0, result.stderr
    assert _data(on_ray) == _data(local)
    assert _counts(on_ray) == _counts(local)


class _Emit:
    """A pipeline step that logs one line naming its task (datatrove steps log through loguru)."""

    name = "emit"
    type = "test"

    def __call__(self, data, rank: int = 0, world_size: int = 1):
        from loguru import logger

        logger.info(f"emitted by task {rank}")
        return iter(())


def test_each_task_logs_to_its_own_file_and_nothing_to_the_console(tmp_path: Path, capfd) -> None:
    from corpus_kit.pipeline.local_executor import (
        CorpusLocalExecutor,
        restore_console_logs,
        silence_console_logs,
    )

    silence_console_logs()
    try:
        executor = CorpusLocalExecutor(
            [_Emit()], tasks=5, workers=2, logging_dir=str(tmp_path / "logs"), start_method="fork"
        )
        executor.run()
    finally:
        restore_console_logs()
    for rank in range(5):
        log = (tmp_path / "logs" / "logs" / f"task_{rank:05d}.log").read_text()
        assert f"Launching pipeline for rank={rank}" in log and "Processing done" in log
        # a worker runs several tasks: each task's lines are in its own file only
        assert f"emitted by task {rank}" in log
        assert all(f"emitted by task {other}" not in log for other in range(5) if other != rank)
    assert "emitted by task" not in capfd.readouterr().err
