"""Decontamination benchmark: recall per planted form (zh/en), clean records removed, hash index vs
text, throughput per core.

    python benchmarks/bench_decontam.py                      # >= 100 MB set, 2 workers
    python benchmarks/bench_decontam.py --mb 5 --settle 0    # a quick check while developing
    python benchmarks/bench_decontam.py --json /tmp/decontam.json

The labelled set comes from ``make_decontam_set.py`` (four made-up benchmarks, two Chinese and two
English, 1,500 items each; a ``make_corpus.py`` corpus with items planted whole, as fragments of
14-20 units inside paragraphs, and split over short lines) and is cached in the temporary folder.

1. ``corpus-kit decontam-index build EVALS -o INDEX`` (timed; the index must hold no item text).
2. In this process, on one core: the index is loaded and every record's text goes through
   ``EvalIndex.matches`` (normalisation, units, grams, lookup): MB/s (UTF-8 bytes of the texts)
   and docs/s per core.
3. Whole processes with ``--workers``: ``corpus-kit decontaminate CORPUS --action flag`` with the
   text files and again with the index; the data files must be byte-identical. From the text run's
   ``metadata.decontam``: recall per language and form (a planted record counts when it is flagged
   for its own benchmark), records flagged for another benchmark, and clean records flagged (they
   would be removed by ``--action drop``: must be 0), and near misses flagged (12 units of an
   item, one short of a gram: must be 0). A pipeline run (``decontaminate`` with the
   index and ``action: drop``, then ``license``) must drop exactly the flagged records as
   ``decontam.<benchmark>`` and pass ``corpus-kit manifest validate --strict``.

Exit status 1 when recall of a form is below 0.99, a clean record is flagged, the index result
differs from the text result, the index holds item text, or a command fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))
import make_decontam_set  # noqa: E402
from bench_standard import MB, corpus_files, corpus_kit_command, settle  # noqa: E402

MIN_RECALL = 0.99
PIPELINE = """name: bench-decontam
dataset: {{name: decontam-bench, version: '1'}}
supply: {{mode: cooperation, partners: [bench], agreement_id: B-1, permitted_uses: [research],
  classification: {{grade: general}}}}
steps:
  - decontaminate: {{evals: [{index}], action: drop}}
  - license: {{default: CC-BY-4.0}}
