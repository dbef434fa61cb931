"""Audio checks through soundfile (libsndfile: WAV, FLAC, Ogg Vorbis/Opus, MP3) and tag removal.

The header gives the format, sample rate, channels and duration before anything is decoded; the
samples are then decoded in blocks (bounded memory) up to the rule's longest duration, and the
silence and clipping shares are computed with NumPy per block. Tags are removed on in-memory bytes:
WAV chunk by chunk (LIST/INFO, id3, bext, iXML, XMP and unknown chunks dropped), MP3, FLAC and Ogg
through mutagen (ID3v1/v2 and APEv2, Vorbis comments and FLAC pictures).
"""

from __future__ import annotations

import contextlib
import io
import struct
from dataclasses import dataclass, field

import numpy as np

from corpus_kit.stages.media.image import Found, _scan
from corpus_kit.stages.media.rules import AudioRules

_SF_FORMATS = {"WAV": "wav", "WAVEX": "wav", "RF64": "wav", "FLAC": "flac", "OGG": "ogg", "MP3": "mp3"}
_MAX_CHANNELS = 64
_BLOCK_SECONDS = 4.0


@dataclass
class AudioOutcome:
    failed: str | None = None
    signals: dict[str, float] = field(default_factory=dict)
    seconds: float | None = None


