"""Personal data inside pictures: OCR through the PII recognizers, blur, faces, "not screened".

Pictures are drawn here with the WenQuanYi Micro Hei subset shipped in tests/data/fonts (made by
scripts/subset_fonts.py); the face is a crop of scikit-image's ``astronaut`` (NASA, public domain,
tests/data/faces/NOTICE). OCR is slow: few pictures, each run reused where it can be.
"""

from __future__ import annotations

import hashlib
import io
import struct
import sys
import time
import zlib
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus_kit.governance.manifest import Manifest
from tests.conftest import skip_unless_required, write_jsonl

DATA = Path(__file__).parent / "data"
FONT = DATA / "fonts" / "WenQuanYiMicroHei-subset.ttf"
FACE = DATA / "faces" / "astronaut-face.jpg"
ID_NUMBER = "440305199003071236"  # checksum-valid (GB 11643)
PHONE = "13812345678"


@pytest.fixture(scope="module")
def ocr() -> None:
    from corpus_kit.stages.pii.pictures import missing_module

    missing = missing_module()
    if missing:
        skip_unless_required(f'the ocr extra is not installed ({missing}): pip install "corpus-kit[ocr]"')


def picture(lines: list[str], size: tuple[int, int] = (720, 220), fmt: str = "PNG") -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", size, (246, 244, 236))
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), 30)
    for index, line in enumerate(lines):
        draw.text((24, 30 + index * 70), line, font=font, fill=(20, 20, 30))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


ID_PICTURE = ["居民身份证 公民身份号码", ID_NUMBER]
CLEAN_PICTURE = ["深圳市开放数据平台", "发布日期 2026-12-03"]


