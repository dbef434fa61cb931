"""What the decontaminate stage adds to ``report.html`` and the dataset card: counts, never text."""

from __future__ import annotations

from typing import TYPE_CHECKING

from corpus_kit.stages.decontaminate.section import DecontaminationSummary

if TYPE_CHECKING:
    from corpus_kit.catalog.report import ReportSection
    from corpus_kit.governance.manifest import Manifest

#: Benchmarks listed in the report and card (the manifest lists all).
MAX_SHOWN = 50


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.2%}" if whole else "–"


def _ranked(section: DecontaminationSummary) -> list[str]:
    return sorted(section.benchmarks, key=lambda name: (-section.benchmarks[name].contaminated, name))


def decontamination_report_section(section: DecontaminationSummary, manifest: Manifest) -> ReportSection:
    from markupsafe import Markup

    from corpus_kit.catalog.report import ReportSection, facts, table

    figures = facts(
        {
            "checked": f"{section.checked:,}",
            "contaminated": f"{section.contaminated:,} ({_share(section.contaminated, section.checked)})",
            "dropped" if section.action == "drop" else "flagged": (
                f"{section.dropped if section.action == 'drop' else section.flagged:,}"
            ),
            "benchmarks": f"{len(section.benchmarks):,}",
        }
    )
    rows = [
        (
            name,
            f"{row.items:,}",
            f"{row.short:,}",
            f"{row.too_short + row.empty:,}",
            f"{row.grams:,}",
            f"{row.contaminated:,}",
            f"{row.dropped:,}",
        )
        for name in _ranked(section)[:MAX_SHOWN]
        for row in (section.benchmarks[name],)
    ]
    body = Markup(
        figures
        + table(
            ["benchmark", "items", "short items", "not matchable", "grams", "contaminated", "dropped"],
            rows,
            numeric=(1, 2, 3, 4, 5, 6),
        )
    )
    lead = (
        f"Records sharing a {section.n}-unit n-gram (a word, or a Chinese/Japanese character) with an "
        f"evaluation set, action {section.action}; {len(section.evals)} evaluation file(s), checksums in "
        "the manifest."
    )
    if len(section.benchmarks) > MAX_SHOWN:
        lead += f" The {MAX_SHOWN} of {len(section.benchmarks):,} benchmarks with the most records."
    return ReportSection("decontamination", "Decontamination", body, lead, nav="Decontam")


_CARD = (
    "Checked against {{ benchmarks|length|num }} evaluation benchmark(s) for {{ n }}-unit n-gram overlap "
    "(13 words of a spaced script or 13 characters of Chinese/Japanese, after NFKC, case folding and "
    "Traditional -> Simplified, with punctuation and line breaks ignored); action {{ action|code }}. "
    "{{ checked|num }} record(s) checked, {{ contaminated|num }} overlapped an evaluation set "
    "({{ share }}){% if action == 'drop' %} and were removed{% else %} and are marked in "
    "`metadata.decontam`{% endif %}.\n\n"
    "| benchmark | items | contaminated records | dropped |\n|---|---:|---:|---:|\n"
    "{% for name, row in rows %}| {{ name|md }} | {{ row.items|num }} | {{ row.contaminated|num }} | "
    "{{ row.dropped|num }} |\n{% endfor %}\n\n"
    "{% if too_short %}{{ too_short|num }} evaluation item(s) had fewer than {{ min_units }} units and "
    "could not be matched. {% endif %}"
    "N-gram overlap finds verbatim and near-verbatim copies; it does not find paraphrases or translations."
)


def decontamination_card_section(section: DecontaminationSummary, manifest: Manifest) -> tuple[str, str]:
    from corpus_kit.catalog.card import render_card_fragment

    body = render_card_fragment(
        _CARD,
        benchmarks=section.benchmarks,
        n=section.n,
        min_units=section.min_units,
        action=section.action,
        checked=section.checked,
        contaminated=section.contaminated,
        share=_share(section.contaminated, section.checked),
        rows=[(name, section.benchmarks[name]) for name in _ranked(section)[:MAX_SHOWN]],
        too_short=sum(row.too_short for row in section.benchmarks.values()),
    )
    return "Decontamination", body
