"""Lineage exports (issue 17 item 6): OpenLineage, W3C PROV and SLSA provenance of the demo and of a
targeted-trade dataset validate with their packages, carry the manifest's checksums, and hold no
buyer, contract id or personal value; an edited manifest and an -o inside data/ are refused."""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from corpus_kit.catalog.card import commitment
from corpus_kit.cli import app
from corpus_kit.governance.manifest import Manifest, Supply
from corpus_kit.records import OUTPUT_SCHEMA
from tests.conftest import write_jsonl

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ("openlineage", "prov", "slsa")
BUYER, CONTRACT, SOURCE_CONTRACT = "Secret Buyer Ltd", "CONTRACT-SECRET-9", "SRC-CONTRACT-SECRET-77"
PHONE = "13812345678"


def invoke(*args: Any) -> Any:
    return CliRunner().invoke(app, [str(arg) for arg in args], catch_exceptions=False)


def one_error_line(result: Any, code: int) -> str:
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    return lines[0]


def export_all(dataset: Path, folder: Path) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    texts = {}
    for fmt in FORMATS:
        target = folder / f"{dataset.parent.name}.{fmt}.json"
        result = invoke("export", dataset, "--format", fmt, "-o", target)
        assert result.exit_code == 0, result.output
        texts[fmt] = target.read_text(encoding="utf-8")
    return texts


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "demo"
    result = invoke("demo", "-o", out, "-q")
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def trade(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A targeted_trade dataset naming a buyer and a contract, with a source contract id, PII in
    the text, and a declared grade when the supply block knows classification."""
    base = tmp_path_factory.mktemp("trade")
    records = [
        {"id": f"r{i}", "text": f"第{i}条交易数据记录，联系电话{PHONE[:-3]}{i:03d}。"} for i in range(12)
    ]
    write_jsonl(base / "in.jsonl", [*records, {"id": "bad"}])
    supply = (
        f"mode: targeted_trade\nbuyers: [{BUYER}]\ncontract_id: {CONTRACT}\n"
        "valid_until: 2099-12-31\npermitted_uses: [research]\n"
    )
    if "classification" in Supply.model_fields:
        supply += "classification: {industry: finance, grade: general, general_level: 2, basis: test}\n"
    (base / "supply.yaml").write_text(supply, encoding="utf-8")
    (base / "sources.yaml").write_text(
        "sources:\n  - path: '*in.jsonl'\n    license: CC-BY-4.0\n    type: commercial\n"
        f"    contract_id: {SOURCE_CONTRACT}\n    licence_sha256: {'ab' * 32}\n"
        "    supplier_guarantee: true\n",
        encoding="utf-8",
    )
    (base / "p.yaml").write_text(
        "name: trade\ndataset: {name: ds-trade, version: '1.0.0'}\n"
        f"steps:\n  - license: {{sources: {base / 'sources.yaml'}}}\n  - pii: {{operator: replace}}\n",
        encoding="utf-8",
    )
    out = base / "dataset"
    result = invoke(
        "run", base / "p.yaml", "-i", base / "in.jsonl", "-o", out, "-q", "--supply", base / "supply.yaml"
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def exports(demo: Path, trade: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    folder = tmp_path_factory.mktemp("exports")
    return {"demo": export_all(demo, folder / "demo"), "trade": export_all(trade, folder / "trade")}


def manifest_of(dataset: Path) -> Manifest:
    manifest = Manifest.read(dataset / "manifest.json")
    assert manifest.supply is not None and manifest.license is not None
    return manifest


def manifest_sha256(dataset: Path) -> str:
    return hashlib.sha256((dataset / "manifest.json").read_bytes()).hexdigest()


@pytest.mark.parametrize("which", ["demo", "trade"])
def test_openlineage_event_validates_and_carries_the_manifest_checksums(
    which: str, demo: Path, trade: Path, exports: dict[str, dict[str, str]]
) -> None:
    from openlineage.client.event_v2 import RunEvent

    from corpus_kit.catalog.lineage import validate_openlineage

    dataset = {"demo": demo, "trade": trade}[which]
    manifest = manifest_of(dataset)
    assert manifest.supply is not None and manifest.license is not None
    event = json.loads(exports[which]["openlineage"])
    validate_openlineage(event)  # rebuilt through openlineage.client's attrs classes, compared
    assert event["eventType"] == "COMPLETE" and event["schemaURL"] == RunEvent._get_schema()
    assert uuid.UUID(event["run"]["runId"])
    assert event["eventTime"].startswith(manifest.dataset.created_at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert event["job"] == {**event["job"], "namespace": "corpus-kit", "name": manifest.pipeline.name}
    inputs = {item["name"]: item["facets"]["corpus_kit_checksum"]["sha256"] for item in event["inputs"]}
    assert inputs == {source.uri: source.sha256 for source in manifest.sources}
    for item in event["inputs"]:
        assert item["facets"]["dataSource"]["uri"] == item["name"]
    *files, whole = event["outputs"]
    prefix = f"{manifest.dataset.name}@{manifest.dataset.version}/"
    assert {
        item["name"].removeprefix(prefix): item["facets"]["corpus_kit_checksum"]["sha256"] for item in files
    } == {item.path: item.sha256 for item in manifest.files}
    assert [f["facets"]["version"]["datasetVersion"] for f in files] == [
        f"sha256:{f.sha256}" for f in manifest.files
    ]
    assert [field["name"] for field in whole["facets"]["schema"]["fields"]] == OUTPUT_SCHEMA.names
    facets = whole["facets"]
    assert facets["corpus_kit_manifest"]["sha256"] == manifest_sha256(dataset)
    assert facets["corpus_kit_manifest"]["seal_sha256"] == manifest.seal_sha256
    assert facets["corpus_kit_supply"]["mode"] == manifest.supply.mode.value
    assert facets["corpus_kit_licence"]["expression"] == manifest.license.expression
    assert (
        facets["corpus_kit_counts"]["output"]
        == manifest.counts.output
        == whole["outputFacets"]["outputStatistics"]["rowCount"]
    )
    for key, facet in facets.items():
        assert facet["_producer"] and facet["_schemaURL"].startswith("https://"), key
    steps = event["run"]["facets"]["corpus_kit_pipeline"]["steps"]
    assert [step["name"] for step in steps] == [step.name for step in manifest.pipeline.steps]
    classification = getattr(manifest.supply, "classification", None)
    if classification is not None and classification.grade is not None:
        assert facets["corpus_kit_classification"]["grade"] == "general"


def test_openlineage_validator_rejects_a_broken_event(exports: dict[str, dict[str, str]]) -> None:
    from corpus_kit.catalog.lineage import validate_openlineage

    for broken in (
        lambda e: e["run"].update(runId="not-a-uuid"),
        lambda e: e.pop("eventTime"),
        lambda e: e["inputs"][0]["facets"]["corpus_kit_checksum"].update(extra="field"),
        lambda e: e["outputs"][0]["facets"]["schema"].update(_schemaURL="https://example.com/x"),
    ):
        event = json.loads(exports["demo"]["openlineage"])
        broken(event)
        with pytest.raises((ValueError, TypeError)):
            validate_openlineage(event)


@pytest.mark.parametrize("which", ["demo", "trade"])
def test_prov_document_validates_and_carries_the_manifest_checksums(
    which: str, demo: Path, trade: Path, exports: dict[str, dict[str, str]]
) -> None:
    from prov.model import ProvActivity, ProvAgent, ProvDocument, ProvEntity

    from corpus_kit.catalog.lineage import validate_prov

    dataset = {"demo": demo, "trade": trade}[which]
    manifest = manifest_of(dataset)
    assert manifest.supply is not None and manifest.license is not None
    document = validate_prov(exports[which]["prov"])  # JSON and PROV-N round trips, unification
    again = ProvDocument.deserialize(content=exports[which]["prov"], format="json")
    assert again == document and again.is_document() and not again.has_bundles()

    def by_type(kind: str) -> dict[str, dict[str, Any]]:
        found = {}
        for record in document.get_records(ProvEntity):
            attributes = {str(k): v for k, v in record.attributes}
            if any(str(t) == kind for t in record.get_asserted_types()):
                found[str(record.identifier)] = attributes
        return found

    sources = by_type("ck:SourceFile")
    assert {(a["ck:uri"], a["ck:sha256"]) for a in sources.values()} == {
        (s.uri, s.sha256) for s in manifest.sources
    }
    files = by_type("ck:DataFile")
    assert {(a["ck:path"], a["ck:sha256"]) for a in files.values()} == {
        (f.path, f.sha256) for f in manifest.files
    }
    (manifest_entity,) = by_type("ck:Manifest").values()
    assert manifest_entity["ck:sha256"] == manifest_sha256(dataset)
    (whole,) = by_type("ck:Dataset").values()
    assert (
        whole["ck:supply_mode"] == manifest.supply.mode.value
        and whole["ck:licence"] == manifest.license.expression
    )
    activities = document.get_records(ProvActivity)
    assert [str(a.label) for a in activities] == [step.name for step in manifest.pipeline.steps]
    agents = document.get_records(ProvAgent)
    assert any("SoftwareAgent" in str(t) for agent in agents for t in agent.get_asserted_types())
    relations = json.loads(exports[which]["prov"])
    assert len(relations["used"]) == len(manifest.sources) == len(relations["wasDerivedFrom"])
    assert len(relations["wasGeneratedBy"]) == len(manifest.files) + 2  # the files, dataset and manifest
    assert len(relations["wasAssociatedWith"]) == len(manifest.pipeline.steps)
    assert len(relations["hadMember"]) == len(manifest.files)


#: SLSA provenance v1 (slsa.dev/provenance/v1) and in-toto Statement v1 field lists.
STATEMENT_FIELDS = {"_type", "subject", "predicateType", "predicate"}
BUILD_DEFINITION_FIELDS = {"buildType", "externalParameters", "internalParameters", "resolvedDependencies"}
RUN_DETAILS_FIELDS = {"builder", "metadata", "byproducts"}
DESCRIPTOR_FIELDS = {"name", "uri", "digest", "content", "downloadLocation", "mediaType", "annotations"}


@pytest.mark.parametrize("which", ["demo", "trade"])
def test_slsa_provenance_has_the_v1_fields_and_the_manifest_checksums(
    which: str, demo: Path, trade: Path, exports: dict[str, dict[str, str]]
) -> None:
    from corpus_kit.catalog.lineage import validate_slsa

    dataset = {"demo": demo, "trade": trade}[which]
    manifest = manifest_of(dataset)
    assert manifest.supply is not None and manifest.license is not None
    statement = json.loads(exports[which]["slsa"])
    validate_slsa(statement)
    assert set(statement) == STATEMENT_FIELDS
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    subjects = {item["name"]: item["digest"]["sha256"] for item in statement["subject"]}
    assert subjects == {
        **{f.path: f.sha256 for f in manifest.files},
        "manifest.json": manifest_sha256(dataset),
    }
    build = statement["predicate"]["buildDefinition"]
    assert set(build) == BUILD_DEFINITION_FIELDS and build["buildType"].startswith("https://")
    external = build["externalParameters"]
    assert external["pipeline"] == manifest.pipeline.name
    assert external["config_sha256"] == manifest.pipeline.config_sha256
    assert [step["params"] for step in external["steps"]] == [step.params for step in manifest.pipeline.steps]
    assert build["internalParameters"]["versions"] == manifest.pipeline.versions
    dependencies = build["resolvedDependencies"]
    for item in dependencies:
        assert set(item) <= DESCRIPTOR_FIELDS and item["digest"]["sha256"]
    assert {(d["uri"], d["digest"]["sha256"]) for d in dependencies if "uri" in d} == {
        (s.uri, s.sha256) for s in manifest.sources
    }
    licences = {d["digest"]["sha256"] for d in dependencies if "uri" not in d}
    assert licences == {p.licence_sha256 for p in manifest.provenance if p.licence_sha256}
    details = statement["predicate"]["runDetails"]
    assert set(details) <= RUN_DETAILS_FIELDS
    assert details["builder"]["id"].endswith(f"corpus-kit@{manifest.pipeline.versions['corpus-kit']}")
    metadata = details["metadata"]
    assert uuid.UUID(metadata["invocationId"].removeprefix("urn:uuid:"))
    assert metadata["startedOn"] <= metadata["finishedOn"]
    assert {b["name"]: b["digest"]["sha256"] for b in details.get("byproducts", [])} == {
        f.path: f.sha256 for folder in manifest.restricted for f in folder.files
    }


def test_the_run_id_is_the_same_in_every_format_and_every_export_is_reproducible(
    demo: Path, exports: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    texts = exports["demo"]
    run_id = json.loads(texts["openlineage"])["run"]["runId"]
    assert (
        json.loads(texts["slsa"])["predicate"]["runDetails"]["metadata"]["invocationId"]
        == f"urn:uuid:{run_id}"
    )
    assert run_id in texts["prov"]
    assert export_all(demo, tmp_path) == texts


def test_no_buyer_contract_id_or_personal_value_in_any_export(
    demo: Path, trade: Path, exports: dict[str, dict[str, str]]
) -> None:
    labels = json.loads((ROOT / "samples/demo/labels.json").read_text(encoding="utf-8"))
    planted = [v for label in labels.values() for vs in (label.get("pii_values") or {}).values() for v in vs]
    assert len(planted) >= 40
    sources = yaml.safe_load((ROOT / "samples/demo/sources.yaml").read_text(encoding="utf-8"))["sources"]
    demo_supply = manifest_of(demo).supply
    assert demo_supply is not None
    secrets = [
        *demo_supply.partners,
        demo_supply.agreement_id,
        *(entry["contract_id"] for entry in sources if entry.get("contract_id")),
        BUYER,
        CONTRACT,
        SOURCE_CONTRACT,
        PHONE[:-3],
    ]
    for which, texts in exports.items():
        for fmt, text in texts.items():
            assert [value for value in secrets + planted if value in text] == [], (which, fmt)
    # the parties appear as the card's commitments, so a holder can prove them
    for fmt, text in exports["trade"].items():
        assert commitment([BUYER]) in text and commitment(CONTRACT) in text, fmt
    source_commitment = "sha256:" + hashlib.sha256(SOURCE_CONTRACT.encode()).hexdigest()[:16]
    assert source_commitment in exports["trade"]["slsa"]
    for fmt, text in exports["demo"].items():
        assert commitment(demo_supply.partners) in text and commitment(demo_supply.agreement_id) in text, fmt


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_edited_or_invalid_manifest_is_refused(demo: Path, tmp_path: Path, fmt: str) -> None:
    copy = tmp_path / "edited"
    shutil.copytree(demo, copy)
    document = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    document["supply"]["mode"] = "open"
    (copy / "manifest.json").write_text(json.dumps(document), encoding="utf-8")
    target = tmp_path / "out.json"
    line = one_error_line(invoke("export", copy, "--format", fmt, "-o", target), 1)
    assert "manifest.json" in line and "seal_sha256" in line and "nothing exported" in line
    (copy / "manifest.json").write_text('{"schema_version": "1"}', encoding="utf-8")
    assert "not a valid manifest" in one_error_line(invoke("export", copy, "--format", fmt, "-o", target), 1)
    assert not target.exists()


def test_output_inside_the_dataset_or_not_a_dataset_is_refused(demo: Path, tmp_path: Path) -> None:
    before = sorted(path.name for path in (demo / "data").iterdir())
    for target in (demo / "data" / "lineage.json", demo / "data" / "sub" / "x.json", demo / "data"):
        line = one_error_line(invoke("export", demo, "--format", "slsa", "-o", target), 2)
        assert "data/ folder" in line
    line = one_error_line(invoke("export", demo, "--format", "slsa", "-o", demo / "rejects" / "x.json"), 2)
    assert "rejects/ folder" in line
    manifest = (demo / "manifest.json").read_bytes()
    line = one_error_line(invoke("export", demo, "--format", "slsa", "-o", demo / "manifest.json"), 2)
    assert "manifest" in line and (demo / "manifest.json").read_bytes() == manifest
    assert sorted(path.name for path in (demo / "data").iterdir()) == before
    line = one_error_line(invoke("export", tmp_path / "nothing", "--format", "prov", "-o", tmp_path / "x"), 2)
    assert "not a folder" in line
    # beside data/ is fine
    assert invoke("export", demo, "--format", "slsa", "-o", tmp_path / "demo.slsa.json").exit_code == 0


def test_a_missing_package_names_the_extra(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "prov" else real(name, *a)
    )
    line = one_error_line(invoke("export", demo, "--format", "prov", "-o", tmp_path / "x.json"), 2)
    assert "'prov'" in line and 'pip install "corpus-kit[lineage]"' in line


def test_the_slsa_export_is_checked_by_the_attestation_framework_models() -> None:
    """A statement the field lists would pass but the framework's protobuf models refuse."""
    from corpus_kit.catalog.lineage import _validate_slsa_protos

    good = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "manifest.json", "digest": {"sha256": "a" * 64}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {"buildType": "https://corpus-kit.dev/run/v1", "externalParameters": {}},
            "runDetails": {"builder": {"id": "https://corpus-kit.dev"}},
        },
    }
    _validate_slsa_protos(good)
    typo = json.loads(json.dumps(good))
    typo["predicate"]["runDetails"]["builder"]["ident"] = "x"
    with pytest.raises(ValueError, match="in-toto attestation models"):
        _validate_slsa_protos(typo)
    mistyped = json.loads(json.dumps(good))
    mistyped["predicate"]["buildDefinition"]["buildType"] = ["not", "a", "string"]
    with pytest.raises(ValueError, match="in-toto attestation models"):
        _validate_slsa_protos(mistyped)
