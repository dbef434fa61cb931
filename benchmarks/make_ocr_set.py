"""Make the OCR set: pictures with rendered Chinese/English text, half holding personal data.

Every picture is drawn here, from a seed (no photograph, no downloaded background): two to five
lines of zh/en text in one of five font set-ups (WenQuanYi Micro Hei; Droid Sans Fallback for
Chinese with Roboto Regular, Bold or Condensed for Latin; subsets shipped under tests/data/fonts),
14-40 px, on a plain, dark, gradient, noisy or smooth-colour-field background, in a contrasting
colour, saved as PNG or JPEG (quality 70-95). A positive picture holds one checksum-valid value:
an 18-digit ID-card number (GB 11643), a mobile number (13x-19x, four layouts) or a UnionPay card
(Luhn, 16-19 digits, grouped or not), with or without a label; negatives hold numbers that are
not personal data (dates, amounts, order and postal codes, versions). Each line's text is checked
with the pii step's own finder when the set is made: a positive line must be found, a negative
picture must hold nothing, so that the benchmark measures reading, not the recognizers.

    python benchmarks/make_ocr_set.py -o /tmp/ocr-set [--count 240] [--seed 7]

writes ``ocr-set.jsonl`` (one record per picture: a neutral caption and the picture's path),
``images/`` and ``labels.json`` (id -> positive, entity type, font, size, background; no values).
"""

from __future__ import annotations

import argparse
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "fonts"
WQY = "WenQuanYiMicroHei-subset.ttf"
DROID = "DroidSansFallbackFull-subset.ttf"
LATIN = ("Roboto-Regular-subset.ttf", "Roboto-Bold-subset.ttf", "RobotoCondensed-Regular-subset.ttf")
#: (Chinese font, Latin font) set-ups
FONT_SETUPS = ((WQY, WQY), (DROID, LATIN[0]), (DROID, LATIN[1]), (DROID, LATIN[2]), (WQY, LATIN[1]))

# clean sentences (public-information style); the font subsets hold exactly these characters
SENTENCES_ZH = (
    "深圳市低空经济发展报告",
    "城市开放数据平台年度统计",
    "无人机物流配送试点项目公告",
    "智慧交通信号灯优化方案",
    "公共图书馆开放时间调整通知",
    "社区卫生服务中心便民指南",
    "新能源汽车充电设施分布图",
    "政务服务事项办理流程说明",
    "气象观测站数据质量评估",
    "港口集装箱吞吐量月度简报",
    "校园安全教育主题活动安排",
    "绿色建筑节能改造技术要点",
)
SENTENCES_EN = (
    "Open data portal annual summary",
    "Low-altitude logistics pilot notice",
    "Traffic signal optimisation plan",
    "Library opening hours update",
    "Community health service guide",
    "Port container throughput brief",
    "Weather station data quality review",
    "Green building retrofit checklist",
)
CLEAN_NUMBERS = (
    "发布日期 {y}-{m:02d}-{d:02d}",
    "订单编号 SZ{y}{m:02d}{d:02d}{k:05d}",
    "金额 ¥{a:,}.00",
    "第 {p} 页 共 {q} 页",
    "邮编 518{k3:03d}",
    "版本 {p}.{q}.{k3}",
    "Invoice {y}-{k:04d}",
    "Population {big:,}",
    "Updated {d:02d}/{m:02d}/{y}",
    "热线 12345",
    "流水号 {flow}",
)
ID_LABELS = ("身份证号：", "公民身份号码 ", "ID No. ", "证件号 ", "")
PHONE_LABELS = ("联系电话：", "手机 ", "Tel: ", "Mobile ", "")
BANK_LABELS = ("银行卡号：", "卡号 ", "Account No. ", "开户行 工商银行 账号 ", "")
_REGIONS = ("110101", "310104", "440305", "440106", "330106", "510107", "320102", "420106", "370202")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_card(rng: random.Random) -> str:
    body = (
        rng.choice(_REGIONS)
        + f"{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        + f"{rng.randint(0, 999):03d}"
    )
    return body + _ID_CHECK[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]


def luhn_complete(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:  # doubled: the check digit will be appended to the right
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return digits + str((10 - total % 10) % 10)


def phone(rng: random.Random) -> str:
    number = f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}"
    layout = rng.randrange(4)
    if layout == 1:
        return f"{number[:3]} {number[3:7]} {number[7:]}"
    if layout == 2:
        return f"{number[:3]}-{number[3:7]}-{number[7:]}"
    if layout == 3:
        return f"+86 {number[:3]} {number[3:7]} {number[7:]}"
    return number


