"""Throughput of ``corpus-kit convert`` next to the orjson + pyarrow floor, in the same run.

    python benchmarks/bench_convert.py                 # makes a 100 MB mixed zh/en corpus first
    python benchmarks/bench_convert.py --corpus DIR    # or measures an existing JSONL folder
    python benchmarks/bench_convert.py --mb 300 --repeat 5 --json results.json

Every number is the wall time of a whole process (interpreter start, imports and output writing
included), with a warm page cache; the table gives the median of ``--repeat`` runs. MB/s counts
input bytes on disk; docs/s counts input records.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from bench_standard import describe_corpus  # noqa: E402


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "CI": "1"})
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description="corpus-kit convert vs the orjson + pyarrow floor")
    parser.add_argument("--corpus", type=Path, help="folder of .jsonl/.jsonl.gz files (default: make one)")
    parser.add_argument("--mb", type=int, default=100, help="size of the generated corpus")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="ck-bench-"))
    try:
        corpus = args.corpus
        if corpus is None:
            corpus = scratch / "corpus"
            subprocess.run(
                [
                    sys.executable,
                    str(HERE / "make_corpus.py"),
                    "-o",
                    str(corpus),
                    "--mb",
                    str(args.mb),
                    "--files",
                    "5",
                ],
                check=True,
            )
        # the same files as floor.py and convert read (.jsonl and .jsonl.gz); reading warms the cache
        described = describe_corpus(corpus)
        input_bytes, docs = described["bytes"], described["docs"]
        commands = {
            "floor: orjson + pyarrow write": [
                sys.executable, str(HERE / "floor.py"), str(corpus), str(scratch / "floor"),
                "--procs", str(args.workers),
            ],
            "corpus-kit convert": [
                sys.executable, "-m", "corpus_kit", "convert", str(corpus), "-o", str(scratch / "ck"),
                "--workers", str(args.workers), "--quiet", "--overwrite",
            ],
        }  # fmt: skip
        results = {}
        for name, command in commands.items():
            walls = []
            for _ in range(args.repeat):
                shutil.rmtree(scratch / "floor", ignore_errors=True)
                walls.append(timed(command))
            median = statistics.median(walls)
            results[name] = {
                "wall_s": round(median, 3),
                "runs_s": [round(w, 3) for w in walls],
                "mb_per_s": round(input_bytes / median / 1e6, 1),
                "docs_per_s": round(docs / median),
            }
        floor = results["floor: orjson + pyarrow write"]["mb_per_s"]
        print(f"corpus: {corpus} · {input_bytes / 1e6:.1f} MB · {docs:,} docs · workers {args.workers}")
        print(f"| tool | wall s (median of {args.repeat}) | MB/s | docs/s | vs floor |")
        print("|---|---:|---:|---:|---:|")
        for name, row in results.items():
            ratio = row["mb_per_s"] / floor
            print(f"| {name} | {row['wall_s']} | {row['mb_per_s']} | {row['docs_per_s']:,} | {ratio:.2f}x |")
        if args.json:
            payload = {"input_bytes": input_bytes, "docs": docs, "workers": args.workers, "results": results}
            args.json.write_text(json.dumps(payload, indent=2) + "\n")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
