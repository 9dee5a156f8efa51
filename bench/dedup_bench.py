"""Dedup quality, speed and memory, each measured in one run.

    python bench/dedup_bench.py editions              # (a) real edition clusters: pair P/R/F1
    python bench/dedup_bench.py synthetic --docs 20000 # (b) removal P/R/F1 overall and per edit rate
    python bench/dedup_bench.py signatures --docs 5000 # signature step: datasketch bulk API vs vectorized batch
    python bench/dedup_bench.py speed --docs 20000     # (c) docs per CPU-second vs datatrove 4-stage MinHash
    python bench/dedup_bench.py memory --docs 100000   # (d) peak RSS of every task (fresh process per task)

datatrove runs in its own virtualenv: $DATATROVE_PYTHON (default bench/.venv-datatrove/bin/python,
made by bench/setup_datatrove_env.sh).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import itertools
import json
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

from corpus import generate, write_shards  # noqa: E402

from datacraft.dedup.config import build_dedup_config  # noqa: E402
from datacraft.dedup.runner import run_dedup  # noqa: E402

EDITIONS_SHARED = REPO.parent / "shared" / "data" / "neardup" / "gutenberg_editions_chapters.jsonl"
EDITIONS_BUNDLED = REPO / "data" / "sample" / "gutenberg-editions.jsonl.gz"
PRESETS = ("default", "high-recall")


def dedup(inp: str, out: Path, preset: str, executor: Any = None, **extra: Any) -> dict[str, Any]:
    workers = extra.pop("workers", 1)
    cfg = build_dedup_config(
        {
            "input": {"paths": [inp]},
            "output": {"path": str(out)},
            "dedup": {"preset": preset, **extra},
            "workers": workers,
        }
    )
    return run_dedup(cfg, force=True, executor=executor).merged


def labelled(out: Path, truth_key: str) -> list[dict[str, Any]]:
    """Every input document with its predicted cluster (-1: none) and its truth field."""
    docs = []
    for f in sorted((out / "data").glob("*.parquet")):
        names = pq.read_schema(f).names
        extra = [c for c in ("edit_rate", "lang") if truth_key == "family" and c in names]
        t = pq.read_table(f, columns=["id", "dup_cluster", truth_key, *extra])
        for r in t.to_pylist():
            docs.append(
                {
                    "id": r["id"],
                    "cluster": r["dup_cluster"],
                    "truth": r[truth_key],
                    "rate": r.get("edit_rate"),
                    "lang": r.get("lang"),
                }
            )
    for f in sorted((out / "rejected").glob("*.parquet")):
        for r in pq.read_table(f, columns=["id", "signals", "meta"]).to_pylist():
            meta, sig = json.loads(r["meta"]), json.loads(r["signals"])
            docs.append(
                {
                    "id": r["id"],
                    "cluster": sig["dup_cluster"],
                    "truth": meta.get(truth_key),
                    "rate": meta.get("edit_rate"),
                    "lang": meta.get("lang"),
                },
            )
            docs[-1]["removed"] = True
    return docs


def prf(tp: int, predicted: int, actual: int) -> dict[str, float]:
    p = tp / predicted if predicted else 1.0
    r = tp / actual if actual else 1.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 4)}


def pair_scores(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Pair precision/recall/F1 of predicted clusters against truth clusters; cross-cluster merges."""

    def pairs(groups: dict[Any, list[str]]) -> set[tuple[str, str]]:
        return {p for ids in groups.values() for p in itertools.combinations(sorted(ids), 2)}

    pred: dict[Any, list[str]] = collections.defaultdict(list)
    true: dict[Any, list[str]] = collections.defaultdict(list)
    truth_sets: dict[Any, set[Any]] = collections.defaultdict(set)
    for d in docs:
        if d["cluster"] >= 0:
            pred[d["cluster"]].append(d["id"])
            truth_sets[d["cluster"]].add(d["truth"])
        true[d["truth"]].append(d["id"])
    pp, tp_ = pairs(pred), pairs(true)
    scores = prf(len(pp & tp_), len(pp), len(tp_))
    scores["merged_clusters"] = sum(1 for s in truth_sets.values() if len(s) > 1)
    scores["predicted_clusters"] = len(pred)
    return scores


