"""Mixing proportions achieved vs asked, on the bundled sample data.

python bench/mix_bench.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from datacraft.cli.mix import format_report  # noqa: E402
from datacraft.mix.config import build_mix_config  # noqa: E402
from datacraft.mix.sampler import run_mix  # noqa: E402

SAMPLE = REPO / "data" / "sample"

CASES = {
    "by source, downsample (bible 0.3 / fortunes 0.3 / books 0.4, words)": {
        "sources": [
            {"name": "bible", "paths": [str(SAMPLE / "kjv-chapters.jsonl.zst")], "weight": 0.3},
            {
                "name": "fortunes",
                "paths": [str(SAMPLE / "fortunes-00.jsonl.gz"), str(SAMPLE / "fortunes-01.jsonl.gz")],
                "weight": 0.3,
            },
            {"name": "books", "paths": [str(SAMPLE / "gutenberg-editions.jsonl.gz")], "weight": 0.4},
        ],
    },
    "by lang, up- and down-sampling to 50,000 words (en 0.5 / de 0.2 / fr 0.2 / ru 0.1)": {
        "sources": [{"name": "udhr", "paths": [str(SAMPLE / "udhr-55.jsonl.gz")]}],
        "group_by": "lang",
        "weights": {"en": 0.5, "de": 0.2, "fr": 0.2, "ru": 0.1},
        "target": 50_000,
    },
}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for i, (title, raw) in enumerate(CASES.items()):
            t0 = time.perf_counter()
            report = run_mix(build_mix_config({**raw, "output": f"{tmp}/m{i}"}))
            print(f"### {title}\n\n```\n{format_report(report)}\n```\n({time.perf_counter() - t0:.1f}s)\n")


if __name__ == "__main__":
    main()
