"""Language identification: the fast engine against the langdetect reference, side by side.

``fast`` is the ``langid`` stage with its default settings (its ``detect``: ``min_letters``, sampling
with rescoring, CJK script evidence); ``langdetect`` is the library itself (seeded, nothing added).
Both score the same documents in the same run, alternating batch by batch so that a noisy machine
slows both alike; speed is documents per CPU-second of this process. Accuracy is per language
against the labels (labels langdetect has no profile for, eo and ga in the fortunes, are left out
of accuracy but kept in agreement). Sets: UDHR (55 languages), its sentences, a seeded sample of the
multilingual fortunes, 300-word documents cut from UDHR, and this machine's manual pages
(``bench/langid_manpages.py``; skipped where there are none). Prints a Markdown report.

    python bench/langid_bench.py                      # the sets above
    python bench/langid_bench.py --fortunes 0         # every fortune (slow: the reference is ~200 docs/s)
    python bench/langid_bench.py --whole --old        # also: no sampling; the previous defaults
    python bench/langid_bench.py --apply              # end to end: `datacraft apply langid` vs langdetect
    python bench/langid_bench.py --apply --before ../main   # ... and an older tree's apply, alternated

``--apply`` writes the same documents as one JSONL file and times ``datacraft apply langid`` on it end to
end in a fresh process (start-up, reading, the stage, writing Parquet: CPU of the whole process tree, peak
RSS), alternated with the langdetect library on the same texts in this process (its setup not counted).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from langid_manpages import DEFAULT_CACHE as MANPAGES_CACHE
from langid_manpages import load_or_build as load_manpages

from datacraft.langid import Detection, language_codes, make_engine
from datacraft.stages.langid import LangId, LangIdParams

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "langid"
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"  # bundled: UDHR and English fortunes
_SENTENCE_END = re.compile(r"(?<=[.!?;:।॥。！？；])\s+|\n+")


def load(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def load_sets(data: Path) -> tuple[list[dict], list[dict]]:
    """UDHR and the multilingual fortunes from ``data``; without it, the bundled UDHR and English fortunes."""
    if (data / "udhr_55.jsonl").exists():
        return load(data / "udhr_55.jsonl"), load(data / "fortunes_multilingual.jsonl")
    print(f"({data} not found: using the bundled data/sample UDHR and English fortunes)")
    fortunes = load(SAMPLE / "fortunes-00.jsonl.gz") + load(SAMPLE / "fortunes-01.jsonl.gz")
    return load(SAMPLE / "udhr-55.jsonl.gz"), [{**r, "lang": r.get("lang", "en")} for r in fortunes]


def long_docs(udhr: list[dict], chars: int = 1800) -> list[dict]:
    """~300-word documents: each language's UDHR articles joined and cut into windows of ``chars``."""
    by_lang: dict[str, list[str]] = defaultdict(list)
    for row in udhr:
        by_lang[row["lang"]].append(row["text"])
    out = []
    for lang, texts in sorted(by_lang.items()):
        joined = "\n".join(texts)
        for k in range(0, len(joined) - chars + 1, chars):
            out.append({"id": f"long:{lang}:{k}", "lang": lang, "text": joined[k : k + chars]})
    return out


def sentences(udhr: list[dict], min_chars: int = 20) -> list[dict]:
    """Each UDHR text cut into sentences (and clauses after ; or :) of at least ``min_chars`` characters."""
    out = []
    for row in udhr:
        for k, sent in enumerate(_SENTENCE_END.split(row["text"])):
            if len(sent.strip()) >= min_chars:
                out.append({"id": f"{row['id']}:{k}", "lang": row["lang"], "text": sent.strip()})
    return out


def run_side_by_side(
    engines: dict, texts: list[str], batch: int
) -> tuple[dict[str, list[Detection]], dict[str, float]]:
    results: dict[str, list[Detection]] = {name: [] for name in engines}
    cpu = dict.fromkeys(engines, 0.0)
    for start in range(0, len(texts), batch):
        chunk = texts[start : start + batch]
        for name, engine in engines.items():
            t0 = time.process_time()
            results[name] += engine.detect(chunk)
            cpu[name] += time.process_time() - t0
    return results, cpu


