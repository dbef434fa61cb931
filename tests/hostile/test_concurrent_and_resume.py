"""Two runs on one output folder, and a resume after the input changed (issue 22, items 2 and 8).

Before: two runs started a second apart could both exit 0, the first with a wrong dataset
(3,653-3,990 rows instead of 3,960) that passed ``validate`` and ``verify``; an input rewritten
with the same size and modification time between a kill and the rerun was resumed over, keeping
stale output (or, with dedup, failing every rerun and ``--overwrite``).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

import corpus_kit
from corpus_kit.errors import CorpusKitError
from corpus_kit.governance.verify import verify_dataset
from tests.conftest import record, write_jsonl

UNIQUE, COPIES = 3960, 40  # 4,000 records in, 3,960 after exact dedup: the numbers
PIPELINE = "name: race\nsteps:\n  - dedup: {mode: exact}\n  - license: {default: CC-BY-4.0}\n"


def race_inputs(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    records = [record(i, text=f"record {i} " + "lorem ipsum dolor " * 20) for i in range(UNIQUE)]
    copies = [{**records[i], "id": f"copy-{i}"} for i in range(COPIES)]
    for part in range(4):  # four files: two tasks each for two workers
        write_jsonl(folder / f"in-{part}.jsonl", (records + copies)[part::4])
    pipeline = folder / "race.yaml"
    pipeline.write_text(PIPELINE)
    return pipeline, folder


def start(pipeline: Path, inputs: Path, out: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "corpus_kit", "run", str(pipeline), "-i", str(inputs / "*.jsonl")]
    command += ["-o", str(out), "--overwrite", "--workers", "2", "--quiet", "--supply-mode", "open"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def race(tmp_path: Path, repetitions: int, seed: int) -> None:
    pipeline, inputs = race_inputs(tmp_path / "in")
    chooser = random.Random(seed)
    refused = 0
    for repetition in range(repetitions):
        out = tmp_path / f"out-{repetition % 2}"  # the second half reruns over an existing dataset
        first = start(pipeline, inputs, out)
        time.sleep(chooser.uniform(0.0, 1.5))
        second = start(pipeline, inputs, out)
        outcomes = [(process.wait(timeout=300), *process.communicate()) for process in (first, second)]
        for code, _, stderr in outcomes:
            if code != 0:
                assert code == 2, stderr
                assert "is writing to this folder" in stderr and len(stderr.strip().splitlines()) == 1, stderr
                assert "corpus-kit run (pid" in stderr  # the holder is named
                refused += 1
        assert any(code == 0 for code, _, _ in outcomes), outcomes
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["counts"]["output"] == UNIQUE and manifest["counts"]["input"] == UNIQUE + COPIES
        assert not verify_dataset(out).problems
        assert not (out / ".corpus-kit").exists() and not (out / ".corpus-kit.lock").exists()
    print(f"{repetitions} repetitions: {refused} run(s) refused, every dataset exit 0 had {UNIQUE} rows")
    assert refused, "no two runs overlapped: the race was never exercised"


def test_two_runs_on_one_output_never_give_a_wrong_dataset(tmp_path: Path) -> None:
    race(tmp_path, repetitions=3, seed=22)


@pytest.mark.slow
def test_two_runs_on_one_output_twenty_times(tmp_path: Path) -> None:
    race(tmp_path, repetitions=20, seed=int(os.environ.get("CORPUS_KIT_RACE_SEED", "2022")))


# --- 8. a resume depends on the inputs' content ------------------------------------------------
class _Killed(CorpusKitError):
    pass


def _interrupt_before_finalising(monkeypatch: pytest.MonkeyPatch) -> None:
    """The run is killed after its tasks completed: they are on disk, the dataset is not."""
    from corpus_kit.pipeline import runner

    def killed(*args: object, **kwargs: object) -> None:
        raise _Killed("killed")

    monkeypatch.setattr(runner, "finalize", killed)


def _rewrite_keeping_size_and_time(path: Path, old: str, new: str) -> None:
    stat = path.stat()
    content = path.read_text()
    assert len(old) == len(new) and old in content
    path.write_text(content.replace(old, new))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns


@pytest.mark.parametrize(
    "steps", [["license"], [{"dedup": {"mode": "exact"}}, "license"]], ids=["plain", "dedup"]
)
def test_an_input_changed_between_kill_and_rerun_is_read_again(
    steps: list[object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [record(i, text=f"old text {i:03d}") for i in range(30)])
    out = tmp_path / "out"
    options = {"inputs": [source], "output": out, "steps": steps, "workers": 1}
    with monkeypatch.context() as patch:
        _interrupt_before_finalising(patch)
        with pytest.raises(_Killed):
            corpus_kit.run(**options)
    state = (out / ".corpus-kit" / "run.json").read_text()
    assert source.name not in state  # the work folder outlives a failed run: no file names in it
    _rewrite_keeping_size_and_time(source, "old text", "new text")
    result = corpus_kit.run(**options)
    texts = _texts(out)
    assert result.manifest.counts.output == 30 and all(text.startswith("new text") for text in texts), texts[
        :3
    ]
    assert not verify_dataset(out).problems


def test_overwrite_always_starts_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [record(i) for i in range(10)])
    out = tmp_path / "out"
    options = {"inputs": [source], "output": out, "steps": ["license"], "workers": 1}
    with monkeypatch.context() as patch:
        _interrupt_before_finalising(patch)
        with pytest.raises(_Killed):
            corpus_kit.run(**options)
        planted = out / ".corpus-kit" / "left-by-the-killed-run"
        planted.write_text("x")
        with pytest.raises(_Killed):
            corpus_kit.run(**options, overwrite=True)
        assert not planted.exists()  # the resumable work folder was started afresh
    assert corpus_kit.run(**options, overwrite=True).manifest.counts.output == 10


def _texts(out: Path) -> list[str]:
    import pyarrow.parquet as pq

    return sorted(
        text
        for path in sorted((out / "data").glob("*.parquet"))
        for text in pq.read_table(path)["text"].to_pylist()
    )


def test_a_run_killed_while_removing_its_work_folder_is_finished_by_the_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 21, item 9: the leftover made the rerun refuse with "already holds a dataset"."""
    import shutil

    from corpus_kit.errors import UsageError

    source = write_jsonl(tmp_path / "in.jsonl", [record(i) for i in range(12)])
    out = tmp_path / "out"
    options = {"inputs": [source], "output": out, "steps": ["license"], "workers": 1}
    real_rmtree = shutil.rmtree

    def cut_short(path: object, *args: object, **kwargs: object) -> None:
        victims = sorted(item for item in Path(str(path)).rglob("*") if item.is_file())
        victims[0].unlink()  # some of it went, then the machine died
        raise _Killed("killed while removing the work folder")

    with monkeypatch.context() as patch:
        patch.setattr(shutil, "rmtree", cut_short)
        with pytest.raises(_Killed):
            corpus_kit.run(**options)
    assert (out / "manifest.json").is_file() and (out / ".corpus-kit.finished").is_dir()
    assert shutil.rmtree is real_rmtree
    result = corpus_kit.run(**options)  # the same command: the clean-up is finished, nothing else to do
    assert result.manifest.counts.output == 12 and not verify_dataset(out).problems
    assert sorted(path.name for path in out.iterdir()) == ["data", "ledger", "manifest.json", "report.html"]
    # another command over the same folder after such a leftover: the usual refusal, not a stale result
    with monkeypatch.context() as patch:
        patch.setattr(shutil, "rmtree", cut_short)
        with pytest.raises(_Killed):
            corpus_kit.run(**options, overwrite=True)
    with pytest.raises(UsageError, match="already holds a dataset"):
        corpus_kit.run(**{**options, "steps": ["license", {"pii": {}}]})
    assert not (out / ".corpus-kit.finished").exists()
