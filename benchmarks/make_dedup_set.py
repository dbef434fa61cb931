"""Make a labelled dedup benchmark set: distinct zh/en originals, exact and near copies, hard negatives.

    pip install ".[bench]"        # Django 5.2: its catalogs, docstrings and comments are part of the text
    python benchmarks/make_dedup_set.py -o /tmp/dedup_set --mb 100 --files 5 --seed 0
    python benchmarks/make_dedup_set.py -o /tmp/dedup_set --mb 100 --stats   # + similarity report

Writes ``DIR/part-00000.jsonl`` ... with records ``{"id", "text", "metadata": {"source", "license"}}`` and
``DIR/labels.json`` mapping every id to ``{"kind", "cluster", "lang", ...}``:

* ``original`` (~80% of documents; cluster = its own id): new text, Chinese for ~60% of the bytes and
  English for ~40%, 300 B - 20 KB (log-normal, mean ~4 KB). About 12% of them carry a header and a
  footer/disclaimer ("boilerplate") of their own, 30-60% of their length.
* ``exact_dup`` (~5%; cluster = the original's id): a copy of an earlier original, written later in the
  input (often in a later file). 40% are byte-identical; the rest differ only by whitespace (extra spaces
  and tabs, line breaks doubled or turned into CRLF, ideographic spaces), ASCII case (English) or
  full-width/half-width ASCII forms (Chinese). ``normalize()`` (NFKC, lower case, whitespace runs -> one
  space) maps every exact copy onto its original's text; ``noise`` lists what was applied.
* ``near_dup`` (~10%; cluster = the original's id): 2-5% of the original's characters (Chinese) or words
  (English) edited at random positions: substitutions (50%), insertions (25%) and deletions (25%),
  60% of the edits one character/word long, 40% a span of 2-6. ``edit_rate`` is the share edited;
  30% of near copies also carry the exact copies' noise.
* ``hard_negative`` (~5%; cluster = its own id, so it must be kept): new text wrapped in the very same
  header and footer as an earlier original with boilerplate (``boilerplate_of``); the shared text makes
  30-60% of the hard negative's length as planned (``boilerplate_share``, measured: 0.30-0.65). Each
  original lends its boilerplate to at most one hard negative.

Where the text comes from: order-2 Markov chains (back-off to order 1 at states with a single
continuation half of the time, and at any state 4% of the time) trained on characters (Chinese) and
words (English) of the demo sample's valid records (``samples/demo``, via ``make_corpus.load_pools``)
and of Django 5.2: the zh_Hans/zh_Hant message catalogs of core and contrib apps (msgstr, Chinese),
their msgids, and prose paragraphs of Django's docstrings and comments (English). Numbers are
redrawn. No other text is used. The output depends only on ``--seed`` (and on the Django 5.2 release
installed). Needs orjson and Django; ``--stats`` also needs numpy.

``--stats`` measures, after normalize(): that every exact copy normalises to its original; the Jaccard
similarity between each near copy and its original for character 3-, 4-, 5-gram sets (Chinese) and word
(``\\w+``) 2-, 3-, 5-gram sets (English); the same for hard negatives against the original whose
boilerplate they share; and how distinct the originals are, on character 5-grams (zh) and word 3-grams
(en): 2,000 random same-language pairs; for 2,000 sampled originals, the most similar other original (a
120-permutation MinHash signature of every original ranks them, the 20 best are checked exactly); and
every pair that MinHash LSH (40 bands of 3 rows: found with P 0.93 at Jaccard 0.4, 0.995 at 0.5) puts
together, checked exactly. On the 100 MB set: generation ~25 s, report ~75 s.
"""

from __future__ import annotations

import argparse
import ast
import gettext
import random
import re
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_corpus import (  # noqa: E402
    _EN_SENT,
    _HAN,
    _ZH_SENT,
    DEMO_DIR,
    EN_SOURCES,
    MB,
    ZH_SOURCES,
    _mu_for_mean,
    add_size_arguments,
    load_pools,
)

MIN_DOC, MAX_DOC, MEAN_DOC = 300, 20_000, 4_000
DOC_SIGMA = 0.9
ZH_SHARE = 0.60  # of the originals' bytes
EXACT_RATE, NEAR_RATE, HARD_NEG_RATE = 0.05, 0.10, 0.05  # of documents
TEMPLATED_RATE = 0.12  # originals with their own header/footer (the hard negatives' sources)
BOILERPLATE_SHARE = (0.30, 0.60)
EDIT_RATE = (0.02, 0.05)
RESERVOIR = 4_000  # earlier originals that copies are drawn from
LINE_OVERHEAD = 130  # bytes of JSON around the text, for planning sizes
NGRAMS = {"zh": (3, 4, 5), "en": (2, 3, 5)}  # characters for zh, words for en
DISTINCT_N = {"zh": 5, "en": 3}

