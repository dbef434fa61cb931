"""Image checks (Pillow + NumPy on a bounded downscale) and metadata removal.

Checks run in a fixed order, cheapest first, and stop at the first failure: ``format`` (magic bytes
against the declared type), ``pixels`` (width x height from the header, before any decoding),
``side``, ``aspect``, ``animated``, ``decode`` (the full decode; JPEGs decode straight to a reduced
size through DCT scaling), ``blank`` and ``blur``.

Metadata removal (:func:`scrub_image`) takes, per format:

* JPEG, upright (no orientation or orientation 1): bytewise. APP1 (EXIF, XMP), APP13 (IPTC),
  APP3-APP15 other than APP14 (Adobe colour transform), non-ICC APP2 (MPF, FlashPix), COM segments
  and any bytes after the end-of-image marker are dropped; the entropy-coded data is copied as is.
* JPEG, rotated (orientation 2-8): the pixels are turned upright and re-encoded with the original
  quantisation tables and chroma subsampling (lossy: a second JPEG generation).
* PNG: bytewise, chunk by chunk (tEXt, zTXt, iTXt, eXIf, tIME and unknown ancillary chunks dropped);
  with an EXIF orientation other than 1, decoded, turned and re-encoded as PNG (lossless).
* WebP: bytewise (EXIF, XMP and unknown chunks dropped, VP8X flags updated); rotated: re-encoded
  losslessly when the picture is VP8L, otherwise at quality 90 (lossy). Animated WebPs are not turned.
* GIF: bytewise (comment and application extensions other than the looping ones dropped).
* TIFF: decoded and re-encoded as TIFF with its compression (lossless for lossless compressions).
* BMP: unchanged (no text metadata).

ICC colour profiles are kept (dropping one changes the colours of every wide-gamut picture) with the
text of their text tags (description, copyright, device maker and model) overwritten with zero bytes
in place, so the profile's colour data and layout stay as they were; its profile id is zeroed.
"""

from __future__ import annotations

import contextlib
import io
import re
import struct
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from corpus_kit.stages.media.rules import ImageRules

_PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP", "bmp": "BMP", "tiff": "TIFF"}

# EXIF tags that name a person or a device serial (IFD0 and the Exif IFD)
_OWNER_TAGS_IFD0 = (0x013B, 0x8298, 0x9C9D)  # Artist, Copyright, XPAuthor
_OWNER_TAGS_EXIF = (0xA430,)  # CameraOwnerName
_SERIAL_TAGS_IFD0 = (0xC62F,)  # CameraSerialNumber (DNG)
_SERIAL_TAGS_EXIF = (0xA431, 0xA435)  # BodySerialNumber, LensSerialNumber
_GPS_IFD, _EXIF_IFD, _ORIENTATION = 0x8825, 0x8769, 0x0112

# the same facts in XMP, IPTC and text chunks, by the names of their fields
_GPS_MARKS = (b"GPSLatitude", b"GPSLongitude", b"GPSPosition")
_SERIAL_MARKS = (b"SerialNumber", b"SerialNo")
_OWNER_MARKS = (b"dc:creator", b"Artist", b"Author", b"Copyright", b"OwnerName", b"Owner")
_IPTC_OWNER = (b"\x1c\x02\x50", b"\x1c\x02\x74")  # IPTC By-line, Copyright Notice


@dataclass
class Found:
    """What an item's metadata held (flags, never values)."""

    gps: bool = False
    serial: bool = False
    owner: bool = False

    def merge(self, other: Found) -> None:
        self.gps |= other.gps
        self.serial |= other.serial
        self.owner |= other.owner


@dataclass
class ImageOutcome:
    failed: str | None = None
    signals: dict[str, float] = field(default_factory=dict)
    animated: bool = False
    orientation: int = 1


def _open(data: bytes, real: str) -> Any:
    from PIL import Image

    return Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[real]])


