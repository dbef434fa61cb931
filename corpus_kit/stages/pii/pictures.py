"""Personal data inside pictures: text read with OCR, faces counted (the optional extra ``ocr``).

* OCR: ``rapidocr-onnxruntime`` 1.4.4, whose PP-OCRv4 detection, direction and recognition ONNX
  models (Chinese and English, Apache-2.0) ship inside the wheel: nothing is downloaded, ever.
  The text lines it reads go through the step's own PII finder (the recognizers, checksums and
  entity types of the text path), one row of the picture per line of text.
* Faces: OpenCV's bundled Haar cascade ``haarcascade_frontalface_default.xml``
  (``cv2.data.haarcascades``): a count, reported as biometric data.

Hostile pictures: only common raster formats are opened (Pillow never hands a file to an outside
program), the pixel count is read from the header and capped before any pixel is decoded (frames of
an animation included), JPEGs are decoded at a reduced scale when only read, and the picture is
downscaled to ``ocr_side`` pixels on its long side before OCR: memory and time per picture are
bounded whatever the file claims. A picture that cannot be decoded within those bounds is
:class:`Unreadable`; the step drops its record rather than passing it on unscreened.

Nothing recognised (text, numbers) leaves this module except as entity types and boxes.
"""

from __future__ import annotations

import io
import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np

ImagesMode = Literal["drop", "blur", "off"]
FacesMode = Literal["count", "drop", "blur", "off"]

OCR_EXTRA = "ocr"
#: Modules the extra brings (the registry maps them to ``corpus-kit[ocr]``).
OCR_MODULES = ("rapidocr_onnxruntime", "cv2", "PIL")
FACE_CASCADE = "haarcascade_frontalface_default.xml"
#: Formats opened at all (Pillow's other plugins, EPS through Ghostscript among them, never run).
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO")
# formats written back as they came after a blur; the others become PNG
_WRITABLE = {"JPEG": ("JPEG", "image/jpeg"), "MPO": ("JPEG", "image/jpeg"), "PNG": ("PNG", "image/png")}
_WRITABLE["WEBP"] = ("WEBP", "image/webp")
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_OCR_SIDE = 1600
MAX_FRAMES = 16  # frames of an animation screened; one with more is unreadable
_FACE_SIDE = 1024  # faces are looked for on the picture downscaled to this long side
_MIN_TEXT_SIDE = 960  # a smaller picture is upscaled to this long side before OCR (small print)
_ROW_GAP = 1.5  # boxes further apart than this many line heights are not joined into one line
_PAD = 0.2  # blurred boxes are widened by this share of their height on every side


class Unreadable(Exception):
    """A picture that cannot be screened within the bounds (undecodable, truncated, too many pixels)."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in the picture's pixels


@dataclass
class TextLine:
    box: Box
    text: str


@dataclass
class Verdict:
    """What screening one picture found: entity types and where, faces; never the text itself."""

    entities: list[str] = field(default_factory=list)
    regions: list[Box] = field(default_factory=list)
    faces: list[Box] = field(default_factory=list)
    frames: int = 1
    size: tuple[int, int] = (0, 0)  # of the frame as screened: regions and faces are in its pixels


def missing_module() -> str | None:
    """The first module of the ``ocr`` extra that cannot be imported, else ``None``."""
    for module in OCR_MODULES:
        try:
            __import__(module)
        except ImportError:
            return module
    return None


def engine_versions() -> str:
    """What screened the pictures, for the manifest (versions of the packages, model names)."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(*names: str) -> str:
        for name in names:
            try:
                return version(name)
            except PackageNotFoundError:
                continue
        return "?"

    return (
        f"rapidocr-onnxruntime {installed('rapidocr-onnxruntime')} (PP-OCRv4 det/rec, mobile v2 cls); "
        f"opencv {installed('opencv-python', 'opencv-python-headless')} {FACE_CASCADE}"
    )


_LOCK = threading.Lock()


