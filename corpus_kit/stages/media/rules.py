"""The media rule file (``rules/media/default.yaml``): one optional block per check, null turns it off.

Every check block takes ``captioned`` (default true): false leaves that check out for records that
also have text (a caption), whose image may be a chart or a scan the text explains.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from corpus_kit.resources import resource_path
from corpus_kit.utils import load_yaml_file


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    captioned: bool = Field(default=True, description="Apply the check to captioned records too.")


class FormatRule(_Rule):
    same_family: Literal["correct", "drop"] = "correct"


class PixelsRule(_Rule):
    max: int = Field(gt=0)


class RangeRule(_Rule):
    min: float | None = Field(default=None, ge=0)
    max: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _bounds(self) -> RangeRule:
        if self.min is None and self.max is None:
            raise ValueError("give min and/or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is above max")
        return self

    def passes(self, value: float) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


class AspectRule(_Rule):
    max: float = Field(ge=1)


class AnimatedRule(_Rule):
    drop: bool = True


class BlankRule(_Rule):
    max_std: float = Field(ge=0)
    size: int = Field(default=256, ge=8, le=4096)


class BlurRule(_Rule):
    min_variance: float = Field(ge=0)
    size: int = Field(default=512, ge=16, le=4096)


class SilenceRule(_Rule):
    max_share: float = Field(ge=0, le=1)
    frame_ms: float = Field(default=20, gt=0, le=1000)
    threshold_dbfs: float = Field(default=-50, le=0)


class ClippingRule(_Rule):
    max_share: float = Field(ge=0, le=1)
    level: float = Field(default=0.999, gt=0, le=1)


class RecordRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on_item_failure: Literal["drop_record", "remove_item"] = "drop_record"
    captioned: bool = Field(
        default=True, description="Judge captioned records (text and media) by their media."
    )


class ImageRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: FormatRule | None = FormatRule()
    pixels: PixelsRule | None = None
    side: RangeRule | None = None
    aspect: AspectRule | None = None
    animated: AnimatedRule | None = None
    blank: BlankRule | None = None
    blur: BlurRule | None = None


AudioFormat = Literal["wav", "flac", "ogg", "mp3"]
VideoContainer = Literal["mp4", "mov", "webm", "mkv", "avi", "flv", "mpeg-ts", "mpeg-ps"]


def _audio_formats() -> list[AudioFormat]:
    return ["wav", "flac", "ogg", "mp3"]


def _video_containers() -> list[VideoContainer]:
    return ["mp4", "mov", "webm", "mkv", "avi", "flv", "mpeg-ts", "mpeg-ps"]


class AudioRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: FormatRule | None = FormatRule()
    formats: list[AudioFormat] = Field(default_factory=_audio_formats)
    duration: RangeRule | None = None
    sample_rate: RangeRule | None = None
    silence: SilenceRule | None = None
    clipping: ClippingRule | None = None


class VideoRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: FormatRule | None = FormatRule()
    containers: list[VideoContainer] = Field(default_factory=_video_containers)
    duration: RangeRule | None = None


class MediaRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    records: RecordRules = RecordRules()
    image: ImageRules = ImageRules()
    audio: AudioRules = AudioRules()
    video: VideoRules = VideoRules()


def load_media_rules(path: str | Path | None = None) -> MediaRules:
    path = Path(path) if path else resource_path("rules", "media", "default.yaml")
    return MediaRules.model_validate(load_yaml_file(path, "media rules"))
