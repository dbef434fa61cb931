"""The run report: ``OUT/report.html``, a one-page picture of what a run did to the data.

The manifest is the compliance record a machine checks; the report is the same facts for a person
(a data officer, a reviewer, a reader of the published dataset). It is one self-contained HTML file
(inline CSS, hand-made inline SVG, no script, nothing fetched) so that it can be attached to a
ticket, opened offline or published beside the dataset. Like the dataset card and Croissant, it is
a rendering of the manifest, so it lives in :mod:`corpus_kit.catalog`.

It is built from the manifest plus one streaming pass over the ``text`` and ``language`` columns of
the data files (for the length histograms). It never shows record text, ids or metadata: the
report may be published, and a published report must not carry personal data.

The page comes from the Jinja2 template ``templates/report.html.j2`` with autoescaping on: every
string that reaches it (dataset names, drop reasons, licence ids, language codes) is HTML-escaped,
because all of them can come from user input. Only :class:`~markupsafe.Markup` passes unescaped,
and Markup is made only by the helpers below (which escape what they are given) and by templates.

Sections. The report builds the generic sections itself (funnel, languages, lengths, licences,
timings); a stage adds its own as a :class:`ReportSection`, placed after the licences and before
the timings, in the order given::

    from corpus_kit.catalog.report import Bar, ReportSection, bar_chart, facts, table

    def report_section(self, section, manifest):
        body = facts({"words counted": f"{section.words:,}"}) + table(
            ["language", "words"], sorted(section.per_language.items()), numeric=(1,)
        )
        return ReportSection("wordcount", "Word count", body, lead="Words per output language.")

The helpers (:func:`table`, :func:`facts`, :func:`bar_chart`, :func:`note`,
:func:`render_fragment`) return Markup and escape everything they are given, so a section built
with them is safe whatever the strings hold. A plain ``str`` passed as a body is shown as text.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from jinja2 import Environment, PackageLoader, StrictUndefined, Template
from markupsafe import Markup, escape

from corpus_kit.governance.manifest import DedupSummary, Manifest, PiiSummary, QualitySummary
from corpus_kit.utils import atomic_write_bytes, format_size

REPORT_NAME = "report.html"
TEMPLATE_NAME = "report.html.j2"
MACROS_NAME = "report_macros.html.j2"

#: Rows per batch when streaming the data files: bounded memory whatever the dataset size. Small
#: batches are both leaner and faster here (1.6 GB of text: 4,096 rows 0.8 s / 270 MB peak RSS,
#: 65,536 rows 1.3 s / 1.1 GB), while still few enough that per-batch overhead stays negligible.
BATCH_ROWS = 4_096
#: Per-language histograms shown; smaller languages are pooled into "other" to keep the page short.
MAX_LANGUAGE_PANELS = 12
#: Labels longer than this are cut in charts (the full, escaped label stays in the tables).
MAX_LABEL_CHARS = 40
#: Log-scale bin edges on a 1-2-5 series (1, 2, 5, 10, 20, ... 5e9): labels a person can read.
EDGES = np.array([m * 10**e for e in range(10) for m in (1, 2, 5)], dtype=np.int64)
#: Bin 0 holds empty texts (media-only rows); bin i >= 1 holds EDGES[i-1] <= length < EDGES[i].
N_BINS = len(EDGES) + 1

COLOURS = {
    "flow": "#3867a6",
    "lost": "#e08a3c",
    "output": "#3c8d5a",
    "rejected": "#c44b4b",
    "lang": "#5b7fb9",
    "pii": "#8a5bb0",
    "licence": "#2f8f8a",
    "time": "#6c757d",
    "hist": "#4a78b5",
}

#: A section anchor: an HTML id that needs no escaping and makes a plain ``#anchor`` link.
_ANCHOR = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


# --------------------------------------------------------------------------- templates


@functools.cache
def environment() -> Environment:
    """The report's Jinja2 environment: HTML autoescaping, and an undefined name is an error."""
    return Environment(
        loader=PackageLoader("corpus_kit.catalog", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@functools.lru_cache(maxsize=64)
def _fragment_template(source: str) -> Template:
    return environment().from_string(source)


def render_fragment(template_source: str, **values: Any) -> Markup:
    """Render a Jinja2 string template with the report's autoescaping environment.

    For stages that prefer a template to the helpers: ``{{ value }}`` is escaped unless it is
    Markup (for example the output of :func:`table` or :func:`bar_chart`).
    """
    return Markup(_fragment_template(template_source).render(**values))


def _macro(name: str) -> Any:
    return getattr(environment().get_template(MACROS_NAME).module, name)


# --------------------------------------------------------------------------- formatting


def _n(value: int | float) -> str:
    return f"{value:,}"


def _pct(part: float, whole: float) -> str:
    if not whole:
        return "–"
    share = 100.0 * part / whole
    return f"{share:.1f}%" if share >= 0.1 or share == 0 else "<0.1%"


def _text_width(text: str, size: float = 13.0) -> float:
    """Rough rendered width of a label (no fonts to measure with): wide for capitals and CJK."""
    width = 0.0
    for char in text:
        if ord(char) > 0x2E80:
            width += 1.0
        elif char.isupper() or char.isdigit() or char in "_MW@%":
            width += 0.66
        elif char in "iljtf.,:;'| ":
            width += 0.3
        else:
            width += 0.55
    return width * size


def _rows(count: int) -> str:
    return f"{_n(count)} row" + ("" if count == 1 else "s")


def _short(label: str, limit: int = MAX_LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


# --------------------------------------------------------------------------- length statistics


@dataclass
class LengthStats:
    """Text lengths (characters) of the output rows, binned; nothing else about the rows is kept."""

    overall: np.ndarray = field(default_factory=lambda: np.zeros(N_BINS, dtype=np.int64))
    by_language: dict[str | None, np.ndarray] = field(default_factory=dict)
    rows: int = 0
    chars: int = 0
    max_len: int = 0
    has_language: bool = False
    missing_files: list[str] = field(default_factory=list)
    no_text_files: list[str] = field(default_factory=list)


def _bin_index(lengths: np.ndarray) -> np.ndarray:
    """0 for empty text, else 1 + the log bin (searchsorted on the 1-2-5 edges)."""
    return np.where(lengths <= 0, 0, np.searchsorted(EDGES, lengths, side="right"))


def _int_values(array: pa.Array, fill: int) -> np.ndarray:
    """An integer array as int64, nulls replaced by ``fill``, read from its buffers (``to_numpy`` and
    ``fill_null`` import pandas: ~0.2 s of a run's finalising)."""
    width = array.type.bit_width // 8
    validity, data = array.buffers()
    values = np.frombuffer(data, dtype=f"<i{width}", count=len(array), offset=array.offset * width)
    values = values.astype(np.int64)
    if array.null_count:
        bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
        values[bits[array.offset : array.offset + len(array)] == 0] = fill
    return values


def collect_lengths(output: Path, manifest: Manifest) -> LengthStats:
    """Stream the text (and language) column of every data file, batch by batch.

    Only those two columns are read, so memory stays flat and media bytes are never loaded.
    """
    stats = LengthStats()
    for item in manifest.files:
        path = output / item.path
        if not path.is_file():
            stats.missing_files.append(item.path)
            continue
        parquet = pq.ParquetFile(path)
        names = set(parquet.schema_arrow.names)
        if "text" not in names:
            stats.no_text_files.append(item.path)
            continue
        has_language = "language" in names
        stats.has_language |= has_language
        columns = ["text", "language"] if has_language else ["text"]
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns):
            values = _int_values(pc.utf8_length(batch.column("text")), fill=0)
            if values.size == 0:
                continue
            bins = _bin_index(values)
            stats.overall += np.bincount(bins, minlength=N_BINS)
            stats.rows += int(values.size)
            stats.chars += int(values.sum())
            stats.max_len = max(stats.max_len, int(values.max()))
            if not has_language:
                continue
            encoded = pc.dictionary_encode(batch.column("language"))
            keys: list[str | None] = [str(v) for v in encoded.dictionary.to_pylist()]
            # null languages get the code len(keys); one bincount per batch gives every language
            codes = _int_values(encoded.indices, fill=len(keys))
            counts = np.bincount(codes * N_BINS + bins, minlength=(len(keys) + 1) * N_BINS)
            for code, key in enumerate([*keys, None]):
                block = counts[code * N_BINS : (code + 1) * N_BINS]
                if block.any():
                    into = stats.by_language.setdefault(key, np.zeros(N_BINS, dtype=np.int64))
                    into += block
    return stats


# --------------------------------------------------------------------------- section API


@dataclass(frozen=True)
class ReportSection:
    """One ``<section>`` of the page, with its link in the navigation bar.

    ``body`` is Markup built with the helpers of this module or a template; a plain ``str`` is
    shown as text (escaped). ``lead`` is one line of plain text under the heading; ``nav`` is a
    short navigation label (default: the title).
    """

    anchor: str  # id of the <section>, also the nav link
    title: str  # heading and nav label
    body: Markup  # built with the helpers below (escaped) or a template
    lead: str = ""  # one-line explanation under the heading (escaped)
    nav: str = ""  # shorter nav label; empty: the title

    def __post_init__(self) -> None:
        if not _ANCHOR.match(self.anchor):
            raise ValueError(
                f"report section anchor {self.anchor!r}: use a letter then letters, digits, '-' or '_'"
            )

    @property
    def label(self) -> str:
        return self.nav or self.title


def table(header: Sequence[object], rows: Iterable[Sequence[object]], numeric: Sequence[int] = ()) -> Markup:
    """A ``<table>``; columns whose index is in ``numeric`` are right-aligned. Cells are escaped."""
    return Markup(_macro("table")(list(header), [list(row) for row in rows], list(numeric)))


def facts(items: Mapping[str, object]) -> Markup:
    """The ``<dl class="facts">`` block of big figures: label -> value, both escaped."""
    return Markup(_macro("facts")(list(items.items())))


def note(text: object) -> Markup:
    """A muted italic line, e.g. "No personal data found." (escaped)."""
    return Markup(_macro("note")(text))


# --------------------------------------------------------------------------- SVG charts


@dataclass
class Bar:
    """One row of a horizontal bar chart."""

    label: str
    value: float
    colour: str
    text: str = ""  # the value as printed; defaults to the formatted number
    extra: float = 0.0  # a second, stacked segment (e.g. records lost at a funnel step)
    extra_colour: str = COLOURS["lost"]
    note: str = ""  # a smaller second line under the bar (e.g. drop reasons)


def bar_chart(bars: Sequence[Bar], title: str = "", *, width: int = 900) -> Markup:
    """Horizontal bars with labels left and values right, as inline SVG (every string escaped)."""
    if not bars:
        return Markup("")
    label_w = min(320.0, max(90.0, max(_text_width(_short(bar.label)) for bar in bars) + 16))
    value_w = 150
    plot_w = width - label_w - value_w
    top = max((bar.value + bar.extra for bar in bars), default=0) or 1
    rows: list[str] = []
    y = 4.0
    for bar in bars:
        row_h = 40 if bar.note else 26
        main = plot_w * bar.value / top
        extra = plot_w * bar.extra / top
        if bar.value > 0:
            main = max(main, 1.5)
        if bar.extra > 0:
            extra = max(extra, 2.0)
        text = bar.text or _n(bar.value)
        label = _short(bar.label)
        tip = f"{bar.label}: {text}" + (f" ({bar.note})" if bar.note else "")
        rows.append(
            f"<g><title>{escape(tip)}</title>"
            f'<text x="{label_w - 10:.0f}" y="{y + 15:.1f}" class="lbl" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w:.1f}" y="{y + 3:.1f}" width="{main:.1f}" height="16" rx="2" '
            f'fill="{escape(bar.colour)}"/>'
        )
        if extra:
            rows.append(
                f'<rect x="{label_w + main:.1f}" y="{y + 3:.1f}" width="{extra:.1f}" height="16" rx="2" '
                f'fill="{escape(bar.extra_colour)}" opacity="0.85"/>'
            )
        rows.append(
            f'<text x="{label_w + main + extra + 6:.1f}" y="{y + 15:.1f}" class="val">{escape(text)}</text>'
        )
        if bar.note:
            rows.append(f'<text x="{label_w:.1f}" y="{y + 33:.1f}" class="sub">{escape(bar.note)}</text>')
        rows.append("</g>")
        y += row_h
    height = y + 4
    label_attr = f' aria-label="{escape(title)}"' if title else ""
    return Markup(
        f'<svg class="chart" role="img"{label_attr} viewBox="0 0 {width} {height:.0f}" '
        f'width="{width}" height="{height:.0f}" xmlns="http://www.w3.org/2000/svg">{"".join(rows)}</svg>'
    )


def _edge_label(value: int) -> str:
    for unit, size in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if value >= size:
            return f"{value // size}{unit}"
    return str(value)


def _bin_label(index: int) -> str:
    if index == 0:
        return "empty"
    low = int(EDGES[index - 1])
    high = int(EDGES[index]) - 1 if index < len(EDGES) else None
    if high is None:
        return f"≥ {_n(low)} chars"
    return f"{_n(low)} chars" if low == high else f"{_n(low)}–{_n(high)} chars"


def histogram_range(counts: np.ndarray) -> tuple[int, int]:
    """The bins worth drawing: from the first to the last non-empty log bin (bin 0 is drawn apart)."""
    used = np.nonzero(counts[1:])[0]
    if used.size == 0:
        return 1, 1
    return int(used[0]) + 1, int(used[-1]) + 1


def histogram_svg(
    counts: np.ndarray,
    span: tuple[int, int],
    show_empty: bool,
    width: int = 900,
    height: int = 230,
    small: bool = False,
) -> Markup:
    """Vertical bars over log-scale length bins; tick labels sit on the bin edges.

    ``span`` and ``show_empty`` come from the overall histogram so that every panel shares one x axis.
    """
    first, last = span
    indices = ([0] if show_empty else []) + list(range(first, last + 1))
    top = int(max((counts[i] for i in indices), default=0)) or 1
    left, right, head, foot = (44, 12, 18 if not small else 10, 36)
    plot_w = width - left - right
    plot_h = height - head - foot
    gap = 14 if show_empty else 0  # a visual break between "empty" and the log bins
    slot = (plot_w - gap) / max(1, len(indices))
    parts: list[str] = []
    # y axis: baseline, the top count and a mid gridline
    base_y = head + plot_h
    for frac in (0.5, 1.0) if top >= 4 else (1.0,):
        gy = base_y - plot_h * frac
        tick = _n(round(top * frac))
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{gy:.1f}" y2="{gy:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{gy + 4:.1f}" class="tick" text-anchor="end">{tick}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{base_y}" y2="{base_y}" class="axis"/>')
    x = float(left)
    for position, index in enumerate(indices):
        if index == first and show_empty:
            x += gap
        value = int(counts[index])
        bar_h = plot_h * value / top
        if value:
            bar_h = max(bar_h, 1.5)
        colour = COLOURS["time"] if index == 0 else COLOURS["hist"]
        parts.append(
            f"<g><title>{escape(_bin_label(index))}: {_n(value)} rows</title>"
            f'<rect x="{x + 1.5:.1f}" y="{base_y - bar_h:.1f}" width="{max(slot - 3, 1):.1f}" '
            f'height="{bar_h:.1f}" fill="{colour}"/></g>'
        )
        if value and not small and slot >= 26:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{base_y - bar_h - 4:.1f}" class="tick" '
                f'text-anchor="middle">{_n(value)}</text>'
            )
        if index == 0:
            centre = x + slot / 2
            parts.append(
                f'<text x="{centre:.1f}" y="{base_y + 15}" class="tick" text-anchor="middle">empty</text>'
            )
        else:
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{base_y}" y2="{base_y + 4}" class="axis"/>'
                f'<text x="{x:.1f}" y="{base_y + 15}" class="tick" text-anchor="middle">'
                f"{_edge_label(int(EDGES[index - 1]))}</text>"
            )
            if position == len(indices) - 1 and index < len(EDGES):
                end = x + slot
                parts.append(
                    f'<line x1="{end:.1f}" x2="{end:.1f}" y1="{base_y}" y2="{base_y + 4}" class="axis"/>'
                    f'<text x="{end:.1f}" y="{base_y + 15}" class="tick" text-anchor="middle">'
                    f"{_edge_label(int(EDGES[index]))}</text>"
                )
        x += slot
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" class="tick" text-anchor="middle">'
        "characters per row (log scale)</text>"
    )
    return Markup(
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )


