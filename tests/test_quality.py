"""Quality rules: every rule keeps a good document and drops a bad one, in each language it applies to."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus_kit.governance.manifest import Manifest
from corpus_kit.stages.quality import QualityRules, Rule, TextView, evaluate, load_quality_rules
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
