"""The safety stage's normalisation, keyword matching and lexicon files (fast: no pipeline runs).

Normalisation is checked against its definition (``unicodedata`` NFKC + casefold, format characters
removed, OpenCC t2s character by character); matching against hand-made cases and a brute-force
count; lexicon loading against each ``file:line`` problem it must name.
"""

from __future__ import annotations

import gzip
import json
import random
import unicodedata
from functools import cache
from pathlib import Path

import pytest

from corpus_kit.governance.safety import risk_catalogue, safety_policy
from corpus_kit.stages.safety import matcher as matcher_module
from corpus_kit.stages.safety.lexicon import LexiconError, coverage, load_lexicon
from corpus_kit.stages.safety.matcher import WINDOW, Matcher
from corpus_kit.stages.safety.normalise import normalise, normalise_many, normalised_codes, squeeze

REPO = Path(__file__).resolve().parents[1]
HEAD = "name: test lexicon\nversion: '1'\nupdated: 2026-12-01\n"
CSV_HEAD = "# name: test lexicon\n# version: 1\n# updated: 2026-12-01\n"


# -- normalisation against its definition ------------------------------------------------------------


@cache
def _converter():
    import opencc

    return opencc.OpenCC("t2s")


@cache
def _t2s_char(character: str) -> str:
    converted = _converter().convert(character)
    return converted if len(converted) == 1 else character


