"""Precision of every quality filter and bundled pipeline on text known to be good, per language.

    python bench/keep_good.py                 # table in bench/out/keep_good/result.json + markdown on stdout
    python bench/keep_good.py --dclm-only     # balanced accuracy of the quality chain on the DCLM labelled set

Known-good sources: the bundled sample (Gutenberg edition chapters, raw Gutenberg books cut into
chapters by ``split``, KJV chapters, the UDHR in 55 languages) and, when present, ../shared/data
(multilingual fortunes) and the localized manual pages installed under /usr/share/man (rendered
with ``man -l``, cached in bench/out/keep_good/manpages.jsonl). Every document carries its labelled
language as ``lang`` (as langid would set it), so the filters use their per-language parameters.

Columns: the share of documents each filter drops on its own (``en params``: the same filter
ignoring ``lang``, i.e. before this work), and the share the pipeline meant for the source drops
with its quality stages (langid is replaced by the label; the ``length`` stage selects by size
and is reported apart). Degenerate documents (a good head with a repeated n-gram tail, repeated
lines, web boilerplate kinds) must still be dropped.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import io
import json
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import zstandard

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from datacraft.document import Document  # noqa: E402
from datacraft.pipeline.config import load_pipeline  # noqa: E402
from datacraft.pipeline.task import build_stages  # noqa: E402
from datacraft.stages.base import Filter, Stage  # noqa: E402
from datacraft.stages.clean import Clean, CleanParams  # noqa: E402
from datacraft.stages.quality.c4 import C4  # noqa: E402
from datacraft.stages.quality.fineweb import FineWebQuality  # noqa: E402
from datacraft.stages.quality.gopher import GopherQuality, GopherRepetition  # noqa: E402
from datacraft.stages.split import Split, SplitParams  # noqa: E402

SAMPLE = REPO / "data" / "sample"
SHARED = REPO.parent / "shared" / "data"
MAN = Path("/usr/share/man")
OUT = REPO / "bench" / "out" / "keep_good"
MAN_LANGS = {
    "de": "de", "es": "es", "fr": "fr", "it": "it", "pt": "pt", "nl": "nl", "pl": "pl", "ru": "ru", "uk": "uk",
    "sv": "sv", "cs": "cs", "ja": "ja", "ko": "ko", "zh_CN": "zh-cn", "zh_TW": "zh-tw", "": "en",
}  # fmt: skip
FILTERS = {"gopher_repetition": GopherRepetition, "gopher_quality": GopherQuality, "c4": C4, "fineweb": FineWebQuality}


class Ctx:
    """Collects drops by (stage, reason) and counters."""

    def __init__(self) -> None:
        self.drops: list[tuple[str, str, str]] = []
        self.counts: collections.Counter[str] = collections.Counter()

    def drop(self, doc: Document, stage: str, reason: str, signals: Any = None) -> None:
        self.drops.append((doc.id, stage, reason))

    def count(self, stage: str, key: str, n: int = 1) -> None:
        self.counts[f"{stage}.{key}"] += n


def jsonl(path: Path) -> Iterator[dict[str, Any]]:
    if path.suffix == ".gz":
        fh: Any = gzip.open(path, "rt", encoding="utf-8")  # noqa: SIM115
    elif path.suffix == ".zst":
        fh = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(open(path, "rb")), encoding="utf-8")  # noqa: SIM115
    else:
        fh = open(path, encoding="utf-8")  # noqa: SIM115
    with fh:
        for line in fh:
            yield json.loads(line)


def doc(rec: dict[str, Any], source: str, lang: str) -> Document:
    return Document(str(rec["id"]), rec["text"], {"lang": lang, "source": source})


def render_man(path: Path) -> str:
    env = {"MANWIDTH": "80", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    try:
        res = subprocess.run(["man", "-l", "-E", "UTF-8", str(path)], capture_output=True, env=env, timeout=120)
    except subprocess.TimeoutExpired:
        return ""
    return res.stdout.decode("utf-8", "replace")


def manpages(per_lang: int) -> list[dict[str, Any]]:
    """Localized manual pages of ≥ 1,000 characters (cached after the first rendering)."""
    cache = OUT / "manpages.jsonl"
    if cache.is_file():
        recs = [json.loads(line) for line in cache.open(encoding="utf-8")]
        return [r for r in recs if ":gcloud" not in r["id"]]
    if not MAN.is_dir() or not shutil.which("man"):
        return []
    jobs: list[tuple[str, Path]] = []
    for sub, lang in MAN_LANGS.items():
        files = sorted((MAN / sub).glob("man[1-8]/*.gz")) if sub else sorted(MAN.glob("man[18]/*.gz"))
        files = [f for f in files if not f.name.startswith("gcloud")]  # 6,000 generated CLI pages, not prose
        random.Random(0).shuffle(files)
        jobs += [(lang, f) for f in files[: per_lang * 2]]
    with ThreadPoolExecutor(4) as pool:
        texts = list(pool.map(lambda j: render_man(j[1]), jobs))
    out: list[dict[str, Any]] = []
    per: collections.Counter[str] = collections.Counter()
    for (lang, f), text in zip(jobs, texts, strict=True):
        if len(text) >= 1000 and per[lang] < per_lang:
            per[lang] += 1
            out.append({"id": f"man:{lang}:{f.name}", "text": text.strip(), "lang": lang})
    OUT.mkdir(parents=True, exist_ok=True)
    cache.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out), encoding="utf-8")
    return out


def book_chapters() -> list[Document]:
    """The raw Gutenberg books, boilerplate stripped, cut into chapters as the pipelines do."""
    clean = Clean(CleanParams(strip_gutenberg=True))
    split = Split(SplitParams(by="chapters", max_chars=100_000))
    ctx = Ctx()
    docs = [doc(r, "gutenberg", r.get("lang", "en")) for r in jsonl(SAMPLE / "gutenberg-books-raw.jsonl.gz")]
    return [d for d in split.process_batch(clean.process_batch(docs, ctx), ctx) if len(d.text) >= 500]


def sources(args: argparse.Namespace) -> dict[str, list[Document]]:
    """Known-good documents grouped as ``source/lang``."""
    groups: dict[str, list[Document]] = collections.defaultdict(list)
    for r in jsonl(SAMPLE / "gutenberg-editions.jsonl.gz"):
        groups["gutenberg-chapters/en"].append(doc(r, "gutenberg", "en"))
    for d in book_chapters():
        groups[f"gutenberg-books/{d.meta['lang']}"].append(d)
    for r in jsonl(SAMPLE / "kjv-chapters.jsonl.zst"):
        groups["kjv/en"].append(doc(r, "kjv", "en"))
    for r in jsonl(SAMPLE / "udhr-55.jsonl.gz"):
        groups[f"udhr/{r['lang']}"].append(doc(r, "udhr", r["lang"]))
    fortunes = SHARED / "langid" / "fortunes_multilingual.jsonl"
    if fortunes.is_file():
        by_lang: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
        for r in jsonl(fortunes):
            if len(r["text"]) >= 200 and r["lang"] not in ("eo", "ga"):  # the multilingual length gate
                by_lang[r["lang"]].append(r)
        for lang, recs in sorted(by_lang.items()):
            random.Random(0).shuffle(recs)
            groups[f"fortunes/{lang}"] = [doc(r, "fortunes", lang) for r in recs[: args.fortunes]]
    for r in manpages(args.manpages):
        groups[f"manpages/{r['lang']}"].append(doc(r, "man", r["lang"]))
    return dict(groups)


def degenerate(groups: dict[str, list[Document]]) -> dict[str, list[Document]]:
    """Documents every pipeline must drop, built from good heads of each language."""
    rng = random.Random(1)
    out: dict[str, list[Document]] = collections.defaultdict(list)
    for key, docs in groups.items():
        if not key.startswith(("udhr/", "gutenberg-chapters/")):
            continue
        lang = key.split("/")[1]
        for i, d in enumerate(docs[:20]):
            head = d.text[:800]
            words = head.split()
            spaceless = lang in ("zh-cn", "zh-tw", "ja", "th")
            if spaceless:
                start = rng.randrange(max(1, len(head) - 12))
                phrase = head[start : start + rng.randint(6, 12)]
            else:
                start = rng.randrange(max(1, len(words) - 8))
                phrase = " ".join(words[start : start + rng.randint(3, 8)]) + " "
            tail = phrase * max(2, int(len(head) * rng.uniform(1.0, 2.0) / max(1, len(phrase))))
            out[f"ngram-tail/{lang}"].append(Document(f"deg:tail:{lang}:{i}", head + tail, {"lang": lang}))
            line = (words[0] if words else "x") + " " + phrase.strip()
            text = head + "\n" + "\n".join([line] * 30)
            out[f"dup-lines/{lang}"].append(Document(f"deg:lines:{lang}:{i}", text, {"lang": lang}))
    nav = ["Home", "About us", "Contact", "Login", "Register", "Privacy Policy", "Terms of Use", "Cart", "Search"]
    for i in range(60):
        body = "\n".join(rng.choice(nav) for _ in range(rng.randint(20, 60)))
        out["web-menu/en"].append(Document(f"deg:menu:{i}", body, {"lang": "en"}))
        tags = " ".join(f"#{rng.choice(nav).replace(' ', '')}" for _ in range(rng.randint(60, 150)))
        out["hashtags/en"].append(Document(f"deg:hash:{i}", tags, {"lang": "en"}))
        bullets = "\n".join(f"• {rng.choice(nav)} {rng.randint(1, 99)}" for _ in range(rng.randint(20, 60)))
        out["bullets/en"].append(Document(f"deg:bullets:{i}", bullets, {"lang": "en"}))
        ell = "\n".join(f"Read more about {rng.choice(nav).lower()}..." for _ in range(rng.randint(20, 60)))
        out["ellipsis-teasers/en"].append(Document(f"deg:ell:{i}", ell, {"lang": "en"}))
    return dict(out)


def filter_drops(flt: Filter, docs: list[Document], use_lang: bool) -> float:
    dropped = 0
    for d in docs:
        probe = Document(d.id, d.text, dict(d.meta) if use_lang else {})
        dropped += not flt.check(probe).keep
    return dropped / len(docs) if docs else 0.0


def pipeline_stages(name: str) -> list[Stage]:
    config = load_pipeline(REPO / "pipelines" / f"{name}.yaml")
    stages = [s for s in build_stages(config) if s.name not in ("langid", "pii")]
    for s in stages:
        s.ensure_setup()
    return stages


def run_pipeline_docs(stages: list[Stage], docs: list[Document]) -> dict[str, Any]:
    """Run copies of ``docs`` through ``stages``; drops by the length stage are reported apart."""
    ctx = Ctx()
    batch = [Document(d.id, d.text, dict(d.meta)) for d in docs]
    for s in stages:
        batch = s.run_batch(batch, ctx)
    reasons = collections.Counter(f"{st}.{why}" for _, st, why in ctx.drops if st != "length")
    by_length = sum(1 for _, st, _ in ctx.drops if st == "length")
    judged = len(batch) + sum(reasons.values())
    return {
        "judged": judged,
        "length_dropped": by_length,
        "dropped": sum(reasons.values()) / judged if judged else 0.0,
        "reasons": dict(reasons.most_common(3)),
    }


def meant_for(key: str) -> list[str]:
    source, lang = key.split("/")
    if source in ("gutenberg-chapters", "gutenberg-books", "kjv"):
        return ["books", "demo"] if lang == "en" else ["books", "multilingual"]
    if lang == "en" and source not in ("manpages", "fortunes", "udhr"):
        return ["demo"]
    return ["multilingual"]


def dclm(args: argparse.Namespace) -> dict[str, Any]:
    """Balanced accuracy of the four filters chained (kept = predicted good) on the DCLM labelled set."""
    path = SHARED / "quality" / "dclm_quality_labeled.jsonl"
    if not path.is_file():
        return {}
    recs = list(jsonl(path))
    chain = [GopherRepetition(), GopherQuality(), C4(), FineWebQuality()]
    tp = tn = pos = neg = 0
    for r in recs:
        batch = [Document(str(r.get("id", "x")), r["text"], {})]
        for s in chain:
            batch = s.process_batch(batch, Ctx())
        kept = bool(batch)
        if r["label"] == 1:
            pos += 1
            tp += kept
        else:
            neg += 1
            tn += not kept
    return {"docs": len(recs), "tpr": tp / pos, "tnr": tn / neg, "balanced_accuracy": (tp / pos + tn / neg) / 2}


def pct(x: float) -> str:
    return f"{100 * x:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fortunes", type=int, default=200, help="fortunes per language (of ≥ 200 characters)")
    ap.add_argument("--manpages", type=int, default=20, help="manual pages per language")
    ap.add_argument("--dclm-only", action="store_true")
    args = ap.parse_args()
    t0 = time.process_time()
    result: dict[str, Any] = {"dclm": dclm(args)}
    if args.dclm_only:
        print(json.dumps(result, indent=1))
        return
    groups = sources(args)
    bad = degenerate(groups)
    pipelines = {n: pipeline_stages(n) for n in ("demo", "books", "multilingual")}
    filters = {n: cls() for n, cls in FILTERS.items()}
    rows: dict[str, Any] = {}
    for key, docs in {**groups, **bad}.items():
        row: dict[str, Any] = {"docs": len(docs)}
        for n, f in filters.items():
            row[n] = filter_drops(f, docs, True)
            row[f"{n}_en_params"] = filter_drops(f, docs, False)
        names = meant_for(key) if key in groups else (["demo"] if key.endswith("/en") else ["multilingual"])
        row["pipelines"] = {n: run_pipeline_docs(pipelines[n], docs) for n in names}
        rows[key] = row
    result["good"] = {k: rows[k] for k in groups}
    result["degenerate"] = {k: rows[k] for k in bad}
    result["cpu_seconds"] = time.process_time() - t0
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "result.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    cols = list(FILTERS)
    print("| source/lang | docs | " + " | ".join(f"{c} % (en params)" for c in cols) + " | pipeline: % dropped |")
    print("|---|---:|" + "---:|" * len(cols) + "---|")
    for section in ("good", "degenerate"):
        for key, row in result[section].items():
            cells = [f"{pct(row[c])} ({pct(row[c + '_en_params'])})" for c in cols]
            pipes = "; ".join(
                f"{n} {pct(p['dropped'])} of {p['judged']}" + (f" {p['reasons']}" if p["dropped"] else "")
                for n, p in row["pipelines"].items()
            )
            print(f"| {key} | {row['docs']} | " + " | ".join(cells) + f" | {pipes} |")
    print(json.dumps(result["dclm"]), f"cpu {result['cpu_seconds']:.0f}s")


if __name__ == "__main__":
    main()
