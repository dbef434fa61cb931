"""Names, paths and supply blocks from untrusted places never destroy, leak or mislabel data.

Issue 22, items 1, 3 and 4: a dataset named ``..`` deleted the catalog's parent, a manifest path
with ``../`` led verify and publish outside the dataset, a hand-edited supply mode published a
targeted-trade dataset publicly, and ``--overwrite`` deleted a user's own ``data/`` folder.
Each test builds a sandbox holding sentinel files and checks that none of them is touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpus_kit.cli import app
from corpus_kit.governance.manifest import SEAL_FIELD, manifest_seal
from corpus_kit.io.folder_lock import folder_lock
from corpus_kit.paths import name_problem
from tests.conftest import record, rewrite_manifest, write_jsonl

#: Names a user, a manifest or a catalog might hand us; none is a plain dataset name.
HOSTILE_NAMES = [
    "..",
    ".",
    "",
    "../escape",
    "../../etc",
    "a/b",
    "/abs",
    "/",
    "a\\b",
    "nul\x00byte",
    "line\nbreak",
    "car\rriage",
    "tab\there",
    "sep\u2028line",
    "sep\u2029para",
    "rtl\u202eoverride",
    "zero\u200bwidth",
    "fullwidth\uff0fslash",
    "division\u2215slash",
    " padded ",
    "x" * 300,
]


def invoke(*args: object) -> object:
    return CliRunner().invoke(app, [str(arg) for arg in args], catch_exceptions=False)


def publish(dataset: Path, catalog: Path) -> object:
    return invoke("publish", dataset, "--to", catalog, "--visibility", "public")


def snapshot(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` with the sha256 of its content (folders as 'dir')."""
    state = {}
    for path in sorted(folder.rglob("*")):
        key = path.relative_to(folder).as_posix()
        state[key] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def plant_sentinels(sandbox: Path) -> dict[str, str]:
    """Unrelated user files around the places corpus-kit writes to."""
    (sandbox / "neighbour-dataset" / "data").mkdir(parents=True, exist_ok=True)
    (sandbox / "neighbour-dataset" / "data" / "precious.parquet").write_bytes(b"not ours")
    (sandbox / "notes.txt").write_text("sentinel")
    (sandbox / "catalog").mkdir(exist_ok=True)
    (sandbox / "catalog" / "someone-elses-folder").mkdir(exist_ok=True)
    (sandbox / "catalog" / "someone-elses-folder" / "keep.txt").write_text("sentinel")
    return snapshot(sandbox)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small open dataset with rejects and a report, made once."""
    base = tmp_path_factory.mktemp("built")
    write_jsonl(base / "in.jsonl", [*(record(i) for i in range(8)), {"id": "bad"}])
    pipeline = base / "p.yaml"
    pipeline.write_text(
        "name: t\ndataset: {name: good-name, version: '1'}\n"
        "supply:\n  mode: open\n  classification: {grade: general, basis: open data catalogue}\n"
        "steps:\n  - license: {default: CC-BY-4.0}\n  - pii: {operator: replace}\n"
    )
    out = base / "dataset"
    result = invoke("run", pipeline, "-i", base / "in.jsonl", "-o", out, "-q")
    assert result.exit_code == 0, result.output
    assert invoke("card", out).exit_code == 0  # publish writes a missing card into the dataset
    return out


def copy_of(built: Path, sandbox: Path, name: str = "dataset") -> Path:
    copy = sandbox / name
    shutil.copytree(built, copy)
    return copy


def edit_manifest(dataset: Path, change: dict[str, object], reseal: bool = True) -> None:
    path = dataset / "manifest.json"
    manifest = json.loads(path.read_text())
    for dotted, value in change.items():
        *parents, last = dotted.split(".")
        node = manifest
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[last] = value
    if reseal:
        rewrite_manifest(path, manifest)
    else:
        path.write_text(json.dumps(manifest))


# --- 1. names and paths --------------------------------------------------------------------------
def test_every_hostile_name_is_refused_by_the_name_check() -> None:
    assert all(name_problem(name) for name in HOSTILE_NAMES)
    assert name_problem("sz-open-corpus-2026.11_v2") is None and name_problem("深圳开放语料") is None


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=[repr(n)[:20] for n in HOSTILE_NAMES])
def test_hostile_names_touch_no_sentinel_in_run_and_publish(name: str, built: Path, tmp_path: Path) -> None:
    """``run --name``, a resealed manifest naming the dataset, ``publish``: nothing outside moves."""
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    dataset = copy_of(built, sandbox)
    before = plant_sentinels(sandbox)
    if name and "\x00" not in name:  # argv cannot carry NUL (and "" means the default); a manifest can
        write_jsonl(tmp_path / "in.jsonl", [record(0)])
        result = invoke(
            "convert", tmp_path / "in.jsonl", "-o", sandbox / "catalog" / "run-out", "--name", name
        )
        assert result.exit_code == 2, result.output
        assert "dataset name" in result.output and "Traceback" not in result.output
        assert not (sandbox / "catalog" / "run-out").exists()
    # a manifest edited by someone who also recomputed the seal: the model still refuses the name
    edit_manifest(dataset, {"dataset.name": name})
    after_edit = snapshot(sandbox)
    for visibility in ("public", "private"):
        result = invoke("publish", dataset, "--to", sandbox / "catalog", "--visibility", visibility)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
    assert snapshot(sandbox) == after_edit
    assert {key: value for key, value in after_edit.items() if not key.startswith("dataset/")} == {
        key: value for key, value in before.items() if not key.startswith("dataset/")
    }


def test_dot_dot_name_cannot_delete_the_catalogs_parent(built: Path, tmp_path: Path) -> None:
    """The defect as reported: ``--name ..`` then ``publish --to CATALOG`` ran ``rm -r CATALOG/..``."""
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    write_jsonl(tmp_path / "in.jsonl", [record(i) for i in range(3)])
    before = plant_sentinels(sandbox)
    result = invoke("convert", tmp_path / "in.jsonl", "-o", tmp_path / "out", "--name", "..")
    assert result.exit_code == 2 and not (tmp_path / "out").exists()
    # the model check bypassed: a manifest file written by hand with the name and a valid seal
    dataset = copy_of(built, tmp_path, "forged")
    manifest = json.loads((dataset / "manifest.json").read_text())
    manifest["dataset"]["name"] = ".."
    manifest[SEAL_FIELD] = manifest_seal(manifest)
    (dataset / "manifest.json").write_text(json.dumps(manifest))
    result = invoke("publish", dataset, "--to", sandbox / "catalog", "--visibility", "public")
    assert result.exit_code == 1
    assert snapshot(sandbox) == before


@pytest.mark.parametrize(
    "bad_path",
    ["../outside.parquet", "data/../../outside.parquet", "/etc/passwd", "data/x\n.parquet", "x.parquet"],
)
def test_manifest_file_paths_cannot_lead_outside(bad_path: str, built: Path, tmp_path: Path) -> None:
    dataset = copy_of(built, tmp_path)
    (tmp_path / "outside.parquet").write_bytes(b"secret")
    edit_manifest(dataset, {"files.0.path": bad_path})
    before = snapshot(tmp_path)
    verify = invoke("manifest", "verify", dataset)
    assert verify.exit_code == 1, verify.output
    validate = invoke("manifest", "validate", dataset / "manifest.json")
    assert validate.exit_code == 1 and "CK100" in validate.output and "files" in validate.output
    publish = invoke("publish", dataset, "--to", tmp_path / "catalog", "--visibility", "public")
    assert publish.exit_code == 1
    assert snapshot(tmp_path) == before


def test_a_listed_file_that_is_a_symlink_is_not_followed(built: Path, tmp_path: Path) -> None:
    """A dataset folder whose data file links elsewhere: publish would copy what it points at."""
    dataset = copy_of(built, tmp_path)
    listed = json.loads((dataset / "manifest.json").read_text())["files"][0]["path"]
    elsewhere = tmp_path / "elsewhere.parquet"
    shutil.move(dataset / listed, elsewhere)
    os.symlink(elsewhere, dataset / listed)
    result = invoke("manifest", "verify", dataset)
    assert result.exit_code == 1 and "symbolic link" in result.output
    result = invoke("publish", dataset, "--to", tmp_path / "catalog", "--visibility", "public")
    assert result.exit_code == 1 and not (tmp_path / "catalog" / "good-name").exists()


# --- 4. publish and --overwrite replace only what a manifest of ours lists ----------------------
def test_publishing_into_the_folder_that_holds_the_dataset_is_refused(built: Path, tmp_path: Path) -> None:
    dataset = copy_of(built, tmp_path, "good-name")  # the catalog's entry for it would be itself
    before = snapshot(tmp_path)
    assert (dataset / "rejects").is_dir() and (dataset / "report.html").is_file()
    for target in (tmp_path, dataset, dataset / "data"):
        result = invoke("publish", dataset, "--to", target, "--visibility", "public")
        assert result.exit_code == 2, result.output
        assert "dataset" in result.output
    assert snapshot(tmp_path) == before


def test_publish_replaces_its_own_publication_but_never_a_foreign_folder(built: Path, tmp_path: Path) -> None:
    dataset = copy_of(built, tmp_path)
    catalog = tmp_path / "catalog"
    (catalog / "good-name").mkdir(parents=True)
    (catalog / "good-name" / "mine.txt").write_text("a user's folder that happens to share the name")
    before = snapshot(catalog)
    result = publish(dataset, catalog)
    assert result.exit_code == 1 and "not list" in result.output
    assert snapshot(catalog) == before
    shutil.rmtree(catalog / "good-name")
    assert publish(dataset, catalog).exit_code == 0
    assert publish(dataset, catalog).exit_code == 0  # replaced
    assert (catalog / "good-name" / "manifest.json").is_file()
    assert not [path for path in catalog.iterdir() if path.name.startswith(".good-name")]
    (catalog / "good-name" / "added-by-hand.txt").write_text("keep me")
    before = snapshot(catalog)
    result = publish(dataset, catalog)
    assert result.exit_code == 1 and "added-by-hand.txt" in result.output
    assert snapshot(catalog) == before


def test_a_foreign_staging_folder_is_not_deleted(built: Path, tmp_path: Path) -> None:
    dataset = copy_of(built, tmp_path)
    catalog = tmp_path / "catalog"
    (catalog / ".good-name.incoming").mkdir(parents=True)
    (catalog / ".good-name.incoming" / "keep.txt").write_text("not ours")
    before = snapshot(catalog)
    result = publish(dataset, catalog)
    assert result.exit_code == 1 and snapshot(catalog) == before


def test_overwrite_never_deletes_a_data_folder_that_is_not_ours(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "in.jsonl", [record(i) for i in range(3)])
    out = tmp_path / "out"
    (out / "data").mkdir(parents=True)
    (out / "data" / "thesis.parquet").write_bytes(b"years of work")
    before = snapshot(out)
    for extra in ([], ["--overwrite"]):
        result = invoke("convert", tmp_path / "in.jsonl", "-o", out, *extra)
        assert result.exit_code == 2, result.output
        assert "not a corpus-kit dataset" in result.output and "pass --overwrite" not in result.output
    assert snapshot(out) == before


def test_overwrite_never_deletes_files_the_manifest_does_not_list(built: Path, tmp_path: Path) -> None:
    dataset = copy_of(built, tmp_path)
    (dataset / "data" / "notes-i-kept-here.txt").write_text("mine")
    (dataset / "rejects" / "triage.md").write_text("mine too")
    write_jsonl(tmp_path / "in.jsonl", [record(i) for i in range(3)])
    before = snapshot(dataset)
    result = invoke("convert", tmp_path / "in.jsonl", "-o", dataset, "--overwrite")
    assert result.exit_code == 2 and "not listed" in result.output
    assert snapshot(dataset) == before
    (dataset / "data" / "notes-i-kept-here.txt").unlink()
    (dataset / "rejects" / "triage.md").unlink()
    result = invoke("convert", tmp_path / "in.jsonl", "-o", dataset, "--overwrite")
    assert result.exit_code == 0, result.output
    assert json.loads((dataset / "manifest.json").read_text())["counts"]["input"] == 3


# --- 3. the supply block is bound to the data ---------------------------------------------------
def test_a_hand_edited_supply_mode_is_not_published(tmp_path: Path) -> None:
    base = tmp_path / "b"
    base.mkdir()
    write_jsonl(base / "in.jsonl", [record(i) for i in range(4)])
    (base / "supply.yaml").write_text(
        "mode: targeted_trade\nbuyers: [Secret Buyer Ltd]\ncontract_id: CONTRACT-SECRET-9\n"
        "valid_until: 2099-12-31\npermitted_uses: [model_training]\n"
    )
    (base / "p.yaml").write_text("name: t\nsteps:\n  - license: {default: CC-BY-4.0}\n  - pii: {}\n")
    dataset = base / "dataset"
    result = invoke(
        "run", base / "p.yaml", "-i", base / "in.jsonl", "-o", dataset, "-q", "--supply", base / "supply.yaml"
    )
    assert result.exit_code == 0, result.output
    catalog = tmp_path / "public-catalog"
    # edited by hand, data untouched: the seal no longer matches
    edit_manifest(dataset, {"supply.mode": "open"}, reseal=False)
    verify = invoke("manifest", "verify", dataset)
    assert verify.exit_code == 1 and "changed after corpus-kit wrote it" in verify.output
    assert invoke("manifest", "validate", dataset / "manifest.json").exit_code == 1
    result = publish(dataset, catalog)
    assert result.exit_code == 1 and not catalog.exists()
    # edited by someone who also recomputed the seal: open may not name buyers or a contract
    edit_manifest(dataset, {"supply.mode": "open"}, reseal=True)
    validate = invoke("manifest", "validate", dataset / "manifest.json")
    assert validate.exit_code == 1 and "CK107" in validate.output
    result = publish(dataset, catalog)
    assert result.exit_code == 1 and "CK107" in result.output and not catalog.exists()
    assert "Secret Buyer" not in result.output and "CONTRACT-SECRET" not in result.output


def test_a_busy_output_or_catalog_is_refused_in_one_line_naming_the_holder(
    built: Path, tmp_path: Path
) -> None:
    write_jsonl(tmp_path / "in.jsonl", [record(0)])
    out, catalog = tmp_path / "out", tmp_path / "catalog"
    with folder_lock(out):
        result = invoke("convert", tmp_path / "in.jsonl", "-o", out)
        assert result.exit_code == 2 and "corpus-kit run (pid" in result.output
        assert "is writing to this folder" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (out / ".corpus-kit.lock").exists() and not (out / "data").exists()
    dataset = copy_of(built, tmp_path)
    with folder_lock(catalog, activity="publication"):
        result = publish(dataset, catalog)
        assert result.exit_code == 2 and "corpus-kit publication (pid" in result.output
    assert invoke("convert", tmp_path / "in.jsonl", "-o", out).exit_code == 0
    assert publish(dataset, catalog).exit_code == 0
    assert sorted(path.name for path in catalog.iterdir()) == ["catalog.json", "good-name", "index.html"]


# --- property: random hostile names against a sandbox of sentinels -----------------------------
_PIECES = [
    "..",
    ".",
    "/",
    "\\",
    "\x00",
    "\n",
    "\r",
    "\u2028",
    "\u202e",
    "\t",
    " ",
    "a",
    "数据",
    "é",
    "-",
    "_",
]


def random_names(count: int, seed: int) -> list[str]:
    import random

    chooser = random.Random(seed)
    return ["".join(chooser.choice(_PIECES) for _ in range(chooser.randint(1, 6))) for _ in range(count)]


def test_property_publish_and_overwrite_touch_nothing_outside_their_folders(
    built: Path, tmp_path: Path
) -> None:
    """Random names of dangerous pieces: publish lands in CATALOG/<name> or is refused; nothing else moves."""
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    dataset = copy_of(built, tmp_path)
    before = plant_sentinels(sandbox)
    catalog = sandbox / "catalog"
    published: set[str] = set()
    names = random_names(60, seed=int(os.environ.get("CORPUS_KIT_NAME_SEED", "22")))
    for name in names:
        edit_manifest(dataset, {"dataset.name": name})
        result = publish(dataset, catalog)
        if name_problem(name) or name.startswith("."):  # a catalog keeps dot names for staging
            assert result.exit_code == 1, (name, result.output)
        else:
            assert result.exit_code == 0, (name, result.output)
            assert (catalog / name / "manifest.json").is_file()
            published.add(name)
        now = snapshot(sandbox)
        untouched = {key: value for key, value in before.items() if not key.startswith("catalog/")}
        assert {key: now[key] for key in untouched} == untouched, name
        new = set(now) - set(before)
        allowed = {"catalog/catalog.json", "catalog/index.html"}
        assert all(key in allowed or key.split("/")[1] in published for key in new), (name, new)
    assert published and len(published) < len(set(names))  # both kinds were drawn
    # the same names as output folders: a folder name is the default dataset name, and
    # --overwrite never reaches past the folder it was given
    write_jsonl(tmp_path / "in.jsonl", [record(0)])
    for name in names:
        if "\x00" in name:
            continue
        before_run = snapshot(sandbox)
        out = sandbox / "catalog" / name
        result = invoke("convert", tmp_path / "in.jsonl", "-o", out, "--overwrite", "-q")
        if result.exit_code == 0:
            assert name_problem(out.resolve().name) is None
        after = snapshot(sandbox)
        changed = {key for key in set(before_run) | set(after) if before_run.get(key) != after.get(key)}
        resolved = out.resolve()
        inside = resolved.is_relative_to(sandbox.resolve())
        target = resolved.relative_to(sandbox.resolve()).as_posix() if inside else "\0"
        for key in changed:  # the output folder, what is in it, or a new parent folder of it
            within = key == target or key.startswith(target + "/") or target.startswith(key + "/")
            assert within and (key in after or key.startswith(target)), (name, key)
    for key, value in before.items():  # the user's own files, whatever happened around them
        if not key.startswith("catalog/") or key.startswith("catalog/someone-elses-folder"):
            assert snapshot(sandbox).get(key) == value, key


def test_a_dataset_being_rebuilt_is_not_published(built: Path, tmp_path: Path) -> None:
    """The gates and the copy see one dataset: a run on its folder and publish exclude each other,
    and a manifest that changed after the gates ran is refused (review of issue 22)."""
    from corpus_kit.catalog.publish import plan_publication, publish_to_folder
    from corpus_kit.errors import CheckFailed

    dataset = copy_of(built, tmp_path)
    catalog = tmp_path / "catalog"
    with folder_lock(dataset):  # a run rebuilding the dataset holds its folder
        result = publish(dataset, catalog)
        assert result.exit_code == 2 and "corpus-kit run (pid" in result.output
    assert not catalog.exists()
    plan = plan_publication(dataset, str(catalog), "public", card_only=False)
    assert plan.refusal is None
    edit_manifest(dataset, {"dataset.description": "rebuilt in between"})
    with pytest.raises(CheckFailed, match="changed after the gates ran"):
        publish_to_folder(dataset, str(catalog), plan)
    assert not (catalog / "good-name").exists()


@pytest.mark.parametrize(
    "name", ["catalog.json", "index.html", "catalog.json.tmp", "index.html.tmp", ".hidden"]
)
def test_names_a_catalog_keeps_for_itself_are_refused(name: str, built: Path, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    first = copy_of(built, tmp_path, "first")
    assert publish(first, catalog).exit_code == 0
    dataset = copy_of(built, tmp_path)
    edit_manifest(dataset, {"dataset.name": name})
    before = snapshot(catalog)
    result = publish(dataset, catalog)
    assert result.exit_code == 1 and "catalog" in result.output
    assert snapshot(catalog) == before
    assert publish(first, catalog).exit_code == 0


# --- found in review: the same promises under timing and leftovers -----------------------------
def test_a_file_added_to_data_while_a_run_goes_is_kept(built: Path, tmp_path: Path, monkeypatch) -> None:
    import corpus_kit
    from corpus_kit.errors import UsageError
    from corpus_kit.pipeline import finalize as finalize_module

    dataset = copy_of(built, tmp_path)
    source = write_jsonl(tmp_path / "in.jsonl", [record(i) for i in range(3)])
    original = finalize_module.stage_contributions

    def user_adds_a_file(*args: object, **kwargs: object) -> object:
        (dataset / "data" / "my-notes.txt").write_text("written while the run went")
        return original(*args, **kwargs)

    monkeypatch.setattr(finalize_module, "stage_contributions", user_adds_a_file)
    with pytest.raises(UsageError, match="not listed"):
        corpus_kit.run(inputs=[source], output=dataset, steps=["license"], overwrite=True, workers=1)
    assert (dataset / "data" / "my-notes.txt").read_text() == "written while the run went"
    assert json.loads((dataset / "manifest.json").read_text())["dataset"]["name"] == "good-name"


def test_files_sharing_our_names_beside_no_dataset_of_ours_are_foreign(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "in.jsonl", [record(0)])
    for name in ("report.html", "README.md", "croissant.json"):
        out = tmp_path / f"out-{name}"
        out.mkdir()
        (out / name).write_text("mine")
        result = invoke("convert", tmp_path / "in.jsonl", "-o", out)
        assert result.exit_code == 2 and "not a corpus-kit dataset" in result.output
        assert (out / name).read_text() == "mine"


def test_a_leftover_beside_foreign_files_is_not_removed(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "in.jsonl", [record(0)])
    out = tmp_path / "out"
    (out / ".corpus-kit.finished").mkdir(parents=True)
    (out / ".corpus-kit.finished" / "notes.txt").write_text("keep")
    (out / "thesis.tex").write_text("mine")
    result = invoke("convert", tmp_path / "in.jsonl", "-o", out)
    assert result.exit_code == 2 and (out / ".corpus-kit.finished" / "notes.txt").is_file()


def test_demo_replaces_only_an_earlier_demo(built: Path, tmp_path: Path) -> None:
    dataset = copy_of(built, tmp_path)
    before = snapshot(dataset)
    result = invoke("demo", "-o", dataset, "-q")
    assert result.exit_code == 2 and "not the demo" in result.output
    assert snapshot(dataset) == before


def test_slurm_jobs_own_the_folder_until_their_finalising_job(tmp_path: Path, monkeypatch) -> None:
    import corpus_kit
    from corpus_kit.errors import UsageError
    from corpus_kit.pipeline.ownership import SLURM_FINALISE_ENV, SLURM_MARKER

    source = write_jsonl(tmp_path / "in.jsonl", [record(i) for i in range(4)])
    out = tmp_path / "out"
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("name: p\nsteps:\n  - license: {default: CC-BY-4.0}\n")
    args = ("run", pipeline, "-i", source, "-o", out, "-q")
    result = invoke(*args, "--executor", "slurm", "--dry-run")
    assert result.exit_code == 0, result.output
    assert not (out / ".corpus-kit" / SLURM_MARKER).exists()  # nothing was submitted
    (out / ".corpus-kit" / SLURM_MARKER).write_text("{}")  # as a real submission leaves it
    for other in (args, ("convert", source, "-o", out)):
        refused = invoke(*other)  # another run, or this one outside its jobs: it would share their folder
        assert refused.exit_code == 2 and "Slurm jobs were submitted" in refused.output
    with pytest.raises(UsageError, match="Slurm jobs"):
        corpus_kit.run(pipeline, inputs=[source], output=out)
    assert invoke(*args, "--executor", "slurm", "--dry-run").exit_code == 0  # a resubmission may
    with monkeypatch.context() as finalising:
        finalising.setenv(SLURM_FINALISE_ENV, "1")  # the finalising job's environment
        assert invoke(*args).exit_code == 0
    assert json.loads((out / "manifest.json").read_text())["counts"]["output"] == 4
    assert not (out / ".corpus-kit").exists()
    # jobs cancelled: --overwrite starts again (the message says so)
    (out / ".corpus-kit").mkdir()
    (out / ".corpus-kit" / SLURM_MARKER).write_text("{}")
    assert invoke(*args, "--overwrite").exit_code == 0
    assert json.loads((out / "manifest.json").read_text())["counts"]["output"] == 4
    assert not (out / ".corpus-kit").exists()
