"""A tiny real run (normalize, length, annotate-mode length) shared by the report and CLI tests."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from datacraft.pipeline.config import build_config
from datacraft.pipeline.runner import run_pipeline

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma".split()  # noqa: SIM905


def _text(i: int, n_words: int) -> str:
    words = [WORDS[(i * 7 + k) % len(WORDS)] for k in range(n_words)]
    # Double spaces and a control character: normalize changes these documents.
    return "  ".join(words[:2]) + "\x07 " + " ".join(words[2:]) if i % 3 == 0 else " ".join(words)


def write_corpus(root: Path) -> Path:
    """Two shards: short docs (dropped), long ones, languages, dup columns, and one bad record."""
    src = root / "in"
    src.mkdir(parents=True)
    for shard in range(2):
        lines = []
        for j in range(24):
            i = shard * 100 + j
            n_words = 3 if j % 4 == 0 else 8 + (j * 5) % 40
            rec = {
                "id": f"doc-{i}",
                "text": _text(i, n_words),
                "lang": ("en", "fr", "de")[j % 3],
                "dup_cluster": f"c{j // 3}",
                "dup_count": 3 if j % 6 == 0 else 1,
            }
            lines.append(json.dumps(rec))
        if shard == 1:
            lines.insert(5, '{"id": "broken", "text": ')  # invalid JSON: quarantined
        with gzip.open(src / f"part-{shard}.jsonl.gz", "wt", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
    return src


def pipeline_raw(src: Path, out: Path, rejected: bool = True) -> dict:
    """The pipeline as a mapping (also written as YAML by tests that need a file)."""
    return {
        "name": "tiny",
        "input": {"paths": [str(src)]},
        "output": {"path": str(out), "rejected": rejected, "row_group_rows": 4},
        "stages": [
            {"normalize": {}},
            {"length": {"min_words": 5}},
            {"length": {"label": "size", "mode": "annotate", "max_words": 30}},
        ],
        "batch_size": 7,
        "max_quarantine_fraction": 1,  # the corpus holds one bad record on purpose
    }


def make_run(root: Path, rejected: bool = True) -> Path:
    """Run the tiny pipeline into ``root/out`` and return the output directory."""
    src = root / "in" if (root / "in").is_dir() else write_corpus(root)
    out = root / ("out" if rejected else "out-norej")
    run_pipeline(build_config(pipeline_raw(src, out, rejected), "test"))
    return out
