"""The media step: judge every image, audio and video item of a record, then scrub the kept ones.

A record with several items: every item is judged; with ``on_item_failure: drop_record`` (default)
the record is dropped when any item fails, with the first failing check of the first failing item
(items in order) as the reason; with ``remove_item`` the failing items are taken out and the record
is dropped only when none is left. Items without bytes (a URL only) and document items are passed
on unjudged. Signals go to ``quality_signals`` under ``media.<modality>.<signal>``; with several
items, the value of the item closest to failing (the smallest side, sharpness, duration...; the
largest pixel count, aspect, silence and clipping share).
"""

from __future__ import annotations

import hashlib
from typing import Any

from datatrove.data import Document, Media
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.utils.stats import Stats

from corpus_kit.errors import UsageError
from corpus_kit.governance.accounting import metric_total
from corpus_kit.records import MEDIA_TYPE_NAMES
from corpus_kit.stages.media.rules import FormatRule, MediaRules, load_media_rules
from corpus_kit.stages.media.section import MediaSummary, MetadataRemoved, ModalitySummary
from corpus_kit.stages.media.sniff import FAMILIES, MIMES, declared_format, same_format, sniff, video_duration

_MODALITIES = ("image", "audio", "video")
_SMALLEST_WORST = frozenset(
    (
        "media.image.min_side",
        "media.image.std",
        "media.image.laplacian_var",
        "media.audio.seconds",
        "media.audio.sample_rate",
        "media.video.seconds",
    )
)
ORIGINAL_SHA256 = "media_original_sha256"


class _Judged:
    __slots__ = ("animated", "failed", "family", "index", "real", "seconds", "signals", "size")

    def __init__(self, index: int, family: str, size: int):
        self.index = index
        self.family = family
        self.size = size
        self.failed: str | None = None
        self.real: str | None = None
        self.seconds: float | None = None
        self.signals: dict[str, float] = {}
        self.animated = False


