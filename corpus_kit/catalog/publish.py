"""``publish``: move a dataset to the Hub or to a catalog folder, behind the supply-mode gates.

Gates, checked before any byte moves: ``manifest verify`` and ``manifest validate`` pass (nothing
expired); then the supply mode decides what may go where:

| mode | public target | gated target | private target |
|---|---|---|---|
| open | data + card | data + card | data + card |
| conditional_open | card only | data + card | data + card |
| authorised, targeted_trade, cooperation | card only | card only | data + card |

"Card only" needs ``--card-only``; without it the publication is refused with the reason.
``rejects/``, ``removed/``, ``ledger/`` and the work folder never leave. ``manifest.json`` (which names buyers
and contracts) goes only where the data may go, with ``manifest.sig`` (``corpus-kit sign``) when
present; a signature of another manifest (the dataset changed after signing) is refused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from corpus_kit.catalog.card import CARD_NAME, LICENCE_NOTE_NAME, write_card
from corpus_kit.catalog.croissant import CROISSANT_NAME, write_croissant
from corpus_kit.errors import CheckFailed, UsageError
from corpus_kit.governance.manifest import MANIFEST_NAME, Manifest, read_dataset_manifest
from corpus_kit.governance.policy import SAFETY_ASSESSMENT_RULES, validate_manifest_data
from corpus_kit.governance.signing import SIGNATURE_NAME, stale_signature_problem
from corpus_kit.governance.verify import verify_dataset
from corpus_kit.io.folder_lock import LOCK_NAME, folder_lock
from corpus_kit.paths import name_problem
from corpus_kit.utils import format_size

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

Visibility = Literal["public", "gated", "private"]
CATALOG_INDEX = "catalog.json"
CATALOG_PAGE = "index.html"

# mode -> visibilities that may receive the data files
DATA_ALLOWED: dict[str, set[str]] = {
    "open": {"public", "gated", "private"},
    "conditional_open": {"gated", "private"},
    "authorised": {"private"},
    "targeted_trade": {"private"},
    "cooperation": {"private"},
}


@dataclass
class Plan:
    """What a publication would do, and whether the gates let it."""

    target: str
    visibility: str
    files: list[tuple[str, int]] = field(default_factory=list)
    gates: list[str] = field(default_factory=list)
    refusal: str | None = None
    manifest_sha256: str = ""  # of the manifest the gates read: the copy checks it is still that one

    def describe(self) -> list[str]:
        lines = [f"target: {self.target} ({self.visibility})"]
        lines += [f"gate passed: {gate}" for gate in self.gates]
        if self.refusal:
            lines.append(f"refused: {self.refusal}")
            return lines
        total = sum(size for _, size in self.files)
        lines.append(f"files: {len(self.files)} ({format_size(total)})")
        lines += [f"  {path}  {format_size(size)}" for path, size in self.files]
        return lines


def parse_target(target: str) -> tuple[str, str]:
    """``("hub", "org/name")`` for ``hf://datasets/org/name``, else ``("folder", target)``."""
    if target.startswith("hf://"):
        rest = target.removeprefix("hf://")
        if not rest.startswith("datasets/") or rest.count("/") != 2:
            raise UsageError(f"--to {target}: use hf://datasets/ORG/NAME")
        repo_id = rest.removeprefix("datasets/")
        for part in repo_id.split("/"):
            problem = name_problem(part)
            if problem:
                raise UsageError(f"--to {target}: the repository name {problem}; use hf://datasets/ORG/NAME")
        return "hub", repo_id
    return "folder", target