def reference(text: str) -> str:
    """What normalise() is documented to be. NUL is removed too (documented in normalise.py)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(c for c in text if unicodedata.category(c) != "Cf" and c != "\x00")
    return "".join(_t2s_char(c) for c in text)


_POOLS = [
    [chr(c) for c in range(0x20, 0x7F)],
    [chr(c) for c in range(0x4E00, 0x9FFF)],
    list("體國龍門說話樂與萬們會發車東歲飛鳥魚傳統漢語臺灣"),  # Traditional
    ["\U00021ed5", "\U0002285c", "\U00030ede", "\U0002f800"],  # extension B and G, compatibility
    [chr(c) for c in range(0xFF01, 0xFF5F)],  # full-width ASCII
    [chr(c) for c in range(0xFF61, 0xFFDD)],  # half-width kana and Hangul (ﾞ joins its neighbour)
    [chr(c) for c in range(0x0300, 0x0370)],  # combining marks
    [chr(c) for c in range(0xAC00, 0xAC40)] + [chr(c) for c in range(0x1100, 0x1113)],
    [chr(c) for c in range(0x1161, 0x1176)] + [chr(c) for c in range(0x3131, 0x318F)],  # jamo
    ["😀", "👍🏽", "👨\u200d👩\u200d👧", "🇨🇳", "🏴\U000e0067\U000e0062\U000e007f"],
    ["ﬁ", "ﬂ", "ﬀ", "ß", "ẞ", "İ", "ŉ", "ǰ", "Σ", "ς", "ﷺ", "㍿", "①", "㎏", "℃", "Ⅻ", "½", "²"],
    ["\u200b", "\u200c", "\u200d", "\u00ad", "\ufeff", "\u2060", "\u200e", "\u202e", "\ufe0f"],
    ["\U000e0020", "\U000e0041", "\U000e0001", " ", "\u3000", "\t", "\n", "é", "e\u0301", "-", "。"],
]


def test_normalise_equals_its_definition_on_random_strings() -> None:
    rng = random.Random(20261203)
    texts = ["".join(rng.choice(rng.choice(_POOLS)) for _ in range(rng.randint(0, 24))) for _ in range(4000)]
    for text in texts:
        assert normalise(text) == reference(text), ascii(text)
    assert normalise_many(texts) == [reference(text) for text in texts]


def test_normalise_equals_its_definition_on_the_bundled_samples() -> None:
    texts = []
    with gzip.open(REPO / "samples/demo/open_data_zh.jsonl.gz", "rb") as handle:
        lines = handle.read().splitlines()
    lines += (REPO / "samples/demo/web_en.jsonl").read_bytes().splitlines()
    for line in lines:  # the samples hold broken lines on purpose, for the readers' rejects
        try:
            text = json.loads(line)["text"]
        except (ValueError, KeyError, TypeError):
            continue
        if isinstance(text, str):
            texts.append(text)
    assert len(texts) > 300
    for text in texts:
        assert normalise(text) == reference(text)
        assert normalise(text.upper()) == reference(text.upper())


def test_the_tables_cover_every_code_point_that_normalisation_changes() -> None:
    """Before: tables stopped at U+30000 and t2s looked at the BMP ideographs only, so the tag
    characters (U+E0001, U+E0020-E007F, invisible format characters) stayed inside a term and 357
    Traditional characters of extensions B-G (𡻕 -> 岁) were not converted."""
    for low, high in ((0x32400, 0xE0000), (0xE1000, 0x110000)):
        assert all(unicodedata.category(chr(p)) in ("Cn", "Co") for p in range(low, high, 7))
    assert normalise("敏\U000e0020感\U000e007f") == "敏感"
    assert normalise("\U00021ed5月") == "岁月"
    assert normalise("ｶﾞ") == "ガ" and normalise("ㄱㅏ") == "가"  # one character each, as NFKC says


def test_lone_surrogates_normalise_to_the_replacement_character() -> None:
    assert normalise("a\ud800b\udfff") == "a\ufffdb\ufffd"
    dense, positions = squeeze(normalised_codes("敏\ud800感"))
    assert dense == "敏感" and positions.tolist() == [0, 2]


# -- matching ------------------------------------------------------------------------------------------


def lexicon_file(tmp_path: Path, entries: list[str], name: str = "lex.yaml") -> Path:
    path = tmp_path / name
    path.write_text(HEAD + "terms:\n" + "".join(f"  - {entry}\n" for entry in entries), encoding="utf-8")
    return path


def make_matcher(tmp_path: Path, *entries: str) -> Matcher:
    return Matcher(load_lexicon(lexicon_file(tmp_path, list(entries))).terms)


@pytest.mark.parametrize(
    "text",
    [
        "这里有示例词。",
        "這裡有示例詞。",  # Traditional
        "前示例\u200b词后",  # zero-width space inside
        "前示\u00ad例\u2060词后",  # soft hyphen, word joiner
        "前示\U000e0020例词后",  # a tag character
    ],
)
def test_cjk_term_matches_in_every_written_form(tmp_path: Path, text: str) -> None:
    result = make_matcher(tmp_path, "{term: 示例词, risk: A1a}").scan(text)
    assert result.hits == {"A1a": 1} and result.blocked


@pytest.mark.parametrize("text", ["a ＳＹＮＴＨＥＴＩＣ-ｗｏｒｄ here", "SYNTHETIC-WORD!", "Synthetic-Word"])
def test_latin_term_matches_full_width_and_upper_case(tmp_path: Path, text: str) -> None:
    assert make_matcher(tmp_path, "{term: synthetic-word, risk: A2e}").scan(text).hits == {"A2e": 1}


def test_gap_allows_up_to_its_number_of_separators(tmp_path: Path) -> None:
    matcher = make_matcher(tmp_path, "{term: 示例词, risk: A1d, gap: 2}")
    for text in ("示 例 词", "示  例*词", "示,.例——词", "示例词", "示例\n词"):
        assert matcher.scan(text).hits == {"A1d": 1}, text
    for text in ("示   例词", "示例 , .词", "示例x词"):
        assert matcher.scan(text).hits == {}, text


def test_gap_zero_term_does_not_match_across_a_space(tmp_path: Path) -> None:
    matcher = make_matcher(tmp_path, "{term: 示例词, risk: A1d}")
    assert matcher.scan("示例 词").hits == {} and matcher.scan("示例-词").hits == {}
    assert matcher.scan("示例词").hits == {"A1d": 1}


def test_latin_terms_match_whole_words_only(tmp_path: Path) -> None:
    matcher = make_matcher(tmp_path, "{term: ass, risk: A1f}")
    assert matcher.scan("a class of bass players passed").hits == {}
    assert matcher.scan("ass, he said").hits == {"A1f": 1}
    assert matcher.scan("(ass)").hits == {"A1f": 1}
    assert matcher.scan("ASS.").hits == {"A1f": 1}
    assert matcher.scan("ass1").hits == {}  # a digit continues the word
    assert matcher.scan("示例ass示例").hits == {"A1f": 1}  # next to CJK: a boundary


def test_allow_context_suppresses_only_the_hits_inside_it(tmp_path: Path) -> None:
    matcher = make_matcher(tmp_path, "{term: 示例词, risk: A1f, allow: [示例词典, 《示例词》]}")
    inside = matcher.scan("查示例词典。")
    assert inside.hits == {} and inside.allowed == 1
    both = matcher.scan("查示例词典，又见示例词。")
    assert both.hits == {"A1f": 1} and both.allowed == 1
    assert matcher.scan("《示例词》和《示例词》").allowed == 2
    assert matcher.scan("示例词示例词典").hits == {"A1f": 1}  # the first is outside the context


def test_allow_context_of_a_gap_term(tmp_path: Path) -> None:
    matcher = make_matcher(tmp_path, "{term: 示例词, risk: A1d, gap: 2, allow: [示例词典]}")
    assert matcher.scan("示例词典").hits == {}
    assert matcher.scan("示 例 词典").hits == {"A1d": 1}  # the context itself has no gap


def test_overlapping_terms_and_one_term_under_two_risks_all_count(tmp_path: Path) -> None:
    matcher = make_matcher(
        tmp_path,
        "{term: 示例词, risk: A1a}",
        "{term: 例词语, risk: A1b}",
        "{term: 词, risk: A2a, severity: flag}",
        "{term: 示例词, risk: A3a, severity: flag}",
    )
    result = matcher.scan("这是示例词语")
    assert result.hits == {"A1a": 1, "A1b": 1, "A2a": 1, "A3a": 1}


def test_severity_flag_counts_without_blocking(tmp_path: Path) -> None:
    matcher = make_matcher(tmp_path, "{term: 示例词, risk: A3a, severity: flag}", "{term: 另一词, risk: A1a}")
    flagged = matcher.scan("示例词")
    assert flagged.hits == {"A3a": 1} and flagged.flagged and not flagged.blocked
    both = matcher.scan("示例词，另一词")
    assert both.blocked and both.hits == {"A3a": 1, "A1a": 1}
    clean = matcher.scan("干净的文本")
    assert not clean.flagged and not clean.blocked and clean.hits == {}


def test_a_term_across_the_window_boundary_counts_once(tmp_path: Path) -> None:
    matcher = make_matcher(tmp_path, "{term: 示例词, risk: A1a}")
    filler = ["。"] * (3 * WINDOW)
    # ends at the first boundary, starts on it, straddles the second (twice over), the last one ends the text
    starts = [0, WINDOW - 6, WINDOW - 3, WINDOW, 2 * WINDOW - 2, 2 * WINDOW + 1, 3 * WINDOW - 3]
    for start in starts:
        filler[start : start + 3] = list("示例词")
    text = "".join(filler)
    assert len(text) == 3 * WINDOW
    assert matcher.scan(text).hits == {"A1a": len(starts)}


def test_matching_equals_a_brute_force_count_with_tiny_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows of a few characters (patterns of many lengths) and the default ones agree with
    counting every occurrence, overlaps included."""
    rng = random.Random(7)
    alphabet = "示例词语敏感"
    terms = sorted({"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))) for _ in range(40)})
    codes = sorted(risk_catalogue().risks)
    entries = [f"{{term: {term}, risk: {codes[i % len(codes)]}}}" for i, term in enumerate(terms)]
    texts = ["".join(rng.choice(alphabet + "。") for _ in range(rng.randint(0, 400))) for _ in range(60)]

    def brute(text: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for i, term in enumerate(terms):
            found = sum(text.startswith(term, at) for at in range(len(text)))
            if found:
                code = codes[i % len(codes)]
                counts[code] = counts.get(code, 0) + found
        return counts

    default = make_matcher(tmp_path, *entries)
    monkeypatch.setattr(matcher_module, "MAX_MATCHES_PER_CALL", 12)
    tiny = make_matcher(tmp_path, *entries)
    assert tiny._plain_window[0] == 2  # 12 // 6 lengths
    for text in texts:
        expected = brute(text)
        assert default.scan(text).hits == expected
        assert tiny.scan(text).hits == expected


def test_a_record_with_too_many_matches_is_saturated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over MAX_MATCHES matches the count stops (a lower bound) and the record is blocked under the
    codes it matched, even when the word-boundary check would have excused them all."""
    monkeypatch.setattr(matcher_module, "MAX_MATCHES", 50)
    matcher = make_matcher(tmp_path, "{term: 示例词, risk: A3a, severity: flag}", "{term: ab, risk: A2b}")
    result = matcher.scan("示例词" * 60)
    assert result.saturated and result.blocked and result.hits == {"A3a": 50}
    under = matcher.scan("示例词" * 40)
    assert not under.saturated and not under.blocked and under.hits == {"A3a": 40}
    inside_words = matcher.scan("xab" * 60)  # no whole word, yet too many candidates
    assert inside_words.saturated and inside_words.hits == {"A2b": 1}
    # the budget used up exactly by the first windows: the next one still saturates the record
    monkeypatch.setattr(matcher_module, "MAX_MATCHES_PER_CALL", 30)  # 30-character windows
    windowed = make_matcher(tmp_path, "{term: 示例词, risk: A3a, severity: flag}")
    assert windowed._plain_window == (30, 3)
    exact = windowed.scan("示例词" * 50)
    assert exact.hits == {"A3a": 50} and not exact.saturated
    over = windowed.scan("示例词" * 51)
    assert over.hits == {"A3a": 50} and over.saturated and over.blocked


def test_lone_surrogates_do_not_stop_a_scan(tmp_path: Path) -> None:
    """Before: ahocorasick_rs raised UnicodeEncodeError on '\\ud800' (a str json.loads can make)."""
    matcher = make_matcher(tmp_path, "{term: 示例词, risk: A1a}", "{term: ass, risk: A1f, gap: 1}")
    assert matcher.scan("\ud800").hits == {}
    assert matcher.scan("示例\udfff词 \ud800ass\udc00").hits == {"A1f": 1}
    assert matcher.scan("示例词\ud800").hits == {"A1a": 1}


# -- lexicon files ---------------------------------------------------------------------------------------

ENTRIES = [
    ("示例词", "A1a", "block", [], 0),
    ("Synthetic-Word", "A2e", "flag", [], 0),
    ("示例暴力词", "A1f", "block", ["示例暴力词典", "《示例暴力词》"], 0),
    ("示例恐袭词", "A1d", "block", [], 2),
    ("體育詞", "A3a", "flag", [], 1),
]


def _as_yaml(tmp_path: Path) -> Path:
    lines = [HEAD + "terms:"]
    for term, risk, severity, allow, gap in ENTRIES:
        contexts = ", ".join(allow)
        lines.append(
            f"  - {{term: {term}, risk: {risk}, severity: {severity}, allow: [{contexts}], gap: {gap}}}"
        )
    path = tmp_path / "lex.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _as_table(tmp_path: Path, delimiter: str) -> Path:
    rows = [delimiter.join(("term", "risk", "severity", "allow", "gap"))]
    for term, risk, severity, allow, gap in ENTRIES:
        rows.append(delimiter.join((term, risk, severity, "|".join(allow), str(gap))))
    path = tmp_path / ("lex.tsv" if delimiter == "\t" else "lex.csv")
    path.write_text(CSV_HEAD + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_yaml_csv_and_tsv_load_the_same_terms(tmp_path: Path) -> None:
    loaded = [
        load_lexicon(path)
        for path in (_as_yaml(tmp_path), _as_table(tmp_path, ","), _as_table(tmp_path, "\t"))
    ]
    shapes = [[(t.text, t.risk, t.severity, t.allow, t.gap) for t in lexicon.terms] for lexicon in loaded]
    assert shapes[0] == shapes[1] == shapes[2]
    assert [text for text, *_ in shapes[0]] == [
        "示例词",
        "synthetic-word",
        "示例暴力词",
        "示例恐袭词",
        "体育词",
    ]
    assert shapes[0][2][3] == ("示例暴力词典", "《示例暴力词》")
    assert all(lexicon.name == "test lexicon" and str(lexicon.updated) == "2026-12-01" for lexicon in loaded)
    assert len({lexicon.sha256 for lexicon in loaded}) == 3


def _problems(path: Path) -> list[str]:
    with pytest.raises(LexiconError) as caught:
        load_lexicon(path)
    return caught.value.problems


YAML_PROBLEMS = {
    "unknown risk": ("  - {term: 示例词, risk: A9z}", 6, "risk: 'A9z' is not an Annex A code"),
    "bad severity": ("  - {term: 示例词, risk: A1a, severity: maybe}", 6, "severity: expected block or flag"),
    "gap out of range": (
        "  - {term: 示例词, risk: A1a, gap: 9}",
        6,
        "gap: expected a whole number from 0 to 8",
    ),
    "negative gap": ("  - {term: 示例词, risk: A1a, gap: -1}", 6, "gap: expected a whole number"),
    "context without its term": (
        "  - {term: 示例词, risk: A1a, allow: [示例语]}",
        6,
        "allow: every context must contain the term",
    ),
    "unknown field": ("  - {term: 示例词, risk: A1a, serverity: flag}", 6, "unknown field(s) 'serverity'"),
    "non-mapping entry": ("  - 示例词", 6, "expected a mapping {term, risk"),
    "term too long": (f"  - {{term: {'长' * 257}, risk: A1a}}", 6, "term longer than 256 characters"),
    "term too long once normalised": (
        f"  - {{term: {'ﷺ' * 20}, risk: A1a}}",
        6,
        "term longer than 256 characters once normalised",
    ),
    "term only format characters": ('  - {term: "\\u200b\\u200d", risk: A1a}', 6, "empty once normalised"),
}


@pytest.mark.parametrize("case", list(YAML_PROBLEMS))
def test_yaml_problems_name_their_line(tmp_path: Path, case: str) -> None:
    entry, line, message = YAML_PROBLEMS[case]
    path = tmp_path / "lex.yaml"
    path.write_text(HEAD + "terms:\n  - {term: 正常词, risk: A1b}\n" + entry + "\n", encoding="utf-8")
    problems = _problems(path)
    assert len(problems) == 1 and problems[0].startswith(f"{path}:{line}: ") and message in problems[0]


@pytest.mark.parametrize(
    ("header", "line", "message"),
    [
        ("version: '1'\nupdated: 2026-12-01\n", 1, "missing name"),
        ("name: x\nupdated: 2026-12-01\n", 1, "missing version"),
        ("name: x\nversion: '1'\n", 1, "missing updated"),
        ("name: x\nversion: '1'\nupdated: soon\n", 3, "updated: expected a date"),
        ("name: x\nversion: '1'\nupdated: 2026-12-01\nowner: me\n", 4, "unknown field"),
    ],
)
def test_header_problems_name_their_line(tmp_path: Path, header: str, line: int, message: str) -> None:
    path = tmp_path / "lex.yaml"
    path.write_text(header + "terms:\n  - {term: 示例词, risk: A1a}\n", encoding="utf-8")
    problems = _problems(path)
    assert len(problems) == 1 and problems[0].startswith(f"{path}:{line}: ") and message in problems[0]


def test_updated_with_a_time_of_day_is_its_date(tmp_path: Path) -> None:
    """Before: YAML read it as a datetime, kept as such; lexicon-check crashed subtracting it from
    today's date."""
    path = tmp_path / "lex.yaml"
    path.write_text("name: x\nversion: '1'\nupdated: 2026-12-01 10:30:00\nterms: [{term: 词, risk: A1a}]\n")
    assert str(load_lexicon(path).updated) == "2026-12-01"


def test_terms_given_twice_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    """Before: the second list replaced the first, and pairing its entries with the first list's
    nodes for line numbers raised ValueError (zip strict)."""
    path = tmp_path / "lex.yaml"
    path.write_text(
        HEAD
        + "terms:\n  - {term: 甲词, risk: A1a}\n"
        + "terms:\n  - {term: 乙词, risk: A1a}\n  - {term: 丙词, risk: A1a}\n"
    )
    assert _problems(path) == [f"{path}:6: terms: given a second time (first on line 5); keep one"]


def test_duplicates_are_counted_not_errors(tmp_path: Path) -> None:
    path = lexicon_file(
        tmp_path,
        [
            "{term: 示例词, risk: A1a}",
            "{term: 示例詞, risk: A1a}",
            "{term: ＳＨＯＵＴ, risk: A1a}",
            "{term: shout, risk: A1a}",
            "{term: 示例词, risk: A1b}",
        ],
    )
    lexicon = load_lexicon(path)
    assert lexicon.duplicates == 2 and len(lexicon.terms) == 3
    assert lexicon.record().terms_per_code == {"A1a": 2, "A1b": 1}


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_invalid_utf8_names_the_line_of_the_bad_byte(tmp_path: Path, bom: bytes) -> None:
    """Before: with a byte-order mark the line was counted 3 bytes early (line 5 for line 6)."""
    path = tmp_path / "lex.csv"
    path.write_bytes(bom + CSV_HEAD.encode() + b"term,risk\nok,A1a\nb\xffad,A1a\n")
    assert _problems(path) == [f"{path}:6: not valid UTF-8; save the lexicon as UTF-8"]


CSV_PROBLEMS = {
    "too many fields": ("示例词,A1a,block,,0,extra", 5, "6 fields for 5 columns"),
    "unknown risk": ("示例词,A9z", 5, "risk: 'A9z' is not an Annex A code"),
    "bad severity": ("示例词,A1a,sometimes", 5, "severity: expected block or flag"),
    "gap out of range": ("示例词,A1a,,,12", 5, "gap: expected a whole number from 0 to 8"),
    "context without its term": (
        "示例词,A1a,,别的|示例词典",
        5,
        "allow: every context must contain the term",
    ),
    "after a quoted field over three lines": ('甲词,A1a,,"甲词|\n甲词典|\n乙甲词"\n示例词,A9z', 8, "A9z"),
    "after a term with U+2028 and a form feed": ("甲\u2028词,A1a\n乙\x0c词,A1a\n示例词,A9z", 7, "A9z"),
    "term too long": (f"{'长' * 257},A1a", 5, "term longer than 256 characters"),
}


@pytest.mark.parametrize("case", list(CSV_PROBLEMS))
def test_csv_problems_name_their_line(tmp_path: Path, case: str) -> None:
    """Before: rows after a quoted field over several lines, or after a term holding a character
    str.splitlines() breaks at (U+2028, \\x0c, \\x85), were given the wrong line."""
    row, line, message = CSV_PROBLEMS[case]
    path = tmp_path / "lex.csv"
    path.write_text(CSV_HEAD + "term,risk,severity,allow,gap\n" + row + "\n", encoding="utf-8")
    problems = _problems(path)
    assert len(problems) == 1 and problems[0].startswith(f"{path}:{line}: ") and message in problems[0]


def test_a_tsv_header_problem_does_not_show_the_file_content(tmp_path: Path) -> None:
    path = tmp_path / "lex.tsv"
    path.write_text(CSV_HEAD + "zqxsecretword\tA1a\n", encoding="utf-8")
    problems = _problems(path)
    assert problems[0].startswith(f"{path}:4: header must name term and risk") and "zqx" not in problems[0]


# -- coverage --------------------------------------------------------------------------------------------


def test_coverage_shortfall_per_code_and_in_total(tmp_path: Path) -> None:
    rows = [f"a1a{i:04d},A1a" for i in range(250)] + [f"a1b{i:04d},A1b" for i in range(50)]
    rows += [f"a2a{i:04d},A2a" for i in range(120)] + [f"a3a{i:04d},A3a" for i in range(7)]
    first = tmp_path / "one.csv"
    first.write_text(CSV_HEAD + "term,risk\n" + "\n".join(rows[:300]) + "\n")
    second = tmp_path / "two.csv"  # overlaps the first by 50 A1b terms: counted once
    second.write_text(CSV_HEAD + "term,risk\n" + "\n".join(rows[250:]) + "\n")
    summary = coverage([load_lexicon(first), load_lexicon(second)])
    catalogue, policy = risk_catalogue(), safety_policy()
    assert summary.terms == 427
    assert summary.terms_per_code == {"A1a": 250, "A1b": 50, "A2a": 120, "A3a": 7}
    expected = {}
    for code in catalogue.risks:
        need = catalogue.minimum_for(code)
        have = summary.terms_per_code.get(code, 0)
        if need and have < need:
            expected[code] = need - have
    expected["total"] = policy.minimum_terms - 427
    assert summary.shortfall == expected
    assert (
        summary.shortfall["A1b"] == 150 and summary.shortfall["A2b"] == 100 and "A1a" not in summary.shortfall
    )
    assert "A3a" not in summary.shortfall and not summary.meets_minima


# -- lexicon-check -----------------------------------------------------------------------------------------

SECRET = "zqxsecret"  # every synthetic term starts with it: it must never be printed


def _full_lexicon(path: Path) -> Path:
    """Just over the clause 8.1 minima: 200 per A.1 code, 100 per A.2 code, 10,000 in all."""
    catalogue = risk_catalogue()
    rows, number = [], 0
    for code in catalogue.risks:
        for _ in range(catalogue.minimum_for(code)):
            rows.append(f"{SECRET}{number:05d},{code}")
            number += 1
    while number < safety_policy().minimum_terms:
        rows.append(f"{SECRET}{number:05d},A5a")
        number += 1
    path.write_text(CSV_HEAD + "term,risk\n" + "\n".join(rows) + "\n")
    return path


def _output(result) -> str:
    return result.stdout + result.stderr


def test_lexicon_check_exit_codes_and_never_prints_a_term(cli, tmp_path: Path) -> None:
    full = _full_lexicon(tmp_path / "full.csv")
    small = lexicon_file(
        tmp_path, [f"{{term: {SECRET}a, risk: A1a}}", f"{{term: {SECRET}b, risk: A2e, allow: [x {SECRET}b]}}"]
    )
    for args, code in [
        ([full, "--strict"], 0),
        ([small], 0),
        ([small, "--strict"], 1),
        ([full, small, "--strict"], 0),
    ]:
        for output_format in ("json", "text"):
            result = cli("safety", "lexicon-check", *args, "--format", output_format)
            assert result.exit_code == code, (args, output_format, _output(result)[-2000:])
            assert SECRET not in _output(result)
    payload = json.loads(cli("safety", "lexicon-check", small, "--format", "json").stdout)
    assert payload["ok"] and payload["problems"] == [] and payload["coverage"]["terms"] == 2
    assert payload["lexicons"][0]["terms_per_code"] == {"A1a": 1, "A2e": 1}
    stamped = tmp_path / "stamped.yaml"
    stamped.write_text(
        f"name: x\nversion: '1'\nupdated: 2026-12-01 10:30:00\nterms: [{{term: {SECRET}c, risk: A1a}}]\n"
    )
    for output_format in ("json", "text"):  # before: a crash subtracting a datetime from a date
        assert cli("safety", "lexicon-check", stamped, "--format", output_format).exit_code == 0
    strict = json.loads(cli("safety", "lexicon-check", small, "--strict", "--format", "json").stdout)
    assert not strict["ok"] and strict["coverage"]["shortfall"]["A1a"] == 199


def test_lexicon_check_problems_never_print_a_term(cli, tmp_path: Path) -> None:
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text(
        HEAD
        + "terms:\n"
        + f"  - {{term: {SECRET}1, risk: {SECRET}risk}}\n"  # a term in the risk field
        + f"  - {SECRET}2: A1a\n"  # a term as a key
        + f"  - {{term: {SECRET}3, risk: A1a, {SECRET}4: x}}\n"
        + f"  - {{term: {SECRET}5, risk: A1a, allow: [{SECRET}6]}}\n"
        + f"  - {{term: {SECRET}5, risk: A1a, severity: {SECRET}7}}\n"
        + f"  - {{term: {SECRET}5, risk: A1a, gap: {SECRET}8}}\n"
    )
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text(CSV_HEAD + f"{SECRET}9,A1a\n")  # no header: the first row is taken for one
    swapped = tmp_path / "swapped.csv"
    swapped.write_text(CSV_HEAD + f"term,risk\nA1a,{SECRET}10\n{SECRET}11,A1a,x\n")
    for output_format in ("json", "text"):
        result = cli("safety", "lexicon-check", bad_yaml, bad_csv, swapped, "--format", output_format)
        assert result.exit_code == 1, _output(result)[-2000:]
        assert SECRET not in _output(result), _output(result)
    payload = json.loads(
        cli("safety", "lexicon-check", bad_yaml, bad_csv, swapped, "--format", "json").stdout
    )
    lines = [problem.split(": ", 1)[0] for problem in payload["problems"]]
    assert lines == [
        f"{bad_yaml}:5",
        f"{bad_yaml}:6",
        f"{bad_yaml}:7",
        f"{bad_yaml}:8",
        f"{bad_yaml}:9",
        f"{bad_yaml}:10",
        f"{bad_csv}:4",
        f"{swapped}:5",
        f"{swapped}:6",
    ]