def bank_card(rng: random.Random) -> str:
    length = rng.choice((16, 16, 19, 17, 18))
    body = "62" + "".join(str(rng.randint(0, 9)) for _ in range(length - 3))
    card = luhn_complete(body)
    if rng.random() < 0.5:
        return " ".join(card[i : i + 4] for i in range(0, len(card), 4))
    return card


VALUES: dict[str, tuple[Callable[[random.Random], str], tuple[str, ...]]] = {
    "CN_ID_CARD": (id_card, ID_LABELS),
    "PHONE_NUMBER": (phone, PHONE_LABELS),
    "BANK_CARD": (bank_card, BANK_LABELS),
}


def clean_number(rng: random.Random) -> str:
    template = rng.choice(CLEAN_NUMBERS)
    return template.format(
        y=rng.randint(2015, 2026),
        m=rng.randint(1, 12),
        d=rng.randint(1, 28),
        k=rng.randint(0, 9999),
        k3=rng.randint(0, 999),
        a=rng.randint(10, 99999),
        p=rng.randint(1, 9),
        q=rng.randint(10, 30),
        big=rng.randint(100_000, 20_000_000),
        # 16 digits that are no card: not Luhn-valid, or no UnionPay prefix
        flow=f"4{rng.randint(0, 10**14 - 1):014d}7",
    )


_FONTS: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    key = (name, size)
    if key not in _FONTS:
        _FONTS[key] = ImageFont.truetype(str(FONT_DIR / name), size)
    return _FONTS[key]


def is_cjk(char: str) -> bool:
    return ord(char) >= 0x2E80


def draw_text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    fonts: tuple[str, str],
    size: int,
    fill: Any,
) -> float:
    """Draw ``text``: Chinese characters in the first font, the rest in the second; returns the width."""
    x, y = xy
    start = x
    runs: list[tuple[bool, str]] = []
    for char in text:
        cjk = is_cjk(char)
        if runs and runs[-1][0] == cjk:
            runs[-1] = (cjk, runs[-1][1] + char)
        else:
            runs.append((cjk, char))
    for cjk, run in runs:
        face = font(fonts[0] if cjk else fonts[1], size)
        draw.text((x, y), run, font=face, fill=fill)
        x += face.getlength(run)
    return x - start


def text_width(text: str, fonts: tuple[str, str], size: int) -> float:
    image = Image.new("L", (1, 1))
    return draw_text(ImageDraw.Draw(image), (0, 0), text, fonts, size, 0)


def background(rng: random.Random, size: tuple[int, int], kind: str) -> Image.Image:
    width, height = size
    nrng = np.random.default_rng(rng.randrange(2**32))
    if kind == "plain":
        return Image.new("RGB", size, tuple(rng.randint(200, 255) for _ in range(3)))
    if kind == "dark":
        return Image.new("RGB", size, tuple(rng.randint(0, 60) for _ in range(3)))
    if kind == "gradient":
        a = np.array([rng.randint(150, 255) for _ in range(3)], dtype=np.float32)
        b = np.array([rng.randint(150, 255) for _ in range(3)], dtype=np.float32)
        t = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
        field = np.broadcast_to(a + (b - a) * t, (height, width, 3))
        return Image.fromarray(field.astype(np.uint8), "RGB")
    if kind == "noise":
        base = np.array([rng.randint(170, 240) for _ in range(3)], dtype=np.float32)
        field = base + nrng.normal(0, rng.uniform(8, 22), size=(height, width, 3))
        return Image.fromarray(np.clip(field, 0, 255).astype(np.uint8), "RGB")
    # field: smooth colour waves, light
    x = np.arange(width, dtype=np.float32) / width
    y = np.arange(height, dtype=np.float32) / height
    field = np.empty((height, width, 3), dtype=np.float32)
    for channel in range(3):
        fx, fy = nrng.uniform(0.3, 2.0, size=2)
        field[..., channel] = 205 + 35 * np.outer(np.cos(2 * np.pi * fy * y), np.cos(2 * np.pi * fx * x))
    return Image.fromarray(np.clip(field, 0, 255).astype(np.uint8), "RGB").filter(ImageFilter.GaussianBlur(2))


BACKGROUNDS = ("plain", "dark", "gradient", "noise", "field")


