"""Heuristic quality filters (Gopher, C4, FineWeb), word/URL blocklists, and their shared helpers.

The stage modules are imported when a pipeline names their stages (``datacraft.stages.BUILTIN``), not
with this package: ``length`` uses only the shared helpers here.
"""
