"""The named dedup presets, in a module that imports nothing (``datacraft dedup --help`` lists them)."""

from __future__ import annotations

from typing import Any

#: Named starting points; explicit parameters override them.
PRESETS: dict[str, dict[str, Any]] = {
    # The common recipe (e.g. datatrove, FineWeb): word 5-grams, ~0.75 Jaccard, 14 bands × 8 rows.
    "default": {"shingle": "word", "ngram": 5, "threshold": 0.75, "num_perm": 112, "bands": 14, "rows": 8},
    # Shorter shingles and a low LSH threshold catch heavier edits; verification keeps precision.
    "high-recall": {
        "shingle": "word",
        "ngram": 3,
        "threshold": 0.5,
        "num_perm": 128,
        "bands": 32,
        "rows": 4,
        "verify": "exact",
        "verify_threshold": 0.5,
    },
}
