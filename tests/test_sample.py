"""``corpus-kit sample``: token budget, weights, determinism, the manifest's sample and supply blocks."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from corpus_kit.cli import app
from corpus_kit.governance.draw import SupplyConflict, narrow_supply
from corpus_kit.governance.manifest import Supply
from corpus_kit.governance.policy import validate_manifest_data
from corpus_kit.governance.verify import verify_dataset
from corpus_kit.pipeline.sample import fill, parse_weights
from corpus_kit.stages.tokens.tokenizer import load_tokenizer
from tests.conftest import write_jsonl

FUTURE = (date.today() + timedelta(days=400)).isoformat()
_WORDS = ["open", "data", "city", "river", "budget", "school", "health", "record", "council", "market"]
_HANZI = "数据治理语料训练模型中文文本质量检查城市开放公共服务交通医疗教育"

AUTHORISED = {
    "mode": "authorised",
    "authoriser": "City Data Bureau",
    "operator": "City Data Operations Co.",
    "authorisation_id": "AUTH-2026-01",
    "valid_until": FUTURE,
    "permitted_uses": ["research", "evaluation"],
    "classification": {"grade": "general", "general_level": 2, "basis": "GB/T 43697-2024 6.5"},
}


def _invoke(*args: object) -> Any:
    return CliRunner().invoke(app, [str(arg) for arg in args], catch_exceptions=False)


def _records(prefix: str, count: int, chinese: bool, licences: list[str], with_tokens: bool) -> list[dict]:
    rng = random.Random(prefix)
    counter = load_tokenizer("o200k_base").count
    records = []
    for index in range(count):
        if chinese:
            text = "".join(rng.choice(_HANZI) for _ in range(rng.randint(20, 400)))
        else:
            text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(15, 300)))
        item: dict[str, Any] = {
            "id": f"{prefix}{index}",
            "text": text,
            "metadata": {
                "source": f"{prefix}-src{index % 3}",
                "license": licences[index % len(licences)],
                "language": "zh-Hans" if chinese else "en",
            },
        }
        if with_tokens:
            item["tokens"] = counter(text)
        records.append(item)
    return records


def _parent(
    root: Path, name: str, records: list[dict], supply: dict | None, command: str = "convert"
) -> Path:
    source = write_jsonl(root / f"{name}.jsonl", records)
    args: list[object] = [command, source, "-o", root / name, "-q"]
    if supply is not None:
        supply_file = root / f"{name}.supply.json"  # JSON is YAML
        supply_file.write_text(json.dumps(supply))
        args += ["--supply", supply_file]
    result = _invoke(*args)
    assert result.exit_code == 0, result.output
    return root / name


def _digest(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def parents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("parents")
    english = _records("en", 500, False, ["CC-BY-4.0", "MIT"], with_tokens=False)
    chinese = _records("zh", 400, True, ["CC0-1.0"], with_tokens=False)
    return {
        "en": _parent(root, "corpus-en", english, AUTHORISED, command="tokens"),  # a tokens block
        "zh": _parent(root, "corpus-zh", chinese, {"mode": "open"}),
        "trade": _parent(
            root,
            "corpus-trade",
            _records("tr", 50, False, ["CC-BY-4.0"], with_tokens=True),
            {
                "mode": "targeted_trade",
                "buyers": ["Model Lab"],
                "contract_id": "C-1",
                "valid_until": FUTURE,
                "permitted_uses": ["research"],
            },
        ),
    }


def _sample(parents: list[Path], output: Path, *args: object) -> dict[str, Any]:
    result = _invoke("sample", *parents, "-o", output, "-q", *args)
    assert result.exit_code == 0, result.output
    return json.loads((output / "manifest.json").read_text())


def _rows(output: Path) -> list[dict[str, Any]]:
    return pq.read_table(output / "data", columns=["id", "text", "tokens", "language", "license"]).to_pylist()


def test_language_weights_hit_the_budget_and_the_manifest_validates(
    parents: dict[str, Path], tmp_path: Path
) -> None:
    before = {name: _digest(path) for name, path in parents.items()}
    target = 40_000
    out = tmp_path / "mix"
    manifest = _sample(
        [parents["zh"], parents["en"]], out, "--tokens", target, "--by", "language",
        "--weights", "zh-Hans=0.6", "--weights", "en=0.4", "--seed", "7",
    )  # fmt: skip
    block = manifest["sample"]
    assert abs(block["tokens"] - target) <= target * 0.01
    for key, share in {"zh-Hans": 0.6, "en": 0.4}.items():
        assert abs(block["achieved"][key] - share) <= 0.02
    # the output's tokens column is the draw, and an independent count of the text agrees
    rows = _rows(out)
    counter = load_tokenizer("o200k_base").count
    assert sum(row["tokens"] for row in rows) == block["tokens"] == manifest["tokens"]["total"]
    assert all(counter(row["text"]) == row["tokens"] for row in rows)
    zh = sum(row["tokens"] for row in rows if row["language"] == "zh-Hans")
    assert abs(zh / block["tokens"] - 0.6) <= 0.02
    # the parents: rows, manifest sha256, the English parent's column used, the Chinese counted
    by_name = {item["name"]: item for item in block["parents"]}
    assert by_name["corpus-en"]["counted"] == 0 and by_name["corpus-zh"]["counted"] == 400
    assert (
        by_name["corpus-en"]["manifest_sha256"]
        == hashlib.sha256((parents["en"] / "manifest.json").read_bytes()).hexdigest()
    )
    # accounting: every parent row is kept or dropped as not drawn
    counts = manifest["counts"]
    assert counts["input"] == 900 and counts["output"] == len(rows) == block["rows"]
    assert counts["dropped"] == {"sample.not_drawn": 900 - len(rows)}
    # the supply is the authorised parent's (open adds no terms); it validates and verifies
    assert manifest["supply"]["mode"] == "authorised"
    assert manifest["supply"]["authorisation_id"] == "AUTH-2026-01"
    assert block["supply"] == "narrowed"
    findings = validate_manifest_data((out / "manifest.json").read_bytes())
    assert [f for f in findings if f.severity == "error"] == [], findings
    assert verify_dataset(out).problems == []
    assert _invoke("manifest", "validate", out).exit_code == 0
    assert _invoke("manifest", "verify", out).exit_code == 0
    assert {name: _digest(path) for name, path in parents.items()} == before  # parents unchanged


def test_licence_weights(parents: dict[str, Path], tmp_path: Path) -> None:
    target = 30_000
    weights = {"CC-BY-4.0": 0.5, "MIT": 0.2, "CC0-1.0": 0.3}
    manifest = _sample(
        [parents["en"], parents["zh"]], tmp_path / "lic", "--tokens", "30k", "--by", "license",
        *[part for key, share in weights.items() for part in ("--weights", f"{key}={share}")],
    )  # fmt: skip
    block = manifest["sample"]
    assert abs(block["tokens"] - target) <= target * 0.01
    assert set(block["achieved"]) == set(weights)
    for key, share in weights.items():
        assert abs(block["achieved"][key] - share) <= 0.02
    assert set(manifest["licenses"]) == set(weights)  # the licence facts of what was drawn
    assert manifest["license"]["expression"]


def test_same_seed_is_byte_identical_and_another_seed_draws_otherwise(
    parents: dict[str, Path], tmp_path: Path
) -> None:
    args = ("--tokens", 25_000, "--by", "language", "--weights", "en=0.5", "--weights", "zh-Hans=0.5")
    _sample([parents["en"], parents["zh"]], tmp_path / "one", *args, "--seed", "11")
    _sample([parents["zh"], parents["en"]], tmp_path / "two", *args, "--seed", "11")  # other order
    _sample([parents["en"], parents["zh"]], tmp_path / "three", *args, "--seed", "12")
    first, second = _digest(tmp_path / "one" / "data"), _digest(tmp_path / "two" / "data")
    assert first == second and first
    ids = {row["id"] for row in _rows(tmp_path / "one")}
    assert ids != {row["id"] for row in _rows(tmp_path / "three")}


def test_uniform_draw_and_another_tokenizer_recounts(parents: dict[str, Path], tmp_path: Path) -> None:
    manifest = _sample([parents["en"], parents["zh"]], tmp_path / "u", "--tokens", 10_000, "--seed", "1")
    block = manifest["sample"]
    assert abs(block["tokens"] - 10_000) <= 100 and block["by"] is None and block["achieved"] == {}
    manifest = _sample(
        [parents["en"]], tmp_path / "c", "--tokens", 5_000, "--tokenizer", "cl100k_base", "--by", "license"
    )
    block = manifest["sample"]
    assert block["tokenizer"]["name"] == "cl100k_base"
    assert block["parents"][0]["counted"] == 500  # counted with o200k_base: recounted
    counter = load_tokenizer("cl100k_base").count
    assert all(counter(row["text"]) == row["tokens"] for row in _rows(tmp_path / "c"))
    assert manifest["supply"] == json.loads((parents["en"] / "manifest.json").read_text())["supply"]
    assert block["supply"] == "identical"
    # a tokens column without a manifest tokens block (read from the input) counts as o200k_base's
    manifest = _sample([parents["trade"]], tmp_path / "t", "--tokens", 2_000)
    assert manifest["sample"]["parents"][0]["counted"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--by", "language", "--weights", "en=0.9", "--weights", "zh-Hans=0.1", "--tokens", "200k"),
            "language=en holds",
        ),
        (("--by", "language", "--weights", "en=0.5", "--weights", "zh-Hans=0.4"), "add up to 0.9, not 1"),
        (("--by", "language", "--weights", "fr=0.5", "--weights", "en=0.5"), "no rows with language=fr"),
        (("--weights", "en=1"), "--weights needs --by"),
        (("--by", "colour"), "--by 'colour'"),
        (("--by", "language", "--weights", "en=lots"), "between 0 and 1"),
    ],
)
def test_bad_requests_are_one_line_usage_errors(
    parents: dict[str, Path], tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = _invoke("sample", parents["en"], parents["zh"], "-o", tmp_path / "x", "--tokens", 60_000, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x" / "manifest.json").exists()


def test_insufficient_tokens_name_available_and_needed(parents: dict[str, Path], tmp_path: Path) -> None:
    result = _invoke("sample", parents["en"], "-o", tmp_path / "x", "--tokens", "5M")
    assert result.exit_code == 2
    assert "5,000,000 needed" in result.output and "tokens" in result.output


def test_parents_with_unmergeable_supply_are_refused(parents: dict[str, Path], tmp_path: Path) -> None:
    result = _invoke("sample", parents["en"], parents["trade"], "-o", tmp_path / "x", "--tokens", 1000)
    assert result.exit_code == 2
    assert "supply.mode" in result.output and "authorised and targeted_trade" in result.output


def test_a_changed_parent_is_refused(parents: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(parents["zh"], copy)
    data = next((copy / "data").glob("*.parquet"))
    data.write_bytes(data.read_bytes()[:-1] + b"\0")
    result = _invoke("sample", copy, "-o", tmp_path / "x", "--tokens", 1000)
    assert result.exit_code == 1
    assert "no longer matches its manifest" in result.output
    result = _invoke("sample", parents["zh"], parents["zh"], "-o", tmp_path / "y", "--tokens", 1000)
    assert result.exit_code == 2 and "named twice" in result.output


# -- the pure parts ----------------------------------------------------------------------------------


def test_fill_overshoot_is_bounded() -> None:
    rng = np.random.default_rng(0)
    tokens = rng.integers(1, 2_000, size=5_000)
    for target in (1, 999, 50_000, 1_000_000):
        taken = fill(tokens, target, target // 200)
        total = int(tokens[taken].sum())
        assert target <= total <= target + max(target // 200, 0) or total == target
    # one huge row, then small ones: the huge row is skipped and small rows fill the target
    tokens = np.array([10, 100_000] + [50] * 400)
    taken = fill(tokens, 10_000, 50)
    assert 1 not in taken and 10_000 <= tokens[taken].sum() <= 10_050
    # only rows too large to fit: one ends the fill
    assert fill(np.array([5_000, 5_000]), 6_000, 30).tolist() == [0, 1]
    assert fill(np.array([5_000, 9_000, 9_000]), 6_000, 30).tolist() == [0, 1]


def test_parse_weights() -> None:
    assert parse_weights(["en=0.25", "zh-Hans=0.75"]) == {"en": 0.25, "zh-Hans": 0.75}
    assert parse_weights(["a=b=1"]) == {"a=b": 1.0}
    for bad in (["en"], ["en=0.5", "en=0.5"], ["en=-1", "zh=2"], ["en=nan"], ["=1"]):
        with pytest.raises(Exception, match="--weights"):
            parse_weights(bad)


def _supply(**fields: Any) -> Supply:
    return Supply.model_validate(fields)


def test_identical_blocks_are_kept() -> None:
    block = _supply(**AUTHORISED)
    narrowed, notes = narrow_supply([block, block.model_copy(deep=True)])
    assert narrowed == block and notes == []
    assert narrow_supply([None, None]) == (None, [])


def test_open_parents_take_the_restricted_mode_and_uses_are_intersected() -> None:
    coop_a = _supply(mode="cooperation", partners=["Lab A", "Lab B"], agreement_id="AG-1",
                     permitted_uses=["research", "model_training"], valid_until=FUTURE)  # fmt: skip
    coop_b = _supply(mode="cooperation", partners=["Lab B", "Lab C"], agreement_id="AG-1",
                     permitted_uses=["research"], valid_until="2099-01-01")  # fmt: skip
    narrowed, notes = narrow_supply([_supply(mode="open"), coop_a, coop_b])
    assert narrowed is not None
    assert narrowed.mode.value == "cooperation" and narrowed.partners == ["Lab B"]
    assert narrowed.permitted_uses == ["research"] and narrowed.agreement_id == "AG-1"
    assert narrowed.valid_until == date.fromisoformat(FUTURE)  # the earliest
    assert any(note.startswith("mode:") for note in notes)
    assert any(note.startswith("partners:") for note in notes)


def test_commercial_only_if_every_parent_allows_it() -> None:
    yes = _supply(mode="open", permitted_uses=["research", "commercial"], commercial_use=True)
    no = _supply(mode="open", permitted_uses=["research"], commercial_use=False)
    unsaid = _supply(mode="open")
    narrowed, _ = narrow_supply([yes, no])
    assert narrowed is not None and not narrowed.commercial and narrowed.commercial_use is False
    narrowed, _ = narrow_supply([yes, unsaid])
    assert narrowed is not None and not narrowed.commercial
    narrowed, _ = narrow_supply([yes, _supply(mode="open", commercial_use=True)])
    assert narrowed is not None and narrowed.commercial


def test_classification_highest_grade_and_weakest_consent() -> None:
    general = _supply(mode="open", classification={
        "grade": "general", "general_level": 1, "pi": {"contains": True, "consent": "separate"}})  # fmt: skip
    important = _supply(mode="open", classification={
        "grade": "important", "pi": {"sensitive": ["medical_health"], "consent": "other_basis"}})  # fmt: skip
    narrowed, notes = narrow_supply([general, important])
    assert any(note.startswith("classification.grade") for note in notes)
    assert narrowed is not None and narrowed.classification is not None
    assert narrowed.classification.grade == "important"
    assert narrowed.classification.general_level is None
    pi = narrowed.classification.pi
    assert pi is not None and pi.contains and pi.sensitive == ["medical_health"]
    assert pi.consent == "other_basis"
    # a parent without a grade counts as important: the result declares none, unless one is core
    narrowed, _ = narrow_supply([general, _supply(mode="open")])
    assert narrowed is not None and narrowed.classification is not None
    assert narrowed.classification.grade is None
    core = _supply(mode="authorised", **{k: v for k, v in AUTHORISED.items() if k != "mode"})
    core.classification = core.classification.model_copy(update={"grade": "core", "general_level": None})  # type: ignore[union-attr]
    narrowed, _ = narrow_supply([_supply(mode="open"), core])
    assert narrowed is not None and narrowed.classification.grade == "core"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("blocks", "field"),
    [
        ([AUTHORISED, {"mode": "cooperation", "partners": ["A"], "agreement_id": "X"}], "supply.mode"),
        ([{"mode": "conditional_open", "conditions": "c", "access_contact": "o"},
          {"mode": "cooperation", "partners": ["A"], "agreement_id": "X"}], "supply.mode"),
        ([{"mode": "cooperation", "partners": ["A"], "agreement_id": "X"},
          {"mode": "cooperation", "partners": ["A"], "agreement_id": "Y"}], "supply.agreement_id"),
        ([{"mode": "targeted_trade", "buyers": ["A"], "contract_id": "C"},
          {"mode": "targeted_trade", "buyers": ["B"], "contract_id": "C"}], "supply.buyers"),
        ([{"mode": "open", "permitted_uses": ["research"]}, {"mode": "open", "permitted_uses": ["eval"]}],
         "supply.permitted_uses"),
        ([{"mode": "open", "exchange": "SZDEX"}, {"mode": "open", "exchange": "SHDEX"}], "supply.exchange"),
        ([{"mode": "open"}, None], "declares no supply block"),
        ([{"mode": "open", "valid_until": "2020-01-01"}, {"mode": "open"}], "supply.valid_until"),
    ],
)  # fmt: skip
def test_unmergeable_blocks_are_refused_naming_the_field(blocks: list[dict | None], field: str) -> None:
    supplies = [None if block is None else _supply(**block) for block in blocks]
    with pytest.raises(SupplyConflict, match=field.replace(".", r"\.")):
        narrow_supply(supplies, ["first", "second"])


def test_narrowed_block_is_never_wider_than_a_parent() -> None:
    """Every combination that is accepted: uses, parties and dates are within each parent's."""
    pool: list[dict[str, Any]] = [
        {"mode": "open"},
        {"mode": "open", "permitted_uses": ["research", "commercial"], "commercial_use": True},
        {"mode": "cooperation", "partners": ["A", "B"], "agreement_id": "X", "permitted_uses": ["research"]},
        {"mode": "cooperation", "partners": ["B"], "agreement_id": "X", "valid_until": FUTURE},
        AUTHORISED,
    ]
    for first in pool:
        for second in pool:
            parents = [_supply(**first), _supply(**second)]
            try:
                narrowed, _ = narrow_supply(parents)
            except SupplyConflict:
                continue
            assert narrowed is not None
            for parent in parents:
                if parent.permitted_uses:
                    assert set(narrowed.permitted_uses) <= set(parent.permitted_uses)
                if narrowed.commercial:
                    assert parent.commercial
                if parent.partners:
                    assert set(narrowed.partners) <= set(parent.partners)
                if parent.valid_until is not None:
                    assert narrowed.valid_until is not None and narrowed.valid_until <= parent.valid_until
                if parent.mode.value != "open":
                    assert narrowed.mode == parent.mode


