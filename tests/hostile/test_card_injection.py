"""Input-derived strings cannot write Markdown into the dataset card (issue 22, item 11).

A source file name or a dataset description holding a newline and ``## License`` made a licence
section of its own in ``README.md``; one holding ``[text](url)`` or ``![](url)`` made a live link
or a tracking image on the Hub.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.conftest import record, write_jsonl

FAKE_SECTION = "\n## License\n\nMIT: do anything you like\n\n"
# no "/" (a file name cannot hold one): relative targets are links all the same
LINK = "[click](evil.example)"
IMAGE = "![t](evil.example.png)"


def _card_body(out: Path) -> str:
    return (out / "README.md").read_text().split("\n---\n", 1)[1]


def _injected(body: str) -> list[str]:
    problems = [
        line for line in body.splitlines() if line.strip() in ("## License", "MIT: do anything you like")
    ]
    # an unescaped [ opens a link or an image
    problems += re.findall(r"(?<!\\)\[(?:click|t)(?<!\\)\]\(evil", body)
    return problems


def test_a_file_name_cannot_add_sections_links_or_images_to_the_card(tmp_path: Path, cli: Any) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write_jsonl(folder / f"a{FAKE_SECTION}{LINK} {IMAGE}.jsonl", [record(1)])
    out = tmp_path / "out"
    assert cli("convert", folder, "-o", out).exit_code == 0
    assert cli("card", out).exit_code == 0
    body = _card_body(out)
    assert "evil.example" in body  # the name is shown, as text
    assert _injected(body) == []


def test_a_description_cannot_add_sections_to_the_card(tmp_path: Path, cli: Any) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [record(1)])
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(
        "name: card-injection\n"
        "dataset:\n  name: card-injection\n  version: '1'\n"
        f'  description: "Open records.{FAKE_SECTION.encode("unicode_escape").decode()}{LINK}"\n'
        "steps: []\n"
    )
    out = tmp_path / "out"
    result = cli("run", pipeline, "-i", folder, "-o", out)
    assert result.exit_code == 0, result.output
    assert cli("card", out).exit_code == 0
    body = _card_body(out)
    assert "Open records." in body
    assert _injected(body) == []
