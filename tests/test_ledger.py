"""The record ledger, ``explain`` and ``diff`` (DESIGN.md §10, docs/ledger.md)."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus_kit.catalog.diff import compare_pairs, diff_releases
from corpus_kit.governance.manifest import SEAL_FIELD, Manifest, manifest_seal
from corpus_kit.governance.policy import validate_manifest_data
from corpus_kit.governance.verify import verify_dataset
from corpus_kit.io.ledger import LEDGER_SCHEMA, content_digest, ledger_files, recount
from tests.conftest import write_jsonl

RULES = """\
version: "test"
languages:
  default: [basic]
rule_sets:
  basic:
    - {id: min_chars, kind: length_chars, min: 40}
"""


def zh_text(rng: random.Random, length: int = 60) -> str:
    return "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(length)) + "。"


def rec(record_id: str, text: str) -> dict[str, Any]:
    return {"id": record_id, "text": text, "language": "zh-Hans", "license": "CC-BY-4.0"}


def write_pipeline(folder: Path, inputs: Path, steps: str, name: str = "intake") -> Path:
    (folder / "rules.yaml").write_text(RULES, encoding="utf-8")
    path = folder / f"{name}.yaml"
    path.write_text(
        f"name: {name}\ndataset: {{name: {name}, version: '1'}}\ninputs: [{inputs}]\nsteps:\n{steps}",
        encoding="utf-8",
    )
    return path


STEPS = "  - dedup: {mode: exact}\n  - quality: {rules: rules.yaml}\n"


def ledger_rows(out: Path) -> list[dict[str, Any]]:
    return [row for path in ledger_files(out) for row in pq.read_table(path).to_pylist()]


def by_fate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    counts: dict[str, Any] = {"kept": 0, "dropped": {}, "rejected": {}}
    for row in rows:
        if row["fate"] == "kept":
            counts["kept"] += 1
        else:
            counts[row["fate"]][row["reason"]] = counts[row["fate"]].get(row["reason"], 0) + 1
    return counts


def assert_ledger_matches_manifest(out: Path) -> Manifest:
    manifest = Manifest.read(out / "manifest.json")
    rows = ledger_rows(out)
    counts = by_fate(rows)
    assert len(rows) == manifest.counts.input
    assert counts["kept"] == manifest.counts.output
    assert counts["dropped"] == {k: v for k, v in manifest.counts.dropped.items() if v}
    assert sum(counts["rejected"].values()) == manifest.counts.rejected
    assert manifest.ledger is not None
    assert manifest.ledger.rows == len(rows) and manifest.ledger.kept == counts["kept"]
    assert manifest.ledger.dropped == counts["dropped"] and manifest.ledger.rejected == counts["rejected"]
    restricted = {folder.path: folder for folder in manifest.restricted}
    assert restricted["ledger/"].records == len(rows)
    assert {item.path for item in restricted["ledger/"].files} == {
        path.relative_to(out).as_posix() for path in ledger_files(out)
    }
    findings = validate_manifest_data((out / "manifest.json").read_bytes())
    assert not [finding for finding in findings if finding.rule == "CK125"]
    assert verify_dataset(out).problems == []
    return manifest


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two input files: unique records, exact copies, short ones (quality) and malformed lines."""
    folder = tmp_path_factory.mktemp("intake")
    rng = random.Random(7)
    inputs = folder / "in"
    inputs.mkdir()
    texts = [zh_text(rng) for _ in range(60)]
    first = [rec(f"a{i}", texts[i]) for i in range(30)]
    second = [rec(f"b{i}", texts[30 + i]) for i in range(20)]
    second += [rec(f"copy{i}", texts[i]) for i in range(5)]  # exact copies of a0..a4
    second += [rec(f"short{i}", f"短{i}") for i in range(4)]  # quality.min_chars
    write_jsonl(inputs / "1.jsonl", first)
    path = write_jsonl(inputs / "2.jsonl", second)
    with path.open("ab") as handle:
        handle.write(b'{"id": "broken", "text": \n')  # json.invalid
        handle.write(b'{"id": "empty-one", "text": ""}\n')  # text.empty, with an id
    pipeline = write_pipeline(folder, inputs, STEPS)
    return {"folder": folder, "pipeline": pipeline, "inputs": inputs}


