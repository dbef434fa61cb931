"""The decontaminate stage and ``decontam-index build``: end to end through the CLI and pipelines."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from corpus_kit.governance.manifest import Manifest
from corpus_kit.stages.decontaminate import grams
from corpus_kit.stages.decontaminate.evals import benchmark_id, load_evals

# evaluation items: made up here, long enough to be matched by 13-unit grams
EN_ITEMS = [
    "Which planet in the outer solar system has the widest rings made of ice and dusty rock fragments?",
    "A farmer plants seven rows of cabbages with twelve cabbages in each row; how many cabbages grow in all?",
    "Explain why copper wires warm up slightly when a strong electric current flows through them for hours.",
]
ZH_ITEMS = [
    "在遥远的山谷里住着一位老木匠，他每天清晨都会去河边挑水浇灌屋后的菜园。",
    "小明把十二个苹果平均分给四位同学，每位同学分到几个苹果？请写出计算过程。",
]
SHORT_EN = "the lantern glows above the quiet harbour"  # 7 words: not matchable
SHORT_ZH_9 = "红色风筝飞过青山顶"  # 9 characters: one whole-item gram
CLEAN = [
    "Rivers carry sediment downstream and build deltas where they meet the sea over many centuries.",
    "城市图书馆周末开放到晚上九点，读者可以在自助机上借还图书。",
    "Planets and rings and farmers and cabbages appear here as single words, never as a long copied run.",
    "老木匠喜欢在山谷里散步，小明喜欢吃苹果，这些词语分散出现而不成片段。",
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def make_evals(folder: Path) -> Path:
    """Two files: ``trivia.jsonl`` (file stem) and ``mixed.jsonl`` whose items name their benchmark."""
    write_jsonl(
        folder / "trivia.jsonl",
        [{"question": EN_ITEMS[0], "choices": ["Saturn", "Mars"], "answer": "A"}, {"question": SHORT_EN}],
    )
    write_jsonl(
        folder / "mixed.jsonl",
        [
            {"benchmark": "Grade School Math!", "question": EN_ITEMS[1], "answer": "84"},
            {"benchmark": "science", "prompt": EN_ITEMS[2], "target": "resistance"},
            {"benchmark": "中文 阅读", "passage": ZH_ITEMS[0], "options": {"a": "挑水", "b": "砍柴"}},
            {"benchmark": "zh-math", "question": ZH_ITEMS[1]},
            {"benchmark": "zh-math", "question": SHORT_ZH_9},
        ],
    )
    return folder


def split_lines(text: str, width: int) -> str:
    return "\n".join(text[i : i + width] for i in range(0, len(text), width))


def make_corpus(path: Path) -> tuple[Path, dict[str, str | None]]:
    """Records and the benchmark each one must be dropped for (None: clean)."""
    en_words = EN_ITEMS[1].split()
    fragment = " ".join(en_words[2:17])  # 15 words from the middle of the item
    records = {
        "clean-en": (CLEAN[0], None),
        "clean-zh": (CLEAN[1], None),
        "clean-en-words": (CLEAN[2], None),
        "clean-zh-words": (CLEAN[3], None),
        "whole-en": (EN_ITEMS[0].upper(), "trivia"),
        "fragment-en": (
            f"Homework notes. Quiz: {fragment} and then we went home early.",
            "grade_school_math",
        ),
        "split-en": ("Lecture\n" + "\n".join(EN_ITEMS[2].split()) + "\nend of lecture.", "science"),
        # Traditional characters, full-width punctuation, cut into lines of 6 characters
        "split-zh": (
            "序言\n"
            + split_lines("在遙遠的山谷裏住着一位老木匠，他每天清晨都會去河邊挑水澆灌屋後的菜園。", 6),
            "中文 阅读",
        ),
        "fragment-zh": ("作业：" + ZH_ITEMS[1][2:18] + "。以上是题目，答案略。", "zh-math"),
        "whole-short-zh": (f"标题：{SHORT_ZH_9}！", "zh-math"),
        "short-en-only": (f"Tonight {SHORT_EN}, said the keeper.", None),
        "short-zh-part": ("红色风筝飞过", None),  # 6 of the 9 characters
    }
    rows = [{"id": key, "text": text} for key, (text, _) in records.items()]
    rows.append({"id": "empty", "text": "   "})
    write_jsonl(path, rows)
    expected = {key: (benchmark_id(name) if name else None) for key, (_, name) in records.items()}
    return path, expected


def data_rows(out: Path) -> list[dict]:
    rows: list[dict] = []
    for file in sorted((out / "data").glob("*.parquet")):
        rows.extend(pq.read_table(file).to_pylist())
    return rows


PIPELINE = (
    "name: t\ndataset: {{name: dec, version: '1'}}\n"
    "supply: {{mode: cooperation, partners: [lab-a], agreement_id: AG-1, permitted_uses: [research], "
    "classification: {{grade: general}}}}\n"
    "steps:\n  - license: {{default: CC-BY-4.0}}\n  - decontaminate: {{evals: [{evals}], action: {action}}}\n"
)


def run_pipeline(cli, tmp_path: Path, corpus: Path, evals: Path, action: str, name: str, *extra: str) -> Path:
    pipeline = tmp_path / f"{name}.yaml"
    pipeline.write_text(PIPELINE.format(evals=evals, action=action))
    out = tmp_path / name
    result = cli("run", pipeline, "-i", corpus, "-o", out, "-q", *extra)
    assert result.exit_code == 0, result.output
    return out


def test_whole_items_fragments_and_short_lines_are_dropped_per_benchmark(tmp_path: Path, cli) -> None:
    evals = make_evals(tmp_path / "evals")
    corpus, expected = make_corpus(tmp_path / "in.jsonl")
    out = run_pipeline(cli, tmp_path, corpus, evals, "drop", "out")
    kept = {row["id"] for row in data_rows(out)}
    assert kept == {key for key, name in expected.items() if name is None} | {"empty"}
    manifest = Manifest.read(out / "manifest.json")
    dropped: dict[str, int] = {}
    for name in expected.values():
        if name:
            dropped[f"decontam.{name}"] = dropped.get(f"decontam.{name}", 0) + 1
    assert manifest.counts.dropped == dropped
    section = manifest.decontamination
    assert section is not None and section.action == "drop" and section.n == 13
    assert set(section.benchmarks) == {
        "trivia",
        "grade_school_math",
        "science",
        "zh-math",
        benchmark_id("中文 阅读"),
    }
    assert section.benchmarks["trivia"].items == 2 and section.benchmarks["trivia"].too_short == 1
    assert section.benchmarks["zh-math"].short == 1 and section.benchmarks["zh-math"].contaminated == 2
    assert section.contaminated == section.dropped == sum(dropped.values())
    assert section.checked == len(expected) and section.not_checked == 1  # the blank record
    assert sorted(item.name for item in section.evals) == ["mixed.jsonl", "trivia.jsonl"]
    assert all(item.kind == "text" for item in section.evals)
    validated = cli("manifest", "validate", out, "--strict")
    assert validated.exit_code == 0, validated.output
    # no evaluation text in what may be published
    assert cli("card", out).exit_code == 0
    for name in ("manifest.json", "report.html", "README.md"):
        published = (out / name).read_text(encoding="utf-8")
        for text in (*EN_ITEMS, *ZH_ITEMS):
            assert text[:20] not in published and "cabbages" not in published and "老木匠" not in published
    assert "Decontamination" in (out / "report.html").read_text() and "Decontamination" in (
        out / "README.md"
    ).read_text(encoding="utf-8")


def test_flag_keeps_records_and_lists_benchmarks(tmp_path: Path, cli) -> None:
    evals = make_evals(tmp_path / "evals")
    corpus, expected = make_corpus(tmp_path / "in.jsonl")
    out = tmp_path / "out"
    result = cli("decontaminate", corpus, "-o", out, "--evals", evals, "--action", "flag", "-q")
    assert result.exit_code == 0, result.output
    rows = {row["id"]: json.loads(row["metadata"]).get("decontam") for row in data_rows(out)}
    assert rows == {key: ([name] if name else None) for key, name in expected.items()} | {"empty": None}
    manifest = Manifest.read(out / "manifest.json")
    assert manifest.counts.dropped == {}
    assert manifest.decontamination.flagged == sum(1 for name in expected.values() if name)
    assert manifest.decontamination.dropped == 0


def test_hash_index_gives_the_same_result_as_the_text(tmp_path: Path, cli) -> None:
    evals = make_evals(tmp_path / "evals")
    corpus, _ = make_corpus(tmp_path / "in.jsonl")
    index = tmp_path / "shared" / "evals.ckdi"
    built = cli("decontam-index", "build", evals, "-o", index)
    assert built.exit_code == 0, built.output
    raw = index.read_bytes()
    for text in (*EN_ITEMS, *ZH_ITEMS):
        assert text.encode()[:24] not in raw and b"cabbages" not in raw
    assert not list(index.parent.glob(".*tmp"))
    by_text = run_pipeline(cli, tmp_path, corpus, evals, "drop", "by-text")
    by_index = run_pipeline(cli, tmp_path, corpus, index, "drop", "by-index")
    text_manifest = Manifest.read(by_text / "manifest.json")
    index_manifest = Manifest.read(by_index / "manifest.json")
    assert [f.sha256 for f in text_manifest.files] == [f.sha256 for f in index_manifest.files]
    assert text_manifest.counts == index_manifest.counts
    assert [item.kind for item in index_manifest.decontamination.evals] == ["index"]
    assert text_manifest.decontamination.benchmarks == index_manifest.decontamination.benchmarks
    # the index's own arrays are the text's, benchmark by benchmark
    from_text, _ = load_evals([str(evals)], None)
    from_index, _ = load_evals([str(index)], None)
    assert sorted(from_text) == sorted(from_index)
    for name in from_text:
        assert np.array_equal(from_text[name].hashes, from_index[name].hashes)


def test_a_corrupt_truncated_or_foreign_index_is_refused(tmp_path: Path, cli) -> None:
    evals = make_evals(tmp_path / "evals")
    corpus, _ = make_corpus(tmp_path / "in.jsonl")
    index = tmp_path / "evals.ckdi"
    assert cli("decontam-index", "build", evals, "-o", index).exit_code == 0
    raw = index.read_bytes()
    flipped = bytearray(raw)
    flipped[-5] ^= 0x40
    header_end = raw.index(b"}", 40)
    cases = {
        "truncated.ckdi": (raw[:-8], "truncated or corrupt"),
        "flipped.ckdi": (bytes(flipped), "do not match their sha256"),
        "header.ckdi": (raw[: header_end - 3] + b"!" + raw[header_end - 2 :], "corrupt index header"),
        "short.ckdi": (raw[:30], "no header"),
    }
    for name, (content, message) in cases.items():
        bad = tmp_path / name
        bad.write_bytes(content)
        result = cli("decontaminate", corpus, "-o", tmp_path / f"out-{name}", "--evals", bad, "-q")
        assert result.exit_code == 2, (name, result.output)
        assert message in result.output and str(bad) in result.output, (name, result.output)
        assert len(result.output.strip().splitlines()) == 1
    foreign = tmp_path / "foreign.ckdi"
    foreign.write_bytes(b"\x00\x01not an index at all")
    result = cli("decontaminate", corpus, "-o", tmp_path / "out-f", "--evals", foreign, "-q")
    assert result.exit_code == 2 and "unknown format" in result.output


def test_bad_evaluation_files_stop_the_run_with_file_and_line(tmp_path: Path, cli) -> None:
    corpus, _ = make_corpus(tmp_path / "in.jsonl")
    good = json.dumps({"question": EN_ITEMS[0]})
    cases = {
        "broken.jsonl": (f"{good}\n{{not json at all: secret-eval-text\n", ":2: not valid JSON"),
        "array.jsonl": (f"{good}\n\n[1, 2]\n", ":3: not a JSON object"),
        "nofields.jsonl": ('{"label": 3}\n{"id": "x"}\n', "no item has text in the fields used"),
        "empty.jsonl": ("\n\n", "no items"),
        "latin1.jsonl": (b'{"question": "caf\xe9 secret-eval-text"}\n', ":1: not valid JSON"),
        "bad.parquet": (b"PAR1 this is not parquet PAR1", "not a readable Parquet file"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        out = tmp_path / f"out-{name}"
        result = cli("decontaminate", corpus, "-o", out, "--evals", path, "-q")
        assert result.exit_code == 2, (name, result.output)
        assert message in result.output and name in result.output, (name, result.output)
        assert "secret-eval-text" not in result.output
        assert not (out / "manifest.json").exists()
    missing = cli("decontaminate", corpus, "-o", tmp_path / "o", "--evals", tmp_path / "nope.jsonl", "-q")
    assert missing.exit_code == 2 and "no such file or folder" in missing.output
    (tmp_path / "emptydir").mkdir()
    empty = cli("decontaminate", corpus, "-o", tmp_path / "o", "--evals", tmp_path / "emptydir", "-q")
    assert empty.exit_code == 2 and "no evaluation file in this folder" in empty.output
    built = cli("decontam-index", "build", tmp_path / "broken.jsonl", "-o", tmp_path / "x.ckdi")
    assert built.exit_code == 2 and "broken.jsonl:2" in built.output
    assert not (tmp_path / "x.ckdi").exists()


def test_parquet_evals_named_fields_and_the_benchmark_field(tmp_path: Path, cli) -> None:
    import pyarrow as pa

    evals = tmp_path / "evals"
    evals.mkdir()
    pq.write_table(
        pa.table(
            {
                "benchmark": ["alpha", None],
                "body": [EN_ITEMS[0], ZH_ITEMS[0]],
                "question": [EN_ITEMS[2], EN_ITEMS[1]],
            }
        ),
        evals / "parq-set.parquet",
    )
    corpus = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"id": "a", "text": EN_ITEMS[0]},
            {"id": "b", "text": ZH_ITEMS[0]},
            {"id": "c", "text": EN_ITEMS[2]},
        ],
    )
    out = tmp_path / "out"
    result = cli("decontaminate", corpus, "-o", out, "--evals", evals, "--fields", "body", "-q")
    assert result.exit_code == 0, result.output
    manifest = Manifest.read(out / "manifest.json")
    # only `body` counts; the row without a benchmark falls back to the file stem
    assert manifest.counts.dropped == {"decontam.alpha": 1, "decontam.parq-set": 1}
    assert manifest.decontamination.fields == ["body"]
    assert {row["id"] for row in data_rows(out)} == {"c"}
    # an index built with other fields is refused when the step names its own
    index = tmp_path / "body.ckdi"
    assert cli("decontam-index", "build", evals, "-o", index, "--fields", "body").exit_code == 0
    clash = cli(
        "decontaminate", corpus, "-o", tmp_path / "o2", "--evals", index, "--fields", "question", "-q"
    )
    assert clash.exit_code == 2 and "built with fields body" in clash.output


def test_worker_counts_give_the_same_output(tmp_path: Path, cli) -> None:
    evals = make_evals(tmp_path / "evals")
    corpus = tmp_path / "in"
    for part in range(3):
        rows = []
        for i in range(80):
            text = CLEAN[i % 4] + f" record {part}-{i}."
            if i % 7 == 0:
                text += " " + (EN_ITEMS[i % 3] if i % 2 else ZH_ITEMS[i % 2])
            rows.append({"id": f"r{part}-{i}", "text": text})
        write_jsonl(corpus / f"part-{part}.jsonl", rows)
    outputs = []
    for workers in (1, 2):
        out = tmp_path / f"out{workers}"
        result = cli(
            "decontaminate", corpus, "-o", out, "--evals", evals, "--workers", workers, "--keep-removed", "-q"
        )
        assert result.exit_code == 0, result.output
        manifest = Manifest.read(out / "manifest.json")
        outputs.append(([f.sha256 for f in manifest.files], manifest.counts, manifest.decontamination))
        outputs.append([(f.path, f.sha256) for folder in manifest.restricted for f in folder.files])
    assert outputs[0] == outputs[2] and outputs[1] == outputs[3] and outputs[1]
    assert sum(outputs[0][1].dropped.values()) == 3 * len([i for i in range(80) if i % 7 == 0])


def test_grams_do_not_depend_on_slices_line_breaks_or_script_form(monkeypatch: pytest.MonkeyPatch) -> None:
    item, _ = grams.item_grams(EN_ITEMS[0])
    assert item.size == len(EN_ITEMS[0].split()) - 12
    text = ("filler words " * 40_000) + "\n".join(EN_ITEMS[0].split()) + " tail " + ZH_ITEMS[0] * 3
    whole = np.sort(np.concatenate(list(grams.text_grams(text, (13, 9)))))
    monkeypatch.setattr(grams, "SLICE_CHARS", 1000)
    sliced = np.sort(np.concatenate(list(grams.text_grams(text, (13, 9)))))
    assert np.array_equal(whole, sliced)
    assert np.isin(item, whole).all()
    # the same gram count as units allow: 13-grams plus 9-grams over every unit
    units = sum(ids.size for ids in grams.text_units(text))
    assert whole.size == (units - 12) + (units - 8)
    trad, _ = grams.item_grams("在遙遠的山谷裏住着一位老木匠，他每天清晨都會去河邊挑水澆灌屋後的菜園。")
    simp, _ = grams.item_grams(ZH_ITEMS[0])
    assert np.array_equal(trad, simp)
    # a word is one unit, each Han character is one unit; punctuation separates nothing further
    short, units_short = grams.item_grams("Ｇｒａｄｅ-school 数学题！")
    assert units_short == 5 and short.size == 0


def test_the_line_by_line_normalisation_equals_the_safety_stage_s() -> None:
    """grams.normalised_codes takes the library path per line; the result must be normalise's."""
    import random

    from corpus_kit.stages.safety.normalise import normalised_codes

    rng = random.Random(7)
    alphabet = list("abXZ 中文繁體…ﬁß\u0301\u0308\n\u1100\u1161\u11a8ｶﾞ①Ａ\u200b\ufeffİΣς.,，。\ud800e\r\t")
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        assert np.array_equal(grams.normalised_codes(text), normalised_codes(text)), repr(text)


