"""manifest validate (table-driven, rule by rule), manifest verify (tampering), the pre-commit hook."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml

from corpus_kit.governance.licence_registry import default_registry, resolve_dataset
from corpus_kit.governance.manifest import manifest_seal
from corpus_kit.governance.policy import RULES, validate_manifest_data
from corpus_kit.governance.safety import data_checksum, wilson_lower_bound
from tests.conftest import record, rewrite_manifest, write_jsonl

REPO = Path(__file__).resolve().parents[1]
TODAY = datetime.now(timezone.utc).date()
NEXT_YEAR = (TODAY + timedelta(days=365)).isoformat()

#: General data: the grade under which open data may be supplied (a missing grade counts as important).
GENERAL: dict[str, Any] = {
    "grade": "general",
    "general_level": 2,
    "basis": "GB/T 43697-2024 6.5",
    "industry": "government",
}

MODE_FIELDS: dict[str, dict[str, Any]] = {
    "open": {},
    "conditional_open": {"conditions": "approved research applicants", "access_contact": "open-data office"},
    "authorised": {
        "authoriser": "Municipal Data Agency",
        "operator": "City Data Operations Co.",
        "authorisation_id": "AUTH-2026-01",
        "valid_until": NEXT_YEAR,
        "permitted_uses": ["research"],
    },
    "targeted_trade": {
        "buyers": ["Example AI Lab"],
        "contract_id": "SZDE-2026-0042",
        "valid_until": NEXT_YEAR,
        "permitted_uses": ["research"],
    },
    "cooperation": {"partners": ["University A"], "agreement_id": "COOP-7"},
}


def make_manifest(mode: str | None = "open", licences: dict[str, int] | None = None) -> dict[str, Any]:
    """A consistent manifest: 10 in, 1 rejected, 1 dropped by the license step, 8 out."""
    licences = licences or {"CC-BY-4.0": 8}
    resolved = resolve_dataset(licences, default_registry())
    return {
        "schema_version": "1",
        "dataset": {"name": "t", "version": "1", "description": "", "created_at": "2026-11-24T10:00:00Z"},
        "supply": None if mode is None else {"mode": mode, **MODE_FIELDS[mode], "classification": GENERAL},
        "counts": {"input": 10, "output": 8, "rejected": 1, "dropped": {"license.unknown": 1}},
        "languages": {},
        "licenses": licences,
        "license": resolved.model_dump(mode="json"),
        "pii": {
            "operator": "replace",
            "entities": {"PHONE_NUMBER": 2},
            "documents": 2,
            "checked": PII_CHECKED,
        },
        "sources": [
            {
                "uri": "in.jsonl",
                "format": "jsonl",
                "sha256": "0" * 64,
                "bytes": 10,
                "records": 10,
                "rejected": 1,
            }
        ],
        "files": [{"path": "data/train-00000-of-00001.parquet", "sha256": "1" * 64, "bytes": 100, "rows": 8}],
        "pipeline": {
            "name": "t",
            "steps": [
                {"name": "read", "input": 10, "output": 9},
                {"name": "license", "input": 9, "output": 8, "dropped": {"license.unknown": 1}},
                {"name": "write", "input": 8, "output": 8},
            ],
            "config_sha256": "2" * 64,
            "versions": {"corpus-kit": "0.1.0"},
            "tasks": 1,
            "wall_seconds": 1.0,
        },
    }


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def drop_key(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[key]
        del node[last]

    return mutate


def setting(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        for path, value in changes.items():
            set_path(data, path.replace("__", "."), value)

    return mutate


def passing_safety_block(data: dict[str, Any]) -> dict[str, Any]:
    """A safety block that passes CK130-CK136 for ``data`` (a manifest from make_manifest)."""
    minima = {f"A1{letter}": 200 for letter in "abcdefgh"} | {f"A2{letter}": 100 for letter in "abcdefghi"}
    per_code = {code: need + 400 for code, need in minima.items()}
    rows = data["counts"]["output"]
    return {
        "action": "drop",
        "lexicons": [
            {
                "file": "lexicon.yaml",
                "name": "agency lexicon",
                "version": "2026.49",
                "updated": "2026-12-01",
                "sha256": "3" * 64,
                "terms": sum(per_code.values()),
                "terms_per_code": per_code,
            }
        ],
        "coverage": {
            "terms": sum(per_code.values()),
            "terms_per_code": per_code,
            "minimum_terms": 10000,
            "minimum_per_code": minima,
            "shortfall": {},
            "meets_minima": True,
        },
        "screened": rows,
        "not_screened": 0,
        "flagged": 0,
        "technical": {
            "documents": rows,
            "checked": rows,
            "checked_share": 1.0,
            "flagged": 0,
            "pass_rate": 1.0,
        },
        "manual": {
            "population": rows,
            "sample_size": rows,
            "seed": 0,
            "sample_sha256": "4" * 64,
            "data_sha256": data_checksum([item["sha256"] for item in data["files"]]),
            "sheet_sha256": "5" * 64,
            "reviewed": rows,
            "passed": rows,
            "failed": 0,
            "pass_rate": 1.0,
            "wilson_lower_95": wilson_lower_bound(rows, rows),
            "reviewed_on": "2026-12-02",
        },
        "thresholds": {
            "policy_version": "2026.12",
            "risks_version": "2026.12",
            "source_share": 0.05,
            "technical_checked_share": 0.1,
            "technical_pass_rate": 0.98,
            "manual_sample": 4000,
            "manual_pass_rate": 0.96,
        },
    }


def for_training(screened: bool = True, **changes: Any) -> Callable[[dict[str, Any]], None]:
    """Data permitted for model training; screened with a passing safety block, then ``changes``."""

    def mutate(data: dict[str, Any]) -> None:
        data["supply"] = {
            "mode": "cooperation",
            **MODE_FIELDS["cooperation"],
            "permitted_uses": ["model_training"],
            "classification": GENERAL,
        }
        if screened:
            data["safety"] = passing_safety_block(data)
        setting(**changes)(data)

    return mutate


#: What the pii step looks for by default (rules/pii/default.yaml).
PII_CHECKED = [
    "BANK_CARD", "CN_ID_CARD", "CN_LICENSE_PLATE", "CN_PASSPORT", "CN_USCC", "CREDIT_CARD",
    "EMAIL_ADDRESS", "HK_ID", "IBAN", "IP_ADDRESS", "PHONE_NUMBER", "TW_ID",
]  # fmt: skip


def classified(
    mode: str,
    classification: dict[str, Any] | None,
    entities: dict[str, int] | None = None,
    scanned: bool = True,
    checked: list[str] | None = None,
) -> Callable[[dict[str, Any]], None]:
    """Supply ``mode`` with ``classification`` (None: none declared); the pii step found ``entities``
    (``scanned=False``: no pii step ran)."""

    def mutate(data: dict[str, Any]) -> None:
        data["supply"] = {"mode": mode, **MODE_FIELDS[mode]}
        if classification is not None:
            data["supply"]["classification"] = classification
        if not scanned:
            data["pii"] = None
        elif entities is not None or checked is not None:
            data["pii"] = {
                "operator": "replace",
                "entities": entities or {},
                "documents": 1,
                "checked": PII_CHECKED if checked is None else checked,
            }

    return mutate


def grade(name: str | None, **more: Any) -> dict[str, Any]:
    return {"grade": name, "basis": "GB/T 43697-2024 6.5", "industry": "health", **more}


def pi(*sensitive: str, consent: str | None = None, contains: bool | None = True) -> dict[str, Any]:
    return {"contains": contains, "sensitive": list(sensitive), "consent": consent}


#: The grade and personal-information gates (issue 17 item 3), refused and allowed.
CLASSIFICATION_CASES: list[tuple[str, str | None, None, Callable[[dict[str, Any]], None], set[str]]] = [
    ("general data open", "open", None, classified("open", grade("general", general_level=2)), set()),
    (
        "general data conditional_open",
        "conditional_open",
        None,
        classified("conditional_open", grade("general")),
        set(),
    ),
    ("important data open", "open", None, classified("open", grade("important")), {"CK141"}),
    ("core data open", "open", None, classified("open", grade("core")), {"CK141"}),
    (
        "important data conditional_open",
        "conditional_open",
        None,
        classified("conditional_open", grade("important")),
        {"CK141"},
    ),
    ("important data authorised", "authorised", None, classified("authorised", grade("important")), set()),
    ("core data targeted_trade", "targeted_trade", None, classified("targeted_trade", grade("core")), set()),
    ("important data cooperation", "cooperation", None, classified("cooperation", grade("important")), set()),
    ("no grade, open", "open", None, classified("open", None), {"CK140", "CK141"}),
    (
        "no grade, conditional_open",
        "conditional_open",
        None,
        classified("conditional_open", None),
        {"CK140", "CK141"},
    ),
    ("no grade, authorised", "authorised", None, classified("authorised", None), {"CK140"}),
    (
        "classification without a grade, open",
        "open",
        None,
        classified("open", grade(None)),
        {"CK140", "CK141"},
    ),
    (
        "ID numbers alone are PI, not sensitive PI",
        "open",
        None,
        classified("open", grade("general"), entities={"CN_ID_CARD": 12, "PHONE_NUMBER": 3}),
        set(),
    ),
    (
        "ID numbers, no pii step, no consent",
        "open",
        None,
        classified("open", grade("general", pi=pi()), scanned=False),
        {"CK111", "CK143"},
    ),
    (
        "bank cards found and scrubbed, open",
        "open",
        None,
        classified("open", grade("general"), entities={"BANK_CARD": 2}),
        set(),
    ),
    (
        "sensitive PI declared, scrubbed, open",
        "open",
        None,
        classified("open", grade("general", pi=pi("medical_health"))),
        set(),
    ),
    (
        "sensitive PI declared, not de-identified, open",
        "open",
        None,
        classified("open", grade("general", pi=pi("medical_health", consent="separate")), scanned=False),
        {"CK111", "CK142"},
    ),
    (
        "sensitive PI not de-identified, conditional_open",
        "conditional_open",
        None,
        classified(
            "conditional_open", grade("general", pi=pi("biometric", consent="separate")), scanned=False
        ),
        {"CK111", "CK142"},
    ),
    (
        "sensitive PI not de-identified, authorised with separate consent",
        "authorised",
        None,
        classified(
            "authorised", grade("important", pi=pi("financial_account", consent="separate")), scanned=False
        ),
        set(),
    ),
    (
        "sensitive PI not de-identified, only another basis",
        "authorised",
        None,
        classified(
            "authorised", grade("important", pi=pi("medical_health", consent="other_basis")), scanned=False
        ),
        {"CK143"},
    ),
    (
        "sensitive PI not de-identified, no consent",
        "targeted_trade",
        None,
        classified(
            "targeted_trade", grade("important", pi=pi("minor_under_14", consent="none")), scanned=False
        ),
        {"CK143"},
    ),
    (
        "PI not de-identified, other basis",
        "cooperation",
        None,
        classified("cooperation", grade("general", pi=pi(consent="other_basis")), scanned=False),
        set(),
    ),
    (
        "PI not de-identified, no consent",
        "cooperation",
        None,
        classified("cooperation", grade("general", pi=pi(consent="none")), scanned=False),
        {"CK143"},
    ),
    (
        "PI not de-identified, consent not declared",
        "cooperation",
        None,
        classified("cooperation", grade("general", pi=pi()), scanned=False),
        {"CK143"},
    ),
    (
        "a pii step that looked for e-mail addresses only has not de-identified",
        "open",
        None,
        classified(
            "open", grade("general", pi=pi("financial_account", consent="none")), checked=["EMAIL_ADDRESS"]
        ),
        {"CK142", "CK143"},
    ),
    (
        "PI de-identified, no consent needed",
        "cooperation",
        None,
        classified("cooperation", grade("general", pi=pi(consent="none"))),
        set(),
    ),
    (
        "no PI declared, no pii step, restricted mode",
        "cooperation",
        None,
        classified("cooperation", grade("general", pi=pi(contains=False)), scanned=False),
        set(),
    ),
    (
        "minors declared and scrubbed, authorised",
        "authorised",
        None,
        classified("authorised", grade("important", pi=pi("minor_under_14"))),
        set(),
    ),
    (
        "unknown industry",
        "authorised",
        None,
        classified("authorised", {"grade": "general", "industry": "space"}),
        {"CK144"},
    ),
    (
        "low-altitude economy is an industry",
        "authorised",
        None,
        classified("authorised", {"grade": "general", "industry": "low_altitude_economy"}),
        set(),
    ),
    (
        "important data open, sensitive PI not scrubbed",
        "open",
        None,
        classified("open", grade("important", pi=pi("whereabouts", consent="none")), scanned=False),
        {"CK111", "CK141", "CK142", "CK143"},
    ),
    (
        "general level on important data is a schema error",
        "authorised",
        None,
        classified("authorised", grade("important", general_level=3)),
        {"CK100"},
    ),
    (
        "general level 5 is a schema error",
        "authorised",
        None,
        classified("authorised", grade("general", general_level=5)),
        {"CK100"},
    ),
    (
        "an unknown grade is a schema error",
        "authorised",
        None,
        classified("authorised", grade("secret")),
        {"CK100"},
    ),
]


def source(source_type: str | None, **evidence: Any) -> dict[str, Any]:
    """A provenance entry (a sources.yaml line that licensed all 8 rows) with ``evidence``."""
    return {"match": "name=s", "license": "CC-BY-4.0", "source_type": source_type, "records": 8, **evidence}


EVIDENCED = [
    source("open_source", licence_sha256="8" * 64),
    source("commercial", contract_sha256="7" * 64, supplier_guarantee=True),
    source("self_collected", collected_at="2026-10-31", collection_method="crawl", robots_txt=True),
]


def with_sources(*entries: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        data["provenance"] = list(entries)

    return mutate


def days(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


# (case id, mode, licences, mutation, expected rule ids)
CASES: list[
    tuple[str, str | None, dict[str, int] | None, Callable[[dict[str, Any]], None] | None, set[str]]
] = [
    ("valid open", "open", None, None, set()),
    ("valid conditional_open", "conditional_open", None, None, set()),
    ("valid authorised", "authorised", None, None, set()),
    ("valid targeted_trade", "targeted_trade", None, None, set()),
    ("valid cooperation", "cooperation", None, None, set()),
    ("valid cooperation with NC data", "cooperation", {"CC-BY-NC-4.0": 8}, None, set()),
    ("counts.input not an integer", "open", None, setting(counts__input="10"), {"CK100"}),
    ("dataset block missing", "open", None, drop_key("dataset"), {"CK100"}),
    ("unknown supply mode", "open", None, setting(supply__mode="sold_to_anyone"), {"CK101"}),
    ("no supply block", None, None, None, {"CK102"}),
    ("authorised without operator", "authorised", None, drop_key("supply.operator"), {"CK103"}),
    ("targeted_trade without buyers", "targeted_trade", None, setting(supply__buyers=[]), {"CK103"}),
    ("cooperation without agreement", "cooperation", None, drop_key("supply.agreement_id"), {"CK103"}),
    (
        "conditional_open without conditions",
        "conditional_open",
        None,
        setting(supply__conditions=""),
        {"CK103"},
    ),
    ("authorisation expired", "authorised", None, setting(supply__valid_until=days(-1)), {"CK104"}),
    ("contract expires in 10 days", "targeted_trade", None, setting(supply__valid_until=days(10)), {"CK105"}),
    ("valid_from after valid_until", "authorised", None, setting(supply__valid_from=days(400)), {"CK106"}),
    # a targeted-trade manifest whose mode was edited to open: the buyers and contract give it away
    ("open naming buyers", "open", None, setting(supply__buyers=["L"], supply__contract_id="C"), {"CK107"}),
    (
        "conditional_open naming partners",
        "conditional_open",
        None,
        setting(supply__partners=["U"]),
        {"CK107"},
    ),
    ("edited after sealing", "open", None, setting(seal_sha256="0" * 64), {"CK108"}),
    ("seal removed", "open", None, setting(seal_sha256=None), {"CK108"}),
    ("open with a non-commercial licence", "open", {"CC-BY-NC-4.0": 8}, None, {"CK110"}),
    ("open without PII scrubbing", "open", None, setting(pii=None), {"CK111"}),
    ("conditional_open without PII scrubbing", "conditional_open", None, setting(pii=None), {"CK111"}),
    (
        "commercial use on NC data",
        "authorised",
        {"CC-BY-NC-4.0": 8},
        setting(supply__permitted_uses=["research", "commercial"]),
        {"CK112"},
    ),
    (
        "commercial_use flag on NC data",
        "cooperation",
        {"CC-BY-NC-4.0": 8},
        setting(supply__commercial_use=True),
        {"CK112"},
    ),
    ("no licence resolution", "cooperation", None, setting(license=None), {"CK113"}),
    (
        "licence facts edited",
        "cooperation",
        {"CC-BY-NC-4.0": 8},
        lambda data: data["license"]["licences"]["CC-BY-NC-4.0"].update(use="commercial"),
        {"CK114"},
    ),
    ("licence counts off", "cooperation", None, setting(licenses={"CC-BY-4.0": 7}), {"CK115"}),
    ("unassessed licence rows", "cooperation", {"CC-BY-4.0": 6, "NOASSERTION": 2}, None, {"CK116"}),
    ("share-alike licences mixed", "cooperation", {"CC-BY-SA-4.0": 4, "CC-BY-NC-SA-4.0": 4}, None, {"CK117"}),
    ("no-derivatives data filtered", "cooperation", {"CC-BY-ND-4.0": 8}, None, {"CK118"}),
    (
        "invariant broken",
        "open",
        None,
        setting(counts__rejected=2, **{"sources__0__rejected": 2}),
        {"CK120"},
    ),
    ("step counts do not chain", "open", None, setting(**{"pipeline__steps__1__input": 7}), {"CK121"}),
    ("file rows do not add up", "open", None, setting(**{"files__0__rows": 9}), {"CK122"}),
    ("source records do not add up", "open", None, setting(**{"sources__0__records": 12}), {"CK123"}),
    ("dropped reason renamed", "open", None, setting(counts__dropped={"license.other": 1}), {"CK124"}),
    (
        "ledger rows do not add up",
        "open",
        None,
        setting(ledger={"rows": 10, "kept": 9, "dropped": {}, "rejected": {"json.invalid": 1}}),
        {"CK125"},
    ),
    ("training data screened and assessed", None, None, for_training(), set()),
    (
        "research data need no screening",
        None,
        None,
        for_training(screened=False, supply__permitted_uses=[]),
        set(),
    ),
    ("training data not screened", None, None, for_training(screened=False), {"CK130"}),
    (
        "lexicon below the minima",
        None,
        None,
        for_training(safety__coverage__meets_minima=False, safety__coverage__shortfall={"A1a": 150}),
        {"CK131"},
    ),
    ("technical pass rate 0.97", None, None, for_training(safety__technical__pass_rate=0.97), {"CK132"}),
    ("checked share 0.05", None, None, for_training(safety__technical__checked_share=0.05), {"CK133"}),
    ("no manual assessment", None, None, for_training(safety__manual=None), {"CK134"}),
    ("manual pass rate 0.95", None, None, for_training(safety__manual__pass_rate=0.95), {"CK135"}),
    ("manual sample too small", None, None, for_training(safety__manual__reviewed=5), {"CK135"}),
    (
        "manual assessment of other data",
        None,
        None,
        for_training(safety__manual__data_sha256="6" * 64),
        {"CK135"},
    ),
    ("blacklisted source kept", None, None, for_training(safety__blacklisted_present=3), {"CK136"}),
    *CLASSIFICATION_CASES,
    ("sources with their evidence", "cooperation", None, with_sources(*EVIDENCED), set()),
    ("open data without its licence document", "open", None, with_sources(source("open_source")), {"CK150"}),
    (
        "bought data without contract or guarantee",
        "cooperation",
        None,
        with_sources(source("commercial", contract_sha256="7" * 64)),
        {"CK150"},
    ),
    (
        "crawl without its collection record",
        "cooperation",
        None,
        with_sources(source("self_collected", robots_txt=True)),
        {"CK150"},
    ),
    ("no source type in a restricted mode", "cooperation", None, with_sources(source(None)), {"CK151"}),
    ("no source type in open mode", "open", None, with_sources(source(None)), set()),
    (
        "collected against robots.txt",
        "cooperation",
        None,
        with_sources(
            source("self_collected", collected_at="2026-10-31", collection_method="crawl", robots_txt=False)
        ),
        {"CK152"},
    ),
]


def with_tokens(rows: int = 8, by_language: dict[str, int] | None = None) -> Callable[[dict[str, Any]], None]:
    """A tokens block of 800 tokens over the 8 output rows (CK160 unless it adds up)."""

    def mutate(data: dict[str, Any]) -> None:
        data["tokens"] = {
            "tokenizer": {
                "name": "o200k_base",
                "kind": "bundled",
                "library": "bpe-openai 0.1.4",
                "vocabulary_sha256": "4" * 64,
            },
            "rows": rows,
            "total": 800,
            "characters": 2000,
            "by_language": by_language if by_language is not None else {"zh-Hans": 500, "en": 300},
            "by_source": {"s": 800},
            "by_license": {"CC-BY-4.0": 800},
            "by_split": {"train": 800},
        }

    return mutate


CASES += [
    ("tokens that add up", "open", None, with_tokens(), set()),
    ("tokens counted on fewer rows", "open", None, with_tokens(rows=7), {"CK160"}),
    ("tokens by language not adding up", "open", None, with_tokens(by_language={"en": 799}), {"CK160"}),
]


@pytest.mark.parametrize(("case", "mode", "licences", "mutate", "expected"), CASES, ids=[c[0] for c in CASES])
def test_validate_classifies_each_rule(case, mode, licences, mutate, expected) -> None:
    data = make_manifest(mode, licences)
    if mutate is not None:
        mutate(data)
    if "seal_sha256" not in data:  # the other rules are checked on a manifest as corpus-kit seals it
        data["seal_sha256"] = manifest_seal(data)
    findings = validate_manifest_data(json.dumps(data))
    assert {finding.rule for finding in findings} == expected, [f.message for f in findings]
    for finding in findings:
        assert finding.severity == RULES[finding.rule][0]
        assert finding.message and ";" in finding.message  # says what is wrong and what to do


def test_table_has_enough_cases_and_covers_every_rule() -> None:
    assert len(CASES) >= 25
    covered = set().union(*(expected for *_, expected in CASES))
    assert covered == set(RULES)


def test_invalid_json_is_ck100() -> None:
    assert [f.rule for f in validate_manifest_data(b'{"schema_version": "1", ')] == ["CK100"]
    assert [f.rule for f in validate_manifest_data(b"[1, 2]")] == ["CK100"]


def test_validate_cli_exit_codes_strict_and_json(tmp_path: Path, cli) -> None:
    good, warned, bad = tmp_path / "good.json", tmp_path / "warned.json", tmp_path / "bad.json"
    rewrite_manifest(good, make_manifest("cooperation"))
    soon = make_manifest("authorised")
    soon["supply"]["valid_until"] = days(5)
    rewrite_manifest(warned, soon)
    broken = make_manifest("open", {"CC-BY-NC-4.0": 8})
    rewrite_manifest(bad, broken)
    assert cli("manifest", "validate", good).exit_code == 0
    assert cli("manifest", "validate", warned).exit_code == 0
    assert cli("manifest", "validate", warned, "--strict").exit_code == 1
    result = cli("manifest", "validate", good, bad)
    assert result.exit_code == 1 and "CK110" in result.output and "bad.json" in result.output
    as_json = cli("manifest", "validate", good, bad, "--format", "json")
    payload = json.loads(as_json.output)
    assert payload["ok"] is False
    assert [m["ok"] for m in payload["manifests"]] == [True, False]
    assert payload["manifests"][1]["findings"][0]["rule"] == "CK110"
    assert cli("manifest", "validate", tmp_path / "missing.json").exit_code == 2


# --- verify: tampering ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built_dataset(tmp_path_factory) -> Path:
    from typer.testing import CliRunner

    from corpus_kit.cli import app

    base = tmp_path_factory.mktemp("verify")
    write_jsonl(base / "a.jsonl", [record(i) for i in range(40)])
    write_jsonl(base / "b.jsonl", [record(i, "b") for i in range(40)])
    out = base / "dataset"
    supply = base / "supply.yaml"
    supply.write_text(
        "mode: cooperation\npartners: [University A]\nagreement_id: COOP-7\n"
        "classification: {grade: general, general_level: 2, basis: sector catalogue}\n"
    )
    args = ["license", str(base), "-o", str(out), "-q", "--supply", str(supply), "--shard-size", "4KiB"]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def fresh_copy(dataset: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(dataset, target)
    return target


def test_verify_passes_on_an_untouched_dataset(built_dataset: Path, tmp_path: Path, cli) -> None:
    copy = fresh_copy(built_dataset, tmp_path)
    result = cli("manifest", "verify", copy)
    assert result.exit_code == 0 and "verified" in result.output


def test_verify_detects_a_flipped_byte(built_dataset: Path, tmp_path: Path, cli) -> None:
    copy = fresh_copy(built_dataset, tmp_path)
    target = sorted((copy / "data").glob("*.parquet"))[-1]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    result = cli("manifest", "verify", copy)
    assert result.exit_code == 1 and target.name in result.output and "sha256" in result.output


def test_verify_detects_a_deleted_file(built_dataset: Path, tmp_path: Path, cli) -> None:
    copy = fresh_copy(built_dataset, tmp_path)
    target = sorted((copy / "data").glob("*.parquet"))[0]
    target.unlink()
    result = cli("manifest", "verify", copy)
    assert result.exit_code == 1 and target.name in result.output and "missing" in result.output


def test_verify_detects_an_unlisted_file(built_dataset: Path, tmp_path: Path, cli) -> None:
    copy = fresh_copy(built_dataset, tmp_path)
    extra = copy / "data" / "train-00099-of-00099.parquet"
    shutil.copy(sorted((copy / "data").glob("*.parquet"))[0], extra)
    result = cli("manifest", "verify", copy, "--format", "json")
    assert result.exit_code == 1
    problems = json.loads(result.output)["problems"]
    assert [p["path"] for p in problems] == ["data/train-00099-of-00099.parquet"]


def test_verify_detects_a_changed_row_count(built_dataset: Path, tmp_path: Path, cli) -> None:
    copy = fresh_copy(built_dataset, tmp_path)
    manifest = json.loads((copy / "manifest.json").read_text())
    listed = manifest["files"][0]
    listed["rows"] += 1
    (copy / "manifest.json").write_text(json.dumps(manifest))
    result = cli("manifest", "verify", copy)
    assert result.exit_code == 1 and Path(listed["path"]).name in result.output and "rows" in result.output
    assert pq.ParquetFile(copy / listed["path"]).metadata.num_rows == listed["rows"] - 1


def test_verify_without_manifest_or_folder(tmp_path: Path, cli) -> None:
    (tmp_path / "empty").mkdir()
    assert cli("manifest", "verify", tmp_path / "empty").exit_code == 1
    assert cli("manifest", "verify", tmp_path / "nowhere").exit_code == 2


# --- pre-commit hook --------------------------------------------------------------------------
def test_pre_commit_hook_runs_on_a_fixture_repository(built_dataset: Path, tmp_path: Path) -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "corpus-kit-manifest")
    repo = tmp_path / "data-repo"
    shutil.copytree(built_dataset, repo / "datasets" / "good")
    (repo / "datasets" / "bad").mkdir(parents=True)
    broken = json.loads((built_dataset / "manifest.json").read_text())
    broken["counts"]["output"] += 1
    (repo / "datasets" / "bad" / "manifest.json").write_text(json.dumps(broken))
    (repo / "README.md").write_text("data repo")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    tracked = subprocess.run(["git", "-C", str(repo), "ls-files"], capture_output=True, text=True, check=True)
    selected = [name for name in tracked.stdout.split() if re.search(hook["files"], name)]
    assert selected == ["datasets/bad/manifest.json", "datasets/good/manifest.json"]

    entry = hook["entry"].split()
    executable = shutil.which(entry[0]) or None
    command = [executable, *entry[1:]] if executable else [sys.executable, "-m", "corpus_kit", *entry[1:]]
    ran = subprocess.run([*command, *selected], cwd=repo, capture_output=True, text=True)
    assert ran.returncode == 1
    assert "datasets/bad/manifest.json" in ran.stdout and "CK120" in ran.stdout
    clean = subprocess.run(
        [*command, "datasets/good/manifest.json"], cwd=repo, capture_output=True, text=True
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_github_actions_snippet_commands_pass_and_fail_as_documented(
    built_dataset: Path, tmp_path: Path
) -> None:
    workflow = yaml.safe_load((REPO / "docs" / "github-actions-manifest.yml").read_text())
    steps = workflow["jobs"]["manifests"]["steps"]
    checks = [step["run"] for step in steps if "run" in step and "corpus-kit manifest" in step["run"]]
    assert len(checks) == 2
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    launcher = bin_dir / "corpus-kit"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m corpus_kit "$@"\n')
    launcher.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CI": "1"}

    repo = tmp_path / "data-repo"
    shutil.copytree(built_dataset, repo / "datasets" / "intake")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    for command in checks:
        ran = subprocess.run(["bash", "-c", command], cwd=repo, env=env, capture_output=True, text=True)
        assert ran.returncode == 0, ran.stdout + ran.stderr

    victim = sorted((repo / "datasets" / "intake" / "data").glob("*.parquet"))[0]
    victim.write_bytes(victim.read_bytes()[:-1] + b"\x00")
    verify_step = subprocess.run(["bash", "-c", checks[1]], cwd=repo, env=env, capture_output=True, text=True)
    assert verify_step.returncode == 1 and victim.name in verify_step.stdout


@pytest.mark.parametrize(
    ("flag", "text", "expected"),
    [
        (
            "--classification",
            "classification:\n  industry: health\n  grade: secret\n",
            ":3: classification.grade",
        ),
        ("--classification", "industry: health\ngeneral_level: 7\n", ":2: classification.general_level"),
        (
            "--supply",
            "mode: open\nclassification:\n  grade: general\n  general_level: 9\n",
            ":4: classification.general_level",
        ),
        ("--supply", "supply:\n  mode: targeted_trade\n  buyers: one\n", ":3: buyers"),
        (
            "--classification",
            "registration: {code: R}\nclassification: {grade: general}\n",
            ":1: registration.registry",
        ),
    ],
)
def test_supply_and_classification_files_name_the_line(
    tmp_path: Path, cli, flag: str, text: str, expected: str
) -> None:
    write_jsonl(tmp_path / "in.jsonl", [record(0)])
    path = tmp_path / "block.yaml"
    path.write_text(text)
    args = ["convert", tmp_path / "in.jsonl", "-o", tmp_path / "out", "-q", flag, path]
    if flag == "--classification":
        args += ["--supply-mode", "authorised"]
    result = cli(*args)
    assert result.exit_code == 2
    assert f"{path}{expected}" in result.output.replace("\n", ""), result.output
