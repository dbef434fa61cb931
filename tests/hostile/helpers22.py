"""What the issue-22 tests of this folder share: reading a written dataset back and checking it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


def counts(out: Path) -> dict[str, Any]:
    """``counts`` of a dataset's manifest, after checking the accounting invariant."""
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    block: dict[str, Any] = manifest["counts"]
    assert block["input"] == block["output"] + sum(block["dropped"].values()) + block["rejected"]
    return block


def rejects(folder: Path) -> list[dict[str, Any]]:
    """Every line of every rejects file under ``folder``."""
    lines = []
    for path in sorted(folder.glob("rejects-*.jsonl")):
        lines.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    return lines


def verified(cli: Callable[..., Any], out: Path) -> None:
    """``corpus-kit manifest verify OUT`` passes."""
    result = cli("manifest", "verify", out)
    assert result.exit_code == 0, result.output


def one_line_error(result: Any) -> str:
    """The error a command printed: exactly one ``error:`` line and no traceback."""
    text = result.output  # stdout and stderr, as a person sees them
    assert "Traceback" not in text, text
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, text
    return errors[0]
