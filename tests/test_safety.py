"""The safety stage end to end: the column, drops, the clause 5.1 blacklist, the manifest block, the
policy rules on real runs, publication, and that no matched term leaves the restricted places."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus_kit.governance.manifest import Manifest
from tests.conftest import write_jsonl

REPO = Path(__file__).resolve().parents[1]
LEXICON = REPO / "rules" / "safety" / "synthetic_lexicon.yaml"
# terms of the synthetic lexicon (A1a block, A1g flag); the allow context of 示例暴力词 is 示例暴力词典
BLOCK_TERM, FLAG_TERM = "示例颠覆词", "示例谣言词"


def sources_corpus(path: Path, shares: dict[str, int], per_source: int = 100) -> Path:
    """``per_source`` records per source, of which ``shares[source]`` hold the block term."""
    records = []
    for source, flagged in shares.items():
        for index in range(per_source):
            text = f"{source} 第{index}条记录，内容平常。record {index} of {source}."
            if index < flagged:
                text += f" 这里有{BLOCK_TERM}。"
            records.append({"id": f"{source}-{index}", "text": text, "metadata": {"source": source}})
    return write_jsonl(path, records)


def table(out: Path) -> list[dict]:
    rows = []
    for path in sorted((out / "data").glob("*.parquet")):
        rows += pq.read_table(path, columns=["id", "safety"]).to_pylist()
    return rows


def test_sources_over_the_threshold_are_blacklisted_and_carried_across_runs(tmp_path: Path, cli) -> None:
    corpus = sources_corpus(tmp_path / "in.jsonl", {"two": 2, "five": 5, "eight": 8, "clean": 0})
    blacklist = tmp_path / "blacklist.yaml"
    out = tmp_path / "out"
    result = cli("safety", corpus, "-o", out, "--lexicon", LEXICON, "--blacklist", blacklist, "-q")
    assert result.exit_code == 0, result.output
    manifest = Manifest.read(out / "manifest.json")
    safety = manifest.safety
    assert safety is not None
    # 5 % is not more than 5 %: only the 8 % source goes, every one of its records
    assert safety.blacklisted_sources == ["eight"]
    assert manifest.counts.dropped == {"safety.A1a": 7, "safety.source": 100}
    assert safety.dropped == manifest.counts.dropped
    shares = {row.source: (row.documents, row.flagged, row.blacklisted, row.reason) for row in safety.sources}
    assert shares == {
        "clean": (100, 0, False, None),
        "eight": (100, 8, True, "share"),
        "five": (100, 5, False, None),
        "two": (100, 2, False, None),
    }
    assert (
        safety.flagged == 15 and safety.flagged_by_code == {"A1a": 15} and safety.hits_by_code == {"A1a": 15}
    )
    assert safety.technical.model_dump() == {
        "documents": 293,
        "checked": 293,
        "checked_share": 1.0,
        "flagged": 0,
        "pass_rate": 1.0,
    }
    rows = table(out)
    assert len(rows) == manifest.counts.output == 293
    assert all(json.loads(row["safety"]) == {"risks": {}, "flagged": False} for row in rows)
    assert "eight" in blacklist.read_text()
    # next month the same source sends clean records: the blacklist still keeps them out
    again = sources_corpus(tmp_path / "next.jsonl", {"eight": 0, "clean": 0}, per_source=20)
    out2 = tmp_path / "out2"
    result = cli("safety", again, "-o", out2, "--lexicon", LEXICON, "--blacklist", blacklist, "-q")
    assert result.exit_code == 0, result.output
    second = Manifest.read(out2 / "manifest.json")
    assert second.counts.dropped == {"safety.source": 20}
    assert {row.source: row.reason for row in second.safety.sources} == {"clean": None, "eight": "list"}


def test_flag_keeps_records_marks_them_and_a_kept_blacklisted_source_is_an_error(tmp_path: Path, cli) -> None:
    records = [
        {"id": "block", "text": f"正文{BLOCK_TERM}和{BLOCK_TERM}", "metadata": {"source": "s"}},
        {"id": "flag", "text": f"正文{FLAG_TERM}", "metadata": {"source": "s"}},
        {"id": "allowed", "text": "一本示例暴力词典", "metadata": {"source": "s"}},
        *({"id": f"c{i}", "text": f"普通的第{i}条", "metadata": {"source": "s"}} for i in range(7)),
    ]
    corpus = write_jsonl(tmp_path / "in.jsonl", records)
    out = tmp_path / "out"
    result = cli("safety", corpus, "-o", out, "--lexicon", LEXICON, "--action", "flag", "-q")
    assert result.exit_code == 0, result.output
    columns = {row["id"]: json.loads(row["safety"]) for row in table(out)}
    assert columns["block"] == {"risks": {"A1a": 2}, "flagged": True, "source_blacklisted": True}
    assert columns["flag"]["risks"] == {"A1g": 1}
    assert columns["allowed"]["risks"] == {}
    manifest = Manifest.read(out / "manifest.json")
    assert manifest.counts.output == 10 and not manifest.counts.dropped
    assert manifest.safety.allowed_hits == 1 and manifest.safety.blacklisted_present == 10
    assert manifest.safety.technical.pass_rate == 0.8
    findings = json.loads(cli("manifest", "validate", out, "--format", "json").output)
    rules = {finding["rule"] for finding in findings["manifests"][0]["findings"]}
    assert "CK136" in rules


def test_drop_takes_block_hits_only_and_the_most_hit_code_names_the_reason(tmp_path: Path, cli) -> None:
    records = [
        {"id": "two-codes", "text": f"{BLOCK_TERM} 示例分裂词 示例分裂词", "metadata": {"source": f"s{i}"}}
        for i in range(1)
    ]
    records += [{"id": "flag-only", "text": FLAG_TERM, "metadata": {"source": "t"}}]
    records += [{"id": f"c{i}", "text": f"普通 {i}", "metadata": {"source": "t"}} for i in range(40)]
    out = tmp_path / "out"
    corpus = write_jsonl(tmp_path / "in.jsonl", records)
    result = cli("safety", corpus, "-o", out, "--lexicon", LEXICON, "--source-threshold", "1.0", "-q")
    assert result.exit_code == 0, result.output
    manifest = Manifest.read(out / "manifest.json")
    assert manifest.counts.dropped == {"safety.A1c": 1}
    assert {row["id"] for row in table(out)} >= {"flag-only"}
    assert manifest.safety.technical.flagged == 1


def test_the_same_output_for_any_worker_count_and_removed_records_keep_their_reason(
    tmp_path: Path, cli
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for part in range(3):
        sources_corpus(
            inputs / f"part-{part}.jsonl", {f"p{part}a": 2 + part * 3, f"p{part}b": 1}, per_source=50
        )
    outputs = {}
    for workers in (1, 2):
        out = tmp_path / f"out{workers}"
        args = [
            "safety",
            inputs,
            "-o",
            out,
            "--lexicon",
            LEXICON,
            "--workers",
            workers,
            "--keep-removed",
            "-q",
        ]
        result = cli(*args)
        assert result.exit_code == 0, result.output
        manifest = Manifest.read(out / "manifest.json")
        outputs[workers] = (
            manifest.counts,
            manifest.safety.sources,
            manifest.safety.blacklisted_sources,
            table(out),
        )
    assert outputs[1] == outputs[2]
    counts, _, blacklisted, _ = outputs[1]
    assert blacklisted == ["p1a", "p2a"]  # 10 % and 16 %; p0a has 4 %
    assert counts.dropped == {"safety.A1a": 2 + 1 + 1 + 1, "safety.source": 100}
    removed = pq.read_table(next((tmp_path / "out2" / "removed").rglob("*.parquet"))).to_pylist()
    assert removed and all(
        json.loads(row["metadata"]).get("filter_reason", "").startswith("safety.") for row in removed
    )


def test_records_without_text_are_not_screened(tmp_path: Path, cli) -> None:
    from tests.conftest import make_png, write_tar

    shard = write_tar(
        tmp_path / "media.tar",
        [("a.png", make_png(seed=1)), ("b.png", make_png(seed=2)), ("b.txt", "普通的图片说明".encode())],
    )
    out = tmp_path / "out"
    result = cli("safety", shard, "-o", out, "--lexicon", LEXICON, "-q")
    assert result.exit_code == 0, result.output
    manifest = Manifest.read(out / "manifest.json")
    assert manifest.safety.not_screened == 1 and manifest.safety.screened == 1
    assert manifest.safety.technical.checked_share == 0.5
    assert sorted(row["safety"] is None for row in table(out)) == [False, True]


def test_a_pipeline_for_model_training_warns_until_assessed_and_is_not_published(tmp_path: Path, cli) -> None:
    corpus = sources_corpus(tmp_path / "in.jsonl", {"a": 0}, per_source=30)
    (tmp_path / "p.yaml").write_text(
        "name: t\ndataset: {name: screened, version: '1'}\n"
        "supply: {mode: open, permitted_uses: [research, model_training], classification: {grade: general}}\n"
        f"steps:\n  - safety: {{lexicon: [{LEXICON}]}}\n  - license: {{default: CC-BY-4.0}}\n"
        "  - pii: {}\n"
    )
    out = tmp_path / "out"
    result = cli("run", tmp_path / "p.yaml", "-i", corpus, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    report = json.loads(cli("manifest", "validate", out, "--strict", "--format", "json").output)
    assert sorted(f["rule"] for f in report["manifests"][0]["findings"]) == ["CK131", "CK134"]
    refused = cli("publish", out, "--to", tmp_path / "catalog", "--visibility", "public")
    assert refused.exit_code == 1
    assert "content-safety assessment" in refused.output and "CK131" in refused.output
    assert not (tmp_path / "catalog" / "screened" / "data").exists()
    card_only = cli("publish", out, "--to", tmp_path / "catalog", "--visibility", "public", "--card-only")
    assert card_only.exit_code == 0, card_only.output


def test_bad_lexicons_stop_the_run_before_anything_is_read(tmp_path: Path, cli) -> None:
    corpus = sources_corpus(tmp_path / "in.jsonl", {"a": 0}, per_source=3)
    bad = tmp_path / "bad.csv"
    bad.write_text("# name: n\n# version: 1\n# updated: 2026-12-01\nterm,risk\nfine,A1a\nwrong,B7x\n")
    result = cli("safety", corpus, "-o", tmp_path / "out", "--lexicon", bad, "-q")
    assert result.exit_code == 2
    assert f"{bad}:6" in result.output and "wrong" not in result.output
    missing = cli("safety", corpus, "-o", tmp_path / "out", "--lexicon", tmp_path / "nope.yaml", "-q")
    assert missing.exit_code == 2 and "not found" in missing.output
    assert not (tmp_path / "out" / "manifest.json").exists()


@pytest.mark.parametrize("action", ["drop", "flag"])
def test_no_matched_term_or_text_leaves_the_restricted_places(tmp_path: Path, cli, action: str) -> None:
    """Terms of the lexicon and the text around them appear only in data/ and removed/ (which hold the
    records), never in stdout, the manifest, the report, the card or the blacklist."""
    terms = ["zqxplanted-alpha", "示例植入词乙"]
    lexicon = tmp_path / "lexicon.yaml"
    lexicon.write_text(
        "name: planted\nversion: '1'\nupdated: 2026-12-01\nterms:\n"
        f"  - {{term: {terms[0]}, risk: A1f}}\n  - {{term: {terms[1]}, risk: A2e, gap: 1}}\n"
    )
    records = [
        {"id": f"r{i}", "text": f"前文 {terms[i % 2]} 后文secret-context-{i}", "metadata": {"source": "x"}}
        for i in range(4)
    ] + [{"id": f"c{i}", "text": "clean text", "metadata": {"source": "y"}} for i in range(4)]
    corpus = write_jsonl(tmp_path / "in.jsonl", records)
    out = tmp_path / "out"
    blacklist = tmp_path / "bl.yaml"
    result = cli(
        "safety", corpus, "-o", out, "--lexicon", lexicon, "--action", action, "--blacklist", blacklist
    )
    assert result.exit_code == 0, result.output
    card = cli("card", out)
    assert card.exit_code == 0, card.output
    validate = cli("manifest", "validate", out)
    lexicon_check = cli("safety", "lexicon-check", lexicon, "--format", "json")
    texts = {
        "stdout": result.output + card.output + validate.output + lexicon_check.output,
        "blacklist": blacklist.read_text(),
    }
    for path in out.rglob("*"):
        if path.is_file() and path.parts[len(out.parts)] not in ("data", "removed"):
            texts[str(path)] = path.read_bytes().decode("utf-8", "replace")
    assert "Content Safety" in (out / "README.md").read_text()
    assert "safety" in (out / "report.html").read_text()
    leaks = [
        (where, needle)
        for where, text in texts.items()
        for needle in [*terms, "secret-context", "植入"]
        if needle in text
    ]
    assert leaks == []


def test_the_manifest_stays_small_when_every_record_names_its_own_source(tmp_path: Path, cli) -> None:
    records = [
        {
            "id": f"r{i}",
            "text": f"第{i}条" + (BLOCK_TERM if i % 60 == 0 else ""),
            "metadata": {"source": f"s{i}"},
        }
        for i in range(1_200)
    ]
    out = tmp_path / "out"
    result = cli("safety", write_jsonl(tmp_path / "in.jsonl", records), "-o", out, "--lexicon", LEXICON, "-q")
    assert result.exit_code == 0, result.output
    safety = Manifest.read(out / "manifest.json").safety
    assert safety.sources_total == 1_200 and len(safety.sources) == 1_000
    assert safety.blacklisted_total == 20 and len(safety.blacklisted_sources) == 20
    assert all(row.blacklisted for row in safety.sources[:20]) and not safety.sources[20].blacklisted


def test_a_record_over_the_match_cap_is_flagged_saturated_and_blocked(tmp_path: Path, cli) -> None:
    from corpus_kit.stages.safety.matcher import MAX_MATCHES

    records = [
        # every match is a term inside a longer word (not a whole word), but more of them than the cap
        {
            "id": "contexts",
            "text": "xsynthetic violence termx " * (MAX_MATCHES + 10),
            "metadata": {"source": "a"},
        },
        {"id": "terms", "text": f"{FLAG_TERM} " * (MAX_MATCHES + 10), "metadata": {"source": "b"}},
        *({"id": f"c{i}", "text": "普通", "metadata": {"source": "c"}} for i in range(3)),
    ]
    corpus = write_jsonl(tmp_path / "in.jsonl", records)
    flagged = tmp_path / "flag"
    assert cli("safety", corpus, "-o", flagged, "--lexicon", LEXICON, "--action", "flag", "-q").exit_code == 0
    columns = {row["id"]: json.loads(row["safety"]) for row in table(flagged)}
    # not read to its end, a record is flagged under the codes of what it matched, at least once each
    assert columns["contexts"] == {
        "risks": {"A1f": 1},
        "flagged": True,
        "saturated": True,
        "source_blacklisted": True,
    }
    assert columns["terms"]["saturated"] and columns["terms"]["risks"]["A1g"] > 0
    assert Manifest.read(flagged / "manifest.json").safety.saturated == 2
    dropped = tmp_path / "drop"
    args = ["safety", corpus, "-o", dropped, "--lexicon", LEXICON, "--source-threshold", "1", "-q"]
    assert cli(*args).exit_code == 0
    # a flag-severity term over the cap is blocked all the same
    assert Manifest.read(dropped / "manifest.json").counts.dropped == {"safety.A1f": 1, "safety.A1g": 1}


def test_source_names_cannot_hide_characters_in_the_manifest_report_or_blacklist(tmp_path: Path, cli) -> None:
    spoof = "good\u202eevil\nline\x00"
    records = [{"id": f"r{i}", "text": f"{BLOCK_TERM}", "metadata": {"source": spoof}} for i in range(3)]
    blacklist = tmp_path / "bl.yaml"
    out = tmp_path / "out"
    corpus = write_jsonl(tmp_path / "in.jsonl", records)
    assert (
        cli("safety", corpus, "-o", out, "--lexicon", LEXICON, "--blacklist", blacklist, "-q").exit_code == 0
    )
    shown = "good\ufffdevil\ufffdline\ufffd"
    safety = Manifest.read(out / "manifest.json").safety
    assert safety.blacklisted_sources == [shown] and safety.sources[0].source == shown
    assert "\u202e" not in (out / "report.html").read_text() and "\u202e" not in blacklist.read_text()
    # the blacklist file read back keeps the source out on the next run
    again = cli(
        "safety", corpus, "-o", tmp_path / "again", "--lexicon", LEXICON, "--blacklist", blacklist, "-q"
    )
    assert again.exit_code == 0
    assert Manifest.read(tmp_path / "again" / "manifest.json").counts.dropped == {"safety.source": 3}