def plan_publication(dataset: Path, target: str, visibility: Visibility, card_only: bool) -> Plan:
    """Run the gates and list the files; ``plan.refusal`` says why not and what to change."""
    plan = Plan(target=target, visibility=visibility)
    manifest_path = dataset / MANIFEST_NAME
    if not manifest_path.is_file():
        raise CheckFailed(f"{dataset}: no {MANIFEST_NAME}; build the dataset with corpus-kit first")
    # the manifest alone first: an expired or invalid one is refused before any file is hashed
    raw = manifest_path.read_bytes()
    plan.manifest_sha256 = hashlib.sha256(raw).hexdigest()
    findings = validate_manifest_data(raw)
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        finding = errors[0]
        plan.refusal = f"manifest validate failed: {finding.rule} {finding.field}: {finding.message}"
        return plan
    plan.gates.append("manifest validate (no errors, supply terms not expired)")
    report = verify_dataset(dataset)
    if report.problems:
        problem = report.problems[0]
        plan.refusal = (
            f"manifest verify failed: {problem.path} {problem.message}; rebuild or restore the dataset"
        )
        return plan
    plan.gates.append(f"manifest verify ({report.files} data files)")
    manifest = read_dataset_manifest(dataset)
    if manifest.supply is None:  # validate refused this above (CK102): the manifest changed since
        plan.refusal = (
            f"{MANIFEST_NAME} has no supply block (it changed while the gates ran); "
            "declare a supply mode and publish again"
        )
        return plan
    from corpus_kit.governance.classification import classification_policy, effective_grade

    grade, declared = effective_grade(manifest.supply.classification)
    if visibility == "public" and grade in classification_policy().restricted_grades and not card_only:
        plan.refusal = (
            f"{grade} data{'' if declared else ' (no grade declared: 就高从严)'} may not go to a public "
            "target; publish it --visibility private (or gated), or declare its grade with the basis if it "
            "is general data; the card alone may go with --card-only"
        )
        return plan
    plan.gates.append(f"grade {grade}{'' if declared else ' (none declared: counted as ' + grade + ')'}")
    mode = manifest.supply.mode.value
    data_ok = visibility in DATA_ALLOWED[mode]
    if not data_ok and not card_only:
        allowed = " or ".join(sorted(DATA_ALLOWED[mode]))
        plan.refusal = (
            f"{mode} data may not go to a {visibility} target (only {allowed}); "
            f"publish the card alone with --card-only, or choose --visibility {sorted(DATA_ALLOWED[mode])[0]}"
        )
        return plan
    plan.gates.append(f"supply mode {mode} allows {'the data' if data_ok and not card_only else 'the card'} "
                      f"on a {visibility} target")  # fmt: skip
    unsafe = [f for f in findings if f.rule in SAFETY_ASSESSMENT_RULES]
    if unsafe and not card_only:
        finding = unsafe[0]
        plan.refusal = (
            f"the data is meant for model training without a passing content-safety assessment: "
            f"{finding.rule} {finding.field}: {finding.message}; or publish the card alone with --card-only"
        )
        return plan
    if not card_only:
        plan.gates.append("content safety (no CK130-CK135 for data meant for model training)")
    names = [CARD_NAME, CROISSANT_NAME]
    if (dataset / LICENCE_NOTE_NAME).is_file():
        names.append(LICENCE_NOTE_NAME)
    if data_ok and not card_only:
        names.append(MANIFEST_NAME)
        if (dataset / SIGNATURE_NAME).is_file():  # corpus-kit sign: travels with the manifest
            stale = stale_signature_problem(dataset)
            if stale:
                fix = f"sign the dataset again (corpus-kit sign) or remove {SIGNATURE_NAME}"
                plan.refusal = f"{SIGNATURE_NAME} {stale}; {fix}"
                return plan
            names.append(SIGNATURE_NAME)
        names += [item.path for item in manifest.files]
    plan.files = [
        (name, (dataset / name).stat().st_size if (dataset / name).exists() else 0) for name in names
    ]
    return plan


