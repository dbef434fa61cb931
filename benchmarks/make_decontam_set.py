"""Make a labelled decontamination set: zh/en evaluation sets and a JSONL corpus with planted items.

    python benchmarks/make_decontam_set.py -o /tmp/decontam-set --mb 100 --files 5 --seed 0

Writes ``DIR/evals/*.jsonl`` (four benchmarks), ``DIR/corpus/part-NNNNN.jsonl``, ``DIR/truth.jsonl``
(one line per planted record: id, lang, form, benchmark) and ``DIR/summary.json``.

**The evaluation items** are made here from templates and a vocabulary, not taken from any
published text: Chinese word problems and reading items (``zh-math``, ``zh-reading``) and English
science and reading questions (``en-science``, ``en-reading``), each with a question of 18-45 units
and four choices. The slots are filled with made-up names: English pseudo-words built from
syllables (``brantelo``, ``quomiva``) and Chinese names of 2-3 characters drawn from a pool of
characters that the corpus never uses (after NFKC, case folding and Traditional ->
Simplified). A template's fixed text runs at most 12 units between two slots (checked), so every 13-unit
window of an item holds a made-up name. ``zh-reading`` and ``en-reading`` are in their own files
(benchmark = file stem); the other two share ``suite.jsonl`` and name their benchmark in a
``benchmark`` field.

**The corpus** is ``make_corpus.py``'s text (the demo sample's sentences recombined, with its
synthetic PII), made first: the pseudo-words and pool characters are then chosen among the words
and characters it never holds after normalisation, so no evaluation gram can be in a clean record
by construction (the benchmark checks the result, not this argument). Then a
seeded share of the records gets one item (of its own language) planted in one form, cycling:

* ``whole``: the item as an exam would print it (question, lettered choices, the answer) as the
  record's text, or appended to it; a third of the English ones upper-case, a third of the Chinese
  ones in Traditional characters (only where OpenCC's ``s2t`` then ``t2s`` gives the item back);
* ``fragment``: 14-20 consecutive units of the question (words, or Chinese characters) inside a
  paragraph of a longer record;
* ``split``: the question and choices broken over short lines (2-4 words, 3-7 characters) as a
  block between two paragraphs.

Another ``--near-miss-share`` of the records gets a **near miss** as a line of its own: 12
consecutive units of a question (one short of a gram) whose neighbours in the item are made-up
names, so the text around it cannot complete a gram. They must not be matched.

The output depends only on the options and the demo sample. Needs orjson and opencc.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))
import make_corpus  # noqa: E402
from make_corpus import DEMO_DIR  # noqa: E402

VERSION = 1  # of the generator: part of the benchmark's cache key
FORMS = ("whole", "fragment", "split")
ITEMS_PER_BENCHMARK = 1500
_EN_WORD = re.compile(r"[a-z]+")
_HAN = re.compile(r"[\u4e00-\u9fff]")

EN_TEMPLATES = {
    "en-science": [
        "In the valley of {W}, a chemist heated {N} grams of {W} with {W} until it turned {W}; "
        "which gas escaped from the {W} flask first?",
        "A student measures the {W} of a {W} spring under {N} newtons of {W} load; "
        "what happens to the stretch when the {W} doubles?",
        "Why do the leaves of the {W} plant turn toward the {W} lamp placed {N} metres from the {W} bench?",
        "The {W} probe orbits the moon {W} every {N} hours near the {W} belt; "
        "what keeps it from drifting toward {W}?",
    ],
    "en-reading": [
        "After the storm, {W} walked to the {W} harbour where {N} boats of the {W} fleet lay broken; "
        "what did {W} decide to repair first?",
        "The letter from {W} to the mayor of {W} listed {N} complaints about the {W} market; "
        "which complaint did the {W} council answer?",
        "When the old {W} bridge closed, the children of {W} crossed the river by {W} ferry for "
        "{N} days; how did {W} feel about it?",
    ],
}
ZH_TEMPLATES = {
    "zh-math": [
        "{Z}村的{Z}师傅每天做{N}个{Z}，一周后他把其中一半送给{Z}，请问他还剩多少个{Z}？",
        "{Z}从{Z}站出发，每小时走{N}千米，{Z}在三小时后追上了{Z}，求{Z}的速度是多少？",
        "一块{Z}田长{N}米，宽比长少{N}米，{Z}要在四周种上{Z}树，一共需要多少棵{Z}？",
    ],
    "zh-reading": [
        "阅读短文：{Z}镇的{Z}老人每年春天都在{Z}河边种下{N}棵{Z}，文中{Z}为什么坚持这样做？",
        "{Z}在信中告诉{Z}，{Z}山下的{Z}学校已经建成了{N}间教室，{Z}写这封信是为了什么？",
        "故事里的{Z}为了寻找{Z}，走遍了{Z}省的{N}座城市，最后在{Z}找到了答案，这说明了什么？",
    ],
}
EN_SYLLABLES = [a + b for a in "bdfgklmnprstvz" for b in ("a", "e", "i", "o", "u", "ai", "ou")]


def normaliser() -> Any:
    from corpus_kit.stages.safety.normalise import normalise

    return normalise


def vocabulary(base: Path) -> tuple[set[str], set[str]]:
    """The lower-case Latin words and the Han characters of the base corpus, after normalisation."""
    normalise = normaliser()
    words: set[str] = set()
    chars: set[str] = set()
    for part in sorted(base.glob("part-*.jsonl")):
        with open(part, "rb") as handle:
            for line in handle:
                folded = normalise(orjson.loads(line)["text"])
                words.update(_EN_WORD.findall(folded))
                chars.update(_HAN.findall(folded))
    return words, chars


def pseudo_words(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    found: set[str] = set()
    while len(found) < count:
        word = "".join(rng.choice(EN_SYLLABLES) for _ in range(rng.randint(3, 4)))
        if word not in taken:
            found.add(word)
    return sorted(found)


def han_pool(taken: set[str]) -> list[str]:
    """Han characters the demo never uses, that normalisation and s2t -> t2s leave as they are."""
    import opencc

    normalise = normaliser()
    s2t, t2s = opencc.OpenCC("s2t"), opencc.OpenCC("t2s")
    pool = []
    for point in range(0x4E00, 0x9FA6):
        char = chr(point)
        if char in taken or normalise(char) != char:
            continue
        if t2s.convert(s2t.convert(char)) == char and normalise(s2t.convert(char)) == char:
            pool.append(char)
    return pool


def fill(template: str, rng: random.Random, names: list[str]) -> str:
    parts = re.split(r"(\{[WZN]\})", template)
    return "".join(
        rng.choice(names) if part in ("{W}", "{Z}") else str(rng.randint(3, 99)) if part == "{N}" else part
        for part in parts
    )


_UNIT = re.compile(r"[\u4e00-\u9fff]|[a-z0-9]+")


def longest_plain_run(text: str, made_up: set[str]) -> int:
    """The most consecutive units (words, Han characters) of ``text`` that are not made up."""
    longest = run = 0
    for unit in _UNIT.findall(text.lower()):
        run = 0 if unit in made_up else run + 1
        longest = max(longest, run)
    return longest


def make_items(rng: random.Random, en_words: list[str], zh_names: list[str]) -> dict[str, list[dict]]:
    made_up = set(en_words) | {char for name in zh_names for char in name}
    items: dict[str, list[dict]] = {}
    for benchmark, templates in {**EN_TEMPLATES, **ZH_TEMPLATES}.items():
        zh = benchmark.startswith("zh")
        names = zh_names if zh else en_words
        rows = []
        seen: set[str] = set()
        while len(rows) < ITEMS_PER_BENCHMARK:
            question = fill(rng.choice(templates), rng, names)
            if question in seen:
                continue
            seen.add(question)
            choices = [
                ("" if zh else "the ") + rng.choice(names) + ("" if zh else " " + rng.choice(names))
                for _ in range(4)
            ]
            joined = question + "\n" + "\n".join(choices)
            if longest_plain_run(joined, made_up) >= 13:
                raise SystemExit(f"{benchmark}: a template has 13 or more fixed units in a row")
            rows.append({"question": question, "choices": choices, "answer": "ABCD"[rng.randrange(4)]})
        items[benchmark] = rows
    return items


def printed(item: dict, zh: bool) -> str:
    choices = "\n".join(f"{letter}. {choice}" for letter, choice in zip("ABCD", item["choices"], strict=True))
    return f"{item['question']}\n{choices}\n{'答案' if zh else 'Answer'}: {item['answer']}"


def fragment(item: dict, zh: bool, rng: random.Random) -> str:
    question = item["question"]
    if zh:
        positions = [i for i, char in enumerate(question) if _HAN.match(char)]
        size = min(len(positions), rng.randint(14, 20))
        first = rng.randrange(len(positions) - size + 1)
        return question[positions[first] : positions[first + size - 1] + 1]
    words = question.split()
    size = min(len(words), rng.randint(14, 20))
    first = rng.randrange(len(words) - size + 1)
    return " ".join(words[first : first + size])


def split_lines(item: dict, zh: bool, rng: random.Random) -> str:
    text = item["question"] + ("" if zh else " ") + ("，" if zh else ", ").join(item["choices"])
    lines = []
    if zh:
        at = 0
        while at < len(text):
            step = rng.randint(3, 7)
            lines.append(text[at : at + step])
            at += step
    else:
        words = text.split()
        at = 0
        while at < len(words):
            step = rng.randint(2, 4)
            lines.append(" ".join(words[at : at + step]))
            at += step
    return "\n".join(lines)


def near_miss(item: dict, zh: bool, made_up: set[str], rng: random.Random) -> str | None:
    """12 consecutive units of the question (one short of a gram) whose neighbours in the item are
    made-up names, so that no clean text around them can complete a 13-unit gram; None if none."""
    question = item["question"]
    spans = [(m.start(), m.end(), m.group()) for m in _UNIT.finditer(question.lower())]
    starts = [
        i for i in range(1, len(spans) - 12) if spans[i - 1][2] in made_up and spans[i + 12][2] in made_up
    ]
    if not starts:
        return None
    first = rng.choice(starts)
    return question[spans[first][0] : spans[first + 11][1]]


def plant(host: str, form: str, item: dict, zh: bool, rng: random.Random, s2t: Any) -> tuple[str, str]:
    """The planted record's text and the form's variant."""
    paragraphs = host.split("\n")
    if form == "whole":
        text = printed(item, zh)
        variant = "plain"
        if rng.random() < 1 / 3:
            if zh:
                text, variant = s2t.convert(text), "traditional"
            else:
                text, variant = text.upper(), "upper_case"
        if rng.random() < 0.5:
            return text, variant
        return host + "\n" + text, variant + "+appended"
    if form == "fragment":
        piece = fragment(item, zh, rng)
        at = rng.randrange(len(paragraphs))
        paragraph = paragraphs[at]
        if zh:
            cuts = [m.end() for m in re.finditer("[。！？，]", paragraph)] or [len(paragraph)]
            cut = rng.choice(cuts)
            paragraphs[at] = paragraph[:cut] + piece + paragraph[cut:]
        else:
            cuts = [m.end() for m in re.finditer(r"[.,;] ", paragraph)] or [len(paragraph)]
            cut = rng.choice(cuts)
            paragraphs[at] = paragraph[:cut] + piece + " " + paragraph[cut:]
        return "\n".join(paragraphs), "inside-paragraph"
    at = rng.randrange(len(paragraphs) + 1)
    paragraphs.insert(at, split_lines(item, zh, rng))
    return "\n".join(paragraphs), "short-lines"


def make_set(
    out: Path,
    mb: float,
    files: int,
    seed: int,
    planted_share: float,
    near_miss_share: float = 0.03,
    demo: Path = DEMO_DIR,
) -> dict:
    import opencc

    started = time.perf_counter()
    rng = random.Random(f"decontam-{seed}")
    base = out / "base"
    make_corpus.generate(base, mb, files, seed, demo)
    # the made-up names are chosen among what the clean corpus never holds
    words, chars = vocabulary(base)
    en_words = pseudo_words(rng, 3000, words)
    pool = han_pool(chars)
    zh_names = sorted({"".join(rng.sample(pool, rng.randint(2, 3))) for _ in range(4000)})
    items = make_items(rng, en_words, zh_names)
    evals = out / "evals"
    evals.mkdir(parents=True, exist_ok=True)
    for benchmark in ("en-reading", "zh-reading"):
        with open(evals / f"{benchmark}.jsonl", "wb") as handle:
            handle.writelines(orjson.dumps(row) + b"\n" for row in items[benchmark])
    with open(evals / "suite.jsonl", "wb") as handle:
        for benchmark in ("en-science", "zh-math"):
            handle.writelines(
                orjson.dumps({"benchmark": benchmark, **row}) + b"\n" for row in items[benchmark]
            )

    s2t = opencc.OpenCC("s2t")
    corpus = out / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    truth = open(out / "truth.jsonl", "wb")  # noqa: SIM115
    counts: Counter[str] = Counter()
    made_up = set(en_words) | set(pool)
    cycle = {"zh": 0, "en": 0}
    benchmarks = {"zh": ["zh-math", "zh-reading"], "en": ["en-science", "en-reading"]}
    docs = size = 0
    for part in sorted(base.glob("part-*.jsonl")):
        with open(part, "rb") as source, open(corpus / part.name, "wb") as target:
            for line in source:
                record = orjson.loads(line)
                text = record["text"]
                roll = rng.random()
                if planted_share <= roll < planted_share + near_miss_share:
                    zh = len(_HAN.findall(text)) > len(text) / 4
                    lang = "zh" if zh else "en"
                    benchmark = rng.choice(benchmarks[lang])
                    piece = near_miss(rng.choice(items[benchmark]), zh, made_up, rng)
                    if piece is not None:
                        paragraphs = text.split("\n")
                        at = rng.randrange(len(paragraphs) + 1)
                        paragraphs.insert(at, piece)
                        record["text"] = "\n".join(paragraphs)
                        truth.write(
                            orjson.dumps(
                                {
                                    "id": record["id"],
                                    "lang": lang,
                                    "form": "near_miss",
                                    "benchmark": benchmark,
                                }
                            )
                            + b"\n"
                        )
                        counts[f"{lang}/near_miss"] += 1
                if roll < planted_share:
                    zh = len(_HAN.findall(text)) > len(text) / 4
                    lang = "zh" if zh else "en"
                    form = FORMS[cycle[lang] % len(FORMS)]
                    benchmark = benchmarks[lang][(cycle[lang] // len(FORMS)) % 2]
                    cycle[lang] += 1
                    item = rng.choice(items[benchmark])
                    record["text"], variant = plant(text, form, item, zh, rng, s2t)
                    truth.write(
                        orjson.dumps(
                            {
                                "id": record["id"],
                                "lang": lang,
                                "form": form,
                                "variant": variant,
                                "benchmark": benchmark,
                            }
                        )
                        + b"\n"
                    )
                    counts[f"{lang}/{form}"] += 1
                encoded = orjson.dumps(record) + b"\n"
                target.write(encoded)
                docs += 1
                size += len(encoded)
    truth.close()
    for part in base.iterdir():
        part.unlink()
    base.rmdir()
    summary = {
        "version": VERSION,
        "seed": seed,
        "docs": docs,
        "bytes": size,
        "planted": dict(sorted(counts.items())),
        "items": {name: len(rows) for name, rows in items.items()},
        "pseudo_words": len(en_words),
        "han_pool": len(pool),
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    make_corpus.add_size_arguments(parser)
    parser.add_argument("--planted-share", type=float, default=0.15, help="share of records planted")
    parser.add_argument(
        "--near-miss-share", type=float, default=0.03, help="share of records with a 12-unit near miss"
    )
    args = parser.parse_args(argv)
    summary = make_set(
        args.out, args.mb, args.files, args.seed, args.planted_share, args.near_miss_share, args.demo
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
