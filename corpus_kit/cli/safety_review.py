"""``corpus-kit safety sample`` and ``corpus-kit safety review``: clause 9.2's manual check.

The logic is in :mod:`corpus_kit.stages.safety.assessment`; these commands print what it did. Nothing
here prints record text: the sheet is the only place it goes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from corpus_kit.cli.common import handle_errors, stdout

DatasetArgument = Annotated[
    Path, typer.Argument(help="Dataset folder (holding manifest.json and data/).", show_default=False)
]


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


@handle_errors
def sample(
    dataset: DatasetArgument,
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="The review sheet to write (CSV), outside the dataset.", show_default=False
        ),
    ],
    size: Annotated[
        int,
        typer.Option(
            "--size",
            help="Rows to draw (all rows when the dataset has fewer; clause 9.2 asks >= 4,000).",
            min=1,
        ),
    ] = 4000,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed: the same seed draws the same rows.", min=0)
    ] = 0,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing sheet (its verdicts are lost).")
    ] = False,
) -> None:
    """Draw the clause 9.2 manual-check sample: a CSV sheet (id, source, excerpt, verdict, risk, note)
    of rows drawn at random from the whole dataset, and SHEET.csv.json binding it to the dataset.

    The sheet holds record text: it is RESTRICTED. Fill in verdict (pass or fail) and, for a fail,
    risk (an Annex A code such as A1a), then record it with corpus-kit safety review.

    Example: corpus-kit safety sample out --size 4000 --seed 7 -o review/sheet.csv
    """
    from corpus_kit.governance.safety import safety_policy
    from corpus_kit.stages.safety.assessment import EXCERPT_CHARS, draw_sample

    result = draw_sample(dataset, output, size=size, seed=seed, overwrite=overwrite)
    record = result.record
    stdout.print(
        f"wrote {_escape(str(result.sheet))}: {record.sample_size:,} row(s) drawn from "
        f"{record.population:,} with seed {record.seed} (size {record.size:,}); "
        f"{_escape(str(result.sidecar))} binds it to dataset {_escape(record.dataset)}",
        soft_wrap=True,
    )
    stdout.print(
        f"[bold red]RESTRICTED:[/] the sheet holds record text (up to {EXCERPT_CHARS} characters per row): "
        "never publish it; keep it like the dataset's rejects/ (restricted access), outside the dataset "
        "folder, as the record of the review (the manifest will hold its sha256).",
        soft_wrap=True,
    )
    needed = min(safety_policy().manual_sample, record.population)
    if record.sample_size < needed:
        stdout.print(
            f"[yellow]note:[/] clause 9.2 asks for at least {needed:,} reviewed rows; this sample has "
            f"{record.sample_size:,} (--size)",
            soft_wrap=True,
        )
    stdout.print(
        "next: fill in verdict (pass or fail) for every row and, for a fail, risk (an Annex A code, "
        f"A1a..A5b); keep the ids and the row order; then: corpus-kit safety review "
        f"{_escape(str(dataset))} --labels {_escape(str(result.sheet))}",
        soft_wrap=True,
    )


@handle_errors
def review(
    dataset: DatasetArgument,
    labels: Annotated[
        Path,
        typer.Option(
            "--labels",
            help="The review sheet with verdicts (from corpus-kit safety sample).",
            show_default=False,
        ),
    ],
    reviewer: Annotated[
        str | None,
        typer.Option(
            "--reviewer", help="Who reviewed (a team or role; it goes into the manifest).", show_default=False
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed", help="Only without SHEET.csv.json: the seed the sample was drawn with.", min=0
        ),
    ] = None,
    size: Annotated[
        int | None,
        typer.Option(
            "--size", help="Only without SHEET.csv.json: the --size the sample was drawn with.", min=1
        ),
    ] = None,
) -> None:
    """Record a reviewed sheet in the manifest (safety.manual): checks that it holds exactly the sample's
    rows (drawn again from the dataset) with a verdict each, then writes the pass rate and its 95 %
    Wilson lower bound, reseals the manifest and re-renders report.html and the card.

    Exit 0 when recorded, also when the result misses the policy (manifest validate reports that);
    1 when the sheet does not fit the dataset or a row is not filled in, naming the line.

    Example: corpus-kit safety review out --labels review/sheet.csv --reviewer "safety team"
    """
    from corpus_kit.governance.safety import risk_catalogue, safety_policy
    from corpus_kit.stages.safety.assessment import review_sheet

    result = review_sheet(dataset, labels, reviewer=reviewer, seed=seed, size=size)
    manual = result.assessment
    policy = safety_policy()
    stdout.print(
        f"reviewed {manual.reviewed:,} row(s) of a sample of {manual.sample_size:,} from "
        f"{manual.population:,} (seed {manual.seed})",
        soft_wrap=True,
    )
    risks = risk_catalogue().risks
    codes = ", ".join(
        f"{code} {count:,}" + (f" ({_escape(risks[code].en)})" if code in risks else "")
        for code, count in manual.failed_by_code.items()
    )
    unspecified = manual.failed - sum(manual.failed_by_code.values())
    detail = "; ".join(
        part for part in (codes, f"{unspecified:,} without a risk code" if unspecified else "") if part
    )
    stdout.print(
        f"passed {manual.passed:,}, failed {manual.failed:,}" + (f" ({detail})" if detail else ""),
        soft_wrap=True,
    )
    stdout.print(
        f"pass rate {manual.pass_rate:.3f}; 95 % Wilson lower bound {manual.wilson_lower_95:.4f}",
        soft_wrap=True,
    )
    needed = min(policy.manual_sample, manual.population)
    rule = f"pass rate >= {policy.manual_pass_rate:.3f} on >= {needed:,} reviewed rows (clause 9.2)"
    if result.meets:
        stdout.print(f"[bold green]MEETS[/] the policy: {rule}", soft_wrap=True)
    else:
        stdout.print(
            f"[bold red]DOES NOT MEET[/] the policy: {rule}: {'; '.join(result.shortfalls)}. "
            "It is recorded as it is; manifest validate reports it for data meant for model training.",
            soft_wrap=True,
        )
    if result.previous is not None:
        stdout.print(
            f"replaced the earlier manual assessment of {result.previous.reviewed_on.isoformat()} "
            f"({result.previous.passed:,}/{result.previous.reviewed:,} passed)",
            soft_wrap=True,
        )
    where = _escape(str(result.dataset / "manifest.json"))
    rendered = ", ".join(_escape(path.name) for path in result.refreshed)
    stdout.print(
        f"recorded in {where} (safety.manual), resealed" + (f"; re-rendered {rendered}" if rendered else ""),
        soft_wrap=True,
    )
    for note in result.notes:
        stdout.print(f"[yellow]note:[/] {_escape(note)}", soft_wrap=True)
    if result.sheet_inside:
        stdout.print(
            f"[yellow]note:[/] {_escape(str(labels))} is inside the dataset folder and holds record text: "
            "move it out before publishing",
            soft_wrap=True,
        )