def removal_scores(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Removal P/R/F1 (a removal is right when it leaves one document of its family) overall and per edit rate."""
    families: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    unique_removed = 0
    removed_total = 0
    for d in docs:
        removed_total += bool(d.get("removed"))
        if d["truth"] is None:
            unique_removed += bool(d.get("removed"))
        else:
            families[d["truth"]].append(d)
    by_rate: dict[float, list[int]] = collections.defaultdict(lambda: [0, 0, 0])  # tp, removed, should
    for fam in families.values():
        rate = fam[0]["rate"]
        removed = [d for d in fam if d.get("removed")]
        # Right removals: at most len(fam) - 1, and only if some member of the family stays kept
        # in the same predicted cluster as the removed ones.
        kept_clusters = {d["cluster"] for d in fam if not d.get("removed")}
        right = sum(1 for d in removed if d["cluster"] in kept_clusters)
        right = min(right, len(fam) - 1)
        by_rate[rate][0] += right
        by_rate[rate][1] += len(removed)
        by_rate[rate][2] += len(fam) - 1
    tp = sum(v[0] for v in by_rate.values())
    should = sum(v[2] for v in by_rate.values())
    overall = prf(tp, removed_total, should)
    overall["unique_docs_removed"] = unique_removed
    per_rate = {f"{r:.0%}": prf(v[0], v[1], v[2]) | {"copies": v[2]} for r, v in sorted(by_rate.items())}
    return {"overall": overall, "per_edit_rate": per_rate}


def removal_by_ids(records: list[dict[str, Any]], removed: set[str]) -> dict[str, float]:
    """Removal P/R/F1 from removed ids alone: per family, at most size - 1 removals are right."""
    families: dict[str, list[str]] = collections.defaultdict(list)
    for r in records:
        if r["family"] is not None:
            families[r["family"]].append(r["id"])
    tp = sum(min(sum(i in removed for i in ids), len(ids) - 1) for ids in families.values())
    return prf(tp, len(removed), sum(len(ids) - 1 for ids in families.values()))


def editions(args: argparse.Namespace) -> dict[str, Any]:
    src = EDITIONS_SHARED if EDITIONS_SHARED.is_file() else EDITIONS_BUNDLED
    out: dict[str, Any] = {"input": str(src.relative_to(REPO.parent) if src == EDITIONS_SHARED else src.name)}
    with tempfile.TemporaryDirectory() as tmp:
        for preset in PRESETS:
            merged = dedup(str(src), Path(tmp) / preset, preset, mode="near")
            scores = pair_scores(labelled(Path(tmp) / preset, "cluster"))
            out[preset] = scores | {"removed": merged["totals"]["dropped"], "docs": merged["totals"]["docs_in"]}
    return out


def synthetic(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"docs": args.docs, "shards": args.shards, "seed": args.seed}
    out["multilingual"] = args.multilingual
    if args.words_scale != 1.0:
        out["words_scale"] = args.words_scale
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        records = generate(args.docs, args.seed, multilingual=args.multilingual, words_scale=args.words_scale)
        write_shards(records, Path(tmp) / "in", args.shards)
        for preset in PRESETS:
            verifies = [None] if preset != "high-recall" or not args.compare_verify else ["signature", "exact"]
            for verify in verifies:
                name = preset if verify is None else f"{preset} (verify {verify})"
                extra = {} if verify is None else {"verify": verify}
                t0 = time.process_time()
                merged = dedup(str(Path(tmp) / "in"), Path(tmp) / name.replace(" ", "_"), preset, **extra)
                cpu = time.process_time() - t0
                docs = labelled(Path(tmp) / name.replace(" ", "_"), "family")
                out[name] = removal_scores(docs)
                out[name]["removed"] = merged["totals"]["dropped"]
                out[name]["cpu_seconds_driver"] = round(cpu, 1)
                langs = sorted({d["lang"] for d in docs if d.get("lang")})
                if len(langs) > 1:
                    out[name]["per_lang"] = {
                        lang: removal_scores([d for d in docs if d.get("lang") == lang])["overall"] for lang in langs
                    }
            print(json.dumps({k: v for k, v in out.items() if k.startswith(preset)}, indent=1), flush=True)
    return out


def _child_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _become_subreaper() -> None:
    """Adopt orphaned descendants (a forkserver, a manager): their CPU then counts in RUSAGE_CHILDREN."""
    import ctypes

    pr_set_child_subreaper = 36
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0)


def _reap_orphans(timeout: float = 60.0) -> list[int]:
    """Wait for every adopted descendant that outlived the command (so its CPU is counted); their pids."""
    reaped: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid:
            reaped.append(pid)
        else:
            time.sleep(0.05)
    raise SystemExit(f"descendants still running {timeout:.0f} s after the command exited")


def _pss(pid: int) -> int:
    """Proportional set size of a process in bytes (Linux ``smaps_rollup``; 0 when unreadable)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


class TreeRss:
    """Samples the summed RSS of every descendant of this process (the measured command and its children)."""

    def __init__(self, interval: float = 0.02) -> None:
        import threading

        self.interval = interval
        self.peak = 0
        self.peak_procs = 0
        self.peak_each: list[int] = []  # MiB of each process at the peak, largest first
        self.peak_pss = 0  # the largest sum of PSS (shared pages split among the processes sharing them)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        import psutil

        me = psutil.Process()
        ticks = 0
        while not self._stop.is_set():
            each = []
            for p in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    each.append(p.memory_info().rss)
            if sum(each) > self.peak:
                self.peak, self.peak_procs = sum(each), len(each)
                self.peak_each = sorted((round(x / 2**20) for x in each), reverse=True)
            ticks += 1
            if ticks % 5 == 0:  # every 100 ms: reading smaps_rollup walks page tables (not free on 2 cores)
                self.peak_pss = max(self.peak_pss, sum(_pss(p.pid) for p in me.children(recursive=True)))
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str, dict[str, float]]:
    """CPU seconds of the whole process tree (orphans adopted and reaped), wall seconds, stdout, peak tree RSS."""
    _become_subreaper()
    c0, w0 = _child_cpu(), time.perf_counter()
    with TreeRss() as rss:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        orphans = _reap_orphans()
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    mem = {
        "peak_tree_rss_mib": round(rss.peak / 2**20),
        "peak_tree_pss_mib": round(rss.peak_pss / 2**20),
        "processes_at_peak": rss.peak_procs,
        "rss_mib_each_at_peak": rss.peak_each,
        "orphans_reaped": len(orphans),
    }
    return _child_cpu() - c0, time.perf_counter() - w0, proc.stdout, mem