def judge_image(data: bytes, real: str, rules: ImageRules, captioned: bool) -> ImageOutcome:
    """Run the image checks on ``data`` (a format corpus-kit knows); stop at the first failure."""
    from PIL import Image

    outcome = ImageOutcome()
    signals = outcome.signals

    def applies(rule: Any) -> bool:
        return rule is not None and (rule.captioned or not captioned)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DecompressionBombWarning, truncated-file warnings
        try:
            image = _open(data, real)
        except Image.DecompressionBombError:
            outcome.failed = "pixels"
            return outcome
        except Exception:  # Pillow raises many types on hostile headers
            outcome.failed = "decode"
            return outcome
        width, height = image.size
        pixels = width * height
        signals["media.image.pixels"] = float(pixels)
        if pixels <= 0:
            outcome.failed = "decode"
            return outcome
        if applies(rules.pixels) and pixels > rules.pixels.max:  # type: ignore[union-attr]
            outcome.failed = "pixels"
            return outcome
        short, long = min(width, height), max(width, height)
        signals["media.image.min_side"] = float(short)
        signals["media.image.max_side"] = float(long)
        if applies(rules.side) and not (
            rules.side.passes(short) and rules.side.passes(long)  # type: ignore[union-attr]
        ):
            outcome.failed = "side"
            return outcome
        aspect = long / short
        signals["media.image.aspect"] = round(aspect, 4)
        if applies(rules.aspect) and aspect > rules.aspect.max:  # type: ignore[union-attr]
            outcome.failed = "aspect"
            return outcome
        try:
            outcome.animated = bool(getattr(image, "is_animated", False))
        except Exception:
            outcome.failed = "decode"
            return outcome
        signals["media.image.animated"] = float(outcome.animated)
        if applies(rules.animated) and rules.animated.drop and outcome.animated:  # type: ignore[union-attr]
            outcome.failed = "animated"
            return outcome
        try:
            outcome.orientation = int(image.getexif().get(_ORIENTATION, 1) or 1)
        except Exception:
            outcome.orientation = 1
        blank, blur = applies(rules.blank), applies(rules.blur)
        size = max(rules.blank.size if blank else 0, rules.blur.size if blur else 0) or 256  # type: ignore[union-attr]
        try:
            if real == "jpeg":
                image.draft("RGB", (size, size))  # DCT scaling: decode at 1/2, 1/4 or 1/8 directly
            image.load()
            pixels = _Pixels(_downscale(image, size))
        except Exception:
            outcome.failed = "decode"
            return outcome
    if blank:
        std = _uniformity(pixels, rules.blank.size)  # type: ignore[union-attr]
        signals["media.image.std"] = round(std, 4)
        if std < rules.blank.max_std:  # type: ignore[union-attr]
            outcome.failed = "blank"
            return outcome
    if blur:
        variance = _laplacian_variance(pixels, rules.blur.size)  # type: ignore[union-attr]
        signals["media.image.laplacian_var"] = round(variance, 4)
        if variance < rules.blur.min_variance:  # type: ignore[union-attr]
            outcome.failed = "blur"
            return outcome
    return outcome


_RESIZABLE = frozenset(("RGB", "RGBA", "L", "LA", "RGBa", "La", "CMYK", "YCbCr"))


def _downscale(image: Any, size: int) -> Any:
    """An RGB or RGBA copy whose longest side is at most ``size`` (never enlarged); the resize comes
    before the mode conversion wherever Pillow can resize the mode, so only the small copy is
    converted."""
    from PIL import Image

    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit and float greys: scaled to 8 bits by their own range, not clipped at 255
        values = np.asarray(image, dtype=np.float32)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
        image = Image.fromarray(scaled.astype(np.uint8), "L")
    has_alpha = "A" in image.mode or "a" in image.mode or "transparency" in image.info
    target = "RGBA" if has_alpha else "RGB"
    if image.mode not in _RESIZABLE:
        image = image.convert(target)
    if max(image.size) > size:
        image = image.copy() if image.mode == target else image
        image.thumbnail((size, size), Image.Resampling.BOX, reducing_gap=2.0)
    return image.convert(target) if image.mode != target else image


class _Pixels:
    """Premultiplied float arrays of the downscale, one per size asked (alpha as a 4th channel)."""

    def __init__(self, small: Any):
        self.small = small
        self._arrays: dict[int, np.ndarray] = {}

    def at(self, size: int) -> np.ndarray:
        array = self._arrays.get(size)
        if array is None:
            from PIL import Image

            image = self.small
            if max(image.size) > size:
                image = image.copy()
                image.thumbnail((size, size), Image.Resampling.BOX)
            array = np.asarray(image, dtype=np.float32)
            if array.ndim == 3 and array.shape[2] == 4:
                array[..., :3] *= array[..., 3:4] * (1.0 / 255.0)  # premultiplied by alpha
            self._arrays[size] = array
        return array


def _uniformity(pixels: _Pixels, size: int) -> float:
    """Largest standard deviation over the premultiplied RGB channels and alpha: 0 for a flat colour
    or a fully transparent picture, high for white shapes on transparency."""
    values = pixels.at(size)
    return float(values.reshape(-1, values.shape[2]).std(axis=0).max())


