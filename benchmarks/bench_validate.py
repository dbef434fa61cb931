"""How long ``corpus-kit manifest validate`` takes on a manifest listing many data files.

    python benchmarks/bench_validate.py [--files 10000] [--repeat 5]

Prints the in-process validation time (parse + schema + every policy rule) and the wall time of
the whole ``corpus-kit manifest validate`` command (interpreter start and imports included).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from corpus_kit.governance.licence_registry import default_registry, resolve_dataset
from corpus_kit.governance.policy import validate_manifest_data


def big_manifest(files: int) -> dict:
    rows_per_file = 1000
    output = files * rows_per_file
    licences = {"CC-BY-4.0": output // 2, "CC-BY-NC-4.0": output - output // 2}
    return {
        "schema_version": "1",
        "dataset": {"name": "big", "version": "1", "description": "", "created_at": "2026-11-24T00:00:00Z"},
        "supply": {"mode": "cooperation", "partners": ["A"], "agreement_id": "X-1"},
        "counts": {"input": output, "output": output, "rejected": 0, "dropped": {}},
        "languages": {"zh-Hans": output},
        "licenses": licences,
        "license": resolve_dataset(licences, default_registry()).model_dump(mode="json"),
        "sources": [
            {"uri": f"raw/part-{i:05d}.jsonl.zst", "format": "jsonl", "sha256": f"{i:064x}", "bytes": 10**8,
             "records": rows_per_file, "rejected": 0}
            for i in range(files)
        ],
        "files": [
            {"path": f"data/train-{i:05d}-of-{files:05d}.parquet", "sha256": f"{i:064x}", "bytes": 5 * 10**7,
             "rows": rows_per_file}
            for i in range(files)
        ],
        "pipeline": {
            "name": "big",
            "steps": [{"name": "read", "input": output, "output": output}, {"name": "write", "input": output,
                                                                            "output": output}],
            "config_sha256": "0" * 64,
            "versions": {"corpus-kit": "0.1.0"},
            "tasks": 64,
            "wall_seconds": 1.0,
        },
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    raw = json.dumps(big_manifest(args.files)).encode()
    assert validate_manifest_data(raw) == [], "the benchmark manifest must be valid"
    in_process = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        validate_manifest_data(raw)
        in_process.append(time.perf_counter() - started)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "manifest.json"
        path.write_bytes(raw)
        command = [sys.executable, "-m", "corpus_kit", "manifest", "validate", str(path)]
        walls = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "CI": "1"})
            walls.append(time.perf_counter() - started)
    print(f"manifest: {args.files:,} files, {len(raw) / 1e6:.1f} MB of JSON")
    print(
        f"validate_manifest_data (in process), median of {args.repeat}: {statistics.median(in_process):.3f} s"
    )
    wall = statistics.median(walls)
    print(f"corpus-kit manifest validate (whole process), median of {args.repeat}: {wall:.3f} s")


if __name__ == "__main__":
    main()
