"""Make a synthetic benchmark corpus of JSONL files from the demo sample's own text.

Writes ``DIR/part-00000.jsonl`` ... ``DIR/part-0000{k}.jsonl`` with records
``{"id", "text", "metadata": {"source", "license"}}`` totalling ``--mb`` megabytes (10^6 bytes, within 1%):

* about 60% Chinese and 40% English by bytes;
* documents of 300 B - 25 KB, mean about 4.5 KB (log-normal, clipped);
* about 5% exact duplicates (some with whitespace noise) and 10% near duplicates (2-5% of the
  characters or words edited) of earlier documents;
* synthetic PII (phone numbers, e-mails, ID numbers, bank cards, credit codes, IPs) in about 3%.

Every document is assembled from paragraphs and sentences of the valid records in ``samples/demo/``
(``*.jsonl``, ``*.jsonl.gz`` and, when pyarrow is installed, ``*.parquet``): paragraphs are shuffled,
sentences from different records are mixed, numbers are re-drawn and connectives inserted, so that
documents are distinct apart from the planted duplicates. Records labelled ``pii`` or ``low_quality`` in
``labels.json`` are left out, so the only PII is what this script plants. The output depends only on
``--seed`` and the sample. Needs orjson (and pyarrow only to read the Parquet seed).

Example: ``python benchmarks/make_corpus.py -o /tmp/bench_corpus --mb 100 --files 5``
"""

from __future__ import annotations

import argparse
import gzip
import math
import random
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import orjson

DEMO_DIR = Path(__file__).resolve().parent.parent / "samples" / "demo"
MB = 1_000_000
MIN_DOC, MAX_DOC, MEAN_DOC = 300, 25_000, 4_500
SIZE_MARGIN = 40, 400  # room for near-duplicate deletions below and planted PII above
DOC_SIGMA = 0.85
ZH_SHARE = 0.60
EXACT_DUP_RATE, NEAR_DUP_RATE, PII_RATE = 0.05, 0.10, 0.03
RESERVOIR = 4_000  # earlier documents that duplicates are drawn from
LINE_OVERHEAD = 140  # bytes of JSON around the text, for planning sizes

ZH_SOURCES = [
    ("sz-open-data", "CC-BY-4.0"),
    ("sz-open-data", "CC-BY-4.0"),
    ("sz-health-commission", "LicenseRef-sz-health-data-agreement"),
    ("edu-bureau", "CC-BY-4.0"),
    ("metro-ops", "CC-BY-NC-4.0"),
    ("bank-consortium", "LicenseRef-bank-consortium-research"),
    ("uav-traffic-center", "CC-BY-NC-4.0"),
]
EN_SOURCES = [
    ("web-crawl-2026-10", "CC-BY-4.0"),
    ("web-crawl-2026-10", "CC-BY-SA-4.0"),
    ("web-crawl-2026-10", "CC0-1.0"),
    ("web-crawl-2026-10", "MIT"),
]
ZH_CONNECTIVES = [
    "此外，",
    "据了解，",
    "值得注意的是，",
    "总体来看，",
    "从数据上看，",
    "与此同时，",
    "另据统计，",
    "相比之下，",
]
EN_CONNECTIVES = [
    "In addition, ",
    "According to the latest figures, ",
    "Interestingly, ",
    "At the same time, ",
    "As a result, ",
    "On the other hand, ",
    "For what it's worth, ",
    "By comparison, ",
]

_HAN = re.compile(r"[\u4e00-\u9fff]")
_KANA_HANGUL = re.compile(r"[\u3040-\u30ff\uac00-\ud7af]")
_LATIN = re.compile(r"[A-Za-z]")
_ZH_SENT = re.compile(r"(?<=[。！？；])")
_EN_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")
_NUMBER = re.compile(r"(?<![\d.\w])(\d{1,6})(\.\d)?(?![\d\w])")


# ---------------------------------------------------------------------------------------------
# Seed text
# ---------------------------------------------------------------------------------------------