@lru_cache(maxsize=4)
def _ocr_engine(threads: int) -> Any:
    import logging

    from rapidocr_onnxruntime import RapidOCR

    with _LOCK:
        engine = RapidOCR(
            intra_op_num_threads=threads,
            inter_op_num_threads=1,
            # the step bounds the picture itself (ocr_side): the engine does not shrink it again
            max_side_len=4096,
        )
    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    logging.getLogger("OrtInferSession").setLevel(logging.ERROR)
    return engine


@lru_cache(maxsize=1)
def _face_cascade() -> Any:
    import cv2

    path = os.path.join(cv2.data.haarcascades, FACE_CASCADE)  # type: ignore[attr-defined]
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise RuntimeError(f"OpenCV's {FACE_CASCADE} could not be loaded")
    return cascade


def _rgb_frames(image: Any, frames: int) -> list[Any]:
    """Each frame as RGB; transparency composited over white and, when some is real, also black
    (white text on a transparent background would vanish on white alone)."""
    from PIL import Image

    result = []
    for index in range(frames):
        image.seek(index)
        frame = image.convert("RGBA") if image.mode in ("RGBA", "LA", "PA", "P") else image.convert("RGB")
        if frame.mode == "RGBA":
            alpha = frame.getchannel("A")
            low, _ = alpha.getextrema()
            for background in ((255, 255, 255), (0, 0, 0)) if low < 255 else ((255, 255, 255),):
                flat = Image.new("RGB", frame.size, background)
                flat.paste(frame, mask=alpha)
                result.append(flat)
        else:
            result.append(frame)
    return result