def _corpus(args: argparse.Namespace, tmp: str) -> tuple[Path, list[dict[str, Any]]]:
    """The synthetic corpus: generated into ``tmp`` (or kept in ``--corpus-dir`` and reused).

    A reused corpus is read back (ids and families only) instead of generated again: at 1M documents
    generating costs ~1 CPU-minute and ~0.7 GB.
    """
    inp = Path(args.corpus_dir) if args.corpus_dir else Path(tmp) / "in"
    stamp = f"{args.docs} {args.seed} {args.shards}" + (f" {args.words_scale}" if args.words_scale != 1.0 else "")
    if (inp / "_complete").is_file() and (inp / "_complete").read_text() == stamp:
        records = []
        for shard in sorted(inp.glob("shard-*.jsonl")):
            with open(shard, "rb") as fh:
                records += [{"id": r["id"], "family": r["family"]} for r in map(orjson.loads, fh)]
        return inp, records
    records = generate(args.docs, args.seed, words_scale=args.words_scale)
    write_shards(records, inp, args.shards)
    (inp / "_complete").write_text(stamp)
    return inp, records


def speed(args: argparse.Namespace) -> dict[str, Any]:
    """CPU of the process tree, wall time and peak RSS of the process tree, datacraft vs datatrove, one run."""
    dt_python = os.environ.get("DATATROVE_PYTHON", str(BENCH / ".venv-datatrove" / "bin" / "python"))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    w = str(args.workers)
    result: dict[str, Any] = {
        "docs": args.docs,
        "shards": args.shards,
        "workers": args.workers,
        "settings": "word 5-grams, 14 bands x 8 rows",
        "words_scale": args.words_scale,
        "load_average_before": [round(x, 1) for x in os.getloadavg()],
    }
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        inp, records = _corpus(args, tmp)
        dc = [sys.executable, "-m", "datacraft", "dedup", str(inp)]
        dc_opts = ["--workers", w, "--quiet", "--force"]
        runs = {
            "near": ("datacraft near", [*dc, f"{tmp}/dc", "--mode", "near", *dc_opts], f"{tmp}/dc"),
            "both": ("datacraft both (exact + near)", [*dc, f"{tmp}/dc2", *dc_opts], f"{tmp}/dc2"),
            # The pool started whatever the input size (DATACRAFT_MIN_BYTES_PER_WORKER=0).
            "near-pool": ("datacraft near, pool forced", [*dc, f"{tmp}/dc3", "--mode", "near", *dc_opts], f"{tmp}/dc3"),
            "datatrove": (
                "datatrove 4-stage minhash",
                [dt_python, str(BENCH / "datatrove_minhash.py"), str(inp), f"{tmp}/dt", "--workers", w],
                None,
            ),
        }
        removed: dict[str, set[str]] = {}
        for key in args.tools.split(","):
            name, cmd, out = runs[key]
            run_env = {**env, "DATACRAFT_MIN_BYTES_PER_WORKER": "0"} if "pool" in key else env
            cpu, wall, stdout, mem = _timed(cmd, run_env)
            result[name] = {
                "cpu_seconds": round(cpu, 2),
                "wall_seconds": round(wall, 2),
                "docs_per_cpu_s": round(args.docs / cpu),
                **mem,
            }
            if out is None:
                removed[name] = set(json.loads(stdout.strip().splitlines()[-1])["removed"])
            else:
                removed[name] = {
                    r
                    for f in (Path(out) / "rejected").glob("*.parquet")
                    for r in pq.read_table(f, columns=["id"]).column("id").to_pylist()
                }
            result[name]["removed"] = len(removed[name])
            print(json.dumps({name: result[name]}), file=sys.stderr, flush=True)
        for name, ids in removed.items():
            result[name] |= removal_by_ids(records, ids)
        dt = result.get("datatrove 4-stage minhash")
        if dt:
            for key, label in (("near", "datacraft near"), ("both", "datacraft both (exact + near)")):
                if label in result:
                    result[f"speedup_{key}_vs_datatrove"] = round(
                        result[label]["docs_per_cpu_s"] / dt["docs_per_cpu_s"], 1
                    )
    result["load_average_after"] = [round(x, 1) for x in os.getloadavg()]
    return result


