"""Quality filters: agreement with datatrove, speed side by side, and peak RSS of streaming runs.

    python bench/quality_bench.py [--generated 3000] [--rss 100000,300000] [--skip-rss]

1. Builds a corpus from ../shared/data (Gutenberg books and editions, KJV chapters, English
   fortunes, DCLM-labelled web documents, article bodies and tag-stripped raw HTML of the
   article-extraction benchmark) plus seeded generated documents that sit near every threshold.
2. Runs datatrove's GopherRepetition, GopherQuality, C4Quality and FineWebQuality filters in a
   subprocess of the datatrove interpreter ($DATATROVE_PYTHON, default
   bench/.venv-datatrove/bin/python; extra sys.path from $DATATROVE_PYTHONPATH) and datacraft's
   filters in this process on the same documents: per-filter keep/drop agreement, with every
   disagreement written to OUT/disagreements.jsonl.
3. Speed: the four filters chained, documents per CPU second (time.process_time) in each process,
   warmed the same way on both sides: the filters are built and the few WARMUP documents (English,
   Chinese, Japanese, Thai) go through each chain untimed, so spaCy (datatrove) and the regexes and
   CJK/Thai dictionaries (datacraft) are loaded before the clock starts; then ``--passes`` timed
   passes over the whole corpus on each side (pass 1: every document new; later passes: caches
   such as spaCy's per-string token cache filled by pass 1).
4. Peak RSS (ru_maxrss of a child process) of `run_pipeline` with the four filters over N documents.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import json
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))

from datacraft.document import Document  # noqa: E402
from datacraft.stages.quality.c4 import C4  # noqa: E402
from datacraft.stages.quality.fineweb import FineWebQuality  # noqa: E402
from datacraft.stages.quality.gopher import GopherQuality, GopherRepetition  # noqa: E402
from datacraft.text import cache as features_mod  # noqa: E402

FILTERS = ("gopher_repetition", "gopher_quality", "c4", "fineweb_quality")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def html_to_rough_text(raw: str) -> str:
    """Tag-stripped page text with its boilerplate (menus, cookie notices): web-like noise for the rules."""
    raw = re.sub(r"(?is)<(script|style|noscript)\b.*?</\1>", "\n", raw)
    raw = re.sub(r"(?i)<(br|p|div|li|h[1-6]|tr|section|article|header|footer|nav)\b[^>]*>", "\n", raw)
    raw = re.sub(r"(?s)<[^>]+>", " ", raw)
    raw = html.unescape(raw)
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in raw.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# Keep the corpus to ~13 M characters so datatrove (spaCy tokenizer) finishes in minutes on a shared machine:
# every 2nd edition chapter, every 4th KJV chapter, the first 30,000 characters of each raw book.
SUBSAMPLE = {"gutenberg_editions_chapters": 2, "kjv_bible_chapters": 4}
BOOK_CHARS = 30_000


def real_docs() -> list[dict[str, str]]:
    docs: list[dict[str, str]] = []
    for rel in (
        "prose/gutenberg_books_raw.jsonl",
        "neardup/gutenberg_editions_chapters.jsonl",
        "prose/kjv_bible_chapters.jsonl",
        "prose/fortunes_en_all.jsonl",
        "quality/dclm_quality_labeled.jsonl",
    ):
        name = rel.split("/")[1].split(".")[0]
        for i, row in enumerate(read_jsonl(SHARED / rel)):
            if i % SUBSAMPLE.get(name, 1):
                continue
            text = row["text"][: BOOK_CHARS if name == "gutenberg_books_raw" else None]
            docs.append({"id": f"{name}:{i}", "text": text})
    web = SHARED / "web" / "article_extraction_benchmark"
    truth = json.loads((web / "ground-truth.json").read_text(encoding="utf-8"))
    for key, value in sorted(truth.items()):
        docs.append({"id": f"article_body:{key[:12]}", "text": value.get("articleBody") or ""})
        page = web / "html" / f"{key}.html.gz"
        if page.is_file():
            with gzip.open(page, "rb") as fh:
                raw = fh.read().decode("utf-8", "replace")
            docs.append({"id": f"article_page:{key[:12]}", "text": html_to_rough_text(raw)})
    return docs


BULLETS = ("- ", "• ", "* ")
NOISE_LINES = (
    "Please enable JavaScript to view the comments.",
    "This site uses cookies to improve your experience.",
    "Read our privacy policy and terms of use.",
    "Share this:",
    "Menu",
    "Home | About | Contact",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
    "function() { return false; }",
    "See also [1] and [edit] for details.",
    "#tag #news #today",
    "Continue reading...",
    "Copyright 2024. All rights reserved.",
)


def generated_docs(pool: list[str], n: int, seed: int) -> list[dict[str, str]]:
    """Documents assembled from real sentences with controlled doses of every pattern the rules test."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        k = rng.choice((3, 6, 10, 20, 40, 80))
        lines = [rng.choice(pool) for _ in range(k)]
        style = rng.random()
        if style < 0.15:  # bullets
            frac = rng.random()
            lines = [rng.choice(BULLETS) + line if rng.random() < frac else line for line in lines]
        elif style < 0.3:  # ellipsis endings
            frac = rng.random() * 0.6
            lines = [line.rstrip(".!?") + rng.choice(("...", "…")) if rng.random() < frac else line for line in lines]
        elif style < 0.45:  # duplicated lines / paragraphs
            dup = rng.random() * 0.6
            lines = [rng.choice(lines[: max(1, k // 3)]) if rng.random() < dup else line for line in lines]
        elif style < 0.6:  # boilerplate noise lines
            frac = rng.random() * 0.7
            lines = [rng.choice(NOISE_LINES) if rng.random() < frac else line for line in lines]
        elif style < 0.7:  # short lines (split sentences at random)
            new = []
            for line in lines:
                words = line.split()
                while words:
                    cut = rng.randint(1, 8)
                    new.append(" ".join(words[:cut]))
                    words = words[cut:]
            lines = new
        elif style < 0.78:  # repeated phrases inside lines
            phrase = " ".join(rng.choice(pool).split()[:6])
            lines = [line + " " + phrase * rng.randint(0, 3) for line in lines]
        elif style < 0.84:  # hashes
            lines = [line + " #" * rng.randint(0, 4) for line in lines]
        sep = "\n\n" if rng.random() < 0.4 else "\n"
        out.append({"id": f"generated:{i}", "text": sep.join(lines)})
    return out


def build_corpus(path: Path, n_generated: int, seed: int) -> list[dict[str, str]]:
    docs = real_docs()
    pool = []
    for d in docs:
        if d["id"].startswith(("article_body", "dclm", "gutenberg_editions")):
            pool += [s.strip() for s in re.split(r"\n+", d["text"]) if 20 < len(s.strip()) < 400]
    pool.sort()
    docs += generated_docs(pool, n_generated, seed)
    docs = [d for d in docs if d["text"]]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    return docs


#: Untimed warm-up documents for both chains: every lazily loaded tokenizer and dictionary gets loaded
#: (spaCy for datatrove; the regexes, rjieba, fugashi and pythainlp's dictionary for datacraft).
WARMUP = (
    "The committee met on Tuesday to review the annual budget. Members discussed the costs of the new "
    "library and the repairs to the old bridge. After a long debate, they agreed to postpone the vote "
    "until next month. The chair thanked everyone for their patience. The meeting ended at nine.",
    "今天天气很好，我们一起去公园散步。公园里有很多人在锻炼身体。",
    "今日はとても良い天気です。私たちは公園を散歩しました。",
    "วันนี้อากาศดีมาก เราไปเดินเล่นที่สวนสาธารณะด้วยกัน",
)


def warmup_docs() -> list[dict[str, str]]:
    return [{"id": f"warmup:{i}", "text": t} for i, t in enumerate(WARMUP)]


def datacraft_filters() -> dict[str, Any]:
    return {
        "gopher_repetition": GopherRepetition(),
        "gopher_quality": GopherQuality(),
        "c4": C4(),
        "fineweb_quality": FineWebQuality(),
    }


class NullCtx:
    """A StageContext that only counts (for timing the stages outside a pipeline)."""

    def __init__(self) -> None:
        self.dropped = 0

    def drop(self, doc: Any, stage: str, reason: str, signals: Any = None) -> None:
        self.dropped += 1

    def count(self, stage: str, key: str, n: int = 1) -> None:
        pass


def datacraft_verdicts(docs: list[dict[str, str]]) -> dict[str, dict[str, list[Any]]]:
    filters = datacraft_filters()
    out: dict[str, dict[str, list[Any]]] = {}
    for d in docs:
        doc = Document(d["id"], d["text"], {})
        out[d["id"]] = {name: [(r := f.check(doc)).keep, r.reason] for name, f in filters.items()}
    return out


def chained_cpu(
    docs: list[dict[str, str]], batch: int = 1000, cache: bool = True, stages: list[Any] | None = None
) -> tuple[float, int]:
    """CPU seconds and kept count of the four stages chained over batches (as a shard task runs them)."""
    features_mod.set_cache_enabled(cache)
    if stages is None:
        stages = list(datacraft_filters().values())
    for s in stages:
        s.ensure_setup()
    ctx = NullCtx()
    kept = 0
    t0 = time.process_time()
    for start in range(0, len(docs), batch):
        b = [Document(d["id"], d["text"], {}) for d in docs[start : start + batch]]
        for s in stages:
            b = s.process_batch(b, ctx)
        kept += len(b)
    cpu = time.process_time() - t0
    features_mod.set_cache_enabled(True)
    return cpu, kept


def chained_passes(docs: list[dict[str, str]], passes: int) -> list[tuple[float, int]]:
    """The chain warmed on :data:`WARMUP` (untimed), then timed over ``docs`` ``passes`` times."""
    stages = list(datacraft_filters().values())
    chained_cpu(warmup_docs(), stages=stages)
    return [chained_cpu(docs, stages=stages) for _ in range(passes)]


def agreement(docs, dc, dt) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    texts = {d["id"]: d["text"] for d in docs}
    table: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    for name in FILTERS:
        agree = 0
        classes: Counter[str] = Counter()
        for doc_id, verdicts in dc.items():
            mine, theirs = verdicts[name], dt[doc_id][name]
            if mine[0] == theirs[0]:
                agree += 1
            else:
                cls = f"datacraft {'keep' if mine[0] else mine[1]} / datatrove {'keep' if theirs[0] else theirs[1]}"
                classes[cls] += 1
                rows.append({"filter": name, "id": doc_id, "class": cls, "text": texts[doc_id][:3000]})
        n = len(dc)
        kept_dc = sum(1 for v in dc.values() if v[name][0])
        kept_dt = sum(1 for k in dc if dt[k][name][0])
        table[name] = {
            "docs": n,
            "agree": agree,
            "agreement": agree / n,
            "kept_datacraft": kept_dc,
            "kept_datatrove": kept_dt,
            "disagreement_classes": dict(classes.most_common()),
        }
    return table, rows


def run_datatrove(
    corpus: Path, out: Path, agreement_run: bool, reuse: bool = False, passes: int = 1
) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    py = os.environ.get("DATATROVE_PYTHON", str(REPO / "bench" / ".venv-datatrove" / "bin" / "python"))
    env = dict(os.environ)
    extra = os.environ.get("DATATROVE_PYTHONPATH")
    env["PYTHONPATH"] = extra or ""
    warm = out.with_name("warmup.jsonl")
    warm.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in warmup_docs()), encoding="utf-8")
    cmd = [py, str(REPO / "bench" / "_datatrove_quality.py"), str(corpus), str(out)]
    cmd += ["--warmup", str(warm), "--passes", str(passes)]
    if agreement_run:
        cmd.append("--agreement")
    digest = hashlib.sha256(corpus.read_bytes() + warm.read_bytes() + f"{passes} {agreement_run}".encode()).hexdigest()
    stamp = out.with_suffix(".sha256")
    if not (reuse and out.is_file() and stamp.is_file() and stamp.read_text() == digest):
        subprocess.run(cmd, check=True, env=env)
        stamp.write_text(digest)
    verdicts: dict[str, list[Any]] = {}
    timing: dict[str, Any] = {}
    for row in read_jsonl(out):
        if "timing" in row:
            timing = row["timing"]
        else:
            verdicts[row["id"]] = row
    return verdicts, timing


RSS_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[3])
from datacraft.pipeline.config import build_config
from datacraft.pipeline.runner import run_pipeline
cfg = build_config({"name": "rss", "input": {"paths": [sys.argv[1]]},
    "output": {"path": sys.argv[2], "rejected": False},
    "stages": ["gopher_repetition", "gopher_quality", "c4", "fineweb_quality"]})
t0 = time.process_time()
res = run_pipeline(cfg, force=True)
t = res.merged["totals"]
print(json.dumps({"kept": t["kept"], "docs_in": t["docs_in"], "cpu": time.process_time() - t0,
    "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def rss_run(docs: list[dict[str, str]], n: int, work: Path) -> dict[str, Any]:
    """Stream ``n`` documents (the corpus cycled, fresh ids) through run_pipeline in a child; its peak RSS."""
    src = work / f"rss-{n}.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        for i in range(n):
            d = docs[i % len(docs)]
            f.write(json.dumps({"id": f"{i}", "text": d["text"][:20000]}, ensure_ascii=False) + "\n")
    size = src.stat().st_size
    proc = subprocess.run(
        [sys.executable, "-c", RSS_CHILD, str(src), str(work / f"rss-out-{n}"), str(REPO)],
        capture_output=True,
        text=True,
    )
    src.unlink()
    if proc.returncode:
        sys.exit(f"the run over {n} documents failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["input_mib"] = round(size / 2**20, 1)
    result["peak_rss_mib"] = round(result.pop("maxrss_kib") / 1024, 1)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--generated", type=int, default=3000, help="generated documents added to the real ones")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(REPO / "bench" / "out" / "quality"))
    ap.add_argument("--rss", default="100000,300000", help="document counts for the peak-RSS runs")
    ap.add_argument("--skip-rss", action="store_true")
    ap.add_argument("--rss-only", action="store_true", help="only the peak-RSS runs")
    ap.add_argument("--skip-agreement", action="store_true", help="only time the chained filters")
    ap.add_argument("--reuse-datatrove", action="store_true", help="reuse datatrove's output for an unchanged corpus")
    ap.add_argument("--passes", type=int, default=2, help="timed passes over the corpus on each side (after warm-up)")
    args = ap.parse_args()
    out = Path(args.out)
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} is missing: this benchmark needs ../shared/data")
    corpus_path = out / "corpus.jsonl"
    docs = build_corpus(corpus_path, args.generated, args.seed)
    chars = sum(len(d["text"]) for d in docs)
    print(f"corpus: {len(docs)} documents, {chars / 1e6:.1f} M characters -> {corpus_path}", flush=True)

    if args.rss_only:
        rss = {n: rss_run(docs, int(n), out) for n in args.rss.split(",")}
        print(json.dumps(rss, indent=1))
        (out / "rss.json").write_text(json.dumps(rss, indent=1))
        return
    dt_verdicts, dt_timing = run_datatrove(
        corpus_path, out / "datatrove.jsonl", not args.skip_agreement, args.reuse_datatrove, args.passes
    )
    dc_passes = chained_passes(docs, args.passes)
    dc_cpu, dc_kept = dc_passes[0]
    dc_cpu_nocache, _ = chained_cpu(docs, cache=False)
    dt_passes = dt_timing.get("pass_cpu_seconds", [dt_timing["cpu_seconds"]])
    result: dict[str, Any] = {
        "corpus": {"docs": len(docs), "chars": chars, "generated": args.generated, "seed": args.seed},
        "speed": {
            "warmup": "both chains run the WARMUP documents untimed first (tokenizers and dictionaries loaded)",
            "datatrove": {**dt_timing, "docs_per_cpu_s": dt_timing["docs"] / dt_timing["cpu_seconds"]},
            "datacraft": {
                "docs": len(docs),
                "kept": dc_kept,
                "cpu_seconds": dc_cpu,
                "pass_cpu_seconds": [cpu for cpu, _ in dc_passes],
                "docs_per_cpu_s": len(docs) / dc_cpu,
            },
            "datacraft_no_feature_cache": {"cpu_seconds": dc_cpu_nocache, "docs_per_cpu_s": len(docs) / dc_cpu_nocache},
        },
    }
    # pass 1 against pass 1 (every document new to both), and the best pass of each side
    result["speed"]["ratio"] = dt_timing["cpu_seconds"] / dc_cpu
    result["speed"]["ratio_best_pass"] = min(dt_passes) / min(cpu for cpu, _ in dc_passes)
    print(json.dumps(result["speed"], indent=1), flush=True)
    if not args.skip_agreement:
        dc_verdicts = datacraft_verdicts(docs)
        table, rows = agreement(docs, dc_verdicts, dt_verdicts)
        result["agreement"] = table
        with open(out / "disagreements.jsonl", "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        for name, t in table.items():
            print(
                f"{name:18} agreement {t['agreement']:.4%}  ({t['docs'] - t['agree']} differ) "
                f"{t['disagreement_classes']}",
                flush=True,
            )
    if not args.skip_rss:
        result["rss"] = {}
        for n in [int(x) for x in args.rss.split(",")]:
            result["rss"][n] = rss_run(docs, n, out)
            print(f"rss {n}: {result['rss'][n]}", flush=True)
    (out / "result.json").write_text(json.dumps(result, indent=1))
    print(f"written {out / 'result.json'}")


if __name__ == "__main__":
    main()
