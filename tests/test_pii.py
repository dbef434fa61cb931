"""PII stage: checksums, CJK boundaries, decoys, operators, manifest counts, and no value leaking anywhere."""

from __future__ import annotations

import importlib.util
import json
import random
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datatrove.data import Document

from corpus_kit.errors import UsageError
from corpus_kit.governance.manifest import Manifest
from corpus_kit.stages.pii.recognizers import (
    ScanBudgetExceeded,
    bank_card,
    bundled_patterns,
    card_brands,
    cn_id_card,
    cn_uscc,
    credit_card,
    hk_id,
    iban,
    luhn,
    pattern_problem,
    register_pii_validator,
    tw_id,
)
from corpus_kit.stages.pii.scrubber import (
    HASH_KEY_ENV,
    PiiScrubber,
    digit_runs,
    digit_runs_vectorised,
    mask_value,
    prescan_hits,
    windows_around,
)
from tests.conftest import write_jsonl

REPO = Path(__file__).resolve().parents[1]


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_pii", REPO / "benchmarks" / "bench_pii.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def scrubber() -> PiiScrubber:
    return PiiScrubber()


def test_checksum_worked_examples() -> None:
    assert cn_id_card("440305199003071236", False) and cn_id_card("11010519491231002X", False)
    assert not cn_id_card("440305199003071237", False)  # wrong check digit
    assert not cn_id_card("440305199002301236", False)  # 1990-02-30 is no date
    assert cn_uscc("91440300MA5FABCD7B", False) and cn_uscc("91110000600037341L", False)
    assert not cn_uscc("91440300MA5FABCD7C", False)
    assert luhn("6217001234567890122") and bank_card("6217001234567890122", False)
    assert hk_id("A123456(3)", False) and hk_id("CA182361(1)", False) and not hk_id("A123456(4)", False)
    assert tw_id("A123456789", False) and tw_id("A800000014", False) and not tw_id("A123456788", False)
    assert iban("GB82 WEST 1234 5698 7654 32", False) and not iban("GB82 WEST 1234 5698 7654 33", False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("请拨打13812345678咨询", "请拨打<PHONE_NUMBER>咨询"),
        ("身份证号440305199003071236已登记", "身份证号<CN_ID_CARD>已登记"),
        ("邮箱zhangsan@sz.gov.cn联系", "邮箱<EMAIL_ADDRESS>联系"),
        ("服务器10.0.0.254上", "服务器<IP_ADDRESS>上"),
        ("卡号6217 0012 3456 7890 122已冻结", "卡号<BANK_CARD>已冻结"),
        ("代码91440300MA5FABCD7B", "代码<CN_USCC>"),
        ("香港身份证A123456(3)，台湾A123456789", "香港身份证<HK_ID>，台湾<TW_ID>"),
        ("护照号E12345678", "护照号<CN_PASSPORT>"),
        ("车牌粤B12345", "车牌<CN_LICENSE_PLATE>"),
        ("call +86 139 1234 5678 or 0755-23456789", "call <PHONE_NUMBER> or <PHONE_NUMBER>"),
        ("IBAN DE89 3704 0044 0532 0130 00 ok", "IBAN <IBAN> ok"),
        ("host 2001:db8::1 down", "host <IP_ADDRESS> down"),
    ],
)
def test_values_glued_to_chinese_are_found_and_neighbours_kept(
    scrubber: PiiScrubber, text: str, expected: str
) -> None:
    assert scrubber.scrub(text)[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        "错号440305199003071237不算",  # ID card with a wrong check digit
        "订单号SO-20260923-58994已发货",
        "时间戳20261124153000",
        "ISBN 978-7-111-12345-6",
        "version 10.2.3.4 released",
        "客户端需升级至 10.4.0.6 及以上版本",
        "流水号6217001234567890123",  # fails Luhn
        "工单10234567890",  # 11 digits, not a mobile number
        "E12345678",  # passport shape without any context
        "meeting at 12:30:45",
    ],
)
def test_look_alikes_are_left_alone(scrubber: PiiScrubber, text: str) -> None:
    assert scrubber.scrub(text) == (text, [])


