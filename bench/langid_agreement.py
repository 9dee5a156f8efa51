"""How much the langdetect reference agrees with itself, and the fast engine with a stabler reference.

langdetect samples n-grams at random: on ambiguous texts its answer depends on the seed. This
script scores the same documents with the reference under several seeds (``n_trial`` = 7, its
default), takes their majority vote, and once more with many trials (``--many-trials``); then it
reports the reference's self-agreement next to the fast engine's agreement with each of these.
Prints a Markdown report.

    python bench/langid_agreement.py                      # 5,000 sampled fortunes (as langid_bench.py)
    python bench/langid_agreement.py --seeds 5 --many-trials 70
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from langid_bench import DEFAULT_DATA, load

from datacraft.langid import language_codes, make_engine


def agreement(a: list[str], b: list[str], idx: list[int] | None = None) -> float:
    idx = list(range(len(a))) if idx is None else idx
    return sum(a[i] == b[i] for i in idx) / max(len(idx), 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with fortunes_multilingual.jsonl")
    ap.add_argument("--fortunes", type=int, default=5000, help="seeded sample of fortunes (0 = all 25,641)")
    ap.add_argument("--sample-seed", type=int, default=0, help="seed of the fortune sample (langid_bench's --seed)")
    ap.add_argument("--seeds", type=int, default=3, help="reference runs with seeds 0..N-1 (n_trial 7)")
    ap.add_argument("--many-trials", type=int, default=49, help="n_trial of the stable reference run (seed 0)")
    args = ap.parse_args()

    rows = load(args.data / "fortunes_multilingual.jsonl")
    if args.fortunes:
        rows = random.Random(args.sample_seed).sample(rows, min(args.fortunes, len(rows)))
    texts = [r["text"] for r in rows]
    known = set(language_codes())
    labelled = [i for i, r in enumerate(rows) if r["lang"] in known]

    runs: dict[str, list[str]] = {}
    cpu: dict[str, float] = {}

    def run(name: str, engine) -> None:
        t0 = time.process_time()
        runs[name] = [d.lang for d in engine.detect(texts)]
        cpu[name] = time.process_time() - t0

    run("fast", make_engine("fast"))
    seeds = [f"langdetect seed {s}" for s in range(args.seeds)]
    for s, name in enumerate(seeds):
        run(name, make_engine("langdetect", seed=s))
    stable = f"langdetect n_trial={args.many_trials}"
    run(stable, make_engine("langdetect", seed=0, n_trial=args.many_trials))
    # Majority of the seeded runs; ties go to seed 0's answer.
    majority = []
    for i in range(len(texts)):
        votes = Counter(runs[name][i] for name in seeds).most_common()
        top = [lang for lang, c in votes if c == votes[0][1]]
        majority.append(runs[seeds[0]][i] if runs[seeds[0]][i] in top else top[0])
    runs[f"majority of {args.seeds} seeds"] = majority

    print(f"## langdetect self-agreement: {len(texts):,} fortunes ({len(labelled):,} with a known label)\n")
    print("CPU seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()) + ".\n")
    print("| A | B | agreement | on known labels | differ |")
    print("|---|---|---:|---:|---:|")
    pairs = list(combinations(seeds, 2)) + [(s, stable) for s in seeds]
    pairs += [("fast", name) for name in runs if name != "fast"]
    for a, b in pairs:
        ag = agreement(runs[a], runs[b])
        differ = sum(x != y for x, y in zip(runs[a], runs[b], strict=True))
        print(f"| {a} | {b} | {ag:.2%} | {agreement(runs[a], runs[b], labelled):.2%} | {differ} |")
    for name in runs:
        acc = agreement(runs[name], [r["lang"] for r in rows], labelled)
        print(f"\nAccuracy on known labels, {name}: {acc:.2%}.", end="")
    print()


if __name__ == "__main__":
    main()
