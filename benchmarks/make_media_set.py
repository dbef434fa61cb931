"""Make the media benchmark set: a WebDataset tar of pictures, sounds and video headers with planted defects.

Everything is drawn or synthesised here (tests/media_fixtures.py): photo-like colour fields with
shapes and texture, text and line drawings, white-on-transparent overlays, still GIFs, TIFFs; tones
and noise in WAV, FLAC, Ogg Vorbis and MP3; MP4 and AVI container headers. Clean JPEG photos carry
EXIF GPS positions, body and lens serial numbers and owner names, an XMP packet, a comment and an
ICC profile, with orientations 1-8 (the stored pixels turned the way a camera stores them). Half of
the samples have a caption. Nothing comes from Debian's mate-backgrounds or sound-theme-freedesktop
(kept for independent checks).

Planted defects (``--per-defect`` of each, default 8), with the reason the default rules must give:

  image: truncated (decode), audio-named-jpg and executable-named-png (format), pixel bombs (pixels),
  tiny (side), long strip (aspect), animated GIF (animated), white, near-uniform noise and fully
  transparent (blank), blurred photo (blur)
  audio: truncated WAV and garbage FLAC (decode), 0.2 s (duration), 4 kHz (sample_rate), silent and
  mostly silent (silence), clipped (clipping)
  video: random bytes named .mp4 (format), 0.2 s MP4 (duration), 5-hour AVI (duration)

    python benchmarks/make_media_set.py -o /tmp/media-set [--clean 440] [--per-defect 8]

writes ``OUT/media-00000.tar`` and ``OUT/labels.json`` (key -> {"expect": "keep" | reason, "kind"}).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import media_fixtures as fx  # noqa: E402

Item = tuple[str, bytes]  # (extension, bytes)


def _photo_jpeg(seed: int) -> Item:
    rng = np.random.default_rng(seed)
    size = (int(rng.integers(480, 1400)), int(rng.integers(360, 1000)))
    orientation = int(rng.integers(1, 9))
    return "jpg", fx.jpeg_with_exif(
        fx.photo(seed, size), orientation=orientation, quality=int(rng.integers(75, 95))
    )


def _plain_jpeg(seed: int) -> Item:
    return "jpg", fx.encode(fx.photo(seed, (800, 600)), "JPEG", quality=85)


def _jpeg_named_png(seed: int) -> Item:
    return "png", fx.encode(fx.photo(seed, (640, 480)), "JPEG", quality=85)  # same family: corrected, kept


def _text_png(seed: int) -> Item:
    return "png", fx.png_with_text(fx.text_picture(seed))


def _shapes_webp(seed: int) -> Item:
    lossless = seed % 2 == 0
    options = {"lossless": True} if lossless else {"quality": 88}
    return "webp", fx.encode(fx.shapes_picture(seed), "WEBP", exif=fx.personal_exif().tobytes(), **options)


def _overlay_png(seed: int) -> Item:
    return "png", fx.encode(fx.overlay_picture(seed), "PNG")


def _still_gif(seed: int) -> Item:
    return "gif", fx.gif_with_comment(seed)


def _tiff(seed: int) -> Item:
    return "tiff", fx.encode(fx.photo(seed, (500, 400)), "TIFF", exif=fx.personal_exif().tobytes())


def _audio(seed: int) -> Item:
    rng = np.random.default_rng(seed)
    fmt = ("wav", "flac", "ogg", "mp3")[seed % 4]
    seconds = float(rng.uniform(1.0, 6.0))
    if seed % 3 == 0:
        samples = fx.noise(seconds, amplitude=0.3, seed=seed)
    else:
        samples = fx.tone(seconds, freq=float(rng.uniform(150, 1500)), seed=seed)
    data = fx.encode_audio(samples, fmt)
    return fmt, fx.tag_audio(data, fmt) if (seed // 4) % 2 == 0 else data


def _video(seed: int) -> Item:
    rng = np.random.default_rng(seed)
    seconds = float(rng.uniform(2, 600))
    return ("mp4", fx.mp4_header(seconds)) if seed % 2 == 0 else ("avi", fx.avi_header(seconds))


CLEAN: list[tuple[str, Callable[[int], Item], int]] = [  # kind, maker, weight
    ("photo_jpeg_exif", _photo_jpeg, 36),
    ("plain_jpeg", _plain_jpeg, 6),
    ("jpeg_named_png", _jpeg_named_png, 3),
    ("text_png", _text_png, 10),
    ("shapes_webp", _shapes_webp, 8),
    ("overlay_png", _overlay_png, 5),
    ("still_gif", _still_gif, 3),
    ("tiff", _tiff, 3),
    ("audio", _audio, 22),
    ("video", _video, 4),
]


def _truncated_jpeg(seed: int) -> Item:
    data = fx.encode(fx.photo(seed, (640, 480)), "JPEG", quality=85)
    return "jpg", data[: len(data) // 2]


DEFECTS: list[tuple[str, str, Callable[[int], Item]]] = [  # kind, expected reason, maker
    ("truncated_jpeg", "media.decode", _truncated_jpeg),
    ("audio_named_jpg", "media.format", lambda s: ("jpg", fx.encode_audio(fx.tone(1.0, seed=s), "wav"))),
    ("executable_named_png", "media.format", lambda s: ("png", b"MZ\x90\x00" + bytes(s % 7 + 200))),
    ("pixel_bomb", "media.pixels", lambda s: ("png", fx.png_bomb(60_000 + s, 50_000))),
    ("tiny", "media.side", lambda s: ("png", fx.encode(fx.photo(s, (20, 24)), "PNG"))),
    ("strip", "media.aspect", lambda s: ("jpg", fx.encode(fx.photo(s, (1600, 100)), "JPEG"))),
    ("animated_gif", "media.animated", lambda s: ("gif", fx.animated_gif(s))),
    ("white", "media.blank", lambda s: ("png", fx.encode(fx.blank_picture((300 + s % 50, 200)), "PNG"))),
    (
        "near_uniform",
        "media.blank",
        lambda s: ("jpg", fx.encode(fx.near_blank_picture(s), "JPEG", quality=95)),
    ),
    (
        "transparent",
        "media.blank",
        lambda s: ("png", fx.encode(fx.Image.new("RGBA", (256, 200 + s % 50), (255, 0, 0, 0)), "PNG")),
    ),
    ("blurred", "media.blur", lambda s: ("jpg", fx.encode(fx.blurred(fx.photo(s, (900, 700)), 6), "JPEG"))),
    (
        "truncated_wav",
        "media.decode",
        lambda s: ("wav", fx.encode_audio(fx.tone(3.0, seed=s), "wav")[:30000]),
    ),
    ("garbage_flac", "media.decode", lambda s: ("flac", b"fLaC" + np.random.default_rng(s).bytes(4000))),
    ("short_audio", "media.duration", lambda s: ("ogg", fx.encode_audio(fx.tone(0.2, seed=s), "ogg"))),
    (
        "low_rate",
        "media.sample_rate",
        lambda s: ("wav", fx.encode_audio(fx.tone(2.0, freq=300, rate=4000, seed=s), "wav", rate=4000)),
    ),
    ("silent", "media.silence", lambda s: ("flac", fx.encode_audio(fx.silence(2.0 + (s % 20) / 10), "flac"))),
    (
        "mostly_silent",
        "media.silence",
        lambda s: ("mp3", fx.encode_audio(np.concatenate([fx.silence(4.0), fx.tone(0.5, seed=s)]), "mp3")),
    ),
    ("clipped", "media.clipping", lambda s: ("wav", fx.encode_audio(fx.clipped(2.0 + (s % 20) / 10), "wav"))),
    ("not_a_video", "media.format", lambda s: ("mp4", np.random.default_rng(s).bytes(3000))),
    ("short_video", "media.duration", lambda s: ("mp4", fx.mp4_header(0.1 + (s % 30) / 100))),
    ("long_video", "media.duration", lambda s: ("avi", fx.avi_header(18_000.0 + s))),
]


def build(out: Path, clean: int = 440, per_defect: int = 8, seed: int = 0) -> dict[str, dict[str, str]]:
    out.mkdir(parents=True, exist_ok=True)
    plan: list[tuple[str, str, Callable[[int], Item]]] = []
    weights = np.array([weight for _, _, weight in CLEAN], dtype=float)
    counts = np.floor(weights / weights.sum() * clean).astype(int)
    counts[0] += clean - counts.sum()
    for (kind, maker, _), count in zip(CLEAN, counts, strict=True):
        plan.extend((kind, "keep", maker) for _ in range(count))
    for kind, reason, maker in DEFECTS:
        plan.extend((kind, reason, maker) for _ in range(per_defect))
    order = np.random.default_rng(seed).permutation(len(plan))
    labels: dict[str, dict[str, str]] = {}
    with tarfile.open(out / "media-00000.tar", "w") as archive:
        for position, index in enumerate(order.tolist()):
            kind, expect, maker = plan[index]
            key = f"mb-{position:06d}"
            extension, data = maker(1000 + position)
            members = [(f"{key}.{extension}", data)]
            meta = {"source": "media-bench", "license": "CC-BY-4.0"}
            members.append((f"{key}.json", json.dumps(meta).encode()))
            if position % 2 == 0:
                members.append((f"{key}.txt", f"Sample {position}: a {kind.replace('_', ' ')}.".encode()))
            for name, payload in members:
                info = tarfile.TarInfo(name)
                info.size = len(payload)
                info.mtime = 0
                archive.addfile(info, io.BytesIO(payload))
            labels[key] = {"expect": expect, "kind": kind}
    (out / "labels.json").write_text(json.dumps(labels, indent=1, sort_keys=True))
    return labels


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-o", "--out", type=Path, required=True)
    parser.add_argument("--clean", type=int, default=440)
    parser.add_argument("--per-defect", type=int, default=8)
    args = parser.parse_args()
    labels = build(args.out, args.clean, args.per_defect)
    defects = sum(1 for label in labels.values() if label["expect"] != "keep")
    size = (args.out / "media-00000.tar").stat().st_size
    print(f"{len(labels)} samples ({defects} planted defects), {size / 1e6:.1f} MB -> {args.out}")


if __name__ == "__main__":
    main()
