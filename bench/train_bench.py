"""Benchmark the model side of datacraft (issue 6), one run, figures side by side.

1. LM on held-out bundled public-domain prose (data/sample kjv + gutenberg books): the LSTM+attention
   model's validation perplexity next to add-k and interpolated Kneser-Ney 3-gram models fitted on
   exactly the same training tokens and scored on exactly the same target tokens.
2. Training throughput (tokens/s) of the streaming Parquet → tf.data pipeline next to plain
   ``model.fit`` on in-memory arrays (same model, same windows, same batch size).
3. Language id on ../shared/data/langid/udhr_55.jsonl and quality on
   ../shared/data/quality/dclm_quality_labeled.jsonl (skipped when ../shared/data is absent).

Data are curated with ``datacraft apply normalize`` first (the product path), then trained with
the same code as ``datacraft train``. Prints a Markdown section for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


def curate(inputs: list[str], out: Path) -> Path:
    if not (out / "stats.json").exists():
        cmd = [sys.executable, "-m", "datacraft", "apply", "normalize", "-q", "-o", str(out)]
        for i in inputs:
            cmd += ["-i", i]
        subprocess.run(cmd, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    return out


# --- n-gram baselines on token ids -------------------------------------------------------------


class Trigram:
    """Add-k and interpolated Kneser-Ney (absolute discount d) trigram estimates over token ids."""

    def __init__(self, stream: list[int], vocab: int) -> None:
        self.V = vocab
        self.c3: Counter = Counter(zip(stream, stream[1:], stream[2:], strict=False))
        self.c2: Counter = Counter(itertools.pairwise(stream))
        self.c1: Counter = Counter(stream)
        self.ctx2: Counter = Counter()  # c(u, v, ·)
        self.n1_ctx2: Counter = Counter()  # |{w: c(u,v,w) > 0}|
        for (u, v, _), c in self.c3.items():
            self.ctx2[(u, v)] += c
            self.n1_ctx2[(u, v)] += 1
        self.ctx1: Counter = Counter()
        self.n1_ctx1: Counter = Counter()
        for (v, _), c in self.c2.items():
            self.ctx1[v] += c
            self.n1_ctx1[v] += 1
        # continuation counts for KN lower orders
        self.cont2: Counter = Counter((v, w) for (_, v, w) in self.c3)  # N1+(· v w)
        self.cont2_ctx: Counter = Counter()  # N1+(· v ·)
        self.n1_cont2_ctx: Counter = Counter()  # |{w: N1+(· v w) > 0}|
        for (v, _), c in self.cont2.items():
            self.cont2_ctx[v] += c
            self.n1_cont2_ctx[v] += 1
        self.cont1: Counter = Counter(w for (_, w) in self.c2)  # N1+(· w)
        self.n_bigram_types = len(self.c2)
        self.N = len(stream)

    def addk(self, u: int | None, v: int, w: int, k: float) -> float:
        if u is None:
            return (self.c2[(v, w)] + k) / (self.ctx1[v] + k * self.V)
        return (self.c3[(u, v, w)] + k) / (self.ctx2[(u, v)] + k * self.V)

    def kn(self, u: int | None, v: int, w: int, d: float = 0.75) -> float:
        p1 = (self.cont1[w] + 0.5) / (self.n_bigram_types + 0.5 * self.V)  # unigram continuation, smoothed
        cv = self.cont2_ctx[v]
        p2 = (max(self.cont2[(v, w)] - d, 0) + d * self.n1_cont2_ctx[v] * p1) / cv if cv else p1
        if u is None:
            c = self.ctx1[v]
            return (max(self.c2[(v, w)] - d, 0) + d * self.n1_ctx1[v] * p2) / c if c else p2
        c = self.ctx2[(u, v)]
        return (max(self.c3[(u, v, w)] - d, 0) + d * self.n1_ctx2[(u, v)] * p2) / c if c else p2


def ngram_perplexities(model_dir: Path, seq_len: int, eos: int, vocab: int) -> dict[str, float]:
    """Perplexity of the baselines on the LM's validation targets (same windows, same context limits)."""
    from datacraft.train import data as D

    stream: list[int] = []
    for _, ids, _ in D.iter_cache(model_dir / "cache/train.parquet"):
        stream += [*ids, eos]
    tri = Trigram(stream, vocab)
    nll: dict[str, float] = defaultdict(float)
    n = 0
    ks = (0.001, 0.01, 0.1)
    for w in D.lm_windows(model_dir / "cache/val.parquet", seq_len, eos):
        w = w.tolist()
        for t in range(1, len(w)):
            u = w[t - 2] if t >= 2 else None
            v, tgt = w[t - 1], w[t]
            for k in ks:
                nll[f"add-{k} 3-gram"] -= math.log(tri.addk(u, v, tgt, k))
            nll["Kneser-Ney 3-gram"] -= math.log(tri.kn(u, v, tgt))
            n += 1
    return {name: math.exp(v / n) for name, v in nll.items()} | {"tokens": n, "train_tokens": len(stream)}


# --- tokenizers --------------------------------------------------------------------------------