def _laplacian_variance(pixels: _Pixels, size: int) -> float:
    values = pixels.at(size)
    grey = values[..., 0] * 0.299 + values[..., 1] * 0.587 + values[..., 2] * 0.114
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    lap = grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1] - 4.0 * grey[1:-1, 1:-1]
    return float(lap.var())


# ------------------------------------------------------------------------------------------ scrubbing


@dataclass
class Scrubbed:
    data: bytes  # the new bytes (the same object when nothing changed)
    path: str | None = None  # bytewise | lossless | reencoded; None: unchanged
    found: Found = field(default_factory=Found)
    orientation_applied: bool = False
    icc_blanked: bool = False
    trailing: bool = False


class _Unparsable(Exception):
    """The bytes cannot be parsed as the format they claim."""


def _scan(blob: bytes, found: Found) -> None:
    found.gps |= any(mark in blob for mark in _GPS_MARKS)
    found.serial |= any(mark in blob for mark in _SERIAL_MARKS)
    found.owner |= any(mark in blob for mark in _OWNER_MARKS) or any(mark in blob for mark in _IPTC_OWNER)


def _exif_facts(blob: bytes, found: Found) -> int:
    """Flags from an EXIF block (TIFF structure, with or without the ``Exif\\0\\0`` prefix); returns
    the orientation (1 when absent or unreadable)."""
    from PIL import Image

    try:
        exif = Image.Exif()
        exif.load(blob)
        ifd0 = dict(exif)
        gps = exif.get_ifd(_GPS_IFD)
        sub = exif.get_ifd(_EXIF_IFD)
    except Exception:
        _scan(blob, found)
        return 1
    found.gps |= bool(gps)
    found.serial |= any(ifd0.get(tag) for tag in _SERIAL_TAGS_IFD0) or any(
        sub.get(tag) for tag in _SERIAL_TAGS_EXIF
    )
    found.owner |= any(ifd0.get(tag) for tag in _OWNER_TAGS_IFD0) or any(
        sub.get(tag) for tag in _OWNER_TAGS_EXIF
    )
    try:
        return int(ifd0.get(_ORIENTATION, 1) or 1)
    except (TypeError, ValueError):
        return 1


_ICC_TEXT_TYPES = (b"desc", b"text", b"mluc")


def blank_icc_text(profile: bytes) -> bytes | None:
    """The profile with the characters of its text tags zeroed in place (None: nothing to blank)."""
    if len(profile) < 132:
        return None
    out = bytearray(profile)
    (count,) = struct.unpack_from(">I", profile, 128)
    changed = False
    for index in range(min(count, 256)):
        at = 132 + 12 * index
        if at + 12 > len(profile):
            break
        _, offset, size = struct.unpack_from(">4sII", profile, at)
        end = offset + size
        if size < 12 or end > len(profile):
            continue
        kind = profile[offset : offset + 4]
        spans: list[tuple[int, int]] = []
        if kind in (b"text", b"desc"):
            spans.append((offset + 12 if kind == b"desc" else offset + 8, end))
        elif kind == b"mluc" and size >= 16:
            records, record_size = struct.unpack_from(">II", profile, offset + 8)
            for record in range(min(records, 256)):
                where = offset + 16 + record * max(record_size, 12)
                if where + 12 > end:
                    break
                length, start = struct.unpack_from(">II", profile, where + 4)
                if offset + start + length <= end:
                    spans.append((offset + start, offset + start + length))
        for start, stop in spans:
            if any(out[start:stop]):
                out[start:stop] = bytes(stop - start)
                changed = True
    if not changed:
        return None
    out[84:100] = bytes(16)  # profile id (MD5): zero means "not computed"
    return bytes(out)


# -- JPEG ----------------------------------------------------------------------------------------

_ENTROPY_END = re.compile(rb"\xff[^\x00\xd0-\xd7]")
_ICC_HEADER = b"ICC_PROFILE\x00"