def test_labelled_set_recall_decoys_and_prescan_equivalence() -> None:
    bench = load_bench()
    docs = bench.labelled_docs(360, seed=11)
    ours = PiiScrubber()
    recall, (kept, decoys) = bench.evaluate(ours.find, docs)
    assert len(recall) == 12
    for entity, (found, total) in recall.items():
        assert total >= 50 and found / total >= 0.995, entity
    assert kept / decoys >= 0.98
    full = PiiScrubber(prescan=False)
    for text, _, _ in docs:
        assert [(r.start, r.end) for r in ours.find(text)] == [(r.start, r.end) for r in full.find(text)]


# the pre-scan as one regex, as it was first written: the vectorised pre-scan must cover it
_REFERENCE_PRESCAN = re.compile(
    r"(?:\d[ \-()（）]?){6,}"
    r"|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"
    r"|@"
    r"|[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:"
    r"|[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z]"
)


def _covered(windows: list[tuple[int, int]]) -> set[int]:
    return {position for start, end in windows for position in range(start, end)}


def test_prescan_covers_the_reference_pattern_everywhere() -> None:
    """Random texts dense in digits, separators, dots, colons, hex letters, plates and full-width or
    Arabic-Indic digits: every window of the one-regex pre-scan lies inside the fast pre-scan's."""
    rng = random.Random(5)
    alphabet = "0123456789" * 4 + " -()（）.:@@abcdefABCDEFXYZ京沪粤苏电话号码，。\n" + "０１２３٣٤𝟘𝟙"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 160)))
        reference = [match.span() for match in _REFERENCE_PRESCAN.finditer(text)]
        ours = prescan_hits(text)
        assert ours == sorted(ours)
        assert _covered(windows_around(text, reference, 24)) <= _covered(windows_around(text, ours, 24)), text
        runs = [match.span() for match in re.finditer(r"(?:\d[ \-()（）]?){6,}", text)]
        assert digit_runs(text) == digit_runs_vectorised(text) == runs, text
    # long texts: digit_runs takes the vectorised path
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(512, 3000)))
        runs = [match.span() for match in re.finditer(r"(?:\d[ \-()（）]?){6,}", text)]
        assert digit_runs(text) == runs


@pytest.mark.parametrize("text", ["call +1 (555) 12 34 now", "tel +1 (555) 123 45", "电话+44 (20) 79 46 09"])
def test_short_digit_groups_after_a_plus_are_found_with_the_prescan(text: str) -> None:
    windowed, full = PiiScrubber(), PiiScrubber(prescan=False)
    assert [r.entity_type for r in full.find(text)] == ["PHONE_NUMBER"]
    assert [(r.start, r.end) for r in windowed.find(text)] == [(r.start, r.end) for r in full.find(text)]


def test_ids_keys_provenance_and_metadata_at_any_depth_are_scrubbed(scrubber: PiiScrubber) -> None:
    """Every string of a record that leaves the run is scanned, not only the text (issue 22)."""
    phone = "13812345678"
    document = Document(
        text=f"请拨打{phone}",
        id=phone,
        metadata={
            "note": f"电话{phone}",
            "dup_cluster": phone,
            "source": phone,
            "source_file": f"in/{phone}.jsonl",
            f"k{phone}": {"deep": [f"v{phone}"]},
            "source_line": 1,
        },
    )
    places: dict[str, int] = {}
    found = scrubber._scrub_document(document, places)
    assert phone not in repr((document.text, document.id, document.metadata))
    # an id stays unique (a keyed digest of the original), and dup_cluster names the same record
    assert document.id.startswith("<PHONE_NUMBER>~") and document.metadata["dup_cluster"] == document.id
    assert document.metadata["source_file"] == "in/<PHONE_NUMBER>.jsonl"
    assert document.metadata["k<PHONE_NUMBER>"] == {"deep": ["v<PHONE_NUMBER>"]}
    assert places == {"text": 1, "ids": 2, "metadata": 3, "file_names": 1, "keys": 1}
    assert len(found) == document.metadata["pii_spans"] == 8


