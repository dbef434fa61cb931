"""``diff OLD NEW``: records added, removed, changed and unchanged between two releases, and drift."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from corpus_kit.cli.common import handle_errors, stdout


def _lines(result: dict[str, Any]) -> list[str]:
    old, new = result["old"], result["new"]
    lines = [
        f"{old['name']} {old['version'] or ''} ({old['rows']:,} rows) -> "
        f"{new['name']} {new['version'] or ''} ({new['rows']:,} rows)",
        f"  added {result['added']:,}  removed {result['removed']:,}  changed {result['changed']:,}  "
        f"unchanged {result['unchanged']:,}",
    ]
    reasons = result["removed_by_reason"]
    if reasons is None:
        if result["removed"]:
            lines.append("  removed records: NEW has no ledger, so no reasons")
    elif result["removed"]:
        lines.append("  removed, by NEW's reason:")
        lines += [f"    {reason}: {count:,}" for reason, count in reasons.items()]
        if result["removed_not_in_new_input"]:
            lines.append(f"    not in NEW's input: {result['removed_not_in_new_input']:,}")
    drift = result["drift"]
    before_drift = len(lines)
    licences = drift["licenses"]
    if licences["added"] or licences["removed"] or licences["expression"]:
        lines.append(f"  licences: added {licences['added']}, removed {licences['removed']}")
        if licences["expression"]:
            lines.append(
                f"    expression: {licences['expression']['old']} -> {licences['expression']['new']}"
            )
    if drift["supply_mode"]:
        lines.append(f"  supply mode: {drift['supply_mode']['old']} -> {drift['supply_mode']['new']}")
    if drift["classification"]:
        changes = ", ".join(
            f"{key} {value['old']} -> {value['new']}" for key, value in drift["classification"].items()
        )
        lines.append(f"  classification: {changes}")
    schema = drift["schema"]
    if schema["added"] or schema["removed"] or schema["retyped"]:
        retyped = ", ".join(
            f"{name} {types['old']} -> {types['new']}" for name, types in schema["retyped"].items()
        )
        lines.append(f"  schema: added {schema['added']}, removed {schema['removed']}, retyped [{retyped}]")
    if len(lines) == before_drift:
        lines.append("  no licence, supply-mode, classification or schema drift")
    return lines


@handle_errors
def diff(
    old: Annotated[Path, typer.Argument(help="The earlier release (dataset folder).", show_default=False)],
    new: Annotated[Path, typer.Argument(help="The later release (dataset folder).", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Records added, removed, changed (same id, other content) and unchanged between two releases.

    Records are matched by id and content hash; removed ones are counted by the reason NEW's ledger
    gives; licence, supply-mode, classification and schema drift are listed. Exit status 0.

    Example: corpus-kit diff out/2026-11 out/2026-12 --json
    """
    from corpus_kit.catalog.diff import diff_releases

    result = diff_releases(old, new)
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    for line in _lines(result):
        stdout.print(line, markup=False, soft_wrap=True)