class PictureScreener:
    """Decodes a picture within bounds, reads its text, finds PII in it, counts faces, blurs.

    ``find(text)`` is the PII finder of the step (presidio results with ``start``, ``end`` and
    ``entity_type``). Engines are built lazily, once per process; the screener itself pickles.
    """

    def __init__(
        self,
        faces: FacesMode = "count",
        max_pixels: int = DEFAULT_MAX_PIXELS,
        ocr_side: int = DEFAULT_OCR_SIDE,
        threads: int = 1,
    ):
        self.faces_mode = faces
        self.max_pixels = max_pixels
        self.ocr_side = ocr_side
        self.threads = threads

    # -- decoding --------------------------------------------------------------------------------
    def open(self, data: bytes) -> tuple[Any, int]:
        """The picture, opened lazily (header only), and its frame count; :class:`Unreadable` when
        its format is not one of :data:`FORMATS` or its pixels exceed ``max_pixels``."""
        from PIL import Image

        try:
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
            width, height = image.size
            frames = int(getattr(image, "n_frames", 1) or 1)
        except Exception:
            raise Unreadable("undecodable") from None
        if width < 1 or height < 1:
            raise Unreadable("undecodable")
        if frames > MAX_FRAMES:
            raise Unreadable("frames")
        if width * height * frames > self.max_pixels:
            raise Unreadable("pixels")
        return image, frames

    def decode(self, data: bytes, full: bool = False) -> tuple[list[Any], str, int]:
        """RGB frames (Pillow images, orientation applied), the format, the frame count.

        ``full``: at full resolution (for a blur); otherwise a JPEG is decoded at the smallest
        scale that still gives ``ocr_side`` pixels on its long side."""
        from PIL import ImageOps

        image, frames = self.open(data)
        picture_format = image.format or ""
        try:
            if not full and picture_format in ("JPEG", "MPO"):
                image.draft("RGB", (self.ocr_side, self.ocr_side))
            image.load()
            if frames == 1:
                image = ImageOps.exif_transpose(image)
            return _rgb_frames(image, frames), picture_format, frames
        except Unreadable:
            raise
        except Exception:  # truncated data, bad chunks, a decoder error of any kind
            raise Unreadable("undecodable") from None

    # -- reading ---------------------------------------------------------------------------------
    def read_text(self, frame: Any) -> list[TextLine]:
        """Text boxes of an RGB frame, in the frame's pixels."""
        from PIL import Image

        width, height = frame.size
        long_side = max(width, height)
        scale = 1.0
        if long_side > self.ocr_side:
            scale = self.ocr_side / long_side
        elif long_side < _MIN_TEXT_SIDE:
            scale = min(_MIN_TEXT_SIDE / long_side, 3.0)
        if scale != 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            frame = frame.resize(size, Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC)
        bgr = np.ascontiguousarray(np.asarray(frame)[:, :, ::-1])
        try:
            found, _ = _ocr_engine(self.threads)(bgr)
        except Exception:
            raise Unreadable("ocr") from None
        lines = []
        for points, text, _score in found or ():
            xs = [float(point[0]) / scale for point in points]
            ys = [float(point[1]) / scale for point in points]
            if text:
                lines.append(TextLine((min(xs), min(ys), max(xs), max(ys)), str(text)))
        return lines

    def count_faces(self, frame: Any) -> list[Box]:
        width, height = frame.size
        scale = min(1.0, _FACE_SIDE / max(width, height))
        gray = frame.convert("L")
        if scale < 1.0:
            gray = gray.resize((max(1, round(width * scale)), max(1, round(height * scale))))
        side = max(24, round(min(gray.size) / 16))
        cascade = _face_cascade()  # a broken install fails loudly, not as unreadable pictures
        try:
            found = cascade.detectMultiScale(
                np.asarray(gray), scaleFactor=1.1, minNeighbors=6, minSize=(side, side)
            )
        except Exception:  # cv2.error on a frame OpenCV refuses
            raise Unreadable("faces") from None
        return [
            (float(x) / scale, float(y) / scale, float(x + w) / scale, float(y + h) / scale)
            for x, y, w, h in found
        ]

    def screen(self, data: bytes, find: Callable[[str], list[Any]]) -> Verdict:
        """Read every frame, find PII in its text and count faces; raises :class:`Unreadable`."""
        frames, _, count = self.decode(data)
        verdict = Verdict(frames=count, size=frames[0].size)
        for frame in frames:
            entities, regions = find_in_lines(self.read_text(frame), find)
            verdict.entities.extend(entities)
            verdict.regions.extend(_rescale(regions, frame.size, frames[0].size))
            if self.faces_mode != "off":
                verdict.faces.extend(self.count_faces(frame))
        if len(frames) > 1:  # white and black composites of one frame: one set of faces is enough
            verdict.faces = _distinct(verdict.faces)
        return verdict

    # -- blurring --------------------------------------------------------------------------------
    def blur(self, data: bytes, regions: Sequence[Box], screened_size: tuple[int, int]) -> tuple[bytes, str]:
        """The picture with ``regions`` (in the pixels of the frame as screened) pixelated and
        blurred, encoded again (same format for JPEG, PNG and WebP, else PNG): ``(bytes, mime)``."""
        frames, picture_format, count = self.decode(data, full=True)
        if count > 1:
            raise Unreadable("animated")  # animations are not re-encoded: the record is dropped
        picture = frames[0]
        blurred = blur_regions(picture, _rescale(list(regions), screened_size, picture.size))
        target, mime = _WRITABLE.get(picture_format, ("PNG", "image/png"))
        buffer = io.BytesIO()
        options: dict[str, Any] = {"quality": 90} if target in ("JPEG", "WEBP") else {"optimize": False}
        blurred.save(buffer, format=target, **options)
        return buffer.getvalue(), mime


def _rescale(boxes: list[Box], source: tuple[int, int], target: tuple[int, int]) -> list[Box]:
    if source == target:
        return boxes
    sx, sy = target[0] / source[0], target[1] / source[1]
    return [(x0 * sx, y0 * sy, x1 * sx, y1 * sy) for x0, y0, x1, y1 in boxes]


def _distinct(boxes: list[Box]) -> list[Box]:
    kept: list[Box] = []
    for box in boxes:
        if not any(_overlap(box, other) > 0.5 for other in kept):
            kept.append(box)
    return kept


def _overlap(a: Box, b: Box) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return width * height / smaller if smaller > 0 else 0.0


# OCR spacing is unreliable: it drops the space after "No." and invents one inside a number
_GLUED_AFTER = re.compile(r"(?<=[^\d\s][.:：#])(?=\d)")
_SPACE_IN_NUMBER = re.compile(r"(?<=\d) (?=\d)")
_O_IN_NUMBER = re.compile(r"(?<=\d)[Oo](?=\d)")


