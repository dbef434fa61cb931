"""Personal data does not leave a run through the side doors (issue 22, items 9 and 10).

The ``pii`` stage scrubbed only text: canary values placed in ids (and so ``dup_cluster``), JSON
field names, metadata values (``language``, ``license``, ``source``, nested ones), media URIs and
input file names reached the data, ``manifest.json``, ``report.html``, the card, ``croissant.json``
and ``--verbose`` logs; the task logs a failed run leaves in ``OUT/.corpus-kit`` quoted records.
Every canary below is one the PII stage recognises (a checksummed ID card number, CN mobiles,
e-mails), so each one found outside ``rejects/`` and ``removed/`` is a leak.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

import corpus_kit
from corpus_kit.stages.base import Stage, StageContext, StageParams
from corpus_kit.stages.registry import register_stage, unregister_stage
from tests.conftest import write_jsonl

ID_CARD = "11010519491231002X"  # GB 11643 checksum holds
ID_CARD_2 = "440304198506151237"
PHONE = "13812345678"
PHONE_2 = "13912345678"
PHONE_3 = "13712345678"
EMAIL = "zhang.wei@example.com"
EMAIL_2 = "li.na@example.org"
CANARIES = (ID_CARD, ID_CARD_2, PHONE, PHONE_2, PHONE_3, EMAIL, EMAIL_2)
RESTRICTED = ("rejects/", "removed/", "ledger/")


def _leaks(label: str, text: str) -> list[str]:
    return [f"{label}: {canary}" for canary in CANARIES if canary in text]


def _published_leaks(out: Path) -> list[str]:
    """Canaries in any file of ``out`` outside the restricted folders, Parquet decoded."""
    found: list[str] = []
    for path in sorted(out.rglob("*")):
        relative = path.relative_to(out).as_posix()
        found += _leaks(f"path {relative}", relative)
        if not path.is_file() or relative.startswith(RESTRICTED):
            continue
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            found += _leaks(f"{relative} schema", str(table.schema))
            found += _leaks(relative, json.dumps(table.to_pylist(), default=str, ensure_ascii=False))
        else:
            found += _leaks(relative, path.read_bytes().decode("utf-8", errors="replace"))
    return found


def _canary_input(root: Path) -> Path:
    folder = root / "in" / f"dept-{PHONE_2}"
    folder.mkdir(parents=True)
    records = [
        {
            "id": f"user-{ID_CARD}",
            "text": "a plain record with nothing personal in it",
            "metadata": {
                "license": "CC-BY-4.0",
                "language": f"zh-{PHONE_3}",
                "source": f"from {EMAIL_2}",
                "nested": {f"k-{PHONE}": [f"v {EMAIL}"]},
            },
            f"col-{EMAIL}": "an extra JSON field",
        },
        {
            "id": f"dup-{PHONE}",
            "text": "a duplicated record, nothing personal",
            "metadata": {"license": f"licence of {PHONE}"},
        },
        {"id": f"dup2-{PHONE}", "text": "a duplicated record, nothing personal"},
        {  # no id: the reader derives one from the file name
            "text": "a record without an id",
            "media": [{"type": "image", "url": f"https://img.example/{ID_CARD_2}.png"}],
        },
    ]
    write_jsonl(folder / f"shard-{ID_CARD_2}.jsonl", records)
    return root / "in"


def _pipeline(root: Path, steps: str) -> Path:
    path = root / "pipeline.yaml"
    path.write_text(
        "name: side-doors\n"
        "dataset: {name: side-doors, version: '1'}\n"
        "supply: {mode: cooperation, partners: [a lab], agreement_id: A-1}\n"
        f"steps:\n{steps}"
    )
    return path


@pytest.mark.parametrize("order", ["dedup-then-pii", "pii-then-dedup"])
def test_canaries_in_ids_keys_metadata_and_file_names_stay_in_the_restricted_area(
    tmp_path: Path, cli: Any, order: str
) -> None:
    steps = ["  - dedup: {mode: exact}\n", "  - pii: {operator: replace}\n"]
    pipeline = _pipeline(tmp_path, "".join(steps if order == "dedup-then-pii" else steps[::-1]))
    inputs, out = _canary_input(tmp_path), tmp_path / "out"
    # a process of its own: --verbose output of the tasks (forked workers included) is on its stderr
    env = {**os.environ, "PYTHONPATH": str(Path(corpus_kit.__file__).resolve().parents[1])}
    run = subprocess.run(
        [sys.executable, "-m", "corpus_kit", "run", pipeline, "-i", inputs, "-o", out, "--verbose"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    card = cli("card", out)
    publish = cli("publish", out, "--to", tmp_path / "catalog", "--dry-run")
    assert card.exit_code == 0 and publish.exit_code == 0, card.output + publish.output

    leaks = _leaks("run output", run.stdout + run.stderr) + _leaks(
        "card/publish", card.output + publish.output
    )
    assert leaks + _published_leaks(out) == []

    rows = pq.read_table(out / "data").to_pylist()
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)) == 3  # scrubbed ids stay unique; one duplicate dropped
    assert all(row["dup_cluster"] == row["id"] for row in rows)  # the survivors name themselves
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sources"][0]["uri"] == "in/dept-<PHONE_NUMBER>/shard-<CN_ID_CARD>.jsonl"
    # what was done, as counts: one value per place, never the values
    places = manifest["pii"]["places"]
    assert places["ids"] >= 3 and places["keys"] == 2 and places["file_names"] >= 3
    assert places["metadata"] >= 3 and places["media"] == 1


class _QuoteTheRecord(PipelineStep):
    """A step that fails the way third-party code does: its error message quotes the record."""

    name = "quote"
    type = "test"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> Iterator[Any]:
        for document in data:
            raise ValueError(f"cannot handle {document.text!r} of {document.id}")
            yield document


class _QuoteStage(Stage[StageParams]):
    name = "quote-the-record"

    def build(self, params: StageParams, context: StageContext) -> PipelineStep:
        return _QuoteTheRecord()


@pytest.fixture
def quoting_stage() -> Iterator[None]:
    register_stage(_QuoteStage)
    yield
    unregister_stage(_QuoteStage.name)


@pytest.mark.parametrize("verbose", [False, True])
def test_a_failed_run_leaves_logs_without_record_values(
    tmp_path: Path, cli: Any, capfd: pytest.CaptureFixture[str], quoting_stage: None, verbose: bool
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write_jsonl(folder / f"{PHONE_2}.jsonl", [{"id": f"u-{ID_CARD}", "text": f"call me on {PHONE}"}])
    pipeline = _pipeline(tmp_path, "  - quote-the-record: {}\n")
    out = tmp_path / "out"
    result = cli(
        "run", pipeline, "-i", folder, "-o", out, "--workers", "1", *(["--verbose"] if verbose else [])
    )
    assert result.exit_code != 0
    work = out / ".corpus-kit"
    logs = [path for path in (work / "logs").rglob("*") if path.is_file()]
    task_log = work / "logs" / "logs" / "task_00000.log"
    assert task_log in logs and "ValueError" in task_log.read_text()  # the failure is still explained
    found = _leaks("command output", result.output + "".join(capfd.readouterr()))
    for path in logs:
        found += _leaks(path.relative_to(out).as_posix(), path.read_text(errors="replace"))
    assert found == []


def test_input_values_under_the_pipelines_own_keys_are_scanned(tmp_path: Path) -> None:
    """Keys the pipeline fills with numbers (quality_signals, language_score, dup_count) were
    skipped by name, so personal data an input put there reached the data (review of issue 22)."""
    records = [
        {"id": "a", "text": "plain text one", "quality_signals": f"call {PHONE_3} or {EMAIL_2}"},
        {"id": "b", "text": "plain text two", "quality_signals": {"note": f"id {ID_CARD}", "score": 1}},
        # a string where the writer needs a number: a reject, not a failed run
        {"id": "c", "text": "plain text three", "dup_count": f"{ID_CARD}", "language_score": PHONE},
    ]
    source = write_jsonl(tmp_path / "in.jsonl", records)
    out = tmp_path / "out"
    result = corpus_kit.run(inputs=[source], output=out, steps=[{"license": {"default": "CC-BY-4.0"}}, "pii"])
    assert (result.manifest.counts.output, result.manifest.counts.rejected) == (2, 1)
    assert _published_leaks(out) == []