def test_a_rule_file_with_its_own_patterns_is_not_prescanned(tmp_path: Path) -> None:
    """The pre-scan only knows the bundled patterns: another pattern must still be found."""
    bundled = (Path(__file__).resolve().parents[1] / "rules" / "pii" / "default.yaml").read_text()
    custom = tmp_path / "custom.yaml"
    custom.write_text(
        bundled
        + "  EMPLOYEE_ID:\n    priority: 10\n    patterns:\n"
        + "      - {name: staff, score: 0.9, regex: 'EMP-[A-Z]{4}'}\n"
    )
    scrubber = PiiScrubber(rules=str(custom))
    assert not scrubber.prescan and PiiScrubber().prescan
    assert scrubber.scrub("staff EMP-ABCD here") == ("staff <EMPLOYEE_ID> here", ["EMPLOYEE_ID"])
    only_bundled = tmp_path / "subset.yaml"  # fewer entities, same patterns: the pre-scan still serves
    only_bundled.write_text(bundled.replace("score_threshold: 0.5", "score_threshold: 0.6"))
    assert PiiScrubber(rules=str(only_bundled)).prescan


def test_operators(monkeypatch) -> None:
    text = "手机13812345678，邮箱li.na@example.com"
    assert PiiScrubber("redact").scrub(text)[0] == "手机，邮箱"
    masked = PiiScrubber("mask").scrub(text)[0]
    assert masked == "手机*******5678，邮箱" + "*" * (len("li.na@example.com") - 4) + ".com"
    assert mask_value("1234") == "****"
    monkeypatch.setenv(HASH_KEY_ENV, "a-secret-key-of-32-bytes-length!")
    hashed, found = PiiScrubber("hash").scrub(text)
    assert found == ["PHONE_NUMBER", "EMAIL_ADDRESS"] and "13812345678" not in hashed
    again = PiiScrubber("hash").scrub(text)[0]
    assert hashed == again and hashed.startswith("手机<PHONE_NUMBER:")  # keyed, deterministic
    monkeypatch.setenv(HASH_KEY_ENV, "another-secret-key-of-32-bytes!!")
    assert PiiScrubber("hash").scrub(text)[0] != hashed


def test_hash_without_key_is_a_usage_error(tmp_path: Path, cli, monkeypatch) -> None:
    monkeypatch.delenv(HASH_KEY_ENV, raising=False)
    write_jsonl(tmp_path / "a.jsonl", [{"text": "call 13812345678"}])
    result = cli("pii", tmp_path / "a.jsonl", "-o", tmp_path / "out", "--operator", "hash")
    assert result.exit_code == 2 and HASH_KEY_ENV in result.output
    assert cli("pii", tmp_path / "a.jsonl", "-o", tmp_path / "o2", "--entities", "SSN").exit_code == 2