def _strip_jpeg(data: bytes, result: Scrubbed) -> bytes:
    """Drop metadata segments bytewise; raises _Unparsable on a structure it cannot follow."""
    if not data.startswith(b"\xff\xd8"):
        raise _Unparsable
    pieces: list[bytes] = [b"\xff\xd8"]
    icc_chunks: list[tuple[int, int, bytes]] = []  # (piece index, sequence number, chunk data)
    pos, size = 2, len(data)
    while True:
        if pos + 2 > size or data[pos] != 0xFF:
            raise _Unparsable
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:  # end of image
            pieces.append(b"\xff\xd9")
            result.trailing = pos + 2 < size
            break
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            pieces.append(data[pos : pos + 2])
            pos += 2
            continue
        if pos + 4 > size:
            raise _Unparsable
        (length,) = struct.unpack_from(">H", data, pos + 2)
        end = pos + 2 + length
        if length < 2 or end > size:
            raise _Unparsable
        segment = data[pos:end]
        payload = segment[4:]
        if marker == 0xDA:  # start of scan: copy the entropy-coded data up to the next marker
            match = _ENTROPY_END.search(data, end)
            if match is None:
                raise _Unparsable
            pieces.append(data[pos : match.start()])
            pos = match.start()
            continue
        keep = True
        if marker == 0xE1:  # EXIF, XMP, extended XMP
            if payload.startswith(b"Exif\x00"):
                _exif_facts(payload[6:], result.found)
            else:
                _scan(payload, result.found)
            keep = False
        elif marker == 0xE2:
            if payload.startswith(_ICC_HEADER) and len(payload) > 14:
                icc_chunks.append((len(pieces), payload[12], payload[14:]))
            else:
                keep = False  # MPF (more pictures, each with its own EXIF), FlashPix
        elif marker == 0xE0:
            keep = payload.startswith((b"JFIF\x00", b"JFXX\x00"))
        elif marker == 0xEE:
            keep = payload.startswith(b"Adobe")  # colour transform: needed to decode
        elif 0xE3 <= marker <= 0xEF or marker == 0xFE:  # other APPn, IPTC (APP13), comments
            _scan(payload, result.found)
            keep = False
        if keep:
            pieces.append(segment)
        pos = end
    if icc_chunks:
        icc_chunks.sort(key=lambda chunk: chunk[1])
        blanked = blank_icc_text(b"".join(chunk for _, _, chunk in icc_chunks))
        if blanked is not None:
            result.icc_blanked = True
            offset = 0
            for index, _, chunk in icc_chunks:
                old = pieces[index]
                new_chunk = blanked[offset : offset + len(chunk)]
                offset += len(chunk)
                pieces[index] = old[: len(old) - len(chunk)] + new_chunk
    return b"".join(pieces)


# -- PNG -----------------------------------------------------------------------------------------

_PNG_KEEP = frozenset(
    (
        b"IHDR",
        b"PLTE",
        b"IDAT",
        b"IEND",
        b"tRNS",
        b"gAMA",
        b"cHRM",
        b"sRGB",
        b"sBIT",
        b"bKGD",
        b"pHYs",
        b"hIST",
        b"sPLT",
        b"acTL",
        b"fcTL",
        b"fdAT",
        b"cICP",
        b"mDCv",
        b"cLLi",
        b"mDCV",
        b"cLLI",
    )
)
_MAX_ICC = 4 << 20


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _strip_png(data: bytes, result: Scrubbed) -> tuple[bytes, int]:
    """(new bytes, EXIF orientation) with text, EXIF and time chunks dropped bytewise."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise _Unparsable
    pieces = [data[:8]]
    pos, size, orientation = 8, len(data), 1
    while True:
        if pos + 12 > size:
            raise _Unparsable
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > size:
            raise _Unparsable
        payload = data[pos + 8 : pos + 8 + length]
        if kind == b"IEND":
            pieces.append(data[pos:end])
            result.trailing = end < size
            break
        if kind in _PNG_KEEP or (kind[:1].isupper() and kind != b"iCCP"):
            pieces.append(data[pos:end])  # unknown critical chunks stay: decoders must see them
        elif kind == b"iCCP":
            _, _, rest = payload.partition(b"\x00")
            blanked = None
            if rest[:1] == b"\x00":
                try:
                    inflater = zlib.decompressobj()
                    profile = inflater.decompress(rest[1:], _MAX_ICC)
                    if not inflater.unconsumed_tail:
                        blanked = blank_icc_text(profile)
                except zlib.error:
                    blanked = None
            if blanked is not None:
                result.icc_blanked = True
                pieces.append(_png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(blanked)))
            else:
                pieces.append(data[pos:end])
        elif kind == b"eXIf":
            orientation = _exif_facts(payload, result.found)
        elif kind in (b"tEXt", b"zTXt", b"iTXt"):
            _scan(payload[:80] if kind != b"iTXt" else payload, result.found)  # keyword (+ XMP)
        pos = end
    # tIME and unknown ancillary chunks are dropped without a look
    return b"".join(pieces), orientation


# -- WebP ----------------------------------------------------------------------------------------

_WEBP_KEEP = frozenset((b"VP8X", b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF", b"ICCP"))


def _strip_webp(data: bytes, result: Scrubbed) -> tuple[bytes, int, bool]:
    """(new bytes, EXIF orientation, lossless) with EXIF, XMP and unknown chunks dropped bytewise."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise _Unparsable
    chunks: list[bytearray | bytes] = []
    pos, size, orientation, lossless = 12, len(data), 1, False
    vp8x: bytearray | None = None
    while pos + 8 <= size:
        kind, length = struct.unpack_from("<4sI", data, pos)
        end = pos + 8 + length + (length & 1)
        if pos + 8 + length > size:
            raise _Unparsable
        payload = data[pos + 8 : pos + 8 + length]
        if kind == b"VP8X":
            vp8x = bytearray(data[pos : pos + 8 + length])
            chunks.append(vp8x)
        elif kind == b"ICCP":
            blanked = blank_icc_text(payload)
            if blanked is not None:
                result.icc_blanked = True
                chunks.append(data[pos : pos + 8] + blanked + b"\x00" * (length & 1))
            else:
                chunks.append(data[pos:end])
        elif kind in _WEBP_KEEP:
            lossless |= kind == b"VP8L"
            chunks.append(data[pos:end])
        elif kind == b"EXIF":
            orientation = _exif_facts(payload, result.found)
        else:
            _scan(payload, result.found)
        pos = end
    result.trailing = pos < size
    if vp8x is not None and len(vp8x) > 8:
        vp8x[8] &= ~0x0C & 0xFF  # EXIF and XMP flags
    body = b"".join(bytes(chunk) for chunk in chunks)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body, orientation, lossless