START, END = "\x02", "\x03"
_PLACEHOLDER = re.compile(r"%\(\w+\)[sdrif]|%[sdrif]|\{\w*\}|<[^>]+>|&\w+;")
_ZH_UNIT = re.compile(r"[A-Za-z0-9]+(?:\.[0-9]+)?%?|\S")
_DIGITS = re.compile(r"\d+")
_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]")
_WORD = re.compile(r"\w+")
_WS = re.compile(r"\s+")
_TO_FULLWIDTH = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}
_TO_HALFWIDTH = str.maketrans({"，": ",", "：": ":", "；": ";", "！": "!", "？": "?", "（": "(", "）": ")"})
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

ZH_DISCLAIMER_HEADS = ["免责声明：", "特别声明：", "版权声明：", "郑重声明：", "温馨提示："]
ZH_COPYRIGHT = ["版权所有 © {year} {site}", "© {year} {site} 保留所有权利", "主办单位：{site}（{year}）"]
EN_DISCLAIMER_HEADS = ["Disclaimer: ", "Legal notice: ", "Terms of use: ", "Please note: ", "Notice: "]
EN_COPYRIGHT = [
    "Copyright © {year} {site}. All rights reserved.",
    "© {year} {site}",
    "Published by {site}, {year}",
]


def normalize(text: str) -> str:
    """NFKC, lower case, whitespace runs -> one space (what every exact copy agrees with its original on)."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def shingles(text: str, lang: str, n: int) -> set[str]:
    """Character n-grams (zh) or ``\\w+`` word n-grams (en) of ``normalize(text)``."""
    norm = normalize(text)
    if lang == "zh":
        return {norm[i : i + n] for i in range(max(1, len(norm) - n + 1))}
    words = _WORD.findall(norm)
    return {" ".join(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


# ---------------------------------------------------------------------------------------------
# Training text
# ---------------------------------------------------------------------------------------------


def _django_root() -> Path:
    try:
        import django
    except ImportError:
        sys.exit('this benchmark reads Django 5.2\'s catalogs and docstrings: pip install ".[bench]"')
    return Path(django.__file__).parent


def _catalog_texts(root: Path, folder: str) -> Iterator[tuple[str, str]]:
    """(msgid, msgstr) of every Django catalog (core and contrib) of one locale folder."""
    for mo in sorted(root.rglob(f"locale/{folder}/LC_MESSAGES/*.mo")):
        with open(mo, "rb") as handle:
            catalog = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
        for key in sorted(catalog, key=str):
            source = key[0] if isinstance(key, tuple) else key
            if source:
                yield _PLACEHOLDER.sub("", source).strip(), _PLACEHOLDER.sub("", catalog[key] or "").strip()


def _prose(paragraph: str) -> str | None:
    """A paragraph of running English text, or None for code, lists and fragments."""
    text = " ".join(paragraph.split())
    visible = len(text) - text.count(" ")
    if len(text.split()) < 6 or ">>>" in text or text.endswith("::") or visible == 0:
        return None
    if sum(c.isalpha() for c in text) < 0.75 * visible or not text[0].isupper():
        return None
    return text


def _django_english(root: Path) -> list[str]:
    """Prose paragraphs of Django's docstrings and comments, sorted by file."""
    paras: list[str] = []
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8", errors="replace")
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                for block in re.split(r"\n\s*\n", doc or ""):
                    if not any(line.startswith(" ") for line in block.split("\n")):
                        paras.extend(p for p in [_prose(block)] if p)
        comment: list[str] = []
        for line in [*source.split("\n"), ""]:
            stripped = line.strip()
            if stripped.startswith("# ") and "noqa" not in stripped:
                comment.append(stripped[2:])
                continue
            if comment:
                paras.extend(p for p in [_prose(" ".join(comment))] if p)
                comment = []
    return paras


@dataclass
class Corpus:
    """Training sentences per language, as token lists, and UI strings for navigation bars."""

    sents: dict[str, list[list[str]]] = field(default_factory=lambda: {"zh": [], "en": []})
    ui: dict[str, list[str]] = field(default_factory=lambda: {"zh": [], "en": []})
    chars: int = 0


