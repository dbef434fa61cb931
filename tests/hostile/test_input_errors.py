"""Broken links, unwritable outputs and wrongly typed settings are one line, not a traceback
(issue 22, item 13).

Before: a symbolic link loop or a dangling link in an input folder, an output folder that cannot be
written and a list as ``max_rejects`` ended in a Python traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import record, write_jsonl
from tests.hostile.helpers22 import one_line_error


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    write_jsonl(folder / "good.jsonl", [record(i) for i in range(5)])
    return folder


def test_symlink_loop_in_an_input_folder(cli: Callable[..., Any], tmp_path: Path, folder: Path) -> None:
    (folder / "loop-a.jsonl").symlink_to("loop-b.jsonl")
    (folder / "loop-b.jsonl").symlink_to("loop-a.jsonl")
    result = cli("convert", folder, "-o", tmp_path / "out", "-q")
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "loop-a.jsonl" in line and "symbolic link loop" in line and "fix or remove it" in line


def test_dangling_symlink_in_an_input_folder(cli: Callable[..., Any], tmp_path: Path, folder: Path) -> None:
    (folder / "gone.jsonl").symlink_to(tmp_path / "nowhere.jsonl")
    result = cli("convert", folder, "-o", tmp_path / "out", "-q")
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "gone.jsonl" in line and "target does not exist" in line


@pytest.mark.skipif(sys.platform != "linux", reason="/sys is read-only to every process on Linux")
def test_output_that_cannot_be_created(cli: Callable[..., Any], folder: Path) -> None:
    # /sys refuses new folders even to root (a chmod'ed folder would not stop root)
    out = Path("/sys/corpus-kit-test-output")
    result = cli("convert", folder, "-o", out, "-q")
    assert result.exit_code == 2
    line = one_line_error(result)
    assert str(out) in line and "choose a writable -o" in line
    assert not out.exists()


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root writes in read-only folders")
def test_read_only_output_folder(cli: Callable[..., Any], tmp_path: Path, folder: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        result = cli("convert", folder, "-o", locked / "out", "-q")
    finally:
        locked.chmod(0o755)
    assert result.exit_code == 2
    assert "choose a writable -o" in one_line_error(result)


@pytest.mark.parametrize("value", ["[1]", "{a: 1}"])
def test_wrong_type_for_max_rejects(
    cli: Callable[..., Any], tmp_path: Path, folder: Path, value: str
) -> None:
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(f"name: types\nmax_rejects: {value}\n", encoding="utf-8")
    result = cli("run", pipeline, "-i", folder, "-o", tmp_path / "out", "-q")
    assert result.exit_code == 2
    line = one_line_error(result)
    assert f"{pipeline}:2: max_rejects:" in line and "use a count" in line
