"""``clean`` stage CPU on real messy text, with and without its fast paths, side by side in one process.

"without" = ftfy over the whole text and the boilerplate regex on every line (the stage before its
fast paths); "with" = ftfy only on the lines it could change and the boilerplate search skipped when
no default pattern's literal occurs. Outputs are checked identical. Best of ``--repeat`` passes, CPU
time of this process.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import ftfy

from datacraft.stages.clean import BOILERPLATE_LINES, Clean, CleanParams

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FILES = [
    "quality/dclm_quality_labeled.jsonl",
    "langid/fortunes_multilingual.jsonl",
    "langid/udhr_55.jsonl",
    "prose/gutenberg_books_raw.jsonl",
    "neardup/gutenberg_editions_chapters.jsonl",
]


class CleanWithoutFastPaths(Clean):
    """The stage as it was: ftfy over the whole text (boilerplate: see ``main``)."""

    def fix_text(self, text: str) -> str:
        return ftfy.fix_text(text, self._ftfy)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    ap.add_argument("--repeat", type=int, default=2, help="timing rounds (best pass kept)")
    args = ap.parse_args()
    texts = [json.loads(line)["text"] for name in FILES for line in (args.data / name).open()]
    stages = {
        # an extra never-matching pattern: the same matches, but no hint check (every line searched)
        "without fast paths": CleanWithoutFastPaths(CleanParams(boilerplate_patterns=[*BOILERPLATE_LINES, "(?!)"])),
        "with fast paths": Clean(),
    }
    best = dict.fromkeys(stages, float("inf"))
    outs: dict[str, list[str]] = {}
    for r in range(max(1, args.repeat)):
        for name in list(stages)[:: 1 if r % 2 == 0 else -1]:
            t0 = time.process_time()
            outs[name] = [stages[name].clean(t) for t in texts]
            best[name] = min(best[name], time.process_time() - t0)
    chars = sum(map(len, texts))
    print(f"{len(texts)} documents, {chars / 1e6:.1f} M characters, best of {args.repeat} passes")
    for name, cpu in best.items():
        print(f"{name:20} {cpu:7.2f} CPU s {len(texts) / cpu:9.0f} docs/CPU-s {chars / cpu / 1e6:6.2f} M chars/CPU-s")
    print(f"speed-up {best['without fast paths'] / best['with fast paths']:.2f}×")
    same = sum(a == b for a, b in zip(outs["without fast paths"], outs["with fast paths"], strict=True))
    print(f"identical outputs: {same}/{len(texts)}")


if __name__ == "__main__":
    main()
