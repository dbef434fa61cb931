"""What the media stage adds to ``report.html`` and the dataset card: counts per modality, never content."""

from __future__ import annotations

from typing import TYPE_CHECKING

from corpus_kit.stages.media.section import MediaSummary

if TYPE_CHECKING:
    from corpus_kit.catalog.report import ReportSection
    from corpus_kit.governance.manifest import Manifest

_MODALITIES = ("image", "audio", "video")


def _mb(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:,.2f} h" if seconds >= 360 else f"{seconds:,.1f} s"


def media_report_section(section: MediaSummary, manifest: Manifest) -> ReportSection:
    from markupsafe import Markup

    from corpus_kit.catalog.report import ReportSection, facts, table

    removed = section.metadata_removed
    figures = facts(
        {
            "records judged": f"{section.records:,}",
            "records dropped": f"{sum(section.dropped.values()):,}",
            "items rewritten": f"{sum(removed.items_rewritten.values()):,}",
            "GPS removed": f"{removed.gps:,}",
            "serials removed": f"{removed.serial_numbers:,}",
            "owner names removed": f"{removed.owner_names:,}",
        }
    )
    rows = []
    for family in _MODALITIES:
        modality = getattr(section, family)
        if not modality.items:
            continue
        failed = ", ".join(f"{check} {count:,}" for check, count in sorted(modality.failed.items()))
        formats = ", ".join(f"{name} {count:,}" for name, count in sorted(modality.formats.items()))
        rows.append(
            (
                family,
                f"{modality.items:,}",
                f"{modality.kept:,}",
                _mb(modality.bytes_in),
                _mb(modality.bytes_out),
                _hours(modality.seconds) if family != "image" else "–",
                formats or "–",
                failed or "–",
            )
        )
    body = Markup(
        figures
        + table(
            ["modality", "items", "kept", "in", "out", "duration", "formats", "failed checks"],
            rows,
            numeric=(1, 2, 3, 4, 5),
        )
    )
    lead = (
        f"Rules {section.rules_version}; several items per record: {section.on_item_failure}; metadata "
        f"{'removed' if section.strip_metadata else 'kept'}. Text and faces inside pictures are not read "
        "here (see the PII section)."
    )
    return ReportSection("media", "Media checks", body, lead, nav="Media")


_CARD = (
    "Media checked with corpus-kit's media rules {{ version|code }}: {{ records|num }} record(s) with "
    "media judged, {{ dropped|num }} dropped"
    "{% if reasons %} ({% for reason, count in reasons %}{{ reason|code }} {{ count|num }}"
    "{{ ', ' if not loop.last }}{% endfor %}){% endif %}.\n\n"
    "{% for row in rows %}- {{ row.family }}: {{ row.count|num }} item(s), {{ row.kept|num }} kept"
    "{% if row.seconds %}, {{ row.duration }}{% endif %}\n{% endfor %}\n"
    "{% if strip %}Metadata removed from {{ rewritten|num }} item(s): {{ gps|num }} with a GPS position, "
    "{{ serials|num }} with a device serial number, {{ owners|num }} with an owner or artist name, "
    "{{ audio|num }} audio item(s) with tags; {{ turned|num }} picture(s) turned upright first. Each "
    "item's original sha256 is kept in its record's metadata ({{ key|code }}).{% else %}Metadata "
    "(EXIF, XMP, tags) was not removed.{% endif %}\n\n"
    "This step does not read text or faces inside pictures; whether pictures were screened for "
    "personal data is stated in the PII section."
)


def media_card_section(section: MediaSummary, manifest: Manifest) -> tuple[str, str]:
    from corpus_kit.catalog.card import render_card_fragment
    from corpus_kit.stages.media.step import ORIGINAL_SHA256

    removed = section.metadata_removed
    rows = [
        {
            "family": family,
            "count": getattr(section, family).items,
            "kept": getattr(section, family).kept,
            "seconds": getattr(section, family).seconds,
            "duration": _hours(getattr(section, family).seconds),
        }
        for family in _MODALITIES
        if getattr(section, family).items
    ]
    body = render_card_fragment(
        _CARD,
        version=section.rules_version,
        records=section.records,
        dropped=sum(section.dropped.values()),
        reasons=sorted(section.dropped.items()),
        rows=rows,
        strip=section.strip_metadata,
        rewritten=sum(removed.items_rewritten.values()),
        gps=removed.gps,
        serials=removed.serial_numbers,
        owners=removed.owner_names,
        audio=removed.audio_tags,
        turned=removed.orientation_applied,
        key=ORIGINAL_SHA256,
    )
    return "Media", body
