"""Governance: the manifest (pydantic models + generated JSON Schema) and record accounting."""
