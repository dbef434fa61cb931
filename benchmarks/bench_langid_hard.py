"""Language ID on the hard cases: Chinese technical text quoting English, and short plain Latin text.

    pip install ".[bench]"            # Django: its gettext catalogs are the real text used here
    python benchmarks/bench_langid_hard.py [--docs 600] [--json hard.json]

Two labelled sets, made here from Django's human translations (never from the evaluation corpora):

* **zh-quoted**: a Chinese sentence (a Django zh-Hans / zh-Hant translation, or one of the frames
  below) around English UI strings, commands and paths in quotes or backticks, so that Latin
  letters outnumber Han characters. Labelled Chinese: the grammatical frame is Chinese.
* **short-plain**: 15-80 characters of Portuguese, Spanish, Polish, Croatian, Serbian (Latin),
  Turkish, Italian and French with the diacritics removed, as people type in chats and commit
  messages. The confusion matrix is printed; the closely related pairs are where errors go.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_langid import catalogs

# frames written for this benchmark: {0} and {1} take an English string or a command
FRAMES = {
    "zh-Hans": [
        '配置 "{0}" 时，选择 "{1}"。',
        '"{0}"，该循环会将每个参数依次传给命令。',
        "运行 `{0}` 之后，再执行 `{1}` 即可。",
        '如果看到 "{0}" 的提示，说明 {1} 没有启动。',
        "在 {0} 文件中加入一行 {1}，然后重启服务。",
        '把 "{0}" 改成 "{1}" 就可以了',
        "请先用 {0} 检查，再用 {1} 修复。",
        '菜单里的 "{0}" 对应命令行的 {1}。',
    ],
    "zh-Hant": [
        '配置 "{0}" 時，選擇 "{1}"。',
        '"{0}"，該迴圈會將每個參數依次傳給命令。',
        "執行 `{0}` 之後，再執行 `{1}` 即可。",
        '如果看到 "{0}" 的提示，說明 {1} 沒有啟動。',
        "在 {0} 檔案中加入一行 {1}，然後重新啟動服務。",
        '把 "{0}" 改成 "{1}" 就可以了',
        "請先用 {0} 檢查，再用 {1} 修復。",
        '選單裡的 "{0}" 對應命令列的 {1}。',
    ],
}
COMMANDS = [
    "for x in foo1 foo2 foo3 ; do command $x ; done",
    "apt-get install --no-install-recommends build-essential",
    "sudo systemctl restart postfix.service",
    "mail sent by smarthost; received via SMTP or fetchmail",
    "/etc/network/interfaces",
    "~/.config/corpus-kit/settings.yaml",
    "git rebase --interactive HEAD~3",
    "export PATH=$HOME/.local/bin:$PATH",
    "tar -xzf archive.tar.gz -C /srv/data",
    "docker run --rm -it -v $(pwd):/work python:3.12 bash",
    "grep -rn 'TODO' src/ | sort | uniq -c",
    "ssh -L 8080:localhost:80 user@example.org",
    "General type of mail configuration",
    "Internet site; mail is sent and received directly using SMTP",
    "find . -name '*.log' -mtime +30 -delete",
    "SELECT name, count(*) FROM records GROUP BY name",
]
SHORT_PLAIN = {  # our label -> Django locale folder
    "pt": "pt", "es": "es", "pl": "pl", "hr": "hr", "sr": "sr_Latn", "tr": "tr", "it": "it", "fr": "fr",
}  # fmt: skip
_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}|<[^>]+>|&\w+;")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def plain(text: str) -> str:
    """Diacritics removed, as typed on a keyboard without them (ł, đ, ı, ß folded too)."""
    folded = text.translate(str.maketrans({"ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ı": "i", "ß": "ss"}))
    return "".join(c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c))


def latin_catalog(folder: str) -> list[str]:
    import gettext

    import django

    texts = set()
    for mo in sorted(Path(django.__file__).parent.rglob(f"locale/{folder}/LC_MESSAGES/*.mo")):
        with open(mo, "rb") as handle:
            catalog = gettext.GNUTranslations(handle)._catalog
        for value in catalog.values():
            text = _PLACEHOLDER.sub("", value or "").strip()
            if len(text) >= 4 and "\x00" not in text:
                texts.add(text)
    return sorted(texts)


def quoted_chinese(messages: dict[str, list[str]], count: int, seed: int) -> list[tuple[str, str, str]]:
    """Chinese sentences around English: long strings are quoted (as Chinese writers quote UI text
    and commands), a bare slot takes a term or a command of up to 30 characters."""
    rng = random.Random(seed)
    quotable = [text for text in messages["en"] if 15 <= len(text) <= 70] + COMMANDS
    bare = [text for text in messages["en"] if 4 <= len(text) <= 30] + [c for c in COMMANDS if len(c) <= 30]
    docs = []
    for index in range(count):
        label = "zh-Hans" if index % 2 == 0 else "zh-Hant"
        if index % 3:
            frame = rng.choice(FRAMES[label])
            fills = []
            for slot in ("{0}", "{1}"):
                quoted = any(f"{mark}{slot}" in frame for mark in ('"', "`"))
                fills.append(rng.choice(quotable if quoted else bare))
            text = frame.format(*fills)
        else:  # a real translation with the English quoted inside it, between two characters
            sentence = rng.choice([t for t in messages[label] if 4 <= len(t) <= 30 and _HAN.match(t)])
            cuts = [
                i for i in range(1, len(sentence)) if _HAN.match(sentence[i - 1]) or _HAN.match(sentence[i])
            ]
            cut = rng.choice(cuts)
            opening, closing = rng.choice([('"', '"'), ("`", "`"), ("“", "”"), ("「", "」")])
            text = f"{sentence[:cut]} {opening}{rng.choice(quotable)}{closing} {sentence[cut:]}"
        docs.append((label, "zh-quoted", text))
    return docs


def short_plain(per_language: int, seed: int) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    docs = []
    for label, folder in SHORT_PLAIN.items():
        pool = [plain(text) for text in latin_catalog(folder) if 15 <= len(text) <= 80]
        for text in rng.sample(pool, min(per_language, len(pool))):
            docs.append((label, "short-plain", text))
    return docs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=600, help="zh-quoted documents")
    parser.add_argument("--per-language", type=int, default=150, help="short-plain documents per language")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from corpus_kit.stages.langid import LanguageIdentifier

    identifier = LanguageIdentifier()
    messages = catalogs()
    results: dict[str, object] = {}
    quoted = quoted_chinese(messages, args.docs, args.seed)
    predicted = [identifier.identify(text)[0] for _, _, text in quoted]
    right = sum(p == label for (label, _, _), p in zip(quoted, predicted, strict=True))
    chinese = sum(p.startswith("zh") for p in predicted)
    wrong = Counter(p for (label, _, _), p in zip(quoted, predicted, strict=True) if p != label)
    print(f"zh-quoted: {len(quoted)} documents; Chinese {chinese / len(quoted):.4f}, right variant "
          f"{right / len(quoted):.4f}; wrong labels {dict(wrong.most_common(6))}")  # fmt: skip
    results["zh_quoted"] = {
        "docs": len(quoted),
        "chinese": chinese / len(quoted),
        "exact": right / len(quoted),
    }

    short = short_plain(args.per_language, args.seed)
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    for label, _, text in short:
        confusion[label][identifier.identify(text)[0]] += 1
    print(f"short-plain: {len(short)} documents, diacritics removed, 15-80 characters")
    print("| language | docs | right | most common wrong labels |")
    print("|---|---:|---:|---|")
    total_right = 0
    by_language = {}
    for label in SHORT_PLAIN:
        row = confusion[label]
        docs = sum(row.values())
        total_right += row[label]
        wrong_labels = ", ".join([f"{k} {v}" for k, v in row.most_common() if k != label][:4])
        by_language[label] = row[label] / docs
        print(f"| {label} | {docs} | {row[label] / docs:.3f} | {wrong_labels} |")
    print(f"| **all** | {len(short)} | **{total_right / len(short):.3f}** | |")
    results["short_plain"] = {
        "docs": len(short),
        "accuracy": total_right / len(short),
        "by_language": by_language,
    }
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
