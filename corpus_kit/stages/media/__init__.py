"""``media`` stage: image, audio and video checks by rules, and metadata removal (docs/media.md).

Images (Pillow, NumPy): real format from the magic bytes against the declared one, pixel count from
the header before decoding, sides, aspect, animation, decodability, near-uniform pictures (alpha
counts) and blur (variance of the Laplacian on a bounded downscale). Audio (soundfile): format,
sample rate and duration from the header, then decodability, silence and clipping shares decoded in
blocks. Video: the container from the magic bytes and its duration where the header holds it; no
decoding. Reasons ``media.<check>``; signals in ``quality_signals``. With ``strip_metadata`` (default)
EXIF, XMP, IPTC, comments and audio tags are removed from the kept items (orientation applied
first), counted in the manifest's ``media`` block, and each item's original sha256 is kept in the
record's ``media_original_sha256``.

The module stays cheap to import: Pillow, soundfile and mutagen are imported when a step runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from corpus_kit.stages.base import Stage, StageContext, StageParams
from corpus_kit.stages.media.section import MediaSummary

if TYPE_CHECKING:
    from datatrove.pipeline.base import PipelineStep
    from datatrove.utils.stats import Stats

    from corpus_kit.catalog.report import ReportSection
    from corpus_kit.governance.manifest import Manifest
    from corpus_kit.stages.media.step import MediaFilter


class MediaParams(StageParams):
    rules: str | None = Field(
        default=None,
        description="Media rule file (default rules/media/default.yaml).",
        json_schema_extra={"path": True},
    )
    strip_metadata: bool = Field(
        default=True,
        description="Remove EXIF/XMP/IPTC/comments from images (orientation applied first) and tags "
        "from audio; the manifest counts GPS positions, serial numbers and owner names removed.",
    )


class MediaStage(Stage[MediaParams]):
    """Check images, audio and video by rules; remove their metadata."""

    name = "media"
    summary = (
        "Check images (format, pixel bombs, size, aspect, blank, blur, animation), audio (decoding, "
        "duration, sample rate, silence, clipping) and video containers; remove EXIF/XMP/tags."
    )
    params_model = MediaParams
    reasons = ("media.*",)
    columns = ("quality_signals", "media", "media_original_sha256")
    section_model = MediaSummary
    extra = "media"
    example = "- media: {rules: rules/media/default.yaml, strip_metadata: true}"

    def build(self, params: MediaParams, context: StageContext) -> MediaFilter:
        from corpus_kit.errors import UsageError

        try:
            import PIL  # noqa: F401
        except ModuleNotFoundError:
            raise UsageError('the media step needs Pillow: pip install "corpus-kit[media]"') from None
        from corpus_kit.stages.media.step import MediaFilter

        return MediaFilter(
            rules=context.resolve_path(params.rules),
            strip_metadata=params.strip_metadata,
            exclusion_writer=context.exclusion_writer(),
        )

    def manifest_section(self, step: PipelineStep, stats: Stats) -> MediaSummary:
        from corpus_kit.stages.media.step import MediaFilter

        assert isinstance(step, MediaFilter)
        return step.manifest_summary(stats)

    def report_section(self, section: MediaSummary, manifest: Manifest) -> ReportSection:
        from corpus_kit.stages.media.sections import media_report_section

        return media_report_section(section, manifest)

    def card_section(self, section: MediaSummary, manifest: Manifest) -> tuple[str, str]:
        from corpus_kit.stages.media.sections import media_card_section

        return media_card_section(section, manifest)


__all__ = ["MediaParams", "MediaStage"]
