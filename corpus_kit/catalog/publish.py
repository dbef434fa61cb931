"""``publish``: move a dataset to the Hub or to a catalog folder, behind the supply-mode gates.

Gates, checked before any byte moves: ``manifest verify`` and ``manifest validate`` pass (nothing
expired); then the supply mode decides what may go where:

| mode | public target | gated target | private target |
|---|---|---|---|
| open | data + card | data + card | data + card |
| conditional_open | card only | data + card | data + card |
| authorised, targeted_trade, cooperation | card only | card only | data + card |

"Card only" needs ``--card-only``; without it the publication is refused with the reason.
``rejects/``, ``removed/`` and the work folder never leave. ``manifest.json`` (which names buyers
and contracts) goes only where the data may go.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from corpus_kit.catalog.card import CARD_NAME, LICENCE_NOTE_NAME, write_card
from corpus_kit.catalog.croissant import CROISSANT_NAME, write_croissant
from corpus_kit.errors import CheckFailed, UsageError
from corpus_kit.governance.manifest import MANIFEST_NAME, read_dataset_manifest
from corpus_kit.governance.policy import validate_manifest_data
from corpus_kit.governance.verify import verify_dataset
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
        return "hub", rest.removeprefix("datasets/")
    return "folder", target


def plan_publication(dataset: Path, target: str, visibility: Visibility, card_only: bool) -> Plan:
    """Run the gates and list the files; ``plan.refusal`` says why not and what to change."""
    plan = Plan(target=target, visibility=visibility)
    manifest_path = dataset / MANIFEST_NAME
    if not manifest_path.is_file():
        raise CheckFailed(f"{dataset}: no {MANIFEST_NAME}; build the dataset with corpus-kit first")
    # the manifest alone first: an expired or invalid one is refused before any file is hashed
    errors = [f for f in validate_manifest_data(manifest_path.read_bytes()) if f.severity == "error"]
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
    names = [CARD_NAME, CROISSANT_NAME]
    if (dataset / LICENCE_NOTE_NAME).is_file():
        names.append(LICENCE_NOTE_NAME)
    if data_ok and not card_only:
        names.append(MANIFEST_NAME)
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


def publish_to_folder(dataset: Path, catalog: str, plan: Plan) -> str:
    """Copy the planned files to ``CATALOG/<name>/`` and refresh ``catalog.json`` and ``index.html``.

    ``catalog`` is a local folder or any fsspec URL (``s3://bucket/catalog``, ``memory://c``...).
    Files are copied beside the target and moved into place, so readers never see half a dataset
    (on object stores the move is a copy: each object is still written whole).
    """
    from fsspec.core import url_to_fs

    manifest = read_dataset_manifest(dataset)
    fs, root = url_to_fs(catalog)
    root = root.rstrip("/")
    target = f"{root}/{manifest.dataset.name}"
    staging = f"{root}/.{manifest.dataset.name}.incoming"
    if fs.exists(staging):
        fs.rm(staging, recursive=True)
    for name, _ in plan.files:
        destination = f"{staging}/{name}"
        fs.makedirs(destination.rsplit("/", 1)[0], exist_ok=True)
        fs.put_file(str(dataset / name), destination)
    if fs.exists(target):
        fs.rm(target, recursive=True)
    fs.mv(staging, target, recursive=True)
    entries = [entry for entry in _read_index(fs, root) if entry["name"] != manifest.dataset.name]
    licence = manifest.license
    entries.append(
        {
            "name": manifest.dataset.name,
            "version": manifest.dataset.version,
            "mode": manifest.supply.mode.value if manifest.supply else None,
            "visibility": plan.visibility,
            "data": any(name == MANIFEST_NAME for name, _ in plan.files),
            "license": licence.expression if licence else None,
            "use": licence.use if licence else None,
            "languages": sorted(manifest.languages),
            "rows": manifest.counts.output,
            "bytes": sum(item.bytes for item in manifest.files),
            "card": f"{manifest.dataset.name}/{CARD_NAME}",
            "published_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        }
    )
    entries.sort(key=lambda entry: entry["name"])
    index = json.dumps({"datasets": entries}, indent=2, ensure_ascii=False) + "\n"
    _write_whole(fs, f"{root}/{CATALOG_INDEX}", index)
    _write_whole(fs, f"{root}/{CATALOG_PAGE}", render_index(entries))
    return target


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
            return list(json.load(handle).get("datasets", []))
    except (ValueError, AttributeError):
        raise CheckFailed(
            f"{path}: not a corpus-kit catalog index; move it away or choose another --to"
        ) from None


def render_index(entries: list[dict[str, Any]]) -> str:
    """A self-contained HTML page (no scripts, no CDN) listing the catalog's datasets."""
    rows = []
    for entry in entries:
        languages = ", ".join(entry["languages"]) or "—"
        data = "data + card" if entry["data"] else "card only"
        rows.append(
            "<tr>"
            f'<td><a href="{escape(entry["card"])}">{escape(entry["name"])}</a></td>'
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
