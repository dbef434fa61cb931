"""A tiny compressed file cannot flood ``rejects/`` or outrun ``--max-rejects`` (issue 22, item 12).

Before: a 276-byte ``.zst`` wrote a million rejects (over 100 MB) and ``--max-rejects`` was only
checked after the whole input had been read and every reject written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zstandard

from tests.conftest import record, write_jsonl
from tests.hostile.helpers22 import counts, one_line_error, rejects, verified

BAD_LINES = 200_000


def _bomb(folder: Path, name: str = "bomb.jsonl.zst", lines: int = BAD_LINES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(zstandard.ZstdCompressor(level=19).compress(b"not json\n" * lines))
    assert path.stat().st_size < 4096  # a few KB that expand to megabytes
    return path


def _size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def test_rejects_of_one_file_are_capped_and_still_counted(cli: Callable[..., Any], tmp_path: Path) -> None:
    _bomb(tmp_path / "in")
    write_jsonl(tmp_path / "in" / "good.jsonl", [record(i) for i in range(10)])
    out = tmp_path / "out"
    result = cli("convert", tmp_path / "in", "-o", out, "-q")
    assert result.exit_code == 0, result.output
    assert counts(out) == {"input": BAD_LINES + 10, "output": 10, "rejected": BAD_LINES, "dropped": {}}
    assert _size(out / "rejects") < 400_000  # before: about 16 MB here
    entries = rejects(out / "rejects")
    assert len(entries) == 1000 + 1
    # the lines still add up to the manifest's count, reason by reason
    assert sum(entry.get("records", 1) for entry in entries) == BAD_LINES
    summary = entries[-1]
    assert summary["reason"] == "json.invalid" and summary["records"] == BAD_LINES - 1000
    assert summary["raw"] is None and "counted but not written" in summary["detail"]
    verified(cli, out)


def test_the_cap_is_configurable(cli: Callable[..., Any], tmp_path: Path) -> None:
    _bomb(tmp_path / "in", lines=500)
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("name: floods\nread: {reject_lines_per_file: 10}\n", encoding="utf-8")
    out = tmp_path / "out"
    assert cli("run", pipeline, "-i", tmp_path / "in", "-o", out, "-q").exit_code == 0
    entries = rejects(out / "rejects")
    assert len(entries) == 11 and entries[-1]["records"] == 490
    assert counts(out)["rejected"] == 500
    verified(cli, out)


def test_a_count_of_max_rejects_stops_the_run_early(cli: Callable[..., Any], tmp_path: Path) -> None:
    _bomb(tmp_path / "in", lines=2_000_000)  # reading all of it would take far longer than this test
    out = tmp_path / "out"
    result = cli("convert", tmp_path / "in", "-o", out, "-q", "--max-rejects", "100")
    assert result.exit_code == 1, result.output
    line = one_line_error(result)
    assert "bomb.jsonl.zst" in line and "--max-rejects 100" in line and "stopped early" in line
    assert not (out / "manifest.json").exists() and not (out / "data").exists()
    work = out / ".corpus-kit"
    assert len(rejects(work / "staging" / "rejects")) == 101
    assert _size(out) < 1_000_000


def test_each_of_several_tasks_stops_at_the_count(cli: Callable[..., Any], tmp_path: Path) -> None:
    for index in range(3):
        _bomb(tmp_path / "in", name=f"bomb-{index}.jsonl.zst", lines=1_000_000)
    out = tmp_path / "out"
    result = cli("convert", tmp_path / "in", "-o", out, "-q", "--max-rejects", "50", "--workers", "2")
    assert result.exit_code == 1, result.output
    assert "--max-rejects 50" in one_line_error(result)
    assert not (out / "manifest.json").exists()
    assert _size(out) < 1_000_000


def test_a_fraction_is_judged_at_the_end_with_bounded_rejects(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    _bomb(tmp_path / "in")
    out = tmp_path / "out"
    result = cli("convert", tmp_path / "in", "-o", out, "-q", "--max-rejects", "1%")
    assert result.exit_code == 1, result.output
    assert "rejected records exceed --max-rejects" in one_line_error(result)
    assert counts(out)["rejected"] == BAD_LINES
    assert _size(out / "rejects") < 400_000


def test_a_count_stops_a_run_with_preparation_phases_in_one_line(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    # dedup re-reads the input in a preparation phase first; the main phase stops at the count
    pytest.importorskip("scipy", reason="the dedup extra")
    _bomb(tmp_path / "in", lines=20_000)
    out = tmp_path / "out"
    result = cli("dedup", tmp_path / "in", "-o", out, "-q", "--max-rejects", "10")
    assert result.exit_code == 1, result.output
    assert "--max-rejects 10" in one_line_error(result)
    assert _size(out) < 1_000_000
