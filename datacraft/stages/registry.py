"""The registry of stage names. Configs name stages; user stages come from plugins.

Built-in stages are listed by name in ``datacraft.stages.BUILTIN`` and imported when first looked up
(all of them by :func:`all_stages`). User stages come from

- installed packages, through the ``datacraft.stages`` entry-point group: each entry point names a
  module (importing it registers its stages with :func:`register`) or a Stage subclass (registered
  under the entry point's name);
- a pipeline's ``plugins:`` list: importable module names, or ``.py`` files (relative to the pipeline).

Worker processes load the same plugins (the entry points here, the ``plugins:`` list when they
rebuild the pipeline config), so user stages run with any number of workers and on Ray.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from datacraft.entrypoints import may_declare
from datacraft.errors import ConfigError
from datacraft.stages import BUILTIN
from datacraft.stages.base import Stage

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

S = TypeVar("S", bound=type[Stage])
ENTRY_POINT_GROUP = "datacraft.stages"
_REGISTRY: dict[str, type[Stage]] = {}
#: stage name → where it came from ("built-in", "entry point NAME (DIST)", "plugin MODULE")
_ORIGIN: dict[str, str] = {}
_loaded_plugins: set[str] = set()
_entry_points_loaded = False
_current_origin = "built-in"


def register(name: str) -> Callable[[S], S]:
    """Class decorator: make a stage available under ``name`` in pipelines and the CLI."""

    def deco(cls: S) -> S:
        if name in BUILTIN and _current_origin != "built-in" and cls.__module__ != BUILTIN[name]:
            raise ConfigError(
                f"stage name {name!r} registered twice (built-in and {_current_origin}); rename one of them"
            )
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            old = _REGISTRY[name]
            if (old.__module__, old.__qualname__) == (cls.__module__, cls.__qualname__):
                _REGISTRY[name] = cls  # the same module imported again (e.g. a plugin file reloaded)
                return cls
            raise ConfigError(
                f"stage name {name!r} registered twice ({_ORIGIN.get(name, old.__module__)} and {_current_origin}); "
                "rename one of them"
            )
        cls.name = name
        _REGISTRY[name] = cls
        _ORIGIN.setdefault(name, "built-in" if cls.__module__ == BUILTIN.get(name) else _current_origin)
        return cls

    return deco


def _load_builtin() -> None:
    # Built-in stages register when their module is imported (see _import_builtin); here the entry points.
    load_entry_points()


def _import_builtin(name: str) -> None:
    """Import the module of the built-in stage ``name`` (registering it), if it is one and not loaded yet."""
    module = BUILTIN.get(name)
    if module is not None and name not in _REGISTRY:
        importlib.import_module(module)


def _describe(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return f"entry point {ep.name!r} = {ep.value}" + (f" of package {dist.name}" if dist is not None else "")


def load_entry_points() -> None:
    """Import every ``datacraft.stages`` entry point (once per process); a broken one is a ConfigError naming it."""
    global _entry_points_loaded, _current_origin
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    if not may_declare(ENTRY_POINT_GROUP):
        return  # no installed distribution declares the group: importlib.metadata would find none
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        _current_origin = _describe(ep)
        try:
            obj = ep.load()
        except Exception as e:
            _entry_points_loaded = False
            raise ConfigError(f"stage plugin {_describe(ep)} failed to import: {type(e).__name__}: {e}") from None
        finally:
            _current_origin = "built-in"
        if isinstance(obj, type) and issubclass(obj, Stage) and obj not in _REGISTRY.values():
            _current_origin = _describe(ep)
            try:
                register(ep.name)(obj)
            finally:
                _current_origin = "built-in"


def _import_file(path: Path) -> None:
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:8]
    mod_name = f"datacraft_plugin_{path.stem}_{digest}"
    if mod_name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[mod_name]
        raise


def resolve_plugin(entry: str, base_dir: Path | None) -> str:
    """A ``plugins:`` entry as workers will load it: module names as they are, ``.py`` files as absolute paths."""
    if entry.endswith(".py") or "/" in entry:
        path = Path(entry).expanduser()
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        return str(path.resolve())
    return entry


def load_plugins(entries: list[str]) -> None:
    """Import ``plugins:`` entries (module names or absolute ``.py`` paths); errors name the plugin."""
    global _current_origin
    _load_builtin()
    for entry in entries:
        if entry in _loaded_plugins:
            continue
        _current_origin = f"plugin {entry}"
        try:
            if entry.endswith(".py"):
                if not Path(entry).is_file():
                    raise ConfigError(f"plugins: {entry}: no such file")
                _import_file(Path(entry))
            else:
                importlib.import_module(entry)
        except ConfigError:
            raise
        except ModuleNotFoundError as e:
            raise ConfigError(
                f"plugins: cannot import {entry!r}: {e} (install its package, or give a .py file beside the pipeline)"
            ) from None
        except Exception as e:
            raise ConfigError(f"plugins: {entry!r} failed to import: {type(e).__name__}: {e}") from None
        finally:
            _current_origin = "built-in"
        _loaded_plugins.add(entry)


def get_stage_class(name: str) -> type[Stage]:
    """Look a stage up by name; unknown names are a ConfigError with suggestions."""
    _load_builtin()
    _import_builtin(name)
    try:
        return _REGISTRY[name]
    except KeyError:
        for builtin in BUILTIN:
            _import_builtin(builtin)
        close = difflib.get_close_matches(name, _REGISTRY, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ConfigError(
            f"unknown stage {name!r}{hint}; `datacraft stages` lists them (user stages: see docs/plugins.md)"
        ) from None


def stage_origin(name: str) -> str:
    """Where a registered stage came from: built-in, an entry point, or a plugin module."""
    _load_builtin()
    return _ORIGIN.get(name, "built-in")


def check_importable_in_workers(stage_names: list[str], workers: int) -> None:
    """A stage defined in the script being run cannot be imported by spawned workers: say so up front."""
    if workers <= 1:
        return
    for name in stage_names:
        cls = _REGISTRY.get(name)
        if cls is not None and cls.__module__ in ("__main__", "__mp_main__"):
            raise ConfigError(
                f"stage {name!r} is defined in the script being run (__main__), which worker processes cannot "
                "import; move it into a module and list that module under `plugins:` (or an entry point, see "
                "docs/plugins.md), or run with workers: 1"
            )


def all_stages() -> dict[str, type[Stage]]:
    """Every registered stage, by name, sorted (imports every built-in stage)."""
    _load_builtin()
    for name in BUILTIN:
        _import_builtin(name)
    return dict(sorted(_REGISTRY.items()))
