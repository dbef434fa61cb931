"""PII benchmark: recall per entity type, decoys kept, and throughput, with presidio's defaults beside.

    python benchmarks/bench_pii.py                       # 1,500 labelled docs + a 10 MB throughput set
    python benchmarks/bench_pii.py --labelled 3000 --mb 20 --json pii.json

Labelled set: real-looking zh and en text from the demo sample (via make_corpus), with synthetic
values made by checksum generators (ID cards, credit codes, Luhn cards, HKID, Taiwan ID, IBAN...)
placed in zh and en sentences, half of the zh ones glued to Chinese characters, some without
any context word; plus look-alike decoys that must be left alone (IDs with a wrong check digit,
order numbers, timestamps, ISBNs, version strings, numbers failing Luhn). A value counts as found
when one result covers its whole span; a decoy is kept when no result touches it.
Throughput set: mixed zh/en documents (mean ~4.5 KB) of which ~5% hold PII; one process (1 core);
MB/s over the UTF-8 size of the texts, scrubbing included.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import string
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_corpus import DEMO_DIR, CorpusMaker, load_pools  # noqa: E402

# --- checksum-valid value generators -------------------------------------------------------------
_REGIONS = [
    "440305",
    "440106",
    "110105",
    "310115",
    "330106",
    "510104",
    "420111",
    "320102",
    "350203",
    "610113",
]
_ID_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_USCC_A = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_W = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_TW = dict(zip("ABCDEFGHJKLMNPQRSTUVXYWZIO", range(10, 36), strict=True))
_PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁苏浙赣鄂桂甘晋蒙陕吉闽贵粤川"
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def id_check(first17: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, _ID_W, strict=True)) % 11]


def cn_id(rng: random.Random) -> str:
    body = rng.choice(_REGIONS) + f"{rng.randint(1950, 2006)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body += digits(rng, 3)
    return body + id_check(body)


def luhn_complete(rng: random.Random, prefix: str, length: int) -> str:
    body = prefix + digits(rng, length - len(prefix) - 1)
    total = 0
    for index, char in enumerate(reversed(body)):
        number = int(char)
        if index % 2 == 0:
            number = number * 2 - 9 if number > 4 else number * 2
        total += number
    return body + str((10 - total % 10) % 10)


def grouped(number: str, rng: random.Random) -> str:
    separator = rng.choice(["", " ", "-"])
    return separator.join(number[i : i + 4] for i in range(0, len(number), 4)) if separator else number


def uscc(rng: random.Random) -> str:
    org = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in org]
    check = (11 - sum(v * w for v, w in zip(values, (3, 7, 9, 10, 5, 8, 4, 2), strict=True)) % 11) % 11
    body = "91" + rng.choice(_REGIONS) + org + ("X" if check == 10 else str(check))
    total = sum(_USCC_A.index(c) * w for c, w in zip(body, _USCC_W, strict=True))
    return body + _USCC_A[(31 - total % 31) % 31]


def hk_id(rng: random.Random) -> str:
    prefix = rng.choice(string.ascii_uppercase)
    body = digits(rng, 6)
    values = [36, ord(prefix) - 55] + [int(d) for d in body]
    remainder = sum(v * w for v, w in zip(values, (9, 8, 7, 6, 5, 4, 3, 2), strict=True)) % 11
    check = "0" if remainder == 0 else "A" if remainder == 1 else str(11 - remainder)
    return f"{prefix}{body}({check})"


def tw_id(rng: random.Random) -> str:
    letter = rng.choice("ABCDEFGHJKLMNPQRSTUVXYWZIO")
    code = _TW[letter]
    body = rng.choice("12") + digits(rng, 7)
    total = code // 10 + (code % 10) * 9 + sum(int(d) * w for d, w in zip(body, range(8, 0, -1), strict=True))
    return letter + body + str((10 - total % 10) % 10)


def iban_de(rng: random.Random) -> str:
    bban = digits(rng, 18)
    number = int("".join(str(int(c, 36)) for c in bban + "DE00"))
    check = 98 - number % 97
    raw = f"DE{check:02d}{bban}"
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4)) if rng.random() < 0.5 else raw


def mobile(rng: random.Random) -> str:
    number = "1" + rng.choice("3456789") + digits(rng, 9)
    style = rng.randrange(5)
    if style == 1:
        return f"{number[:3]} {number[3:7]} {number[7:]}"
    if style == 2:
        return f"{number[:3]}-{number[3:7]}-{number[7:]}"
    if style == 3:
        return f"+86 {number}"
    if style == 4:
        return f"+86-{number[:3]}-{number[3:7]}-{number[7:]}"
    return number


def landline(rng: random.Random) -> str:
    area = rng.choice(["010", "020", "021", "0755", "0571", "028"])
    local = rng.choice("2345678") + digits(rng, 7 if len(area) == 3 or rng.random() < 0.5 else 6)
    if rng.random() < 0.5:
        return f"{area}-{local}"
    return f"({area}){local[:-4]} {local[-4:]}"


def email(rng: random.Random) -> str:
    user = rng.choice(
        ["zhang.wei", "li_na", "wang.fang88", "chen.jie", "liu-yang", "j.smith", "a.kumar", "data.ops"]
    )
    domain = rng.choice(
        ["sz.gov.cn", "example.com", "mail.szu.edu.cn", "corp.example.org", "163.com", "qq.com"]
    )
    return f"{user}{rng.randint(1, 999)}@{domain}"


def ip(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return f"2001:db8:{rng.randint(1, 0xFFFF):x}::{rng.randint(1, 0xFFFF):x}"
    return ".".join(str(rng.randint(1, 254)) for _ in range(4))


def plate(rng: random.Random) -> str:
    return (
        rng.choice(_PLATE_PROVINCES)
        + rng.choice(_PLATE_LETTERS)
        + "".join(rng.choice("0123456789" + _PLATE_LETTERS) for _ in range(5))
    )


VALUES: dict[str, Callable[[random.Random], str]] = {
    "CN_ID_CARD": cn_id,
    "PHONE_NUMBER": lambda rng: mobile(rng) if rng.random() < 0.7 else landline(rng),
    "BANK_CARD": lambda rng: grouped(
        luhn_complete(rng, "62" + rng.choice("1258"), rng.choice((16, 19))), rng
    ),
    "CREDIT_CARD": lambda rng: grouped(luhn_complete(rng, rng.choice(["4", "51", "53", "55"]), 16), rng),
    "CN_USCC": uscc,
    "CN_PASSPORT": lambda rng: "E" + digits(rng, 8),
    "HK_ID": hk_id,
    "TW_ID": tw_id,
    "CN_LICENSE_PLATE": plate,
    "EMAIL_ADDRESS": email,
    "IP_ADDRESS": ip,
    "IBAN": iban_de,
}

# sentences around a value: zh ones with {v} glued to Chinese characters; "bare" ones have no context word
TEMPLATES: dict[str, dict[str, list[str]]] = {
    "CN_ID_CARD": {
        "zh": ["申请人身份证号{v}已核验。", "证件号码：{v}，请妥善保管。", "编号{v}的材料已归档。"],
        "en": ["The applicant's ID card number {v} was verified.", "Record {v} was archived."],
    },
    "PHONE_NUMBER": {
        "zh": ["如有疑问请拨打{v}咨询。", "联系电话：{v}（工作日）。", "请致电{v}预约。"],
        "en": ["For questions call {v} on weekdays.", "Contact phone: {v}."],
    },
    "BANK_CARD": {
        "zh": ["退款将转入卡号{v}的银行卡。", "请核对{v}是否为本人账户。"],
        "en": ["The refund goes to bank card {v}.", "Payment received from {v} yesterday."],
    },
    "CREDIT_CARD": {
        "zh": ["信用卡{v}已挂失。", "扣款卡{v}授权成功。"],
        "en": ["Credit card {v} was blocked.", "Charged to {v} on 3 March."],
    },
    "CN_USCC": {
        "zh": ["企业统一社会信用代码{v}，注册地深圳。", "供应商{v}已通过审核。"],
        "en": ["Supplier credit code {v} passed the review.", "Registered entity {v}."],
    },
    "CN_PASSPORT": {
        "zh": ["护照号{v}已登记。", "旅客护照号码：{v}。"],
        "en": ["Passport {v} was scanned.", "passport no. {v}"],
    },
    "HK_ID": {
        "zh": ["香港身份证{v}已核对。", "持证人{v}办理了手续。"],
        "en": ["HKID {v} was checked.", "Holder {v} signed."],
    },
    "TW_ID": {
        "zh": ["台湾身份证{v}已登记。", "申请人{v}资料齐全。"],
        "en": ["Taiwan ID {v} on file.", "Applicant {v} confirmed."],
    },
    "CN_LICENSE_PLATE": {
        "zh": ["车牌{v}的车辆已驶离。", "违章车辆{v}请及时处理。"],
        "en": ["Vehicle plate {v} left the depot.", "Car {v} was towed."],
    },
    "EMAIL_ADDRESS": {
        "zh": ["请发送至邮箱{v}联系我们。", "来信请寄{v}。"],
        "en": ["Write to {v} for details.", "Email: {v}"],
    },
    "IP_ADDRESS": {
        "zh": ["服务器{v}上的日志已清理。", "来自{v}的访问被拦截。"],
        "en": ["Logs on server {v} were rotated.", "Requests from {v} were blocked."],
    },
    "IBAN": {
        "zh": ["境外汇款账户IBAN {v}。"],
        "en": ["Wire to IBAN {v} before Friday.", "Account {v} was credited."],
    },
}


def decoy(rng: random.Random) -> tuple[str, str]:
    """A look-alike that is not personal data, inside a sentence: (sentence template, value)."""
    kind = rng.randrange(9)
    if kind == 0:  # ID-card shaped, wrong check digit
        good = cn_id(rng)
        wrong = good[:17] + rng.choice([c for c in "0123456789X" if c != good[17]])
        return rng.choice(["档案编号{v}已作废。", "Batch {v} expired."]), wrong
    if kind == 1:
        return rng.choice(
            ["订单号SO-{v}已发货。", "Order SO-{v} shipped."]
        ), f"{rng.randint(2020, 2026)}{digits(rng, 4)}-{digits(rng, 5)}"
    if kind == 2:
        return rng.choice(
            ["时间戳{v}记录在案。", "timestamp {v} logged"]
        ), f"2026{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{digits(rng, 6)}"
    if kind == 3:
        return rng.choice(
            ["参考书目ISBN {v}。", "See ISBN {v}."]
        ), f"978-7-{digits(rng, 3)}-{digits(rng, 5)}-{rng.randint(0, 9)}"
    if kind == 4:
        return rng.choice(["客户端需升级至 {v} 及以上版本。", "Upgrade to version {v} first."]), ".".join(
            str(rng.randint(1, 20)) for _ in range(4)
        )
    if kind == 5:  # 16 digits failing Luhn
        good = luhn_complete(rng, "62", 16)
        return rng.choice(["流水号{v}已入账。", "Transaction {v} settled."]), good[:15] + str(
            (int(good[15]) + 5) % 10
        )
    if kind == 6:  # 11 digits that are not a mobile number
        return rng.choice(["工单{v}已关闭。", "Ticket {v} closed."]), rng.choice(["10", "12"]) + digits(
            rng, 9
        )
    if kind == 7:  # credit-code shaped, wrong check character
        good = uscc(rng)
        return rng.choice(["备案号{v}。", "Filing {v}."]), good[:17] + rng.choice(
            [c for c in _USCC_A if c != good[17]]
        )
    good = hk_id(rng)  # HKID with a wrong check digit
    wrong = good[:-2] + rng.choice([c for c in "0123456789A" if c != good[-2]]) + ")"
    return rng.choice(["登记号{v}。", "Reference {v}."]), wrong


def labelled_docs(
    count: int, seed: int
) -> list[tuple[str, list[tuple[str, int, int]], list[tuple[int, int]]]]:
    """Docs with (text, [(entity, start, end)], [(decoy start, end)])."""
    rng = random.Random(seed)
    maker = CorpusMaker(load_pools(DEMO_DIR), seed)
    entities = list(VALUES)
    docs = []
    for index in range(count):
        lang = "zh" if index % 2 == 0 else "en"
        paragraphs = maker.new_doc(lang, rng.randint(600, 2000)).split("\n")
        inserts: list[tuple[str | None, str, str]] = []
        for slot in range(2):
            entity = entities[(index * 2 + slot) % len(entities)]
            template = rng.choice(
                TEMPLATES[entity][lang if rng.random() < 0.8 else ("en" if lang == "zh" else "zh")]
            )
            inserts.append((entity, template, VALUES[entity](rng)))
        template, value = decoy(rng)
        inserts.append((None, template, value))
        segments: list[str] = []
        spans: list[tuple[str, int, int]] = []
        decoys: list[tuple[int, int]] = []
        position = 0
        slots = sorted(rng.sample(range(len(paragraphs) + 1), k=min(len(inserts), len(paragraphs) + 1)))
        slots += [len(paragraphs)] * (len(inserts) - len(slots))
        pending = dict(zip(range(len(inserts)), slots, strict=True))
        for p_index in range(len(paragraphs) + 1):
            for i_index, slot in list(pending.items()):
                if slot != p_index:
                    continue
                entity, template, value = inserts[i_index]
                head, tail = template.split("{v}")
                start = position + len(head)
                sentence = head + value + tail + "\n"
                (
                    spans.append((entity, start, start + len(value)))
                    if entity
                    else decoys.append((start, start + len(value)))
                )
                segments.append(sentence)
                position += len(sentence)
                del pending[i_index]
            if p_index < len(paragraphs):
                segments.append(paragraphs[p_index] + "\n")
                position += len(paragraphs[p_index]) + 1
        docs.append(("".join(segments), spans, decoys))
    return docs


def evaluate(find: Callable[[str], list], docs: list) -> tuple[dict[str, tuple[int, int]], tuple[int, int]]:
    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    kept = decoy_total = 0
    for text, spans, decoys in docs:
        results = [(r.start, r.end) for r in find(text)]
        for entity, start, end in spans:
            total[entity] += 1
            if any(s <= start and e >= end for s, e in results):
                found[entity] += 1
        for start, end in decoys:
            decoy_total += 1
            if not any(s < end and e > start for s, e in results):
                kept += 1
    return {entity: (found[entity], total[entity]) for entity in sorted(total)}, (kept, decoy_total)


def presidio_default_engine():
    """presidio's predefined recognizers, pattern-only (NoOp NLP engine, no spaCy model)."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NoOpNlpEngine

    nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    nlp.load()
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp)
    registry.remove_recognizer("SpacyRecognizer")
    return AnalyzerEngine(nlp_engine=nlp, registry=registry, supported_languages=["en"])


