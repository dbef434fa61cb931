"""Pictures, sounds and video headers the media tests and benchmarks make themselves (nothing downloaded).

Pictures: photo-like colour fields with shapes and texture (:func:`tests.images.make_picture`), text
drawn with Pillow's default font, blank and near-blank fields, white shapes on transparency. JPEGs
carry EXIF (GPS, serial numbers, owner names, orientation) written with Pillow's Exif API. Audio is
synthesised with NumPy (tones, noise, silence, clipped tones) and encoded with soundfile; tags are
written with mutagen (or as a RIFF LIST/INFO chunk for WAV). Video is a container header only (MP4
``ftyp``/``moov``/``mvhd``/``mdat``, AVI ``avih``): the media step never decodes video.
"""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from tests.images import make_picture

GPS_IFD, EXIF_IFD = 0x8825, 0x8769
SERIAL_TAGS = (0xA431, 0xA435)
OWNER_TAGS_IFD0 = (0x013B, 0x8298)
OWNER_TAG_EXIF = 0xA430


def photo(seed: int, size: tuple[int, int] | None = None) -> Image.Image:
    return make_picture(seed, size)


def text_picture(seed: int, size: tuple[int, int] = (480, 320)) -> Image.Image:
    """Dark text lines on a light, slightly noisy background."""
    rng = np.random.default_rng(seed)
    base = rng.normal(235, 6, (size[1], size[0], 3)).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(base, "RGB")
    draw = ImageDraw.Draw(image)
    for line in range(size[1] // 24 - 1):
        words = " ".join(
            "".join(chr(int(c)) for c in rng.integers(97, 123, int(rng.integers(2, 9))))
            for _ in range(int(rng.integers(4, 9)))
        )
        draw.text((12, 10 + 24 * line), words, fill=(20, 20, 20))
    return image


def shapes_picture(seed: int, size: tuple[int, int] = (400, 400)) -> Image.Image:
    """Sharp-edged shapes on a noisy field (a drawing, a diagram)."""
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 40, (size[1], size[0], 3), dtype=np.uint8) + 100, "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = (int(v) for v in rng.integers(0, min(size), 2))
        w, h = (int(v) for v in rng.integers(20, 120, 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.rectangle((x, y, x + w, y + h), outline=colour, width=3)
    return image


def overlay_picture(seed: int, size: tuple[int, int] = (320, 320)) -> Image.Image:
    """White shapes on full transparency: blank once composited on white, not blank with alpha."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGBA", size, (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = (int(v) for v in rng.integers(0, min(size) - 60, 2))
        draw.ellipse((x, y, x + 60, y + 40), fill=(255, 255, 255, 255))
    return image


def blank_picture(
    size: tuple[int, int] = (320, 240), colour: tuple[int, ...] = (250, 250, 250)
) -> Image.Image:
    return Image.new("RGB", size, colour)


def near_blank_picture(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.normal(128, 1.0, (size[1], size[0], 3)).clip(0, 255).astype(np.uint8), "RGB")


def blurred(image: Image.Image, radius: float = 5) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(radius))


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def personal_exif(
    orientation: int = 1, gps: bool = True, serial: bool = True, owner: bool = True
) -> Image.Exif:
    """EXIF with a GPS position, body and lens serial numbers, artist/copyright/owner names."""
    exif = Image.Exif()
    exif[0x010F] = "ExampleCam"  # Make
    exif[0x0110] = "Model 7"  # Model
    if orientation != 1:
        exif[0x0112] = orientation
    if owner:
        exif[0x013B] = "Jane Example"
        exif[0x8298] = "(c) Jane Example"
    sub = exif.get_ifd(EXIF_IFD)
    sub[0x9003] = "2026:05:01 10:00:00"
    if serial:
        sub[0xA431] = "BODY-0012345"
        sub[0xA435] = "LENS-0098765"
    if owner:
        sub[OWNER_TAG_EXIF] = "Jane Example"
    if gps:
        gps_ifd = exif.get_ifd(GPS_IFD)
        gps_ifd[1] = "N"
        gps_ifd[2] = (22.0, 32.0, 10.5)
        gps_ifd[3] = "E"
        gps_ifd[4] = (114.0, 3.0, 55.2)
    return exif


def srgb_icc() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def jpeg_with_exif(image: Image.Image, orientation: int = 1, quality: int = 88, **flags: bool) -> bytes:
    """A JPEG whose EXIF says ``orientation``: the stored pixels are ``image`` turned so that a viewer
    applying the tag shows ``image`` upright (as a camera stores a picture taken sideways)."""
    stored = _unapply_orientation(image, orientation)
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
        b'exif:GPSLatitude="22,32.17N" aux:SerialNumber="BODY-0012345"><dc:creator>Jane</dc:creator>'
        b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    return encode(
        stored,
        "JPEG",
        quality=quality,
        exif=personal_exif(orientation, **flags).tobytes(),
        comment=b"taken by Jane Example",
        icc_profile=srgb_icc(),
        xmp=xmp,
    )


_UNDO = {
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_90],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_270],
}


def _unapply_orientation(image: Image.Image, orientation: int) -> Image.Image:
    for step in _UNDO.get(orientation, []):
        image = image.transpose(step)
    return image


def png_with_text(image: Image.Image, exif_orientation: int | None = None) -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Example")
    info.add_text("Comment", "home address here", zip=True)
    info.add_itxt("XML:com.adobe.xmp", '<x:xmpmeta exif:GPSLatitude="22,32N"/>')
    options: dict[str, object] = {"pnginfo": info, "icc_profile": srgb_icc()}
    if exif_orientation is not None:
        options["exif"] = personal_exif(exif_orientation).tobytes()
        image = _unapply_orientation(image, exif_orientation)
    return encode(image, "PNG", **options)


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels, with almost no data behind it."""
    import zlib

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


def animated_gif(seed: int, frames: int = 3) -> bytes:
    pictures = [photo(seed + index, (200, 160)).convert("P") for index in range(frames)]
    return encode(pictures[0], "GIF", save_all=True, append_images=pictures[1:], duration=100, loop=0)


def gif_with_comment(seed: int) -> bytes:
    return encode(photo(seed, (200, 160)).convert("P"), "GIF", comment=b"owner: Jane Example")


# -- audio -----------------------------------------------------------------------------------------

RATE = 16_000


def tone(
    seconds: float = 2.0, freq: float = 440.0, amplitude: float = 0.4, rate: int = RATE, seed: int = 0
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    signal = amplitude * np.sin(2 * np.pi * freq * t) + 0.02 * rng.standard_normal(len(t))
    return signal.astype(np.float32)


def noise(seconds: float = 2.0, amplitude: float = 0.3, rate: int = RATE, seed: int = 0) -> np.ndarray:
    return (amplitude * np.random.default_rng(seed).uniform(-1, 1, int(seconds * rate))).astype(np.float32)


def silence(seconds: float = 2.0, rate: int = RATE) -> np.ndarray:
    return np.zeros(int(seconds * rate), dtype=np.float32)


def clipped(seconds: float = 2.0, rate: int = RATE) -> np.ndarray:
    return np.clip(3.0 * tone(seconds, rate=rate), -1.0, 1.0)


def encode_audio(samples: np.ndarray, fmt: str, rate: int = RATE) -> bytes:
    import soundfile

    out = io.BytesIO()
    options = {
        "wav": ("WAV", "PCM_16"),
        "flac": ("FLAC", "PCM_16"),
        "ogg": ("OGG", "VORBIS"),
        "mp3": ("MP3", None),
    }
    container, subtype = options[fmt]
    soundfile.write(out, samples, rate, format=container, subtype=subtype)
    return out.getvalue()


def tag_audio(data: bytes, fmt: str) -> bytes:
    """``data`` with an artist/owner tag (ID3 for MP3, Vorbis comments for FLAC/Ogg, LIST/INFO for WAV)."""
    if fmt == "wav":
        info = b"INFO" + b"IART" + struct.pack("<I", 13) + b"Jane Example\x00" + b"\x00"
        chunk = b"LIST" + struct.pack("<I", len(info)) + info
        body = data[12:] + chunk
        return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body
    import mutagen
    from mutagen.id3 import ID3, TOWN, TPE1

    buffer = io.BytesIO(data)
    if fmt == "mp3":
        tags = ID3()
        tags.add(TPE1(encoding=3, text=["Jane Example"]))
        tags.add(TOWN(encoding=3, text=["Jane Example"]))
        tags.save(buffer)
        return buffer.getvalue()
    audio = mutagen.File(buffer)
    audio["artist"] = "Jane Example"
    audio["copyright"] = "Jane Example"
    buffer.seek(0)
    audio.save(buffer)
    return buffer.getvalue()


# -- video headers ---------------------------------------------------------------------------------


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_header(seconds: float, brand: bytes = b"isom", moov_last: bool = True) -> bytes:
    """An MP4 with ``ftyp``, an ``mdat`` and a ``moov`` holding ``mvhd`` (version 0, timescale 1000)."""
    mvhd = struct.pack(">B3xIIII", 0, 0, 0, 1000, int(seconds * 1000)) + bytes(80)
    moov = _box(b"moov", _box(b"mvhd", mvhd))
    ftyp = _box(b"ftyp", brand + struct.pack(">I", 512) + b"isomiso2mp41")
    mdat = _box(b"mdat", bytes(2048))
    return ftyp + (mdat + moov if moov_last else moov + mdat)


def avi_header(seconds: float, fps: int = 25) -> bytes:
    frames = int(seconds * fps)
    avih = struct.pack("<14I", 1_000_000 // fps, 0, 0, 0, frames, 0, 1, 0, 320, 240, 0, 0, 0, 0)
    hdrl = b"hdrl" + b"avih" + struct.pack("<I", len(avih)) + avih
    body = b"AVI " + b"LIST" + struct.pack("<I", len(hdrl)) + hdrl + b"LIST" + struct.pack("<I", 4) + b"movi"
    return b"RIFF" + struct.pack("<I", len(body)) + body