def compact(text: str) -> str:
    """OCR text as the recognizers expect it: a space after a label's ``.``/``:`` glued to a
    number, no space inside a number, ``O`` read for ``0`` between digits mended."""
    text = _O_IN_NUMBER.sub("0", text)
    return _GLUED_AFTER.sub(" ", _SPACE_IN_NUMBER.sub("", text))


def text_rows(lines: list[TextLine], compacted: bool = False) -> tuple[str, list[tuple[int, int, Box]]]:
    """The lines as text, one row of the picture per line, and the span each box has in it.

    Boxes whose vertical extents overlap by half the smaller height form a row, left to right,
    joined by one space, or by three when far apart (the digit runs of the patterns allow one
    separator: two numbers in two columns never read as one). ``compacted``: each box's text
    through :func:`compact`, and two close boxes joined without a space between digits."""
    ordered = sorted(lines, key=lambda line: ((line.box[1] + line.box[3]) / 2, line.box[0]))
    rows: list[list[TextLine]] = []
    for line in ordered:
        for row in rows:
            top, bottom = min(b.box[1] for b in row), max(b.box[3] for b in row)
            shared = min(bottom, line.box[3]) - max(top, line.box[1])
            if shared >= 0.5 * min(bottom - top, line.box[3] - line.box[1]):
                row.append(line)
                break
        else:
            rows.append([line])
    pieces: list[str] = []
    spans: list[tuple[int, int, Box]] = []
    position = 0
    for row in rows:
        row.sort(key=lambda line: line.box[0])
        previous: TextLine | None = None
        for line in row:
            text = compact(line.text) if compacted else line.text
            if previous is not None:
                height = max(line.box[3] - line.box[1], previous.box[3] - previous.box[1], 1.0)
                gap = " " if line.box[0] - previous.box[2] <= _ROW_GAP * height else "   "
                if compacted and gap == " " and pieces[-1][-1:].isdigit() and text[:1].isdigit():
                    gap = ""
                pieces.append(gap)
                position += len(gap)
            spans.append((position, position + len(text), line.box))
            pieces.append(text)
            position += len(text)
            previous = line
        pieces.append("\n")
        position += 1
    return "".join(pieces), spans


def find_in_lines(lines: list[TextLine], find: Callable[[str], list[Any]]) -> tuple[list[str], list[Box]]:
    """Entity types found in the text of ``lines`` and the boxes that hold them."""
    if not lines:
        return [], []
    best: list[str] = []
    regions: list[Box] = []
    # as read, and compacted (see compact): the reading with more values gives the count, both
    # give regions
    for compacted in (False, True):
        text, spans = text_rows(lines, compacted)
        entities = []
        for result in find(text):
            entities.append(result.entity_type)
            for start, end, box in spans:
                if start < result.end and result.start < end and box not in regions:
                    regions.append(box)
        if len(entities) > len(best):
            best = entities
    return best, regions


def blur_regions(picture: Any, regions: Sequence[Box]) -> Any:
    """``picture`` (RGB) with each region, widened a little, pixelated then blurred."""
    from PIL import Image, ImageFilter

    picture = picture.copy()
    width, height = picture.size
    for x0, y0, x1, y1 in regions:
        pad = _PAD * max(1.0, y1 - y0)
        left, top = max(0, int(x0 - pad)), max(0, int(y0 - pad))
        right, bottom = min(width, int(x1 + pad) + 1), min(height, int(y1 + pad) + 1)
        if right <= left or bottom <= top:
            continue
        region = picture.crop((left, top, right, bottom))
        block = max(6, (bottom - top) // 2)
        small = region.resize(
            (max(1, (right - left) // block), max(1, (bottom - top) // block)), Image.Resampling.BOX
        )
        region = small.resize(region.size, Image.Resampling.NEAREST)
        region = region.filter(ImageFilter.GaussianBlur(radius=block / 2))
        picture.paste(region, (left, top))
    return picture
