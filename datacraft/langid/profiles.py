"""langdetect's language profiles (shipped inside the langdetect package) as arrays.

Languages are always in sorted code order, so results never depend on directory listing order.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import langdetect
import numpy as np
import orjson

PROFILE_DIR = Path(langdetect.__file__).resolve().parent / "profiles"
UND = "und"


@functools.cache
def language_codes() -> tuple[str, ...]:
    """The 55 language codes of the profiles (``af`` … ``zh-tw``), sorted."""
    return tuple(sorted(p.name for p in PROFILE_DIR.iterdir() if p.is_file() and not p.name.startswith(".")))


@functools.cache
def profile_texts() -> tuple[str, ...]:
    """The raw JSON of every profile, in :func:`language_codes` order."""
    return tuple((PROFILE_DIR / code).read_text(encoding="utf-8") for code in language_codes())


@dataclass(frozen=True)
class Profiles:
    """All n-grams of all profiles: ``prob[g, l]`` = frequency of gram ``g`` in language ``l``
    divided by the number of n-grams of that length in ``l`` (langdetect's estimate)."""

    langs: tuple[str, ...]
    grams: tuple[str, ...]
    prob: np.ndarray  # (len(grams), len(langs)) float64


@functools.cache
def load_profiles() -> Profiles:
    """Parse the profiles once per process."""
    langs = language_codes()
    index: dict[str, int] = {}
    rows: list[list[int]] = []
    vals: list[np.ndarray] = []
    for li, text in enumerate(profile_texts()):
        data = orjson.loads(text)
        if data["name"] != langs[li]:
            raise RuntimeError(f"langdetect profile {langs[li]!r} names itself {data['name']!r}")
        freq = data["freq"]
        grams = [g for g in freq if 1 <= len(g) <= 3]
        setdefault = index.setdefault
        rows.append([setdefault(g, len(index)) for g in grams])
        n = len(grams)
        sizes = np.fromiter(map(len, grams), dtype=np.int64, count=n)
        counts = np.fromiter(map(freq.__getitem__, grams), dtype=np.float64, count=n)
        vals.append(counts / np.asarray(data["n_words"], dtype=np.float64)[sizes - 1])
    prob = np.zeros((len(index), len(langs)), dtype=np.float64)
    for li, (r, v) in enumerate(zip(rows, vals, strict=True)):
        prob[r, li] = v
    return Profiles(langs, tuple(index), prob)