def compare_tokenizers(data: Path, vocab: int, max_docs: int | None) -> dict[str, dict]:
    """Vocabulary, unk rate, tokens/doc and training time of each tokenizer kind on the same texts,
    learned on the training split and measured on the validation split."""
    from datacraft.train import data as D
    from datacraft.train.config import TokenizerConfig, TrainConfig
    from datacraft.train.tokenizer import TextTokenizer, TokenStats

    cfg = TrainConfig(data={"max_docs": max_docs})
    files = D.parquet_files(data)
    out = {}
    for kind in ("bpe", "wordpiece", "unigram"):
        t0 = time.perf_counter()
        tok = TextTokenizer.train(D.train_texts(files, cfg, set()), TokenizerConfig(kind=kind, vocab_size=vocab))
        secs = time.perf_counter() - t0
        st = TokenStats(tok.vocab_size)
        t0 = time.perf_counter()
        for b in D.iter_rows(files, "text", "id", None, 1024, max_docs):
            texts = [t for t, i in zip(b.texts, b.ids, strict=True) if D.split_of(i, cfg.seed, 0.1) == "val"]
            st.add(tok.encode_batch(texts), texts, tok.unk_id)
        out[kind] = st.as_dict() | {"train_s": secs, "encode_s": time.perf_counter() - t0}
    return out


# --- throughput --------------------------------------------------------------------------------


def throughput(model_dir: Path, cfg, steps: int, repeats: int) -> dict[str, float]:
    """tokens/s of one epoch of ``steps`` batches: streaming tf.data vs in-memory arrays (timed after
    a warm-up epoch so both exclude graph tracing); alternated ``repeats`` times, best of each."""
    import keras
    import numpy as np
    import tensorflow as tf

    from datacraft.train import data as D
    from datacraft.train.loop import compile_model
    from datacraft.train.model import ModelSpec, build_model
    from datacraft.train.tokenizer import TextTokenizer

    tok = TextTokenizer.load(model_dir / "tokenizer.json")
    L, bs = cfg.data.seq_len, cfg.batch_size
    cache = model_dir / "cache/train.parquet"
    n = steps * bs
    arrs = []
    for w in D.lm_windows(cache, L, tok.eos_id):
        arrs.append(w)
        if len(arrs) == n:
            break
    arr = np.stack(arrs)
    x_mem, y_mem = arr[:, :-1], arr[:, 1:]

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.last = time.perf_counter() - self.t

    def fresh():
        keras.utils.set_random_seed(cfg.seed)
        m = build_model(ModelSpec.from_config(cfg, tok.vocab_size))
        compile_model(m, cfg, steps)
        return m

    sig = (tf.TensorSpec((None, L), tf.int32), tf.TensorSpec((None, L), tf.int32))
    best = {"streaming tf.data": 0.0, "in-memory arrays": 0.0}
    for _ in range(repeats):
        m, tm = fresh(), Timer()
        ds = D.make_dataset(
            lambda e: D.lm_batches(cache, L, bs, tok.eos_id, seed=cfg.seed, epoch=e, buffer=cfg.data.shuffle_buffer),
            sig,
            epochs=range(0, 2),
        )
        m.fit(ds, epochs=2, steps_per_epoch=steps, verbose=0, callbacks=[tm], shuffle=False)
        best["streaming tf.data"] = max(best["streaming tf.data"], n * L / tm.last)
        m, tm = fresh(), Timer()
        m.fit(x_mem, y_mem, batch_size=bs, epochs=2, verbose=0, callbacks=[tm], shuffle=True)
        best["in-memory arrays"] = max(best["in-memory arrays"], n * L / tm.last)
    return best


ALL = ("lm", "throughput", "lang", "quality")


