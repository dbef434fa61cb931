"""Personal data inside pictures: recall, false drops and speed of the pii step's OCR screening.

The set comes from ``benchmarks/make_ocr_set.py`` (made here unless ``--set`` names one): half
the pictures hold a checksum-valid ID-card, phone or bank-card number, half hold clean text with
numbers that are not personal data. The pii step runs through the CLI as a user runs it
(``corpus-kit pii SET -o OUT``, default ``images: drop``) and the output is compared with the
labels:

* recall: share of positive pictures whose record was dropped (``pii.image``); target >= 0.95;
* false drops: share of negative pictures dropped; target <= 0.02;
* pictures/s per core: pictures screened / the pii step's seconds summed over its tasks
  (onnxruntime runs one thread per task);
* the same set with the extra hidden (``rapidocr_onnxruntime`` made unimportable): the manifest
  must say the pictures were not screened (``pii.images.mode off``, ``not_screened`` = all,
  ``personal_information.media_screened`` false) and nothing may be dropped.

    python benchmarks/bench_pii_images.py [--set DIR] [--count 240] [--workers 2] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RECALL_TARGET = 0.95
FALSE_DROP_TARGET = 0.02
_RUN = "import sys; from corpus_kit.cli import main; sys.argv = ['corpus-kit', *sys.argv[1:]]; main()"
# the extra hidden: its import fails as if it were not installed
_HIDDEN = "import sys; sys.modules['rapidocr_onnxruntime'] = None; " + _RUN


def run_pii(source: Path, out: Path, workers: int, hide_extra: bool = False) -> float:
    command = [sys.executable, "-c", _HIDDEN] if hide_extra else [sys.executable, "-c", _RUN]
    started = time.monotonic()
    subprocess.run([*command, "pii", str(source), "-o", str(out), "-q", "-w", str(workers)], check=True)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, help="a folder made by make_ocr_set.py (default: make one)")
    parser.add_argument("--count", type=int, default=240)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        folder = args.set
        if folder is None:
            from benchmarks.make_ocr_set import make_set, pii_check, write_set

            folder = Path(scratch) / "set"
            write_set(make_set(args.count, args.seed, pii_check()), folder)
        source = folder / "ocr-set.jsonl"
        labels: dict[str, dict] = json.loads((folder / "labels.json").read_text())

        out = Path(scratch) / "screened"
        wall = run_pii(source, out, args.workers)
        manifest = json.loads((out / "manifest.json").read_text())
        kept = set(pq.read_table(out / "data", columns=["id"]).column("id").to_pylist())
        dropped = {name for name in labels if name not in kept}
        positives = [name for name, label in labels.items() if label["positive"]]
        negatives = [name for name, label in labels.items() if not label["positive"]]
        missed = [name for name in positives if name not in dropped]
        false_drops = [name for name in negatives if name in dropped]
        recall = 1 - len(missed) / len(positives)
        false_rate = len(false_drops) / len(negatives)
        images = manifest["pii"]["images"]
        step = next(s for s in manifest["pipeline"]["steps"] if s["name"] == "pii")
        per_core = images["screened"] / step["seconds"] if step["seconds"] else 0.0
        by_entity = {
            entity: 1 - sum(labels[n]["entity"] == entity for n in missed) / total
            for entity, total in Counter(labels[n]["entity"] for n in positives).items()
        }

        hidden_out = Path(scratch) / "hidden"
        hidden_wall = run_pii(source, hidden_out, args.workers, hide_extra=True)
        hidden = json.loads((hidden_out / "manifest.json").read_text())
        hidden_images = hidden["pii"]["images"]
        said_not_screened = (
            hidden_images["mode"] == "off"
            and hidden_images["not_screened"] == len(labels)
            and hidden_images["screened"] == 0
            and hidden["personal_information"]["media_screened"] is False
            and not hidden["counts"]["dropped"]
        )

    results = {
        "pictures": len(labels),
        "positives": len(positives),
        "negatives": len(negatives),
        "recall": round(recall, 4),
        "recall_by_entity": {k: round(v, 4) for k, v in sorted(by_entity.items())},
        "false_drops": round(false_rate, 4),
        "missed": [
            {"id": n, **{k: labels[n][k] for k in ("entity", "fonts", "size", "background")}} for n in missed
        ],
        "falsely_dropped": [
            {"id": n, **{k: labels[n][k] for k in ("fonts", "size", "background")}} for n in false_drops
        ],
        "dropped_reasons": manifest["counts"]["dropped"],
        "entities_in_pictures": images["entities"],
        "faces_found": images["faces"],
        "pii_step_seconds": round(step["seconds"], 1),
        "pictures_per_second_per_core": round(per_core, 2),
        "wall_seconds": round(wall, 1),
        "workers": args.workers,
        "without_extra": {
            "said_not_screened": said_not_screened,
            "not_screened": hidden_images["not_screened"],
            "reason": hidden_images["not_screened_reason"],
            "media_screened": hidden["personal_information"]["media_screened"],
            "wall_seconds": round(hidden_wall, 1),
        },
        "targets_met": recall >= RECALL_TARGET and false_rate <= FALSE_DROP_TARGET and said_not_screened,
    }
    text = json.dumps(results, indent=1, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    sys.exit(0 if results["targets_met"] else 1)


if __name__ == "__main__":
    main()