@pytest.fixture(scope="module")
def runs(intake: dict[str, Any]) -> dict[int, Path]:
    from typer.testing import CliRunner

    from corpus_kit.cli import app

    outs = {}
    for workers in (1, 2):
        out = intake["folder"] / f"out{workers}"
        result = CliRunner().invoke(
            app,
            ["run", str(intake["pipeline"]), "-o", str(out), "-w", str(workers), "-q"],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        outs[workers] = out
    return outs


def test_ledger_rows_add_up_to_the_manifest_with_rejects(runs: dict[int, Path]) -> None:
    out = runs[2]
    manifest = assert_ledger_matches_manifest(out)
    counts = by_fate(ledger_rows(out))
    assert counts == {
        "kept": 50,
        "dropped": {"dedup.exact": 5, "quality.min_chars": 4},
        "rejected": {"json.invalid": 1, "text.empty": 1},
    }
    assert manifest.counts.input == 61
    rows = {row["id"]: row for row in ledger_rows(out)}
    assert rows["empty-one"]["fate"] == "rejected" and rows["empty-one"]["location"] == "line 31"
    schema = pq.ParquetFile(ledger_files(out)[0]).schema_arrow.remove_metadata()
    assert schema == LEDGER_SCHEMA


def test_ledger_is_byte_identical_for_one_and_two_workers(runs: dict[int, Path]) -> None:
    one, two = (sorted((runs[w] / "ledger").iterdir()) for w in (1, 2))
    assert [p.name for p in one] == [p.name for p in two]
    assert [p.read_bytes() for p in one] == [p.read_bytes() for p in two]
    first, second = (Manifest.read(runs[w] / "manifest.json") for w in (1, 2))
    assert [f.sha256 for f in first.files] == [f.sha256 for f in second.files]
    assert first.ledger == second.ledger


def test_content_sha256_is_the_record_as_read(runs: dict[int, Path], intake: dict[str, Any]) -> None:
    lines = (intake["inputs"] / "1.jsonl").read_text(encoding="utf-8").splitlines()
    expected = {record["id"]: content_digest(record["text"]) for record in map(json.loads, lines)}
    rows = {row["id"]: row for row in ledger_rows(runs[1])}
    for record_id, digest in expected.items():
        assert rows[record_id]["content_sha256"] == digest
        assert rows[record_id]["source"].endswith("1.jsonl")


def test_explain_every_fate(runs: dict[int, Path], cli) -> None:
    out = runs[2]
    result = cli("explain", out, "a7", "copy2", "short1", "empty-one", "--json")
    assert result.exit_code == 0, result.output
    entries = {entry["id"]: entry for entry in json.loads(result.stdout)}
    for entry in entries.values():
        assert {"id", "fate", "stage", "reason", "dup_of", "source", "location"} <= set(entry)
    assert entries["a7"]["fate"] == "kept" and entries["a7"]["stage"] is None
    assert entries["a7"]["location"] == "line 8" and entries["a7"]["source"].endswith("1.jsonl")
    copy = entries["copy2"]
    assert (copy["fate"], copy["stage"], copy["reason"]) == ("dropped", "dedup", "dedup.exact")
    assert copy["dup_of"] == "a2" and copy["dup_dataset"] is None
    assert copy["params"] == {"mode": "exact"}
    short = entries["short1"]
    assert (short["fate"], short["stage"], short["reason"]) == ("dropped", "quality", "quality.min_chars")
    assert (entries["empty-one"]["fate"], entries["empty-one"]["reason"]) == ("rejected", "text.empty")
    text = cli("explain", out, "copy2")
    assert "duplicate of: a2" in text.stdout and "dedup.exact" in text.stdout and "line" in text.stdout


def test_explain_unknown_id_exits_1(runs: dict[int, Path], cli) -> None:
    result = cli("explain", runs[1], "a1", "no-such-id")
    assert result.exit_code == 1
    assert "no-such-id" in result.output and "a1: kept" in result.output


def test_explain_matches_the_ledger_for_random_ids(runs: dict[int, Path], cli) -> None:
    rows = [row for row in ledger_rows(runs[2]) if row["id"] is not None]
    chosen = random.Random(1).sample(rows, 20)
    result = cli("explain", runs[2], *[row["id"] for row in chosen], "--json")
    assert result.exit_code == 0
    answered = {entry["id"]: entry for entry in json.loads(result.stdout)}
    for row in chosen:
        entry = answered[row["id"]]
        for key in ("fate", "stage", "reason", "dup_of", "source", "location"):
            assert entry[key] == row[key]


def _reseal(path: Path, edit: Any) -> None:
    data = orjson.loads(path.read_bytes())
    edit(data)
    data.pop(SEAL_FIELD, None)
    data[SEAL_FIELD] = manifest_seal(data)
    path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))