# --------------------------------------------------------------------------- generic sections

_FUNNEL_HEAD = (
    '<p>{% if holds %}<span class="ok">input = output + dropped + rejected holds</span>'
    '{% else %}<span class="bad">input ≠ output + dropped + rejected: the manifest does not add up</span>'
    '{% endif %}</p><p class="legend">{% for colour, text in legend %}'
    '<i style="background:{{ colour }}"></i>{{ text }}{{ " " if not loop.last }}{% endfor %}</p>'
)


def funnel_section(manifest: Manifest) -> ReportSection:
    """Input -> after each step -> output, with what each step removed and why."""
    counts = manifest.counts
    steps = manifest.pipeline.steps
    bars = [Bar("input", counts.input, COLOURS["flow"])]
    for step in steps:
        lost = max(0, step.input - step.output)
        itemised = sum(step.dropped.values())
        reasons = [f"{reason} {_n(n)}" for reason, n in sorted(step.dropped.items(), key=lambda kv: -kv[1])]
        if lost > itemised:
            reasons.append(f"{'rejected' if step.name == 'read' else 'not itemised'} {_n(lost - itemised)}")
        lost_note = ("−" + _n(lost) + ": " + ", ".join(reasons)) if lost else ""
        bars.append(Bar(f"after {step.name}", step.output, COLOURS["flow"], extra=lost, note=lost_note))
    dropped_total = sum(counts.dropped.values())
    bars += [
        Bar(
            "output",
            counts.output,
            COLOURS["output"],
            text=f"{_n(counts.output)} ({_pct(counts.output, counts.input)})",
        ),
        Bar(
            "dropped",
            dropped_total,
            COLOURS["lost"],
            text=f"{_n(dropped_total)} ({_pct(dropped_total, counts.input)})",
        ),
        Bar(
            "rejected",
            counts.rejected,
            COLOURS["rejected"],
            text=f"{_n(counts.rejected)} ({_pct(counts.rejected, counts.input)})",
        ),
    ]
    reason_rows = [
        (reason, _n(n), _pct(n, counts.input))
        for reason, n in sorted(counts.dropped.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    reason_rows.append(
        (
            "rejected (malformed input, listed in rejects/)",
            _n(counts.rejected),
            _pct(counts.rejected, counts.input),
        )
    )
    legend = [
        (COLOURS["flow"], "records passed on"),
        (COLOURS["lost"], "removed at that step"),
        (COLOURS["output"], "output"),
        (COLOURS["rejected"], "rejected"),
    ]
    body = (
        render_fragment(_FUNNEL_HEAD, holds=counts.invariant_holds(), legend=legend)
        + bar_chart(bars, title="records by stage")
        + render_fragment("<h3>{{ heading }}</h3>", heading="Removed, by reason")
        + table(["reason", "records", "share of input"], reason_rows, numeric=(1, 2))
    )
    if not steps:
        body += note("No pipeline steps recorded.")
    return ReportSection(
        "funnel",
        "Record funnel",
        body,
        "Records entering the run, left after each step, and where the rest went.",
        nav="Funnel",
    )


def _share_bars(counts: Mapping[str, int], colour: str) -> list[Bar]:
    """One bar per key, largest first, labelled with its count and share of the total."""
    total = sum(counts.values())
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [Bar(key, n, colour, text=f"{_n(n)} ({_pct(n, total)})") for key, n in ordered]


def languages_section(manifest: Manifest) -> ReportSection:
    languages = manifest.languages
    if not languages:
        return ReportSection(
            "languages",
            "Language mix",
            note("Language identification not run (no language counts)."),
            nav="Languages",
        )
    total = sum(languages.values())
    bars = _share_bars(languages, COLOURS["lang"])
    return ReportSection(
        "languages",
        "Language mix",
        bar_chart(bars, title="rows per language"),
        f"Output rows per language ({_n(total)} rows).",
        nav="Languages",
    )


_LANGUAGE_PANELS = (
    '<h3>By language</h3><div class="grid">{% for label, rows, chart in panels %}'
    "<figure><figcaption><b>{{ label }}</b> · {{ rows }}</figcaption>{{ chart }}</figure>"
    "{% endfor %}</div>"
)


def lengths_section(stats: LengthStats, manifest: Manifest) -> ReportSection:
    notes: list[Markup] = []
    if stats.missing_files:
        notes.append(note("Data files missing, not counted: " + ", ".join(stats.missing_files)))
    if stats.no_text_files:
        notes.append(note("Data files without a text column: " + ", ".join(stats.no_text_files)))
    if stats.rows == 0:
        body = Markup("").join([*notes, note("No output rows: nothing to measure.")])
        return ReportSection("lengths", "Text length", body, nav="Lengths")
    if stats.rows != manifest.counts.output:
        expected = _n(manifest.counts.output)
        notes.append(note(f"Rows read ({_n(stats.rows)}) differ from the manifest's output ({expected})."))
    span = histogram_range(stats.overall)
    mean = stats.chars / stats.rows
    empty = int(stats.overall[0])
    show_empty = empty > 0
    summary = facts(
        {
            "rows": _n(stats.rows),
            "characters": _n(stats.chars),
            "mean": f"{mean:,.0f}",
            "longest": _n(stats.max_len),
            "empty (media only)": _n(empty),
        }
    )
    body = (
        summary
        + Markup("").join(notes)
        + render_fragment("<h3>{{ heading }}</h3>", heading="All rows")
        + histogram_svg(stats.overall, span, show_empty)
    )
    if not stats.has_language:
        body += note("Per-language histograms: no language column (language identification not run).")
    else:
        ordered = sorted(stats.by_language.items(), key=lambda kv: (-int(kv[1].sum()), str(kv[0])))
        shown, rest = ordered[:MAX_LANGUAGE_PANELS], ordered[MAX_LANGUAGE_PANELS:]
        panels = [(("(no language)" if key is None else key), counts) for key, counts in shown]
        if rest:
            pooled = np.sum([counts for _, counts in rest], axis=0)
            panels.append((f"other ({len(rest)} languages)", pooled))
        cells = [
            (
                _short(label),
                _rows(int(counts.sum())),
                histogram_svg(counts, span, show_empty, width=430, height=170, small=True),
            )
            for label, counts in panels
        ]
        body += render_fragment(_LANGUAGE_PANELS, panels=cells)
    return ReportSection(
        "lengths",
        "Text length",
        body,
        "Characters per output row, on log-scale bins (same bins in every panel).",
        nav="Lengths",
    )


def licences_section(manifest: Manifest) -> ReportSection:
    licenses = manifest.licenses
    if not licenses:
        return ReportSection(
            "licences",
            "Licence mix",
            note("Licence tagging not run (no licence counts)."),
            nav="Licences",
        )
    total = sum(licenses.values())
    bars = _share_bars(licenses, COLOURS["licence"])
    body = bar_chart(bars, title="rows per licence")
    resolved = manifest.license
    if resolved is not None:
        body += facts(
            {
                "dataset licence": resolved.hub_name or resolved.hub_id,
                "use": resolved.use,
                "open": "yes" if resolved.open else "no",
                "share-alike": "yes" if resolved.share_alike else "no",
                "unlicensed rows": _n(resolved.unlicensed),
            }
        )
        body += render_fragment(
            '<p class="expr"><span class="muted">SPDX expression:</span> <code>{{ expression }}</code></p>',
            expression=resolved.expression,
        )
        rows = [
            (
                lic,
                _n(entry.records),
                entry.use,
                "yes" if entry.open else "no",
                "yes" if entry.share_alike else "no",
                entry.hub,
                "yes" if entry.registered else "no",
            )
            for lic, entry in sorted(resolved.licences.items(), key=lambda kv: (-kv[1].records, kv[0]))
        ]
        body += table(
            ["licence", "rows", "use", "open", "share-alike", "Hub id", "in registry"], rows, numeric=(1,)
        )
    return ReportSection(
        "licences", "Licence mix", body, f"Output rows per licence ({_n(total)} rows).", nav="Licences"
    )


def timings_section(manifest: Manifest) -> ReportSection:
    pipeline = manifest.pipeline
    steps = pipeline.steps
    if not steps:
        return ReportSection("timings", "Timings", note("No pipeline steps recorded."))
    step_total = sum(step.seconds for step in steps)
    wall = pipeline.wall_seconds
    bars = [
        Bar(
            step.name,
            step.seconds,
            COLOURS["time"],
            text=f"{step.seconds:.3f} s ({_pct(step.seconds, step_total)})",
        )
        for step in steps
    ]
    rows = [
        (
            step.name,
            f"{step.seconds:.3f}",
            _pct(step.seconds, step_total),
            _pct(step.seconds, wall),
            _n(step.input),
            f"{step.input / step.seconds:,.0f}" if step.seconds > 0 else "–",
        )
        for step in steps
    ]
    lead = (
        f"Wall time {wall:.3f} s over {pipeline.tasks} task(s). Step seconds are summed over tasks, so with "
        "several tasks they can add up to more than the wall time."
    )
    body = bar_chart(bars, title="seconds per step") + table(
        ["step", "seconds", "share of step time", "of wall time", "records in", "records/s"],
        rows,
        numeric=(1, 2, 3, 4, 5),
    )
    return ReportSection("timings", "Timings", body, lead)


# --------------------------------------------------------------------------- stage sections
# Called by the stages (Stage.report_section) with their manifest section; a stage that did not
# run contributes no section.


def pii_report_section(pii: PiiSummary, manifest: Manifest) -> ReportSection:
    """Spans scrubbed per entity type, the operator, documents touched, types checked and not found."""
    total = sum(pii.entities.values())
    found = sorted(((k, v) for k, v in pii.entities.items() if v), key=lambda kv: (-kv[1], kv[0]))
    clean = sorted(set(pii.checked) - {k for k, _ in found})
    body = facts(
        {
            "operator": pii.operator,
            "spans scrubbed": _n(total),
            "documents touched": f"{_n(pii.documents)} ({_pct(pii.documents, manifest.counts.output)})",
            "rules": pii.rules_version or "–",
        }
    )
    body += (
        bar_chart([Bar(k, v, COLOURS["pii"]) for k, v in found], title="PII spans per entity")
        if found
        else note("No personal data found.")
    )
    if clean:
        body += render_fragment(
            '<p class="muted">Also checked, none found: {{ clean|join(", ") }}</p>', clean=clean
        )
    return ReportSection(
        "pii",
        "Personal data scrubbed",
        body,
        "Spans scrubbed per entity type (counts only; values never leave the run).",
        nav="PII",
    )


def quality_report_section(quality: QualitySummary, manifest: Manifest) -> ReportSection:
    """Records checked and dropped per language, with the drops per rule."""
    rows = []
    for language in sorted(set(quality.checked) | set(quality.dropped)):
        per_rule = quality.dropped.get(language, {})
        checked = quality.checked.get(language, 0)
        dropped = sum(per_rule.values())
        rules = ", ".join(f"{rule} {_n(n)}" for rule, n in sorted(per_rule.items(), key=lambda kv: -kv[1]))
        rows.append((language, _n(checked), _n(dropped), _pct(dropped, checked), rules or "–"))
    body = table(["language", "checked", "dropped", "share", "by rule"], rows, numeric=(1, 2, 3))
    return ReportSection(
        "quality", "Quality rules", body, f"Rule set version {quality.rules_version}.", nav="Quality"
    )


def dedup_report_section(dedup: DedupSummary, manifest: Manifest) -> ReportSection:
    """Rendered generically: the dedup summary's shape belongs to the dedup stage, not to the report."""
    data = dedup.model_dump(mode="json") if hasattr(dedup, "model_dump") else dict(dedup)
    rows = []
    for key, value in data.items():
        shown = (
            value
            if isinstance(value, (str, int, float, bool)) or value is None
            else json.dumps(value, ensure_ascii=False, sort_keys=True)
        )
        if isinstance(shown, int) and not isinstance(shown, bool):
            shown = _n(shown)
        rows.append((key, "–" if shown is None else shown))
    return ReportSection("dedup", "Deduplication", table(["field", "value"], rows), nav="Dedup")


def stage_report_sections(manifest: Manifest) -> list[ReportSection]:
    """The sections the manifest's stages add (each stage's ``report_section``), in pipeline order.

    Stages are looked up in the registry by step name; a plugin that is not installed here adds
    nothing (its section stays in the manifest as data).
    """
    from corpus_kit.governance.assemble import manifest_sections

    rendered = (stage.report_section(section, manifest) for _, stage, section in manifest_sections(manifest))
    return [section for section in rendered if section is not None]


# --------------------------------------------------------------------------- page


def render_report(
    manifest: Manifest, stats: LengthStats, stage_sections: Sequence[ReportSection] = ()
) -> str:
    """The page as a string (split from the write so that tests and tools can render without files).

    ``stage_sections`` go after the licences and before the timings, in the order given.
    """
    sections = [
        funnel_section(manifest),
        languages_section(manifest),
        lengths_section(stats, manifest),
        licences_section(manifest),
        *stage_sections,
        timings_section(manifest),
    ]
    seen: set[str] = set()
    for section in sections:
        if not isinstance(section, ReportSection):
            raise TypeError(f"report sections must be ReportSection, not {type(section).__name__}")
        if section.anchor in seen:
            raise ValueError(f"two report sections have the anchor {section.anchor!r}")
        seen.add(section.anchor)
    info = manifest.dataset
    return (
        environment()
        .get_template(TEMPLATE_NAME)
        .render(
            dataset=info,
            pipeline=manifest.pipeline,
            supply=manifest.supply.mode.value if manifest.supply is not None else "not declared",
            rows=_n(manifest.counts.output),
            files=len(manifest.files),
            size=format_size(sum(item.bytes for item in manifest.files)),
            made=info.created_at.strftime("%Y-%m-%d %H:%M %Z").strip(),
            versions=", ".join(f"{k} {v}" for k, v in manifest.pipeline.versions.items()),
            sections=sections,
        )
    )


def write_report(
    output: Path, manifest: Manifest, stage_sections: Sequence[ReportSection] | None = None
) -> Path:
    """Write ``output/report.html`` atomically (a reader never sees half a page) and return its path.

    ``stage_sections=None`` adds :func:`stage_report_sections`; a sequence (even empty) replaces them.
    """
    output = Path(output)
    stats = collect_lengths(output, manifest)
    sections = stage_report_sections(manifest) if stage_sections is None else stage_sections
    page = render_report(manifest, stats, sections)
    path = output / REPORT_NAME
    atomic_write_bytes(path, page.encode("utf-8"))
    return path