@dataclass
class Pools:
    """Paragraphs, sentences and titles per language ("zh", "en")."""

    paras: dict[str, list[str]] = field(default_factory=lambda: {"zh": [], "en": []})
    sents: dict[str, list[str]] = field(default_factory=lambda: {"zh": [], "en": []})
    titles: dict[str, list[str]] = field(default_factory=lambda: {"zh": [], "en": []})
    records: int = 0


def _valid_records(demo: Path) -> Iterator[tuple[str, str]]:
    """``(id, text)`` of every valid record in the demo sample's JSONL and Parquet files."""
    for path in sorted(demo.iterdir()):
        name = path.name
        if name.endswith((".jsonl", ".jsonl.gz")):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rb") as f:
                for line in f:
                    try:
                        obj = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        continue
                    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
                        yield str(obj.get("id", "")), obj["text"]
        elif name.endswith(".parquet"):
            try:
                import pyarrow.parquet as pq
            except ImportError:
                print(f"note: pyarrow not installed, skipping {name}", file=sys.stderr)
                continue
            table = pq.read_table(path, columns=["id", "text"])
            for rid, text in zip(
                table.column("id").to_pylist(), table.column("text").to_pylist(), strict=True
            ):
                if isinstance(text, str):
                    yield str(rid), text


def _lang_of(para: str) -> str | None:
    """ "zh" or "en" for a paragraph, None for Japanese/Korean or symbol-heavy text."""
    if _KANA_HANGUL.search(para):
        return None
    han = len(_HAN.findall(para))
    latin = len(_LATIN.findall(para))
    visible = len(para) - para.count(" ")
    if han >= 0.3 * visible:
        return "zh"
    if latin >= 0.6 * visible and han == 0:
        return "en"
    return None


def load_pools(demo: Path) -> Pools:
    excluded: set[str] = set()
    labels_path = demo / "labels.json"
    if labels_path.exists():
        labels = orjson.loads(labels_path.read_bytes())
        excluded = {rid for rid, lab in labels.items() if {"pii", "low_quality"} & set(lab.get("kind", []))}
    pools = Pools()
    seen: set[str] = set()
    for rid, text in _valid_records(demo):
        if rid in excluded:
            continue
        pools.records += 1
        for raw in text.split("\n"):
            para = raw.strip()
            lang = _lang_of(para)
            if lang is None or para in seen:
                continue
            seen.add(para)
            short = len(para) < (30 if lang == "zh" else 70)
            if short and not para.endswith(("。", ".", "!", "?", "！", "？")):
                pools.titles[lang].append(para)
                continue
            pools.paras[lang].append(para)
            splitter = _ZH_SENT if lang == "zh" else _EN_SENT
            for s in splitter.split(para):
                s = s.strip()
                if len(s) >= (8 if lang == "zh" else 25) and s not in seen:
                    seen.add(s)
                    pools.sents[lang].append(s)
    for lang in ("zh", "en"):
        if not pools.paras[lang] or not pools.sents[lang]:
            raise SystemExit(f"no usable {lang} text in {demo}")
        if not pools.titles[lang]:
            pools.titles[lang] = pools.sents[lang][:50]
    return pools


# ---------------------------------------------------------------------------------------------
# Synthetic PII (valid check digits; all values random)
# ---------------------------------------------------------------------------------------------

_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def _cn_id(rng: random.Random) -> str:
    birth = date(1958, 1, 1) + timedelta(days=rng.randrange(17_000))
    body = rng.choice(["440304", "440305", "440306", "440307", "110105", "310115"]) + birth.strftime("%Y%m%d")
    body += _digits(rng, 3)
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]


def _bank_card(rng: random.Random) -> str:
    body = rng.choice(["622202", "621700", "623668", "625908"]) + _digits(rng, rng.choice([9, 10, 12]))
    return body + _luhn_digit(body)


