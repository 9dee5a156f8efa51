"""``when:`` conditions: a stage runs only on the documents whose metadata match.

A condition is a mapping; every entry must hold (AND)::

    when: {lang: en}                                  # equal
    when: {lang: [en, de, fr]}                        # one of
    when: {source: {startswith: [gutenberg, kjv]}}    # prefix (one of)
    when: {cluster: {exists: true}}                   # the column is present and not null
    when: {not: {source: kjv}}                        # negation
    when: {any: [{lang: ja}, {source: manpages}]}     # OR

Fields are metadata columns (``lang``, ``lang_score``, any input column kept with
``keep_fields``), plus ``id`` and ``source``: the ``source`` column when the input has one,
otherwise the part of the document id before its first ``:`` (datacraft's derived ids are
``<file name>:<line>``; the bundled sample's ids are ``gutenberg:…``, ``kjv:…``, ``udhr:…``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from datacraft.document import Document

Predicate = Callable[[Document], bool]
_OPS = ("startswith", "exists", "in", "not_in", "min", "max")


def field_value(doc: Document, name: str) -> Any:
    """The value a condition tests: ``id``, ``source`` (column or id prefix) or a metadata column."""
    if name == "id":
        return doc.id
    if name == "source":
        value = doc.meta.get("source")
        return value if value is not None else doc.id.split(":", 1)[0]
    return doc.meta.get(name)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _test(name: str, spec: Any, where: str) -> Predicate:
    if isinstance(spec, dict):
        unknown = set(spec) - set(_OPS)
        if unknown or not spec:
            raise ValueError(f"{where}.{name}: unknown test {sorted(unknown)!r} (tests: {', '.join(_OPS)})")
        tests: list[Predicate] = []
        for op, arg in spec.items():
            if op == "startswith":
                prefixes = tuple(str(a) for a in _as_list(arg))
                tests.append(lambda d, p=prefixes: str(field_value(d, name) or "").startswith(p))
            elif op == "exists":
                tests.append(lambda d, want=bool(arg): (field_value(d, name) is not None) == want)
            elif op in ("in", "not_in"):
                values = _as_list(arg)
                tests.append(lambda d, v=values, neg=op == "not_in": (field_value(d, name) in v) != neg)
            else:
                if not isinstance(arg, (int, float)):
                    raise ValueError(f"{where}.{name}.{op}: expected a number, got {arg!r}")
                sign = 1 if op == "min" else -1
                tests.append(lambda d, a=arg, s=sign: _number(field_value(d, name), a, s))
        return lambda d: all(t(d) for t in tests)
    values = _as_list(spec)
    return lambda d: field_value(d, name) in values


def _number(value: Any, limit: float, sign: int) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and sign * (value - limit) >= 0


def compile_condition(cond: Any, where: str = "when") -> Predicate:
    """Turn a ``when:`` mapping into a predicate; a malformed one raises ValueError naming the key."""
    if not isinstance(cond, dict) or not cond:
        raise ValueError(f"{where}: expected a mapping of field → value, e.g. {{lang: en}}, got {cond!r}")
    parts: list[Predicate] = []
    for key, spec in cond.items():
        if key == "not":
            inner = compile_condition(spec, f"{where}.not")
            parts.append(lambda d, f=inner: not f(d))
        elif key == "any":
            if not isinstance(spec, list) or not spec:
                raise ValueError(f"{where}.any: expected a list of conditions")
            alts = [compile_condition(c, f"{where}.any[{i}]") for i, c in enumerate(spec)]
            parts.append(lambda d, a=alts: any(f(d) for f in a))
        else:
            parts.append(_test(str(key), spec, where))
    return lambda d: all(f(d) for f in parts)
