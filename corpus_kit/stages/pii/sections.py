"""What the pii step says about pictures in ``report.html`` (counts only)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from corpus_kit.catalog.report import ReportSection
    from corpus_kit.governance.manifest import PiiImagesSummary, PiiSummary


def pictures_sentence(images: PiiImagesSummary | None) -> str:
    """One plain sentence: whether pictures were screened, and what came of it."""
    if images is None:
        return "Pictures were not screened for personal data (no record of it in the manifest)."
    other = (
        f" {images.other_media_not_screened:,} audio, video or other media item(s) were not screened."
        if images.other_media_not_screened
        else ""
    )
    if images.mode == "off":
        return (
            f"Pictures were NOT screened for personal data ({images.not_screened_reason or 'images: off'}): "
            f"{images.not_screened:,} picture(s) passed on unread.{other}"
        )
    found = ", ".join(f"{kind} {count:,}" for kind, count in images.entities.items()) or "none"
    faces = (
        f"{images.faces:,} face(s) in {images.pictures_with_faces:,} picture(s) (biometric data; "
        f"{images.faces_kept:,} left in the output, {images.faces_blurred:,} blurred, "
        f"{images.dropped_for_faces:,} record(s) dropped)"
        if images.faces
        else "no faces"
        if images.faces_mode != "off"
        else "faces not looked for"
    )
    unread = (
        f" {images.not_screened:,} picture(s) without bytes were not screened." if images.not_screened else ""
    )
    return (
        f"Pictures were screened for personal data with OCR ({images.mode} mode): {images.screened:,} "
        f"read, personal data in {images.with_pii:,} ({found}), {images.dropped:,} record(s) dropped, "
        f"{images.blurred:,} picture(s) blurred, {images.unreadable:,} unreadable picture(s) dropped; "
        f"{faces}.{unread}{other}"
    )


def with_pictures_report(section: ReportSection, pii: PiiSummary) -> ReportSection:
    """The pii report section with a paragraph on pictures."""
    from corpus_kit.catalog.report import render_fragment

    paragraph = render_fragment(
        "<p><strong>Pictures.</strong> {{ sentence }}</p>", sentence=pictures_sentence(pii.images)
    )
    return replace(section, body=section.body + paragraph)