def _uscc(rng: random.Random) -> str:
    org = "MA5" + "".join(rng.choice(_USCC_CHARS) for _ in range(5))
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in org]
    c9 = 11 - sum(v * w for v, w in zip(values, [3, 7, 9, 10, 5, 8, 4, 2], strict=True)) % 11
    body = "91" + rng.choice(["440300", "440305", "440306"]) + org + {10: "X", 11: "0"}.get(c9, str(c9))
    s = sum(_USCC_CHARS.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=True))
    return body + _USCC_CHARS[(31 - s % 31) % 31]


PII_MAKERS: dict[str, Callable[[random.Random], str]] = {
    "MOBILE": lambda r: r.choice(["138", "139", "150", "186", "177", "199"]) + _digits(r, 8),
    "TEL": lambda r: "0755-" + r.choice("2345678") + _digits(r, 7),
    "EMAIL": lambda r: r.choice(["zhang.wei", "li_na", "service", "j.smith", "apply"]) + "@example.com",
    "ID": _cn_id,
    "CARD": _bank_card,
    "USCC": _uscc,
    "IP": lambda r: f"203.0.113.{r.randint(2, 254)}",
}
ZH_PII = [
    "如需预约，请拨打{MOBILE}咨询。",
    "联系人王女士，电话 {TEL} ，邮箱 {EMAIL} 。",
    "申请人身份证号码{ID}，已核验。",
    "补贴资金已发放至银行卡{CARD}，请注意查收。",
    "该企业统一社会信用代码为{USCC}。",
    "异常请求来自{IP}，已被网关拦截。",
]
EN_PII = [
    "For bookings, call +86 {MOBILE} or email {EMAIL}.",
    "The refund went to card number {CARD}.",
    "The wallet contained an ID card numbered {ID}.",
    "Repeated requests came from {IP} overnight.",
    "The contractor's credit code, {USCC}, is on the permit.",
]
_SLOT = re.compile(r"\{([A-Z]+)\}")


def pii_sentence(rng: random.Random, lang: str) -> str:
    tpl = rng.choice(ZH_PII if lang == "zh" else EN_PII)
    return _SLOT.sub(lambda m: PII_MAKERS[m.group(1)](rng), tpl)


# ---------------------------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------------------------


def _clipped_lognormal_mean(mu: float, sigma: float, lo: float, hi: float) -> float:
    def cdf(x: float) -> float:
        return 0.5 * (1 + math.erf(x / math.sqrt(2)))

    la, lb = math.log(lo), math.log(hi)
    middle = math.exp(mu + sigma**2 / 2) * (
        cdf((lb - mu - sigma**2) / sigma) - cdf((la - mu - sigma**2) / sigma)
    )
    return middle + lo * cdf((la - mu) / sigma) + hi * (1 - cdf((lb - mu) / sigma))


def _mu_for_mean(mean: float, sigma: float, lo: float, hi: float) -> float:
    a, b = math.log(lo), math.log(hi)
    for _ in range(60):
        mid = (a + b) / 2
        if _clipped_lognormal_mean(mid, sigma, lo, hi) < mean:
            a = mid
        else:
            b = mid
    return (a + b) / 2


