"""Quality rules: every rule keeps a good document and drops a bad one, in each language it applies to."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus_kit.governance.manifest import Manifest
from corpus_kit.stages import quality
from corpus_kit.stages.quality import SIGNALS, QualityRules, Rule, TextView, evaluate, load_quality_rules
from tests.conftest import make_png, write_jsonl

EN_GOOD = (
    "The city data agency published its quarterly report on public transport this week.\n"
    "Ridership on the metro grew by eight percent compared with the same period last year, "
    "while bus punctuality improved after the new dispatch system was introduced in March.\n"
    "Officials said that the open data catalogue now includes hourly passenger counts for every station, "
    "and that researchers can download the files without registering.\n"
    "The agency also plans to publish anonymised trip data for shared bicycles, which will help planners "
    "understand how residents combine different modes of transport on their daily journeys."
)
ZH_GOOD = (
    "深圳市交通运输局本周发布了第三季度公共交通运行报告，地铁客流同比增长百分之八。\n"
    "报告显示，新的公交调度系统三月上线后，公交准点率明显提升，市民满意度也随之提高。\n"
    "开放数据平台目前已经提供各个地铁站的逐小时客流数据，研究人员无需注册即可下载相关文件。\n"
    "下一步，交通部门还计划发布经过脱敏处理的共享单车出行数据，帮助规划人员了解市民如何组合使用不同的交通方式。"
)
GOOD = {"en": EN_GOOD, "zh-Hans": ZH_GOOD}

# rule id -> language -> drop example
DROPS: dict[str, dict[str, str]] = {
    "min_chars": {"en": "Too short to keep.", "zh-Hans": "太短了。"},
    "dup_lines": {
        "en": EN_GOOD + "\nClick here to subscribe." * 12,
        "zh-Hans": ZH_GOOD + "\n点击这里订阅。" * 12,
    },
    "dup_line_chars": {
        "en": EN_GOOD + ("\nThis sentence is repeated again and again on the page." * 8),
        "zh-Hans": ZH_GOOD + ("\n本页面的这一句话被一遍又一遍地重复出现了很多次。" * 8),
    },
    "dup_paragraphs": {"en": "\n\n".join([EN_GOOD] * 4), "zh-Hans": "\n\n".join([ZH_GOOD] * 4)},
    "bullet_lines": {
        "en": "\n".join("• " + line for line in EN_GOOD.split("\n")),
        "zh-Hans": "\n".join("• " + line for line in ZH_GOOD.split("\n")),
    },
    "ellipsis_lines": {
        "en": "\n".join(line[:60] + "…" for line in EN_GOOD.split("\n")),
        "zh-Hans": "\n".join(line[:20] + "…" for line in ZH_GOOD.split("\n")),
    },
    "lorem_ipsum": {
        "en": EN_GOOD + "\nLorem ipsum dolor sit amet.",
        "zh-Hans": ZH_GOOD + "\nLorem ipsum dolor sit amet.",
    },
    "word_count": {"en": "The report was published this week and it covers public transport in the city."},
    "mean_word_length": {"en": " ".join(["a b c d e f g h i j"] * 8)},
    "symbol_ratio": {"en": EN_GOOD + " " + " ".join(["#tag"] * 40)},
    "alpha_words": {"en": " ".join(str(1000 + i) for i in range(80)) + " station counts"},
    "top_2gram": {"en": "the city " * 80},
    "top_4gram": {"en": "open data for everyone " * 40},
    "dup_5gram": {"en": EN_GOOD + " " + "the agency also plans to publish new data " * 10},
    "dup_10gram": {
        "en": EN_GOOD + " " + "the agency also plans to publish anonymised trip data for shared bicycles " * 4
    },
    "line_punct": {
        "en": "Home page of the municipal data portal with links to every service\n"
        "News and announcements from the agency and its partner organisations\n"
        "Contact the open data team here for questions about datasets and licences"
    },
    "short_lines": {
        "en": "\n".join(["Home", "About us", "News", "Data", "Contact", "Login", EN_GOOD.split("\n")[1]])
    },
    "stop_words": {"en": "Quarterly revenue increased significantly despite volatile markets. " * 10},
    "cjk_share": {"zh-Hans": "数据 " + " ".join(str(i) for i in range(200)) + " station counts online"},
    "mean_line_length": {"zh-Hans": "\n".join(f"栏目{i}：" for i in range(40))},
    "char_13gram_rep": {"zh-Hans": ZH_GOOD + "深圳市交通运输局本周发布了运行报告。" * 30},
    "top_char_4gram": {"zh-Hans": "深圳数据" * 80},
    "line_punct_zh": {
        "zh-Hans": "\n".join(["深圳市政府门户网站首页导航栏目链接", "新闻中心通知公告政策文件解读栏目"] * 4)
    },
}


@pytest.fixture(scope="module")
def rules() -> QualityRules:
    return load_quality_rules()


def rule_for(rules: QualityRules, language: str, rule_id: str) -> Rule:
    return next(rule for rule in rules.for_language(language) if rule.id == rule_id)


def cases(rules: QualityRules) -> list[tuple[str, str]]:
    return [(rule.id, language) for language in GOOD for rule in rules.for_language(language)]


def test_every_rule_has_examples_in_each_language_it_applies_to(rules: QualityRules) -> None:
    for rule_id, language in cases(rules):
        assert language in DROPS.get(rule_id, {}), f"no drop example for {rule_id} in {language}"


@pytest.mark.parametrize(("rule_id", "language"), cases(load_quality_rules()))
def test_rule_keeps_good_and_drops_bad(rules: QualityRules, rule_id: str, language: str) -> None:
    rule = rule_for(rules, language, rule_id)
    assert evaluate(rule, TextView(GOOD[language]))[0], f"{rule_id} dropped the good {language} text"
    passes, value = evaluate(rule, TextView(DROPS[rule_id][language]))
    assert not passes, f"{rule_id} kept the bad {language} text (signal {value})"


def test_good_texts_pass_every_rule_of_their_language(rules: QualityRules) -> None:
    for language, text in GOOD.items():
        view = TextView(text)
        failing = [rule.id for rule in rules.for_language(language) if not evaluate(rule, view)[0]]
        assert failing == []


def test_rule_file_errors_are_explained(tmp_path: Path) -> None:
    bad = tmp_path / "q.yaml"
    bad.write_text(
        "version: '1'\nlanguages: {default: [x]}\nrule_sets: {x: [{id: a, kind: nonsense, max: 1}]}\n"
    )
    with pytest.raises(ValueError, match="unknown kind"):
        load_quality_rules(bad)
    bad.write_text("version: '1'\nlanguages: {en: [x]}\nrule_sets: {x: []}\n")
    with pytest.raises(ValueError, match="default"):
        load_quality_rules(bad)


def test_quality_command_counts_per_rule_and_language(tmp_path: Path, cli) -> None:
    (tmp_path / "img.png").write_bytes(make_png())
    records = [
        {"id": "en-good", "text": EN_GOOD},
        {"id": "zh-good", "text": ZH_GOOD},
        {"id": "en-short", "text": DROPS["min_chars"]["en"]},
        {"id": "zh-menu", "text": DROPS["mean_line_length"]["zh-Hans"]},
        {"id": "en-spam", "text": DROPS["top_2gram"]["en"]},
        {"id": "img", "text": "", "media": [{"type": "image", "path": "img.png"}]},
    ]
    write_jsonl(tmp_path / "in.jsonl", records)
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("name: q\nsteps:\n  - langid: {}\n  - quality: {}\nwrite: {keep_removed: true}\n")
    out = tmp_path / "out"
    assert cli("run", pipeline, "-i", tmp_path / "in.jsonl", "-o", out, "-q").exit_code == 0
    kept = {row["id"]: row for row in pq.read_table(out / "data").to_pylist()}
    assert set(kept) == {"en-good", "zh-good", "img"}  # media samples are not judged by text rules
    assert '"min_chars"' in kept["zh-good"]["quality_signals"]
    manifest = Manifest.read(out / "manifest.json")
    assert manifest.counts.dropped == {
        "quality.min_chars": 1,
        "quality.mean_line_length": 1,
        "quality.top_2gram": 1,
    }
    assert manifest.quality.dropped == {
        "en": {"min_chars": 1, "top_2gram": 1},
        "zh-Hans": {"mean_line_length": 1},
    }
    assert manifest.quality.checked == {"en": 3, "zh-Hans": 2}
    assert manifest.counts.invariant_holds()
    removed = {row["id"] for row in pq.read_table(out / "removed").to_pylist()}
    assert removed == {"en-short", "zh-menu", "en-spam"}


# Texts where the vectorised signals could part from their plain definitions: joiners, underscores,
# numbers that are not digits, astral and combining characters, lone surrogates, the two characters
# whose lowercase str.lower does not give one character at a time (U+0130, U+03A3), odd whitespace.
EDGE_TEXTS = [
    "",
    " ",
    "a",
    "one two one two one two",
    "don't stop-it now’s a-b-c x'-y x--y 'quoted' -dash- __init__ snake_case 1-2 ²³ Ⅻ ½ 4th 2026",
    "ΟΔΟΣ ΣΤΟΝ ΔΡΟΜΟ. ΑΣ'Β ΑΣ.Β the THE The",
    "İstanbul the İİ THE ThE and",
    "\u212aelvin the \u212a",
    "𝐀𝐁𝐂 𝐀𝐁𝐂 𝐀𝐁𝐂 emoji 😀😀 😀 𠀀𠀁𠀀𠀁 the of and",
    "lone \ud800 surrogate \udfff the the",
    "e\u0301cole e\u0301cole combining marks",
    "a\u00a0b\u3000c\u2028d\u0085e\tf\x1cg the",
    "数据" * 50,
    "深圳市 " * 40 + "\n\n\n" + "the of and " * 10,
    "# ... … 。。。 #tag\n• one\n- two…\n\n\n• one\nthree.",
]


def _reference(kind: str, text: str, rule: Rule) -> float:
    """Each signal by its plain definition (strings, sets, Counter), as the stage first computed them."""
    words = quality._WORD.findall(text)
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]

    def ratio(part: float, whole: float) -> float:
        return part / whole if whole else 0.0

    def duplicates(items: list[str]) -> tuple[int, int]:
        seen: set[str] = set()
        count = chars = 0
        for item in items:
            if item in seen:
                count, chars = count + 1, chars + len(item)
            seen.add(item)
        return count, chars

    def ngrams() -> tuple[float, float]:
        units = words if rule.unit == "word" else [c for c in text if not c.isspace()]
        total, n = sum(map(len, units)), rule.n
        if len(units) - n + 1 <= 1 or not total:
            return 0.0, 0.0
        grams = [tuple(units[i : i + n]) for i in range(len(units) - n + 1)]
        counts = Counter(grams)
        most = max(counts.values())
        top = next(sum(map(len, g)) * most for g in grams if counts[g] == most) if most > 1 else 0
        seen: set[tuple[str, ...]] = set()
        covered: set[int] = set()
        for i, gram in enumerate(grams):
            if gram in seen:
                covered.update(range(i, i + n))
            seen.add(gram)
        return top / total, sum(len(units[i]) for i in covered) / total

    han = sum(1 for c in text if re.match(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]", c))
    values = {
        "length_chars": lambda: float(len(text.strip())),
        "word_count": lambda: float(len(words)),
        "mean_word_length": lambda: ratio(sum(map(len, words)), len(words)),
        "symbol_word_ratio": lambda: ratio(
            text.count("#") + sum(text.count(e) for e in quality._ELLIPSIS), len(words)
        ),
        "alphabetic_word_fraction": lambda: ratio(
            sum(any(c.isalpha() for c in w) for w in words), len(words)
        ),
        "stop_word_count": lambda: float(sum(1 for w in words if w.lower() in set(rule.words))),
        "duplicate_line_fraction": lambda: ratio(duplicates(lines)[0], len(lines)),
        "duplicate_line_char_fraction": lambda: ratio(duplicates(lines)[1], sum(map(len, lines))),
        "duplicate_paragraph_fraction": lambda: ratio(duplicates(paragraphs)[0], len(paragraphs)),
        "bullet_line_fraction": lambda: ratio(
            sum(ln.startswith(quality._BULLET) for ln in lines), len(lines)
        ),
        "ellipsis_line_fraction": lambda: ratio(
            sum(ln.endswith(quality._ELLIPSIS) for ln in lines), len(lines)
        ),
        "terminal_punctuation_line_fraction": lambda: ratio(
            sum(ln.endswith(quality._TERMINAL) for ln in lines), len(lines)
        ),
        "short_line_fraction": lambda: ratio(sum(len(ln) < rule.short_chars for ln in lines), len(lines)),
        "phrase_count": lambda: float(sum(text.lower().count(p.lower()) for p in rule.phrases)),
        "cjk_char_fraction": lambda: ratio(han, sum(1 for c in text if not c.isspace())),
        "mean_line_length": lambda: ratio(sum(map(len, lines)), len(lines)),
        "top_ngram_char_fraction": lambda: ngrams()[0],
        "duplicate_ngram_char_fraction": lambda: ngrams()[1],
    }
    assert set(values) == set(SIGNALS)
    return values[kind]()


def _all_rules(rules: QualityRules) -> list[Rule]:
    unique = {
        (r.id, r.kind, r.unit, r.n): r for lang in ("en", "zh-Hans", "ja") for r in rules.for_language(lang)
    }
    return list(unique.values())


def _all_texts() -> list[str]:
    return [*GOOD.values(), *(text for drops in DROPS.values() for text in drops.values()), *EDGE_TEXTS]


def test_words_are_exactly_what_the_word_regex_finds() -> None:
    for text in _all_texts():
        starts, ends = TextView(text).word_spans
        spans = zip(starts.tolist(), ends.tolist(), strict=True)
        assert [text[a:b] for a, b in spans] == quality._WORD.findall(text), repr(text[:40])


def test_every_signal_equals_its_plain_definition(rules: QualityRules) -> None:
    for text in _all_texts():
        view = TextView(text)
        for rule in _all_rules(rules):
            expected = _reference(rule.kind, text, rule)
            assert SIGNALS[rule.kind](view, rule) == pytest.approx(expected, rel=1e-12, abs=0), (
                rule.id,
                text[:40],
            )


def test_ngram_argsort_path_equals_the_packed_sort(
    rules: QualityRules, monkeypatch: pytest.MonkeyPatch
) -> None:
    ngram_rules = [r for r in _all_rules(rules) if "ngram" in r.kind]
    packed = [[SIGNALS[r.kind](TextView(t), r) for r in ngram_rules] for t in _all_texts()]
    monkeypatch.setattr(quality._NGrams, "_PACK_LIMIT", 0)
    assert [[SIGNALS[r.kind](TextView(t), r) for r in ngram_rules] for t in _all_texts()] == packed


def test_hand_counted_signals() -> None:
    # 6 words, 18 characters; "one two" occurs 3 times (6 chars each); the later 2-grams start at
    # words 2, 3, 4 and cover words 2-5: 12 characters
    view = TextView("one two one two one two")
    assert view.ngram_stats("word", 2) == (1.0, 12 / 18)
    # 4-grams: "one two one two" at words 0 and 2 (12 chars x 2, over 18; a share can pass 1)
    assert view.ngram_stats("word", 4) == (24 / 18, 12 / 18)
    # ties go to the n-gram seen first: "aa b" (3 chars x 2) before "c ddd" (4 x 2), of 17
    assert TextView("aa b x c ddd y aa b z c ddd").ngram_stats("word", 2)[0] == 6 / 17
    # characters: whitespace is not a unit; "数据数据数据" has 6, the 2-gram "数据" 3 times
    assert TextView("数据 数据\n数据").ngram_stats("char", 2) == (1.0, 4 / 6)
    stop = frozenset(["the", "and"])
    assert TextView("The THE the thE and-the And's ANd").stop_words(stop) == 5
    # U+0130 and U+03A3 (final sigma) lower word by word
    assert TextView("İ the ΣΑΣ the").stop_words(frozenset(["the", "σας"])) == 3
    assert TextView("ΣΑΣ. the").stop_words(frozenset(["the", "σας"])) == 2
    assert TextView("2026 1-2 x2 ²³ Ⅻ é").alphabetic_words() == 2
