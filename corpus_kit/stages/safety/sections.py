"""What the safety stage adds to ``report.html`` and to the dataset card: codes, counts and shares."""

from __future__ import annotations

from typing import TYPE_CHECKING

from corpus_kit.governance.safety import SafetySummary, risk_catalogue

if TYPE_CHECKING:
    from corpus_kit.catalog.report import ReportSection
    from corpus_kit.governance.manifest import Manifest


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.2%}" if whole else "–"


def _manual_line(section: SafetySummary) -> str:
    manual = section.manual
    if manual is None:
        return "not done (corpus-kit safety sample, then safety review)"
    return (
        f"{manual.passed:,}/{manual.reviewed:,} passed ({manual.pass_rate:.1%}, 95 % Wilson lower bound "
        f"{manual.wilson_lower_95:.1%}), sample of {manual.sample_size:,} from {manual.population:,} rows, "
        f"seed {manual.seed}, reviewed {manual.reviewed_on.isoformat()}"
    )


def safety_report_section(section: SafetySummary, manifest: Manifest) -> ReportSection:
    """Flagged records per risk code and per source, the blacklist, the checks of clause 9.2."""
    from corpus_kit.catalog.report import ReportSection, facts, table

    risks = risk_catalogue().risks
    technical = section.technical
    coverage = section.coverage
    figures = facts(
        {
            "screened": f"{section.screened:,}",
            "flagged": f"{section.flagged:,} ({_share(section.flagged, section.screened)})",
            "technical pass rate": f"{technical.pass_rate:.2%}",
            "checked share": f"{technical.checked_share:.1%}",
            "lexicon terms": f"{coverage.terms:,}"
            + ("" if coverage.meets_minima else " (below clause 8.1 minima)"),
            "blacklisted sources": f"{section.blacklisted_total or len(section.blacklisted_sources):,}",
        }
    )
    code_rows = [
        (
            code,
            risks[code].en if code in risks else "?",
            f"{count:,}",
            _share(count, section.screened),
            f"{section.hits_by_code.get(code, 0):,}",
            f"{section.dropped.get('safety.' + code, 0):,}",
        )
        for code, count in sorted(section.flagged_by_code.items())
    ]
    by_code = table(["code", "risk", "records", "share", "hits", "dropped"], code_rows, numeric=(2, 3, 4, 5))
    source_rows = [
        (
            row.source,
            f"{row.documents:,}",
            f"{row.flagged:,}",
            f"{row.share:.2%}",
            {"share": "blacklisted (share)", "list": "blacklisted (listed)"}.get(row.reason or "", "–"),
        )
        for row in sorted(section.sources, key=lambda row: (not row.blacklisted, -row.share, row.source))[:50]
    ]
    by_source = table(["source", "screened", "flagged", "share", "status"], source_rows, numeric=(1, 2, 3))
    from markupsafe import Markup

    body = Markup(figures + by_code + by_source)
    lead = (
        f"Keyword screening (TC260-003 / GB/T 45654, clauses 5.1, 8.1, 9.2) with action {section.action}; "
        f"source threshold {section.thresholds.source_share:.0%}; manual check: {_manual_line(section)}."
    )
    if section.sources_total > 50:
        lead += f" Sources: the 50 of {section.sources_total:,} with the highest flagged share."
    return ReportSection("safety", "Content safety", body, lead, nav="Safety")


_CARD = (
    "Screened for the 31 risks of TC260-003-2024 / GB/T 45654-2025 Annex A with keyword lexicon(s) "
    "{% for lexicon in lexicons %}{{ lexicon.name|md }} {{ lexicon.version|md }} "
    "({{ lexicon.updated }}, {{ lexicon.terms|num }} terms){{ ', ' if not loop.last }}{% endfor %}"
    "{{ '' if meets_minima else ', below the clause 8.1 minima' }}. "
    "{{ screened|num }} record(s) screened, {{ flagged|num }} flagged ({{ flagged_share }}); action "
    "{{ action|code }}; technical pass rate {{ pass_rate }} on {{ checked_share }} of the records. "
    "{% if blacklisted %}{{ blacklisted|num }} source(s) over the {{ threshold }} source threshold "
    "were blacklisted.{% else %}No source was blacklisted.{% endif %}\n\n"
    "Manual check (clause 9.2): {{ manual|md }}.\n\n"
    "Flagged records per risk code: "
    "{% for code, count in codes %}{{ code }} {{ count|num }}{{ ', ' if not loop.last }}"
    "{% else %}none{% endfor %}.\n\n"
    "Keyword screening finds what the lexicon names; it is not a classifier and does not make the "
    "dataset compliant with any standard."
)


def safety_card_section(section: SafetySummary, manifest: Manifest) -> tuple[str, str]:
    from corpus_kit.catalog.card import render_card_fragment

    body = render_card_fragment(
        _CARD,
        lexicons=section.lexicons,
        meets_minima=section.coverage.meets_minima,
        screened=section.screened,
        flagged=section.flagged,
        flagged_share=_share(section.flagged, section.screened),
        action=section.action,
        pass_rate=f"{section.technical.pass_rate:.2%}",
        checked_share=f"{section.technical.checked_share:.1%}",
        blacklisted=section.blacklisted_total or len(section.blacklisted_sources),
        threshold=f"{section.thresholds.source_share:.0%}",
        manual=_manual_line(section),
        codes=sorted(section.flagged_by_code.items()),
    )
    return "Content Safety", body