def signatures_part(args: argparse.Namespace) -> dict[str, Any]:
    """Signature step only: datasketch's own bulk API (xxh32 of each 5-gram) vs the vectorized batch path."""
    import re

    import xxhash
    from datasketch import MinHash

    from datacraft.dedup.minhash import signatures
    from datacraft.dedup.shingles import word_shingle_hashes

    texts = [r["text"] for r in generate(args.docs, args.seed, words_scale=args.words_scale)]
    t0 = time.process_time()
    sets = []
    for text in texts:
        toks = re.findall(r"\w+", text.lower())
        sets.append([" ".join(toks[i : i + 5]).encode() for i in range(max(len(toks) - 4, 1))])
    t_shingle = time.process_time() - t0
    t0 = time.process_time()
    MinHash.bulk(sets, num_perm=112, seed=1, scheme="affine32", hashfunc=xxhash.xxh32_intdigest)
    t_ds = time.process_time() - t0
    signatures(*word_shingle_hashes(texts[:1000], 5), 112, 1)  # one-time tables (word table, powers, permutations)
    t0 = time.process_time()
    for start in range(0, len(texts), 1000):
        hashes, per_doc = word_shingle_hashes(texts[start : start + 1000], 5)
        signatures(hashes, per_doc, 112, 1)
    t_ours = time.process_time() - t0
    n = len(texts)
    return {
        "docs": n,
        "datasketch MinHash.bulk (python shingles + xxh32)": {
            "cpu_seconds": round(t_shingle + t_ds, 2),
            "docs_per_cpu_s": round(n / (t_shingle + t_ds)),
        },
        "datacraft vectorized batch": {"cpu_seconds": round(t_ours, 2), "docs_per_cpu_s": round(n / t_ours)},
        "speedup": round((t_shingle + t_ds) / t_ours, 1),
    }


