"""corpus-kit never reads its own output back as input (issue 22, item 7).

Before: an output folder inside the input folder was read back on the next run (20 records
became 40), with its restricted ``rejects/`` and ``removed/``; a recursive glob did the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import record, write_jsonl
from tests.hostile.helpers22 import counts, one_line_error, verified


def _input(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    records = [record(i) for i in range(19)]
    write_jsonl(folder / "a.jsonl", [*records, {"id": "bad", "text": 5}])  # one reject
    return folder


def test_output_inside_the_input_is_not_read_back(cli: Callable[..., Any], tmp_path: Path) -> None:
    folder = _input(tmp_path)
    out = folder / "out"
    assert cli("convert", folder, "-o", out, "-q").exit_code == 0
    assert counts(out)["input"] == 20
    # again, replacing it; and into a second output next to it
    assert cli("convert", folder, "-o", out, "-q", "--overwrite").exit_code == 0
    assert counts(out) == {"input": 20, "output": 19, "rejected": 1, "dropped": {}}
    verified(cli, out)
    second = folder / "second"
    assert cli("convert", folder, "-o", second, "-q").exit_code == 0
    assert counts(second)["input"] == 20
    manifest = json.loads((second / "manifest.json").read_text(encoding="utf-8"))
    [source] = manifest["sources"]
    assert source["uri"].endswith("in/a.jsonl")
    verified(cli, second)


def test_unfinished_output_is_not_read(cli: Callable[..., Any], tmp_path: Path) -> None:
    folder = _input(tmp_path)
    stale = folder / "killed-run"
    (stale / ".corpus-kit").mkdir(parents=True)
    write_jsonl(stale / "data-not-yet-swapped.jsonl", [record(i, "x") for i in range(7)])
    out = tmp_path / "out"
    assert cli("convert", folder, "-o", out, "-q").exit_code == 0
    assert counts(out)["input"] == 20


def test_recursive_glob_skips_our_output(cli: Callable[..., Any], tmp_path: Path) -> None:
    folder = _input(tmp_path)
    first = folder / "out"
    assert cli("convert", folder, "-o", first, "-q").exit_code == 0
    # rejects/*.jsonl of the first run would be read as JSONL input (restricted data!)
    out = tmp_path / "out2"
    assert cli("convert", f"{folder}/**/*.jsonl", "-o", out, "-q").exit_code == 0
    assert counts(out)["input"] == 20
    only_output = cli("convert", f"{folder}/**/*.parquet", "-o", tmp_path / "out3", "-q")
    assert only_output.exit_code == 2
    assert "only corpus-kit output" in one_line_error(only_output)


def test_a_dataset_named_as_input_is_read_through_its_data(cli: Callable[..., Any], tmp_path: Path) -> None:
    folder = _input(tmp_path)
    first = tmp_path / "first"
    assert cli("convert", folder, "-o", first, "-q").exit_code == 0
    assert (first / "rejects").is_dir()
    out = tmp_path / "again"
    assert cli("convert", first, "-o", out, "-q").exit_code == 0
    # its 19 rows, not its reject file as one more JSONL input
    assert counts(out) == {"input": 19, "output": 19, "rejected": 0, "dropped": {}}
    assert cli("convert", f"{first}/data/*.parquet", "-o", tmp_path / "by-glob", "-q").exit_code == 0
    assert counts(tmp_path / "by-glob")["input"] == 19