class CorpusMaker:
    def __init__(self, pools: Pools, seed: int) -> None:
        self.p = pools
        self.rng = random.Random(seed)
        self.mu = _mu_for_mean(MEAN_DOC, DOC_SIGMA, MIN_DOC + SIZE_MARGIN[0], MAX_DOC - SIZE_MARGIN[1])
        self.zh_chars = sorted({c for s in pools.sents["zh"] for c in s if "\u4e00" <= c <= "\u9fff"})
        self.en_words = sorted({w for s in pools.sents["en"] for w in s.split() if w.isalpha()})

    def doc_size(self) -> int:
        size = self.rng.lognormvariate(self.mu, DOC_SIGMA)
        return int(min(MAX_DOC - SIZE_MARGIN[1], max(MIN_DOC + SIZE_MARGIN[0], size)))

    def _renumber(self, text: str) -> str:
        rng = self.rng

        def repl(m: re.Match[str]) -> str:
            whole, frac = m.group(1), m.group(2)
            if len(whole) == 4 and 1900 <= int(whole) <= 2099:  # years stay years
                return str(rng.randint(2018, 2026)) + (frac or "")
            n = len(whole)
            lo = 10 ** (n - 1) if n > 1 else 1
            value = str(rng.randint(lo, 10**n - 1))
            return value + (f".{rng.randrange(10)}" if frac else "")

        return _NUMBER.sub(repl, text)

    def _paragraph(self, lang: str) -> str:
        rng = self.rng
        if rng.random() < 0.3:
            para = rng.choice(self.p.paras[lang])
            if rng.random() < 0.5:  # shuffle its sentences
                parts = [s for s in (_ZH_SENT if lang == "zh" else _EN_SENT).split(para) if s]
                rng.shuffle(parts)
                para = ("" if lang == "zh" else " ").join(p.strip() for p in parts)
        else:  # mix sentences from anywhere in the sample
            sents = [rng.choice(self.p.sents[lang]) for _ in range(rng.randint(2, 6))]
            para = ("" if lang == "zh" else " ").join(sents)
        if rng.random() < 0.2:
            if lang == "zh":
                para = rng.choice(ZH_CONNECTIVES) + para
            else:
                para = rng.choice(EN_CONNECTIVES) + para[0].lower() + para[1:]
        return self._renumber(para)

    def new_doc(self, lang: str, target: int) -> str:
        rng = self.rng
        parts: list[str] = []
        size = 0
        if rng.random() < 0.6:
            parts.append(self._renumber(rng.choice(self.p.titles[lang])))
            size += len(parts[0].encode()) + 1
        while size < target:
            para = self._paragraph(lang)
            parts.append(para)
            size += len(para.encode()) + 1
        raw = "\n".join(parts).encode()
        if len(raw) > target:  # cut back to a sentence or paragraph end when one is near
            cut = max(
                raw.rfind(b"\n", 0, target),
                raw.rfind("。".encode(), 0, target - 2) + 3,
                raw.rfind(b". ", 0, target) + 1,
            )
            raw = raw[: cut if cut >= max(0.9 * target, MIN_DOC + SIZE_MARGIN[0]) else target]
        return raw.decode("utf-8", "ignore").strip()

    def add_pii(self, text: str, lang: str) -> str:
        rng = self.rng
        paras = text.split("\n")
        for _ in range(rng.choice([1, 1, 2])):
            i = rng.randrange(len(paras))
            joiner = "" if lang == "zh" else " "
            paras[i] = paras[i] + joiner + pii_sentence(rng, lang)
        return "\n".join(paras)

    def near_dup(self, text: str, lang: str) -> str:
        """Edit 2-5% of the CJK characters (zh) or words (en): substitute, delete or insert."""
        rng = self.rng
        rate = rng.uniform(0.02, 0.05)
        if lang == "zh":
            chars = list(text)
            idx = [i for i, c in enumerate(chars) if "\u4e00" <= c <= "\u9fff"]
            pool = self.zh_chars
        else:
            chars = text.split(" ")
            idx = list(range(len(chars)))
            pool = self.en_words
        if not idx:
            return text + ("。" if lang == "zh" else ".")
        for i in sorted(rng.sample(idx, max(1, round(rate * len(idx)))), reverse=True):
            op = rng.random()
            if op < 0.6:
                chars[i] = rng.choice(pool)
            elif op < 0.8:
                del chars[i]
            else:
                chars.insert(i, rng.choice(pool))
        return ("" if lang == "zh" else " ").join(chars)

    def whitespace_noise(self, text: str) -> str:
        return "  " + text.replace("\n", " \n\u3000") + "\t"


@dataclass
class Stats:
    docs: int = 0
    bytes: int = 0
    zh_bytes: int = 0
    exact: int = 0
    near: int = 0
    pii: int = 0


