"""The ``media`` manifest section: counts per modality, drops per check, metadata removed.

Counts only: never a file name, a tag value, a GPS position or a serial number. Kept free of heavy
imports: :mod:`corpus_kit.governance.manifest` imports it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from corpus_kit.stages.base import StageSection


class ModalitySummary(StageSection):
    """Items of one modality (image, audio or video) that the step judged."""

    items: int = Field(
        default=0, ge=0, description="Items judged (records skipped by the rules not included)."
    )
    kept: int = Field(default=0, ge=0, description="Items in records the step passed on.")
    bytes_in: int = Field(default=0, ge=0, description="Bytes of the items judged, as read.")
    bytes_out: int = Field(
        default=0, ge=0, description="Bytes of the items kept, as written (after scrubbing)."
    )
    seconds: float = Field(
        default=0.0,
        ge=0,
        description="Audio and video: total duration of the kept items whose duration is known.",
    )
    formats: dict[str, int] = Field(
        default_factory=dict, description="Items judged per real format (from the magic bytes)."
    )
    failed: dict[str, int] = Field(
        default_factory=dict, description="Items failing each check (media.<check>); first failure only."
    )


class MetadataRemoved(StageSection):
    """What ``strip_metadata`` removed (items counted, never the values)."""

    items_rewritten: dict[str, int] = Field(
        default_factory=dict, description="Items whose bytes changed, per format."
    )
    paths: dict[str, int] = Field(
        default_factory=dict,
        description="Items per rewriting path: bytewise (segments/chunks dropped, pixels untouched), "
        "lossless (decoded and re-encoded losslessly), reencoded (lossy, orientation applied), tags (audio).",
    )
    gps: int = Field(default=0, ge=0, description="Items that carried a GPS position (EXIF GPS IFD or XMP).")
    serial_numbers: int = Field(
        default=0, ge=0, description="Items that carried a device or lens serial number."
    )
    owner_names: int = Field(
        default=0, ge=0, description="Items that carried an owner, artist, author or copyright-holder name."
    )
    orientation_applied: int = Field(
        default=0, ge=0, description="Images turned upright before the tag went."
    )
    icc_text_blanked: int = Field(
        default=0, ge=0, description="Images whose ICC colour profile was kept with its text tags blanked."
    )
    audio_tags: int = Field(
        default=0, ge=0, description="Audio items that carried tags (ID3, Vorbis comments...)."
    )
    trailing_bytes: int = Field(
        default=0, ge=0, description="Items with data after the end of the picture, removed."
    )


class MediaSummary(StageSection):
    """The ``media`` block: what the media step judged, dropped and scrubbed."""

    rules_version: str
    strip_metadata: bool
    on_item_failure: Literal["drop_record", "remove_item"]
    records: int = Field(default=0, ge=0, description="Records with media that the step judged.")
    without_media: int = Field(default=0, ge=0, description="Records without media (passed on unchecked).")
    captioned_unjudged: int = Field(
        default=0, ge=0, description="Captioned records passed on unjudged because the rules say so."
    )
    references: int = Field(
        default=0, ge=0, description="Media items without bytes (a URL only): not fetched, not judged, kept."
    )
    items_removed: int = Field(
        default=0,
        ge=0,
        description="With on_item_failure remove_item: failing items taken out of kept records.",
    )
    dropped: dict[str, int] = Field(default_factory=dict, description="Records dropped per reason.")
    image: ModalitySummary = Field(default_factory=lambda: ModalitySummary())
    audio: ModalitySummary = Field(default_factory=lambda: ModalitySummary())
    video: ModalitySummary = Field(default_factory=lambda: ModalitySummary())
    metadata_removed: MetadataRemoved = Field(default_factory=lambda: MetadataRemoved())