"""


def ensure_set(args: argparse.Namespace) -> Path:
    key = (
        f"ck-bench-decontam-v{make_decontam_set.VERSION}-{args.mb:g}mb-{args.files}f-seed{args.seed}"
        f"-p{args.planted_share:g}-m{args.near_miss_share:g}"
    )
    folder = args.cache / key
    done = args.cache / f"{key}.done.json"
    if done.exists() and folder.is_dir():
        return folder
    partial = args.cache / f"{key}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    print(f"generating a {args.mb:g} MB decontamination set in {folder} ...", flush=True)
    summary = make_decontam_set.make_set(
        partial, args.mb, args.files, args.seed, args.planted_share, args.near_miss_share
    )
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    done.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"  {summary['docs']:,} docs, {summary['bytes'] / MB:.1f} MB ({summary['seconds']} s)", flush=True)
    return folder


def read_corpus(corpus: Path) -> tuple[list[str], list[str]]:
    ids, texts = [], []
    for path in corpus_files(corpus):
        with open(path, "rb") as handle:
            for line in handle:
                record = orjson.loads(line)
                ids.append(record["id"])
                texts.append(record["text"])
    return ids, texts


def run(command: list[str], log: Path) -> float:
    started = time.perf_counter()
    with open(log, "wb") as err:
        done = subprocess.run(
            command, stdout=subprocess.DEVNULL, stderr=err, cwd=REPO, env={**os.environ, "CI": "1"}
        )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): " + " | ".join(tail))
    return wall


def flags(out: Path) -> dict[str, list[str] | None]:
    import pyarrow.parquet as pq

    found: dict[str, list[str] | None] = {}
    for path in sorted((out / "data").glob("*.parquet")):
        table = pq.read_table(path, columns=["id", "metadata"])
        for rid, metadata in zip(
            table.column("id").to_pylist(), table.column("metadata").to_pylist(), strict=True
        ):
            found[rid] = orjson.loads(metadata).get("decontam") if metadata else None
    return found


def data_checksums(out: Path) -> list[tuple[str, str]]:
    manifest = json.loads((out / "manifest.json").read_text())
    return [(item["path"], item["sha256"]) for item in manifest["files"]]


def accuracy(
    truth: dict[str, dict[str, Any]], found: dict[str, list[str] | None]
) -> tuple[dict[str, dict[str, Any]], int, int, int, tuple[int, int]]:
    per_form: dict[str, Counter[str]] = {}
    clean_flagged = other_benchmark = near_missed = near_total = 0
    for rid, names in found.items():
        planted = truth.get(rid)
        if planted is None:
            clean_flagged += bool(names)
            continue
        if planted["form"] == "near_miss":
            near_missed += bool(names)
            near_total += 1
            continue
        key = f"{planted['lang']}/{planted['form']}"
        tally = per_form.setdefault(key, Counter())
        tally["planted"] += 1
        if names and planted["benchmark"] in names:
            tally["found"] += 1
        if names and any(name != planted["benchmark"] for name in names):
            other_benchmark += 1
    missing = len(set(truth) - set(found))
    forms = {
        key: {
            "planted": tally["planted"],
            "found": tally["found"],
            "recall": tally["found"] / tally["planted"],
        }
        for key, tally in sorted(per_form.items())
    }
    return forms, clean_flagged, other_benchmark, missing, (near_missed, near_total)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    # make_corpus.py writes ~98 % of --mb (it stops when no whole document fits): 103 gives >= 100 MB
    parser.add_argument("--mb", type=float, default=103.0)
    parser.add_argument("--files", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--planted-share", type=float, default=0.15)
    parser.add_argument("--near-miss-share", type=float, default=0.03)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds of idle machine to wait for")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args(argv)

    folder = ensure_set(args)
    evals, corpus = folder / "evals", folder / "corpus"
    truth = {row["id"]: row for row in map(orjson.loads, (folder / "truth.jsonl").read_bytes().splitlines())}
    input_bytes = sum(path.stat().st_size for path in corpus_files(corpus))
    scratch = Path(tempfile.mkdtemp(prefix="ck-bench-decontam-"))
    cli = corpus_kit_command()
    results: dict[str, Any] = {
        "set": str(folder),
        "input_mb": round(input_bytes / MB, 1),
        "workers": args.workers,
    }
    failures: list[str] = []
    try:
        # 1. the index
        index = scratch / "evals.ckdi"
        settle(args.settle)
        results["index_build_s"] = round(
            run([*cli, "decontam-index", "build", str(evals), "-o", str(index)], scratch / "index.log"), 2
        )
        raw = index.read_bytes()
        texts_in_index = 0
        for path in sorted(evals.glob("*.jsonl")):
            for line in path.read_bytes().splitlines()[:200]:
                question = orjson.loads(line)["question"]
                texts_in_index += question.encode()[:30] in raw
        results["index_bytes"] = len(raw)
        if texts_in_index:
            failures.append(f"the index holds the text of {texts_in_index} item(s)")

        # 2. one core, in this process
        from corpus_kit.stages.decontaminate import grams
        from corpus_kit.stages.decontaminate.evals import EvalIndex

        grams.warm_up()
        loaded = EvalIndex.load([str(index)], None)
        ids, texts = read_corpus(corpus)
        text_bytes = sum(len(text.encode()) for text in texts)
        settle(args.settle)
        started = time.process_time()
        in_process: dict[str, list[str] | None] = {}
        for rid, text in zip(ids, texts, strict=True):
            counts = loaded.matches(text)
            in_process[rid] = [loaded.names[i] for i in counts.nonzero()[0]] or None
        cpu = time.process_time() - started
        results["core"] = {
            "mb_s": round(text_bytes / MB / cpu, 1),
            "docs_s": round(len(texts) / cpu),
            "cpu_s": round(cpu, 2),
            "text_mb": round(text_bytes / MB, 1),
        }

        # 3. whole processes: text vs index, then drop through a pipeline
        walls = {}
        for name, source in (("text", evals), ("index", index)):
            out = scratch / f"flag-{name}"
            settle(args.settle)
            walls[name] = run(
                [
                    *cli,
                    "decontaminate",
                    str(corpus),
                    "-o",
                    str(out),
                    "--evals",
                    str(source),
                    "--action",
                    "flag",
                    "--workers",
                    str(args.workers),
                    "-q",
                ],
                scratch / f"flag-{name}.log",
            )
        same = data_checksums(scratch / "flag-text") == data_checksums(scratch / "flag-index")
        if not same:
            failures.append("the index run's data files differ from the text run's")
        found = flags(scratch / "flag-text")
        if found != in_process:
            failures.append("the CLI's flags differ from the in-process matcher's")
        forms, clean_flagged, other_benchmark, missing, near = accuracy(truth, found)
        if near[0]:
            failures.append(f"{near[0]} near miss(es) of 12 units flagged")
        for key, row in forms.items():
            if row["recall"] < MIN_RECALL:
                failures.append(f"recall {key} {row['recall']:.4f} < {MIN_RECALL}")
        if clean_flagged:
            failures.append(f"{clean_flagged} clean record(s) flagged (would be removed)")
        if missing:
            failures.append(f"{missing} planted record(s) missing from the output")
        pipeline = scratch / "drop.yaml"
        pipeline.write_text(PIPELINE.format(index=index))
        settle(args.settle)
        walls["drop"] = run(
            [
                *cli,
                "run",
                str(pipeline),
                "-i",
                str(corpus),
                "-o",
                str(scratch / "drop"),
                "--workers",
                str(args.workers),
                "-q",
            ],
            scratch / "drop.log",
        )
        manifest = json.loads((scratch / "drop" / "manifest.json").read_text())
        dropped = sum(
            count for reason, count in manifest["counts"]["dropped"].items() if reason.startswith("decontam.")
        )
        flagged_total = sum(1 for names in found.values() if names)
        if dropped != flagged_total:
            failures.append(f"drop run removed {dropped} records, the flag run flagged {flagged_total}")
        validate = subprocess.run(
            [*cli, "manifest", "validate", str(scratch / "drop"), "--strict"], capture_output=True
        )
        if validate.returncode != 0:
            failures.append("manifest validate failed: " + validate.stdout.decode()[-300:])
        clean_total = len(found) - len(truth)
        results["near_misses"] = {"records": near[1], "flagged": near[0]}
        results.update(
            {
                "recall": forms,
                "clean_records": clean_total,
                "clean_removed": clean_flagged,
                "flagged_for_another_benchmark": other_benchmark,
                "index_equals_text": same,
                "dropped": dropped,
                "dropped_by_reason": manifest["counts"]["dropped"],
                "wall_s": {name: round(wall, 2) for name, wall in walls.items()},
                "process_mb_s": {name: round(input_bytes / MB / wall, 1) for name, wall in walls.items()},
                "process_mb_s_per_core": {
                    name: round(input_bytes / MB / wall / args.workers, 1) for name, wall in walls.items()
                },
                "process_docs_s_per_core": {
                    name: round(len(found) / wall / args.workers) for name, wall in walls.items()
                },
            }
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    planted = sum(1 for row in truth.values() if row["form"] != "near_miss")
    print(f"set: {folder} ({results['input_mb']} MB of JSONL, {planted:,} planted records)")
    for key, row in results.get("recall", {}).items():
        print(f"  recall {key:<12} {row['found']:>5,}/{row['planted']:<5,} = {row['recall']:.4f}")
    if "clean_records" in results:
        print(
            f"  clean records removed: {results['clean_removed']} of {results['clean_records']:,}; "
            f"flagged for another benchmark: {results['flagged_for_another_benchmark']}; "
            f"index == text: {results['index_equals_text']}"
        )
        core = results["core"]
        print(
            f"  one core, in process: {core['mb_s']} MB/s, {core['docs_s']:,} docs/s "
            f"({core['text_mb']} MB of text)"
        )
        for name in ("text", "index", "drop"):
            print(
                f"  corpus-kit {name:<5} ({args.workers} workers): {results['wall_s'][name]} s, "
                f"{results['process_mb_s'][name]} MB/s, {results['process_mb_s_per_core'][name]} MB/s and "
                f"{results['process_docs_s_per_core'][name]:,} docs/s per core"
            )
        print(f"  index: built in {results['index_build_s']} s, {results['index_bytes']:,} bytes")
    results["failures"] = failures
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if "near_misses" in results:
        print(
            f"  near misses (12 units of an item): {results['near_misses']['flagged']} flagged of "
            f"{results['near_misses']['records']:,}"
        )
    for failure in failures:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