def generate(out: Path, total_mb: float, files: int, seed: int, demo: Path) -> Stats:
    pools = load_pools(demo)
    maker = CorpusMaker(pools, seed)
    rng = maker.rng
    out.mkdir(parents=True, exist_ok=True)
    total = int(total_mb * MB)
    stats = Stats()
    reservoir: list[tuple[str, str, int, bool]] = []  # (text, lang, source index, has PII)
    for k in range(files):
        budget = total * (k + 1) // files - total * k // files
        written = 0
        with open(out / f"part-{k:05d}.jsonl", "wb", buffering=1 << 20) as f:
            while budget - written >= MIN_DOC + LINE_OVERHEAD:
                room = budget - written - LINE_OVERHEAD
                roll = rng.random()
                text = ""
                if roll < EXACT_DUP_RATE + NEAR_DUP_RATE and reservoir:
                    src_text, lang, src, has_pii = rng.choice(reservoir)
                    if len(src_text.encode()) + 64 <= room:
                        if roll < EXACT_DUP_RATE:
                            text = maker.whitespace_noise(src_text) if rng.random() < 0.3 else src_text
                            stats.exact += 1
                        else:
                            text = maker.near_dup(src_text, lang)
                            stats.near += 1
                        source, licence = (ZH_SOURCES if lang == "zh" else EN_SOURCES)[src]
                        stats.pii += has_pii
                if not text:
                    lang = "zh" if rng.random() < ZH_SHARE else "en"
                    text = maker.new_doc(lang, min(maker.doc_size(), room))
                    has_pii = rng.random() < PII_RATE
                    if has_pii:
                        text = maker.add_pii(text, lang)
                        stats.pii += 1
                    src = rng.randrange(len(ZH_SOURCES if lang == "zh" else EN_SOURCES))
                    source, licence = (ZH_SOURCES if lang == "zh" else EN_SOURCES)[src]
                    if len(reservoir) < RESERVOIR:
                        reservoir.append((text, lang, src, has_pii))
                    elif rng.random() < 0.25:  # keep the reservoir moving through the corpus
                        reservoir[rng.randrange(RESERVOIR)] = (text, lang, src, has_pii)
                record = {
                    "id": f"bench-{seed}-{stats.docs:08d}",
                    "text": text,
                    "metadata": {"source": source, "license": licence},
                }
                line = orjson.dumps(record) + b"\n"
                f.write(line)
                written += len(line)
                stats.docs += 1
                stats.bytes += len(line)
                if lang == "zh":
                    stats.zh_bytes += len(line)
    return stats


def add_size_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every corpus generator here shares: where, how big, in how many files, which seed."""
    parser.add_argument("-o", "--out", type=Path, required=True, help="output folder")
    parser.add_argument("--mb", type=float, default=100.0, help="total size in MB (10^6 bytes), default 100")
    parser.add_argument("--files", type=int, default=5, help="number of part-NNNNN.jsonl files, default 5")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--demo", type=Path, default=DEMO_DIR, help="seed sample folder (default samples/demo)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    add_size_arguments(parser)
    args = parser.parse_args(argv)
    if args.files < 1 or args.mb <= 0:
        parser.error("--files must be >= 1 and --mb > 0")
    start = time.perf_counter()
    s = generate(args.out, args.mb, args.files, args.seed, args.demo)
    elapsed = time.perf_counter() - start
    docs = max(1, s.docs)
    print(
        f"{args.files} files, {s.bytes:,} bytes ({s.bytes / MB:.1f} MB), {s.docs:,} docs "
        f"(mean {s.bytes / docs / 1000:.2f} KB, zh {s.zh_bytes / max(1, s.bytes):.0%} of bytes, "
        f"{s.exact / docs:.1%} exact dups, {s.near / docs:.1%} near dups, {s.pii / docs:.1%} with PII) "
        f"in {elapsed:.1f} s -> {args.out}"
    )


if __name__ == "__main__":
    main()
