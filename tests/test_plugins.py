"""The stage contract from outside: a plugin package, Python registration, module:Class steps, open
routes for quality signals, PII validators and recognizers, and the missing-extra hint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

import corpus_kit
from corpus_kit.errors import UsageError
from corpus_kit.stages import registry
from tests.conftest import write_jsonl

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "corpus-kit-example-stage"

RECORDS = [
    {"id": f"r{index}", "text": text, "metadata": {"license": "CC-BY-4.0"}}
    for index, text in enumerate(
        ["one two three four", "too short", "five words are right here", "x", "a b c d e f g h"]
    )
]


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example package installed (wheel built by pip, no network) into a folder of its own."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(EXAMPLE)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    assert (target / "corpus_kit_example_stage").is_dir()
    return target


def _cli(args: list[str], cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{pythonpath}{os.pathsep}{REPO}", "CI": "1"}
    return subprocess.run(
        [sys.executable, "-m", "corpus_kit", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_an_installed_plugin_runs_from_yaml_and_appears_everywhere(
    installed_plugin: Path, tmp_path: Path
) -> None:
    write_jsonl(tmp_path / "in.jsonl", RECORDS)
    (tmp_path / "p.yaml").write_text(
        "name: counted\ninputs: [in.jsonl]\nsupply: {mode: cooperation, partners: [Lab], agreement_id: A-1}\n"
        "steps:\n  - license: {}\n  - wordcount: {min_words: 3}\n",
        encoding="utf-8",
    )
    listed = _cli(["stages", "--json"], tmp_path, installed_plugin)
    assert listed.returncode == 0, listed.stderr
    stages = {entry["name"]: entry for entry in json.loads(listed.stdout)}
    assert stages["wordcount"]["origin"] == "entry point (corpus-kit-example-stage)"
    assert set(stages["wordcount"]["parameters"]) == {"min_words", "field"}
    assert stages["wordcount"]["reasons"] == ["wordcount.too_short"]
    assert stages["pii"]["origin"] == "built-in"

    done = _cli(["run", "p.yaml", "-o", "out", "--quiet"], tmp_path, installed_plugin)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    schema = json.loads((REPO / "manifests" / "manifest.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(manifest, schema)
    assert manifest["counts"]["dropped"] == {"wordcount.too_short": 2}
    assert manifest["stages"]["wordcount"] == {"min_words": 3, "documents": 5, "words": 17, "dropped": 2}
    rows = corpus_kit.load_manifest(tmp_path / "out").counts.output
    assert rows == 3
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert 'id="wordcount"' in report and 'href="#wordcount"' in report
    import pyarrow.parquet as pq

    metadata = [
        json.loads(row) for row in pq.read_table(tmp_path / "out" / "data").column("metadata").to_pylist()
    ]
    assert sorted(item["word_count"] for item in metadata) == [4, 5, 8]

    carded = _cli(["card", "out"], tmp_path, installed_plugin)
    assert carded.returncode == 0, carded.stderr
    card = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert "Word count" in card and "17 words in the kept records" in card

    validated = _cli(["manifest", "validate", "out"], tmp_path, installed_plugin)
    assert validated.returncode == 0, validated.stdout + validated.stderr


def test_plugin_parameters_are_checked_at_their_yaml_line(installed_plugin: Path, tmp_path: Path) -> None:
    write_jsonl(tmp_path / "in.jsonl", RECORDS)
    (tmp_path / "bad.yaml").write_text(
        "name: counted\ninputs: [in.jsonl]\nsteps:\n  - wordcount:\n      min_words: -1\n", encoding="utf-8"
    )
    done = _cli(["run", "bad.yaml", "-o", "out", "--quiet"], tmp_path, installed_plugin)
    assert done.returncode == 2
    assert (
        "bad.yaml:5: steps.0.wordcount.min_words: Input should be greater than or equal to 0" in done.stderr
    )
    (tmp_path / "unknown.yaml").write_text(
        "name: counted\ninputs: [in.jsonl]\nsteps:\n  - wordcount: {min_word: 2}\n", encoding="utf-8"
    )
    done = _cli(["run", "unknown.yaml", "-o", "out", "--quiet"], tmp_path, installed_plugin)
    assert done.returncode == 2 and "unknown.yaml:4: steps.0.wordcount.min_word: Extra inputs" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_module_class_step_needs_no_installation(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "in.jsonl", RECORDS)
    (tmp_path / "p.yaml").write_text(
        "name: counted\ninputs: [in.jsonl]\nsteps:\n"
        "  - corpus_kit_example_stage:WordCountStage: {min_words: 5}\n",
        encoding="utf-8",
    )
    done = _cli(["run", "p.yaml", "-o", "out", "--quiet"], tmp_path, EXAMPLE / "src")
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["dropped"] == {"wordcount.too_short": 3}
    assert manifest["pipeline"]["steps"][1]["name"] == "corpus_kit_example_stage:WordCountStage"
    # anything that is not a Stage is refused before it is called
    (tmp_path / "evil.yaml").write_text(
        "name: x\ninputs: [in.jsonl]\nsteps:\n  - os:system: {}\n", encoding="utf-8"
    )
    done = _cli(["run", "evil.yaml", "-o", "out2", "--quiet"], tmp_path, EXAMPLE / "src")
    assert done.returncode == 2 and "is not a corpus-kit stage" in done.stderr


def test_a_stage_registered_from_python_runs_through_the_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sys.path.insert(0, str(EXAMPLE / "src"))
    monkeypatch.setattr(registry, "_registered", {})
    try:
        from corpus_kit_example_stage import WordCountStage

        class Renamed(WordCountStage):
            name = "words"

        corpus_kit.register_stage(Renamed)
        with pytest.raises(UsageError, match="already registered"):
            corpus_kit.register_stage(Renamed)
        with pytest.raises(UsageError, match="already registered"):
            corpus_kit.register_stage(type("Dedup", (WordCountStage,), {"name": "dedup"}))
        write_jsonl(tmp_path / "in.jsonl", RECORDS)
        result = corpus_kit.run(
            inputs=[tmp_path / "in.jsonl"],
            output=tmp_path / "out",
            steps=[{"words": {"min_words": 4}}],
            supply={
                "mode": "cooperation",
                "partners": ["Lab"],
                "agreement_id": "A-1",
                "classification": {"grade": "general"},
            },
            workers=1,
        )
        assert result.manifest.counts.dropped == {"wordcount.too_short": 2}
        assert result.manifest.stages["words"]["documents"] == 5
        assert [info.origin for info in corpus_kit.list_stages() if info.name == "words"] == ["registered"]
        assert corpus_kit.validate_manifest(tmp_path / "out") == []
        assert corpus_kit.verify_dataset(tmp_path / "out").problems == []
        with pytest.raises(UsageError, match=r"words step: min_words: Input should be greater"):
            corpus_kit.run(
                inputs=[tmp_path / "in.jsonl"], output=tmp_path / "o2", steps=[{"words": {"min_words": -1}}]
            )
    finally:
        sys.path.remove(str(EXAMPLE / "src"))


def test_a_registered_quality_signal_is_usable_in_a_rule_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from corpus_kit.stages import quality

    monkeypatch.setattr(quality, "SIGNALS", dict(quality.SIGNALS))
    corpus_kit.register_quality_signal(
        "vowel_fraction", lambda view, rule: sum(c in "aeiou" for c in view.text) / max(len(view.text), 1)
    )
    with pytest.raises(ValueError, match="exists"):
        corpus_kit.register_quality_signal("word_count", lambda view, rule: 0.0)
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "version: t\nlanguages: {default: [mine]}\n"
        "rule_sets: {mine: [{id: vowels, kind: vowel_fraction, min: 0.3}]}\n",
        encoding="utf-8",
    )
    write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "aeiou aeiou"}, {"id": "b", "text": "xyz xyz"}])
    result = corpus_kit.run(
        inputs=[tmp_path / "in.jsonl"],
        output=tmp_path / "out",
        steps=[{"quality": {"rules": str(rules)}}],
        workers=1,
    )
    assert result.manifest.counts.dropped == {"quality.vowels": 1}
    rules.write_text(rules.read_text().replace("vowel_fraction", "no_such_kind"), encoding="utf-8")
    with pytest.raises(UsageError, match="unknown kind 'no_such_kind'"):
        corpus_kit.run(
            inputs=[tmp_path / "in.jsonl"], output=tmp_path / "o2", steps=[{"quality": {"rules": str(rules)}}]
        )


def test_pii_validators_and_recognizers_can_be_added(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from presidio_analyzer import Pattern, PatternRecognizer

    from corpus_kit.stages.pii import presidio, recognizers

    monkeypatch.setattr(recognizers, "VALIDATORS", dict(recognizers.VALIDATORS))
    monkeypatch.setattr(presidio, "_REGISTERED_RECOGNIZERS", {})
    # a validator: employee numbers are only PII when their digits sum to an even number
    corpus_kit.register_pii_validator(
        "even_sum", lambda value, context: sum(map(int, filter(str.isdigit, value))) % 2 == 0
    )
    rules = tmp_path / "pii.yaml"
    rules.write_text(
        "version: t\nentities:\n  EMPLOYEE_ID:\n    validator: even_sum\n"
        "    patterns: [{name: emp, regex: 'EMP-\\d{4}', score: 0.9}]\n",
        encoding="utf-8",
    )
    corpus_kit.register_pii_recognizer(
        "badge",
        lambda: PatternRecognizer(supported_entity="BADGE", patterns=[Pattern("badge", r"BADGE#\d{3}", 0.9)]),
    )
    write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "EMP-1234 EMP-1235 BADGE#007 ok"}])
    result = corpus_kit.run(
        inputs=[tmp_path / "in.jsonl"],
        output=tmp_path / "out",
        steps=[{"pii": {"rules": str(rules), "recognizers": ["badge"]}}],
        workers=1,
    )
    import pyarrow.parquet as pq

    text = pq.read_table(tmp_path / "out" / "data").column("text").to_pylist()[0]
    assert text == "<EMPLOYEE_ID> EMP-1235 <BADGE> ok"
    assert result.manifest.pii is not None and result.manifest.pii.entities == {"BADGE": 1, "EMPLOYEE_ID": 1}
    with pytest.raises(UsageError, match="unknown recognizer 'nope'"):
        corpus_kit.run(
            inputs=[tmp_path / "in.jsonl"], output=tmp_path / "o2", steps=[{"pii": {"recognizers": "nope"}}]
        )


BLOCK_PRESIDIO = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("presidio_analyzer", "presidio_anonymizer"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
sys.argv = ["corpus-kit", *sys.argv[1:]]
from corpus_kit.cli import main
main()
"""


