"""Cards, Croissant and publication: card round trip, mlcroissant, gate matrix, catalog folder, Hub."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpus_kit.catalog.publish import DATA_ALLOWED, plan_publication
from corpus_kit.cli import app
from tests.conftest import rewrite_manifest, write_jsonl

#: General data, level 2: the grade that lets open data be published (a missing grade counts as important).
GENERAL = (
    "classification: {grade: general, general_level: 2, basis: GB/T 43697-2024 6.5, industry: government}\n"
)

MODE_FIELDS = {
    "open": "",
    "conditional_open": "conditions: approved research applicants\naccess_contact: open-data office\n",
    "authorised": "authoriser: Municipal Data Agency\noperator: City Data Ops\nauthorisation_id: AUTH-77\n"
    "valid_until: 2099-12-31\npermitted_uses: [research]\n",
    "targeted_trade": "buyers: [Secret Buyer Ltd]\ncontract_id: CONTRACT-SECRET-9\nvalid_until: 2099-12-31\n"
    "permitted_uses: [research]\n",
    "cooperation": "partners: [Partner University]\nagreement_id: AGREEMENT-SECRET-3\n",
}


def build_dataset(base: Path, mode: str, classification: str = GENERAL) -> Path:
    """A small dataset in ``mode`` that passes validate: licences, PII step, supply fields."""
    base.mkdir(parents=True, exist_ok=True)
    records = [{"id": f"r{i}", "text": f"第{i}条开放数据记录，联系电话13812345{i:03d}。"} for i in range(12)]
    write_jsonl(base / "in.jsonl", [*records, {"id": "bad"}])
    (base / "supply.yaml").write_text(f"mode: {mode}\n{MODE_FIELDS[mode]}{classification}")
    (base / "p.yaml").write_text(
        "name: t\ndataset: {name: ds-" + mode.replace("_", "-") + ", version: '1.0.0'}\n"
        "steps:\n  - license: {default: CC-BY-4.0}\n  - pii: {operator: replace}\n"
    )
    out = base / "dataset"
    args = [
        "run",
        str(base / "p.yaml"),
        "-i",
        str(base / "in.jsonl"),
        "-o",
        str(out),
        "-q",
        "--supply",
        str(base / "supply.yaml"),
    ]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert CliRunner().invoke(app, ["card", str(out), "--language", "zh"]).exit_code == 0
    return out


@pytest.fixture(scope="module")
def datasets_by_mode(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("modes")
    return {mode: build_dataset(root / mode, mode) for mode in MODE_FIELDS}


def test_demo_card_round_trip_and_loading(tmp_path: Path, cli) -> None:
    from datasets import load_dataset
    from huggingface_hub import DatasetCard

    out = tmp_path / "demo"
    assert cli("demo", "-o", out, "-q").exit_code == 0
    result = cli("card", out, "--language", "zh,en", "--creator", "City Data Agency")
    assert result.exit_code == 0, result.output
    card = DatasetCard.load(out / "README.md")
    manifest = json.loads((out / "manifest.json").read_text())
    assert card.data.license == "other" and card.data.license_name and (out / "LICENSE.md").is_file()
    assert card.data.size_categories == ["n<1K"] and card.data.language == ["zh", "en"]
    assert card.data.configs[0]["data_files"][0]["path"] == "data/train-*"
    assert [f["name"] for f in card.data.dataset_info["features"]][:3] == ["id", "text", "media"]
    text = (out / "README.md").read_text()
    assert "[More Information Needed]" not in text
    for section in (
        "Supply Mode and Obligations",
        "Licence",
        "Source Data",
        "Personal and Sensitive Information",
    ):
        assert f"## {section}" in text
    assert "license.unknown" in text and "PHONE_NUMBER" in text
    for secret in manifest["supply"]["partners"] + [manifest["supply"]["agreement_id"]]:
        assert secret not in text and secret not in (out / "croissant.json").read_text()
    dataset = load_dataset(str(out), split="train")  # through the card's configs
    assert len(dataset) == manifest["counts"]["output"]


def test_croissant_validates_and_streams_offline(tmp_path: Path, cli) -> None:
    import mlcroissant as mlc

    out = tmp_path / "demo"
    assert cli("demo", "-o", out, "-q").exit_code == 0
    assert cli("card", out).exit_code == 0
    dataset = mlc.Dataset(str(out / "croissant.json"))  # raises on any validation error
    assert not dataset.metadata.ctx.issues.errors
    record = next(iter(dataset.records("default")))
    assert record["default/id"] and isinstance(record["default/pii_spans"], int)
    document = json.loads((out / "croissant.json").read_text())
    assert "http://mlcommons.org/croissant/RAI/1.0" in document["conformsTo"]
    objects = [d for d in document["distribution"] if d["@type"] == "cr:FileObject"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert {o["sha256"] for o in objects} == {f["sha256"] for f in manifest["files"]}
    assert "https://spdx.org/licenses/CC-BY-4.0.html" in document["license"]
    assert document["usageInfo"]["odrl:prohibition"] == [{"odrl:action": "commercialize"}]


@pytest.mark.parametrize("mode", list(MODE_FIELDS))
def test_card_and_croissant_agree_on_commercial_use(datasets_by_mode: dict[str, Path], mode: str) -> None:
    from corpus_kit.catalog.card import card_body
    from corpus_kit.catalog.croissant import _usage_offer
    from corpus_kit.governance.manifest import Manifest

    manifest = Manifest.read(datasets_by_mode[mode] / "manifest.json")
    offer = _usage_offer(manifest) or {}
    prohibited = {"odrl:action": "commercialize"} in offer.get("odrl:prohibition", [])
    # commercial_use is not set in these supply files: granted only where a permitted use says so
    assert ("Out of scope: commercial use" in card_body(manifest)) == prohibited


@pytest.mark.parametrize("grade", ["important", "core", None])
def test_important_data_never_goes_to_a_public_target(tmp_path: Path, cli, grade: str | None) -> None:
    declared = f"classification: {{grade: {grade}, basis: sector catalogue}}\n" if grade else ""
    dataset = build_dataset(tmp_path / "b", "authorised", classification=declared)
    shown = grade or "important"
    for target in (tmp_path / "public-catalog", "hf://datasets/city/health"):
        refused = cli("publish", dataset, "--to", target, "--visibility", "public", "--dry-run")
        assert refused.exit_code == 1
        lines = [line for line in refused.output.splitlines() if line.strip()]
        message = " ".join(lines)
        assert f"{shown} data" in message and "--visibility private" in message, refused.output
        assert ("就高从严" in message) == (grade is None)
    private = cli(
        "publish", dataset, "--to", tmp_path / "private-catalog", "--visibility", "private", "--dry-run"
    )
    assert private.exit_code == 0, private.output
    assert not (tmp_path / "public-catalog").exists()


@pytest.mark.parametrize("mode", list(MODE_FIELDS))
@pytest.mark.parametrize("visibility", ["public", "gated", "private"])
def test_gate_matrix(datasets_by_mode: dict[str, Path], mode: str, visibility: str) -> None:
    dataset = datasets_by_mode[mode]
    plan = plan_publication(dataset, "hf://datasets/org/x", visibility, card_only=False)
    data_allowed = visibility in DATA_ALLOWED[mode]
    assert (plan.refusal is None) == data_allowed, plan.refusal
    if data_allowed:
        names = [name for name, _ in plan.files]
        assert "manifest.json" in names and any(name.startswith("data/") for name in names)
        assert not any(name.startswith(("rejects/", "removed/", ".corpus-kit")) for name in names)
    else:
        assert mode in plan.refusal and "--card-only" in plan.refusal
        card_plan = plan_publication(dataset, "hf://datasets/org/x", visibility, card_only=True)
        assert card_plan.refusal is None
        assert {name for name, _ in card_plan.files} == {
            "README.md",
            "croissant.json",
        }  # no manifest, no data


def test_targeted_trade_dry_run_to_public_hub_refuses(datasets_by_mode: dict[str, Path], cli) -> None:
    result = cli(
        "publish",
        datasets_by_mode["targeted_trade"],
        "--to",
        "hf://datasets/org/x",
        "--visibility",
        "public",
        "--dry-run",
    )
    assert result.exit_code == 1
    assert "refused: targeted_trade data may not go to a public target" in result.output
    assert "--card-only" in result.output and "--visibility private" in result.output


def test_gates_refuse_a_tampered_or_invalid_dataset(
    datasets_by_mode: dict[str, Path], tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(datasets_by_mode["open"], copy)
    victim = sorted((copy / "data").glob("*.parquet"))[0]
    victim.write_bytes(victim.read_bytes() + b"x")
    plan = plan_publication(copy, "hf://datasets/org/x", "public", card_only=False)
    assert plan.refusal and "manifest verify failed" in plan.refusal and victim.name in plan.refusal
    expired = tmp_path / "expired"
    shutil.copytree(datasets_by_mode["authorised"], expired)
    manifest = json.loads((expired / "manifest.json").read_text())
    manifest["supply"]["valid_until"] = "2020-01-01"
    rewrite_manifest(expired / "manifest.json", manifest)
    plan = plan_publication(expired, "hf://datasets/org/x", "private", card_only=False)
    assert plan.refusal and "CK104" in plan.refusal


def test_card_and_publish_on_an_invalid_manifest_fail_in_one_line(
    datasets_by_mode: dict[str, Path], tmp_path: Path, cli
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(datasets_by_mode["open"], broken)
    manifest = json.loads((broken / "manifest.json").read_text())
    del manifest["files"]
    (broken / "manifest.json").write_text(json.dumps(manifest))
    for args in (
        ("card", broken),
        ("publish", broken, "--to", tmp_path / "catalog", "--visibility", "public"),
    ):
        result = cli(*args)
        assert result.exit_code == 1, result.output
        assert "not a valid manifest" in result.output and "validation error" not in result.output


def test_catalog_folder_publication(datasets_by_mode: dict[str, Path], tmp_path: Path, cli) -> None:
    catalog = tmp_path / "catalog"
    open_ds, trade_ds = datasets_by_mode["open"], datasets_by_mode["targeted_trade"]
    assert (open_ds / "rejects").is_dir()  # the malformed record is there, and must not travel
    assert cli("publish", open_ds, "--to", catalog, "--visibility", "public").exit_code == 0
    assert cli("publish", trade_ds, "--to", catalog, "--visibility", "public", "--card-only").exit_code == 0
    assert cli("publish", trade_ds, "--to", catalog, "--visibility", "public").exit_code == 1
    published = catalog / "ds-open"
    assert (published / "manifest.json").is_file() and list((published / "data").glob("*.parquet"))
    assert not (published / "rejects").exists() and not (published / "removed").exists()
    assert sorted(p.name for p in (catalog / "ds-targeted-trade").iterdir()) == [
        "README.md",
        "croissant.json",
    ]
    index = json.loads((catalog / "catalog.json").read_text())["datasets"]
    assert [(e["name"], e["mode"], e["data"]) for e in index] == [
        ("ds-open", "open", True),
        ("ds-targeted-trade", "targeted_trade", False),
    ]
    html = (catalog / "index.html").read_text()
    assert "ds-open" in html and "targeted_trade" in html and "<script" not in html and "http" not in html
    everything = "".join(
        p.read_text(errors="replace") for p in catalog.rglob("*") if p.suffix in {".md", ".json", ".html"}
    )
    for secret in ("Secret Buyer Ltd", "CONTRACT-SECRET-9", "13812345"):
        assert secret not in everything


class FakeHub:
    """Stands in for the Hub's HTTP API under huggingface_hub (nothing else is faked)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes]] = []

    def handler(self, request):
        import httpx2

        body = request.read()
        path = request.url.path
        self.requests.append((request.method, path, body))
        if path.endswith("/api/repos/create"):
            return httpx2.Response(200, json={"url": "https://huggingface.co/datasets/org/x"})
        if path.endswith("/api/validate-yaml") or path.endswith("/settings"):
            return httpx2.Response(200, json={})
        if "/preupload/" in path:
            files = json.loads(body)["files"]
            return httpx2.Response(
                200,
                json={
                    "files": [
                        {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files
                    ]
                },
            )
        if "/commit/" in path:
            return httpx2.Response(
                200,
                json={"commitUrl": "https://huggingface.co/datasets/org/x/commit/1", "commitOid": "1" * 40},
            )
        return httpx2.Response(404, json={"error": f"unexpected {path}"})


@pytest.mark.parametrize(
    ("mode", "visibility"), [("open", "public"), ("conditional_open", "gated"), ("cooperation", "private")]
)
def test_hub_publication_through_huggingface_hub(
    datasets_by_mode, mode, visibility, cli, monkeypatch
) -> None:
    import httpx2
    import huggingface_hub

    fake = FakeHub()
    monkeypatch.setenv("HF_TOKEN", "hf_test_token_not_real")
    huggingface_hub.set_client_factory(lambda: httpx2.Client(transport=httpx2.MockTransport(fake.handler)))
    try:
        result = cli(
            "publish", datasets_by_mode[mode], "--to", "hf://datasets/org/x", "--visibility", visibility
        )
    finally:
        huggingface_hub.set_client_factory(lambda: httpx2.Client())
    assert result.exit_code == 0, result.output
    create = next(json.loads(body) for method, path, body in fake.requests if path.endswith("/repos/create"))
    assert create["name"] == "x" and create["organization"] == "org" and create["type"] == "dataset"
    assert create["visibility"] == ("private" if visibility == "private" else "public")
    settings = [json.loads(body) for method, path, body in fake.requests if path.endswith("/settings")]
    assert settings == ([{"gated": "manual"}] if visibility == "gated" else [])
    commit = next(body for method, path, body in fake.requests if "/commit/" in path).decode()
    uploaded = {json.loads(line)["value"]["path"] for line in commit.splitlines() if '"file"' in line}
    assert {"README.md", "croissant.json", "manifest.json"} <= uploaded
    assert any(path.startswith("data/train-") for path in uploaded)
    assert not any(path.startswith(("rejects", "removed", ".corpus-kit")) for path in uploaded)


def test_catalog_on_an_fsspec_filesystem(datasets_by_mode: dict[str, Path], cli) -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    assert (
        cli(
            "publish", datasets_by_mode["open"], "--to", "memory://catalog", "--visibility", "public"
        ).exit_code
        == 0
    )
    assert fs.exists("/catalog/ds-open/manifest.json") and fs.exists("/catalog/index.html")
    index = json.loads(fs.cat("/catalog/catalog.json"))
    assert [entry["name"] for entry in index["datasets"]] == ["ds-open"]
    assert not fs.exists("/catalog/.ds-open.incoming")
    fs.rm("/catalog", recursive=True)


def test_markdown_escaping_keeps_tables_whole() -> None:
    from markupsafe import Markup

    from corpus_kit.catalog.card import md, md_code, md_table

    assert md("<b>a|b`c\\d</b> & 'q'") == "&lt;b&gt;a\\|b\\`c\\\\d&lt;/b&gt; &amp; &#39;q&#39;"
    assert md(Markup("<br>")) == "<br>"  # trusted fragments pass
    assert md_code("CC-BY-4.0") == "`CC-BY-4.0`"
    assert md_code("a`b|<c>") == "<code>a\\`b\\|&lt;c&gt;</code>"
    table = md_table(
        ["k", "v"], [{"k": "x|y\nz", "v": 1234567, "other": "-"}, ("a", None)], columns=["k", "v"]
    )
    assert table.splitlines() == ["| k | v |", "|---|---|", "| x\\|y z | 1,234,567 |", "| a |  |"]


def _card_copy(datasets_by_mode: dict[str, Path], tmp_path: Path, description: str = "") -> Path:
    dataset = tmp_path / "dataset"
    shutil.copytree(datasets_by_mode["open"], dataset)
    if description:
        manifest = json.loads((dataset / "manifest.json").read_text())
        manifest["dataset"]["description"] = description
        rewrite_manifest(dataset / "manifest.json", manifest)
    return dataset


def test_custom_card_template(datasets_by_mode: dict[str, Path], tmp_path: Path, cli) -> None:
    hostile = "<script>alert(1)</script> | x |"
    dataset = _card_copy(datasets_by_mode, tmp_path, description=hostile)
    template = tmp_path / "card.md.j2"
    template.write_text(
        "# {{ dataset.name }} (our card)\n\n"
        "{{ dataset.description }} / {{ [dataset.description]|join(', ') }}\n\n"
        "Rows: {{ rows|num }}; licence {{ licence.expression|code }}; PII step: {{ pii_ran }}.\n\n"
        "{{ table(['source', 'records'], sources, columns=['uri', 'records']) }}\n\n"
        "{% for section in stage_sections %}## {{ section.title }}\n\n{{ section.body }}\n\n{% endfor %}"
        "## The standard card\n\n{{ default_body }}"
    )
    result = cli("card", dataset, "--card-template", template)
    assert result.exit_code == 0, result.output
    text = (dataset / "README.md").read_text()
    assert text.startswith("---\n") and "pretty_name: ds-open" in text  # the front matter is unchanged
    body = text.split("\n---\n", 1)[1]
    assert body.lstrip().startswith("# ds-open (our card)")
    assert "<script" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; \\| x \\| / &lt;script&gt;" in body
    assert "Rows: 12; licence `CC-BY-4.0`; PII step: True." in body
    assert "| source | records |\n|---|---|\n| " in body and "/open/in.jsonl | 13 |" in body
    assert body.count("## Personal and Sensitive Information") == 2  # the stage section, and default_body's
    assert "## Dataset Details" in body and "Scrubbed with the `replace` operator" in body


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        ("fine\n{{ ''.__class__ }}\n", 2, "access to attribute '__class__' of 'str' object is unsafe"),
        ("{{ dataset.name.__class__.__mro__ }}", 1, "is unsafe"),
        ("{{ cycler.__init__.__globals__ }}", 1, "is unsafe"),
        ("one\n\n{% for x in %}\n", 3, "Expected an expression"),
        ("{{ rows }}\n{{ not_a_variable }}", 2, "'not_a_variable' is undefined"),
        ("{% include 'secrets.txt' %}", 1, "secrets.txt not found"),
    ],
)
def test_card_template_is_sandboxed_and_errors_are_one_line(
    datasets_by_mode: dict[str, Path], tmp_path: Path, cli, source: str, line: int, message: str
) -> None:
    dataset = _card_copy(datasets_by_mode, tmp_path)
    before = (dataset / "README.md").read_bytes()
    template = tmp_path / "evil.md.j2"
    template.write_text(source)
    result = cli("card", dataset, "--card-template", template)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {template}:{line}: card template error: ")
    assert message in lines[0]
    assert (dataset / "README.md").read_bytes() == before  # nothing written


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ 'x' * 10**9 }}", "would be too large"),
        ("{{ 2 ** 100000 }}", "exponent 100000 is too large"),
        ("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", "took more"),
        ("{% for a in range(100000) %}{{ 'y' * 1000 }}{% endfor %}", "would be larger than"),
    ],
)
def test_card_template_is_bounded_in_size_and_time(
    datasets_by_mode: dict[str, Path],
    tmp_path: Path,
    cli,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    message: str,
) -> None:
    from corpus_kit.catalog import card

    monkeypatch.setattr(card, "TEMPLATE_SECONDS", 0.5)
    monkeypatch.setattr(card, "MAX_CARD_CHARS", 1_000_000)
    dataset = _card_copy(datasets_by_mode, tmp_path)
    template = tmp_path / "heavy.md.j2"
    template.write_text(source)
    result = cli("card", dataset, "--card-template", template)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output
    template.write_bytes(b"x" * (card.MAX_TEMPLATE_BYTES + 1))
    result = cli("card", dataset, "--card-template", template)
    assert result.exit_code == 2 and "may hold at most" in result.output


