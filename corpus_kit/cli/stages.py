"""``corpus-kit stages``: the stages this installation can run, where each comes from, its parameters."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from corpus_kit.cli.common import handle_errors, stdout


def _describe(name: str) -> dict[str, Any]:
    from corpus_kit.stages.registry import get_stage

    stage = get_stage(name)
    schema = stage.params_model.model_json_schema()
    return {
        "summary": stage.summary,
        "parameters": {
            field: {"description": info.get("description", ""), "default": info.get("default")}
            for field, info in schema.get("properties", {}).items()
        },
        "reasons": list(stage.reasons),
        "columns": list(stage.columns),
        "section": stage.manifest_key() if stage.section_model is not None else None,
        "extra": stage.extra,
    }


@handle_errors
def stages(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per stage instead.")] = False,
) -> None:
    """List the stages you can use in a pipeline: built-ins, plugins (entry points) and their parameters.

    A plugin that fails to load is listed with the reason. Example: corpus-kit stages --json
    """
    from corpus_kit.stages.registry import list_stages

    rows = []
    for info in list_stages():
        entry: dict[str, Any] = {"name": info.name, "origin": info.origin, "target": info.target}
        try:
            entry.update(_describe(info.name))
        except Exception as error:  # a broken plugin must not hide the others
            entry["error"] = str(error)
        rows.append(entry)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(show_lines=True)
    for column in ("stage", "origin", "parameters", "drops"):
        table.add_column(column, overflow="fold")
    for entry in rows:
        if "error" in entry:
            table.add_row(entry["name"], entry["origin"], f"[red]cannot load:[/] {entry['error']}", "")
            continue
        parameters = ", ".join(entry["parameters"]) or "-"
        summary = entry["summary"] + (f" [dim](extra: {entry['extra']})[/]" if entry["extra"] else "")
        table.add_row(
            f"[bold]{entry['name']}[/]\n{summary}",
            entry["origin"],
            parameters,
            ", ".join(entry["reasons"]) or "-",
        )
    stdout.print(table)