def report(name: str, rows: list[dict], results: dict[str, list[Detection]], cpu: dict[str, float]) -> dict:
    known = set(language_codes())
    fast, ref = results["fast"], results["langdetect"]
    n = len(rows)
    agree = sum(a.lang == b.lang for a, b in zip(fast, ref, strict=True))
    labelled = [i for i, r in enumerate(rows) if r["lang"] in known]
    print(f"\n### {name}: {n:,} documents ({len(labelled):,} with a label langdetect knows)\n")
    print("| engine | docs per CPU-second | CPU seconds | speed-up | accuracy | und |")
    print("|---|---:|---:|---:|---:|---:|")
    summary: dict = {"docs": n, "agreement": agree / n}
    for eng, dets in results.items():
        acc = sum(dets[i].lang == rows[i]["lang"] for i in labelled) / max(len(labelled), 1)
        und = sum(d.lang == "und" for d in dets)
        up = cpu["langdetect"] / cpu[eng]
        print(f"| {eng} | {n / cpu[eng]:,.0f} | {cpu[eng]:.2f} | {up:.1f}x | {acc:.2%} | {und} |")
        summary[eng] = {"docs_per_cpu_s": n / cpu[eng], "accuracy": acc, "und": und}
    ratio = cpu["langdetect"] / cpu["fast"]
    summary["speedup"] = ratio
    unsure = [i for i in range(n) if fast[i].lang != ref[i].lang and ref[i].score < 0.9]
    unknown = [i for i in range(n) if fast[i].lang != ref[i].lang and rows[i]["lang"] not in known]
    print(
        f"\nSpeed-up {ratio:.1f}x. Top-language agreement {agree / n:.2%} ({n - agree} differ: "
        f"{len(unsure)} where the reference's own score is < 0.9, {len(unknown)} with a label outside the 55 "
        f"languages). Agreement on documents labelled with one of the 55 languages: "
        f"{_agreement(fast, ref, set(labelled)):.2%}; on documents the reference scores >= 0.9: "
        f"{_agreement(fast, ref, {i for i, d in enumerate(ref) if d.score >= 0.9}):.2%}."
    )
    summary["agreement_known_labels"] = _agreement(fast, ref, set(labelled))
    both = [(a.score, b.score) for a, b in zip(fast, ref, strict=True) if a.lang == b.lang and a.lang != "und"]
    if both:
        fs, rs = np.array(both).T
        print(f"Score where both agree: mean |fast - reference| = {np.abs(fs - rs).mean():.3f}.")
    for eng, dets in results.items():
        conf = Counter((rows[i]["lang"], dets[i].lang) for i in labelled if dets[i].lang != rows[i]["lang"])
        text = ", ".join(f"{a}→{b} {c}" for (a, b), c in conf.most_common(8)) or "none"
        print(f"\nMain confusions ({eng}, label→prediction): {text}.")
    summary["per_lang"] = per_language(rows, results, labelled)
    return summary


def _agreement(fast: list[Detection], ref: list[Detection], idx: set[int]) -> float:
    return sum(fast[i].lang == ref[i].lang for i in idx) / max(len(idx), 1)


def per_language(rows: list[dict], results: dict[str, list[Detection]], labelled: list[int]) -> dict:
    table: dict[str, dict[str, float]] = {}
    by_lang: dict[str, list[int]] = defaultdict(list)
    for i in labelled:
        by_lang[rows[i]["lang"]].append(i)
    for lang, idx in sorted(by_lang.items()):
        table[lang] = {"n": len(idx)} | {
            eng: sum(dets[i].lang == lang for i in idx) / len(idx) for eng, dets in results.items()
        }
    return table


def print_per_language(title: str, table: dict) -> None:
    print(f"\n#### Accuracy per language: {title}\n")
    print("| lang | docs | fast | langdetect |")
    print("|---|---:|---:|---:|")
    for lang, r in table.items():
        print(f"| {lang} | {r['n']} | {r['fast']:.0%} | {r['langdetect']:.0%} |")


