"""``corpus-kit safety lexicon-check | sample | review``: the safety stage's own commands.

``corpus-kit safety INPUT... -o OUT`` (the stage itself) is generated from the stage like every
other stage command; the root group sends ``safety lexicon-check ...`` here instead.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from corpus_kit.cli.common import handle_errors, stdout
from corpus_kit.errors import CheckFailed

app = typer.Typer(name="safety", help="Content-safety lexicons and the clause 9.2 manual check.")

FormatChoice = Annotated[
    Literal["text", "json"], typer.Option("--format", help="text for people, json for machines.")
]


@app.command("lexicon-check")
@handle_errors
def lexicon_check(
    files: Annotated[
        list[Path], typer.Argument(help="Lexicon files (YAML, CSV or TSV).", show_default=False)
    ],
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail (exit 1) when the lexicons miss the clause 8.1 minima.")
    ] = False,
    output_format: FormatChoice = "text",
) -> None:
    """Check lexicon files: format problems by file:line, and coverage per Annex A risk code against the
    clause 8.1 minima (>= 10,000 terms; >= 200 per A.1 risk, >= 100 per A.2 risk). Terms are never printed.

    Exit 0 when every file is usable (and, with --strict, the minima are met), 1 otherwise.

    Example: corpus-kit safety lexicon-check lexicons/*.yaml --strict
    """
    from corpus_kit.governance.safety import risk_catalogue
    from corpus_kit.stages.safety.lexicon import Lexicon, LexiconError, coverage, load_lexicon

    problems: list[str] = []
    loaded: list[Lexicon] = []
    for path in files:
        try:
            loaded.append(load_lexicon(path))
        except LexiconError as error:
            problems.extend(error.problems)
    today = date.today()
    summary = coverage(loaded) if loaded and not problems else None
    short = summary is not None and not summary.meets_minima
    failed = bool(problems) or (strict and short)
    if output_format == "json":
        payload: dict[str, Any] = {
            "ok": not failed,
            "strict": strict,
            "problems": problems,
            "lexicons": [
                {
                    **lexicon.record().model_dump(mode="json"),
                    "duplicates": lexicon.duplicates,
                    "age_days": (today - lexicon.updated).days,
                }
                for lexicon in loaded
            ],
            "coverage": summary.model_dump(mode="json") if summary else None,
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        if failed:
            raise typer.Exit(1)
        return
    for problem in problems:
        stdout.print(f"[red]error[/] {_escape(problem)}", soft_wrap=True)
    if problems:
        raise CheckFailed(f"{len(problems)} problem(s) in the lexicon file(s); fix the lines named above")
    from rich.table import Table

    for lexicon in loaded:
        age = (today - lexicon.updated).days
        stdout.print(
            f"{_escape(str(lexicon.path))}: {_escape(lexicon.name)} {_escape(lexicon.version)}, updated "
            f"{lexicon.updated.isoformat()} ({age} days ago), {len(lexicon.terms):,} terms"
            + (f", {lexicon.duplicates:,} duplicate(s) ignored" if lexicon.duplicates else ""),
            soft_wrap=True,
        )
    assert summary is not None
    risks = risk_catalogue().risks
    table = Table("code", "risk", "terms", "minimum", "short", title="coverage per Annex A risk (clause 8.1)")
    for code, risk in risks.items():
        have = summary.terms_per_code.get(code, 0)
        need = summary.minimum_per_code.get(code, 0)
        missing = summary.shortfall.get(code, 0)
        table.add_row(
            code,
            risk.en,
            f"{have:,}",
            f"{need:,}" if need else "–",
            f"[red]{missing:,}[/]" if missing else "",
        )
    stdout.print(table)
    if short:
        codes = [code for code in summary.shortfall if code != "total"]
        total = summary.shortfall.get("total", 0)
        parts = []
        if total:
            parts.append(f"{total:,} terms short of {summary.minimum_terms:,} in total")
        if codes:
            parts.append(f"{len(codes)} risk(s) below their minimum ({', '.join(codes)})")
        verdict = "[red]below[/]" if strict else "[yellow]below[/]"
        stdout.print(
            f"{summary.terms:,} distinct terms: {verdict} the clause 8.1 minima: {'; '.join(parts)}. "
            "Extend your keyword library (manifest validate --strict warns with CK131).",
            soft_wrap=True,
        )
    else:
        stdout.print(
            f"{summary.terms:,} distinct terms: [green]meets[/] the clause 8.1 minima", soft_wrap=True
        )
    if failed:
        raise typer.Exit(1)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


from corpus_kit.cli.safety_review import review, sample  # noqa: E402

app.command("sample")(sample)
app.command("review")(review)
