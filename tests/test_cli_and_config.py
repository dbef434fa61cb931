"""CLI contract (help, exit codes, one-line errors, cli.py == corpus-kit) and pipeline YAML validation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from corpus_kit import __version__
from corpus_kit.errors import UsageError
from corpus_kit.governance.schema import main as schema_main
from corpus_kit.governance.schema import manifest_json_schema, schema_path
from corpus_kit.pipeline.config import load_pipeline, parse_max_rejects
from corpus_kit.utils import parse_size
from tests.conftest import record, write_jsonl

REPO = Path(__file__).resolve().parents[1]
COMMANDS = ["demo", "run", "convert", "inspect"]


def test_manifest_schema_file_is_generated_from_the_models() -> None:
    assert schema_path().read_text(encoding="utf-8") == manifest_json_schema(), (
        "manifests/manifest.schema.json is stale: run python -m corpus_kit.governance.schema"
    )
    assert schema_main(["--check"]) == 0


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_has_an_example(cli, command: str) -> None:
    result = cli(command, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.output and f"corpus-kit {command}" in result.output


def test_cli_py_is_the_same_program() -> None:
    for launcher in ([sys.executable, str(REPO / "cli.py")], [sys.executable, "-m", "corpus_kit"]):
        done = subprocess.run([*launcher, "--version"], capture_output=True, text=True, check=True)
        assert done.stdout.strip() == f"corpus-kit {__version__}"
    listing = subprocess.run([sys.executable, str(REPO / "cli.py"), "--help"], capture_output=True, text=True)
    for command in COMMANDS:
        assert command in listing.stdout


def test_the_process_exit_keeps_codes_output_and_atexit_handlers(tmp_path: Path) -> None:
    # main() ends the process itself (no interpreter teardown): what a normal exit does must still happen
    script = (
        "import atexit, sys\n"
        "atexit.register(print, 'atexit ran')\n"
        "from corpus_kit.cli import main\n"
        "sys.argv = ['corpus-kit', *sys.argv[1:]]\n"
        "main()\n"
    )
    version = subprocess.run([sys.executable, "-c", script, "--version"], capture_output=True, text=True)
    assert version.returncode == 0
    assert version.stdout.splitlines() == [f"corpus-kit {__version__}", "atexit ran"]
    failed = subprocess.run(
        [sys.executable, "-c", script, "run", str(tmp_path / "none.yaml")], capture_output=True, text=True
    )
    assert failed.returncode == 2
    assert "none.yaml" in failed.stderr + failed.stdout
    assert failed.stdout.endswith("atexit ran\n")
    long_output = subprocess.run(
        [sys.executable, "-c", script, "run", "--help"], capture_output=True, text=True
    )
    assert long_output.returncode == 0
    assert long_output.stdout.rstrip().endswith("atexit ran") and "--workers" in long_output.stdout


def test_usage_errors_exit_2_with_one_line(tmp_path: Path, cli) -> None:
    missing = cli("convert", tmp_path / "nope.jsonl", "-o", tmp_path / "out")
    assert missing.exit_code == 2
    lines = [line for line in missing.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "nope.jsonl" in lines[0] and "input not found" in lines[0]
    assert cli("convert", tmp_path, "-o", tmp_path / "o", "--shard-size", "lots").exit_code == 2
    assert cli("convert", "--bogus").exit_code == 2
    assert cli("run", tmp_path / "none.yaml").exit_code == 2


def test_quiet_prints_nothing_and_summary_counts(tmp_path: Path, cli) -> None:
    write_jsonl(tmp_path / "in.jsonl", [record(i) for i in range(3)])
    quiet = cli("convert", tmp_path / "in.jsonl", "-o", tmp_path / "q", "-q")
    assert quiet.exit_code == 0 and quiet.output == ""
    loud = cli("convert", tmp_path / "in.jsonl", "-o", tmp_path / "l")
    assert "input" in loud.output and "output" in loud.output and "MB/s" in loud.output


def test_run_pipeline_yaml_with_inputs_override(tmp_path: Path, cli) -> None:
    write_jsonl(tmp_path / "in.jsonl", [{"body": f"text {i}", "key": i} for i in range(5)])
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(
        "name: custom\ndataset: {name: custom-set, version: '3'}\nsupply: {mode: open}\n"
        "read: {text_field: body, id_field: key}\nsteps: []\nmax_rejects: 0\n"
    )
    out = tmp_path / "out"
    result = cli("run", pipeline, "-i", tmp_path / "in.jsonl", "-o", out, "-q")
    assert result.exit_code == 0, result.output
    manifest_text = (out / "manifest.json").read_text()
    assert '"name": "custom-set"' in manifest_text and '"mode": "open"' in manifest_text
    assert cli("run", pipeline, "-o", tmp_path / "none").exit_code == 2  # no inputs anywhere


@pytest.mark.parametrize(
    ("yaml_text", "line", "message"),
    [
        ("name: x\nread:\n  text_field: t\n  colour: red\n", 4, "Extra inputs are not permitted"),
        ("name: x\nsteps:\n  - teleport: {}\n", 3, "unknown step 'teleport'"),
        ("name: x\nwrite:\n  shard_size: huge\n", 3, "not a size"),
        ("name: x\nmax_rejects: 1.5\n", 2, "fraction must be below 1"),
        ("name: x\nsupply: {mode: sold}\n", 2, "supply.mode"),
        ("name: [unclosed\n", 2, "YAML"),
        ("- just a list\n", None, "mapping"),
    ],
)
def test_pipeline_yaml_errors_point_at_the_line(
    tmp_path: Path, yaml_text: str, line: int | None, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml_text)
    with pytest.raises(UsageError) as caught:
        load_pipeline(path)
    text = str(caught.value)
    assert text.startswith(str(path) + (f":{line}" if line else ""))
    assert message in text
    assert "\n" not in text


def test_a_second_dedup_step_is_refused_at_its_line(tmp_path: Path, cli) -> None:
    # both would keep their state in WORK/dedup, and the second would overwrite the first's
    write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "same text"}, {"id": "b", "text": "same text"}])
    pipeline = tmp_path / "two.yaml"
    pipeline.write_text("name: two\nsteps:\n  - dedup: {mode: exact}\n  - dedup: {mode: near}\n")
    result = cli("run", pipeline, "-i", tmp_path / "in.jsonl", "-o", tmp_path / "out", "-q")
    assert result.exit_code == 2
    assert f"{pipeline}:4:" in result.output and "one dedup step" in result.output
    assert not (tmp_path / "out" / "data").exists()


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text("name: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(UsageError):
        load_pipeline(path)


def test_bundled_pipelines_validate() -> None:
    for path in sorted((REPO / "pipelines").glob("*.yaml")):
        assert load_pipeline(path).name


def test_size_and_limit_parsing() -> None:
    assert parse_size("512MiB") == 512 * 1024**2
    assert parse_size("2GB") == 2 * 1000**3
    assert parse_size("1024") == 1024
    with pytest.raises(ValueError):
        parse_size("12 parsecs")
    assert parse_max_rejects("100") == 100
    assert parse_max_rejects("1%") == pytest.approx(0.01)
    assert parse_max_rejects(0.05) == 0.05
    assert parse_max_rejects(None) is None
    with pytest.raises(ValueError):
        parse_max_rejects(-1)