def write_records(folder: Path, pictures: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for name, data in pictures.items():
        (folder / name).write_bytes(data)
        records.append(
            {
                "id": Path(name).stem,
                "text": "城市开放数据图片",
                "media": [{"type": "image", "path": name}],
                "metadata": {"source": "pictures", "license": "CC0-1.0"},
            }
        )
    return write_jsonl(folder / "in.jsonl", records)


def everything_written(out: Path, output: str) -> str:
    text = output
    for path in out.rglob("*"):
        if path.is_file() and path.suffix != ".parquet":
            text += path.read_bytes().decode("utf-8", errors="replace")
    return text


def test_a_picture_with_an_id_number_is_dropped_a_clean_one_kept_and_faces_counted(
    ocr: None, tmp_path: Path, cli
) -> None:
    source = write_records(
        tmp_path / "in",
        {"id.png": picture(ID_PICTURE), "clean.png": picture(CLEAN_PICTURE), "face.jpg": FACE.read_bytes()},
    )
    out = tmp_path / "out"
    result = cli("pii", source, "-o", out, "--supply-mode", "open", "--verbose")
    assert result.exit_code == 0, result.output
    manifest = Manifest.read(out / "manifest.json")
    assert manifest.counts.dropped == {"pii.image": 1}
    rows = pq.read_table(out / "data").to_pylist()
    assert sorted(row["id"] for row in rows) == ["clean", "face"]
    images = manifest.pii.images
    assert images is not None and images.mode == "drop" and images.engine
    assert (images.pictures, images.screened, images.not_screened) == (3, 3, 0)
    assert (images.with_pii, images.dropped, images.blurred) == (1, 1, 0)
    assert images.entities == {"CN_ID_CARD": 1}
    assert images.faces >= 1 and images.pictures_with_faces == 1 and images.faces_kept == images.faces
    found = manifest.personal_information
    assert found is not None and found.media_screened is True
    assert found.sensitive.get("biometric") == images.faces
    assert found.deidentified is False  # a face is left in a picture of the output
    # kept pictures are untouched
    kept = {row["id"]: row["media"][0] for row in rows}
    assert kept["face"]["bytes"] == FACE.read_bytes()
    card = cli("card", out)
    assert card.exit_code == 0, card.output
    written = everything_written(out, result.output + card.output)
    assert "Pictures and audio were screened for personal data" in (out / "README.md").read_text()
    report = (out / "report.html").read_text()
    assert "Pictures were screened for personal data with OCR (drop mode)" in report
    assert ID_NUMBER not in written and ID_NUMBER[-8:] not in written


def test_blur_keeps_the_picture_with_the_number_unreadable(ocr: None, tmp_path: Path, cli) -> None:
    from corpus_kit.stages.pii.pictures import PictureScreener
    from corpus_kit.stages.pii.scrubber import PiiScrubber

    original = picture([*ID_PICTURE, f"联系电话 {PHONE}"], size=(720, 280), fmt="JPEG")
    source = write_records(tmp_path / "in", {"card.jpg": original, "clean.png": picture(CLEAN_PICTURE)})
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("name: p\nsteps:\n  - pii: {images: blur}\n")
    out = tmp_path / "out"
    result = cli("run", pipeline, "-i", source, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    manifest = Manifest.read(out / "manifest.json")
    assert manifest.counts.dropped == {}
    images = manifest.pii.images
    assert (images.mode, images.blurred, images.dropped) == ("blur", 1, 0)
    assert images.entities == {"CN_ID_CARD": 1, "PHONE_NUMBER": 1}
    assert manifest.pii.entities == {"CN_ID_CARD": 1, "PHONE_NUMBER": 1}
    assert manifest.pii.places == {"pictures": 2}
    rows = {row["id"]: row for row in pq.read_table(out / "data").to_pylist()}
    blurred = rows["card"]["media"][0]
    assert rows["card"]["pii_spans"] == 2 and rows["clean"]["pii_spans"] == 0
    assert blurred["bytes"] != original and blurred["mime"] == "image/jpeg"
    assert blurred["sha256"] == hashlib.sha256(blurred["bytes"]).hexdigest()
    assert blurred["sha256"] != hashlib.sha256(original).hexdigest()
    # read again: nothing left, while the clean line is still legible
    scrubber = PiiScrubber(images="off")
    screener = PictureScreener()
    assert screener.screen(original, scrubber.find).entities == ["CN_ID_CARD", "PHONE_NUMBER"]
    again = screener.screen(blurred["bytes"], scrubber.find)
    assert again.entities == []
    assert rows["clean"]["media"][0]["bytes"] == (tmp_path / "in" / "clean.png").read_bytes()


def test_without_the_extra_pictures_are_said_not_screened(tmp_path: Path, cli, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)  # import fails as if not installed
    source = write_records(tmp_path / "in", {"id.png": picture(ID_PICTURE), "b.png": picture(CLEAN_PICTURE)})
    out = tmp_path / "out"
    result = cli("pii", source, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    manifest = Manifest.read(out / "manifest.json")
    images = manifest.pii.images
    assert (images.mode, images.screened, images.not_screened, images.pictures) == ("off", 0, 2, 2)
    assert "ocr extra is not installed" in images.not_screened_reason and images.engine is None
    assert manifest.counts.output == 2 and manifest.counts.dropped == {}
    assert manifest.personal_information.media_screened is False
    assert cli("card", out).exit_code == 0
    card = (out / "README.md").read_text()
    assert "Pictures and audio were not screened" in card
    assert "Pictures were NOT screened" in (out / "report.html").read_text()
    # asking for screening without the extra is a usage error naming the pip command
    refused = cli("pii", source, "-o", tmp_path / "o2", "--images", "drop")
    assert refused.exit_code == 2 and "corpus-kit[ocr]" in refused.output


def test_images_off_is_said_not_screened(tmp_path: Path, cli) -> None:
    source = write_records(tmp_path / "in", {"a.png": picture(CLEAN_PICTURE)})
    out = tmp_path / "out"
    assert cli("pii", source, "-o", out, "-q", "--images", "off").exit_code == 0
    manifest = Manifest.read(out / "manifest.json")
    assert manifest.pii.images.not_screened == 1 and manifest.pii.images.not_screened_reason == "images: off"
    assert manifest.personal_information.media_screened is False


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` and whose data is a few bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


def _animation(frames: int) -> bytes:
    from PIL import Image

    images = [Image.new("RGB", (64, 64), (i * 7 % 255, 0, 0)) for i in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:])
    return buffer.getvalue()


def test_hostile_pictures_drop_their_records_without_a_crash(ocr: None, tmp_path: Path, cli) -> None:
    good = picture(CLEAN_PICTURE, fmt="JPEG")
    hostile = {
        "truncated.jpg": good[: len(good) // 2],
        "truncated.png": picture(CLEAN_PICTURE)[:300],
        "bomb.png": _png_header_only(60_000, 60_000),  # 3.6 gigapixels claimed
        "garbage.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        "eps.png": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n",
        "frames.gif": _animation(40),
    }
    source = write_records(tmp_path / "in", hostile)
    out = tmp_path / "out"
    started = time.monotonic()
    result = cli("pii", source, "-o", out, "-q", "--keep-removed")
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 30
    manifest = Manifest.read(out / "manifest.json")
    assert manifest.counts.dropped == {"pii.image_unreadable": len(hostile)}
    assert manifest.pii.images.unreadable == len(hostile) and manifest.counts.invariant_holds()


def test_no_socket_is_opened_while_screening(ocr: None, monkeypatch) -> None:
    import socket

    from corpus_kit.stages.pii import pictures
    from corpus_kit.stages.pii.scrubber import PiiScrubber

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("picture screening tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    pictures._ocr_engine.cache_clear()  # load the models again, under the patch
    pictures._face_cascade.cache_clear()
    verdict = pictures.PictureScreener().screen(picture([f"手机 {PHONE}"]), PiiScrubber(images="off").find)
    assert verdict.entities == ["PHONE_NUMBER"]


def test_boxes_in_columns_far_apart_never_read_as_one_number() -> None:
    from corpus_kit.stages.pii.pictures import TextLine, find_in_lines, text_rows

    lines = [
        TextLine((400, 10, 600, 40), "62170012"),
        TextLine((10, 12, 200, 38), "订单 34567890"),
        TextLine((10, 60, 300, 90), f"电话 {PHONE[:3]}"),
        TextLine((310, 61, 500, 89), PHONE[3:]),
    ]
    text, spans = text_rows(lines)
    assert text == f"订单 34567890   62170012\n电话 {PHONE[:3]} {PHONE[3:]}\n"
    assert [text[start:end] for start, end, _ in spans] == [
        "订单 34567890",
        "62170012",
        "电话 138",
        PHONE[3:],
    ]

    class Found:
        def __init__(self, start: int, end: int):
            self.entity_type, self.start, self.end = "PHONE_NUMBER", start, end

    phone_at = text.index(PHONE[:3])
    entities, regions = find_in_lines(lines, lambda _: [Found(phone_at, phone_at + 12)])
    assert entities == ["PHONE_NUMBER"] and regions == [lines[2].box, lines[3].box]


def test_ocr_spacing_is_mended_before_the_recognizers_see_it() -> None:
    from corpus_kit.stages.pii.pictures import TextLine, compact, find_in_lines

    assert compact("AccountNo.62480712484408066") == "AccountNo. 62480712484408066"
    assert compact("卡号 6287 7103 5541 8617 953") == "卡号 6287710355418617953"
    assert compact("电话 138O1234567") == "电话 13801234567"
    assert compact("版本 1.2.3 第 3 页") == "版本 1.2.3 第 3 页"

    class Found:
        def __init__(self, start: int, end: int):
            self.entity_type, self.start, self.end = "BANK_CARD", start, end

    def find(text: str) -> list[Found]:  # stands for the recognizers: needs the number whole
        at = text.find("6248071248440806")
        return [Found(at, at + 16)] if at >= 0 else []

    # read as two boxes, the number split by the OCR: found once the boxes are joined up
    lines = [TextLine((10, 10, 200, 40), "No.62480712"), TextLine((205, 11, 400, 39), "48440806")]
    assert find_in_lines(lines, find) == (["BANK_CARD"], [lines[0].box, lines[1].box])


def test_the_shipped_fonts_and_face_have_their_notices() -> None:
    for folder in (DATA / "fonts", DATA / "faces"):
        assert (folder / "NOTICE").is_file()
    assert FONT.stat().st_size < 400_000
