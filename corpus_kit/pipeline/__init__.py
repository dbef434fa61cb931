"""Pipelines: YAML configuration -> datatrove steps -> executor -> governed dataset."""