def test_missing_card_template_is_a_usage_error(
    datasets_by_mode: dict[str, Path], tmp_path: Path, cli
) -> None:
    result = cli("card", datasets_by_mode["open"], "--card-template", tmp_path / "nope.md.j2")
    assert result.exit_code == 2
    assert f"{tmp_path / 'nope.md.j2'}: cannot read the card template" in result.output


def test_card_stage_sections(datasets_by_mode: dict[str, Path]) -> None:
    from markupsafe import Markup

    from corpus_kit.catalog.card import card_body, pii_card_section, stage_card_sections
    from corpus_kit.governance.manifest import Manifest

    manifest = Manifest.read(datasets_by_mode["open"] / "manifest.json")
    title, text = pii_card_section(manifest.pii, manifest)
    assert title == "Personal and Sensitive Information" and isinstance(text, Markup)
    assert stage_card_sections(manifest) == [(title, text)]
    assert card_body(manifest) == card_body(manifest, [(title, text)])
    sections = [("Word <count>", Markup("| a | b |\n|---|---|\n| 1 | 2 |")), ("Plain", "<i>text</i>")]
    body = card_body(manifest, sections)
    # after the processing section, in order; a stage that did not run (PII, here) adds nothing
    assert body.index("### Data Collection and Processing") < body.index("## Word &lt;count&gt;")
    assert body.index("## Word &lt;count&gt;\n\n| a | b |") < body.index(
        "## Plain\n\n&lt;i&gt;text&lt;/i&gt;"
    )
    assert body.index("## Plain") < body.index("## Bias, Risks, and Limitations")
    assert "Scrubbed with" not in body
    # without a PII summary the card says so, whatever the stages add
    no_pii = manifest.model_copy(update={"pii": None})
    assert "No PII step ran on this dataset: it may contain personal data." in card_body(no_pii)