def judge_audio(data: bytes, real: str, rules: AudioRules, captioned: bool) -> AudioOutcome:
    import soundfile

    outcome = AudioOutcome()
    signals = outcome.signals

    def applies(rule: object) -> bool:
        return rule is not None and (getattr(rule, "captioned", True) or not captioned)

    if real not in rules.formats:
        outcome.failed = "format"
        return outcome
    if real == "wav" and _wav_truncated(data):
        outcome.failed = "decode"
        return outcome
    try:
        sound = soundfile.SoundFile(io.BytesIO(data))
    except Exception:  # LibsndfileError, TypeError on odd headers
        outcome.failed = "decode"
        return outcome
    with sound:
        if _SF_FORMATS.get(sound.format) != real or not 0 < sound.channels <= _MAX_CHANNELS:
            outcome.failed = "decode"
            return outcome
        rate, frames = sound.samplerate, sound.frames
        if rate <= 0:
            outcome.failed = "decode"
            return outcome
        seconds = frames / rate
        outcome.seconds = seconds
        signals["media.audio.seconds"] = round(seconds, 3)
        signals["media.audio.sample_rate"] = float(rate)
        if applies(rules.sample_rate) and not rules.sample_rate.passes(rate):  # type: ignore[union-attr]
            outcome.failed = "sample_rate"
            return outcome
        if applies(rules.duration) and not rules.duration.passes(seconds):  # type: ignore[union-attr]
            outcome.failed = "duration"
            return outcome
        silence = rules.silence if applies(rules.silence) else None
        clipping = rules.clipping if applies(rules.clipping) else None
        frame = max(1, round(rate * (silence.frame_ms if silence else 20) / 1000))
        limit = int(rate * (rules.duration.max if rules.duration and rules.duration.max else 14400)) + 1
        block = max(frame, int(_BLOCK_SECONDS * rate) // frame * frame)
        quiet_level = 10 ** ((silence.threshold_dbfs if silence else -50) / 20)
        clip_level = clipping.level if clipping else 0.999
        decoded = frames_total = quiet = clipped = 0
        try:
            for samples in sound.blocks(blocksize=block, dtype="float32", always_2d=True):
                if not np.isfinite(samples).all():
                    outcome.failed = "decode"
                    return outcome
                count = len(samples)
                decoded += count
                whole = count // frame * frame
                power = np.square(samples).mean(axis=1)
                rms = np.sqrt(power[:whole].reshape(-1, frame).mean(axis=1))
                quiet += int((rms < quiet_level).sum())
                frames_total += len(rms)
                if whole < count:  # the last, partial frame
                    quiet += int(np.sqrt(power[whole:].mean()) < quiet_level)
                    frames_total += 1
                clipped += int((np.abs(samples) >= clip_level).sum())
                if decoded >= limit:
                    break
        except Exception:
            outcome.failed = "decode"
            return outcome
    if decoded == 0 or (frames > 0 and decoded < 0.5 * min(frames, limit)):
        outcome.failed = "decode"  # truncated: far fewer samples than the header says
        return outcome
    silence_share = quiet / frames_total if frames_total else 1.0
    clipping_share = clipped / (decoded * max(1, sound.channels))
    signals["media.audio.silence_share"] = round(silence_share, 4)
    signals["media.audio.clipping_share"] = round(clipping_share, 6)
    if silence is not None and silence_share > silence.max_share:
        outcome.failed = "silence"
        return outcome
    if clipping is not None and clipping_share > clipping.max_share:
        outcome.failed = "clipping"
        return outcome
    return outcome


def _wav_truncated(data: bytes) -> bool:
    """A WAV whose ``data`` chunk says more bytes than the file holds (libsndfile reads what is there
    without a word); streaming writers' 0 and 0xFFFFFFFF sizes are not taken as a lie."""
    pos, size = 12, len(data)
    for _ in range(64):
        if pos + 8 > size:
            return False
        kind, length = struct.unpack_from("<4sI", data, pos)
        if kind == b"data":
            return length not in (0, 0xFFFFFFFF) and pos + 8 + length > size
        pos += 8 + length + (length & 1)
    return False


# ------------------------------------------------------------------------------------------ tags

_WAV_KEEP = frozenset((b"fmt ", b"data", b"fact", b"cue ", b"smpl", b"inst", b"ds64", b"PEAK"))
_OWNER_TAG_NAMES = (
    b"TPE1",
    b"TPE2",
    b"TPE3",
    b"TCOM",
    b"TEXT",
    b"TOPE",
    b"TOWN",
    b"TCOP",
    b"IART",
    b"ICOP",
    b"IENG",
    b"ICMS",
    b"Originator",
)
_OWNER_COMMENTS = ("artist", "albumartist", "composer", "performer", "copyright", "author", "lyricist")


@dataclass
class AudioScrubbed:
    data: bytes
    changed: bool = False
    had_tags: bool = False
    found: Found = field(default_factory=Found)


def _strip_wav(data: bytes, result: AudioScrubbed) -> bytes:
    if data[:4] not in (b"RIFF", b"RF64") or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF WAVE file")
    pieces: list[bytes] = []
    pos, size = 12, len(data)
    while pos + 8 <= size:
        kind, length = struct.unpack_from("<4sI", data, pos)
        end = min(size, pos + 8 + length + (length & 1))
        if kind in _WAV_KEEP:
            pieces.append(data[pos:end])
        else:
            chunk = data[pos + 8 : end]
            result.had_tags = True
            result.found.owner |= any(name in chunk for name in _OWNER_TAG_NAMES)
            _scan(chunk, result.found)
        pos = end
    body = b"".join(pieces)
    riff_size = struct.pack("<I", 4 + len(body)) if data[:4] == b"RIFF" else data[4:8]
    return data[:4] + riff_size + b"WAVE" + body


def _strip_mutagen(data: bytes, real: str, result: AudioScrubbed) -> bytes:
    import mutagen
    import mutagen.apev2
    import mutagen.id3

    buffer = io.BytesIO(data)
    if real == "mp3":
        with contextlib.suppress(mutagen.id3.ID3NoHeaderError):  # no ID3v2 block: nothing to count
            tags = mutagen.id3.ID3(buffer)
            result.had_tags = True
            result.found.owner |= any(tag[:4].encode() in _OWNER_TAG_NAMES for tag in tags)
        has_v1 = len(data) >= 128 and data[-128:-125] == b"TAG"
        result.had_tags |= has_v1
        buffer.seek(0)
        mutagen.id3.delete(buffer, delete_v1=True, delete_v2=True)
        buffer.seek(0)
        with contextlib.suppress(mutagen.apev2.APENoHeaderError):  # no APEv2 tag: nothing to delete
            mutagen.apev2.APEv2(buffer)
            result.had_tags = True
            buffer.seek(0)
            mutagen.apev2.delete(buffer)
        return buffer.getvalue()
    audio = mutagen.File(buffer)
    if audio is None:
        raise ValueError("tags not readable")
    tags = audio.tags
    if tags:
        keys = {str(key).lower() for key in tags.keys()}  # noqa: SIM118 (Vorbis tags iterate as pairs)
        result.had_tags = bool(keys - {"encoder"})
        result.found.owner |= bool(keys & set(_OWNER_COMMENTS))
    pictures = getattr(audio, "pictures", None)
    buffer.seek(0)
    audio.delete(buffer)
    if pictures:
        result.had_tags = True
        buffer.seek(0)
        audio = mutagen.File(buffer)
        audio.clear_pictures()
        buffer.seek(0)
        audio.save(buffer)
    return buffer.getvalue()


def scrub_audio(data: bytes, real: str) -> AudioScrubbed:
    """Tags removed from one audio item; raises ``ValueError`` when that cannot be done."""
    result = AudioScrubbed(data=data)
    try:
        new = _strip_wav(data, result) if real == "wav" else _strip_mutagen(data, real, result)
    except ValueError:
        raise
    except Exception as error:  # mutagen's own error types, struct errors on hostile files
        raise ValueError(f"tags could not be removed ({type(error).__name__})") from None
    if new != data:
        result.data, result.changed = new, True
    return result