def ensure_card(dataset: Path) -> None:
    """Cards are derived from the manifest: write them when missing or older than the manifest."""
    manifest_time = (dataset / MANIFEST_NAME).stat().st_mtime
    for name, writer in ((CARD_NAME, write_card), (CROISSANT_NAME, write_croissant)):
        path = dataset / name
        if not path.is_file() or path.stat().st_mtime < manifest_time:
            writer(dataset)


def publish_to_hub(dataset: Path, repo_id: str, plan: Plan) -> str:
    """Create the repository with the right visibility and gating, then upload the planned files."""
    from huggingface_hub import HfApi

    check_unchanged(dataset, plan)
    api = HfApi()
    visibility = plan.visibility
    api.create_repo(repo_id, repo_type="dataset", private=visibility == "private", exist_ok=True)
    if visibility == "gated":
        api.update_repo_settings(repo_id, repo_type="dataset", gated="manual")
    commit = api.upload_folder(
        repo_id=repo_id,
        repo_type="dataset",
        folder_path=str(dataset),
        allow_patterns=[name for name, _ in plan.files],
        commit_message=f"corpus-kit publish {read_dataset_manifest(dataset).dataset.version}",
    )
    return str(getattr(commit, "commit_url", commit))


_STAGING_MARK = ".corpus-kit-publication"


def publish_to_folder(dataset: Path, catalog: str, plan: Plan) -> str:
    """Copy the planned files to ``CATALOG/<name>/`` and refresh ``catalog.json`` and ``index.html``.

    ``catalog`` is a local folder or any fsspec URL (``s3://bucket/catalog``, ``memory://c``...).
    Files are copied beside the target and moved into place, so readers never see half a dataset
    (on object stores the move is a copy: each object is still written whole).

    Nothing is deleted that this publication or an earlier one did not write: the dataset's name
    is one plain path component (checked again here, whatever the manifest says), an existing
    ``CATALOG/<name>`` is replaced only when it holds nothing but the files of an earlier
    publication listed in ``catalog.json``, and a catalog inside the dataset (or the dataset inside
    the target) is refused before any byte moves.
    """
    from fsspec.core import url_to_fs

    check_unchanged(dataset, plan)
    manifest = read_dataset_manifest(dataset)
    name = manifest.dataset.name
    problem = name_problem(name) or _catalog_name_problem(name)
    if problem:  # the model refuses most such names; this is the boundary where one would do harm
        raise CheckFailed(
            f"{dataset / MANIFEST_NAME}: the dataset name {problem}; rebuild it with another --name"
        )
    fs, root = url_to_fs(catalog)
    root = root.rstrip("/") or "/"
    local = "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,))
    if not local:  # object stores have no locks: one publisher per catalog is the user's to ensure
        return _publish_unlocked(dataset, fs, root, name, manifest, plan)
    _refuse_overlap(dataset, Path(root), name)
    # two publications into one catalog would each rewrite catalog.json from what they read
    with folder_lock(Path(root), activity="publication"):
        return _publish_unlocked(dataset, fs, root, name, manifest, plan)


