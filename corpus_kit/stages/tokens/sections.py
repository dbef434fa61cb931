"""What the tokens stage adds to ``report.html`` and to the dataset card: the size in tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING

from corpus_kit.governance.tokens import TokensSummary

if TYPE_CHECKING:
    from corpus_kit.catalog.report import ReportSection
    from corpus_kit.governance.manifest import Manifest

_LISTED = 20  # rows of a breakdown shown in the card and the report


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "–"


def _per_character(section: TokensSummary) -> str:
    return f"{section.total / section.characters:.3f}" if section.characters else "–"


def _tokenizer_line(section: TokensSummary) -> str:
    tokenizer = section.tokenizer
    pattern = f", pattern {tokenizer.pattern}" if tokenizer.pattern else ""
    digest = tokenizer.vocabulary_sha256[:16]
    return f"{tokenizer.name} ({tokenizer.library}{pattern}; vocabulary sha256 {digest}…)"


def tokens_report_section(section: TokensSummary, manifest: Manifest) -> ReportSection:
    """Tokens in all, per language (with rows and tokens per row) and per licence."""
    from markupsafe import Markup

    from corpus_kit.catalog.report import ReportSection, facts, table

    figures = facts(
        {
            "tokens": f"{section.total:,}",
            "rows": f"{section.rows:,}",
            "tokens per character": _per_character(section),
            "longest row": f"{section.max_row:,} tokens",
        }
    )
    language_rows = [
        (
            language,
            f"{tokens:,}",
            _share(tokens, section.total),
            f"{manifest.languages.get(language, 0):,}",
            f"{tokens / manifest.languages[language]:,.0f}" if manifest.languages.get(language) else "–",
        )
        for language, tokens in list(section.by_language.items())[:_LISTED]
    ]
    by_language = table(
        ["language", "tokens", "share", "rows", "tokens per row"], language_rows, numeric=(1, 2, 3, 4)
    )
    licence_rows = [
        (licence, f"{tokens:,}", _share(tokens, section.total))
        for licence, tokens in list(section.by_license.items())[:_LISTED]
    ]
    by_licence = table(["licence", "tokens", "share"], licence_rows, numeric=(1, 2))
    lead = f"Counted with {_tokenizer_line(section)}."
    return ReportSection(
        "tokens", "Size in tokens", Markup(figures + by_language + by_licence), lead, nav="Tokens"
    )


_CARD = (
    "{{ total|num }} tokens in {{ rows|num }} rows ({{ per_character }} tokens per character), counted "
    "with {{ tokenizer|md }}.\n\n"
    "| language | tokens | share |\n|---|---:|---:|\n"
    "{% for language, tokens, share in languages %}| {{ language|md }} | {{ tokens|num }} | {{ share }} |\n"
    "{% endfor %}\n\n"
    "By licence: {% for licence, tokens in licences %}{{ licence|md }} {{ tokens|num }}"
    "{{ ', ' if not loop.last }}{% endfor %}."
)


def tokens_card_section(section: TokensSummary, manifest: Manifest) -> tuple[str, str]:
    from corpus_kit.catalog.card import render_card_fragment

    body = render_card_fragment(
        _CARD,
        total=section.total,
        rows=section.rows,
        tokenizer=_tokenizer_line(section),
        per_character=_per_character(section),
        languages=[
            (language, tokens, _share(tokens, section.total))
            for language, tokens in list(section.by_language.items())[:_LISTED]
        ],
        licences=list(section.by_license.items())[:_LISTED],
    )
    return "Size in Tokens", body
