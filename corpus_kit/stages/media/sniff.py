"""Real formats from magic bytes, declared formats from MIME types and names, cheap video durations.

Nothing here decodes: a few header bytes decide the format, and a video's duration is read from its
container header where that is a fixed-layout field (MP4/MOV ``mvhd``, AVI ``avih``).
"""

from __future__ import annotations

import mimetypes
import struct

#: format -> family
FAMILIES = {
    "jpeg": "image",
    "png": "image",
    "gif": "image",
    "webp": "image",
    "bmp": "image",
    "tiff": "image",
    "wav": "audio",
    "flac": "audio",
    "ogg": "audio",
    "mp3": "audio",
    "m4a": "audio",
    "mp4": "video",
    "mov": "video",
    "webm": "video",
    "mkv": "video",
    "avi": "video",
    "flv": "video",
    "mpeg-ts": "video",
    "mpeg-ps": "video",
    "pdf": "document",
    "zip": "archive",
    "gzip": "archive",
    "executable": "executable",
    "html": "document",
}

MIMES = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "bmp": "image/bmp",
    "tiff": "image/tiff",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "webm": "video/webm",
    "mkv": "video/x-matroska",
    "avi": "video/x-msvideo",
    "flv": "video/x-flv",
    "mpeg-ts": "video/mp2t",
    "mpeg-ps": "video/mpeg",
}

_BY_MIME = {
    **{mime: name for name, mime in MIMES.items()},
    "image/jpg": "jpeg",
    "image/pjpeg": "jpeg",
    "image/x-png": "png",
    "image/x-ms-bmp": "bmp",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/vnd.wave": "wav",
    "audio/x-flac": "flac",
    "audio/mp3": "mp3",
    "audio/vorbis": "ogg",
    "audio/opus": "ogg",
    "audio/x-m4a": "m4a",
    "audio/m4a": "m4a",
    "video/x-m4v": "mp4",
    "application/pdf": "pdf",
    "application/zip": "zip",
    "text/html": "html",
}
_BY_EXTENSION = {"opus": "ogg", "oga": "ogg", "m4v": "mp4", "jfif": "jpeg", "tif": "tiff"}
#: formats that are one container under two names (a .mp4 holding a QuickTime brand is no lie)
_ALIASES = {"mov": "mp4", "m4a": "mp4", "mkv": "webm"}


def sniff(data: bytes) -> str | None:
    """The real format of ``data`` from its first bytes, or None when no known signature matches."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and len(head) >= 12:
        kind = head[8:12]
        return {b"WEBP": "webp", b"WAVE": "wav", b"AVI ": "avi"}.get(kind)
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if (
        head.startswith(b"BM")
        and len(head) >= 18
        and struct.unpack_from("<I", head, 14)[0]
        in (
            12,
            40,
            52,
            56,
            64,
            108,
            124,
        )
    ):
        return "bmp"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"ID3"):
        return "mp3"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return "mov"
        if brand in (b"M4A ", b"M4B "):
            return "m4a"
        return "mp4"
    if len(head) >= 8 and head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in head else "mkv"
    if head.startswith(b"FLV\x01"):
        return "flv"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "mpeg-ps"
    if len(data) >= 377 and data[0] == 0x47 and data[188] == 0x47 and data[376] == 0x47:
        return "mpeg-ts"
    if _mpeg_audio_frame(head):
        return "mp3"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith((b"MZ", b"\x7fELF", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"#!")):
        return "executable"
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html")):
        return "html"
    return None


def _mpeg_audio_frame(head: bytes) -> bool:
    """An MPEG audio frame header: sync bits, a valid version, layer, bitrate and sample rate."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 3
    return version != 1 and layer != 0 and bitrate not in (0, 15) and rate != 3


def format_of_mime(mime: str | None) -> str | None:
    if not mime:
        return None
    return _BY_MIME.get(mime.split(";", 1)[0].strip().lower())


def format_of_name(name: str | None) -> str | None:
    if not name or "." not in name:
        return None
    extension = name.rsplit(".", 1)[-1].lower()
    if extension in _BY_EXTENSION:
        return _BY_EXTENSION[extension]
    guessed, _ = mimetypes.guess_type(f"x.{extension}")
    return format_of_mime(guessed)


def declared_format(mime: str | None, name: str | None, real: str | None) -> str | None:
    """What the input says the item is: its MIME type when that names another format than the real
    one (a MIME given in the input), otherwise its file name's extension."""
    from_mime = format_of_mime(mime)
    if from_mime is not None and from_mime != real:
        return from_mime
    return format_of_name(name) or from_mime


def same_format(first: str, second: str) -> bool:
    return _ALIASES.get(first, first) == _ALIASES.get(second, second)


_MAX_BOXES = 4096


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """ISO-BMFF boxes ``(type, payload start, box end)`` between ``start`` and ``end`` (bounded count)."""
    found: list[tuple[bytes, int, int]] = []
    offset = start
    while offset + 8 <= end and len(found) < _MAX_BOXES:
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            if offset + 16 > end:
                break
            size = struct.unpack_from(">Q", data, offset + 8)[0]
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            break
        found.append((kind, offset + header, offset + size))
        offset += size
    return found


def video_duration(data: bytes, container: str) -> float | None:
    """Seconds from the container header (MP4/MOV ``mvhd``, AVI ``avih``), None when not cheap."""
    try:
        if container in ("mp4", "mov", "m4a"):
            for kind, start, end in _boxes(data, 0, len(data)):
                if kind != b"moov":
                    continue
                for inner, payload, inner_end in _boxes(data, start, end):
                    if inner != b"mvhd" or inner_end - payload < 20:
                        continue
                    if data[payload] == 1:
                        if inner_end - payload < 32:
                            return None
                        scale, length = struct.unpack_from(">IQ", data, payload + 20)
                    else:
                        scale, length = struct.unpack_from(">II", data, payload + 12)
                    return length / scale if scale else None
            return None
        if container == "avi":
            at = data.find(b"avih", 12, 4096)
            if at < 0 or at + 8 + 20 > len(data):
                return None
            per_frame, _, _, _, frames = struct.unpack_from("<5I", data, at + 8)
            return per_frame * frames / 1e6
    except struct.error:
        return None
    return None