def _publish_unlocked(
    dataset: Path, fs: AbstractFileSystem, root: str, name: str, manifest: Manifest, plan: Plan
) -> str:
    target = f"{root}/{name}"
    staging = f"{root}/.{name}.incoming"
    old = f"{root}/.{name}.replaced"
    entries = _read_index(fs, root)
    for leftover in (staging, old):  # a publication killed half-way left these, marked as ours
        if fs.exists(leftover):
            if not fs.exists(f"{leftover}/{_STAGING_MARK}"):
                raise CheckFailed(
                    f"{leftover}: exists and was not left by corpus-kit; move it away and publish again"
                )
            fs.rm(leftover, recursive=True)
    replacing = fs.exists(target)
    if replacing:
        _check_replaceable(fs, target, name, entries)
    fs.makedirs(staging, exist_ok=True)
    _write_whole(fs, f"{staging}/{_STAGING_MARK}", "corpus-kit publication in progress\n")
    for file_name, _ in plan.files:
        destination = f"{staging}/{file_name}"
        fs.makedirs(destination.rsplit("/", 1)[0], exist_ok=True)
        fs.put_file(str(dataset / file_name), destination)
    if replacing:
        fs.mv(target, old, recursive=True)
        _write_whole(fs, f"{old}/{_STAGING_MARK}", "corpus-kit: replaced publication\n")
    fs.mv(staging, target, recursive=True)
    fs.rm(f"{target}/{_STAGING_MARK}")
    if replacing:
        fs.rm(old, recursive=True)  # checked above: only files of the earlier publication
    entries = [entry for entry in entries if entry.get("name") != name]
    licence = manifest.license
    entries.append(
        {
            "name": name,
            "version": manifest.dataset.version,
            "mode": manifest.supply.mode.value if manifest.supply else None,
            "visibility": plan.visibility,
            "data": any(file_name == MANIFEST_NAME for file_name, _ in plan.files),
            "license": licence.expression if licence else None,
            "use": licence.use if licence else None,
            "languages": sorted(manifest.languages),
            "rows": manifest.counts.output,
            "bytes": sum(item.bytes for item in manifest.files),
            "card": f"{name}/{CARD_NAME}",
            "files": sorted(file_name for file_name, _ in plan.files),
            "published_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        }
    )
    entries.sort(key=lambda entry: str(entry.get("name")))
    index = json.dumps({"datasets": entries}, indent=2, ensure_ascii=False) + "\n"
    _write_whole(fs, f"{root}/{CATALOG_INDEX}", index)
    _write_whole(fs, f"{root}/{CATALOG_PAGE}", render_index(entries))
    return target


def check_unchanged(dataset: Path, plan: Plan) -> None:
    """The manifest is still the one the gates passed (a rebuild in between is refused)."""
    current = hashlib.sha256((dataset / MANIFEST_NAME).read_bytes()).hexdigest()
    if plan.manifest_sha256 and current != plan.manifest_sha256:
        raise CheckFailed(
            f"{dataset / MANIFEST_NAME}: changed after the gates ran; publish again to gate the new one"
        )


def _catalog_name_problem(name: str) -> str | None:
    """Names a catalog keeps for itself, and hidden names (staging folders start with a dot)."""
    if name.startswith("."):
        return "starts with '.', which a catalog keeps for its own staging folders"
    reserved = {CATALOG_INDEX, CATALOG_PAGE, LOCK_NAME}
    if name in reserved or name.removesuffix(".tmp") in reserved:
        return f"is {name!r}, a name the catalog keeps for its index"
    return None


def _refuse_overlap(dataset: Path, root: Path, name: str) -> None:
    """A local catalog may neither hold the dataset's own folder nor lie inside it."""
    source = dataset.resolve()
    catalog = root.resolve()
    target = catalog / name
    if target == source or source in target.parents or target in source.parents:
        raise UsageError(
            f"--to {root}: publishing {name} there would replace the dataset's own folder {dataset}; "
            "publish to a catalog folder outside it"
        )
    if catalog == source or source in catalog.parents:
        raise UsageError(
            f"--to {root}: the catalog would be inside the dataset {dataset}; choose a folder outside it"
        )


def _check_replaceable(fs: AbstractFileSystem, target: str, name: str, entries: list[dict[str, Any]]) -> None:
    """``target`` holds an earlier publication of ``name``, and nothing else, or ``CheckFailed``."""
    entry = next((entry for entry in entries if entry.get("name") == name), None)
    if entry is None:
        raise CheckFailed(
            f"{target}: exists but the catalog index does not list {name}; corpus-kit replaces only its "
            "own publications: move it away or publish under another --name"
        )
    published = set(entry.get("files") or [])
    if not published:  # an index written before entries listed their files
        published = {CARD_NAME, CROISSANT_NAME, LICENCE_NOTE_NAME, MANIFEST_NAME, SIGNATURE_NAME}
        published |= _files_in_published_manifest(fs, target)
    for path in fs.find(target):
        relative = path[len(target.rstrip("/")) + 1 :] if path.startswith(target) else path
        if relative not in published:
            raise CheckFailed(
                f"{target}/{relative}: not part of the earlier publication of {name}; corpus-kit replaces "
                "only files it published: move it away and publish again"
            )


def _files_in_published_manifest(fs: AbstractFileSystem, target: str) -> set[str]:
    path = f"{target}/{MANIFEST_NAME}"
    if not fs.exists(path):
        return set()
    try:
        with fs.open(path, "rb") as handle:
            listed = Manifest.model_validate_json(handle.read())
    except (ValueError, OSError):
        return set()
    return {item.path for item in listed.files}


def _write_whole(fs: AbstractFileSystem, path: str, text: str) -> None:
    """Write through a temporary name and move it over the old file."""
    temporary = f"{path}.tmp"
    with fs.open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    fs.mv(temporary, path)


def _read_index(fs: AbstractFileSystem, root: str) -> list[dict[str, Any]]:
    path = f"{root}/{CATALOG_INDEX}"
    if not fs.exists(path):
        return []
    try:
        with fs.open(path, "r", encoding="utf-8") as handle:
            entries = json.load(handle).get("datasets", [])
        if not isinstance(entries, list) or not all(_is_entry(entry) for entry in entries):
            raise ValueError(path)
        return entries
    except (ValueError, AttributeError):
        raise CheckFailed(
            f"{path}: not a corpus-kit catalog index; move it away or choose another --to"
        ) from None


def _is_entry(entry: Any) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry.keys() >= _ENTRY_KEYS


_ENTRY_KEYS = frozenset(
    {"name", "version", "mode", "visibility", "data", "license", "use", "languages", "rows", "bytes"}
)


def render_index(entries: list[dict[str, Any]]) -> str:
    """A self-contained HTML page (no scripts, no CDN) listing the catalog's datasets."""
    rows = []
    for entry in entries:
        name = str(entry.get("name"))
        languages = ", ".join(entry["languages"]) or "—"
        data = "data + card" if entry["data"] else "card only"
        rows.append(
            "<tr>"
            # the link is made from the name, not taken from the index: an edited index holds anything
            f'<td><a href="{escape(quote(name))}/{CARD_NAME}">{escape(name)}</a></td>'
            f"<td>{escape(entry['version'])}</td>"
            f'<td><span class="mode">{escape(str(entry["mode"]))}</span></td>'
            f"<td>{escape(str(entry['license']))}<br><small>{escape(str(entry['use']))}</small></td>"
            f"<td>{escape(languages)}</td>"
            f'<td class="num">{entry["rows"]:,}</td>'
            f'<td class="num">{format_size(entry["bytes"])}</td>'
            f"<td>{escape(data)} · {escape(entry['visibility'])}</td>"
            "</tr>"
        )
    body = "\n".join(rows) or '<tr><td colspan="8">No dataset published yet.</td></tr>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Corpus catalog</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2rem;color:#222}} h1{{font-size:1.4rem}}
table{{border-collapse:collapse;width:100%}}
th,td{{border-bottom:1px solid #ddd;padding:.5rem;text-align:left;vertical-align:top}}
th{{background:#f5f5f5}} .num{{text-align:right;font-variant-numeric:tabular-nums}} small{{color:#666}}
.mode{{background:#eef;border-radius:4px;padding:0 .3rem}}
</style></head>
<body><h1>Corpus catalog</h1>
<p>{len(entries)} dataset(s), published with corpus-kit.
Each card lists sources, licences, processing and PII handling.</p>
<table><thead><tr><th>dataset</th><th>version</th><th>supply mode</th><th>licence</th><th>languages</th>
<th>rows</th><th>size</th><th>published</th></tr></thead>
<tbody>
{body}
</tbody></table></body></html>
"""
