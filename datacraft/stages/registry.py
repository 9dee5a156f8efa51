"""The registry of stage names. Configs name stages; nothing in a config imports code."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import TypeVar

from datacraft.errors import ConfigError
from datacraft.stages.base import Stage

S = TypeVar("S", bound=type[Stage])
_REGISTRY: dict[str, type[Stage]] = {}


def register(name: str) -> Callable[[S], S]:
    """Class decorator: make a stage available under ``name`` in pipelines and the CLI."""

    def deco(cls: S) -> S:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise RuntimeError(f"stage name {name!r} registered twice")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def _load_builtin() -> None:
    import datacraft.stages  # noqa: F401  (imports every built-in stage module)


def get_stage_class(name: str) -> type[Stage]:
    """Look a stage up by name; unknown names are a ConfigError with suggestions."""
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, _REGISTRY, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ConfigError(f"unknown stage {name!r}{hint}; `datacraft stages` lists them") from None


def all_stages() -> dict[str, type[Stage]]:
    """Every registered stage, by name, sorted."""
    _load_builtin()
    return dict(sorted(_REGISTRY.items()))
