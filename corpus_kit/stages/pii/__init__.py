"""``pii`` stage: find personal data with presidio recognizers and scrub it.

* :mod:`~corpus_kit.stages.pii.recognizers`: rule files, validators (checksums), light to import;
* :mod:`~corpus_kit.stages.pii.presidio`: presidio recognizers built from the rules (imports presidio);
* :mod:`~corpus_kit.stages.pii.scrubber`: the datatrove step (pre-scan, analysis, operators).

This module declares the stage and stays light: presidio is imported when the step is built.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from corpus_kit.governance.manifest import PiiSummary
from corpus_kit.stages.base import CommaList, Stage, StageContext, StageParams

if TYPE_CHECKING:
    from datatrove.pipeline.base import PipelineStep
    from datatrove.utils.stats import Stats

    from corpus_kit.catalog.report import ReportSection
    from corpus_kit.governance.manifest import Manifest
    from corpus_kit.stages.pii.scrubber import PiiScrubber


class PiiParams(StageParams):
    operator: Literal["replace", "mask", "hash", "redact"] = Field(
        "replace", description="replace (<TYPE>), mask (keep last 4), hash (keyed HMAC) or redact."
    )
    entities: CommaList | None = Field(
        None, description="Comma-separated entity types (default: all in the rules)."
    )
    rules: str | None = Field(
        None, description="PII rule file (default rules/pii/default.yaml).", json_schema_extra={"path": True}
    )
    hash_key_file: str | None = Field(
        None,
        description="HMAC key for --operator hash (else $CORPUS_KIT_PII_KEY).",
        json_schema_extra={"path": True},
    )
    recognizers: CommaList | None = Field(
        None,
        description="Extra presidio recognizers: names from the corpus_kit.pii_recognizers entry points, "
        "registered ones, or module:attribute.",
    )
    max_matches: int = Field(
        100_000,
        ge=1,
        description="Candidate values one text may hold; a text with more is dropped, not passed on "
        "unscanned (reason pii.too_dense).",
    )
    max_scan_chars: int = Field(
        4_000_000,
        ge=1,
        description="Characters around candidate values one text may have analysed; a text with more "
        "is dropped, not passed on unscanned (reason pii.too_dense).",
    )
    images: Literal["drop", "blur", "off"] | None = Field(
        None,
        description="Pictures (the ocr extra: text read with OCR, then the same recognizers): drop a "
        "record whose picture holds personal data (pii.image), blur the text boxes, or off. Default: "
        "drop when the ocr extra is installed, else not screened (and the manifest says so).",
    )
    faces: Literal["count", "drop", "blur", "off"] = Field(
        "count",
        description="Faces in screened pictures (OpenCV Haar cascade): count them (biometric data in "
        "the manifest), drop the record (pii.face), blur them, or off.",
    )
    max_pixels: int = Field(
        40_000_000,
        ge=1,
        description="Pixels a picture (all frames) may have, read from its header before decoding; a "
        "larger or undecodable one drops its record (pii.image_unreadable), never passed on unscreened.",
    )
    ocr_side: int = Field(
        1600, ge=32, description="Long side, in pixels, a picture is downscaled to before OCR."
    )


class PiiStage(Stage[PiiParams]):
    """Find personal data (Chinese IDs, phones, bank cards, credit codes, e-mails, IPs...) and scrub it."""

    name = "pii"
    summary = (
        "Find personal data (Chinese IDs, phones, bank cards, credit codes, e-mails, IPs...) and scrub it."
    )
    params_model = PiiParams
    # a text over its scan budget is dropped, never passed on unscanned: too many candidate values,
    # or a rule pattern on the backtracking engine out of time
    # pictures: personal data found in one (images: drop, or a blur that did not take), a face
    # (faces: drop), or a picture that cannot be screened within the bounds
    reasons = ("pii.too_dense", "pii.timeout", "pii.image", "pii.face", "pii.image_unreadable")
    columns = ("pii_spans",)
    section_model = PiiSummary
    extra = "pii"
    example = "- pii: {operator: replace, entities: [CN_ID_CARD, PHONE_NUMBER], images: drop}"

    def build(self, params: PiiParams, context: StageContext) -> PiiScrubber:
        from corpus_kit.stages.pii.scrubber import PiiScrubber

        return PiiScrubber(
            operator=params.operator,
            entities=params.entities,
            rules=context.resolve_path(params.rules),
            hash_key_file=context.resolve_path(params.hash_key_file),
            recognizers=params.recognizers,
            work_dir=context.work_dir,
            max_matches=params.max_matches,
            max_scan_chars=params.max_scan_chars,
            exclusion_writer=context.exclusion_writer(),
            images=params.images,
            faces=params.faces,
            max_pixels=params.max_pixels,
            ocr_side=params.ocr_side,
        )

    def public_input_names(self, params: PiiParams, context: StageContext, names: list[str]) -> list[str]:
        # the same scrubber as the step's: a file name reads in the manifest as in source_file
        # (its pictures play no part here: not screened, so images: off)
        scrubber = self.build(params.model_copy(update={"images": "off"}), replace(context, removed_dir=None))
        return [scrubber.scrub_value(name)[0] for name in names]

    def manifest_section(self, step: PipelineStep, stats: Stats) -> PiiSummary:
        from corpus_kit.stages.pii.scrubber import PiiScrubber

        assert isinstance(step, PiiScrubber)
        return step.manifest_summary(stats)

    def report_section(self, section: PiiSummary, manifest: Manifest) -> ReportSection:
        from corpus_kit.catalog.report import pii_report_section
        from corpus_kit.stages.pii.sections import with_pictures_report

        return with_pictures_report(pii_report_section(section, manifest), section)

    def card_section(self, section: PiiSummary, manifest: Manifest) -> tuple[str, str]:
        from corpus_kit.catalog.card import pii_card_section

        # pictures: the classification section says whether they were screened (media_screened)
        return pii_card_section(section, manifest)
