"""Deterministic weighted mixing of sources or languages to target proportions."""
