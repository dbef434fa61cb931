"""Governance stages (dedup, langid, quality, pii, licence) as datatrove steps.

Each stage is one module (or package) that declares everything about itself through the contract in
:mod:`corpus_kit.stages.base`; :mod:`corpus_kit.stages.registry` finds built-ins, registered stages,
the ``corpus_kit.stages`` entry-point group and ``module:Class`` step names. A stage drops records
through datatrove's ``BaseFilter`` convention (stat ``dropped_<reason>`` with a dotted reason such
as ``dedup.exact``), which the manifest turns into ``counts.dropped``.
"""

from corpus_kit.stages.base import Stage, StageContext, StageParams, StageSection
from corpus_kit.stages.registry import get_stage, list_stages, register_stage

__all__ = [
    "Stage",
    "StageContext",
    "StageParams",
    "StageSection",
    "get_stage",
    "list_stages",
    "register_stage",
]
