"""Clause 9.2's manual check: ``corpus-kit safety sample`` draws a review sheet, ``safety review`` reads
the verdicts back into the manifest. Refusals are one line; record text never leaves the sheet."""

from __future__ import annotations

import csv
import json
import math
import shutil
import stat
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from corpus_kit.cli import app
from corpus_kit.governance.manifest import Manifest
from corpus_kit.governance.safety import data_checksum as data_sha256
from corpus_kit.stages.safety.assessment import ids_sha256
from tests.conftest import write_jsonl

LEXICON = Path(__file__).resolve().parents[1] / "rules" / "safety" / "synthetic_lexicon.yaml"
HEADER = ["id", "source", "excerpt", "verdict", "risk", "note"]
#: In every record's text and nowhere else: it must never be printed.
MARKER = "TEXTMARK"


def records(count: int, prefix: str = "r") -> list[dict]:
    rows = [
        {
            "id": f"{prefix}{i}",
            "text": f'{MARKER} 第{i}条记录，内容平常。\n第二行, "引号"',
            "metadata": {"source": f"src{i % 5}"},
        }
        for i in range(count)
    ]
    rows[3]["text"] = MARKER + "长" * 800  # cut to 500 characters in the sheet
    rows[4]["text"] = f"{MARKER} CRLF\r\nline, two"
    return rows


def invoke(*args: object):
    return CliRunner().invoke(app, [str(arg) for arg in args], catch_exceptions=False)


def build(base: Path, rows: list[dict], name: str, workers: int = 1, files: int = 3) -> Path:
    """A screened dataset from ``rows`` split over ``files`` JSONL files, meant for model training."""
    inputs = base / f"in-{name}"
    shutil.rmtree(inputs, ignore_errors=True)
    inputs.mkdir(parents=True)
    step = math.ceil(len(rows) / files)
    for part in range(files):
        write_jsonl(inputs / f"part{part}.jsonl", rows[part * step : (part + 1) * step])
    (inputs / "supply.yaml").write_text(
        "mode: cooperation\npartners: [Partner University]\nagreement_id: AGREEMENT-3\n"
        "permitted_uses: [model_training]\n"
    )
    out = base / name
    result = invoke(
        "safety",
        *[inputs / f"part{part}.jsonl" for part in range(files)],
        "-o",
        out,
        "--lexicon",
        LEXICON,
        "--name",
        name,
        "-w",
        workers,
        "-q",
        "--overwrite",
        "--supply",
        inputs / "supply.yaml",
    )
    assert result.exit_code == 0, result.output
    return out


