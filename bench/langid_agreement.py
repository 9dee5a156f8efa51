"""How much the langdetect reference agrees with itself, and the fast engine with a stabler reference.

langdetect samples n-grams at random: on ambiguous texts its answer depends on the seed. This
script scores the same documents with the reference under several seeds (``n_trial`` = 7, its
default) and reports their agreement with each other (the ceiling any other engine can reach
against one seed) next to the fast engine's agreement with each. Then it builds a stabler
reference, langdetect with ``--many-trials`` trials: on the documents where anything is unsure
(a seeded run or the fast engine scores the top language < 0.99, or they disagree) it is run;
elsewhere every run gave the same answer with ≥ 0.99 and that answer is taken (``--stable-all``
runs it everywhere). Prints a Markdown report.

    python bench/langid_agreement.py                      # 5,000 sampled fortunes, as langid_bench.py
    python bench/langid_agreement.py --seeds 3 --many-trials 70 --workers 2
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from langid_bench import DEFAULT_DATA, load

from datacraft.langid import language_codes, make_engine


def reference_run(job: tuple[int, int, list[str]]) -> tuple[list[tuple[str, float]], float]:
    """(top language, score) per text with langdetect (seed, n_trial), and the CPU seconds it took."""
    seed, n_trial, texts = job
    engine = make_engine("langdetect", seed=seed, n_trial=n_trial)
    t0 = time.process_time()
    out = [(d.lang, d.score) for d in engine.detect(texts)]
    return out, time.process_time() - t0


def agreement(a: list[str], b: list[str], idx: list[int]) -> float:
    return sum(a[i] == b[i] for i in idx) / max(len(idx), 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with fortunes_multilingual.jsonl")
    ap.add_argument("--fortunes", type=int, default=5000, help="seeded sample of fortunes (0 = all 25,641)")
    ap.add_argument("--sample-seed", type=int, default=0, help="seed of the fortune sample (langid_bench's --seed)")
    ap.add_argument("--seeds", type=int, default=2, help="reference runs with seeds 0..N-1 (n_trial 7)")
    ap.add_argument("--many-trials", type=int, default=49, help="n_trial of the stable reference (seed 0)")
    ap.add_argument("--stable-all", action="store_true", help="run the stable reference on every document")
    ap.add_argument("--workers", type=int, default=2, help="processes for the reference runs")
    args = ap.parse_args()

    rows = load(args.data / "fortunes_multilingual.jsonl")
    if args.fortunes:
        rows = random.Random(args.sample_seed).sample(rows, min(args.fortunes, len(rows)))
    texts = [r["text"] for r in rows]
    n = len(texts)
    every = list(range(n))
    known = set(language_codes())
    labelled = [i for i, r in enumerate(rows) if r["lang"] in known]

    fast = make_engine("fast").detect(texts)
    runs: dict[str, list[str]] = {"fast": [d.lang for d in fast]}
    sure = [d.score >= 0.99 for d in fast]
    seeds = [f"langdetect seed {s}" for s in range(args.seeds)]
    cpu = 0.0
    with ProcessPoolExecutor(args.workers) as pool:
        chunks = [every[k :: args.workers] for k in range(args.workers)]
        for s, name in enumerate(seeds):
            parts = list(pool.map(reference_run, [(s, 7, [texts[i] for i in c]) for c in chunks]))
            answer: list[tuple[str, float]] = [("", 0.0)] * n
            for c, (out, sec) in zip(chunks, parts, strict=True):
                cpu += sec
                for i, res in zip(c, out, strict=True):
                    answer[i] = res
            runs[name] = [lang for lang, _ in answer]
            sure = [ok and score >= 0.99 for ok, (_, score) in zip(sure, answer, strict=True)]
        unsure = [i for i in every if args.stable_all or not sure[i] or len({r[i] for r in runs.values()}) > 1]
        chunks = [unsure[k :: args.workers] for k in range(args.workers)]
        stable = list(runs["fast"])
        for c, (out, sec) in zip(
            chunks, pool.map(reference_run, [(0, args.many_trials, [texts[i] for i in c]) for c in chunks]), strict=True
        ):
            cpu += sec
            for i, (lang, _) in zip(c, out, strict=True):
                stable[i] = lang
    stable_name = f"langdetect n_trial={args.many_trials}"
    runs[stable_name] = stable

    print(f"## langdetect self-agreement: {n:,} fortunes ({len(labelled):,} with a known label)\n")
    print(
        f"Reference CPU: {cpu:.0f} s. Stable reference ({stable_name}) run on {len(unsure):,} documents "
        f"(where some run scores < 0.99 or the runs disagree); elsewhere all runs agree with >= 0.99.\n"
    )
    print("| A | B | agreement | on known labels | differ |")
    print("|---|---|---:|---:|---:|")
    pairs = list(combinations(seeds, 2)) + [(s, stable_name) for s in seeds]
    pairs += [("fast", name) for name in runs if name != "fast"]
    for a, b in pairs:
        differ = sum(x != y for x, y in zip(runs[a], runs[b], strict=True))
        print(
            f"| {a} | {b} | {agreement(runs[a], runs[b], every):.2%} | {agreement(runs[a], runs[b], labelled):.2%} "
            f"| {differ} |"
        )
    print()
    for name, got in runs.items():
        print(f"Accuracy on known labels, {name}: {agreement(got, [r['lang'] for r in rows], labelled):.2%}.")


if __name__ == "__main__":
    main()
