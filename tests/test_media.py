"""The media stage: every check keeps a good item and drops a bad one; metadata removal read back."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from datatrove.data import Document
from PIL import Image, ImageOps

from corpus_kit.records import make_media
from corpus_kit.stages.media.image import blank_icc_text
from corpus_kit.stages.media.rules import MediaRules, load_media_rules
from corpus_kit.stages.media.step import ORIGINAL_SHA256, MediaFilter
from tests import media_fixtures as fx
from tests.conftest import write_tar

PERSONAL = (b"Jane Example", b"BODY-0012345", b"LENS-0098765", b"GPSLatitude", b"home address")


SUPPLY = (
    "mode: cooperation\npartners: [lab-a]\nagreement_id: AG-1\npermitted_uses: [research]\n"
    "classification: {grade: general}\n"
)


def _filter(tmp_path: Path | None = None, strip: bool = True, **overrides: Any) -> MediaFilter:
    step = MediaFilter(strip_metadata=strip)
    if overrides:
        data = step.rules.model_dump()
        for dotted, value in overrides.items():
            target = data
            *parents, last = dotted.split("__")
            for name in parents:
                target = target[name]
            target[last] = value
        step.rules = MediaRules.model_validate(data)
    return step


def _doc(*items: tuple[bytes, str], text: str = "", mime: str | None = None) -> Document:
    media = [make_media(f"m{index}", data, name, mime=mime) for index, (data, name) in enumerate(items)]
    return Document(text=text, id="r", media=media, metadata={})


def _verdict(step: MediaFilter, data: bytes, name: str, **kwargs: Any) -> bool | str:
    result = step.filter(_doc((data, name), **kwargs))
    return True if result is True else result[1]  # type: ignore[index]


@pytest.fixture(scope="module")
def good_jpeg() -> bytes:
    return fx.encode(fx.photo(1), "JPEG", quality=90)


# -- image checks: each keeps one item and drops another -------------------------------------------


def test_format_family_mismatch_drops_same_family_mismatch_is_corrected(good_jpeg: bytes) -> None:
    step = _filter()
    assert _verdict(step, fx.encode_audio(fx.tone(), "wav"), "x.jpg", mime="image/jpeg") == "media.format"
    assert _verdict(step, b"MZ\x90\x00" + bytes(400), "x.png") == "media.format"  # an executable
    doc = _doc((good_jpeg, "photo.png"))  # a JPEG named .png: kept, MIME corrected
    assert step.filter(doc) is True
    assert doc.media[0].metadata["mime"] == "image/jpeg"
    strict = _filter(image__format={"same_family": "drop"})
    assert _verdict(strict, good_jpeg, "photo.png") == "media.format"
    assert _verdict(strict, good_jpeg, "photo.jpg") is True


def test_decode_drops_truncated_pictures(good_jpeg: bytes) -> None:
    step = _filter()
    assert _verdict(step, good_jpeg, "a.jpg") is True
    assert _verdict(step, good_jpeg[: len(good_jpeg) // 2], "a.jpg") == "media.decode"
    png = fx.encode(fx.photo(2), "PNG")
    assert _verdict(step, png[: len(png) - 5000], "a.png") == "media.decode"


def test_pixel_bomb_is_dropped_from_the_header_before_decoding() -> None:
    step = _filter()
    started = time.perf_counter()
    assert _verdict(step, fx.png_bomb(100_000, 100_000), "bomb.png") == "media.pixels"
    assert _verdict(step, fx.png_bomb(8_000, 6_000), "big.png") == "media.pixels"  # 48 MP > 40 MP
    assert time.perf_counter() - started < 1.0
    assert _verdict(step, fx.encode(fx.photo(3, (800, 600)), "PNG"), "ok.png") is True


def test_side_and_aspect() -> None:
    step = _filter()
    assert _verdict(step, fx.encode(fx.photo(4, (24, 24)), "PNG"), "tiny.png") == "media.side"
    assert _verdict(step, fx.encode(fx.photo(4, (1400, 120)), "PNG"), "strip.png") == "media.aspect"
    assert _verdict(step, fx.encode(fx.photo(4, (600, 120)), "PNG"), "wide.png") is True


def test_animated() -> None:
    step = _filter()
    assert _verdict(step, fx.animated_gif(5), "a.gif") == "media.animated"
    assert _verdict(step, fx.gif_with_comment(5), "still.gif") is True
    assert _verdict(_filter(image__animated={"drop": False}), fx.animated_gif(5), "a.gif") is True


def test_blank_counts_alpha() -> None:
    step = _filter()
    assert _verdict(step, fx.encode(fx.blank_picture(), "PNG"), "white.png") == "media.blank"
    assert _verdict(step, fx.encode(fx.near_blank_picture(1), "PNG"), "grey.png") == "media.blank"
    transparent = Image.new("RGBA", (200, 200), (255, 255, 255, 0))
    assert _verdict(step, fx.encode(transparent, "PNG"), "clear.png") == "media.blank"
    # white shapes on transparency: blank once composited on white, not blank with alpha counted
    doc = _doc((fx.encode(fx.overlay_picture(1), "PNG"), "logo.png"))
    assert _filter(image__blur=None).filter(doc) is True
    assert doc.metadata["quality_signals"]["media.image.std"] > 50


def test_blur() -> None:
    step = _filter()
    sharp = fx.photo(6, (640, 480))
    assert _verdict(step, fx.encode(sharp, "JPEG", quality=90), "sharp.jpg") is True
    assert _verdict(step, fx.encode(fx.blurred(sharp, 5), "JPEG", quality=90), "soft.jpg") == "media.blur"
    assert _verdict(step, fx.encode(fx.text_picture(1), "PNG"), "text.png") is True
    assert _verdict(step, fx.encode(fx.shapes_picture(1), "PNG"), "shapes.png") is True


def test_signals_go_to_quality_signals_and_keep_earlier_ones(good_jpeg: bytes) -> None:
    doc = _doc((good_jpeg, "a.jpg"))
    doc.metadata["quality_signals"] = {"earlier": 1.0}
    assert _filter().filter(doc) is True
    signals = doc.metadata["quality_signals"]
    assert signals["earlier"] == 1.0
    assert {
        "media.image.pixels",
        "media.image.aspect",
        "media.image.std",
        "media.image.laplacian_var",
    } <= set(signals)


# -- audio -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "mp3"])
def test_clean_audio_is_kept_in_every_format(fmt: str) -> None:
    doc = _doc((fx.encode_audio(fx.tone(2.0), fmt), f"a.{fmt}"))
    assert _filter().filter(doc) is True
    signals = doc.metadata["quality_signals"]
    assert signals["media.audio.seconds"] == pytest.approx(2.0, abs=0.1)
    assert signals["media.audio.silence_share"] < 0.1


def test_audio_checks_drop_their_defects() -> None:
    step = _filter()
    assert _verdict(step, fx.encode_audio(fx.tone(0.2), "wav"), "short.wav") == "media.duration"
    low = fx.encode_audio(fx.tone(2.0, freq=200, rate=4000), "wav", rate=4000)
    assert _verdict(step, low, "low.wav") == "media.sample_rate"
    assert _verdict(step, fx.encode_audio(fx.silence(3.0), "flac"), "quiet.flac") == "media.silence"
    mostly_quiet = np.concatenate([fx.silence(2.7), fx.tone(0.3)])
    assert _verdict(step, fx.encode_audio(mostly_quiet, "wav"), "q.wav") == "media.silence"
    assert _verdict(step, fx.encode_audio(fx.clipped(2.0), "wav"), "loud.wav") == "media.clipping"
    assert _verdict(step, fx.encode_audio(fx.noise(2.0), "ogg"), "noise.ogg") is True
    wav = fx.encode_audio(fx.tone(2.0), "wav")
    assert _verdict(step, wav[: len(wav) // 2], "cut.wav") == "media.decode"
    assert _verdict(step, b"RIFF\xff\xff\xff\xffWAVEjunkjunkjunk" + bytes(64), "bad.wav") == "media.decode"
    only_wav = _filter(audio__formats=["wav"])
    assert _verdict(only_wav, fx.encode_audio(fx.tone(), "flac"), "a.flac") == "media.format"
    assert _verdict(only_wav, wav, "a.wav") is True


# -- video -------------------------------------------------------------------------------------------


def test_video_container_and_duration_without_decoding() -> None:
    step = _filter()
    doc = _doc((fx.mp4_header(12.5), "clip.mp4"))
    assert step.filter(doc) is True
    assert doc.metadata["quality_signals"]["media.video.seconds"] == 12.5
    assert _verdict(step, fx.mp4_header(0.2, moov_last=False), "blip.mp4") == "media.duration"
    assert _verdict(step, fx.avi_header(5.0), "a.avi") is True
    assert _verdict(step, fx.avi_header(20_000.0), "long.avi") == "media.duration"
    assert (
        _verdict(step, b"\x1a\x45\xdf\xa3" + b"\x42\x82\x84webm" + bytes(64), "c.webm") is True
    )  # duration unknown
    assert _verdict(step, bytes(range(256)) * 4, "noise.mp4") == "media.format"
    assert _verdict(_filter(video__containers=["mp4"]), fx.avi_header(5.0), "a.avi") == "media.format"


# -- records with several items, captions ----------------------------------------------------------


def test_several_items_first_failing_check_or_remove_item(good_jpeg: bytes) -> None:
    items = (
        (good_jpeg, "a.jpg"),
        (fx.encode(fx.blank_picture(), "PNG"), "b.png"),
        (fx.encode_audio(fx.silence(3.0), "wav"), "c.wav"),
    )
    assert _filter().filter(_doc(*items)) == (False, "media.blank")
    step = _filter(records__on_item_failure="remove_item")
    doc = _doc(*items)
    assert step.filter(doc) is True
    assert [item.url for item in doc.media] == ["a.jpg"]
    assert len(doc.metadata[ORIGINAL_SHA256]) == 1
    assert step.filter(_doc(*items[1:])) == (False, "media.blank")
    summary = step.manifest_summary(step.stats)
    assert summary.items_removed == 2 and summary.dropped == {"media.blank": 1}


def test_captioned_records_are_judged_by_media_only_where_the_rules_say_so() -> None:
    soft = fx.encode(fx.blurred(fx.photo(7, (500, 400)), 6), "JPEG", quality=90)
    assert _verdict(_filter(), soft, "a.jpg", text="a caption") == "media.blur"
    per_check = _filter(image__blur={"min_variance": 25.0, "size": 512, "captioned": False})
    assert _verdict(per_check, soft, "a.jpg", text="a chart of rainfall") is True
    assert _verdict(per_check, soft, "a.jpg") == "media.blur"
    unjudged = _filter(records__captioned=False)
    assert _verdict(unjudged, soft, "a.jpg", text="a caption") is True
    assert unjudged.manifest_summary(unjudged.stats).captioned_unjudged == 1
    plain = Document(text="no media at all", id="t", metadata={})
    assert unjudged.filter(plain) is True


def test_references_without_bytes_are_passed_on() -> None:
    doc = Document(text="", id="u", media=[make_media("m", None, "https://example.org/a.jpg")], metadata={})
    step = _filter()
    assert step.filter(doc) is True
    assert step.manifest_summary(step.stats).references == 1


# -- metadata removal, read back from the output bytes --------------------------------------------


def _exif_free(data: bytes) -> None:
    image = Image.open(io.BytesIO(data))
    assert not dict(image.getexif()), "EXIF left"
    assert "xmp" not in image.info and "comment" not in image.info
    for mark in PERSONAL:
        assert mark not in data, mark
    assert b"Exif\x00\x00" not in data


def _scrubbed(data: bytes, name: str, step: MediaFilter | None = None) -> tuple[bytes, Document]:
    step = step or _filter()
    doc = _doc((data, name))
    assert step.filter(doc) is True
    return doc.media[0].media_bytes, doc


def test_upright_jpeg_loses_its_metadata_bytewise_with_the_same_pixels() -> None:
    original = fx.jpeg_with_exif(fx.photo(8, (640, 480)), orientation=1)
    assert all(mark in original for mark in (b"BODY-0012345", b"Jane Example", b"GPSLatitude"))
    out, doc = _scrubbed(original, "p.jpg")
    _exif_free(out)
    before, after = Image.open(io.BytesIO(original)), Image.open(io.BytesIO(out))
    assert np.array_equal(np.asarray(before), np.asarray(after))  # entropy data copied as is
    assert after.quantization == before.quantization
    # the ICC profile stays with its colour data; its text tags are zeroed
    icc = after.info["icc_profile"]
    assert len(icc) == len(before.info["icc_profile"])
    assert b"s\x00R\x00G\x00B" not in icc and b"sRGB" in before.info["icc_profile"].replace(b"\x00", b"")
    assert icc[-100:] == before.info["icc_profile"][-100:]
    assert doc.metadata[ORIGINAL_SHA256] == [hashlib.sha256(original).hexdigest()]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_is_applied_and_exif_gps_serials_are_gone(orientation: int) -> None:
    upright = fx.photo(9, (480, 320))
    original = fx.jpeg_with_exif(upright, orientation=orientation)
    out, _ = _scrubbed(original, "p.jpg")
    _exif_free(out)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(original))), dtype=np.float32)
    got = np.asarray(Image.open(io.BytesIO(out)), dtype=np.float32)
    assert got.shape == expected.shape == (320, 480, 3)
    assert np.abs(got - expected).mean() < 2.5  # the same picture, upright
    # and close to what the camera saw (two JPEG generations)
    assert np.abs(got - np.asarray(upright, dtype=np.float32)).mean() < 10
    if orientation != 1:
        before = Image.open(io.BytesIO(original))
        assert Image.open(io.BytesIO(out)).quantization == before.quantization


def test_png_webp_gif_tiff_lose_their_metadata() -> None:
    picture = fx.photo(10, (300, 240))
    out, _ = _scrubbed(fx.png_with_text(picture), "a.png")
    _exif_free(out)
    assert not Image.open(io.BytesIO(out)).text
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(out))), np.asarray(picture))
    # PNG with an EXIF orientation: turned, re-encoded losslessly
    out, _ = _scrubbed(fx.png_with_text(picture, exif_orientation=6), "b.png")
    _exif_free(out)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(out)).convert("RGB")), np.asarray(picture))
    # lossless WebP: bytewise, pixels identical
    webp = fx.encode(picture, "WEBP", lossless=True, exif=fx.personal_exif().tobytes())
    out, _ = _scrubbed(webp, "c.webp")
    _exif_free(out)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(out)).convert("RGB")), np.asarray(picture))
    # lossy WebP taken sideways: turned and re-encoded
    webp = fx.encode(
        picture.transpose(Image.Transpose.ROTATE_90),
        "WEBP",
        quality=92,
        exif=fx.personal_exif(orientation=6).tobytes(),
    )
    out, _ = _scrubbed(webp, "d.webp")
    _exif_free(out)
    got = np.asarray(Image.open(io.BytesIO(out)).convert("RGB"), dtype=np.float32)
    assert got.shape == (240, 300, 3) and np.abs(got - np.asarray(picture, dtype=np.float32)).mean() < 6
    gif = fx.gif_with_comment(3)
    out, _ = _scrubbed(gif, "e.gif")
    assert b"Jane" not in out and np.array_equal(
        np.asarray(Image.open(io.BytesIO(out))), np.asarray(Image.open(io.BytesIO(gif)))
    )
    tiff = fx.encode(picture, "TIFF", exif=fx.personal_exif(orientation=1).tobytes())
    assert b"Jane Example" in tiff
    out, _ = _scrubbed(tiff, "f.tiff")
    assert b"Jane Example" not in out and b"BODY-0012345" not in out
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(out))), np.asarray(picture))


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "mp3"])
def test_audio_tags_are_removed_and_the_sound_kept(fmt: str) -> None:
    import soundfile

    clean = fx.encode_audio(fx.tone(1.5), fmt)
    tagged = fx.tag_audio(clean, fmt)
    assert b"Jane Example" in tagged
    step = _filter()
    out, _ = _scrubbed(tagged, f"a.{fmt}", step)
    assert b"Jane Example" not in out
    before, _ = soundfile.read(io.BytesIO(tagged))
    after, _ = soundfile.read(io.BytesIO(out))
    assert np.array_equal(before, after)
    removed = step.manifest_summary(step.stats).metadata_removed
    assert removed.audio_tags == 1 and removed.owner_names == 1


def test_strip_metadata_false_keeps_bytes_and_a_failed_removal_drops(monkeypatch: pytest.MonkeyPatch) -> None:
    original = fx.jpeg_with_exif(fx.photo(11), orientation=1)
    out, _ = _scrubbed(original, "p.jpg", _filter(strip=False))
    assert out == original
    import corpus_kit.stages.media.image as image_module

    def refuse(*args: object) -> object:
        raise ValueError("metadata could not be removed (_Unparsable)")

    monkeypatch.setattr(image_module, "scrub_image", refuse)
    assert _verdict(_filter(), original, "p.jpg") == "media.metadata"
    assert _verdict(_filter(strip=False), original, "p.jpg") is True


def test_icc_blanking_keeps_layout_and_refuses_nothing_on_garbage() -> None:
    profile = fx.srgb_icc()
    blanked = blank_icc_text(profile)
    assert blanked is not None and len(blanked) == len(profile)
    assert blank_icc_text(blanked) is None  # nothing left to blank
    assert blank_icc_text(b"\x00" * 40) is None
    hostile = bytearray(profile)
    hostile[128:132] = (10_000_000).to_bytes(4, "big")  # a tag count far beyond the file
    blank_icc_text(bytes(hostile))


def test_hostile_headers_give_drops_not_crashes() -> None:
    step = _filter()
    huge_exif = b"\xff\xd8\xff\xe1\xff\xfeExif\x00\x00" + b"MM\x00*\x00\x00\x00\x08\xff\xff" + bytes(65500)
    assert _verdict(step, huge_exif + b"\xff\xd9", "x.jpg") == "media.decode"
    assert _verdict(step, b"\x89PNG\r\n\x1a\n" + bytes(30), "x.png") == "media.decode"
    assert _verdict(step, b"GIF89a" + b"\xff" * 20, "x.gif") == "media.decode"
    assert _verdict(step, b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(10), "x.webp") == "media.decode"
    assert _verdict(step, b"fLaC" + bytes(50), "x.flac") == "media.decode"
    # a zTXt chunk inflating to 20 MB: refused by Pillow's text limit, not inflated
    png = fx.encode(fx.photo(1, (300, 200)), "PNG")
    bomb = zlib.compress(b"\x00" * 20_000_000)
    text = b"Comment\x00\x00" + bomb
    chunk = struct.pack(">I", len(text)) + b"zTXt" + text + struct.pack(">I", zlib.crc32(b"zTXt" + text))
    assert _verdict(step, png[:33] + chunk + png[33:], "t.png") == "media.decode"
    assert _verdict(step, b"\x00\x00\x00\x18ftypisom" + b"\xff" * 30, "x.mp4") is True  # no mvhd: unknown


# -- the stage end to end ----------------------------------------------------------------------------


def test_media_command_writes_the_manifest_block_and_validates(tmp_path: Path, cli) -> None:
    clean = fx.jpeg_with_exif(fx.photo(12), orientation=6)
    members = [
        ("s1.jpg", clean),
        ("s1.txt", b"a caption"),
        ("s2.png", fx.encode(fx.blank_picture(), "PNG")),
        ("s3.wav", fx.tag_audio(fx.encode_audio(fx.tone(2.0), "wav"), "wav")),
        ("s4.mp4", fx.mp4_header(3.0)),
        ("s5.jpg", fx.encode(fx.photo(13), "JPEG")[:900]),
        ("s6.txt", b"text only"),
    ]
    shard = write_tar(tmp_path / "shard.tar", members)
    out = tmp_path / "out"
    supply = tmp_path / "supply.yaml"
    supply.write_text(SUPPLY)
    result = cli("media", shard, "-o", out, "-q", "--supply", supply)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    block = manifest["media"]
    assert manifest["counts"]["dropped"] == {"media.blank": 1, "media.decode": 1}
    assert manifest["counts"]["output"] == 4
    assert block["records"] == 5 and block["without_media"] == 1
    assert block["image"]["items"] == 3 and block["image"]["kept"] == 1
    assert block["audio"]["seconds"] == pytest.approx(2.0) and block["video"]["seconds"] == 3.0
    removed = block["metadata_removed"]
    assert (removed["gps"], removed["serial_numbers"], removed["owner_names"]) == (1, 1, 2)
    assert removed["orientation_applied"] == 1 and removed["items_rewritten"] == {"jpeg": 1, "wav": 1}
    text = (out / "manifest.json").read_text()
    assert "Jane" not in text and "BODY-" not in text
    rows = pq.read_table(out / "data").to_pylist()
    for row in rows:
        for item, original in zip(
            row["media"], json.loads(row["metadata"]).get(ORIGINAL_SHA256, []), strict=True
        ):
            assert item["sha256"] == hashlib.sha256(item["bytes"]).hexdigest()
            if item["uri"] == "s1.jpg":
                assert original == hashlib.sha256(clean).hexdigest() != item["sha256"]
                _exif_free(item["bytes"])
    assert cli("manifest", "validate", out).exit_code == 0
    assert cli("card", out).exit_code == 0
    card = (out / "README.md").read_text()
    assert "Media" in card and "Jane" not in card
    assert "Media checks" in (out / "report.html").read_text()


def test_rules_file_and_pipeline() -> None:
    rules = load_media_rules()
    assert rules.records.on_item_failure == "drop_record" and rules.image.pixels is not None
    from corpus_kit.utils import load_yaml_file

    steps = [
        next(iter(step)) for step in load_yaml_file(Path("pipelines/multimodal.yaml"), "pipeline")["steps"]
    ]
    assert steps[steps.index("safety") + 1] == "media"
    with pytest.raises(ValueError):
        MediaRules.model_validate({"version": "x", "image": {"side": {"min": 10, "max": 5}}})
