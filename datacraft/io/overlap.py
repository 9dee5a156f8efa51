"""Refuse runs whose output lies inside one of their inputs, or an input inside the output.

An output inside an input is read again by the next run (and by itself, for globs); an input
inside an output is deleted or overwritten by ``--force``. Both are usage errors (exit 2).
"""

from __future__ import annotations

import glob
from collections.abc import Iterable
from pathlib import Path

from datacraft.errors import ConfigError
from datacraft.io import fs
from datacraft.io.files import real


def _static_root(spec: str) -> tuple[str, ...]:
    """The parts of the folder a glob starts from (its part before the first wildcard), or of the path
    itself: a local path's resolved parts, or a URL's scheme and key parts (``s3:``, bucket, …)."""
    if fs.is_url(spec):
        scheme, _, rest = spec.partition("://")
        parts = [p for p in rest.split("/") if p]
        static = []
        for part in parts:
            if glob.has_magic(part):
                break
            static.append(part)
        return (scheme + ":", *static)
    if not glob.has_magic(spec):
        return real(spec).parts
    static_parts: list[str] = []
    for part in Path(spec).parts:
        if glob.has_magic(part):
            break
        static_parts.append(part)
    return real(Path(*static_parts) if static_parts else ".").parts


def _within(inner: tuple[str, ...], outer: tuple[str, ...]) -> bool:
    return inner[: len(outer)] == outer


def check_disjoint(inputs: Iterable[str], output: str, what: str = "output") -> None:
    """Raise ConfigError when ``output`` and any input overlap (same, inside, or containing)."""
    if output == "-":
        return
    out = _static_root(output)
    for spec in inputs:
        if spec == "-":
            continue
        root = _static_root(spec)
        if _within(out, root):
            raise ConfigError(
                f"the {what} {output} is inside the input {spec}: it would be read as input by the next run; "
                f"choose an {what} outside the input"
            )
        if _within(root, out):
            raise ConfigError(
                f"the input {spec} is inside the {what} {output}: the run would overwrite its own input; "
                f"choose an {what} outside the input"
            )
