"""Generate ``manifests/manifest.schema.json`` from the pydantic models.

python -m corpus_kit.governance.schema          # rewrite the file
python -m corpus_kit.governance.schema --check  # exit 1 if the file is stale
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from corpus_kit.governance.manifest import Manifest

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def manifest_json_schema() -> str:
    """The manifest's JSON Schema as text (stable formatting, trailing newline)."""
    schema = {"$schema": SCHEMA_DIALECT, **Manifest.model_json_schema(mode="validation")}
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def schema_path() -> Path:
    """The schema file in the source tree (top-level ``manifests/``)."""
    return Path(__file__).resolve().parents[2] / "manifests" / "manifest.schema.json"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = schema_path()
    text = manifest_json_schema()
    if "--check" in args:
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            print(f"{target} is stale: run python -m corpus_kit.governance.schema", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