class MediaFilter(BaseFilter):
    """Drops records whose media fail the rules (``media.<check>``); removes the kept items' metadata.

    Stats: per modality ``<m>/items``, ``<m>/bytes_in``, ``<m>/format/<fmt>``, ``<m>/failed/<check>``,
    ``<m>/kept``, ``<m>/bytes_out``, ``<m>/millis``; ``meta/...`` for the metadata removed;
    ``records``, ``without_media``, ``captioned_unjudged``, ``references``, ``drop/<reason>``.
    """

    name = "🖼 media"

    def __init__(self, rules: str | None = None, strip_metadata: bool = True, exclusion_writer: Any = None):
        super().__init__(exclusion_writer=exclusion_writer)
        try:
            self.rules: MediaRules = load_media_rules(rules)
        except (OSError, ValueError) as error:
            raise UsageError(f"media rules: {error}") from None
        self.strip_metadata = strip_metadata

    # -- judging -----------------------------------------------------------------------------------
    def _format(
        self, item: Media, judged: _Judged, data: bytes, rule: FormatRule | None, captioned: bool
    ) -> None:
        real = sniff(data)
        judged.real = real
        if real is None or FAMILIES.get(real) != judged.family:
            judged.failed = "format" if rule is not None else "decode"
            return
        if rule is None or (captioned and not rule.captioned):
            return
        declared = declared_format((item.metadata or {}).get("mime"), item.url or item.path, real)
        if declared is not None and not same_format(declared, real):
            if rule.same_family == "drop":
                judged.failed = "format"
                return
            self.stat_update(f"{judged.family}/corrected")
        if item.metadata is None:
            item.metadata = {}
        item.metadata["mime"] = MIMES.get(real, item.metadata.get("mime"))

    def _judge(self, index: int, item: Media, family: str, captioned: bool) -> _Judged:
        data = item.media_bytes or b""
        judged = _Judged(index, family, len(data))
        rules = getattr(self.rules, family)
        self._format(item, judged, data, rules.format, captioned)
        if judged.failed:
            return judged
        real = judged.real
        assert real is not None
        if family == "image":
            from corpus_kit.stages.media.image import judge_image

            outcome = judge_image(data, real, rules, captioned)
            judged.failed, judged.signals = outcome.failed, outcome.signals
            judged.animated = outcome.animated
        elif family == "audio":
            from corpus_kit.stages.media.audio import judge_audio

            audio = judge_audio(data, real, rules, captioned)
            judged.failed, judged.signals, judged.seconds = audio.failed, audio.signals, audio.seconds
        else:
            if real not in rules.containers:
                judged.failed = "format"
                return judged
            seconds = video_duration(data, real)
            judged.seconds = seconds
            if seconds is not None:
                judged.signals["media.video.seconds"] = round(seconds, 3)
                duration = rules.duration
                if (
                    duration is not None
                    and (duration.captioned or not captioned)
                    and not duration.passes(seconds)
                ):
                    judged.failed = "duration"
        return judged

    # -- scrubbing ---------------------------------------------------------------------------------
    def _scrub(self, item: Media, judged: _Judged) -> str | None:
        """Remove the item's metadata in place; returns "metadata" when that failed."""
        data = item.media_bytes
        if data is None or judged.real is None or judged.family == "video":
            return None
        try:
            if judged.family == "image":
                from corpus_kit.stages.media.image import scrub_image

                result = scrub_image(data, judged.real, judged.animated)
                found = result.found
                if result.orientation_applied:
                    self.stat_update("meta/orientation_applied")
                if result.icc_blanked:
                    self.stat_update("meta/icc_text_blanked")
                if result.trailing:
                    self.stat_update("meta/trailing_bytes")
                path, new = result.path, result.data
            else:
                from corpus_kit.stages.media.audio import scrub_audio

                audio = scrub_audio(data, judged.real)
                found = audio.found
                if audio.had_tags:
                    self.stat_update("meta/audio_tags")
                path, new = ("tags" if audio.changed else None), audio.data
        except ValueError:
            return "metadata"
        if found.gps:
            self.stat_update("meta/gps")
        if found.serial:
            self.stat_update("meta/serial_numbers")
        if found.owner:
            self.stat_update("meta/owner_names")
        if path is not None and new != data:
            item.media_bytes = new
            item.length = len(new)
            self.stat_update(f"meta/rewritten/{judged.real}")
            self.stat_update(f"meta/path/{path}")
        return None

    # -- the record --------------------------------------------------------------------------------
    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if not doc.media:
            self.stat_update("without_media")
            return True
        captioned = bool(doc.text and doc.text.strip())
        if captioned and not self.rules.records.captioned:
            self.stat_update("captioned_unjudged")
            return True
        self.stat_update("records")
        judged_items: list[_Judged | None] = []
        originals: list[str | None] = []
        for index, item in enumerate(doc.media):
            family = MEDIA_TYPE_NAMES.get(item.type)
            if item.media_bytes is None:
                self.stat_update("references")
            if item.media_bytes is None or family not in _MODALITIES:
                judged_items.append(None)
                originals.append(hashlib.sha256(item.media_bytes).hexdigest() if item.media_bytes else None)
                continue
            originals.append(hashlib.sha256(item.media_bytes).hexdigest())
            judged = self._judge(index, item, family, captioned)
            judged_items.append(judged)
            self.stat_update(f"{family}/items")
            self.stat_update(f"{family}/bytes_in", value=judged.size)
            self.stat_update(f"{family}/format/{judged.real or 'unknown'}")
            if judged.failed:
                self.stat_update(f"{family}/failed/{judged.failed}")
        self._signals(doc, [judged for judged in judged_items if judged is not None])
        failures = [judged for judged in judged_items if judged is not None and judged.failed]
        policy = self.rules.records.on_item_failure
        if failures and policy == "drop_record":
            return self._drop(f"media.{failures[0].failed}")
        keep = [judged is None or not judged.failed for judged in judged_items]
        first_failure = failures[0].failed if failures else None
        if self.strip_metadata:
            for position, (item, entry) in enumerate(zip(doc.media, judged_items, strict=True)):
                if entry is None or not keep[position]:
                    continue
                if self._scrub(item, entry) is not None:
                    entry.failed = "metadata"
                    self.stat_update(f"{entry.family}/failed/metadata")
                    if policy == "drop_record":
                        return self._drop("media.metadata")
                    keep[position] = False
                    first_failure = first_failure or "metadata"
        if not any(keep):
            return self._drop(f"media.{first_failure}")
        removed = keep.count(False)
        if removed:
            self.stat_update("items_removed", value=removed)
            doc.media = [item for item, kept in zip(doc.media, keep, strict=True) if kept]
            judged_items = [judged for judged, kept in zip(judged_items, keep, strict=True) if kept]
            originals = [sha for sha, kept in zip(originals, keep, strict=True) if kept]
        for item, entry in zip(doc.media, judged_items, strict=True):
            if entry is None:
                continue
            self.stat_update(f"{entry.family}/kept")
            self.stat_update(f"{entry.family}/bytes_out", value=len(item.media_bytes or b""))
            if entry.seconds is not None:
                self.stat_update(f"{entry.family}/millis", value=round(entry.seconds * 1000))
        doc.metadata[ORIGINAL_SHA256] = originals
        return True

    def _drop(self, reason: str) -> tuple[bool, str]:
        self.stat_update(f"drop/{reason}")
        return False, reason

    @staticmethod
    def _signals(doc: Document, judged_items: list[_Judged]) -> None:
        if not judged_items:
            return
        signals: dict[str, float] = {}
        existing = doc.metadata.get("quality_signals")
        if isinstance(existing, dict):
            signals.update(existing)
        merged: dict[str, float] = {}
        for judged in judged_items:
            for key, value in judged.signals.items():
                if key not in merged:
                    merged[key] = value
                elif key in _SMALLEST_WORST:
                    merged[key] = min(merged[key], value)
                else:
                    merged[key] = max(merged[key], value)
        signals.update(merged)
        doc.metadata["quality_signals"] = signals

    # -- manifest ----------------------------------------------------------------------------------
    def manifest_summary(self, stats: Stats) -> MediaSummary:
        totals = {label: metric_total(metric) for label, metric in stats.stats.items()}

        def total(label: str) -> int:
            return int(totals.get(label, 0))

        def prefixed(prefix: str) -> dict[str, int]:
            return {
                label.removeprefix(prefix): int(count)
                for label, count in sorted(totals.items())
                if label.startswith(prefix) and count
            }

        modalities = {
            family: ModalitySummary(
                items=total(f"{family}/items"),
                kept=total(f"{family}/kept"),
                bytes_in=total(f"{family}/bytes_in"),
                bytes_out=total(f"{family}/bytes_out"),
                seconds=round(total(f"{family}/millis") / 1000, 3),
                formats=prefixed(f"{family}/format/"),
                failed={f"media.{check}": count for check, count in prefixed(f"{family}/failed/").items()},
            )
            for family in _MODALITIES
        }
        return MediaSummary(
            rules_version=self.rules.version,
            strip_metadata=self.strip_metadata,
            on_item_failure=self.rules.records.on_item_failure,
            records=total("records"),
            without_media=total("without_media"),
            captioned_unjudged=total("captioned_unjudged"),
            references=total("references"),
            items_removed=total("items_removed"),
            dropped=prefixed("drop/"),
            metadata_removed=MetadataRemoved(
                items_rewritten=prefixed("meta/rewritten/"),
                paths=prefixed("meta/path/"),
                gps=total("meta/gps"),
                serial_numbers=total("meta/serial_numbers"),
                owner_names=total("meta/owner_names"),
                orientation_applied=total("meta/orientation_applied"),
                icc_text_blanked=total("meta/icc_text_blanked"),
                audio_tags=total("meta/audio_tags"),
                trailing_bytes=total("meta/trailing_bytes"),
            ),
            **modalities,
        )