def test_a_missing_extra_is_one_line_with_the_pip_command(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "in.jsonl", RECORDS)
    env = {**os.environ, "PYTHONPATH": str(REPO), "CI": "1"}
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_PRESIDIO, "pii", "in.jsonl", "-o", "out", "--quiet"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and 'pip install "corpus-kit[pii]"' in lines[0], done.stderr
    # the commands that need no extra still work without it
    (tmp_path / "supply.yaml").write_text(
        "mode: cooperation\npartners: [Lab]\nagreement_id: A-1\n", encoding="utf-8"
    )
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_PRESIDIO, "convert", "in.jsonl", "-o", "out", "--quiet",
         "--supply-mode", "cooperation", "--supply", "supply.yaml"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_PRESIDIO, "manifest", "validate", "out"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_broken_plugin_fails_with_one_line_and_leaves_the_previous_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from corpus_kit.errors import CorpusKitError

    sys.path.insert(0, str(EXAMPLE / "src"))
    monkeypatch.setattr(registry, "_registered", {})
    try:
        from corpus_kit_example_stage import WordCountStage

        class Broken(WordCountStage):
            name = "broken"

            def manifest_section(self, step, stats):
                raise KeyError("oops")

        corpus_kit.register_stage(Broken)
        write_jsonl(tmp_path / "in.jsonl", RECORDS)
        corpus_kit.run(inputs=[tmp_path / "in.jsonl"], output=tmp_path / "out", workers=1)
        before = (tmp_path / "out" / "manifest.json").read_bytes()
        with pytest.raises(
            CorpusKitError, match=r"stage 'broken' failed to give its manifest section \(KeyError"
        ):
            corpus_kit.run(
                inputs=[tmp_path / "in.jsonl"],
                output=tmp_path / "out",
                steps=["broken"],
                overwrite=True,
                workers=1,
            )
        assert (tmp_path / "out" / "manifest.json").read_bytes() == before
        assert corpus_kit.verify_dataset(tmp_path / "out").problems == []
        # a module that fails to import is a usage error naming it
        (tmp_path / "bad_plugin.py").write_text("raise RuntimeError('boom')\n", encoding="utf-8")
        monkeypatch.syspath_prepend(str(tmp_path))
        with pytest.raises(UsageError, match=r"importing 'bad_plugin' failed \(RuntimeError: boom\)"):
            corpus_kit.run(inputs=[tmp_path / "in.jsonl"], output=tmp_path / "o2", steps=["bad_plugin:Stage"])
    finally:
        sys.path.remove(str(EXAMPLE / "src"))


def test_a_manifest_cannot_make_corpus_kit_import_a_module(tmp_path: Path) -> None:
    """Step names in a manifest are data: rendering its card or report imports nothing they name."""
    write_jsonl(tmp_path / "in.jsonl", RECORDS)
    (tmp_path / "supply.yaml").write_text(
        "mode: cooperation\npartners: [Lab]\nagreement_id: A-1\n", encoding="utf-8"
    )
    done = _cli(
        ["convert", "in.jsonl", "-o", "out", "--quiet", "--supply", "supply.yaml"], tmp_path, tmp_path
    )
    assert done.returncode == 0, done.stderr
    (tmp_path / "planted.py").write_text(
        "import pathlib\npathlib.Path('imported').write_text('yes')\n", encoding="utf-8"
    )
    path = tmp_path / "out" / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["pipeline"]["steps"].insert(1, {"name": "planted:Stage"})
    path.write_text(json.dumps(manifest), encoding="utf-8")
    done = _cli(["card", "out"], tmp_path, tmp_path)  # planted.py is importable from here
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "imported").exists()