def test_pii_command_end_to_end_never_leaks(tmp_path: Path, cli, monkeypatch) -> None:
    """Every injected value and the hash key: absent from data, stdout/stderr, logs and manifest."""
    key = "never-print-this-key-0123456789ab"
    values = [
        "440305199003071236",
        "13812345678",
        "zhang.wei@sz.gov.cn",
        "6217001234567890122",
        "91440300MA5FABCD7B",
        "A123456(3)",
        "10.20.30.40",
    ]
    records = [
        {
            "id": "a",
            "text": f"申请人身份证号{values[0]}，请拨打{values[1]}咨询。",
            "metadata": {"note": f"邮箱{values[2]}"},
        },
        {
            "id": "b",
            "text": f"退款到卡号{values[3]}；代码{values[4]}；香港身份证{values[5]}；服务器{values[6]}。",
        },
        {"id": "c", "text": "没有个人信息的一段正文，版本 10.2.3.4。"},
    ]
    write_jsonl(tmp_path / "in.jsonl", records)
    key_file = tmp_path / "key.txt"
    key_file.write_text(key)
    out = tmp_path / "out"
    monkeypatch.setenv(HASH_KEY_ENV, "")
    result = cli(
        "pii",
        tmp_path / "in.jsonl",
        "-o",
        out,
        "--operator",
        "hash",
        "--hash-key-file",
        key_file,
        "--supply-mode",
        "open",
        "--verbose",
    )
    assert result.exit_code == 0, result.output
    card = cli("card", out, "--language", "zh")  # the card and croissant.json must not leak either
    assert card.exit_code == 0, card.output
    produced = result.output + card.output
    for path in out.rglob("*"):
        if path.is_file():
            produced += path.read_bytes().decode("utf-8", errors="replace")
    rows = pq.read_table(out / "data").to_pylist()
    produced += json.dumps(rows, default=str, ensure_ascii=False)
    for secret in [*values, key]:
        assert secret not in produced
    assert "版本 10.2.3.4" in produced  # a version string is not an address

    manifest = Manifest.read(out / "manifest.json")
    assert manifest.pii is not None and manifest.pii.operator == "hash"
    assert manifest.pii.entities == {
        "BANK_CARD": 1,
        "CN_ID_CARD": 1,
        "CN_USCC": 1,
        "EMAIL_ADDRESS": 1,
        "HK_ID": 1,
        "IP_ADDRESS": 1,
        "PHONE_NUMBER": 1,
    }
    assert manifest.pii.documents == 2 and len(manifest.pii.checked) == 12
    assert {row["id"]: row["pii_spans"] for row in rows} == {"a": 3, "b": 4, "c": 0}
    assert (
        "key.txt" in json.dumps(manifest.pipeline.model_dump())
        and key not in (out / "manifest.json").read_text()
    )
    # PII scrubbed and every licence open: the `open` mode's PII rule (CK111) is satisfied
    findings = cli("manifest", "validate", out, "--format", "json").output
    assert "CK111" not in findings


def test_pii_step_in_a_pipeline_with_workers(tmp_path: Path, cli) -> None:
    (tmp_path / "in").mkdir()
    for name in "ab":
        write_jsonl(
            tmp_path / "in" / f"{name}.jsonl", [{"text": f"联系电话13{i}12345678 ok"} for i in range(3, 8)]
        )
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("name: p\nsteps:\n  - pii: {operator: replace, entities: [PHONE_NUMBER]}\n")
    out = tmp_path / "out"
    assert cli("run", pipeline, "-i", tmp_path / "in", "-o", out, "-w", "2", "-q").exit_code == 0
    texts = pq.read_table(out / "data").column("text").to_pylist()
    assert texts == ["联系电话<PHONE_NUMBER> ok"] * 10
    assert Manifest.read(out / "manifest.json").pii.entities == {"PHONE_NUMBER": 10}


# -- issue 21: card brands and boundaries (item 10) -------------------------------------------------
# cards that presidio's own tests list, one per brand it knows
PRESIDIO_TEST_CARDS = [
    "4012888888881881",  # Visa
    "4012-8888-8888-1881",
    "4012 8888 8888 1881",
    "122000000000003",  # UATP
    "371449635398431",  # American Express
    "5555555555554444",  # Mastercard
    "5019717010103742",  # Dankort
    "30569309025904",  # Diners Club, 14 digits
    "6011000400000000",  # Discover
    "3528000700000000",  # JCB
    "6759649826438453",  # Maestro
    "4917300800000000",  # Visa Electron
    "4484070000000000",  # Visa debit
]


def _luhn_complete(body: str) -> str:
    for check in "0123456789":
        if luhn(body + check):
            return body + check
    raise AssertionError(body)


@pytest.mark.parametrize("number", PRESIDIO_TEST_CARDS)
def test_presidio_test_cards_are_found(scrubber: PiiScrubber, number: str) -> None:
    assert scrubber.scrub(f"paid with {number} today") == ("paid with <CREDIT_CARD> today", ["CREDIT_CARD"])