# -- GIF -----------------------------------------------------------------------------------------

_GIF_LOOPING = (b"NETSCAPE2.0", b"ANIMEXTS1.0")


def _sub_blocks_end(data: bytes, pos: int) -> int:
    size = len(data)
    while True:
        if pos >= size:
            raise _Unparsable
        length = data[pos]
        pos += 1 + length
        if length == 0:
            return pos


def _strip_gif(data: bytes, result: Scrubbed) -> bytes:
    if len(data) < 13:
        raise _Unparsable
    packed = data[10]
    pos = 13 + (3 << ((packed & 7) + 1) if packed & 0x80 else 0)
    pieces = [data[:pos]]
    size = len(data)
    while True:
        if pos >= size:
            raise _Unparsable
        block = data[pos]
        if block == 0x3B:
            pieces.append(b"\x3b")
            result.trailing = pos + 1 < size
            break
        if block == 0x21 and pos + 2 <= size:
            label = data[pos + 1]
            end = _sub_blocks_end(data, pos + 2)
            keep = True
            if label == 0xFE:
                keep = False
            elif label == 0xFF:
                identifier = data[pos + 3 : pos + 14]
                keep = identifier in _GIF_LOOPING
            if keep:
                pieces.append(data[pos:end])
            else:
                _scan(data[pos:end], result.found)
            pos = end
        elif block == 0x2C and pos + 10 <= size:
            local = data[pos + 9]
            start = pos + 10 + (3 << ((local & 7) + 1) if local & 0x80 else 0)
            end = _sub_blocks_end(data, start + 1)
            pieces.append(data[pos:end])
            pos = end
        else:
            raise _Unparsable
    return b"".join(pieces)


# -- re-encoding ---------------------------------------------------------------------------------