def markdown(r: dict) -> str:
    """The figures of a results.json as Markdown tables."""
    lines = []
    if "lm" in r:
        lm = r["lm"]
        b = lm["baselines"]
        lines += [
            f"LM on held-out prose ({b['tokens']} validation target tokens, {b['train_tokens']} training tokens,"
            f" byte-level BPE vocab {lm['tokenizer']['vocab_size']}):",
            "",
            "| model | perplexity |",
            "|---|---|",
            f"| LSTM + causal attention ({len(lm['history'])} epochs) | **{lm['model']['perplexity']:.2f}** "
            f"(acc {lm['model']['accuracy']:.3f}, top-5 {lm['model']['top5_accuracy']:.3f}) |",
        ]
        lines += [f"| {k} | {v:.2f} |" for k, v in b.items() if k not in ("tokens", "train_tokens")]
        lines.append("")
    if "tokenizers" in r:
        lines += ["| tokenizer | vocab | unk rate | tokens/doc | chars/token | train s |", "|---|---|---|---|---|---|"]
        for k, t in r["tokenizers"].items():
            lines.append(
                f"| {k} | {t['vocab_size']} | {t['unk_rate']:.4%} | {t['tokens_per_doc']:.1f} | "
                f"{t['chars_per_token']:.2f} | {t['train_s']:.2f} |"
            )
        lines.append("")
    if "throughput" in r:
        lines += ["| training input | tokens/s |", "|---|---|"]
        lines += [f"| {k} | {v:,.0f} |" for k, v in r["throughput"].items()]
        lines.append("")
    if any(n in r for n in ("lang", "quality")):
        lines += ["| classifier (val split) | accuracy | macro F1 | AUC-ROC | P@10 | nDCG@10 | best epoch |"]
        lines += ["|---|---|---|---|---|---|---|"]
    for name in ("lang", "quality"):
        if name not in r:
            continue
        c = r[name]
        if "skipped" in c:
            lines.append(f"{name}: skipped ({c['skipped']})")
            continue
        m = c["metrics"]
        auc = "n/a" if m.get("auc_roc") is None else f"{m['auc_roc']:.3f}"
        lines.append(
            f"| {name} ({c['classes']} classes, {m['documents']} docs) | {m['accuracy']:.3f} | "
            f"{m['macro_f1']:.3f} | {auc} | {m['precision_at_10']:.3f} | "
            f"{m['ndcg_at_10']:.3f} | {c['best_epoch']} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(REPO / "bench/out/train"), help="work directory")
    ap.add_argument("--lm-docs", type=int, default=300, help="documents of prose used, books first (0: all)")
    ap.add_argument("--lm-epochs", type=int, default=2)
    ap.add_argument("--cls-epochs", type=int, default=6)
    ap.add_argument("--throughput-steps", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--skip", nargs="*", default=[], choices=["lm", "throughput", "lang", "quality"])
    ap.add_argument("--markdown", metavar="RESULTS_JSON", help="only print the Markdown of an earlier run")
    args = ap.parse_args()
    if args.markdown:
        print(markdown(json.loads(Path(args.markdown).read_text())))
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(REPO))
    from datacraft.train.config import load_train_config
    from datacraft.train.loop import fit
    from datacraft.train.metrics import evaluate
    from datacraft.train.modeldir import load_model_dir

    out = Path(args.out)
    results: dict = {}
    t_all = time.perf_counter()
    if "lm" not in args.skip or "throughput" not in args.skip:
        prose = curate(
            # books first: --lm-docs keeps the 3 whole books plus the first KJV chapters
            [str(REPO / "data/sample/gutenberg-books-raw.jsonl.gz"), str(REPO / "data/sample/kjv-chapters.jsonl.zst")],
            out / "prose",
        )
        sets = [f"epochs={args.lm_epochs}"] + ([f"data.max_docs={args.lm_docs}"] if args.lm_docs else [])
        cfg = load_train_config(REPO / "configs/train-lm.yaml", sets)
        t0 = time.perf_counter()
        fit(prose, cfg, out / "lm", quiet=True)
        if "lm" not in args.skip:
            loaded = load_model_dir(out / "lm")
            ev = evaluate(loaded, prose, "val", 64, 10)
            tok = loaded.tokenizer
            ng = ngram_perplexities(out / "lm", cfg.data.seq_len, tok.eos_id, tok.vocab_size)
            results["lm"] = {
                "seconds": time.perf_counter() - t0,
                "model": {k: ev[k] for k in ("loss", "perplexity", "accuracy", "top5_accuracy", "tokens_scored")},
                "baselines": ng,
                "tokenizer": loaded.manifest["data"]["tokens"]["train"],
                "history": loaded.manifest["history"],
            }
            results["tokenizers"] = compare_tokenizers(prose, cfg.tokenizer.vocab_size, args.lm_docs or None)
        if "throughput" not in args.skip:
            results["throughput"] = throughput(out / "lm", cfg, args.throughput_steps, args.repeats)
    for name, path, conf in (
        ("lang", SHARED / "langid/udhr_55.jsonl", "train-lang.yaml"),
        ("quality", SHARED / "quality/dclm_quality_labeled.jsonl", "train-quality.yaml"),
    ):
        if name in args.skip:
            continue
        if not path.exists():
            results[name] = {"skipped": f"{path} not present"}
            continue
        data = curate([str(path)], out / f"{name}-data")
        cfg = load_train_config(REPO / "configs" / conf, [f"epochs={args.cls_epochs}"])
        t0 = time.perf_counter()
        fit(data, cfg, out / name, quiet=True)
        loaded = load_model_dir(out / name)
        ev = evaluate(loaded, data, "val", 64, 10)
        results[name] = {
            "seconds": time.perf_counter() - t0,
            "metrics": {k: v for k, v in ev.items() if k not in ("confusion_matrix", "per_class", "labels", "data")},
            "classes": len(loaded.labels),
            "best_epoch": loaded.manifest["best_epoch"],
            "tokenizer": loaded.manifest["data"]["tokens"]["train"],
        }
    results["total_seconds"] = time.perf_counter() - t_all
    out.mkdir(parents=True, exist_ok=True)
    name = "results.json" if not args.skip else f"results-{'-'.join(sorted(set(ALL) - set(args.skip)))}.json"
    (out / name).write_text(json.dumps(results, indent=2, default=str))
    print(json.dumps(results, indent=2, default=str))
    print(markdown(json.loads(json.dumps(results, default=str))))


if __name__ == "__main__":
    main()