def test_every_brand_of_the_rules_is_found_at_each_of_its_lengths() -> None:
    """Every range end of every brand in rules/pii/card_brands.yaml, at every length it issues."""
    brands = card_brands()
    assert len(brands.names) >= 30 and {"Diners Club International", "Maestro", "Dankort"} <= set(
        brands.names
    )
    for width, low, high, lengths in brands.ranges:
        for prefix in {str(low).zfill(width), str(high).zfill(width)}:
            for length in lengths:
                number = _luhn_complete(prefix + "3" * (length - width - 1))
                assert credit_card(number, True), (prefix, length)
    assert not credit_card("4012888888881882", True)  # Luhn fails
    assert not credit_card("9999999999999995", True)  # no brand issues 9999
    assert not credit_card("1" * 10_000_000, True)  # a value no card is: refused before any loop


@pytest.mark.parametrize(
    "text",
    [
        "91110000600037341N",  # an invalid credit code: its 17 digits pass Luhn with a 9 prefix
        "SN4012888888881881",
        "4012888888881881X",
        "ref a6217001234567890122b",
    ],
)
def test_digit_runs_inside_alphanumeric_codes_are_no_cards(scrubber: PiiScrubber, text: str) -> None:
    assert scrubber.scrub(text) == (text, [])


def test_unionpay_stays_a_bank_card(scrubber: PiiScrubber) -> None:
    assert scrubber.scrub("卡号6217001234567890122")[1] == ["BANK_CARD"]


# -- issue 21: linear work and caps (item 2) ----------------------------------------------------------
def _resolve_pairwise(results: list, priority: dict[str, int]) -> list:
    """The first _resolve: every match against every kept one (quadratic), the reference."""
    ordered = sorted(
        results, key=lambda r: (-priority.get(r.entity_type, 0), -r.score, -(r.end - r.start), r.start)
    )
    kept: list = []
    for result in ordered:
        if all(result.end <= other.start or result.start >= other.end for other in kept):
            kept.append(result)
    return sorted(kept, key=lambda r: r.start)


def test_resolve_keeps_what_the_pairwise_version_kept() -> None:
    from presidio_analyzer import RecognizerResult

    rng = random.Random(3)
    priority = {"A": 3, "B": 2, "C": 1}
    for _ in range(300):
        results = []
        for _ in range(rng.randint(0, 40)):
            start = rng.randint(0, 200)
            entity = rng.choice("ABC")
            results.append(
                RecognizerResult(entity, start, start + rng.randint(1, 30), rng.choice([0.5, 0.8, 1.0]))
            )
        expected = [(r.entity_type, r.start, r.end) for r in _resolve_pairwise(results, priority)]
        assert [(r.entity_type, r.start, r.end) for r in PiiScrubber._resolve(results, priority)] == expected


_OLD_TOKEN_BEFORE = re.compile(r"[0-9A-Za-z@._%+\-]{1,128}$")
_OLD_TOKEN_AFTER = re.compile(r"[0-9A-Za-z@._%+\-()（）]{1,128}")


def _windows_per_hit(text: str, hits: list[tuple[int, int]], context_window: int) -> list[tuple[int, int]]:
    """The first windows_around: both edges widened with a regex for every hit, the reference."""
    windows: list[tuple[int, int]] = []
    reach = context_window + 8
    for hit_start, hit_end in hits:
        start, end = max(0, hit_start - reach), min(len(text), hit_end + reach)
        before = _OLD_TOKEN_BEFORE.search(text, max(0, start - 128), start)
        if before is not None and "\n" not in text[before.start() : start]:
            start = before.start()
        after = _OLD_TOKEN_AFTER.match(text, end)
        if after is not None:
            end = after.end()
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], end))
        else:
            windows.append((start, end))
    return windows


def test_windows_are_those_of_the_per_hit_version() -> None:
    rng = random.Random(8)
    alphabet = "0123456789" * 3 + "ab.@-_ ()\n京B" + "电话号码，。" * 3 + "x" * 20
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 600)))
        hits = prescan_hits(text)
        for window in (0, 24):
            assert windows_around(text, hits, window) == _windows_per_hit(text, hits, window), text


