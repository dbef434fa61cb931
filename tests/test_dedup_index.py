"""Dedup index: index build / dedup --index-out, dedup --against across releases, hostile index files."""

from __future__ import annotations

import glob
import json
import random
from pathlib import Path

import pyarrow.parquet as pq

from corpus_kit.io.folder_lock import folder_lock
from tests.conftest import write_jsonl
from tests.test_dedup import _edit_chars, _edit_words, _en, _zh


def _releases(folder: Path) -> tuple[dict[str, str], set[str]]:
    """Release 1 (300 records); release 2: 20 % exact and near copies of release 1 + new text.
    Returns copy id -> original id, and the ids of release 2's new records."""
    rng = random.Random(8)
    first, second, copies, new = [], [], {}, set()
    for index in range(300):
        zh = index % 2 == 0
        text = _zh(rng, rng.randint(200, 800)) if zh else _en(rng, rng.randint(80, 300))
        first.append(
            {"id": f"r1-{index:04d}", "text": text, "metadata": {"source": "web", "license": "CC0-1.0"}}
        )
    for index in range(240):
        text = _zh(rng, rng.randint(200, 800)) if index % 2 else _en(rng, rng.randint(80, 300))
        second.append({"id": f"r2-new-{index:04d}", "text": text})
        new.add(f"r2-new-{index:04d}")
    for number, original in enumerate(rng.sample(first, 60)):  # 60 of 300 = 20 % of release 2
        text = original["text"]
        if number % 2:
            copy = " " + text.upper() + "\n" if number % 4 == 1 else text
        else:
            share = rng.uniform(0.01, 0.04)
            copy = _edit_chars(rng, text, share) if " " not in text else _edit_words(rng, text, share)
        second.append({"id": f"r2-copy-{number:04d}", "text": copy})
        copies[f"r2-copy-{number:04d}"] = original["id"]
    rng.shuffle(second)
    for name, records in (("r1", first), ("r2", second)):
        (folder / name).mkdir(parents=True)
        half = len(records) // 2
        write_jsonl(folder / name / "part-0.jsonl", records[:half])
        write_jsonl(folder / name / "part-1.jsonl", records[half:])
    return copies, new


def _rows(out: Path, sub: str = "data") -> list[dict]:
    files = sorted(glob.glob(str(out / sub / "**" / "*.parquet"), recursive=True))
    return pq.read_table(files).to_pylist() if files else []


def test_release_two_against_release_one(tmp_path: Path, cli) -> None:
    copies, new = _releases(tmp_path / "in")
    index = tmp_path / "index"
    result = cli("dedup", tmp_path / "in" / "r1", "-o", tmp_path / "rel1", "--quiet", "--index-out", index)
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "rel1" / "manifest.json").read_text())
    segment = manifest["dedup"]["index_segment"]
    catalog = json.loads((index / "catalog.json").read_text())
    assert [entry["name"] for entry in catalog["segments"]] == [segment]
    assert catalog["segments"][0]["records"] == 300
    # the same release through index build: bound to its manifest by sha256
    built = tmp_path / "built"
    result = cli("index", "build", tmp_path / "rel1", "-o", built)
    assert result.exit_code == 0, result.output
    entry = json.loads((built / "catalog.json").read_text())["segments"][0]
    assert entry["datasets"][0]["name"] == "rel1" and len(entry["datasets"][0]["manifest_sha256"]) == 64

    outputs = {}
    for against, workers in ((index, "1"), (index, "2"), (built, "2")):
        out = tmp_path / f"rel2-{against.name}-{workers}"
        result = cli("dedup", tmp_path / "in" / "r2", "-o", out, "--quiet", "--keep-removed",
                     "--against", against, "--workers", workers)  # fmt: skip
        assert result.exit_code == 0, result.output
        kept = {row["id"] for row in _rows(out)}
        removed = {row["id"]: json.loads(row["metadata"]) for row in _rows(out, "removed")}
        hits = {key for key, meta in removed.items() if meta["filter_reason"] == "dedup.index"}
        assert len(hits & set(copies)) / len(copies) >= 0.99
        assert hits <= set(copies)
        for key in hits:
            assert removed[key]["dup_of"] == copies[key] and removed[key]["dup_dataset"] == "rel1"
        assert new <= kept  # no new record is lost
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["counts"]["dropped"].get("dedup.index") == len(hits)
        assert manifest["dedup"]["index_hits"] == len(hits)
        outputs[(against.name, workers)] = sorted(kept)
    assert outputs[("index", "1")] == outputs[("index", "2")] == outputs[("built", "2")]
    # without the index, the copies stay
    out = tmp_path / "rel2-alone"
    assert cli("dedup", tmp_path / "in" / "r2", "-o", out, "--quiet").exit_code == 0
    assert set(copies) <= {row["id"] for row in _rows(out)}


def test_index_is_appendable_and_hostile_or_busy_indexes_are_refused(tmp_path: Path, cli) -> None:
    _releases(tmp_path / "in")
    index = tmp_path / "index"
    for release in ("r1", "r2"):  # the monthly flow: against what was published, then added to it
        against = ["--against", str(index)] if release == "r2" else []
        result = cli("dedup", tmp_path / "in" / release, "-o", tmp_path / release, "--quiet",
                     "--index-out", index, *against)  # fmt: skip
        assert result.exit_code == 0, result.output
    catalog = json.loads((index / "catalog.json").read_text())
    assert len(catalog["segments"]) == 2 and catalog["segments"][1]["records"] == 240  # copies not re-added
    # a segment whose run never wrote its manifest is not used
    dead = [{"name": "x", "manifest_sha256": None, "pending": str(tmp_path / "gone")}]
    catalog["segments"].append(dict(catalog["segments"][0], name="seg-99999-dead", datasets=dead))
    (index / "catalog.json").write_text(json.dumps(catalog))
    out = tmp_path / "again"
    result = cli("dedup", tmp_path / "in" / "r2", "-o", out, "--quiet", "--against", index)
    assert result.exit_code == 0, result.output
    # a busy index: a second writer is refused with a clear message
    with folder_lock(index, activity="dedup index update"):
        result = cli("index", "build", tmp_path / "r1", "-o", index)
    assert result.exit_code == 2 and "is writing to this folder" in result.output
    # other settings, a foreign file, a damaged catalogue or segment: one line, exit 2
    result = cli(
        "dedup", tmp_path / "in" / "r2", "-o", tmp_path / "x1", "--quiet", "--against", index, "--seed", "7"
    )
    assert result.exit_code == 2 and "other settings" in result.output
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "catalog.json").write_text('{"hello": 1}')
    for bad in (foreign, tmp_path / "missing"):
        result = cli("dedup", tmp_path / "in" / "r2", "-o", tmp_path / "x2", "--quiet", "--against", bad)
        assert result.exit_code == 2 and "dedup index" in result.output, result.output
        assert "Traceback" not in result.output
    (foreign / "catalog.json").write_bytes(b"\xff\x00garbage")
    result = cli("dedup", tmp_path / "in" / "r2", "-o", tmp_path / "x3", "--quiet", "--against", foreign)
    assert result.exit_code == 2 and "catalogue" in result.output
    segment = index / "segments" / catalog["segments"][0]["name"] / "bands.npy"
    segment.write_bytes(b"not numpy")
    result = cli("dedup", tmp_path / "in" / "r2", "-o", tmp_path / "x4", "--quiet", "--against", index)
    assert result.exit_code == 2 and "damaged dedup index segment" in result.output, result.output
