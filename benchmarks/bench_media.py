"""Media stage benchmark: planted defects caught, clean items kept, EXIF removed, speed per core.

    python benchmarks/bench_media.py [--set DIR] [--pipeline] [--keep]

Makes the set with make_media_set.py (or reads ``--set``), then:

1. runs the media step in this process (one core) over every sample of the tar, as the WebDataset
   reader builds it, and times the step alone: items/s and MB/s per core;
2. checks every verdict against the labels: each planted defect dropped with its expected reason,
   no clean sample dropped;
3. reads every kept JPEG back: EXIF gone (Pillow finds none; no GPS, serial or owner bytes), and
   for the rotated ones, the pixels against the original turned upright (mean absolute difference);
4. with ``--pipeline``: ``corpus-kit run pipelines/multimodal.yaml`` on the set, the accounting
   (input = output + dropped + rejected), the media drops against the labels, and
   ``corpus-kit manifest validate``.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from make_media_set import build  # noqa: E402

PERSONAL = (b"Jane Example", b"BODY-0012345", b"LENS-0098765", b"GPSLatitude")


def read_samples(shard: Path) -> list:
    """Documents as the WebDataset reader makes them (key, text, media with declared types)."""
    import tarfile

    from datatrove.data import Document

    from corpus_kit.io.readers.webdataset import AUDIO_EXTENSIONS, IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
    from corpus_kit.records import make_media

    grouped: dict[str, dict[str, bytes]] = {}
    with tarfile.open(shard) as archive:
        for member in archive:
            handle = archive.extractfile(member)
            assert handle is not None
            key, _, extension = member.name.partition(".")
            grouped.setdefault(key, {})[extension] = handle.read()
    documents = []
    for key, members in grouped.items():
        media = []
        for extension, data in members.items():
            family = (
                "image"
                if extension in IMAGE_EXTENSIONS
                else "audio"
                if extension in AUDIO_EXTENSIONS
                else "video"
                if extension in VIDEO_EXTENSIONS
                else None
            )
            if family:
                media.append(make_media(f"{key}.{extension}", data, f"{key}.{extension}", family))
        text = members.get("txt", b"").decode()
        documents.append(Document(text=text, id=key, media=media, metadata={}))
    return documents


def judge(documents: list) -> tuple[dict[str, str], dict[str, bytes], dict[str, bytes], float, int, object]:
    from corpus_kit.stages.media.step import MediaFilter

    step = MediaFilter()
    verdicts: dict[str, str] = {}
    before: dict[str, bytes] = {}
    after: dict[str, bytes] = {}
    size = sum(len(item.media_bytes or b"") for doc in documents for item in doc.media)
    for doc in documents:  # warm-up: imports, Pillow plugins, libsndfile
        if doc.media:
            MediaFilter().filter(doc.__class__(text=doc.text, id=doc.id, media=list(doc.media), metadata={}))
            break
    originals = {doc.id: doc.media[0].media_bytes for doc in documents if doc.media}
    started = time.perf_counter()
    for doc in documents:
        result = step.filter(doc)
        verdicts[doc.id] = "keep" if result is True else result[1]
        if result is True and doc.media:
            before[doc.id] = originals[doc.id]
            after[doc.id] = doc.media[0].media_bytes
    seconds = time.perf_counter() - started
    return verdicts, before, after, seconds, size, step.manifest_summary(step.stats)


def check_jpegs(before: dict[str, bytes], after: dict[str, bytes]) -> dict[str, float]:
    from PIL import Image, ImageOps

    with_exif = clean = rotated = 0
    worst = 0.0
    for key, original in before.items():
        if not original.startswith(b"\xff\xd8") or b"Exif\x00\x00" not in original[:70000]:
            continue
        with_exif += 1
        out = after[key]
        image = Image.open(io.BytesIO(out))
        if (
            not dict(image.getexif())
            and not any(mark in out for mark in PERSONAL)
            and b"Exif\x00\x00" not in out
        ):
            clean += 1
        source = Image.open(io.BytesIO(original))
        if source.getexif().get(0x0112, 1) != 1:
            rotated += 1
            expected = np.asarray(ImageOps.exif_transpose(source), dtype=np.float32)
            got = np.asarray(image, dtype=np.float32)
            difference = float(np.abs(got - expected).mean()) if got.shape == expected.shape else 255.0
            worst = max(worst, difference)
    return {
        "jpegs_with_exif": with_exif,
        "exif_removed": clean,
        "rotated": rotated,
        "worst_mean_abs_diff": round(worst, 3),
    }


#: The pipeline's own classification with consent: separate, for a second validation: the pii step
#: counts faces as biometric data (sensitive PI), which needs separate consent (CK143) whenever its
#: face detector fires, on a synthetic set too.
CLASSIFICATION = """industry: government
grade: general
general_level: 2
basis: benchmark set made by benchmarks/make_media_set.py
pi: {contains: true, consent: separate}
"""


def _validate(out: Path) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "corpus_kit", "manifest", "validate", str(out)], capture_output=True, text=True
    )
    errors = [line.split(": ", 1)[-1] for line in result.stdout.splitlines() if ": error " in line]
    return result.returncode, "; ".join(errors)[:400]


def run_pipeline(set_dir: Path, out: Path, *extra: str) -> dict[str, object]:
    started = time.perf_counter()
    command = [
        sys.executable,
        "-m",
        "corpus_kit",
        "run",
        str(ROOT / "pipelines/multimodal.yaml"),
        "-i",
        str(set_dir),
    ]
    result = subprocess.run(
        [*command, "-o", str(out), "-q", "--overwrite", *extra], capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        return {"exit": result.returncode, "stderr": result.stderr[-2000:]}
    manifest = json.loads((out / "manifest.json").read_text())
    counts = manifest["counts"]
    holds = counts["input"] == counts["output"] + sum(counts["dropped"].values()) + counts["rejected"]
    code, errors = _validate(out)
    steps = {step["name"]: step["seconds"] for step in manifest["pipeline"]["steps"]}
    return {
        "exit": 0,
        "wall_seconds": round(wall, 1),
        "step_seconds": steps,
        "counts": counts,
        "accounting_holds": holds,
        "validate_exit": code,
        "validate_errors": errors,
        "media_block_dropped": manifest["media"]["dropped"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--set", type=Path, help="a set made by make_media_set.py (default: make one)")
    parser.add_argument("--pipeline", action="store_true", help="also run pipelines/multimodal.yaml")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-media-"))
    set_dir = args.set or work / "set"
    if args.set is None:
        started = time.perf_counter()
        build(set_dir)
        print(f"set made in {time.perf_counter() - started:.1f} s")
    labels = json.loads((set_dir / "labels.json").read_text())
    documents = read_samples(set_dir / "media-00000.tar")
    items = sum(len(doc.media) for doc in documents)
    verdicts, before, after, seconds, size, summary = judge(documents)

    missed: Counter[str] = Counter()
    wrong_reason: Counter[str] = Counter()
    caught: Counter[str] = Counter()
    false_drops: Counter[str] = Counter()
    for key, label in labels.items():
        verdict, expect = verdicts[key], label["expect"]
        if expect == "keep":
            if verdict != "keep":
                false_drops[f"{label['kind']} -> {verdict}"] += 1
        elif verdict == expect:
            caught[label["kind"]] += 1
        elif verdict == "keep":
            missed[label["kind"]] += 1
        else:
            wrong_reason[f"{label['kind']} -> {verdict}"] += 1
    planted = sum(1 for label in labels.values() if label["expect"] != "keep")
    clean = len(labels) - planted
    print(
        f"samples {len(labels)} ({items} media items, {size / 1e6:.1f} MB): "
        f"{planted} planted defects, {clean} clean"
    )
    print(f"defects caught with the expected reason: {sum(caught.values())}/{planted}")
    for kind, count in sorted(caught.items()):
        print(f"  {kind:22s} {count}")
    print(f"missed: {dict(missed) or 'none'}; other reason: {dict(wrong_reason) or 'none'}")
    print(f"clean samples dropped: {sum(false_drops.values())}/{clean} {dict(false_drops) or ''}")
    print(
        f"speed (1 process, step alone): {items / seconds:.1f} items/s, {size / 1e6 / seconds:.2f} MB/s "
        f"({seconds:.1f} s)"
    )
    print("JPEG EXIF read back:", check_jpegs(before, after))
    removed = summary.metadata_removed  # type: ignore[attr-defined]
    print(
        f"metadata removed: rewritten {removed.items_rewritten}, paths {removed.paths}, GPS {removed.gps}, "
        f"serials {removed.serial_numbers}, owners {removed.owner_names}, "
        f"turned {removed.orientation_applied}, "
        f"ICC text blanked {removed.icc_text_blanked}, audio tags {removed.audio_tags}"
    )
    if args.pipeline:
        report = run_pipeline(set_dir, work / "out")
        print("pipelines/multimodal.yaml:", json.dumps(report, indent=1))
        if report.get("validate_exit"):
            classification = work / "classification.yaml"
            classification.write_text(CLASSIFICATION)
            again = run_pipeline(set_dir, work / "out-consent", "--classification", str(classification))
            print(
                "with pi.consent: separate: accounting holds",
                again.get("accounting_holds"),
                "validate exit",
                again.get("validate_exit"),
                again.get("validate_errors"),
            )
        expected = Counter(label["expect"] for label in labels.values() if label["expect"] != "keep")
        got = report.get("media_block_dropped", {})
        print(f"media drops in the run match the labels: {dict(expected) == got}")
    if not args.keep and args.set is None:
        import shutil

        shutil.rmtree(work)
    else:
        print(f"kept: {work}")


if __name__ == "__main__":
    main()
