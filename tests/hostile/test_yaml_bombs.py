"""Issue 21, item 1: a YAML alias bomb in any YAML corpus-kit reads costs a one-line refusal.

Before: ``yaml.safe_load`` built the shared structure and pydantic (or an error message) walked
it, and the process passed 4 GB before it was killed. Each case runs in a child process under
an address-space cap and reports its peak RSS.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import record, write_jsonl
from tests.hostile.bounded import alias_bomb, run_bounded

MAX_RSS_MB = 600  # a normal small run peaks at ~250 MB here; the bomb would take gigabytes
PIPELINE_HEAD = "name: bomb\n"


def _indent(text: str, spaces: int) -> str:
    return "".join(" " * spaces + line + "\n" for line in text.splitlines())


CASES = {
    "pipeline step parameters": (
        "p.yaml",
        PIPELINE_HEAD
        + "steps:\n  - license:\n      default: CC-BY-4.0\n      anchors:\n"
        + _indent(alias_bomb(), 8),
        ["run", "p.yaml"],
    ),
    "pipeline supply block": (
        "p.yaml",
        PIPELINE_HEAD + "steps: [license]\nsupply:\n  mode: open\n  extra:\n" + _indent(alias_bomb(), 4),
        ["run", "p.yaml"],
    ),
    "pipeline top level": ("p.yaml", PIPELINE_HEAD + alias_bomb(), ["run", "p.yaml"]),
    "--supply file": (
        "supply.yaml",
        "mode: open\nnotes:\n" + _indent(alias_bomb(), 2),
        ["convert", "in.jsonl", "--supply", "supply.yaml"],
    ),
    "sources.yaml": (
        "sources.yaml",
        "sources:\n  - name: a\n    path: '*.jsonl'\n    license: MIT\n    notes:\n"
        + _indent(alias_bomb(), 6),
        ["license", "in.jsonl", "--sources", "sources.yaml"],
    ),
    "quality rules": ("rules.yaml", alias_bomb(), ["quality", "in.jsonl", "--rules", "rules.yaml"]),
    "an alias inside itself": ("p.yaml", PIPELINE_HEAD + "steps: &s [license, *s]\n", ["run", "p.yaml"]),
    # no alias at all: 4 million tiny values took 1.7 GB as nodes before anything could count them
    "16 MiB of values": (
        "rules.yaml",
        "- a\n" * (4 * 1024 * 1024),
        ["quality", "in.jsonl", "--rules", "rules.yaml"],
    ),
    # a lexicon of 700,000 small mappings: 2.1 million nodes but ~2.8 million events, under the old
    # event budget (twice the nodes), so it was composed for ~50 s before being refused
    "a lexicon of many terms": (
        "lexicon.yaml",
        "name: big\nversion: '1'\nupdated: 2026-12-01\nterms:\n" + "  - {term: t, risk: A1a}\n" * 700_000,
        ["safety", "in.jsonl", "--lexicon", "lexicon.yaml"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_alias_bombs_are_refused_in_one_line_with_bounded_memory(case: str, tmp_path: Path) -> None:
    name, text, args = CASES[case]
    (tmp_path / name).write_text(text)
    write_jsonl(tmp_path / "in.jsonl", [record(i) for i in range(3)])
    if args[0] == "run":
        args = [*args, "-i", "in.jsonl"]
    result = run_bounded([*args, "-o", "out", "-q"], cwd=tmp_path, timeout=60, address_space_gb=3)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0], result.stderr[-2000:]
    values = case in ("16 MiB of values", "a lexicon of many terms")
    assert ("more than 2,000,000 values" if values else "alias") in lines[0]
    assert result.peak_rss_mb < MAX_RSS_MB, result.peak_rss_mb
    assert not (tmp_path / "out" / "data").exists()