def test_scrubbing_is_what_presidios_anonymizer_made() -> None:
    """The one-pass anonymize against presidio's AnonymizerEngine, on the labelled set, per operator."""
    from presidio_anonymizer import AnonymizerEngine
    from presidio_anonymizer.entities import OperatorConfig

    bench = load_bench()
    docs = [text for text, _, _ in bench.labelled_docs(120, seed=4)]
    docs += ["call 13812345678 13912345678  13712345678\n13612345678 or a@b.cn c@d.cn"]
    engine = AnonymizerEngine()
    for operator in ("replace", "mask", "redact"):
        ours = PiiScrubber(operator)
        for text in docs:
            results = ours.find(text)
            if operator == "replace":
                configs = {
                    r.entity_type: OperatorConfig("replace", {"new_value": f"<{r.entity_type}>"})
                    for r in results
                }
            elif operator == "mask":
                configs = {r.entity_type: OperatorConfig("custom", {"lambda": mask_value}) for r in results}
            else:
                configs = {r.entity_type: OperatorConfig("redact", {}) for r in results}
            assert ours.scrub(text)[0] == engine.anonymize(text, results, configs).text


def test_a_text_over_its_budget_raises_and_is_dropped_with_its_reason(tmp_path: Path, cli) -> None:
    phones = " ".join(f"138{index:08d}" for index in range(300))
    assert len(PiiScrubber().scrub(phones)[1]) == 300
    with pytest.raises(ScanBudgetExceeded) as exceeded:
        PiiScrubber(max_matches=100).scrub(phones)
    assert exceeded.value.reason == "pii.too_dense" and "138" not in str(exceeded.value)
    with pytest.raises(ScanBudgetExceeded):
        PiiScrubber(max_scan_chars=1000).scrub(phones)
    assert PiiScrubber(max_scan_chars=1000).scrub("请拨打13812345678咨询")[1] == ["PHONE_NUMBER"]

    write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"id": "13712345678", "text": phones},
            {"id": "b", "text": "电话13812345678"},
            {"id": "c", "text": "ok"},
        ],
    )
    out = tmp_path / "out"
    result = cli("pii", tmp_path / "in.jsonl", "-o", out, "--max-matches", "100", "--keep-removed", "-q")
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == {"input": 3, "output": 2, "rejected": 0, "dropped": {"pii.too_dense": 1}}
    assert pq.read_table(out / "data").column("text").to_pylist() == ["电话<PHONE_NUMBER>", "ok"]
    # removed/ keeps the record's scrubbed id and the reason, never its unscanned text
    removed = pq.read_table(out / "removed").to_pylist()
    assert len(removed) == 1 and removed[0]["text"] == ""
    assert removed[0]["id"].startswith("<PHONE_NUMBER>~")
    produced = "".join(p.read_bytes().decode("utf-8", "replace") for p in out.rglob("*") if p.is_file())
    assert "13712345678" not in produced and "13800000007" not in produced
    assert cli("manifest", "verify", out).exit_code == 0


# -- issue 21: rule patterns that backtrack, hostile rule files (item 3) ---------------------------
def _rules_with(tmp_path: Path, regex: str, extra: str = "") -> Path:
    bundled = (REPO / "rules" / "pii" / "default.yaml").read_text()
    path = tmp_path / "rules.yaml"
    path.write_text(
        bundled
        + "  STAFF_ID:\n    priority: 10\n"
        + extra
        + f"    patterns:\n      - {{name: staff, score: 0.9, regex: '{regex}'}}\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    "regex", [r"(?<![a-z])(\d+)+$", r"(?<![a-z])(a|aa)+$", r"(?<!x)(\d{1,3})+", r"(?<!x)(?:\d{1,50}){1,50}x"]
)
def test_a_pattern_that_backtracks_without_end_is_refused_at_load(tmp_path: Path, regex: str) -> None:
    with pytest.raises(UsageError) as refused:
        PiiScrubber(rules=str(_rules_with(tmp_path, regex)))
    message = str(refused.value)
    assert "STAFF_ID.staff" in message and "backtrack" in message and "\n" not in message


