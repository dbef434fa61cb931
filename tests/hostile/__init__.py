"""Hostile and unlucky input: each test reproduces a defect found by trying to break corpus-kit."""
