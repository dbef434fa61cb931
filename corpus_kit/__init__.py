"""corpus-kit: govern AI-training corpora on datatrove.

Read multimodal shards (JSONL, Parquet, WebDataset, ``datasets`` folders), run governance
stages, and write a Hub-compatible Parquet dataset with a compliance manifest.

The public Python API (the CLI is a thin layer over it)::

    import corpus_kit

    result = corpus_kit.run("pipelines/standard.yaml", inputs=["raw/"], output="out/intake")
    manifest = corpus_kit.load_manifest("out/intake")
    findings = corpus_kit.validate_manifest("out/intake")      # [] when valid
    report = corpus_kit.verify_dataset("out/intake")           # report.problems == [] when intact
    corpus_kit.register_stage(MyStage)                         # then "- my_stage: {...}" in YAML

Importing this package is cheap: everything is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from corpus_kit.api import load_manifest, load_pipeline, run, validate_manifest, verify_dataset
    from corpus_kit.catalog.lineage import export_lineage
    from corpus_kit.catalog.report import ReportSection
    from corpus_kit.errors import CheckFailed, CorpusKitError, UsageError
    from corpus_kit.governance.manifest import Manifest
    from corpus_kit.governance.policy import Finding
    from corpus_kit.governance.signing import sign_dataset, verify_signature
    from corpus_kit.governance.verify import VerifyReport
    from corpus_kit.pipeline.config import PipelineConfig
    from corpus_kit.pipeline.spec import RunResult, RunSpec, StepSpec
    from corpus_kit.stages.base import Preparation, Stage, StageContext, StageParams, StageSection
    from corpus_kit.stages.pii.presidio import register_pii_recognizer
    from corpus_kit.stages.pii.recognizers import register_pii_validator
    from corpus_kit.stages.quality import register_quality_signal
    from corpus_kit.stages.registry import StageInfo, get_stage, list_stages, register_stage, unregister_stage

_LAZY: dict[str, str] = {
    "run": "corpus_kit.api",
    "load_pipeline": "corpus_kit.api",
    "load_manifest": "corpus_kit.api",
    "validate_manifest": "corpus_kit.api",
    "verify_dataset": "corpus_kit.api",
    "Manifest": "corpus_kit.governance.manifest",
    "Finding": "corpus_kit.governance.policy",
    "sign_dataset": "corpus_kit.governance.signing",
    "verify_signature": "corpus_kit.governance.signing",
    "export_lineage": "corpus_kit.catalog.lineage",
    "VerifyReport": "corpus_kit.governance.verify",
    "PipelineConfig": "corpus_kit.pipeline.config",
    "RunResult": "corpus_kit.pipeline.spec",
    "RunSpec": "corpus_kit.pipeline.spec",
    "StepSpec": "corpus_kit.pipeline.spec",
    "Stage": "corpus_kit.stages.base",
    "StageParams": "corpus_kit.stages.base",
    "StageSection": "corpus_kit.stages.base",
    "StageContext": "corpus_kit.stages.base",
    "Preparation": "corpus_kit.stages.base",
    "ReportSection": "corpus_kit.catalog.report",
    "StageInfo": "corpus_kit.stages.registry",
    "get_stage": "corpus_kit.stages.registry",
    "list_stages": "corpus_kit.stages.registry",
    "register_stage": "corpus_kit.stages.registry",
    "unregister_stage": "corpus_kit.stages.registry",
    "register_quality_signal": "corpus_kit.stages.quality",
    "register_pii_validator": "corpus_kit.stages.pii.recognizers",
    "register_pii_recognizer": "corpus_kit.stages.pii.presidio",
    "CorpusKitError": "corpus_kit.errors",
    "UsageError": "corpus_kit.errors",
    "CheckFailed": "corpus_kit.errors",
}

__all__ = [
    "CheckFailed",
    "CorpusKitError",
    "Finding",
    "Manifest",
    "PipelineConfig",
    "Preparation",
    "ReportSection",
    "RunResult",
    "RunSpec",
    "Stage",
    "StageContext",
    "StageInfo",
    "StageParams",
    "StageSection",
    "StepSpec",
    "UsageError",
    "VerifyReport",
    "__version__",
    "export_lineage",
    "get_stage",
    "list_stages",
    "load_manifest",
    "load_pipeline",
    "register_pii_recognizer",
    "register_pii_validator",
    "register_quality_signal",
    "register_stage",
    "run",
    "sign_dataset",
    "unregister_stage",
    "validate_manifest",
    "verify_dataset",
    "verify_signature",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'corpus_kit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # next time, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