def test_a_nested_pattern_re2_can_run_is_linear(tmp_path: Path) -> None:
    scrubber = PiiScrubber(rules=str(_rules_with(tmp_path, r"EMP(\d+)+$")))
    assert scrubber.scrub("id EMP12345")[0] == "id <STAFF_ID>"
    assert scrubber.scrub("EMP" + "1" * 1_000_000 + "x")[1] == []  # before: hung; now a scan
    for regex in bundled_patterns():
        assert pattern_problem(regex) is None, regex


def test_a_pattern_out_of_time_drops_the_text(tmp_path: Path, monkeypatch) -> None:
    import corpus_kit.stages.pii.recognizers as recognizers

    scrubber = PiiScrubber(rules=str(_rules_with(tmp_path, r"(?<![A-Z])EMP-\d{1,8}")))
    assert scrubber.scrub("staff EMP-1234 here")[0] == "staff <STAFF_ID> here"
    monkeypatch.setattr(recognizers, "_FALLBACK_SECONDS", 0.0)
    monkeypatch.setattr(recognizers, "_FALLBACK_SECONDS_PER_CHAR", 1e-12)
    with pytest.raises(ScanBudgetExceeded) as exceeded:
        scrubber.scrub("EMP-1 " * 200_000)
    assert exceeded.value.reason == "pii.timeout"


@pytest.mark.parametrize(
    ("extra", "regex", "expected"),
    [
        ("", "x" * 2000, "at most 1024"),
        ("    context: [" + ", ".join(f"w{i}" for i in range(300)) + "]\n", "EMP", "at most 256"),
        ("    context: [" + "y" * 100 + "]\n", "EMP", "longer than 64"),
    ],
)
def test_hostile_rule_files_are_refused_in_one_line(
    tmp_path: Path, extra: str, regex: str, expected: str
) -> None:
    with pytest.raises(UsageError) as refused:
        PiiScrubber(rules=str(_rules_with(tmp_path, regex, extra)))
    assert expected in str(refused.value) and "\n" not in str(refused.value)


def test_a_rule_file_with_thousands_of_patterns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    patterns = "".join(f"      - {{name: p{i}, score: 0.9, regex: 'EMP{i}'}}\n" for i in range(5000))
    path.write_text(f'version: "x"\nentities:\n  STAFF:\n    patterns:\n{patterns}', encoding="utf-8")
    with pytest.raises(UsageError, match="5000 patterns; at most 256"):
        PiiScrubber(rules=str(path))


def test_a_validator_never_sees_a_value_longer_than_any_personal_data(tmp_path: Path) -> None:
    seen: list[int] = []

    def counting(value: str, has_context: bool) -> bool:
        seen.append(len(value))
        return True

    register_pii_validator("counting_21", counting, replace=True)
    scrubber = PiiScrubber(rules=str(_rules_with(tmp_path, r"Z\d+", "    validator: counting_21\n")))
    assert scrubber.scrub("Z123 and Z" + "9" * 100_000)[0] == "<STAFF_ID> and <STAFF_ID>"
    assert seen == [4]


def test_media_provenance_digests_are_not_scrubbed_but_other_values_under_that_key_are(
    tmp_path: Path, cli
) -> None:
    digest = "13812345678" + "a" * 53  # a sha256 hex digest whose digits look like a phone number
    records = [
        {"id": "d", "text": "图片说明。", "metadata": {"media_original_sha256": [digest, None]}},
        {"id": "p", "text": "图片说明。", "metadata": {"media_original_sha256": ["电话 13812345678"]}},
    ]
    out = tmp_path / "out"
    result = cli("pii", write_jsonl(tmp_path / "in.jsonl", records), "-o", out, "-q")
    assert result.exit_code == 0, result.output
    rows = {row["id"]: json.loads(row["metadata"]) for row in pq.read_table(out / "data").to_pylist()}
    assert rows["d"]["media_original_sha256"] == [digest, None]
    assert "13812345678" not in json.dumps(rows["p"], ensure_ascii=False)
