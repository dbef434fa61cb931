"""The I/O floor: read JSONL with orjson, write {id, text} Parquet (zstd), one process per file.

This is what any converter must at least do; corpus-kit's ``convert`` is measured against it.

    python benchmarks/floor.py INPUT_DIR OUTPUT_DIR [--procs 2]
"""

from __future__ import annotations

import argparse
import gzip
import multiprocessing
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string())])
BATCH = 1000


def convert_file(job: tuple[str, str]) -> int:
    source, target = job
    opener = gzip.open if source.endswith(".gz") else open
    rows = 0
    with opener(source, "rb") as handle, pq.ParquetWriter(target, SCHEMA, compression="zstd") as writer:
        ids: list[str] = []
        texts: list[str] = []
        for line in handle:
            record = orjson.loads(line)
            ids.append(str(record.get("id")))
            texts.append(record.get("text"))
            if len(ids) == BATCH:
                writer.write_batch(pa.record_batch([ids, texts], schema=SCHEMA))
                rows += len(ids)
                ids, texts = [], []
        if ids:
            writer.write_batch(pa.record_batch([ids, texts], schema=SCHEMA))
            rows += len(ids)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input_dir", type=Path)
    parser.add_argument("output_dir", type=Path)
    parser.add_argument("--procs", type=int, default=2)
    args = parser.parse_args()
    args.output_dir.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in args.input_dir.iterdir() if p.name.endswith((".jsonl", ".jsonl.gz")))
    jobs = [(str(p), str(args.output_dir / f"{i:05d}.parquet")) for i, p in enumerate(files)]
    with multiprocessing.get_context("fork").Pool(args.procs) as pool:
        rows = sum(pool.imap_unordered(convert_file, jobs))
    print(rows)


if __name__ == "__main__":
    main()