@dataclass
class Picture:
    id: str
    data: bytes
    suffix: str
    positive: bool
    entity: str | None
    lines: list[str]
    label: dict[str, Any]


def make_picture(index: int, seed: int, positive: bool, entity: str | None = None) -> Picture:
    rng = random.Random(seed * 1_000_003 + index)
    fonts = FONT_SETUPS[rng.randrange(len(FONT_SETUPS))]
    size = rng.choice((14, 16, 18, 20, 22, 24, 26, 28, 32, 36, 40))
    kind = rng.choice(BACKGROUNDS)
    lines = [rng.choice(SENTENCES_ZH if rng.random() < 0.6 else SENTENCES_EN)]
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        lines.append(
            clean_number(rng)
            if roll < 0.45
            else rng.choice(SENTENCES_ZH)
            if roll < 0.75
            else rng.choice(SENTENCES_EN)
        )
    if positive:
        assert entity is not None
        make, labels = VALUES[entity]
        lines.insert(rng.randint(1, len(lines)), rng.choice(labels) + make(rng))
    widths = [text_width(line, fonts, size) for line in lines]
    margin = rng.randint(12, 60)
    width = int(max(widths) + 2 * margin + rng.randint(0, 400))
    spacing = size * rng.uniform(1.5, 2.4)
    height = int(len(lines) * spacing + 2 * margin + rng.randint(0, 200))
    picture = background(rng, (width, height), kind)
    mean = float(np.asarray(picture.convert("L")).mean())
    if mean > 128:
        fill = tuple(rng.randint(0, 70) for _ in range(3))
    else:
        fill = tuple(rng.randint(200, 255) for _ in range(3))
    draw = ImageDraw.Draw(picture)
    y = margin + rng.uniform(0, max(1, height - 2 * margin - len(lines) * spacing))
    for line in lines:
        draw_text(draw, (margin + rng.randint(0, 30), y), line, fonts, size, fill)
        y += spacing
    buffer = io.BytesIO()
    if rng.random() < 0.5:
        quality = rng.randint(70, 95)
        picture.save(buffer, format="JPEG", quality=quality)
        suffix, saved = "jpg", f"JPEG q{quality}"
    else:
        picture.save(buffer, format="PNG")
        suffix, saved = "png", "PNG"
    label = {
        "positive": positive,
        "entity": entity,
        "fonts": list(fonts),
        "size": size,
        "background": kind,
        "format": saved,
        "pixels": [width, height],
    }
    return Picture(f"ocr-{index:04d}", buffer.getvalue(), suffix, positive, entity, lines, label)


def make_set(count: int, seed: int, check: Callable[[str], list[str]] | None = None) -> list[Picture]:
    """``count`` pictures, every other one positive (entity types in turn); ``check(text)`` gives the
    entity types the pii finder sees in a text: a picture it disagrees with is drawn again."""
    pictures: list[Picture] = []
    entities = list(VALUES)
    attempt = 0
    for index in range(count):
        positive = index % 2 == 0
        entity = entities[(index // 2) % len(entities)] if positive else None
        while True:
            picture = make_picture(index, seed + attempt * 7919, positive, entity)
            if check is None:
                break
            found = check("\n".join(picture.lines))
            if (positive and found == [entity]) or (not positive and not found):
                break
            attempt += 1
        pictures.append(picture)
    return pictures


def pii_check() -> Callable[[str], list[str]]:
    from corpus_kit.stages.pii.scrubber import PiiScrubber

    scrubber = PiiScrubber(images="off")
    return lambda text: [result.entity_type for result in scrubber.find(text)]


def write_set(pictures: list[Picture], out: Path) -> Path:
    (out / "images").mkdir(parents=True, exist_ok=True)
    records, labels = [], {}
    for picture in pictures:
        name = f"images/{picture.id}.{picture.suffix}"
        (out / name).write_bytes(picture.data)
        records.append(
            {
                "id": picture.id,
                "text": "城市开放数据图片 / open data picture",
                "media": [{"type": "image", "path": name}],
                "metadata": {"source": "ocr-set", "license": "CC0-1.0"},
            }
        )
        labels[picture.id] = picture.label
    path = out / "ocr-set.jsonl"
    path.write_text("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))
    (out / "labels.json").write_text(json.dumps(labels, indent=1))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", type=Path, required=True)
    parser.add_argument("--count", type=int, default=240)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    path = write_set(make_set(args.count, args.seed, pii_check()), args.out)
    print(f"{args.count} pictures -> {path}")


if __name__ == "__main__":
    main()