def test_short_items_match_only_as_a_whole_item_gram(tmp_path: Path, cli) -> None:
    evals = write_jsonl(
        tmp_path / "short.jsonl",
        [{"question": "one two three four five six seven eight nine"}, {"question": "alpha beta gamma"}],
    )
    corpus = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"id": "whole", "text": "Quiz: One, two, three, four, five, six, seven, eight, nine!"},
            {"id": "part", "text": "one two three four five six seven eight and more"},
            {"id": "tiny", "text": "alpha beta gamma"},
        ],
    )
    out = tmp_path / "out"
    assert cli("decontaminate", corpus, "-o", out, "--evals", evals, "-q").exit_code == 0
    assert {row["id"] for row in data_rows(out)} == {"part", "tiny"}
    row = Manifest.read(out / "manifest.json").decontamination.benchmarks["short"]
    assert (row.short, row.too_short, row.grams, row.contaminated) == (1, 1, 1, 1)


def test_benchmark_ids_are_safe() -> None:
    assert benchmark_id("Grade School Math!") == "grade_school_math"
    assert benchmark_id("../../etc/passwd") == "etc_passwd"
    assert benchmark_id("   ") == "unnamed"
    assert len(benchmark_id("x" * 500)) == 64
    chinese = {benchmark_id(name) for name in ("中文阅读", "中文 阅读理解", "高考数学")}
    assert len(chinese) == 3 and all(re.fullmatch(r"benchmark-[0-9a-f]{8}", name) for name in chinese)
    assert re.fullmatch(r"cmmlu-[0-9a-f]{8}", benchmark_id("CMMLU 中文"))
