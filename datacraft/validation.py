"""Config validation helpers shared by every config: errors as ``key: message`` text, ``--set`` values."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from datacraft.pipeline.yamlsafe import safe_load_bounded
from datacraft.suggest import did_you_mean


def _model_at(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that holds the key at ``loc`` (for 'did you mean' on unknown keys)."""
    for part in loc:
        if model is None or isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        ann = getattr(field, "annotation", None) if field else None
        model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    return model


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def format_validation_error(err: ValidationError, prefix: str = "", model: type[BaseModel] | None = None) -> str:
    """Render pydantic errors as ``key: message`` lines (unknown keys of ``model`` get a suggestion)."""
    lines = []
    for e in err.errors():
        key = _loc((prefix, *tuple(e["loc"])) if prefix else tuple(e["loc"]))
        msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        if e["type"] == "extra_forbidden":
            holder = _model_at(model, tuple(e["loc"])[:-1])
            if holder is not None:
                msg += did_you_mean(str(e["loc"][-1]), holder.model_fields)
        if e["type"] not in ("missing", "extra_forbidden") and "input" in e:
            msg += f" (got {e['input']!r})"
        lines.append(f"{key}: {msg}")
    return "; ".join(lines)


def parse_value(text: str) -> Any:
    """Parse a command-line value as YAML (``50`` → int, ``true`` → bool, ``[a, b]`` → list)."""
    try:
        return safe_load_bounded(text, "--set value")
    except yaml.YAMLError:
        return text
