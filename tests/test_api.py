"""The public Python API, the generated references (CLI docs, pipeline schema) and the stage contract
as the built-in stages declare it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

import corpus_kit
from corpus_kit.errors import UsageError
from corpus_kit.governance.schema import main as schema_main
from corpus_kit.governance.schema import pipeline_json_schema, pipeline_schema_path
from corpus_kit.stages.registry import builtin_stages, get_stage
from tests.conftest import write_jsonl

REPO = Path(__file__).resolve().parents[1]


def test_importing_corpus_kit_is_light_and_all_names_resolve() -> None:
    heavy = "('datatrove', 'pyarrow', 'presidio_analyzer')"
    code = f"import sys, corpus_kit; print(sorted(m for m in {heavy} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert done.stdout.strip() == "[]"
    for name in corpus_kit.__all__:
        assert getattr(corpus_kit, name) is not None, name
    assert set(corpus_kit.__all__) == {"__version__", *corpus_kit._LAZY}
    assert (REPO / "corpus_kit" / "py.typed").is_file()
    with pytest.raises(AttributeError):
        corpus_kit.no_such_thing  # noqa: B018


def test_run_validate_verify_from_python(tmp_path: Path) -> None:
    write_jsonl(
        tmp_path / "in.jsonl",
        [{"id": f"r{i}", "text": f"record number {i} 电话 13812345678"} for i in range(6)],
    )
    result = corpus_kit.run(
        inputs=[tmp_path / "in.jsonl"],
        output=tmp_path / "out",
        steps=["langid", {"pii": {"operator": "mask"}}, {"license": {"default": "CC-BY-4.0"}}],
        supply={
            "mode": "cooperation",
            "partners": ["Lab"],
            "agreement_id": "A-1",
            "classification": {"grade": "general"},
        },
        workers=1,
    )
    assert result.manifest.counts.output == 6 and result.manifest.pii is not None
    assert result.manifest.pii.entities == {"PHONE_NUMBER": 6}
    assert corpus_kit.load_manifest(tmp_path / "out") == result.manifest
    assert corpus_kit.validate_manifest(tmp_path / "out") == []
    assert corpus_kit.verify_dataset(tmp_path / "out").problems == []
    (tmp_path / "out" / "data" / "extra.parquet").write_bytes(b"x")
    assert [problem.path for problem in corpus_kit.verify_dataset(tmp_path / "out").problems] == [
        "data/extra.parquet"
    ]
    with pytest.raises(UsageError, match="unknown step 'nope'"):
        corpus_kit.run(inputs=[tmp_path / "in.jsonl"], output=tmp_path / "o2", steps=["nope"])
    with pytest.raises(corpus_kit.CheckFailed):
        corpus_kit.load_manifest(tmp_path / "missing")
    with pytest.raises(UsageError, match="supply: mode: Input should be"):
        corpus_kit.run(inputs=[tmp_path / "in.jsonl"], output=tmp_path / "o3", supply={"mode": "free"})


def test_the_library_leaves_the_process_settings_alone(tmp_path: Path) -> None:
    """Only the CLI tunes malloc; a program calling corpus_kit.run keeps its own settings."""
    from corpus_kit.pipeline import tuning

    write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "hello"}])
    before = tuning._applied
    corpus_kit.run(inputs=[tmp_path / "in.jsonl"], output=tmp_path / "out", workers=1)
    assert tuning._applied == before


def test_builtin_stages_declare_the_contract() -> None:
    for name in builtin_stages():
        stage = get_stage(name)
        assert stage.name == name and stage.summary and stage.example.startswith(f"- {name}:")
        assert stage.params_model.model_config.get("extra") == "forbid"
        for field, info in stage.params_model.model_fields.items():
            assert info.description, f"{name}.{field} has no description (it is the CLI help)"
        # a reason starts with its stage's name; decontaminate's are decontam.<benchmark> (DESIGN.md §12)
        prefix = {"decontaminate": "decontam"}.get(name, name)
        assert all(reason.split(".")[0] == prefix or reason == name for reason in stage.reasons), (
            stage.reasons
        )
    assert get_stage("pii").section_model is not None and get_stage("langid").section_model is None


def test_pipeline_schema_is_generated_and_accepts_the_bundled_pipelines() -> None:
    assert pipeline_schema_path().read_text(encoding="utf-8") == pipeline_json_schema()
    assert schema_main(["--check"]) == 0
    schema = json.loads(pipeline_json_schema())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted((REPO / "pipelines").glob("*.yaml")):
        errors = [
            error.message for error in validator.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8")))
        ]
        assert errors == [], path
    bad = {"name": "x", "steps": [{"langid": {"min_scor": 0.5}}]}
    assert list(validator.iter_errors(bad))
    assert not list(validator.iter_errors({"name": "x", "steps": [{"my_pkg.mod:Stage": {"a": 1}}, "dedup"]}))


def test_cli_reference_is_current() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/make_cli_docs.py", "--check"], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_stage_commands_take_their_options_from_the_params_model(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from corpus_kit.cli import app

    runner = CliRunner()
    help_text = runner.invoke(app, ["dedup", "--help"], env={"COLUMNS": "200"}).output
    for option in ("--mode", "--threshold", "--image-hamming", "--no-media", "--keep-removed", "--num-perm"):
        assert option in help_text
    # pii drops a text over its scan caps (issue 21), so it takes --keep-removed as well
    assert "--keep-removed" in runner.invoke(app, ["pii", "--help"], env={"COLUMNS": "200"}).output
    write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "hello world"}])
    done = runner.invoke(
        app, ["langid", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "o"), "--min-score", "2"]
    )
    assert done.exit_code == 2
    assert "langid step: min_score: Input should be less than or equal to 1" in done.output
    done = runner.invoke(
        app, ["langid", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "o"), "--keep", "en,fr", "--quiet"]
    )
    assert done.exit_code == 0, done.output
    manifest = corpus_kit.load_manifest(tmp_path / "o")
    assert manifest.pipeline.steps[1].params == {"keep": ["en", "fr"]}


def test_builtin_stages_are_found_by_their_classes_and_declared_as_entry_points() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    from corpus_kit.stages.registry import builtin_stages

    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["entry-points"]
    assert declared["corpus_kit.stages"] == builtin_stages()
    assert set(builtin_stages()) == {
        "dedup", "langid", "quality", "pii", "license", "safety", "tokens", "decontaminate", "media",
    }  # fmt: skip


def test_a_stage_used_twice_gives_one_report_section(tmp_path: Path) -> None:
    write_jsonl(
        tmp_path / "in.jsonl", [{"id": f"r{i}", "text": f"a line of text number {i}."} for i in range(4)]
    )
    result = corpus_kit.run(
        inputs=[tmp_path / "in.jsonl"], output=tmp_path / "out", steps=["quality", "quality"], workers=1
    )
    assert [step.name for step in result.manifest.pipeline.steps] == ["read", "quality", "quality", "write"]
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert page.count('<section id="quality">') == 1
