"""The dataset schema: one Arrow schema for every file of an output, decided before the first write.

Columns, in order: ``id``, ``text``, the kept input fields (declared in ``input.fields`` or
discovered when the run is planned), the columns each configured stage declares
(:meth:`Stage.output_fields`), then ``extra_fields`` when input fields are kept.

How a value meets its column's type (the same rule in every file):

- ``string`` columns take every value: strings as they are, other values as their JSON text
  (``3``, ``1.5``, ``true``, ``["a"]``, ``{"k": 1}``), nulls as null. A string is never JSON-quoted.
- ``int64`` takes ints, ``float64`` ints and floats, ``bool`` booleans; nested types their own shape.
- A value that does not fit its column, and every field that has no column, goes into
  ``extra_fields``: one JSON object per row (keys sorted), null when there is nothing. Nothing is
  dropped silently. Without ``extra_fields`` (``keep_fields: false``), such a value is an error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
import pyarrow as pa

from datacraft import __version__
from datacraft.io.arrays import to_arrow

EXTRA = "extra_fields"
LEADING = ("id", "text")
META_VERSION = b"datacraft.version"
META_FINGERPRINT = b"datacraft.fingerprint"
META_RULE = b"datacraft.schema_rule"
RULE_TEXT = (
    "undeclared fields and values that do not fit their column are in extra_fields as a JSON object; "
    "string columns hold non-string values as their JSON text"
)

_ALIASES = {"float64": pa.float64(), "double": pa.float64(), "str": pa.string(), "boolean": pa.bool_()}


class SchemaError(ValueError):
    """A type name that cannot be parsed, or columns that contradict each other."""


def _split_top(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in "<[(":
            depth += 1
        elif c in ">])":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def parse_type(name: str) -> pa.DataType:
    """An Arrow type from its name: ``string``, ``int64``, ``float64``, ``bool``, ``list<T>``,
    ``struct<a: T, b: U>`` or any alias pyarrow knows (``str(type)`` of common types parses back)."""
    text = name.strip()
    low = text.lower()
    if low in _ALIASES:
        return _ALIASES[low]
    for prefix, build in (("list<", pa.list_), ("large_list<", pa.large_list)):
        if low.startswith(prefix) and low.endswith(">"):
            inner = text[len(prefix) : -1].strip()
            head, sep, rest = inner.partition(":")
            if sep and head.strip().isidentifier() and "<" not in head:
                inner = rest
            return build(parse_type(inner))
    if low.startswith("struct<") and low.endswith(">"):
        fields = []
        for part in _split_top(text[len("struct<") : -1]):
            fname, sep, ftype = part.partition(":")
            if not sep:
                raise SchemaError(f"struct field {part!r} needs a type: 'name: type'")
            fields.append(pa.field(fname.strip(), parse_type(ftype)))
        return pa.struct(fields)
    try:
        return pa.type_for_alias(text)
    except (ValueError, KeyError):
        raise SchemaError(
            f"unknown column type {name!r} (use string, int64, float64, bool, list<T> or struct<a: T>)"
        ) from None


def type_name(t: pa.DataType) -> str:
    """The name :func:`parse_type` reads back; types it cannot represent become ``string``."""
    name = {pa.float64(): "float64", pa.bool_(): "bool"}.get(t, str(t))
    try:
        return name if parse_type(name) == t else "string"
    except SchemaError:
        return "string"


def build_schema(
    columns: Iterable[pa.Field],
    *,
    extra: bool,
    fingerprint: str = "",
    leading: Iterable[pa.Field] = (pa.field("id", pa.string()), pa.field("text", pa.string())),
) -> pa.Schema:
    """``leading`` columns, then ``columns`` (first declaration wins its place; a later one must agree
    on the type), then ``extra_fields``; with the version and fingerprint as key-value metadata."""
    fields: dict[str, pa.Field] = {f.name: f for f in leading}
    for f in columns:
        if f.name in LEADING or f.name == EXTRA:
            continue
        if f.name in fields and fields[f.name].type != f.type:
            raise SchemaError(f"column {f.name!r} declared as both {fields[f.name].type} and {f.type}")
        fields.setdefault(f.name, f)
    if extra:
        fields[EXTRA] = pa.field(EXTRA, pa.string())
    metadata = {
        META_VERSION: __version__.encode(),
        META_FINGERPRINT: fingerprint.encode(),
        META_RULE: RULE_TEXT.encode(),
    }
    return pa.schema(list(fields.values()), metadata=metadata)


def merge_fields(*groups: Iterable[pa.Field]) -> list[pa.Field]:
    """Concatenate field groups; a later group's field replaces an earlier one of the same name
    (e.g. a stage's ``lang`` replaces an input field ``lang``: the stage writes it after reading)."""
    out: dict[str, pa.Field] = {}
    for group in groups:
        for f in group:
            out.pop(f.name, None)
            out[f.name] = f
    return list(out.values())


def with_previous_extra(previous: Any, extra: dict[str, Any] | None) -> dict[str, Any] | None:
    """``extra`` merged over the fields a row's ``extra_fields`` JSON object already holds (``extra`` wins)."""
    if isinstance(previous, str) and previous:
        try:
            loaded = orjson.loads(previous)
        except orjson.JSONDecodeError:
            loaded = None
        if isinstance(loaded, dict):
            return {**loaded, **(extra or {})}
    return extra


def _json(value: Any) -> str:
    return orjson.dumps(value, default=str, option=orjson.OPT_SORT_KEYS).decode()


def as_string(value: Any) -> str | None:
    """A value as a ``string`` column holds it: strings as they are, others as JSON text."""
    return value if value is None or type(value) is str else _json(value)


_MISS = object()
#: Type of a partition column inside the files: what pyarrow's hive discovery infers from folder names.
PARTITION_TYPE = pa.dictionary(pa.int32(), pa.string())


def is_text(t: pa.DataType) -> bool:
    """String columns, and dictionary-encoded strings (partition columns)."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _fit(value: Any, t: pa.DataType) -> Any:
    """``value`` converted to type ``t`` by the rule of the module docstring, or ``_MISS``."""
    if value is None:
        return None
    if is_text(t):
        return value if type(value) is str else _json(value)
    if pa.types.is_integer(t):
        if type(value) is int:
            if t == pa.int64():
                return value if -(1 << 63) <= value < (1 << 63) else _MISS
            try:
                pa.scalar(value, t)
            except (OverflowError, pa.ArrowInvalid):
                return _MISS
            return value
        return _MISS
    if pa.types.is_floating(t):
        if type(value) is float or type(value) is int:
            return float(value)
        return _MISS
    if pa.types.is_boolean(t):
        return value if type(value) is bool else _MISS
    try:
        pa.scalar(value, t)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError, OverflowError):
        return _MISS
    return value


class UndeclaredColumnError(ValueError):
    """A row holds a field the schema has no place for (and there is no ``extra_fields``)."""


def conform_columns(rows: list[Mapping[str, Any]], schema: pa.Schema) -> dict[str, list[Any]]:
    """Column name → values, every row conformed to ``schema`` (see the module docstring)."""
    names = schema.names
    known = set(names)
    has_extra = EXTRA in known
    n = len(rows)
    cols: dict[str, list[Any]] = {}
    extras: list[dict[str, Any] | None] = [None] * n  # per row: values with no place in their column
    none = type(None)
    for f in schema:
        name, t = f.name, f.type
        if name == EXTRA:
            continue
        values = [row.get(name) for row in rows]
        # the type a value may have to be stored as it is (others go through _fit)
        exact = str if is_text(t) else float if t == pa.float64() else bool if t == pa.bool_() else None
        if exact is not None and set(map(type, values)) <= {exact, none}:
            cols[name] = values
            continue
        for i, value in enumerate(values):
            if value is None or type(value) is exact:
                continue
            fitted = _fit(value, t)
            if fitted is _MISS:
                extra = extras[i]
                if extra is None:
                    extra = extras[i] = {}
                extra[name] = value
                fitted = None
            values[i] = fitted
        cols[name] = values
    for i, row in enumerate(rows):
        if not known.issuperset(row):
            extra = extras[i]
            if extra is None:
                extra = extras[i] = {}
            for key in row:
                if key not in known:
                    extra[key] = row[key]
    if has_extra:
        out: list[Any] = []
        for row, extra in zip(rows, extras, strict=True):
            extra = with_previous_extra(row.get(EXTRA), extra)
            out.append(_json(extra) if extra else None)
        cols[EXTRA] = out
    else:
        for row, extra in zip(rows, extras, strict=True):
            if extra:
                what = ", ".join(f"{k}={v!r}"[:80] for k, v in sorted(extra.items()))
                raise UndeclaredColumnError(
                    f"document {row.get('id')!r} has fields with no column of their declared type in the output "
                    f"schema: {what} (a stage must declare every column it writes in output_fields())"
                )
    return {name: cols[name] for name in names}


def rows_to_table(rows: list[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """A table of exactly ``schema`` from rows (dicts), conformed by the module's rule."""
    cols = conform_columns(rows, schema)
    arrays = [to_arrow(cols[f.name], f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def rows_conformed(rows: list[Mapping[str, Any]], schema: pa.Schema) -> list[dict[str, Any]]:
    """Rows as dicts with exactly the schema's columns, in order (for JSON Lines output)."""
    cols = conform_columns(rows, schema)
    names = schema.names
    out = []
    for i in range(len(rows)):
        row = {n: cols[n][i] for n in names}
        for n, v in row.items():
            if isinstance(v, float) and not math.isfinite(v):
                row[n] = None if math.isnan(v) else v
        out.append(row)
    return out


def infer_type(values: Iterable[Any]) -> pa.DataType:
    """The column type for sampled JSON values: bool, int64, float64 when they all agree, else string."""
    kinds = {type(v) for v in values if v is not None}
    if kinds == {bool}:
        return pa.bool_()
    if kinds == {int}:
        return pa.int64()
    if kinds and kinds <= {int, float}:
        return pa.float64()
    return pa.string()


def unify_types(types: Iterable[pa.DataType]) -> pa.DataType:
    """One type for a field seen with ``types`` in different files: the same type, int+float → float64,
    anything else → string (by the encoding rule)."""
    seen = [t for t in types if not pa.types.is_null(t)]
    if not seen:
        return pa.string()
    if all(t == seen[0] for t in seen):
        return seen[0] if type_name(seen[0]) != "string" or pa.types.is_string(seen[0]) else pa.string()
    if all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in seen):
        return pa.float64() if any(pa.types.is_floating(t) for t in seen) else pa.int64()
    return pa.string()


def with_metadata(schema: pa.Schema, **values: str) -> pa.Schema:
    """``schema`` with datacraft key-value metadata entries set (``fingerprint=…``)."""
    meta = dict(schema.metadata or {})
    for key, value in values.items():
        meta[f"datacraft.{key}".encode()] = value.encode()
    return schema.with_metadata(meta)