OPEN_GENERAL = {
    "mode": "open",
    "classification": {"grade": "general", "general_level": 1, "basis": "GB/T 43697-2024 6.5"},
}


def test_an_open_sample_inherits_its_parents_pii_scrubbing(tmp_path: Path) -> None:
    phone = [
        {
            "id": f"p{i}",
            "text": f"热线 1381234{i:04d} 提供城市开放数据服务。" * 3,
            "metadata": {"license": "CC0-1.0", "language": "zh-Hans"},
        }
        for i in range(30)
    ]
    plain = _records("q", 60, chinese=False, licences=["CC0-1.0"], with_tokens=False)
    first = _parent(tmp_path, "scrubbed-a", phone + plain[:30], OPEN_GENERAL, command="pii")
    second = _parent(tmp_path, "scrubbed-b", plain[30:], OPEN_GENERAL, command="pii")
    out = tmp_path / "sample"
    result = _invoke("sample", first, second, "-o", out, "--tokens", 2000, "--seed", 3, "-q")
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    pii = manifest["pii"]
    versions = [json.loads((parent / "manifest.json").read_text())["dataset"] for parent in (first, second)]
    assert pii["inherited_from"] == [f"{info['name']} {info['version']}" for info in versions]
    assert pii["entities"] == {} and pii["operator"] == "replace"
    spans = pq.read_table(out / "data", columns=["pii_spans"]).column("pii_spans").to_pylist()
    assert pii["documents"] == sum(1 for count in spans if (count or 0) > 0) > 0
    findings = validate_manifest_data((out / "manifest.json").read_text())
    assert not [f for f in findings if f.severity == "error"], findings
    assert _invoke("card", out).exit_code == 0  # a new process knows no sample stage: the card still tells
    card = (out / "README.md").read_text()
    assert "## Sample" in card and "scrubbed-a" in card
    assert "as every parent declares them (identical blocks)" in card
    # a parent that was never scrubbed: nothing is claimed, and the open sample fails CK111
    raw = _parent(tmp_path, "raw", plain[:20], OPEN_GENERAL)
    mixed = tmp_path / "mixed"
    assert _invoke("sample", first, raw, "-o", mixed, "--tokens", 1000, "-q").exit_code == 0
    manifest = json.loads((mixed / "manifest.json").read_text())
    assert manifest["pii"] is None
    assert "CK111" in {f.rule for f in validate_manifest_data((mixed / "manifest.json").read_text())}