def run_apply(path: Path, out: Path, tree: Path | None = None) -> dict[str, float]:
    """``datacraft apply langid`` on ``path`` in a fresh process (the datacraft of ``tree`` when given):
    CPU of its process tree, wall, peak RSS."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "datacraft", "apply", "langid", "-i", str(path), "-o", str(out), "-qq"]
    env = None if tree is None else dict(os.environ, PYTHONPATH=str(tree.resolve()))
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=env, cwd=path.parent)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"datacraft apply failed with status {status}")
    wall = time.perf_counter() - t0
    return {"cpu": usage.ru_utime + usage.ru_stime, "wall": wall, "rss_mb": usage.ru_maxrss / 1024}


def apply_side_by_side(
    sets: dict[str, list[dict]], repeat: int, seed: int, max_chars: int, every: int = 1, before: Path | None = None
) -> None:
    """End to end: ``datacraft apply langid`` (fresh process) vs langdetect's detect on the same texts
    (every ``every``-th of them: langdetect's rate is measured on that systematic sample). With ``before``
    (another datacraft source tree), its ``apply langid`` too, alternated with this one; outputs compared."""
    rows = [r for rs in sets.values() for r in rs]
    texts = [r["text"] for r in rows][::every]
    work = Path(tempfile.mkdtemp(prefix="langid-apply-"))
    src = work / "docs.jsonl"
    with src.open("w", encoding="utf-8") as fh:
        for i, r in enumerate(rows):
            fh.write(json.dumps({"id": f"d{i}", "text": r["text"], "label": r["lang"]}, ensure_ascii=False) + "\n")
    ref = make_engine("langdetect", max_chars=max_chars, seed=seed, script=False)
    ref.detect(["warm up"])
    best: dict[str, float] = {}
    old: dict[str, float] = {}
    ld_cpu = float("inf")
    loads = []
    for _ in range(repeat):
        m = run_apply(src, work / "out")
        best = m if not best else {k: min(best[k], m[k]) for k in m}
        if before is not None:
            m = run_apply(src, work / "out-before", before)
            old = m if not old else {k: min(old[k], m[k]) for k in m}
        t0 = time.process_time()
        ref.detect(texts)
        ld_cpu = min(ld_cpu, (time.process_time() - t0) * len(rows) / len(texts))  # for all the documents
        loads.append(os.getloadavg()[0])
    same = before is not None and _parquet_bytes(work / "out") == _parquet_bytes(work / "out-before")
    shutil.rmtree(work, ignore_errors=True)
    n = len(rows)
    print(f"\n## End to end: `datacraft apply langid` vs langdetect ({n:,} documents, best of {repeat})\n")
    print("| | CPU seconds | docs per CPU-second | peak RSS MB |")
    print("|---|---:|---:|---:|")
    print(
        f"| datacraft apply langid (whole process tree) | {best['cpu']:.2f} | {n / best['cpu']:,.0f} | "
        f"{best['rss_mb']:.0f} |"
    )
    if old:
        print(
            f"| before: datacraft apply langid of {before} | {old['cpu']:.2f} | {n / old['cpu']:,.0f} | "
            f"{old['rss_mb']:.0f} |"
        )
    sampled = f", timed on every {every}th document ({len(texts):,})" if every > 1 else ""
    print(f"| langdetect (detect only, in process{sampled}) | {ld_cpu:.2f} | {n / ld_cpu:,.0f} | |")
    print(
        f"\nSpeed-up end to end: **{ld_cpu / best['cpu']:.1f}x**; apply wall {best['wall']:.1f} s; "
        f"load average {min(loads):.1f}-{max(loads):.1f}."
    )
    if old:
        print(
            f"Before: **{ld_cpu / old['cpu']:.1f}x** ({old['cpu'] / best['cpu']:.2f}x the CPU of now); "
            f"data/ and rejected/ Parquet {'byte-identical' if same else 'DIFFERENT'}."
        )


def _parquet_bytes(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.parquet"))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with udhr_55.jsonl, fortunes_multilingual")
    ap.add_argument("--fortunes", type=int, default=5000, help="seeded sample of fortunes (0 = all 25,641)")
    ap.add_argument("--batch", type=int, default=1000, help="documents per engine call")
    ap.add_argument("--seed", type=int, default=0, help="seed of the fortune sample and of the langdetect engine")
    ap.add_argument("--max-chars", type=int, default=10_000, help="truncation of both engines")
    ap.add_argument("--whole", action="store_true", help="also time the fast engine with sample_chars=0")
    ap.add_argument(
        "--old", action="store_true", help="also the previous defaults (sample_chars 600, no rescoring, no script)"
    )
    ap.add_argument("--sentences", type=int, default=5000, help="seeded sample of UDHR sentences (0 = all)")
    ap.add_argument("--manpages", type=Path, default=MANPAGES_CACHE, help="cache of bench/langid_manpages.py")
    ap.add_argument("--per-language", action="store_true", help="print per-language accuracy tables")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    ap.add_argument("--apply", action="store_true", help="only the end-to-end `datacraft apply langid` comparison")
    ap.add_argument("--repeat", type=int, default=2, help="--apply: runs of each side (best kept)")
    ap.add_argument("--ld-every", type=int, default=1, help="--apply: time langdetect on every k-th document only")
    ap.add_argument("--before", type=Path, help="--apply: also time the datacraft of this source tree (e.g. main)")
    args = ap.parse_args()

    udhr, fortunes = load_sets(args.data)
    if args.fortunes:
        fortunes = random.Random(args.seed).sample(fortunes, min(args.fortunes, len(fortunes)))
    sents = sentences(udhr)
    if args.sentences:
        sents = random.Random(args.seed).sample(sents, min(args.sentences, len(sents)))
    sets = {
        "UDHR, 55 languages": udhr,
        "UDHR sentences": sents,
        "fortunes (multilingual)": fortunes,
        "300-word documents (UDHR)": long_docs(udhr),
    }
    manpages = load_manpages(args.manpages)
    if manpages:
        sets["manual pages (this machine)"] = manpages
    if args.apply:
        apply_side_by_side(sets, args.repeat, args.seed, args.max_chars, args.ld_every, args.before)
        return

    t0 = time.process_time()
    engines: dict = {
        "fast": LangId(LangIdParams(max_chars=args.max_chars)),
        "langdetect": make_engine("langdetect", max_chars=args.max_chars, seed=args.seed, script=False),
    }
    if args.whole:
        engines["fast, whole text"] = LangId(LangIdParams(max_chars=args.max_chars, sample_chars=0))
    if args.old:
        old = {"sample_chars": 600, "rescore_below": 0.0, "script": False}
        engines["fast, 600 chars, no rescoring or script"] = LangId(LangIdParams(max_chars=args.max_chars, **old))
    setup = time.process_time() - t0
    for engine in engines.values():
        engine.detect(["warm up"])
    print(f"## Language identification (engines set up in {setup:.1f} CPU-s, not counted below)")
    summaries = {}
    for name, rows in sets.items():
        results, cpu = run_side_by_side(engines, [r["text"] for r in rows], args.batch)
        summaries[name] = report(name, rows, results, cpu)
    total_cpu = {
        e: sum(len(r) / s[e]["docs_per_cpu_s"] for r, s in zip(sets.values(), summaries.values(), strict=True))
        for e in engines
    }
    n_all = sum(len(r) for r in sets.values())
    agree_all = sum(s["agreement"] * s["docs"] for s in summaries.values()) / n_all
    print(
        f"\n### All {n_all:,} documents\n\nfast {n_all / total_cpu['fast']:,.0f} docs/CPU-s, langdetect "
        f"{n_all / total_cpu['langdetect']:,.0f} docs/CPU-s: {total_cpu['langdetect'] / total_cpu['fast']:.1f}x; "
        f"agreement {agree_all:.2%}."
    )
    if args.per_language:
        for name, s in summaries.items():
            print_per_language(name, s["per_lang"])
    if args.json:
        args.json.write_text(json.dumps(summaries, indent=1))


if __name__ == "__main__":
    main()