def test_ck125_and_verify_catch_a_tampered_ledger(runs: dict[int, Path], tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(runs[1], copy)

    def tamper(data: dict[str, Any]) -> None:
        data["ledger"]["dropped"]["dedup.exact"] = 4
        data["ledger"]["kept"] = 51

    _reseal(copy / "manifest.json", tamper)
    findings = validate_manifest_data((copy / "manifest.json").read_bytes())
    assert [f for f in findings if f.rule == "CK125" and f.severity == "error"]
    problems = verify_dataset(copy).problems
    assert any(p.path.startswith("ledger/") or "ledger" in p.message for p in problems)

    # a ledger file whose rows were rewritten (checksum fixed too) is recounted by verify
    second = tmp_path / "second"
    shutil.copytree(runs[1], second)
    path = next(p for p in ledger_files(second) if "dropped" in pq.read_table(p)["fate"].to_pylist())
    table = pq.read_table(path)
    fates = ["kept" if fate == "dropped" else fate for fate in table.column("fate").to_pylist()]
    table = table.set_column(table.schema.get_field_index("fate"), "fate", pa.array(fates, pa.string()))
    stated = pq.ParquetFile(path).metadata.metadata
    with pq.ParquetWriter(path, table.schema) as writer:
        writer.write_table(table)
        writer.add_key_value_metadata(stated)
    from corpus_kit.utils import sha256_file

    def fix_checksums(data: dict[str, Any]) -> None:
        for folder in data["restricted"]:
            for item in folder["files"]:
                if item["path"] == path.relative_to(second).as_posix():
                    item["sha256"], item["bytes"] = sha256_file(path), path.stat().st_size

    _reseal(second / "manifest.json", fix_checksums)
    assert recount(path)["dropped"] == {}
    problems = verify_dataset(second).problems
    assert any("ledger" in p.message for p in problems), problems


# -- diff ------------------------------------------------------------------------------------------------


def _release(folder: Path, name: str, records: list[dict[str, Any]], cli) -> Path:
    inputs = folder / f"{name}-in"
    inputs.mkdir()
    write_jsonl(inputs / "intake.jsonl", records)
    pipeline = write_pipeline(folder, inputs, STEPS, name=name)
    out = folder / name
    result = cli("run", pipeline, "-o", out, "-w", "2", "-q")
    assert result.exit_code == 0, result.output
    return out


def test_diff_gives_the_planted_numbers(tmp_path: Path, cli) -> None:
    rng = random.Random(11)
    texts = {f"r{i}": zh_text(rng) for i in range(100)}
    first = _release(tmp_path, "release1", [rec(key, text) for key, text in texts.items()], cli)
    second_records = []
    for i in range(100):
        key = f"r{i}"
        if i < 10:
            continue  # removed: not in release 2's input
        if i < 15:
            second_records.append(rec(key, f"短{i}"))  # removed: quality.min_chars in release 2
        elif i < 25:
            second_records.append(rec(key, texts[key] + "改"))  # changed
        else:
            second_records.append(rec(key, texts[key]))
    second_records += [rec(f"new{i}", zh_text(rng)) for i in range(12)]  # added
    second_records += [rec(f"dupe{i}", texts[f"r{i}"]) for i in range(60, 63)]  # dropped: dedup.exact
    second = _release(tmp_path, "release2", second_records, cli)
    assert_ledger_matches_manifest(second)

    result = cli("diff", first, second, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["added"], report["removed"], report["changed"], report["unchanged"]) == (12, 15, 10, 75)
    assert report["removed_by_reason"] == {"quality.min_chars": 5}
    assert report["removed_not_in_new_input"] == 10
    assert report["drift"]["supply_mode"] is None and report["drift"]["schema"] == {
        "added": [],
        "removed": [],
        "retyped": {},
    }
    text = cli("diff", first, second)
    assert text.exit_code == 0 and "added 12" in text.stdout and "quality.min_chars: 5" in text.stdout
    assert "not in NEW's input: 10" in text.stdout and "no licence, supply-mode" in text.stdout

    # drift: a copy of release 2 with another supply mode, licence and schema
    drifted = tmp_path / "drifted"
    shutil.copytree(second, drifted)
    data_file = next((drifted / "data").glob("*.parquet"))
    table = pq.read_table(data_file)
    table = table.drop_columns(["safety"]).append_column("extra", pa.array([1] * table.num_rows, pa.int8()))
    table = table.set_column(
        table.schema.get_field_index("pii_spans"), "pii_spans", table.column("pii_spans").cast(pa.int64())
    )
    pq.write_table(table, data_file)

    def drift(data: dict[str, Any]) -> None:
        data["supply"] = {"mode": "open"}
        data["licenses"] = {"CC0-1.0": data["counts"]["output"]}

    _reseal(drifted / "manifest.json", drift)
    report = diff_releases(first, drifted)
    assert report["drift"]["supply_mode"] == {"old": None, "new": "open"}
    assert report["drift"]["licenses"]["added"] == ["CC0-1.0"]
    assert report["drift"]["licenses"]["removed"] == ["CC-BY-4.0"]
    assert report["drift"]["schema"] == {
        "added": ["extra"],
        "removed": ["safety"],
        "retyped": {"pii_spans": {"old": "int32", "new": "int64"}},
    }
    assert (report["added"], report["removed"], report["changed"], report["unchanged"]) == (12, 15, 10, 75)


def test_compare_pairs_with_repeated_ids() -> None:
    dtype = np.dtype([("id", "<u8"), ("content", "<u8")])
    old = np.array([(1, 10), (1, 10), (2, 20), (3, 30), (4, 40)], dtype=dtype)
    new = np.array([(1, 10), (1, 11), (2, 21), (5, 50), (5, 51), (3, 30)], dtype=dtype)
    result = compare_pairs(old, new)
    # id 1: one unchanged, one changed; id 2 changed; id 3 unchanged; id 4 removed; id 5 added twice
    assert (result["unchanged"], result["changed"], result["removed"], result["added"]) == (2, 2, 1, 2)
    assert result["removed_ids"].tolist() == [4]


def test_demo_ledger_adds_up(tmp_path: Path, cli) -> None:
    out = tmp_path / "demo"
    assert cli("demo", "-o", out, "-q").exit_code == 0
    manifest = assert_ledger_matches_manifest(out)
    assert manifest.ledger is not None and manifest.ledger.rows == manifest.counts.input > 0
    assert "ledger/" in {folder.path for folder in manifest.restricted}


def test_every_reject_kind_has_its_rows(tmp_path: Path, cli) -> None:
    """A corrupt Parquet row group stands for its rows: one ledger row each, at its own row."""
    from tests.test_pipeline import make_mixed_folder

    good, bad = make_mixed_folder(tmp_path / "in")
    out = tmp_path / "out"
    assert cli("convert", tmp_path / "in", "-o", out, "-w", "2", "-q").exit_code == 0
    assert_ledger_matches_manifest(out)
    rows = ledger_rows(out)
    assert {row["id"] for row in rows if row["fate"] == "kept"} == good
    rejected = [row for row in rows if row["fate"] == "rejected"]
    assert len(rejected) == bad
    group = sorted(
        int(row["location"].split()[1]) for row in rejected if row["reason"] == "parquet.unreadable_row_group"
    )
    assert group == list(range(100, 200))
    assert all(row["stage"] == "read" and row["content_sha256"] is None for row in rejected)


def test_records_replaced_or_dropped_silently_are_still_accounted(tmp_path: Path) -> None:
    """A stage that hands its exclusion writer a new record (pii keeps a scrubbed id only) and a step
    that drops without one (sample) still leave one row per record, with the right location."""
    from datatrove.data import Document

    from corpus_kit.io.ledger import LedgerExclusion, LedgerSpec, finish_task, open_task

    folder = str(tmp_path / "ledger")
    task = open_task(LedgerSpec(folder, ("sample", "sample.not_drawn")), 0)
    docs = [Document(text=f"text {i}", id=f"d{i}", metadata={"source_line": i + 1}) for i in range(5)]
    for doc in docs:
        task.read(doc, "in.jsonl", "jsonl")
    pii = LedgerExclusion(folder, "pii")
    with pii:
        pii.write(Document(text="", id="<scrubbed>", metadata={"filter_reason": "pii.scan_budget"}), 0)
    task.kept_row(docs[1])
    task.kept_row(docs[4])  # d2 and d3 vanished before it: the sample step dropped them
    finish_task(folder, 0)
    rows = pq.read_table(tmp_path / "ledger" / "00000-ledger.parquet").to_pylist()
    summary = [(row["id"], row["location"], row["fate"], row["reason"]) for row in rows]
    assert summary == [
        ("<scrubbed>", "line 1", "dropped", "pii.scan_budget"),  # the id removed/ shows
        ("d1", "line 2", "kept", None),
        ("d2", "line 3", "dropped", "sample.not_drawn"),
        ("d3", "line 4", "dropped", "sample.not_drawn"),
        ("d4", "line 5", "kept", None),
    ]
    assert all(row["content_sha256"] == content_digest(f"text {i}") for i, row in enumerate(rows))
    assert all("\x00corpus-kit.ledger" not in doc.metadata for doc in (docs[1], docs[4]))
