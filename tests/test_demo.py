"""The demo is the first thing a user runs: it must work offline and produce a trustworthy dataset."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from datasets import load_dataset

from corpus_kit.governance.manifest import Manifest
from corpus_kit.utils import sha256_file
from tests.test_pipeline import SCHEMA

PLANTED_REJECTS = {
    "json.invalid",
    "json.not_object",
    "text.missing",
    "text.not_string",
    "encoding.invalid_utf8",
}


def test_demo_dataset_loads_and_matches_its_manifest(tmp_path: Path, cli) -> None:
    out = tmp_path / "demo"
    result = cli("demo", "-o", out)
    assert result.exit_code == 0, result.output
    assert "holds" in result.output and "rejected" in result.output

    raw = json.loads((out / "manifest.json").read_text())
    jsonschema.validate(raw, SCHEMA)
    manifest = Manifest.model_validate(raw)
    dataset = load_dataset("parquet", data_dir=str(out / "data"), split="train")
    assert len(dataset) == manifest.counts.output > 300
    assert manifest.counts.invariant_holds()
    for item in manifest.files:
        assert sha256_file(out / item.path) == item.sha256
    assert manifest.supply is not None and manifest.supply.mode.value == "cooperation"
    assert manifest.dataset.name == "corpus-kit-demo"
    # every row carries a normalised licence; unlicensed crawl records are dropped, not guessed
    assert set(dataset["license"]) == set(manifest.license.licences) and None not in dataset["license"]
    assert manifest.license.use == "non-commercial" and manifest.license.unlicensed == 0
    languages = manifest.languages
    assert languages["zh-Hans"] > 100 and languages["en"] > 100 and "zh-Hant" in languages
    assert (
        list(manifest.counts.dropped) == ["license.unknown"]
        and manifest.counts.dropped["license.unknown"] > 0
    )
    assert any(entry.records for entry in manifest.provenance)
    # every PII value planted in the sample is gone from the data (labels.json holds them)
    labels = json.loads((Path(__file__).resolve().parents[1] / "samples/demo/labels.json").read_text())
    planted = [v for label in labels.values() for vs in (label.get("pii_values") or {}).values() for v in vs]
    assert len(planted) >= 40 and manifest.pii is not None and manifest.pii.documents > 0
    data_text = "\n".join(dataset["text"]) + "\n".join(filter(None, dataset["metadata"]))
    assert [value for value in planted if value in data_text] == []
    # the demo passes the checks a data repository's CI runs; --strict fails on exactly the two
    # content-safety warnings it is meant to show: a synthetic lexicon, no manual assessment yet
    assert cli("manifest", "validate", out).exit_code == 0
    strict = cli("manifest", "validate", out, "--strict", "--format", "json")
    assert strict.exit_code == 1
    findings = json.loads(strict.output)["manifests"][0]["findings"]
    assert sorted(finding["rule"] for finding in findings) == ["CK131", "CK134"]
    assert manifest.safety is not None and manifest.safety.screened > 300 and manifest.safety.flagged == 0
    assert manifest.safety.technical.checked_share > 0.9 and set(dataset["safety"]) > {None}
    assert cli("manifest", "verify", out).exit_code == 0
    assert {Path(source.uri).name for source in manifest.sources} == {
        "open_data_zh.jsonl.gz",
        "web_en.jsonl",
        "licensed_vertical.parquet",
        "media.tar",
    }

    rejects = [json.loads(line) for path in (out / "rejects").glob("*.jsonl") for line in path.open()]
    assert {entry["reason"] for entry in rejects} == PLANTED_REJECTS
    assert manifest.counts.rejected == len(PLANTED_REJECTS)

    media_rows = [row for row in dataset if row["media"]]
    kinds = {media["type"] for row in media_rows for media in row["media"]}
    assert {"image", "audio"} <= kinds
    assert any(row["text"] == "" for row in media_rows)  # image-only / audio-only samples survive

    # running the demo again replaces the earlier one
    assert cli("demo", "-o", out, "-q").exit_code == 0
