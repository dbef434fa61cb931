"""Nonsensical limits are refused when the configuration is loaded (issue 22, item 6).

Before: ``read.max_record_size: -1`` read 0 records, and the manifest said input 0 and passed
``validate`` and ``verify``; ``0`` on the command line silently meant the default; a list as
``max_rejects`` was a traceback and ``nan`` meant no limit at all.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import corpus_kit
from corpus_kit.errors import UsageError
from tests.conftest import record, write_jsonl
from tests.hostile.helpers22 import one_line_error


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "in.jsonl", [record(i) for i in range(5)])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("read: {max_record_size: -1}", "read.max_record_size"),
        ("read: {max_record_size: 0}", "read.max_record_size"),
        ("read: {max_record_size: 10}", "read.max_record_size"),
        ("read: {max_record_size: true}", "read.max_record_size"),
        ("read: {max_record_size: 9000000TiB}", "read.max_record_size"),
        ("read: {text_field: ''}", "read.text_field"),
        ("write: {shard_size: 5000TiB}", "write.shard_size"),
        ("max_rejects: .nan", "max_rejects"),
        ("max_rejects: nan", "max_rejects"),
        ("max_rejects: [1]", "max_rejects"),
        ("max_rejects: {a: 1}", "max_rejects"),
    ],
)
def test_pipeline_limits_are_refused_at_load(
    cli: Callable[..., Any], tmp_path: Path, data: Path, body: str, field: str
) -> None:
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(f"name: limits\n{body}\n", encoding="utf-8")
    out = tmp_path / "out"
    result = cli("run", pipeline, "-i", data, "-o", out, "-q")
    assert result.exit_code == 2, result.output
    line = one_line_error(result)
    assert f"{pipeline}:2: {field}:" in line
    assert not (out / "manifest.json").exists()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--max-record-size", "0"),
        ("--max-record-size", "100"),
        ("--max-record-size", "3GiB"),
        ("--shard-size", "0"),
        ("--shard-size", "2TiB"),
        ("--max-rejects", "nan"),
        ("--max-rejects", "inf"),
        ("--max-rejects", "-1"),
    ],
)
def test_command_line_limits_are_refused(
    cli: Callable[..., Any], tmp_path: Path, data: Path, option: str, value: str
) -> None:
    out = tmp_path / "out"
    result = cli("convert", data, "-o", out, "-q", option, value)
    assert result.exit_code == 2, result.output
    assert option in one_line_error(result)
    assert not (out / "manifest.json").exists()


@pytest.mark.parametrize(
    ("name", "value"), [("max_rejects", float("nan")), ("max_rejects", -3), ("workers", 0)]
)
def test_python_limits_are_refused(tmp_path: Path, data: Path, name: str, value: object) -> None:
    with pytest.raises(UsageError, match=name):
        corpus_kit.run(inputs=[data], output=tmp_path / "out", **{name: value})  # type: ignore[arg-type]
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_sensible_limits_still_run(cli: Callable[..., Any], tmp_path: Path, data: Path) -> None:
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(
        "name: limits\nread: {max_record_size: 1KiB, reject_lines_per_file: 0}\n"
        "write: {shard_size: 1KiB}\nmax_rejects: 0\n",
        encoding="utf-8",
    )
    result = cli("run", pipeline, "-i", data, "-o", tmp_path / "out", "-q")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "step",
    [
        "langid: {min_score: true}",
        "quality: {rules: false}",
        "dedup: {threshold: true}",
        "pii: {entities: true}",
    ],
)
def test_a_yes_or_no_for_a_number_or_a_list_is_refused(
    cli: Callable[..., Any], tmp_path: Path, data: Path, step: str
) -> None:
    """``langid.min_score: true`` was read as 1.0 and dropped every record."""
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(f"name: p\nsteps:\n  - {step}\n")
    result = cli("run", pipeline, "-i", data, "-o", tmp_path / "out", "-q")
    assert result.exit_code == 2, result.output
    line = one_line_error(result)
    assert "p.yaml:3" in line and ("true" in line or "false" in line or "bool" in line.lower()), line
    assert not (tmp_path / "out" / "data").exists()
