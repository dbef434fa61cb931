"""Licence registry, expression facts, dataset resolution and the license stage."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus_kit.errors import UsageError
from corpus_kit.governance.licence_registry import LicenceRegistry, default_registry, resolve_dataset
from corpus_kit.governance.manifest import Manifest
from corpus_kit.stages.license import load_sources
from tests.conftest import write_jsonl

REQUIRED_FAMILIES = [
    "CC0-1.0", "PDDL-1.0", "CC-BY-4.0", "CC-BY-SA-4.0", "CC-BY-NC-4.0", "CC-BY-NC-SA-4.0", "CC-BY-ND-4.0",
    "CC-BY-NC-ND-4.0", "ODC-By-1.0", "ODbL-1.0", "CDLA-Permissive-2.0", "CDLA-Sharing-1.0", "C-UDA-1.0",
    "Apache-2.0", "MIT", "BSD-3-Clause", "GPL-3.0-only", "LGPL-2.1-only", "LicenseRef-openrail",
    "NOASSERTION",
]  # fmt: skip


def test_registry_covers_the_required_licences_with_all_facts() -> None:
    registry = default_registry()
    for spdx in REQUIRED_FAMILIES:
        entry = registry.get(spdx)
        assert entry is not None, spdx
        assert entry.hub and entry.use
    assert registry.get("CC-BY-NC-4.0").use == "non-commercial" and not registry.get("CC-BY-NC-4.0").open
    assert registry.get("CC-BY-SA-4.0").share_alike and registry.get("CC-BY-SA-4.0").open
    assert registry.get("CC0-1.0").attribution is False


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("cc-by-4.0", "CC-BY-4.0"),
        ("CC BY-NC 4.0", "CC-BY-NC-4.0"),
        ("  Apache 2.0 ", "Apache-2.0"),
        ("mit or apache-2.0", "MIT OR Apache-2.0"),
        ("cc-by-4.0 and cc0-1.0", "CC-BY-4.0 AND CC0-1.0"),
        ("GPL-2.0-or-later WITH Classpath-exception-2.0", "GPL-2.0-or-later WITH Classpath-exception-2.0"),
        ("openrail", "LicenseRef-openrail"),
        ("noassertion", "NOASSERTION"),
        ("free for all", None),
        ("MIT AND (", None),
        ("", None),
        (42, None),
    ],
)
def test_normalize(raw: object, normalized: str | None) -> None:
    assert default_registry().normalize(raw) == normalized


def test_expression_facts_and_and_or() -> None:
    registry = default_registry()
    both = registry.facts("CC-BY-4.0 AND CC-BY-NC-SA-4.0")
    assert (both.use, both.open, both.share_alike, both.attribution) == ("non-commercial", False, True, True)
    choice = registry.facts("CC-BY-NC-4.0 OR MIT")
    assert choice.use == "commercial" and choice.open  # the licensee may choose MIT
    assert not registry.facts("OGL-UK-3.0").known  # valid SPDX, but not assessed in the registry


def test_dataset_resolution_most_restrictive_wins() -> None:
    registry = default_registry()
    resolved = resolve_dataset(
        {"CC-BY-4.0": 5, "LicenseRef-academic-research-only": 1, "CC-BY-NC-4.0": 2}, registry
    )
    assert resolved.use == "academic-only" and not resolved.open and resolved.attribution
    assert resolve_dataset({"CC-BY-4.0": 3, "(none)": 2}, registry).unlicensed == 2
    single = resolve_dataset({"CC-BY-SA-4.0": 4}, registry)
    assert (single.hub_id, single.expression, single.share_alike_licences) == (
        "cc-by-sa-4.0",
        "CC-BY-SA-4.0",
        ["CC-BY-SA-4.0"],
    )
    assert resolve_dataset({"MIT": 1, "CC0-1.0": 1}, registry).hub_id == "other"
    assert resolve_dataset({}, registry) is None


def test_sources_file_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "sources.yaml"
    bad.write_text("sources:\n  - {name: a, path: 'x/*', license: MIT}\n")
    with pytest.raises(UsageError, match="exactly one of name, path or url_prefix"):
        load_sources(bad)
    bad.write_text("sources:\n  - {name: a, license: LicenseRef-nobody-knows}\n")
    with pytest.raises(UsageError, match="not in the licence registry"):
        load_sources(bad)
    bad.write_text(
        "sources:\n  - {name: a, license: LicenseRef-ours}\nlicences:\n"
        "  - {spdx: LicenseRef-ours, open: false, use: commercial, attribution: true, share_alike: false}\n"
    )
    assert load_sources(bad).licences[0].spdx == "LicenseRef-ours"
    assert LicenceRegistry.load(load_sources(bad).licences).facts("LicenseRef-ours").known


def test_license_command_applies_record_then_source_then_default(tmp_path: Path, cli) -> None:
    (tmp_path / "in").mkdir()
    write_jsonl(
        tmp_path / "in" / "a.jsonl",
        [
            {"id": "own", "text": "t", "metadata": {"license": "cc-by-sa-4.0", "source": "news"}},
            {"id": "by-name", "text": "t", "metadata": {"source": "news"}},
            {"id": "by-url", "text": "t", "metadata": {"url": "https://gov.example.cn/x/1"}},
            {"id": "by-default", "text": "t"},
            {"id": "garbage", "text": "t", "metadata": {"license": "do what you want"}},
        ],
    )
    write_jsonl(tmp_path / "in" / "b.jsonl", [{"id": "by-path", "text": "t"}])
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n"
        "  - {name: news, license: CC-BY-NC-4.0, type: commercial, evidence: contract N-1}\n"
        "  - {url_prefix: 'https://gov.example.cn/', license: CC0-1.0, type: public_data}\n"
        "  - {path: '*b.jsonl', license: LicenseRef-ours}\n"
        "licences:\n"
        "  - {spdx: LicenseRef-ours, open: false, use: commercial, attribution: true, share_alike: false}\n"
    )
    out = tmp_path / "out"
    args = [
        "license",
        tmp_path / "in",
        "-o",
        out,
        "--sources",
        sources,
        "--default",
        "mit",
        "-q",
        "--keep-removed",
    ]
    result = cli(*args, "--supply-mode", "cooperation")
    assert result.exit_code == 0, result.output
    rows = {row["id"]: row for row in pq.read_table(out / "data").to_pylist()}
    assert {key: row["license"] for key, row in rows.items()} == {
        "own": "CC-BY-SA-4.0",
        "by-name": "CC-BY-NC-4.0",
        "by-url": "CC0-1.0",
        "by-default": "MIT",
        "by-path": "LicenseRef-ours",
    }
    assert json.loads(rows["by-name"]["metadata"])["source_type"] == "commercial"
    manifest = Manifest.read(out / "manifest.json")
    assert manifest.counts.dropped == {"license.unknown": 1}
    assert pq.read_table(out / "removed").column("id").to_pylist() == ["garbage"]
    assert (
        manifest.license.use == "non-commercial" and manifest.license.licences["LicenseRef-ours"].registered
    )
    assert {entry.match: entry.records for entry in manifest.provenance} == {
        "name=news": 1,
        "url_prefix=https://gov.example.cn/": 1,
        "path=*b.jsonl": 1,
    }
    assert manifest.supply.mode.value == "cooperation"

    kept = tmp_path / "kept"
    assert cli("license", tmp_path / "in", "-o", kept, "--unknown", "keep", "-q").exit_code == 0
    rows = {row["id"]: row for row in pq.read_table(kept / "data").to_pylist()}
    assert rows["garbage"]["license"] == "NOASSERTION"
    assert json.loads(rows["garbage"]["metadata"])["license_raw"] == "do what you want"
    assert rows["by-default"]["license"] == "NOASSERTION"  # no --default this time
    assert Manifest.read(kept / "manifest.json").license.unlicensed == 5


def test_license_command_rejects_unknown_default_before_writing(tmp_path: Path, cli) -> None:
    write_jsonl(tmp_path / "a.jsonl", [{"text": "t"}])
    result = cli("license", tmp_path / "a.jsonl", "-o", tmp_path / "out", "--default", "Free-For-All-1.0")
    assert result.exit_code == 2 and "--default" in result.output
    assert not (tmp_path / "out").exists()


def test_source_evidence_reaches_the_manifest_and_card_with_contracts_only_committed(
    tmp_path: Path, cli
) -> None:
    import hashlib

    records = [
        {"id": f"{source}-{i}", "text": f"记录 {i}", "metadata": {"source": source}}
        for source in ("bought", "crawled", "opened")
        for i in range(3)
    ]
    corpus = write_jsonl(tmp_path / "in.jsonl", records)
    (tmp_path / "sources.yaml").write_text(
        "sources:\n"
        "  - {name: bought, license: CC-BY-4.0, type: commercial, contract_id: SECRET-CONTRACT-77,"
        " supplier_guarantee: true}\n"
        "  - {name: crawled, license: CC-BY-4.0, type: self_collected, collected_at: 2026-10-31,"
        " collection_method: crawl, robots_txt: false}\n"
        "  - {name: opened, license: CC-BY-4.0, type: open_source}\n"
    )
    (tmp_path / "supply.yaml").write_text("mode: cooperation\npartners: [P]\nagreement_id: A-1\n")
    out = tmp_path / "out"
    args = [
        "license",
        corpus,
        "-o",
        out,
        "--sources",
        tmp_path / "sources.yaml",
        "--supply",
        tmp_path / "supply.yaml",
    ]
    assert cli(*args, "-q").exit_code == 0
    provenance = {entry.match: entry for entry in Manifest.read(out / "manifest.json").provenance}
    bought = provenance["name=bought"]
    assert bought.contract_sha256 == hashlib.sha256(b"SECRET-CONTRACT-77").hexdigest()
    assert bought.supplier_guarantee is True and provenance["name=crawled"].robots_txt is False
    report = json.loads(cli("manifest", "validate", out, "--format", "json").output)["manifests"][0]
    found = {(finding["rule"], finding["field"]) for finding in report["findings"]}
    # the crawl against robots.txt is an error; the open source lacks its licence document
    assert ("CK152", "provenance.1.robots_txt") in found and ("CK150", "provenance.2") in found
    assert not report["ok"]
    assert cli("card", out).exit_code == 0
    card = (out / "README.md").read_text()
    assert "contract commitment sha256:" in card and "robots.txt NOT respected" in card
    everything = card + (out / "manifest.json").read_text() + (out / "croissant.json").read_text()
    assert "SECRET-CONTRACT-77" not in everything
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources:\n  - {name: x, license: MIT, licence_sha256: not-a-digest}\n")
    with pytest.raises(UsageError, match="licence_sha256"):
        load_sources(bad)
