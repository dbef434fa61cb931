"""The run report is published beside datasets: it must be complete, self-contained and free of
record content, and it must render in a real browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from markupsafe import Markup
from PIL import Image
from typer.testing import CliRunner

from corpus_kit.catalog import report
from corpus_kit.catalog.report import (
    N_BINS,
    Bar,
    ReportSection,
    bar_chart,
    collect_lengths,
    facts,
    note,
    render_fragment,
    render_report,
    stage_report_sections,
    table,
    write_report,
)
from corpus_kit.cli import app
from corpus_kit.governance.manifest import Manifest
from tests.conftest import skip_unless_required

ROOT = Path(__file__).resolve().parents[1]
SVG_NS = 'xmlns="http://www.w3.org/2000/svg"'


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    """The demo dataset, built once for the module (as ``corpus-kit demo -o DIR`` does)."""
    out = tmp_path_factory.mktemp("report") / "demo"
    result = CliRunner().invoke(app, ["demo", "-o", str(out), "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    manifest = Manifest.model_validate_json((out / "manifest.json").read_text())
    return out, manifest


@pytest.fixture(scope="module")
def demo_report(demo: tuple[Path, Manifest]) -> tuple[Path, Manifest, str]:
    out, manifest = demo
    path = write_report(out, manifest)
    return path, manifest, path.read_text(encoding="utf-8")


def test_report_is_self_contained_and_shows_every_section(demo_report: tuple[Path, Manifest, str]) -> None:
    path, manifest, page = demo_report
    assert path == path.parent / "report.html" and path.is_file()
    assert not (path.parent / "report.html.tmp").exists()
    # nothing is fetched: no remote (or any) scripts, stylesheets, images, fonts or imports
    assert not re.search(r"<script[^>]*\bsrc=|<link\b|<img\b|<iframe\b|@import|url\(", page, re.I)
    assert "http://" not in page.replace(SVG_NS, "") and "https://" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, re.I)

    for heading in ("Record funnel", "Language mix", "Text length", "Personal data scrubbed", "Licence mix"):
        assert f"<h2>{heading}</h2>" in page
    assert "<h2>Timings</h2>" in page and "input = output + dropped + rejected holds" in page
    # funnel: every stage with the records it passed on, every drop reason with its count
    for step in manifest.pipeline.steps:
        assert re.search(rf">after {re.escape(step.name)}</text>.*?>{step.output:,}</text>", page)
        assert re.search(
            rf'<td class="">{re.escape(step.name)}</td><td class="num">{step.seconds:.3f}<', page
        )
    for reason, count in {**manifest.counts.dropped}.items():
        assert re.search(rf'<td class="">{re.escape(reason)}</td><td class="num">{count:,}</td>', page)
        assert f"{reason} {count:,}" in page  # beside the funnel bar of the step that dropped them
    assert f"rejected {manifest.counts.rejected}" in page
    assert f">{manifest.counts.input:,}</text>" in page
    for code, rows in manifest.languages.items():
        assert re.search(rf">{re.escape(code)}</text>.*?>{rows:,} \(", page)
        assert f"<b>{code}</b>" in page  # its own length histogram
    for licence, rows in manifest.licenses.items():
        assert f">{licence}</text>" in page and f'<td class="">{licence}</td><td class="num">{rows:,}' in page
    for entity, spans in manifest.pii.entities.items():
        assert re.search(rf">{entity}</text>.*?>{spans}</text>", page)
    # a stage that did not run adds no section (the funnel shows which steps ran)
    assert '<section id="quality">' not in page and '<section id="dedup">' not in page
    nav = re.search(r"<nav>(.*?)</nav>", page).group(1)
    assert re.findall(r'href="#(\w+)"', nav) == [
        "funnel",
        "languages",
        "lengths",
        "licences",
        "safety",
        "pii",
        "tokens",
        "timings",
    ]
    assert re.findall(r'<section id="(\w+)">', page) == re.findall(r'href="#(\w+)"', nav)
    # the length histogram counted every output row
    assert f"<dt>rows</dt><dd>{manifest.counts.output:,}</dd>" in page


def test_report_holds_no_record_text_ids_or_planted_pii(
    demo: tuple[Path, Manifest], demo_report: tuple[Path, Manifest, str]
) -> None:
    out, manifest = demo
    page = demo_report[2]
    labels = json.loads((ROOT / "samples/demo/labels.json").read_text())
    planted = [v for label in labels.values() for vs in (label.get("pii_values") or {}).values() for v in vs]
    assert len(planted) >= 40
    assert [value for value in planted if value in page] == []
    assert [record_id for record_id in labels if record_id in page] == []
    rows = pq.read_table(out / manifest.files[0].path, columns=["id", "text"]).to_pylist()
    texts = [row["text"] for row in rows if len(row["text"]) >= 30][:20]
    assert len(texts) >= 10
    assert [text[:30] for text in texts if text[:30] in page] == []
    assert [row["id"] for row in rows if row["id"] and row["id"] in page] == []


def test_report_escapes_user_strings_and_notes_missing_sections(
    demo_report: tuple[Path, Manifest, str],
) -> None:
    manifest = demo_report[1]
    hostile = "<script>alert('x')</script>"
    data = manifest.model_dump(mode="json")
    data["dataset"]["name"] = "evil <script>alert('x')"  # a name is one path component: no '/'
    data["counts"]["dropped"] = {f"quality.{hostile}": manifest.counts.dropped["license.unknown"]}
    data["licenses"] = {"LicenseRef-<b>&co": manifest.counts.output}
    data["license"] = data["pii"] = data["quality"] = None
    data["languages"] = {}
    data["dedup"] = {"mode": "exact&near", "documents": 20000, "clusters": 12345, "largest_cluster": 2}
    data["pipeline"]["steps"].insert(1, {"name": "dedup"})  # a section is shown for a step that ran
    edited = Manifest.model_validate(data)
    stats = report.LengthStats()
    page = render_report(edited, stats, stage_report_sections(edited))
    assert "<script" not in page and "<b>&co" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "LicenseRef-&lt;b&gt;&amp;co" in page
    for missing in ("Language identification not run", "No output rows"):
        assert missing in page
    assert '<section id="pii">' not in page and 'href="#pii"' not in page  # PII did not run
    # dedup is rendered generically from whatever the dedup stage records
    assert "<h2>Deduplication</h2>" in page and "exact&amp;near" in page and "12,345" in page


HOSTILE = "<script>alert(1)</script> | x |"
HOSTILE_NAME = HOSTILE.replace("</", "<")  # a dataset name is one path component: no '/'


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def test_hostile_strings_are_escaped_in_the_report_and_the_card(
    demo: tuple[Path, Manifest], tmp_path: Path
) -> None:
    from huggingface_hub import DatasetCard

    out = tmp_path / "hostile"
    shutil.copytree(demo[0], out)
    data = json.loads((out / "manifest.json").read_text())
    data["dataset"]["name"] = f"evil {HOSTILE_NAME}"
    data["dataset"]["description"] = f"about {HOSTILE}"
    reason = f"license.{HOSTILE}"

    def rename(dropped: dict[str, int]) -> dict[str, int]:
        return {reason if key == "license.unknown" else key: n for key, n in dropped.items()}

    data["counts"]["dropped"] = rename(data["counts"]["dropped"])
    for step in data["pipeline"]["steps"]:
        step["dropped"] = rename(step["dropped"])
    data["sources"][0]["uri"] = f"corpus-kit:{HOSTILE}.jsonl"
    (out / "manifest.json").write_text(json.dumps(data))
    manifest = Manifest.model_validate(data)

    page = write_report(out, manifest).read_text()
    assert "<script" not in page
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt; | x |"
    assert "<h1>evil &lt;script&gt;alert(1)&lt;script&gt; | x | " in page
    assert f'<p class="sub">about {escaped}</p>' in page
    assert f'<td class="">license.{escaped}</td>' in page  # the drop reason, as HTML text

    result = CliRunner().invoke(app, ["card", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    text = (out / "README.md").read_text()
    body = text.split("\n---\n", 1)[1]
    assert "<script" not in body
    in_markdown = "&lt;script&gt;alert(1)&lt;/script&gt; \\| x \\|"
    assert "# evil &lt;script&gt;alert(1)&lt;script&gt; \\| x \\|" in body
    assert f"about {in_markdown}" in body
    assert f"license.{in_markdown}: 8" in body and f"corpus-kit:{in_markdown}.jsonl" in body
    # the escaped pipes do not split table cells: every row keeps its table's column count
    tables = [line for line in body.splitlines() if line.startswith("| ")]
    assert [line for line in tables if "alert" in line and _unescaped_pipes(line) not in (5, 6)] == []
    # the front matter is YAML data, not Markdown: the name round-trips unchanged
    assert DatasetCard.load(out / "README.md").data.pretty_name == f"evil {HOSTILE_NAME}"


def test_stage_sections_go_in_the_nav_and_the_page_in_order(demo: tuple[Path, Manifest]) -> None:
    out, manifest = demo
    stats = collect_lengths(out, manifest)
    sections = [
        ReportSection(
            "wordcount",
            "Word <count>",
            table(["language", "words"], [("en", "1,234"), ("<i>", "5")], numeric=(1,)),
            lead="Words per <language>.",
            nav="Words",
        ),
        ReportSection(
            "toxicity",
            "Toxicity",
            facts({"flagged": "12", "model": "<m>"})
            + bar_chart([Bar("<b>x", 3, "#123456")], title="t<")
            + note("<not> run"),
        ),
        ReportSection(
            "custom",
            "Custom",
            render_fragment("<p>{{ who }} and {{ trusted }}</p>", who=HOSTILE, trusted=Markup("<em>ok</em>")),
        ),
    ]
    page = render_report(manifest, stats, sections)
    nav = re.search(r"<nav>(.*?)</nav>", page).group(1)
    expected = ["funnel", "languages", "lengths", "licences", "wordcount", "toxicity", "custom", "timings"]
    assert re.findall(r'href="#(\w+)"', nav) == expected
    assert re.findall(r'<section id="(\w+)">', page) == expected
    assert '<a href="#wordcount">Words</a><a href="#toxicity">Toxicity</a><a href="#custom">Custom</a>' in nav
    assert '<h2>Word &lt;count&gt;</h2><p class="lead">Words per &lt;language&gt;.</p><table>' in page
    assert '<td class="">&lt;i&gt;</td><td class="num">5</td>' in page
    assert "<dt>model</dt><dd>&lt;m&gt;</dd>" in page and '<p class="note">&lt;not&gt; run</p>' in page
    assert ">&lt;b&gt;x</text>" in page and 'aria-label="t&lt;"' in page
    assert "<p>&lt;script&gt;alert(1)&lt;/script&gt; | x | and <em>ok</em></p>" in page
    assert "<script" not in page
    # the report adds no stage section itself: the caller passes them
    assert '<section id="pii">' not in page
    assert [section.anchor for section in stage_report_sections(manifest)] == ["safety", "pii", "tokens"]
    # a plain str body is shown as text
    plain = render_report(manifest, stats, [ReportSection("plain", "Plain", "<b>bold</b>")])  # type: ignore[arg-type]
    assert "&lt;b&gt;bold&lt;/b&gt;</section>" in plain
    with pytest.raises(ValueError, match="anchor"):
        ReportSection("two words", "x", Markup(""))
    with pytest.raises(ValueError, match="'timings'"):
        render_report(manifest, stats, [ReportSection("timings", "Again", Markup(""))])


def test_stage_report_sections_follow_the_pipeline_steps(demo: tuple[Path, Manifest], tmp_path: Path) -> None:
    out = tmp_path / "copy"
    shutil.copytree(demo[0], out)
    data = demo[1].model_dump(mode="json")
    data["quality"] = {"rules_version": "q1", "checked": {"en": 4}, "dropped": {"en": {"quality.short": 1}}}
    data["dedup"] = {"mode": "exact", "documents": 4, "clusters": 1, "largest_cluster": 2}
    data["pipeline"]["steps"].insert(1, {"name": "dedup"})  # read, dedup, safety, ..., tokens, quality, write
    data["pipeline"]["steps"].insert(-1, {"name": "quality"})
    edited = Manifest.model_validate(data)
    assert [s.anchor for s in stage_report_sections(edited)] == [
        "dedup",
        "safety",
        "pii",
        "tokens",
        "quality",
    ]
    # write_report adds the built-in stage sections by default; an explicit list replaces them
    page = write_report(out, edited).read_text()
    stages = ["dedup", "safety", "pii", "tokens", "quality"]
    expected = ["funnel", "languages", "lengths", "licences", *stages, "timings"]
    assert re.findall(r'<section id="(\w+)">', page) == expected
    assert "<h2>Quality rules</h2>" in page and "Rule set version q1." in page
    page = write_report(out, edited, stage_sections=[]).read_text()
    assert re.findall(r'<section id="(\w+)">', page) == [
        "funnel",
        "languages",
        "lengths",
        "licences",
        "timings",
    ]


def test_report_on_an_empty_dataset(tmp_path: Path) -> None:
    source = tmp_path / "empty.jsonl"
    source.write_text("")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["convert", str(source), "-o", str(out), "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    manifest = Manifest.model_validate_json((out / "manifest.json").read_text())
    assert manifest.counts.output == 0
    page = write_report(out, manifest).read_text()
    assert "No output rows: nothing to measure." in page and '<section id="pii">' not in page


def test_length_histogram_reads_only_text_and_language_in_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = ["", "a", "abc", "x" * 15, "字" * 1500, None, "hello world"]
    languages = ["und", "en", None, "en", "zh-Hans", "en", None]
    table = pa.table({"id": [f"r{i}" for i in range(7)], "text": texts, "language": languages})
    (tmp_path / "data").mkdir()
    pq.write_table(table, tmp_path / "data/a.parquet")
    pq.write_table(table.drop_columns(["language"]), tmp_path / "data/b.parquet")
    files = [SimpleNamespace(path="data/a.parquet"), SimpleNamespace(path="data/b.parquet")]
    files.append(SimpleNamespace(path="data/missing.parquet"))
    columns_read: list[list[str]] = []
    original = pq.ParquetFile.iter_batches

    def spy(self: pq.ParquetFile, *args: object, **kwargs: object):
        columns_read.append(list(kwargs["columns"]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    monkeypatch.setattr(report, "BATCH_ROWS", 2)
    stats = collect_lengths(tmp_path, SimpleNamespace(files=files))  # type: ignore[arg-type]

    assert columns_read == [["text", "language"], ["text"]]
    assert stats.missing_files == ["data/missing.parquet"] and stats.has_language
    assert stats.rows == 14 and stats.max_len == 1500
    assert stats.chars == 2 * (1 + 3 + 15 + 1500 + 11)
    # bins: empty (and null text) | [1,2) | [2,5) | [10,20) | [10,20) | [1000,2000)
    expected = {0: 4, 1: 2, 2: 2, 4: 4, 10: 2}
    assert {i: int(n) for i, n in enumerate(stats.overall) if n} == expected and len(stats.overall) == N_BINS
    per_language = {key: {i: int(n) for i, n in enumerate(v) if n} for key, v in stats.by_language.items()}
    assert per_language == {"und": {0: 1}, "en": {1: 1, 4: 1, 0: 1}, None: {2: 1, 4: 1}, "zh-Hans": {10: 1}}


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run_chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless", "--disable-gpu", "--no-sandbox", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}",
    ]  # fmt: skip
    return subprocess.run([browser, *flags, *args], capture_output=True, text=True, timeout=90, check=True)


def test_report_renders_in_headless_chromium(demo_report: tuple[Path, Manifest, str], tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        skip_unless_required("no chromium binary on PATH (apt-get install chromium) to render report.html")
    path = demo_report[0]
    png = tmp_path / "report.png"
    _run_chromium(
        browser, tmp_path / "profile", "--window-size=1200,2400", f"--screenshot={png}", path.as_uri()
    )
    assert png.is_file()
    with Image.open(png) as image:
        assert image.size == (1200, 2400)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50  # text, bars in several colours, antialiasing
    background = max(colours)[0] / (1200 * 2400)
    assert background < 0.9  # not a blank page
    dom = _run_chromium(browser, tmp_path / "profile", "--dump-dom", path.as_uri()).stdout
    assert "<h2>Record funnel</h2>" in dom and "<svg" in dom
