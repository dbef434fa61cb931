"""Make a labelled content-safety set: a synthetic lexicon and a zh/en JSONL corpus with planted hits.

    python benchmarks/make_safety_set.py -o /tmp/safety-set --mb 100 --files 5 --seed 0

Writes ``DIR/lexicon.yaml``, ``DIR/corpus/part-NNNNN.jsonl``, ``DIR/truth.jsonl`` (one line per
planted or decoy record: id, source, kind, risk code, form, severity, the term) and
``DIR/summary.json``.

**The lexicon** (>= 10,000 terms over all 31 Annex A codes: 650 per A.1 code, 320 per A.2 code,
200 per A.3-A.5 code) is made up and clearly synthetic: 70% are random strings of 3-5 Chinese
characters drawn, with a seeded generator, from a fixed pool of rare characters (the simplified
metal, fish and bird radical blocks: element, fish and bird names, all with a Traditional form)
that the demo sample never uses; 30% are English nonsense words such as ``zorblax-quint``, each
word used once. No term is another's substring. 15% of the Chinese terms allow a ``gap`` (1 or
2), 12% of all terms have one or two ``allow`` contexts, 10% have ``severity: flag``.

**The corpus** is ``make_corpus.py``'s text (the demo sample's sentences recombined; no duplicates,
no PII) and is checked clean: after NFKC, case folding and Traditional -> Simplified, no document
holds a pool character or one of the nonsense words, so no term can match it. Then:

* three sources, ``planted-2pct``, ``planted-5pct`` and ``planted-8pct``, each with a multiple of
  100 records (together ``--planted-share`` of the corpus), have exactly 2%, 5% and 8% of their
  records planted; the rest go to make_corpus's clean sources. With the 5% threshold only
  ``planted-8pct`` must be blacklisted (5% is not more than 5%);
* a planted record holds one term of its code in one form, cycling through ``plain``,
  ``zero_width`` (U+200B/U+200D/U+FEFF/U+00AD between characters), ``full_width`` (ＡＢＣ for
  English terms, full-width brackets around Chinese ones), ``traditional`` (OpenCC ``s2t``; only
  terms whose Traditional form differs and converts back with ``t2s``), ``spaced`` (1 to ``gap``
  spaces or punctuation between characters, gap terms only) and ``upper_case`` (English terms);
  forms and codes are crossed so that every (form, code) pair is planted once before any twice;
* decoys (``--decoy-rate`` of the other records, in any source) hold a term inside one of its
  allow contexts (half of them upper-case or Traditional): they must not count.

The output depends only on the options and the demo sample. Needs orjson and opencc.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import make_corpus  # noqa: E402
from make_corpus import DEMO_DIR, MB, ZH_SHARE, CorpusMaker, _valid_records, load_pools  # noqa: E402

VERSION = 1  # of the generator: part of the benchmark's cache key
LEXICON_DATE = "2026-12-03"
TERMS_PER_CLASS = {"A1": 650, "A2": 320, "A3": 200, "A4": 200, "A5": 200}
LATIN_SHARE, GAP_SHARE, ALLOW_SHARE, FLAG_SHARE = 0.30, 0.15, 0.12, 0.10
# simplified metal, fish and bird radicals (钅 鱼 鸟): chemical elements, fish and bird names
POOL_RANGES = ((0x9485, 0x9576), (0x9C7C, 0x9CE3), (0x9E1F, 0x9E6F))
PLANTED_SOURCES = {"planted-2pct": 2, "planted-5pct": 5, "planted-8pct": 8}  # flagged per 100 records
BLACKLISTED = ["planted-8pct"]
FORMS = ("plain", "zero_width", "full_width", "traditional", "spaced", "upper_case")
DECOY_FORMS = ("allow_context", "allow_context_variant")
ZERO_WIDTH = ("\u200b", "\u200d", "\ufeff", "\u00ad")
GAP_SEPARATORS = (" ", "*", "·", "、", "-", "_", "，", "/")
FULL_WIDTH_BRACKETS = (("「", "」"), ("【", "】"), ("（", "）"), ("《", "》"), ("“", "”"), ("『", "』"))
CJK_CONTEXTS = ("{t}研究", "{t}词条", "关于{t}的讨论", "《{t}》标注规范", "{t}测试样例")
LATIN_CONTEXTS = ("{t} studies", "the {t} index", "{t} test vector", "a so-called {t}")
ONSETS = (
    "b", "bl", "br", "d", "dr", "f", "fl", "g", "gl", "gr", "k", "kl", "kr", "pl", "pr", "qu", "sk", "sn",
    "sp", "str", "thr", "tr", "v", "vr", "w", "z", "zh", "zw", "x",
)  # fmt: skip
NUCLEI = ("a", "e", "i", "o", "u", "oo", "ai", "ei", "y")
CODAS = ("x", "zz", "rb", "rk", "nk", "lt", "mp", "sk", "q", "lx", "rz", "ft", "nt", "b", "g", "k")
ODD_LETTERS = set("zxqkv")
LINE_OVERHEAD = 110  # bytes of JSON around a record's text, for planning sizes
_WORD = re.compile(r"[^\W\d_]+")


def _is_cjk(character: str) -> bool:
    return "\u3400" <= character <= "\u9fff" or "\uf900" <= character <= "\ufaff"


def _opencc():
    import opencc

    return opencc.OpenCC("s2t"), opencc.OpenCC("t2s")


# ---------------------------------------------------------------------------------------------
# The lexicon
# ---------------------------------------------------------------------------------------------


@dataclass
class SynthTerm:
    text: str
    code: str
    kind: str  # "cjk" or "latin"
    severity: str = "block"
    gap: int = 0
    allow: list[str] = field(default_factory=list)
    traditional: str | None = None  # s2t form when it differs and converts back


def risk_codes() -> list[str]:
    import yaml

    data = yaml.safe_load((REPO / "rules" / "safety" / "risks.yaml").read_text(encoding="utf-8"))
    return list(data["risks"])


def forbidden_text() -> tuple[set[str], set[str]]:
    """Characters (in every normal form) and casefolded words the clean corpus can hold."""
    _, t2s = _opencc()
    raw: set[str] = set()
    words: set[str] = set()
    extra = [
        *make_corpus.ZH_CONNECTIVES, *make_corpus.EN_CONNECTIVES, *make_corpus.ZH_PII, *make_corpus.EN_PII,
        *(name for name, _ in make_corpus.ZH_SOURCES + make_corpus.EN_SOURCES),
    ]  # fmt: skip
    for text in [*(text for _, text in _valid_records(DEMO_DIR)), *extra]:
        raw.update(text)
        words.update(w.casefold() for w in _WORD.findall(unicodedata.normalize("NFKC", text)))
    return _char_forms(raw, t2s), words


def _char_forms(characters: set[str], t2s: Any) -> set[str]:
    forms = set(characters)
    for character in characters:
        folded = unicodedata.normalize("NFKC", character).casefold()
        forms.update(folded)
        forms.update(t2s.convert(character))
        forms.update(t2s.convert(folded))
    return forms


def character_pool(forbidden: set[str]) -> tuple[list[str], dict[str, str]]:
    """The rare characters terms are made of, and their Traditional forms."""
    s2t, t2s = _opencc()
    pool, traditional = [], {}
    for low, high in POOL_RANGES:
        for point in range(low, high + 1):
            character = chr(point)
            if character in forbidden or unicodedata.normalize("NFKC", character).casefold() != character:
                continue
            if t2s.convert(character) != character:
                continue
            pool.append(character)
            trad = s2t.convert(character)
            if trad != character and t2s.convert(trad) == character and trad not in forbidden:
                traditional[character] = trad
    return pool, traditional


def latin_word(rng: random.Random) -> str:
    word = rng.choice(ONSETS) + rng.choice(NUCLEI) + rng.choice(CODAS)
    if rng.random() < 0.75:
        word += rng.choice(ONSETS) + rng.choice(NUCLEI) + rng.choice(CODAS)
    return word


def make_lexicon(seed: int, forbidden: set[str], vocabulary: set[str]) -> list[SynthTerm]:
    rng = random.Random(f"safety-lexicon-{seed}")
    s2t, t2s = _opencc()
    pool, _ = character_pool(forbidden)
    if len(pool) < 100:
        raise SystemExit(f"only {len(pool)} pool characters are free of the demo text")
    cjk_terms: set[str] = set()
    cjk_parts: set[str] = set()  # every substring of 3+ characters of an accepted Chinese term
    words: set[str] = set()
    terms: list[SynthTerm] = []

    def new_cjk() -> str:
        while True:
            text = "".join(rng.choices(pool, k=rng.choice((3, 3, 4, 4, 5))))
            parts = {text[i:j] for i in range(len(text)) for j in range(i + 3, len(text) + 1)}
            if text in cjk_parts or parts & cjk_terms:
                continue
            cjk_terms.add(text)
            cjk_parts.update(parts)
            return text

    def new_word() -> str:
        while True:
            word = latin_word(rng)
            if len(word) >= 5 and ODD_LETTERS & set(word) and word not in words and word not in vocabulary:
                words.add(word)
                return word

    for code in risk_codes():
        count = TERMS_PER_CLASS[code[:2]]
        latin = round(count * LATIN_SHARE)
        cjk = count - latin
        gaps = round(cjk * GAP_SHARE)
        for index in range(count):
            if index < cjk:
                text = new_cjk()
                term = SynthTerm(text, code, "cjk")
                if index < gaps:
                    term.gap = 1 if index % 4 == 0 else 2
                trad = s2t.convert(text)
                if trad != text and t2s.convert(trad) == text and "".join(map(t2s.convert, trad)) == text:
                    term.traditional = trad
                templates = CJK_CONTEXTS
            else:
                joiner = rng.choice(("-", "-", " ", ""))
                text = new_word() if rng.random() < 0.2 else new_word() + joiner + new_word()
                term = SynthTerm(text, code, "latin")
                templates = LATIN_CONTEXTS
            if rng.random() < FLAG_SHARE:
                term.severity = "flag"
            if rng.random() < ALLOW_SHARE:
                term.allow = [t.format(t=text) for t in rng.sample(templates, rng.choice((1, 2)))]
            terms.append(term)
    return terms


def write_lexicon(terms: list[SynthTerm], path: Path, seed: int) -> None:
    lines = [
        "# SYNTHETIC benchmark lexicon made by benchmarks/make_safety_set.py: random strings of rare",
        "# Chinese characters and English nonsense words. Not a keyword library; do not use it as one.",
        f'name: "bench-safety synthetic lexicon (seed {seed})"',
        f'version: "{VERSION}.{seed}"',
        f"updated: {LEXICON_DATE}",
        "terms:",
    ]
    for term in terms:
        fields = [f"term: {json.dumps(term.text, ensure_ascii=False)}", f"risk: {term.code}"]
        if term.severity != "block":
            fields.append(f"severity: {term.severity}")
        if term.gap:
            fields.append(f"gap: {term.gap}")
        if term.allow:
            fields.append(f"allow: {json.dumps(term.allow, ensure_ascii=False)}")
        lines.append("  - {" + ", ".join(fields) + "}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Planting
# ---------------------------------------------------------------------------------------------


def full_width(text: str) -> str:
    return "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def render(term: SynthTerm, form: str, rng: random.Random) -> str:
    """The term as planted in ``form``."""
    text = term.text
    if form == "plain":
        return text
    if form == "zero_width":
        slots = sorted(rng.sample(range(1, len(text)), k=rng.randint(1, min(3, len(text) - 1))))
        pieces, last = [], 0
        for slot in slots:
            pieces += [text[last:slot], rng.choice(ZERO_WIDTH)]
            last = slot
        return "".join([*pieces, text[last:]])
    if form == "full_width":
        if term.kind == "latin":
            return full_width(text)
        opening, closing = rng.choice(FULL_WIDTH_BRACKETS)
        return opening + text + closing
    if form == "traditional":
        assert term.traditional
        return term.traditional
    if form == "spaced":
        assert term.gap
        widths = [rng.randint(0, term.gap) for _ in range(len(text) - 1)]
        if not any(widths):
            widths[rng.randrange(len(widths))] = rng.randint(1, term.gap)
        out = [text[0]]
        for width, character in zip(widths, text[1:], strict=True):
            out.append("".join(rng.choice(GAP_SEPARATORS) for _ in range(width)) + character)
        return "".join(out)
    if form == "upper_case":
        return text.upper() if rng.random() < 0.7 else text.title()
    raise ValueError(form)


def fits(term: SynthTerm, form: str) -> bool:
    return {
        "traditional": term.traditional is not None,
        "spaced": term.gap > 0,
        "upper_case": term.kind == "latin",
    }.get(form, True)


def render_decoy(term: SynthTerm, form: str, rng: random.Random) -> str:
    context = rng.choice(term.allow)
    if form == "allow_context_variant":
        if term.kind == "latin":
            return context.upper()
        s2t, t2s = _opencc()
        trad = s2t.convert(context)
        if t2s.convert(trad) == context and "".join(map(t2s.convert, trad)) == context:
            return trad
        return full_width(context)
    return context


def insert(text: str, phrase: str, lang: str, rng: random.Random) -> str:
    """``phrase`` inside ``text`` where no letter or digit of a spaced script touches it."""
    if lang == "en":
        spaces = [i + 1 for i, c in enumerate(text) if c == " "]
        if spaces:
            at = rng.choice(spaces)
            return text[:at] + phrase + " " + text[at:]
        return text + "\n" + phrase

    def wordlike(c: str) -> bool:
        return c.isalnum() and not _is_cjk(c)

    slots = [i for i in range(1, len(text)) if not wordlike(text[i - 1]) and not wordlike(text[i])]
    if not slots:
        return text + "\n" + phrase
    at = rng.choice(slots)
    return text[:at] + phrase + text[at:]


# ---------------------------------------------------------------------------------------------
# The set
# ---------------------------------------------------------------------------------------------


def check_clean(texts: list[str], pool: set[str], words: set[str]) -> None:
    """No clean document may hold a pool character or a nonsense word in any normal form."""
    _, t2s = _opencc()
    characters: set[str] = set()
    tokens: set[str] = set()
    for text in texts:
        characters.update(text)
        tokens.update(_WORD.findall(text))
    chars_bad = _char_forms(characters, t2s) & pool
    folded = {w.casefold() for w in tokens} | {unicodedata.normalize("NFKC", w).casefold() for w in tokens}
    words_bad = folded & words
    if chars_bad or words_bad:
        raise SystemExit(
            f"the clean corpus holds {len(chars_bad)} pool characters and {len(words_bad)} lexicon words: "
            "the lexicon would match clean text"
        )


def make_set(
    out: Path,
    mb: float,
    files: int,
    seed: int,
    demo: Path = DEMO_DIR,
    planted_share: float = 0.75,
    decoy_rate: float = 0.02,
) -> dict[str, Any]:
    started = time.perf_counter()
    forbidden, vocabulary = forbidden_text()
    terms = make_lexicon(seed, forbidden, vocabulary)
    pool = {c for term in terms if term.kind == "cjk" for c in term.text}
    pool |= {c for term in terms if term.traditional for c in term.traditional}
    words = {w for term in terms if term.kind == "latin" for w in re.split(r"[- ]", term.text)}
    out.mkdir(parents=True, exist_ok=True)
    write_lexicon(terms, out / "lexicon.yaml", seed)

    maker = CorpusMaker(load_pools(demo), seed)
    rng = random.Random(f"safety-set-{seed}")
    docs: list[tuple[str, str]] = []  # (lang, text)
    size = 0
    while size < mb * MB:
        lang = "zh" if rng.random() < ZH_SHARE else "en"
        text = maker.new_doc(lang, maker.doc_size())
        docs.append((lang, text))
        size += len(text.encode()) + LINE_OVERHEAD
    check_clean([text for _, text in docs], pool, words)

    total = len(docs)
    per_source = 100 * int(total * planted_share / len(PLANTED_SOURCES) / 100)
    if per_source < 100:
        raise SystemExit(
            f"{total} documents are too few for {len(PLANTED_SOURCES)} planted sources of 100 records "
            "each: raise --mb or --planted-share"
        )
    order = list(range(total))
    rng.shuffle(order)
    sources: list[str] = [""] * total
    planted: list[int] = []
    for k, (name, per_hundred) in enumerate(PLANTED_SOURCES.items()):
        members = order[k * per_source : (k + 1) * per_source]
        for index in members:
            sources[index] = name
        planted += rng.sample(members, per_source * per_hundred // 100)
    clean_names = {
        "zh": sorted({name for name, _ in make_corpus.ZH_SOURCES}),
        "en": sorted({name for name, _ in make_corpus.EN_SOURCES}),
    }
    for index in order[len(PLANTED_SOURCES) * per_source :]:
        sources[index] = rng.choice(clean_names[docs[index][0]])
    planted_set = set(planted)
    others = [i for i in range(total) if i not in planted_set]
    decoys = sorted(rng.sample(others, min(len(others), max(31, round(total * decoy_rate)))))

    codes = risk_codes()
    by_code_form = {
        (code, form): [t for t in terms if t.code == code and fits(t, form)]
        for code in codes
        for form in FORMS
    }
    with_allow = {code: [t for t in terms if t.code == code and t.allow] for code in codes}
    truth: list[dict[str, Any]] = []
    texts = [text for _, text in docs]
    for j, index in enumerate(sorted(planted)):
        form, code = FORMS[j % len(FORMS)], codes[(j // len(FORMS)) % len(codes)]
        term = rng.choice(by_code_form[(code, form)])
        phrase = render(term, form, rng)
        texts[index] = insert(texts[index], phrase, docs[index][0], rng)
        truth.append(_truth(index, seed, sources[index], "planted", term, form, phrase))
    for j, index in enumerate(decoys):
        form, code = DECOY_FORMS[j % len(DECOY_FORMS)], codes[(j // len(DECOY_FORMS)) % len(codes)]
        term = rng.choice(with_allow[code])
        phrase = render_decoy(term, form, rng)
        texts[index] = insert(texts[index], phrase, docs[index][0], rng)
        truth.append(_truth(index, seed, sources[index], "decoy", term, form, phrase))
    truth.sort(key=lambda row: row["id"])

    corpus = out / "corpus"
    corpus.mkdir(exist_ok=True)
    for old in corpus.glob("part-*.jsonl"):
        old.unlink()
    licence = {name: lic for name, lic in make_corpus.ZH_SOURCES + make_corpus.EN_SOURCES}
    lines = [
        orjson.dumps(
            {
                "id": record_id(seed, index),
                "text": texts[index],
                "metadata": {"source": sources[index], "license": licence.get(sources[index], "CC-BY-4.0")},
            }
        )
        + b"\n"
        for index in range(total)
    ]
    written = sum(len(line) for line in lines)
    cut, part, handle = 0, 0, open(corpus / "part-00000.jsonl", "wb")  # noqa: SIM115
    try:
        for line in lines:
            if part < files - 1 and cut >= written * (part + 1) / files:
                handle.close()
                part += 1
                handle = open(corpus / f"part-{part:05d}.jsonl", "wb")  # noqa: SIM115
            handle.write(line)
            cut += len(line)
    finally:
        handle.close()
    (out / "truth.jsonl").write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in truth), encoding="utf-8"
    )
    per_code: dict[str, int] = {}
    for term in terms:
        per_code[term.code] = per_code.get(term.code, 0) + 1
    summary = {
        "version": VERSION,
        "seed": seed,
        "mb": mb,
        "files": files,
        "bytes": written,
        "docs": total,
        "lexicon": {
            "terms": len(terms),
            "per_code": per_code,
            "latin": sum(t.kind == "latin" for t in terms),
            "cjk": sum(t.kind == "cjk" for t in terms),
            "with_traditional_form": sum(t.traditional is not None for t in terms),
            "gap": sum(t.gap > 0 for t in terms),
            "allow": sum(bool(t.allow) for t in terms),
            "severity_flag": sum(t.severity == "flag" for t in terms),
            "pool_characters": len({c for t in terms if t.kind == "cjk" for c in t.text}),
        },
        "sources": {
            name: {"records": sources.count(name), "planted": sum(sources[i] == name for i in planted)}
            for name in sorted(set(sources))
        },
        "planted": len(planted),
        "decoys": len(decoys),
        "blacklisted_expected": BLACKLISTED,
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary


def record_id(seed: int, index: int) -> str:
    return f"safety-{seed}-{index:08d}"


def _truth(
    index: int, seed: int, source: str, kind: str, term: SynthTerm, form: str, phrase: str
) -> dict[str, Any]:
    return {
        "id": record_id(seed, index),
        "source": source,
        "kind": kind,
        "code": term.code,
        "form": form,
        "severity": term.severity,
        "term": term.text,
        "planted_as": phrase,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    make_corpus.add_size_arguments(parser)
    parser.add_argument(
        "--planted-share", type=float, default=0.75, help="share of records in the 3 planted sources"
    )
    parser.add_argument(
        "--decoy-rate", type=float, default=0.02, help="share of records holding an allow-context decoy"
    )
    args = parser.parse_args(argv)
    if args.files < 1 or args.mb <= 0 or not 0 < args.planted_share <= 1 or not 0 <= args.decoy_rate < 1:
        parser.error("--files must be >= 1, --mb > 0, --planted-share in (0, 1], --decoy-rate in [0, 1)")
    s = make_set(args.out, args.mb, args.files, args.seed, args.demo, args.planted_share, args.decoy_rate)
    print(
        f"{s['files']} files, {s['bytes']:,} bytes, {s['docs']:,} docs, {s['planted']:,} planted, "
        f"{s['decoys']:,} decoys; lexicon {s['lexicon']['terms']:,} terms; {s['seconds']} s -> {args.out}"
    )


if __name__ == "__main__":
    main()