def zh_units(text: str) -> list[str]:
    return _ZH_UNIT.findall(text)


def zh_join(units: Sequence[str]) -> str:
    out: list[str] = []
    prev_ascii = False
    for unit in units:
        is_ascii = unit[0].isascii() and unit[0].isalnum()
        if is_ascii and prev_ascii:
            out.append(" ")
        out.append(unit)
        prev_ascii = is_ascii
    return "".join(out)


def load_corpus(demo: Path) -> Corpus:
    root = _django_root()
    pools = load_pools(demo)
    corpus = Corpus()
    seen: set[str] = set()

    def add(lang: str, sentence: str) -> None:
        sentence = sentence.strip()
        if not sentence or sentence in seen:
            return
        seen.add(sentence)
        tokens = zh_units(sentence) if lang == "zh" else sentence.split()
        if len(tokens) >= 2:
            corpus.sents[lang].append(tokens)
            corpus.chars += len(sentence)

    zh_paras = pools.paras["zh"] + pools.titles["zh"]
    en_paras = pools.paras["en"] + pools.titles["en"]
    for folder in ("zh_Hans", "zh_Hant"):
        for msgid, msgstr in _catalog_texts(root, folder):
            if _HAN.search(msgstr) and "\n" not in msgstr:
                zh_paras.append(msgstr)
                if len(msgstr) <= 8 and not msgstr.endswith(("。", "？", "！")):
                    corpus.ui["zh"].append(msgstr)
            if folder == "zh_Hans" and msgid and "\n" not in msgid and re.search("[A-Za-z]{2}", msgid):
                en_paras.append(msgid)
                if len(msgid) <= 24 and not msgid.endswith((".", "?", "!")):
                    corpus.ui["en"].append(msgid)
    en_paras += _django_english(root)
    for para in zh_paras:
        for sentence in _ZH_SENT.split(para):
            add("zh", sentence)
    for para in en_paras:
        for sentence in _EN_SENT.split(para):
            add("en", sentence)
    for lang in ("zh", "en"):
        corpus.ui[lang] = sorted(set(corpus.ui[lang]))
    return corpus


# ---------------------------------------------------------------------------------------------
# Markov chains
# ---------------------------------------------------------------------------------------------


class Chain:
    """Order-2 Markov chain over tokens; at a state with one continuation it backs off to order 1."""

    def __init__(self, sentences: Iterable[Sequence[str]], backoff: float, jump: float) -> None:
        order2: dict[tuple[str, str], list[str]] = {}
        order1: dict[str, list[str]] = {}
        self.stream: list[str] = []  # every training token, in order (unigram draws and phrases)
        for tokens in sentences:
            seq = [START, START, *tokens, END]
            for a, b, c in zip(seq, seq[1:], seq[2:], strict=False):
                order2.setdefault((a, b), []).append(c)
                order1.setdefault(b, []).append(c)
            self.stream.extend(tokens)
        self.order2 = {key: tuple(value) for key, value in order2.items()}
        self.order1 = {key: tuple(value) for key, value in order1.items()}
        self.thin = {key for key, value in order2.items() if len(set(value)) == 1}
        self.backoff, self.jump = backoff, jump

    def sentence(self, rng: random.Random, min_len: int, max_len: int) -> list[str]:
        """One sentence of ``min_len`` to ``max_len`` tokens (cut when longer)."""
        rnd = rng.random
        order1, order2, thin = self.order1, self.order2, self.thin
        backoff, jump = self.backoff, self.jump
        out: list[str] = []
        for _ in range(50):
            a = b = START
            out = []
            while len(out) < max_len:
                key = (a, b)
                follow = order2[key]
                if (key in thin and rnd() < backoff) or rnd() < jump:
                    follow = order1[b]
                c = follow[int(rnd() * len(follow))]
                if c == END:
                    break
                out.append(c)
                a, b = b, c
            if len(out) >= min_len:
                break
        return out

    def phrase(self, rng: random.Random, length: int) -> list[str]:
        """``length`` consecutive training tokens (insertions and substitutions of spans)."""
        i = rng.randrange(len(self.stream) - length)
        return self.stream[i : i + length]

    def token(self, rng: random.Random) -> str:
        return self.stream[int(rng.random() * len(self.stream))]


# ---------------------------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------------------------


@dataclass
class Original:
    doc_id: str
    text: str
    lang: str
    source: int
    header: str = ""
    footer: str = ""


