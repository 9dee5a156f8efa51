"""Which entry-point groups the installed distributions declare, found without importing importlib.metadata.

``importlib.metadata.entry_points()`` imports email, zipfile, csv and friends and parses the metadata of
every installed distribution (together ~0.05–0.1 CPU-s); it runs at start-up twice: for our
``datacraft.stages`` group and for pydantic's plugin group. Most environments declare neither, which
this module finds out by reading only the section headers of the ``entry_points.txt`` files on
``sys.path`` (the same files importlib.metadata reads). Where that cannot be done as cheaply (a zip or
``.egg`` on ``sys.path``, another finder that lists distributions), :func:`declared_groups` returns None
and callers use importlib.metadata as before.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache

PYDANTIC_GROUP = "pydantic"
PYDANTIC_DISABLE = "PYDANTIC_DISABLE_PLUGINS"


def _only_the_path_finder_lists_distributions() -> bool:
    from importlib.machinery import PathFinder

    return all(f is PathFinder or not hasattr(f, "find_distributions") for f in sys.meta_path)


def declared_groups() -> frozenset[str] | None:
    """Every group named in an ``entry_points.txt`` on ``sys.path`` (a superset), or None: ask importlib.metadata."""
    if not _only_the_path_finder_lists_distributions():
        return None
    return _scan(tuple(sys.path))


@lru_cache(maxsize=4)
def _scan(path: tuple[str, ...]) -> frozenset[str] | None:
    """:func:`declared_groups` for one ``sys.path`` (scanned once per process)."""
    groups: set[str] = set()
    for entry in path:
        root = entry or "."
        if root.lower().endswith(".egg"):
            return None
        try:
            with os.scandir(root) as it:
                metas = [e.name for e in it if e.name.lower().endswith((".dist-info", ".egg-info"))]
        except NotADirectoryError:
            return None  # a zip file on sys.path: importlib.metadata looks inside it
        except OSError:
            continue  # a missing folder (or a path hook's name): importlib.metadata finds nothing there either
        for name in metas:
            try:
                with open(os.path.join(root, name, "entry_points.txt"), encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
            except OSError:
                continue
            for line in text.splitlines():
                line = line.strip()
                if line.startswith("[") and line.endswith("]"):
                    groups.add(line[1:-1].strip())
    return frozenset(groups)


def may_declare(group: str) -> bool:
    """False only when no installed distribution declares entry points of ``group`` (then skip importlib.metadata)."""
    groups = declared_groups()
    return groups is None or group in groups


def skip_pydantic_plugin_scan() -> None:
    """Set ``PYDANTIC_DISABLE_PLUGINS`` (pydantic's documented switch) when no distribution declares a pydantic plugin.

    With no plugin installed the result is the same (pydantic finds none), but pydantic no longer imports
    importlib.metadata and scans every distribution to find that out, in this process and in the worker
    processes that inherit the variable. Nothing changes where a plugin is installed or the variable is set.
    """
    if PYDANTIC_DISABLE not in os.environ and not may_declare(PYDANTIC_GROUP):
        os.environ[PYDANTIC_DISABLE] = "__all__"
