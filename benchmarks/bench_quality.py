"""Drop rates per quality rule and language, and throughput of the langid + quality stages.

    python benchmarks/bench_quality.py                      # the demo sample
    python benchmarks/bench_quality.py --corpus DIR         # e.g. a make_corpus.py folder

Runs ``corpus-kit run`` with ``[langid, quality]`` as a whole process and reads its manifest.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "samples" / "demo")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        pipeline = Path(scratch) / "p.yaml"
        pipeline.write_text("name: quality-bench\nsteps:\n  - langid: {}\n  - quality: {}\n")
        out = Path(scratch) / "out"
        command = [sys.executable, "-m", "corpus_kit", "run", str(pipeline), "-i", str(args.corpus)]
        command += ["-o", str(out), "-w", str(args.workers), "-q"]
        started = time.perf_counter()
        subprocess.run(command, check=True, env={**os.environ, "CI": "1"})
        seconds = time.perf_counter() - started
        manifest = json.loads((out / "manifest.json").read_text())
    size = sum(source["bytes"] for source in manifest["sources"])
    counts, quality = manifest["counts"], manifest["quality"]
    checked = sum(quality["checked"].values())
    rate, docs = size / seconds / 1e6, counts["input"] / seconds
    print(f"corpus: {args.corpus} · {size / 1e6:.1f} MB · {counts['input']:,} records · {seconds:.1f} s")
    print(f"throughput: {rate:.1f} MB/s, {docs:,.0f} docs/s, {args.workers} workers, whole process")
    print("| rule | dropped | share of checked |")
    print("|---|---:|---:|")
    for reason, count in sorted(counts["dropped"].items(), key=lambda item: -item[1]):
        print(f"| {reason} | {count:,} | {count / checked:.2%} |")
    print("| language | checked | dropped |")
    print("|---|---:|---:|")
    for language, total in sorted(quality["checked"].items(), key=lambda item: -item[1]):
        dropped = sum(quality["dropped"].get(language, {}).values())
        print(f"| {language} | {total:,} | {dropped:,} ({dropped / total:.1%}) |")


if __name__ == "__main__":
    main()