class FreshProcessExecutor:
    """Runs every task in a new process, so that each task's peak RSS is its own."""

    def run(self, fn: Any, tasks: list[Any], progress: Any = None) -> Any:
        with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"), max_tasks_per_child=1) as pool:
            for task in tasks:
                yield task, pool.submit(fn, task).result()


def memory(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"docs": args.docs, "docs_per_shard": args.docs_per_shard}
    shards = max(1, args.docs // args.docs_per_shard)
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        inp = Path(args.corpus_dir) if args.corpus_dir else Path(tmp) / "in"
        if not (inp / "_complete").is_file():
            t0 = time.perf_counter()
            write_shards(generate(args.docs, args.seed, words_scale=args.words_scale), inp, shards)
            (inp / "_complete").write_text(f"{args.docs} {args.seed}")
            result["generate_seconds"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        merged = dedup(str(inp), Path(tmp) / "out", "default", executor=FreshProcessExecutor())
        result["dedup_wall_seconds"] = round(time.perf_counter() - t0, 1)
        d = merged["dedup"]
        result["phases"] = {
            k: {
                "tasks": v["tasks"],
                "max_task_peak_rss_mib": round(v["max_task_peak_rss_mib"]),
                "cpu_seconds": round(v["cpu_seconds"], 1),
            }
            for k, v in d["phases"].items()
        }
        result["removed"] = merged["totals"]["dropped"]
        result["clustered_docs"] = d["clustered_docs"]
        work = Path(tmp) / "out" / "_dedup"
        result["work_dir_mib"] = round(sum(p.stat().st_size for p in work.rglob("*") if p.is_file()) / 2**20)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("part", choices=["editions", "synthetic", "signatures", "speed", "memory"])
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--docs-per-shard", type=int, default=25_000, help="memory: shard size (fixed as the corpus grows)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--multilingual", type=float, default=0.0, help="synthetic: share of hi/vi/zh/ja documents")
    ap.add_argument(
        "--words-scale",
        type=float,
        default=1.0,
        help="generated corpora: multiply document lengths by this (0.25: median ~67 words; see bench/corpus.py)",
    )
    ap.add_argument(
        "--compare-verify", action="store_true", help="synthetic: high-recall with signature and exact verification"
    )
    ap.add_argument("--workers", type=int, default=2, help="speed: workers of both tools")
    ap.add_argument("--tools", default="near,both,datatrove", help="speed: runs, any of near,both,near-pool,datatrove")
    ap.add_argument("--tmp", default=None, help="directory for temporary outputs (default: system temp)")
    ap.add_argument("--corpus-dir", default=None, help="speed/memory: keep the generated corpus here and reuse it")
    args = ap.parse_args()
    fn = {
        "editions": editions,
        "synthetic": synthetic,
        "signatures": signatures_part,
        "speed": speed,
        "memory": memory,
    }[args.part]
    print(json.dumps(fn(args), indent=1))


if __name__ == "__main__":
    main()
