"""Heuristic quality filters (Gopher, C4, FineWeb), word/URL blocklists, and their shared helpers."""

from datacraft.stages.quality import blocklist, c4, fineweb, gopher  # noqa: F401