def one_error_line(result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert MARKER not in result.output
    return lines[0]


def read_sheet(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def write_sheet(path: Path, rows: list[list[str]], sidecar_from: Path | None = None) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    if sidecar_from is not None:
        shutil.copy(sidecar_from.with_name(sidecar_from.name + ".json"), path.with_name(path.name + ".json"))
    return path


def filled(rows: list[list[str]], failing: int = 0) -> list[list[str]]:
    """The sheet with every row passed but the first ``failing`` (the first 10 of them with risk A1f)."""
    out = [list(rows[0])]
    for index, row in enumerate(rows[1:]):
        row = list(row)
        row[3] = "fail" if index < failing else "pass"
        row[4] = "A1f" if index < min(failing, 10) else ""
        out.append(row)
    return out


def wilson(passed: int, total: int, z: float = 1.959963984540054) -> float:
    p = passed / total
    return (p + z * z / (2 * total) - z * math.sqrt(p * (1 - p) / total + z * z / (4 * total**2))) / (
        1 + z * z / total
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("safety-assessment")
    return {
        "large": build(base, records(4100), "ds-large"),
        "small": build(base, records(300), "ds-small", workers=1),
        "small-w2": build(base, records(300), "ds-small", workers=2, files=3),
        "other": build(base, records(300, prefix="o"), "ds-other", files=1),
    }


@pytest.fixture
def datasets(built, tmp_path) -> dict[str, Path]:
    """Fresh copies: a test may change a manifest or a data file."""
    return {key: Path(shutil.copytree(path, tmp_path / "datasets" / key)) for key, path in built.items()}


def all_ids(dataset: Path) -> list[str]:
    manifest = Manifest.read(dataset / "manifest.json")
    ids: list[str] = []
    for item in manifest.files:
        ids += pq.read_table(dataset / item.path, columns=["id"]).column("id").to_pylist()
    return ids


def test_sample_larger_than_the_dataset_is_every_row(datasets, tmp_path):
    dataset = datasets["small"]
    sheet = tmp_path / "review" / "sheet.csv"
    result = invoke("safety", "sample", dataset, "--size", 10000, "--seed", 3, "-o", sheet)
    assert result.exit_code == 0, result.output
    assert "RESTRICTED" in result.output and "300 row(s)" in result.output and "seed 3" in result.output
    assert MARKER not in result.output
    assert sheet.read_bytes().startswith(b"id,source,excerpt,verdict,risk,note\r\n")  # no BOM
    rows = read_sheet(sheet)
    assert rows[0] == HEADER
    assert [row[0] for row in rows[1:]] == all_ids(dataset)  # every row, in dataset order
    by_id = {row[0]: row for row in rows[1:]}
    assert by_id["r3"][2] == MARKER + "长" * (500 - len(MARKER))
    assert by_id["r4"][2] == f"{MARKER} CRLF\r\nline, two"  # newlines kept, quoted
    assert by_id["r7"][1] == "src2" and by_id["r7"][3:] == ["", "", ""]
    assert stat.S_IMODE(sheet.stat().st_mode) == 0o600  # record text: owner only
    sidecar = json.loads((tmp_path / "review" / "sheet.csv.json").read_text())
    manifest = Manifest.read(dataset / "manifest.json")
    assert sidecar["dataset"] == "ds-small" and sidecar["seal_sha256"] == manifest.seal_sha256
    assert sidecar["data_sha256"] == data_sha256([item.sha256 for item in manifest.files])
    assert (sidecar["seed"], sidecar["size"], sidecar["sample_size"], sidecar["population"]) == (
        3,
        10000,
        300,
        300,
    )
    assert sidecar["sample_sha256"] == ids_sha256(row[0] for row in rows[1:])
    assert MARKER not in json.dumps(sidecar)


def test_same_seed_same_sheet_whatever_the_workers_other_seed_differs(datasets, tmp_path):
    one, two = datasets["small"], datasets["small-w2"]
    assert len(Manifest.read(one / "manifest.json").files) == 3  # the draw spans several data files
    sheets = {}
    for label, dataset, seed in (("a", one, 5), ("b", one, 5), ("w2", two, 5), ("other", one, 6)):
        sheets[label] = tmp_path / f"{label}.csv"
        result = invoke("safety", "sample", dataset, "--size", 100, "--seed", seed, "-o", sheets[label])
        assert result.exit_code == 0, result.output
    assert sheets["a"].read_bytes() == sheets["b"].read_bytes()
    assert all_ids(one) == all_ids(two)  # the same rows in the same order: the same draw
    assert sheets["a"].read_bytes() == sheets["w2"].read_bytes()
    assert sheets["a"].read_bytes() != sheets["other"].read_bytes()
    assert len(read_sheet(sheets["other"])) == 101


def test_review_round_trip_records_the_assessment(datasets, tmp_path):
    dataset = datasets["large"]
    assert invoke("card", dataset, "--language", "zh", "--creator", "City Data Office").exit_code == 0
    sheet = tmp_path / "sheet.csv"
    assert invoke("safety", "sample", dataset, "-o", sheet).exit_code == 0  # --size 4000, --seed 0
    rows = read_sheet(sheet)
    assert len(rows) == 4001
    labels = write_sheet(tmp_path / "labels.csv", filled(rows, failing=120), sidecar_from=sheet)
    # verdicts as people type them: any case, spaces around
    text = labels.read_text(encoding="utf-8").replace(",pass,", ", Pass ,", 7)
    labels.write_text(text, encoding="utf-8")
    result = invoke("safety", "review", dataset, "--labels", labels, "--reviewer", "safety team")
    assert result.exit_code == 0, result.output
    assert MARKER not in result.output
    assert "pass rate 0.970" in result.output and "MEETS" in result.output
    manual = Manifest.read(dataset / "manifest.json").safety.manual
    assert (manual.reviewed, manual.passed, manual.failed) == (4000, 3880, 120)
    assert manual.pass_rate == 0.97
    assert manual.wilson_lower_95 == pytest.approx(wilson(3880, 4000), abs=1e-12)
    assert manual.wilson_lower_95 == pytest.approx(0.9642, abs=1e-4)
    assert manual.failed_by_code == {"A1f": 10}
    assert (manual.population, manual.sample_size, manual.seed, manual.reviewer) == (
        4100,
        4000,
        0,
        "safety team",
    )
    assert manual.sample_sha256 == ids_sha256(row[0] for row in rows[1:])
    import hashlib

    assert manual.sheet_sha256 == hashlib.sha256(labels.read_bytes()).hexdigest()
    assert invoke("manifest", "verify", dataset).exit_code == 0
    assert "CK108" not in invoke("manifest", "validate", dataset).output
    # report and card re-rendered from the new manifest, the card's options kept
    assert "3,880/4,000 passed" in (dataset / "README.md").read_text(encoding="utf-8")
    assert "3,880/4,000 passed" in (dataset / "report.html").read_text(encoding="utf-8")
    assert "City Data Office" in (dataset / "croissant.json").read_text(encoding="utf-8")
    assert "- zh" in (dataset / "README.md").read_text(encoding="utf-8")
    # a corrected sheet of the same sample may be recorded again; below the policy it says so, exit 0
    write_sheet(labels, filled(rows, failing=200), sidecar_from=sheet)
    again = invoke("safety", "review", dataset, "--labels", labels)
    assert again.exit_code == 0, again.output
    assert "DOES NOT MEET" in again.output and "replaced the earlier manual assessment" in again.output
    assert Manifest.read(dataset / "manifest.json").safety.manual.passed == 3800
    assert invoke("manifest", "verify", dataset).exit_code == 0


def _edit(rows: list[list[str]], change: str) -> list[list[str]]:
    rows = [list(row) for row in rows]
    if change == "changed id":
        rows[5][0] = "r-unknown"
    elif change == "missing row":
        del rows[7]
    elif change == "reordered rows":
        rows[9], rows[10] = rows[10], rows[9]
    elif change == "extra row":
        rows.append(list(rows[-1]))
    elif change == "last row missing":
        del rows[-1]
    elif change == "bad verdict":
        rows[11][3] = "maybe " + MARKER
    elif change == "empty verdict":
        rows[11][3] = ""
    elif change == "unknown risk":
        rows[12][4] = "Z9"
    elif change == "risk on a pass":
        rows[50][4] = "A1a"
    return rows


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("changed id", "not in the sample"),
        ("missing row", "a row is missing"),
        ("reordered rows", "reordered"),
        ("extra row", "an extra row"),
        ("last row missing", "is missing"),
        ("bad verdict", "pass or fail"),
        ("empty verdict", "it is empty"),
        ("unknown risk", "Annex A code"),
        ("risk on a pass", "for a pass"),
    ],
)
def test_review_refuses_a_sheet_that_is_not_the_sample(datasets, tmp_path, change, words):
    dataset = datasets["small"]
    sheet = tmp_path / "sheet.csv"
    assert invoke("safety", "sample", dataset, "--size", 100, "-o", sheet).exit_code == 0
    rows = filled(read_sheet(sheet), failing=3)
    labels = write_sheet(tmp_path / "labels.csv", _edit(rows, change), sidecar_from=sheet)
    before = (dataset / "manifest.json").read_bytes()
    line = one_error_line(invoke("safety", "review", dataset, "--labels", labels))
    assert f"{labels}:" in line and words in line, line
    assert (dataset / "manifest.json").read_bytes() == before


def test_review_names_the_line_of_a_multi_line_row(datasets, tmp_path):
    dataset = datasets["small"]
    sheet = tmp_path / "sheet.csv"
    assert invoke("safety", "sample", dataset, "--size", 10000, "-o", sheet).exit_code == 0
    rows = filled(read_sheet(sheet))
    position = next(index for index, row in enumerate(rows) if row[0] == "r5")  # after r4's two lines
    rows[position][3] = "?"
    labels = write_sheet(tmp_path / "labels.csv", rows, sidecar_from=sheet)
    physical = labels.read_text(encoding="utf-8").split("\n")
    line_number = next(number for number, text in enumerate(physical, 1) if text.startswith("r5,"))
    line = one_error_line(invoke("safety", "review", dataset, "--labels", labels))
    assert f"{labels}:{line_number} (row {position + 1})" in line


def test_review_refuses_malformed_or_foreign_files(datasets, tmp_path):
    dataset = datasets["small"]
    sheet = tmp_path / "sheet.csv"
    assert invoke("safety", "sample", dataset, "--size", 20, "-o", sheet).exit_code == 0
    sidecar = sheet.with_name("sheet.csv.json")
    bad = tmp_path / "bad.csv"
    shutil.copy(sidecar, tmp_path / "bad.csv.json")
    bad.write_text('id,source,excerpt,verdict,risk,note\nr0,s,"a"b,pass,,\n', encoding="utf-8")
    assert "bad.csv:2: malformed CSV" in one_error_line(invoke("safety", "review", dataset, "--labels", bad))
    bad.write_bytes("id,source,excerpt,verdict,risk,note\nr0,s,第一,pass,,\n".encode("gbk"))
    assert "not UTF-8" in one_error_line(invoke("safety", "review", dataset, "--labels", bad))
    bad.write_text("identifier;verdict\n", encoding="utf-8")
    assert "header" in one_error_line(invoke("safety", "review", dataset, "--labels", bad))
    (tmp_path / "bad.csv.json").write_text('{"kind": "something else"}')
    assert "not a sample record" in one_error_line(invoke("safety", "review", dataset, "--labels", bad))


def test_review_refuses_a_sheet_of_another_dataset(datasets, tmp_path):
    sheet = tmp_path / "sheet.csv"
    assert invoke("safety", "sample", datasets["other"], "--size", 50, "-o", sheet).exit_code == 0
    labels = write_sheet(tmp_path / "labels.csv", filled(read_sheet(sheet)), sidecar_from=sheet)
    line = one_error_line(invoke("safety", "review", datasets["small"], "--labels", labels))
    assert '"ds-other"' in line and '"ds-small"' in line
    # without the sidecar, the ids themselves give it away
    labels.with_name("labels.csv.json").unlink()
    args = ("safety", "review", datasets["small"], "--labels", labels)
    assert "--seed and --size" in one_error_line(invoke(*args), code=2)
    line = one_error_line(invoke(*args, "--seed", 0, "--size", 50))
    assert f"{labels}:2 (row 2): the id is not in the sample" in line


def test_review_without_the_sidecar_uses_seed_and_size(datasets, tmp_path):
    dataset = datasets["small"]
    sheet = tmp_path / "sheet.csv"
    assert invoke("safety", "sample", dataset, "--size", 40, "--seed", 9, "-o", sheet).exit_code == 0
    labels = write_sheet(tmp_path / "labels.csv", filled(read_sheet(sheet), failing=2))
    labels.write_bytes(b"\xef\xbb\xbf" + labels.read_bytes())  # a spreadsheet's "CSV UTF-8" adds a BOM
    result = invoke("safety", "review", dataset, "--labels", labels, "--seed", 9, "--size", 40)
    assert result.exit_code == 0, result.output
    manual = Manifest.read(dataset / "manifest.json").safety.manual
    assert (manual.reviewed, manual.passed, manual.seed, manual.sample_size) == (40, 38, 9, 40)
    assert "DOES NOT MEET" in result.output  # 40 of 300 rows reviewed


def test_review_refuses_when_the_data_changed_after_sampling(datasets, built, tmp_path):
    dataset = datasets["small"]
    sheet = tmp_path / "sheet.csv"
    assert invoke("safety", "sample", dataset, "--size", 30, "-o", sheet).exit_code == 0
    labels = write_sheet(tmp_path / "labels.csv", filled(read_sheet(sheet)), sidecar_from=sheet)
    # rebuilt from other input: a consistent dataset, other data files
    rebuilt = build(tmp_path, records(290), "ds-small")
    line = one_error_line(invoke("safety", "review", rebuilt, "--labels", labels))
    assert "data files changed since the sheet was sampled" in line
    # a data file changed in place: the dataset no longer verifies
    first = Manifest.read(dataset / "manifest.json").files[0].path
    table = pq.read_table(dataset / first)
    pq.write_table(table.slice(1), dataset / first)
    line = one_error_line(invoke("safety", "review", dataset, "--labels", labels))
    assert first in line and "does not verify" in line


def test_sample_refuses_unverified_unscreened_and_inside_the_dataset(datasets, tmp_path):
    dataset = datasets["small"]
    inside = dataset / "review.csv"
    assert "inside the dataset" in one_error_line(invoke("safety", "sample", dataset, "-o", inside), code=2)
    assert "inside the dataset" in one_error_line(
        invoke("safety", "sample", dataset, "-o", dataset / "rejects" / "sheet.csv"), code=2
    )
    assert not inside.exists() and not (dataset / "rejects" / "sheet.csv").exists()
    sheet = tmp_path / "sheet.csv"
    assert invoke("safety", "sample", dataset, "--size", 10, "-o", sheet).exit_code == 0
    assert "--overwrite" in one_error_line(invoke("safety", "sample", dataset, "-o", sheet), code=2)
    assert invoke("safety", "sample", dataset, "--size", 12, "-o", sheet, "--overwrite").exit_code == 0
    assert len(read_sheet(sheet)) == 13
    # not screened
    plain = tmp_path / "plain"
    write_jsonl(tmp_path / "plain.jsonl", records(20))
    assert invoke("convert", tmp_path / "plain.jsonl", "-o", plain, "-q").exit_code == 0
    assert "not screened" in one_error_line(invoke("safety", "sample", plain, "-o", tmp_path / "p.csv"))
    # a manifest edited by hand
    path = dataset / "manifest.json"
    path.write_text(path.read_text(encoding="utf-8").replace('"ds-small"', '"ds-edited"'), encoding="utf-8")
    assert "seal_sha256" in one_error_line(invoke("safety", "sample", dataset, "-o", tmp_path / "e.csv"))
    assert "not a folder" in one_error_line(invoke("safety", "sample", tmp_path / "none", "-o", sheet), 2)
    assert not (tmp_path / "none").exists()


def test_rows_are_found_across_files_row_groups_and_batches(datasets, monkeypatch):
    from corpus_kit.stages.safety import assessment

    dataset = datasets["small"]
    expected = all_ids(dataset)
    manifest = Manifest.read(dataset / "manifest.json")
    for item in manifest.files:  # many small row groups (the checksums no longer matter here)
        table = pq.read_table(dataset / item.path)
        pq.write_table(table, dataset / item.path, row_group_size=7)
    monkeypatch.setattr(assessment, "_BATCH_ROWS", 3)
    checked = assessment.CheckedDataset(dataset, manifest, b"")
    for size, seed in ((1, 0), (17, 4), (150, 1), (300, 2)):
        indices = assessment.sample_indices(checked.population, size, seed)
        assert assessment.sample_ids(checked, indices) == [expected[int(i)] for i in indices]
    assert list(assessment.sample_indices(300, 300, 9)) == list(range(300))


def rules(dataset: Path) -> set[str]:
    result = invoke("manifest", "validate", dataset, "--format", "json")
    return {finding["rule"] for finding in json.loads(result.output)["manifests"][0]["findings"]}


def test_manifest_validate_sees_the_assessment(datasets, tmp_path):
    dataset = datasets["small"]  # meant for model training
    assert {"CK134"} <= rules(dataset) and "CK135" not in rules(dataset)
    sheet = tmp_path / "sheet.csv"
    assert invoke("safety", "sample", dataset, "--size", 10000, "-o", sheet).exit_code == 0
    labels = write_sheet(tmp_path / "labels.csv", filled(read_sheet(sheet), failing=3), sidecar_from=sheet)
    result = invoke("safety", "review", dataset, "--labels", labels)
    assert result.exit_code == 0 and "MEETS" in result.output, result.output  # 297/300 on all rows
    assert not {"CK108", "CK134", "CK135"} & rules(dataset)
    labels = write_sheet(tmp_path / "labels.csv", filled(read_sheet(sheet), failing=30), sidecar_from=sheet)
    assert "DOES NOT MEET" in invoke("safety", "review", dataset, "--labels", labels).output
    assert "CK135" in rules(dataset) and "CK108" not in rules(dataset)


def test_a_card_from_a_custom_template_is_left_alone_with_a_note(datasets, tmp_path):
    dataset = datasets["small"]
    template = tmp_path / "card.md.j2"
    template.write_text("Our own words.\n\n{{ default_body }}\n", encoding="utf-8")
    assert invoke("card", dataset, "--card-template", template).exit_code == 0
    card = (dataset / "README.md").read_bytes()
    sheet = tmp_path / "sheet.csv"
    assert invoke("safety", "sample", dataset, "--size", 5, "-o", sheet).exit_code == 0
    labels = write_sheet(tmp_path / "labels.csv", filled(read_sheet(sheet)), sidecar_from=sheet)
    result = invoke("safety", "review", dataset, "--labels", labels)
    assert result.exit_code == 0, result.output
    assert (dataset / "README.md").read_bytes() == card
    assert "note:" in result.output and "corpus-kit card" in result.output
    assert "5/5 passed" in (dataset / "report.html").read_text(encoding="utf-8")


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_defused(tmp_path):
    rows = [
        {"id": "f0", "text": '=HYPERLINK("http://x","y")', "metadata": {"source": "@source"}},
        {"id": "f1", "text": "+1 普通", "metadata": {"source": "s"}},
        {"id": "f2", "text": "plain", "metadata": {"source": "s"}},
    ]
    dataset = build(tmp_path, rows, "formulas", files=1)
    sheet = tmp_path / "review" / "sheet.csv"
    sheet.parent.mkdir()
    assert invoke("safety", "sample", dataset, "-o", sheet).exit_code == 0
    cells = {row[0]: row[1:3] for row in read_sheet(sheet)[1:]}
    assert cells["f0"] == ["'@source", '\'=HYPERLINK("http://x","y")']
    assert cells["f1"][1] == "'+1 普通" and cells["f2"] == ["s", "plain"]
    # the review reads ids only: the defused cells do not stand in its way
    write_sheet(sheet, filled(read_sheet(sheet)))
    assert invoke("safety", "review", dataset, "--labels", sheet).exit_code == 0