class Maker:
    """Draws originals, copies and hard negatives from one seeded random generator."""

    def __init__(self, corpus: Corpus, seed: int) -> None:
        self.rng = random.Random(seed)
        self.ui = corpus.ui
        self.chains = {
            "zh": Chain(corpus.sents["zh"], backoff=0.5, jump=0.04),
            "en": Chain(corpus.sents["en"], backoff=0.5, jump=0.04),
        }
        self.zh_han = [u for u in self.chains["zh"].stream if _HAN.match(u)]
        self.mu = _mu_for_mean(MEAN_DOC, DOC_SIGMA, MIN_DOC, MAX_DOC)

    def doc_size(self) -> int:
        return int(min(MAX_DOC, max(MIN_DOC, self.rng.lognormvariate(self.mu, DOC_SIGMA))))

    def _renumber(self, text: str) -> str:
        rng = self.rng

        def repl(m: re.Match[str]) -> str:
            n = len(m.group())
            if n == 4 and 1900 <= int(m.group()) <= 2099:
                return str(rng.randint(2008, 2026))
            return str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(n - 1))

        return _DIGITS.sub(repl, text)

    def sentence(self, lang: str) -> str:
        if lang == "zh":
            units = self.chains["zh"].sentence(self.rng, 6, 90)
            text = zh_join(units)
            return text if text.endswith(("。", "！", "？", "；")) else text + "。"
        words = self.chains["en"].sentence(self.rng, 5, 50)
        text = " ".join(words)
        return text if text.endswith((".", "!", "?")) else text + "."

    def title(self, lang: str) -> str:
        if lang == "zh":
            return zh_join(self.chains["zh"].sentence(self.rng, 5, 22)).rstrip("。！？；，、")
        return " ".join(self.chains["en"].sentence(self.rng, 3, 12)).rstrip(".!?,;:")

    def body(self, lang: str, target: int, title: bool = True) -> str:
        """Paragraphs of generated sentences, ``target`` bytes long (cut at a sentence end if near)."""
        rng = self.rng
        joiner = "" if lang == "zh" else " "
        parts: list[str] = []
        size = 0
        if title and rng.random() < 0.6:
            parts.append(self.title(lang))
            size += len(parts[0].encode()) + 1
        while size < target:
            sents: list[str] = []
            for _ in range(rng.randint(1, 6)):
                sents.append(self.sentence(lang))
                size += len(sents[-1].encode()) + len(joiner)
                if size >= target:
                    break
            parts.append(joiner.join(sents))
            size += 1
        raw = self._renumber("\n".join(parts)).encode()
        if len(raw) > target:
            cut = max(raw.rfind(b"\n", 0, target), raw.rfind("。".encode(), 0, target - 2) + 3)
            cut = max(cut, raw.rfind(b". ", 0, target) + 1)
            raw = raw[: cut if cut >= max(0.85 * target, MIN_DOC // 2) else target]
        return raw.decode("utf-8", "ignore").strip()

    def boilerplate(self, lang: str, target: int) -> tuple[str, str]:
        """A header (site name + navigation bar) and a footer (disclaimer + copyright), ~``target`` bytes."""
        rng = self.rng
        site = self.title(lang)[: 14 if lang == "zh" else 60]
        nav = " | ".join(rng.sample(self.ui[lang], rng.randint(4, 8)))
        header = f"{site}\n{nav}"
        heads = ZH_DISCLAIMER_HEADS if lang == "zh" else EN_DISCLAIMER_HEADS
        copyright_line = rng.choice(ZH_COPYRIGHT if lang == "zh" else EN_COPYRIGHT)
        copyright_line = copyright_line.format(year=rng.randint(2008, 2026), site=site)
        room = max(40, target - len(header.encode()) - len(copyright_line.encode()) - 20)
        disclaimer = rng.choice(heads) + self.body(lang, room, title=False).replace(
            "\n", "" if lang == "zh" else " "
        )
        return header, f"{disclaimer}\n{copyright_line}"

    def original(self, doc_id: str, lang: str, room: int, source: int, templated: bool) -> Original:
        target = min(self.doc_size(), room)
        if not templated:
            return Original(doc_id, self.body(lang, target), lang, source)
        share = self.rng.uniform(*BOILERPLATE_SHARE)
        header, footer = self.boilerplate(lang, int(share * target))
        body_target = int(len((header + footer).encode()) * (1 - share) / share)
        body = self.body(lang, max(60, body_target), title=False)
        return Original(doc_id, f"{header}\n{body}\n{footer}", lang, source, header, footer)

    def hard_negative(self, doc_id: str, source: Original) -> Original:
        share = self.rng.uniform(*BOILERPLATE_SHARE)
        shared = len((source.header + source.footer).encode())
        target = min(int(shared * (1 - share) / share), MAX_DOC - shared)
        body = self.body(source.lang, max(60, target), title=False)
        text = f"{source.header}\n{body}\n{source.footer}"
        return Original(doc_id, text, source.lang, source.source, source.header, source.footer)

    # -- copies --------------------------------------------------------------------------------

    def noise(self, text: str, lang: str) -> tuple[str, list[str]]:
        """Whitespace, case (en) and width (zh) changes that ``normalize()`` undoes."""
        rng = self.rng
        kinds = ["whitespace"]
        newline = rng.choice(["\n\n", "\r\n", " \n", "\n\t", "\n\u3000" if lang == "zh" else "\n  "])
        text = text.replace("\n", newline)
        if lang == "en":
            text = re.sub(r"(?<=[.!?]) (?=[A-Z])", lambda m: rng.choice([" ", "  ", " \t"]), text)
        text = rng.choice(["", " ", "\t", "\n"]) + text + rng.choice(["", " ", "\n", "\t\n"])
        if lang == "en" and rng.random() < 0.6:
            kinds.append("case")
            how = rng.choice(["lower", "upper_title", "upper_span"])
            if how == "lower":
                text = text.translate(_ASCII_LOWER)
            else:
                lines = text.split("\n")
                if how == "upper_title":
                    lines[0] = lines[0].translate(_ASCII_UPPER)
                else:
                    i = rng.randrange(len(lines))
                    lines[i] = lines[i].translate(_ASCII_UPPER)
                text = "\n".join(lines)
        if lang == "zh" and rng.random() < 0.6:
            kinds.append("width")
            text = text.translate(_TO_HALFWIDTH) if rng.random() < 0.5 else text
            text = _ASCII_ALNUM.sub(lambda m: m.group().translate(_TO_FULLWIDTH), text)
        return text, kinds

    def exact_copy(self, src: Original) -> tuple[str, list[str]]:
        if self.rng.random() < 0.4:
            return src.text, []
        return self.noise(src.text, src.lang)

    def near_copy(self, src: Original) -> tuple[str, float, list[str]]:
        """Edit 2-5% of the characters (zh) or words (en); returns the text, the share edited, the noise."""
        rng = self.rng
        chain = self.chains[src.lang]
        tokens: list[str] = list(src.text) if src.lang == "zh" else src.text.split(" ")
        total = sum(1 for t in tokens if not t.isspace()) if src.lang == "zh" else len(tokens)
        rate = rng.uniform(*EDIT_RATE)
        goal = max(1, round(rate * total))
        edited = 0
        while edited < goal:
            span = 1 if rng.random() < 0.6 else rng.randint(2, 6)
            span = min(span, goal - edited) if goal - edited >= 1 else 1
            pos = rng.randrange(len(tokens))
            op = rng.random()
            if span == 1:
                new = [rng.choice(self.zh_han) if src.lang == "zh" else chain.token(rng)]
            elif src.lang == "zh":
                new = list(zh_join(chain.phrase(rng, span)))[:span]
            else:
                new = chain.phrase(rng, span)
            if op < 0.5:
                tokens[pos : pos + span] = new
            elif op < 0.75:
                tokens[pos:pos] = new
            else:
                del tokens[pos : pos + span]
            edited += span
        text = "".join(tokens) if src.lang == "zh" else " ".join(tokens)
        kinds: list[str] = []
        if rng.random() < 0.3:
            text, kinds = self.noise(text, src.lang)
        return text, edited / total, kinds


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------


@dataclass
class Stats:
    docs: int = 0
    bytes: int = 0
    lang_bytes: Counter[str] = field(default_factory=Counter)
    kinds: Counter[tuple[str, str]] = field(default_factory=Counter)


def generate(out: Path, total_mb: float, files: int, seed: int, demo: Path = DEMO_DIR) -> Stats:
    """Write the shards and labels.json; returns counts."""
    maker = Maker(load_corpus(demo), seed)
    rng = maker.rng
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("part-*.jsonl"):
        old.unlink()
    total = int(total_mb * MB)
    stats = Stats()
    labels: dict[str, dict[str, Any]] = {}
    reservoir: list[Original] = []
    templated: list[Original] = []  # originals with boilerplate not yet used by a hard negative
    zh_bytes = en_bytes = 0
    for k in range(files):
        budget = total * (k + 1) // files - total * k // files
        written = 0
        with open(out / f"part-{k:05d}.jsonl", "wb", buffering=1 << 20) as handle:
            while budget - written >= MIN_DOC + LINE_OVERHEAD:
                room = budget - written - LINE_OVERHEAD
                doc_id = f"dd{seed}-{stats.docs:07d}"
                roll = rng.random()
                label: dict[str, Any] | None = None
                text = ""
                if roll < EXACT_RATE + NEAR_RATE and reservoir:
                    src = reservoir[rng.randrange(len(reservoir))]
                    if len(src.text.encode()) * 1.05 + 64 <= room:
                        if roll < EXACT_RATE:
                            text, kinds = maker.exact_copy(src)
                            label = {
                                "kind": "exact_dup",
                                "cluster": src.doc_id,
                                "lang": src.lang,
                                "noise": kinds,
                            }
                        else:
                            text, rate, kinds = maker.near_copy(src)
                            label = {"kind": "near_dup", "cluster": src.doc_id, "lang": src.lang}
                            label |= {"edit_rate": round(rate, 4), "noise": kinds}
                        lang, source = src.lang, src.source
                elif roll < EXACT_RATE + NEAR_RATE + HARD_NEG_RATE and templated:
                    src = templated.pop(rng.randrange(len(templated)))
                    doc = maker.hard_negative(doc_id, src)
                    if len(doc.text.encode()) <= room:
                        text, lang, source = doc.text, doc.lang, doc.source
                        label = {"kind": "hard_negative", "cluster": doc_id, "lang": lang}
                        shared = len(src.header) + len(src.footer) + 2
                        label |= {
                            "boilerplate_of": src.doc_id,
                            "boilerplate_share": round(shared / len(text), 3),
                        }
                if label is None:
                    # keep the originals' bytes at ZH_SHARE: pick the language that is behind
                    lang = "zh" if zh_bytes <= ZH_SHARE / (1 - ZH_SHARE) * en_bytes else "en"
                    if rng.random() < 0.15:
                        lang = "zh" if rng.random() < ZH_SHARE else "en"
                    source = rng.randrange(len(ZH_SOURCES if lang == "zh" else EN_SOURCES))
                    is_templated = rng.random() < TEMPLATED_RATE and room > 4 * MIN_DOC
                    doc = maker.original(doc_id, lang, room, source, is_templated)
                    text = doc.text
                    label = {"kind": "original", "cluster": doc_id, "lang": lang}
                    if lang == "zh":
                        zh_bytes += len(text.encode())
                    else:
                        en_bytes += len(text.encode())
                    if len(reservoir) < RESERVOIR:
                        reservoir.append(doc)
                    elif rng.random() < 0.25:  # keep the reservoir moving through the input
                        reservoir[rng.randrange(RESERVOIR)] = doc
                    if is_templated:
                        templated.append(doc)
                        if len(templated) > RESERVOIR:
                            templated.pop(0)
                source_name, licence = (ZH_SOURCES if lang == "zh" else EN_SOURCES)[source]
                record = {"id": doc_id, "text": text, "metadata": {"source": source_name, "license": licence}}
                line = orjson.dumps(record) + b"\n"
                handle.write(line)
                written += len(line)
                labels[doc_id] = label
                stats.docs += 1
                stats.bytes += len(line)
                stats.lang_bytes[lang] += len(line)
                stats.kinds[(label["kind"], lang)] += 1
    (out / "labels.json").write_bytes(orjson.dumps(labels, option=orjson.OPT_INDENT_2))
    return stats


# ---------------------------------------------------------------------------------------------
# Similarity report (--stats)
# ---------------------------------------------------------------------------------------------


def read_set(folder: Path) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """(id -> text, id -> label) of a set written by ``generate``."""
    texts: dict[str, str] = {}
    for path in sorted(folder.glob("part-*.jsonl")):
        with open(path, "rb") as handle:
            for line in handle:
                record = orjson.loads(line)
                texts[record["id"]] = record["text"]
    return texts, orjson.loads((folder / "labels.json").read_bytes())


def _quantiles(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    if not values:
        return {}

    def q(p: float) -> float:
        return values[min(len(values) - 1, int(p * (len(values) - 1) + 0.5))]

    return {
        "n": len(values),
        "min": values[0],
        "p1": q(0.01),
        "p5": q(0.05),
        "p25": q(0.25),
        "median": q(0.5),
        "p95": q(0.95),
        "max": values[-1],
    }


def _signatures(sets: list[set[str]], perms: int = 120) -> Any:
    """MinHash signatures (``len(sets) x perms`` uint64) from xor-multiply permutations of Python hashes."""
    import numpy as np

    gen = np.random.default_rng(12345)
    xor = gen.integers(0, 2**63, size=perms, dtype=np.uint64)
    mul = gen.integers(0, 2**63, size=perms, dtype=np.uint64) | np.uint64(1)
    sigs = np.empty((len(sets), perms), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i, grams in enumerate(sets):
            hashes = np.fromiter((hash(g) for g in grams), dtype=np.int64, count=len(grams)).view(np.uint64)
            sigs[i] = ((hashes[:, None] ^ xor) * mul).min(axis=0)
    return sigs


def _lsh_pairs(sigs: Any, bands: int = 40, rows: int = 3) -> set[tuple[int, int]]:
    """Pairs that share at least one band (P(found) 0.93 at Jaccard 0.4, 0.995 at 0.5)."""
    import numpy as np

    pairs: set[tuple[int, int]] = set()
    for band in range(bands):
        buckets: dict[bytes, list[int]] = {}
        block = np.ascontiguousarray(sigs[:, band * rows : (band + 1) * rows])
        for i in range(len(block)):
            buckets.setdefault(block[i].tobytes(), []).append(i)
        for members in buckets.values():
            if 1 < len(members) <= 200:
                pairs.update((a, b) for j, a in enumerate(members) for b in members[j + 1 :])
    return pairs


def _nearest(sigs: Any, queries: list[int], pool: list[int], top: int = 20) -> dict[int, list[int]]:
    """For each query, the ``top`` other pool members with the highest estimated Jaccard."""
    import numpy as np

    pool_array = np.asarray(pool)
    pool_sigs = sigs[pool_array]
    out: dict[int, list[int]] = {}
    for q in queries:
        estimate = (pool_sigs == sigs[q]).sum(axis=1)
        estimate[pool_array == q] = -1
        best = np.argpartition(-estimate, top)[:top]
        out[q] = [int(pool_array[i]) for i in best]
    return out


def similarity_report(folder: Path, seed: int = 0, sample: int = 2000) -> dict[str, Any]:
    """Jaccard similarities that describe the set (see the module docstring)."""
    texts, labels = read_set(folder)
    rng = random.Random(seed + 1)
    report: dict[str, Any] = {}
    # exact copies normalise to their original
    exact = [i for i, lab in labels.items() if lab["kind"] == "exact_dup"]
    report["exact_dup"] = {
        "n": len(exact),
        "normalize_equal": sum(normalize(texts[i]) == normalize(texts[labels[i]["cluster"]]) for i in exact),
        "byte_identical": sum(texts[i] == texts[labels[i]["cluster"]] for i in exact),
    }
    # near copies and hard negatives against their original
    for kind, key in (("near_dup", "cluster"), ("hard_negative", "boilerplate_of")):
        for lang in ("zh", "en"):
            ids = [i for i, lab in labels.items() if lab["kind"] == kind and lab["lang"] == lang]
            entry: dict[str, Any] = {"n": len(ids)}
            for n in NGRAMS[lang]:
                values = [
                    jaccard(shingles(texts[i], lang, n), shingles(texts[labels[i][key]], lang, n))
                    for i in ids
                ]
                entry[f"{n}gram"] = _quantiles(values)
                if kind == "near_dup" and values:
                    entry[f"{n}gram"] |= {
                        f"share>={t}": sum(v >= t for v in values) / len(values) for t in (0.7, 0.8)
                    }
            if kind == "near_dup":
                entry["edit_rate"] = _quantiles([labels[i]["edit_rate"] for i in ids])
            report[f"{kind}/{lang}"] = entry
    # how distinct originals (and hard negatives) are
    for lang in ("zh", "en"):
        n = DISTINCT_N[lang]
        ids = [
            i
            for i, lab in labels.items()
            if lab["kind"] in ("original", "hard_negative") and lab["lang"] == lang
        ]
        sets = [shingles(texts[i], lang, n) for i in ids]
        originals = [j for j, i in enumerate(ids) if labels[i]["kind"] == "original"]
        random_pairs = [tuple(rng.sample(originals, 2)) for _ in range(2000)]
        values = [jaccard(sets[a], sets[b]) for a, b in random_pairs]
        entry = {
            "shingle": f"{'char' if lang == 'zh' else 'word'} {n}-grams",
            "random_pairs": _quantiles(values),
        }
        sigs = _signatures(sets)
        # every original's most similar other original: a sample scanned against all originals by
        # estimated Jaccard (signature agreement), the 20 best checked exactly
        queries = rng.sample(originals, min(len(originals), sample))
        nearest = _nearest(sigs, queries, originals)
        best = [max(jaccard(sets[q], sets[c]) for c in cands) for q, cands in nearest.items()]
        entry["nearest_original"] = _quantiles(best)
        entry["nearest_original"]["queries"] = len(queries)
        # every pair above ~0.4 anywhere (LSH), exact Jaccard of every candidate
        candidates = _lsh_pairs(sigs)
        top_pairs: list[tuple[float, str, str, str]] = []
        for a, b in candidates:
            kinds = "/".join(sorted((labels[ids[a]]["kind"], labels[ids[b]]["kind"])))
            if (
                labels[ids[a]].get("boilerplate_of") == ids[b]
                or labels[ids[b]].get("boilerplate_of") == ids[a]
            ):
                kinds += " (shared boilerplate)"
            top_pairs.append((jaccard(sets[a], sets[b]), ids[a], ids[b], kinds))
        top_pairs.sort(reverse=True)
        entry["lsh_candidate_pairs"] = len(candidates)
        for group in ("original/original", "hard_negative/original", "hard_negative/hard_negative"):
            pairs = [p for p in top_pairs if p[3] == group]
            entry[f"max {group} (LSH)"] = [round(pairs[0][0], 4), *pairs[0][1:3]] if pairs else None
        report[f"distinct/{lang}"] = entry
    return report


def print_report(report: dict[str, Any]) -> None:
    def fmt(q: dict[str, float]) -> str:
        return " ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in q.items())

    e = report["exact_dup"]
    print(f"exact_dup: {e['n']} copies, {e['normalize_equal']} equal to their original after normalize(), "
          f"{e['byte_identical']} byte-identical")  # fmt: skip
    for key, entry in report.items():
        if key.startswith(("near_dup/", "hard_negative/")):
            against = "original" if key.startswith("near") else "boilerplate source"
            print(f"{key} ({entry['n']} docs), Jaccard vs {against}:")
            for name, value in entry.items():
                if isinstance(value, dict):
                    print(f"  {name:>9}: {fmt(value)}")
    for lang in ("zh", "en"):
        entry = report[f"distinct/{lang}"]
        print(f"distinct/{lang} ({entry['shingle']}):")
        print(f"  2,000 random pairs of originals: {fmt(entry['random_pairs'])}")
        print(f"  most similar other original (exact Jaccard): {fmt(entry['nearest_original'])}")
        print(f"  LSH (40 bands x 3 rows): {entry['lsh_candidate_pairs']:,} candidate pairs")
        for name, value in entry.items():
            if name.startswith("max "):
                print(f"  {name}: {value}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    add_size_arguments(parser)
    parser.add_argument("--stats", action="store_true", help="also measure and print the similarity report")
    parser.add_argument("--stats-only", action="store_true", help="report on an existing set in --out")
    parser.add_argument("--stats-json", type=Path, help="write the similarity report to this JSON file")
    args = parser.parse_args(argv)
    if args.files < 1 or args.mb <= 0:
        parser.error("--files must be >= 1 and --mb > 0")
    if not args.stats_only:
        start = time.perf_counter()
        s = generate(args.out, args.mb, args.files, args.seed, args.demo)
        elapsed = time.perf_counter() - start
        counts = ", ".join(
            f"{kind} {sum(v for (k, _), v in s.kinds.items() if k == kind):,} "
            f"(zh {s.kinds[(kind, 'zh')]:,}, en {s.kinds[(kind, 'en')]:,})"
            for kind in ("original", "exact_dup", "near_dup", "hard_negative")
        )
        print(
            f"{args.files} files, {s.bytes:,} bytes ({s.bytes / MB:.1f} MB), {s.docs:,} docs "
            f"(mean {s.bytes / max(1, s.docs) / 1000:.2f} KB/line, "
            f"zh {s.lang_bytes['zh'] / max(1, s.bytes):.1%} of bytes) in {elapsed:.1f} s -> {args.out}\n"
            + counts
        )
    if args.stats or args.stats_only or args.stats_json:
        start = time.perf_counter()
        report = similarity_report(args.out, args.seed)
        print_report(report)
        print(f"(similarity report: {time.perf_counter() - start:.1f} s)")
        if args.stats_json:
            args.stats_json.write_text(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
