"""Generate ``manifests/manifest.schema.json`` and ``manifests/pipeline.schema.json`` from the models.

python -m corpus_kit.governance.schema          # rewrite both files
python -m corpus_kit.governance.schema --check  # exit 1 if either file is stale

The pipeline schema describes a pipeline YAML (editors validate and complete it with it: the
YAML language server reads ``# yaml-language-server: $schema=...``); its ``steps`` items come
from the built-in stages' parameter models, so it changes when a stage's parameters do.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from corpus_kit.governance.manifest import Manifest

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _dumps(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def manifest_json_schema() -> str:
    """The manifest's JSON Schema as text (stable formatting, trailing newline)."""
    schema = {"$schema": SCHEMA_DIALECT, **Manifest.model_json_schema(mode="validation")}
    return _dumps(schema)


def pipeline_json_schema() -> str:
    """The pipeline YAML's JSON Schema: the config model, with one ``steps`` entry form per built-in stage."""
    from corpus_kit.pipeline.config import PipelineConfig
    from corpus_kit.stages.registry import builtin_stages, get_stage

    schema: dict[str, Any] = PipelineConfig.model_json_schema(mode="validation")
    definitions = schema.setdefault("$defs", {})
    choices: list[dict[str, Any]] = []
    for name in sorted(builtin_stages()):
        stage = get_stage(name)
        params = stage.params_model.model_json_schema(mode="validation", ref_template="#/$defs/{model}")
        for key, value in params.pop("$defs", {}).items():
            definitions.setdefault(key, value)
        title = f"{type(stage).__name__}Params"
        params["title"] = title
        params["description"] = stage.summary
        definitions[title] = params
        reference = {"$ref": f"#/$defs/{title}"}
        choices.append(
            {
                "type": "object",
                "properties": {name: {"anyOf": [reference, {"type": "null"}]}},
                "required": [name],
                "additionalProperties": False,
            }
        )
        choices.append({"const": name})
    plugin = {
        "description": "A plugin stage: an entry point of the corpus_kit.stages group, or module.path:Class.",
        "type": "object",
        "minProperties": 1,
        "maxProperties": 1,
        "propertyNames": {"not": {"enum": sorted(builtin_stages())}},
    }
    schema["properties"]["steps"] = {
        "description": "Stages in order; each is a name or a one-key mapping of name to parameters.",
        "type": "array",
        "items": {"anyOf": [*choices, plugin, {"type": "string"}]},
    }
    definitions.pop("StepConfig", None)
    schema = {
        "$schema": SCHEMA_DIALECT,
        "$id": "https://corpus-kit.dev/schemas/pipeline-1.json",
        **schema,
        "title": "corpus-kit pipeline",
    }
    return _dumps(schema)


def _manifests_folder() -> Path:
    return Path(__file__).resolve().parents[2] / "manifests"


def schema_path() -> Path:
    """The manifest schema file in the source tree (top-level ``manifests/``)."""
    return _manifests_folder() / "manifest.schema.json"


def pipeline_schema_path() -> Path:
    return _manifests_folder() / "pipeline.schema.json"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    targets = {schema_path(): manifest_json_schema(), pipeline_schema_path(): pipeline_json_schema()}
    if "--check" in args:
        stale = [
            path for path, text in targets.items() if not path.is_file() or path.read_text("utf-8") != text
        ]
        for path in stale:
            print(f"{path} is stale: run python -m corpus_kit.governance.schema", file=sys.stderr)
        return 1 if stale else 0
    for path, text in targets.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