def _reencode(data: bytes, real: str, icc: bytes | None, lossless_webp: bool) -> tuple[bytes, str]:
    """Decode, turn upright and encode again without metadata: (bytes, path)."""
    from PIL import ImageOps

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        image = _open(data, real)
        image.load()
        upright = ImageOps.exif_transpose(image)
    upright.info = {}  # nothing of the original's metadata may follow it into the new file
    out = io.BytesIO()
    if real == "jpeg":
        from PIL import JpegImagePlugin

        options: dict[str, Any] = {"qtables": image.quantization, "comment": b""}
        sampling = JpegImagePlugin.get_sampling(image)
        if sampling >= 0:
            options["subsampling"] = sampling
        if image.info.get("progressive") or image.info.get("progression"):
            options["progressive"] = True
        if icc:
            options["icc_profile"] = icc
        upright.save(out, "JPEG", **options)
        return out.getvalue(), "reencoded"
    if real == "png":
        upright.save(out, "PNG", icc_profile=icc, **_transparency(image))
        return out.getvalue(), "lossless"
    if real == "webp":
        if lossless_webp:
            upright.save(out, "WEBP", lossless=True, exact=True, icc_profile=icc or "")
            return out.getvalue(), "lossless"
        upright.save(out, "WEBP", quality=90, icc_profile=icc or "")
        return out.getvalue(), "reencoded"
    if real == "tiff":
        compression = image.info.get("compression")
        options = {"compression": compression} if compression and compression != "raw" else {}
        if icc:
            options["icc_profile"] = icc
        upright.save(out, "TIFF", **options)
        lossy = compression in ("jpeg", "webp")
        return out.getvalue(), "reencoded" if lossy else "lossless"
    raise _Unparsable


def _transparency(image: Any) -> dict[str, Any]:
    value = image.info.get("transparency")
    return {"transparency": value} if value is not None else {}


def _icc_of(data: bytes, real: str) -> bytes | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            profile = _open(data, real).info.get("icc_profile")
    except Exception:
        return None
    if not profile:
        return None
    return blank_icc_text(profile) or profile


def scrub_image(data: bytes, real: str, animated: bool) -> Scrubbed:
    """Remove the metadata of one image that passed the checks (see the module doc for the paths).

    Raises ``ValueError`` when the metadata cannot be removed (the caller drops the record)."""
    result = Scrubbed(data=data)
    try:
        if real == "jpeg":
            orientation = 1
            try:
                stripped = _strip_jpeg(data, result)
            except _Unparsable:
                stripped = None
            orientation = _jpeg_orientation(data)
            if orientation != 1 or stripped is None:
                icc = _icc_of(data, real)
                result.icc_blanked = icc is not None and _icc_of_raw(data, real) != icc
                result.data, result.path = _reencode(data, real, icc, False)
                result.orientation_applied = orientation != 1
                if stripped is None:
                    _scan_all(data, result.found)
            else:
                result.data, result.path = stripped, "bytewise"
        elif real == "png":
            stripped, orientation = _strip_png(data, result)
            if orientation not in (1, 0) and not animated:
                icc = _icc_of(data, real)
                result.data, result.path = _reencode(data, real, icc, False)
                result.orientation_applied = True
            else:
                result.data, result.path = stripped, "bytewise"
        elif real == "webp":
            stripped, orientation, lossless = _strip_webp(data, result)
            if orientation not in (1, 0) and not animated:
                icc = _icc_of(data, real)
                result.data, result.path = _reencode(data, real, icc, lossless)
                result.orientation_applied = True
            else:
                result.data, result.path = stripped, "bytewise"
        elif real == "gif":
            result.data, result.path = _strip_gif(data, result), "bytewise"
        elif real == "tiff":
            _scan_all(data[: 1 << 20], result.found)
            icc = _icc_of(data, real)
            result.icc_blanked = icc is not None and _icc_of_raw(data, real) != icc
            orientation = _jpeg_orientation(data)
            result.data, result.path = _reencode(data, real, icc, False)
            result.orientation_applied = orientation not in (0, 1)
        else:  # bmp: no text metadata
            return result
    except (_Unparsable, OSError, ValueError, struct.error, SyntaxError, EOFError) as error:
        raise ValueError(f"metadata could not be removed ({type(error).__name__})") from None
    if result.data == data:
        result.data, result.path = data, None
    return result


def _jpeg_orientation(data: bytes) -> int:
    """EXIF orientation through Pillow (JPEG, TIFF), 1 when absent or unreadable."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data), formats=["JPEG", "TIFF"])
            return int(image.getexif().get(_ORIENTATION, 1) or 1)
    except Exception:
        return 1


def _icc_of_raw(data: bytes, real: str) -> bytes | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _open(data, real).info.get("icc_profile")
    except Exception:
        return None


def _scan_all(data: bytes, found: Found) -> None:
    """Flags from the whole EXIF of a file Pillow opens (re-encoding paths), plus a bytes scan."""
    from PIL import Image

    # an EXIF block Pillow cannot read: the bytes scan below still counts what it holds
    with contextlib.suppress(Exception), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exif = Image.open(io.BytesIO(data), formats=list(_PIL_FORMATS.values())).getexif()
        _exif_facts(exif.tobytes(), found)
    _scan(data[: 1 << 20], found)
