"""Language-ID benchmark on real translated text, with langdetect alone beside it in the same run.

    pip install ".[bench]"            # Django: its gettext catalogs are the real text used here
    python benchmarks/bench_langid.py [--per-language 180] [--json langid.json]

Documents are built from the message catalogs that ship inside the Django wheel (core + contrib
apps; human translations of the same UI strings) in 12 languages, Simplified and Traditional
Chinese included: short documents of 60-300 characters and long ones of 1,000-3,000, plus
Chinese documents mixed with English UI strings and commands (labelled Chinese). Throughput is
measured on ~2 KB documents, one process.
"""

from __future__ import annotations

import argparse
import gettext
import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

LANGUAGES = {  # our label -> Django locale folder
    "zh-Hans": "zh_Hans", "zh-Hant": "zh_Hant", "ja": "ja", "ko": "ko", "fr": "fr", "de": "de",
    "es": "es", "ru": "ru", "it": "it", "pt": "pt", "ar": "ar", "en": None,  # English: the msgids
}  # fmt: skip
_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}|<[^>]+>|&\w+;")
_COMMANDS = [
    "pip install datatrove",
    "kubectl get pods -n corpus",
    "SELECT * FROM records LIMIT 10",
    "git push origin main",
]


def catalogs() -> dict[str, list[str]]:
    try:
        import django
    except ImportError:
        sys.exit('the benchmark reads Django\'s translation catalogs: pip install ".[bench]"')
    root = Path(django.__file__).parent
    messages: dict[str, set[str]] = {label: set() for label in LANGUAGES}
    for label, folder in LANGUAGES.items():
        for mo in sorted(root.rglob(f"locale/{folder or 'fr'}/LC_MESSAGES/*.mo")):
            with open(mo, "rb") as handle:
                catalog = gettext.GNUTranslations(handle)._catalog  # msgid -> msgstr
            for key, value in catalog.items():
                source = key[0] if isinstance(key, tuple) else key
                text = source if folder is None else value
                text = _PLACEHOLDER.sub("", text or "").strip()
                if len(text) >= 4 and "\x00" not in text and source:
                    messages[label].add(text)
    return {label: sorted(texts) for label, texts in messages.items()}


def build_docs(messages: dict[str, list[str]], per_language: int, seed: int) -> list[tuple[str, str, str]]:
    """(label, kind, text) documents: short, long, and Chinese mixed with English."""
    rng = random.Random(seed)
    docs = []
    for label, pool in messages.items():
        separator = "" if label.startswith("zh") or label == "ja" else " "
        for index in range(per_language):
            kind, low, high = ("short", 60, 300) if index % 3 else ("long", 1000, 3000)
            text = ""
            while len(text) < low:
                text += (separator if text else "") + rng.choice(pool)
            docs.append((label, kind, text[:high]))
    english_terms = [text for text in messages["en"] if len(text) <= 40]
    for index in range(per_language // 2):  # Chinese prose with English terms and commands inside
        label = "zh-Hans" if index % 2 == 0 else "zh-Hant"
        parts = []
        while sum(map(len, parts)) < 200:
            parts.append(rng.choice(messages[label]))
            if rng.random() < 0.4:
                parts.append(" " + rng.choice(_COMMANDS + english_terms) + " ")
        docs.append((label, "mixed", "".join(parts)))
    return docs


def langdetect_identify(text: str) -> str:
    from langdetect import DetectorFactory, LangDetectException, detect

    DetectorFactory.seed = 0
    try:
        label = detect(text)
    except LangDetectException:
        return "und"
    return {"zh-cn": "zh-Hans", "zh-tw": "zh-Hant"}.get(label, label)


def score(identify, docs) -> tuple[float, dict[str, float], dict[str, float], float]:
    started = time.perf_counter()
    predictions = [identify(text) for _, _, text in docs]
    seconds = time.perf_counter() - started
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    right_kind: Counter[str] = Counter()
    total_kind: Counter[str] = Counter()
    for (label, kind, _), predicted in zip(docs, predictions, strict=True):
        total[label] += 1
        total_kind[kind] += 1
        if predicted == label:
            right[label] += 1
            right_kind[kind] += 1
    overall = sum(right.values()) / len(docs)
    return (
        overall,
        {label: right[label] / total[label] for label in total},
        {kind: right_kind[kind] / total_kind[kind] for kind in total_kind},
        seconds,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-language", type=int, default=180)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from corpus_kit.stages.langid import LanguageIdentifier

    messages = catalogs()
    docs = build_docs(messages, args.per_language, args.seed)
    ours = LanguageIdentifier()
    ours.identify("warm up the model")
    our_acc, our_by_label, our_by_kind, _ = score(lambda t: ours.identify(t)[0], docs)
    ld_acc, ld_by_label, ld_by_kind, _ = score(langdetect_identify, docs)
    kinds = Counter(kind for _, kind, _ in docs)
    print(f"labelled set: {len(docs)} documents from Django's catalogs, {len(LANGUAGES)} languages")
    print(f"kinds: {dict(kinds)}")
    print("| language | docs | corpus-kit | langdetect |")
    print("|---|---:|---:|---:|")
    counts = Counter(label for label, _, _ in docs)
    for label in LANGUAGES:
        print(f"| {label} | {counts[label]} | {our_by_label[label]:.3f} | {ld_by_label[label]:.3f} |")
    for kind in ("short", "long", "mixed"):
        print(f"| ({kind}) | {kinds[kind]} | {our_by_kind[kind]:.3f} | {ld_by_kind[kind]:.3f} |")
    print(f"| **overall** | {len(docs)} | **{our_acc:.4f}** | {ld_acc:.4f} |")

    rng = random.Random(args.seed + 1)
    two_kb = []
    for label, pool in messages.items():
        for _ in range(40):
            text = ""
            while len(text.encode()) < 2048:
                text += " " + rng.choice(pool)
            two_kb.append((label, "2kb", text))
    _, _, _, our_seconds = score(lambda t: ours.identify(t)[0], two_kb)
    _, _, _, ld_seconds = score(langdetect_identify, two_kb)
    print(f"throughput on {len(two_kb)} documents of ~2 KB, one process:")
    ours_rate, ld_rate = len(two_kb) / our_seconds, len(two_kb) / ld_seconds
    print(f"| corpus-kit | {ours_rate:,.0f} docs/s | langdetect | {ld_rate:,.0f} docs/s |")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "docs": len(docs),
                    "accuracy": our_acc,
                    "by_language": our_by_label,
                    "by_kind": our_by_kind,
                    "langdetect_accuracy": ld_acc,
                    "langdetect_by_language": ld_by_label,
                    "docs_per_second": len(two_kb) / our_seconds,
                    "langdetect_docs_per_second": len(two_kb) / ld_seconds,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