def throughput_docs(megabytes: float, seed: int, pii_share: float = 0.05) -> list[str]:
    rng = random.Random(seed + 1)
    maker = CorpusMaker(load_pools(DEMO_DIR), seed + 1)
    docs, size = [], 0
    entities = list(VALUES)
    while size < megabytes * 1e6:
        lang = "zh" if rng.random() < 0.6 else "en"
        text = maker.new_doc(lang, maker.doc_size())
        if rng.random() < pii_share:
            for _ in range(rng.randint(1, 3)):
                entity = rng.choice(entities)
                text += "\n" + rng.choice(TEMPLATES[entity][lang]).replace("{v}", VALUES[entity](rng))
        docs.append(text)
        size += len(text.encode())
    return docs


def timed(function: Callable[[str], object], docs: list[str]) -> float:
    started = time.perf_counter()
    for text in docs:
        function(text)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labelled", type=int, default=1500, help="labelled documents")
    parser.add_argument("--mb", type=float, default=10.0, help="size of the throughput set")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from presidio_anonymizer import AnonymizerEngine

    from corpus_kit.stages.pii.scrubber import PiiScrubber

    ours = PiiScrubber()
    full_text = PiiScrubber(prescan=False)
    presidio = presidio_default_engine()
    anonymizer = AnonymizerEngine()

    docs = labelled_docs(args.labelled, args.seed)
    our_recall, our_decoys = evaluate(ours.find, docs)
    presidio_recall, presidio_decoys = evaluate(lambda t: presidio.analyze(t, language="en"), docs)

    def spans(scrubber: PiiScrubber, text: str) -> list[tuple[str, int, int]]:
        return [(r.entity_type, r.start, r.end) for r in scrubber.find(text)]

    mismatches = sum(spans(ours, t) != spans(full_text, t) for t, _, _ in docs)
    values = sum(total for _, total in our_recall.values())
    print(
        f"labelled set: {len(docs)} docs, {values} values of {len(our_recall)} types, {our_decoys[1]} decoys"
    )
    print("| entity | values | corpus-kit recall | presidio defaults (pattern-only) recall |")
    print("|---|---:|---:|---:|")
    for entity, (found, total) in our_recall.items():
        p_found = presidio_recall.get(entity, (0, total))[0]
        print(f"| {entity} | {total} | {found / total:.4f} | {p_found / total:.4f} |")
    print(
        f"| decoys kept | {our_decoys[1]} | {our_decoys[0] / our_decoys[1]:.4f} | "
        f"{presidio_decoys[0] / presidio_decoys[1]:.4f} |"
    )
    print(f"pre-scan windows vs full-text analysis: {mismatches} documents differ")

    corpus = throughput_docs(args.mb, args.seed)
    size = sum(len(t.encode()) for t in corpus)
    ours.find(corpus[0])
    our_times = [timed(lambda t: ours.scrub(t), corpus) for _ in range(3)]
    subset = corpus  # the same documents for presidio, one run (it is slow)

    def presidio_scrub(text: str) -> None:
        results = presidio.analyze(text, language="en")
        if results:
            anonymizer.anonymize(text, results)

    presidio_time = timed(presidio_scrub, subset)
    our_time = statistics.median(our_times)
    print(f"throughput set: {len(corpus)} docs, {size / 1e6:.1f} MB, ~5% with PII, 1 process")
    print("| tool | s | MB/s | docs/s |")
    print("|---|---:|---:|---:|")
    our_rate = size / our_time / 1e6
    print(
        f"| corpus-kit pii (median of 3) | {our_time:.2f} | {our_rate:.2f} | {len(corpus) / our_time:,.0f} |"
    )
    print(
        f"| presidio defaults, pattern-only | {presidio_time:.2f} | {size / presidio_time / 1e6:.2f} | "
        f"{len(corpus) / presidio_time:,.0f} |"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "recall": {k: {"found": f, "total": t} for k, (f, t) in our_recall.items()},
                    "presidio_recall": {k: {"found": f, "total": t} for k, (f, t) in presidio_recall.items()},
                    "decoys_kept": our_decoys,
                    "presidio_decoys_kept": presidio_decoys,
                    "prescan_mismatches": mismatches,
                    "throughput": {
                        "bytes": size,
                        "docs": len(corpus),
                        "seconds": our_time,
                        "presidio_seconds": presidio_time,
                    },
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
