"""Catalog publication: dataset cards (Hub README + Croissant) and publishing gated by supply mode."""
