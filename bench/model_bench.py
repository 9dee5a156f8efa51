"""Model benchmarks of issue 16, one figure set per mode, printed as Markdown (and JSON with --json).

  configs   train configs/train-demo.yaml on out/demo-dedup and configs/train-lm.yaml on bundled prose,
            then `datacraft evaluate --split val` (neural LM next to add-1 unigram, add-k bigram and
            Kneser-Ney 2..5 fitted on the same training split, scored on the same tokens); the training
            cost is kept in OUT/NAME.train.json, and --reuse evaluates complete models again without
            retraining (--skip-demo / --skip-lm: one config only)
  generate  ms/token of greedy generation: re-running the window per token (before) vs the stateful
            step decoder (after), same model, same prompt, same tokens
  device    training tokens/s of the train-lm model on synthetic token windows on this process's
            devices (bench/gpu.sh runs it with and without a GPU and prints the speed-up)
  stream    peak RSS of the LM data path (tokenizer + token cache, then one epoch of batches) and of
            a whole tiny `datacraft train`, at 1x, 10x and 30x a corpus (the bundled prose replicated
            with new ids), each in a fresh process; --old-src DIR runs the same with an older
            checkout's `datacraft` package side by side
  feed      training tokens per CPU-second of the same model fed by the streamed token cache
            (tf.data) vs a plain `model.fit` on in-memory numpy arrays of the same windows

CPU seconds are process CPU time (user + system, children included), next to wall seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def cpu_seconds() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def datacraft(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, "-m", "datacraft", *args], check=True, env=env, capture_output=True, text=True
    )


def prose(out: Path) -> Path:
    """The bundled public-domain prose (3 Gutenberg books + KJV chapters), curated with apply normalize."""
    dest = out / "prose"
    if not (dest / "stats.json").exists():
        datacraft(
            "apply", "normalize", "-q", "-o", str(dest),
            "-i", str(REPO / "data/sample/gutenberg-books-raw.jsonl.gz"),
            "-i", str(REPO / "data/sample/kjv-chapters.jsonl.zst"),
        )  # fmt: skip
    return dest


def books(out: Path) -> Path:
    """The 3 bundled Gutenberg books alone (a smaller base corpus), curated with apply normalize."""
    dest = out / "books"
    if not (dest / "stats.json").exists():
        src = REPO / "data/sample/gutenberg-books-raw.jsonl.gz"
        datacraft("apply", "normalize", "-q", "-o", str(dest), "-i", str(src))
    return dest


def train_and_evaluate(
    name: str, data: Path, config: Path, out: Path, sets: list[str], reuse: bool = False
) -> dict[str, Any]:
    """`datacraft train` then `datacraft evaluate --split val --json`, with wall and CPU seconds.

    The training cost is recorded in ``OUT/NAME.train.json``; with ``reuse`` a complete model already
    in ``OUT/NAME`` (same config, else `datacraft train` refuses) is evaluated again with its recorded cost."""
    model, timing = out / name, out / f"{name}.train.json"
    argv = ["train", str(data), "-c", str(config), "-o", str(model), "-q", *[a for s in sets for a in ("--set", s)]]
    if reuse and timing.exists() and (model / "datacraft_model.json").exists():
        datacraft(*argv)  # a no-op for a complete model of this config; an error for another config
        cost = json.loads(timing.read_text())
    else:
        t0, c0 = time.perf_counter(), cpu_seconds()
        datacraft(*argv, *(["--force"] if model.exists() else []))
        cost = {"train_wall_s": time.perf_counter() - t0, "train_cpu_s": cpu_seconds() - c0}
        timing.write_text(json.dumps(cost))
    train_wall, train_cpu = cost["train_wall_s"], cost["train_cpu_s"]
    res = json.loads(datacraft("evaluate", str(model), str(data), "--split", "val", "--json", "-q").stdout)
    manifest = json.loads((model / "datacraft_model.json").read_text())
    return {
        "name": name,
        "config": str(config.relative_to(REPO)),
        "sets": sets,
        "train_wall_s": train_wall,
        "train_cpu_s": train_cpu,
        "epochs_run": len(manifest["history"]),
        "val_ppl_by_epoch": [math.exp(h["val_loss"]) for h in manifest["history"] if "val_loss" in h],
        "train_tokens": manifest["data"]["tokens_with_eos"]["train"],
        "vocab": manifest["data"]["tokens"]["train"]["vocab_size"],
        "eval": {k: v for k, v in res.items() if k != "data"},
    }


def mode_configs(args: argparse.Namespace) -> list[dict[str, Any]]:
    out = Path(args.out)
    rows = []
    demo = REPO / "out/demo-dedup"
    if args.skip_demo:
        pass
    elif demo.exists():
        rows.append(train_and_evaluate("demo", demo, REPO / "configs/train-demo.yaml", out, [], args.reuse))
    else:
        print(f"skipping demo: {demo} missing (make dedup-demo)", file=sys.stderr)
    if not args.skip_lm:
        rows.append(train_and_evaluate("lm", prose(out), REPO / "configs/train-lm.yaml", out, args.lm_set, args.reuse))
    return rows


def configs_markdown(rows: list[dict[str, Any]]) -> str:
    lines = []
    for r in rows:
        ev = r["eval"]
        base = ev["baselines"]["models"]
        lines += [
            f"**{r['name']}** (`{r['config']}`{' ' + ' '.join(r['sets']) if r['sets'] else ''}; "
            f"{r['epochs_run']} epochs on {r['train_tokens']:,} training tokens, vocab {r['vocab']}; train "
            f"{r['train_wall_s']:.0f} s wall, {r['train_cpu_s']:.0f} CPU-s): validation perplexity on the same "
            f"{ev['tokens_scored']:,} target tokens",
            "",
            "| model | perplexity |",
            "|---|---|",
            f"| LSTM + causal attention (this config) | **{ev['perplexity']:.2f}** |",
        ]
        lines += [f"| {m['model']} | {m['perplexity']:.2f} |" for m in base]
        by_epoch = ", ".join(f"{p:.2f}" for p in r.get("val_ppl_by_epoch", []))
        lines += ["", f"Validation perplexity after each epoch (training log): {by_epoch}", ""]
    return "\n".join(lines)


def mode_generate(args: argparse.Namespace) -> dict[str, Any]:
    """Greedy decoding of the same prompt both ways; the token sequences must agree."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(REPO))
    from datacraft.train.infer import GenerateOptions, generate, window_generate
    from datacraft.train.modeldir import load_model_dir

    loaded = load_model_dir(args.model)
    prompt, n = args.prompt, args.tokens
    window_generate(loaded, prompt, 2)  # warm-up (tracing)
    generate(loaded, prompt, GenerateOptions(max_tokens=2, temperature=0))
    res: dict[str, Any] = {"model": args.model, "prompt": prompt, "seq_len": loaded.length}
    best = {"window": float("inf"), "stateful": float("inf")}
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        old = window_generate(loaded, prompt, n)
        best["window"] = min(best["window"], (time.perf_counter() - t0) * 1000 / max(1, len(old)))
        t0 = time.perf_counter()
        text = generate(loaded, prompt, GenerateOptions(max_tokens=n, temperature=0))
        new = loaded.tokenizer.encode(text)
        best["stateful"] = min(best["stateful"], (time.perf_counter() - t0) * 1000 / max(1, len(new)))
    res.update(
        ms_per_token_window=best["window"],
        ms_per_token_stateful=best["stateful"],
        tokens=len(old),
        same_prefix_tokens=next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), len(old)),
    )
    return res


def mode_device(args: argparse.Namespace) -> dict[str, Any]:
    """tokens/s of `steps` training steps (after one warm-up epoch) on synthetic windows."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(REPO))
    import keras
    import numpy as np
    import tensorflow as tf

    from datacraft.train.config import load_train_config
    from datacraft.train.loop import compile_model
    from datacraft.train.model import ModelSpec, build_model

    cfg = load_train_config(REPO / "configs/train-lm.yaml", args.set)
    L, bs, V = cfg.data.seq_len, cfg.batch_size, cfg.tokenizer.vocab_size
    rng = np.random.default_rng(0)
    x = rng.integers(3, V, (args.steps * bs, L + 1)).astype("int32")
    keras.utils.set_random_seed(0)
    model = build_model(ModelSpec.from_config(cfg, V))
    compile_model(model, cfg, args.steps)
    model.fit(x[:, :-1], x[:, 1:], batch_size=bs, epochs=1, verbose=0)  # warm-up: tracing, XLA
    t0 = time.perf_counter()
    model.fit(x[:, :-1], x[:, 1:], batch_size=bs, epochs=1, verbose=0)
    secs = time.perf_counter() - t0
    return {
        "devices": [d.name for d in tf.config.list_logical_devices() if d.device_type in ("CPU", "GPU")],
        "gpu": bool(tf.config.list_logical_devices("GPU")),
        "sets": args.set,
        "tokens_per_s": args.steps * bs * L / secs,
        "steps": args.steps,
    }


# --- stream: RSS vs corpus size -----------------------------------------------------------------

TINY_LM = """task: lm
seed: 7
epochs: 1
batch_size: 32
max_train_tokens: {budget}
early_stopping_patience: null
data: {{text_column: text, id_column: id, val_fraction: 0.05, seq_len: 64, shuffle_buffer: 4096}}
tokenizer: {{kind: bpe, vocab_size: 512, min_frequency: 2}}
model: {{embed_dim: 16, rnn: gru, rnn_units: 32, attention_heads: 1, attention_dim: 8, dropout: 0.0}}
optimizer: {{name: adam, learning_rate: 0.005, schedule: constant}}
"""


CHUNK_CHARS = 4000


def replicate(src: Path, times: int, dest: Path) -> Path:
    """``times`` copies of the curated Parquet ``src``, documents cut into ``CHUNK_CHARS`` pieces
    (ids ``ID:piece#copy``), one output file per copy, streamed (the bench must not hold the corpus)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if (dest / "_done").exists():
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    files = sorted((src / "data").glob("*.parquet"))
    for r in range(times):
        schema = pa.schema([("id", pa.string()), ("text", pa.string())])
        with pq.ParquetWriter(dest / f"part-{r:03d}.parquet", schema) as w:
            for f in files:
                for b in pq.ParquetFile(f).iter_batches(batch_size=64, columns=["id", "text"]):
                    ids, texts = [], []
                    for i, t in zip(b.column("id").to_pylist(), b.column("text").to_pylist(), strict=True):
                        for j in range(0, len(t), CHUNK_CHARS):  # books → many documents (a val split)
                            ids.append(f"{i}:{j // CHUNK_CHARS}#{r}")
                            texts.append(t[j : j + CHUNK_CHARS])
                    w.write_table(pa.table({"id": ids, "text": texts}))
    (dest / "_done").write_text("ok")
    return dest


DATAPATH_WORKER = r"""
import json, os, resource, sys, time
from pathlib import Path
data, out, config, flavour = sys.argv[1:5]
from datacraft.train import data as D
from datacraft.train.config import load_train_config
from datacraft.train import loop

def hwm_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

def reset_hwm():
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")

cfg = load_train_config(config)
files = D.parquet_files(data)
Path(out).mkdir(parents=True, exist_ok=True)
reset_hwm()
base = hwm_mb()
c0 = time.process_time()
if flavour == "new":
    from datacraft.train.identity import data_identity
    tok, labels, info = loop.prepare_data(files, cfg, Path(out), None, data_identity(files))
else:
    tok, labels, info = loop.prepare_data(files, cfg, Path(out), None)
prep_cpu = time.process_time() - c0
prep = hwm_mb()
reset_hwm()
L, bs = cfg.data.seq_len, cfg.batch_size
c0 = time.process_time()
if flavour == "new":
    from datacraft.train.tokfile import TokenFile
    from datacraft.train.windows import lm_batches
    kw = dict(seed=cfg.seed, epoch=0, buffer=cfg.data.shuffle_buffer)
    gen = lm_batches(TokenFile.open(Path(out) / "cache", "train"), L, bs, **kw)
else:
    kw = dict(seed=cfg.seed, epoch=0, buffer=cfg.data.shuffle_buffer)
    gen = D.lm_batches(Path(out) / "cache/train.parquet", L, bs, tok.eos_id, **kw)
batches = sum(1 for _ in gen)
print(json.dumps({
    "after_imports_mb": base, "prepare_peak_mb": prep, "epoch_peak_mb": hwm_mb(),
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "train_tokens": info["tokens_with_eos"]["train"], "batches": batches,
    "prepare_cpu_s": prep_cpu, "epoch_cpu_s": time.process_time() - c0,
}))
"""

CHILD_RSS = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024); sys.exit(r.returncode)"
)


def _env(src: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(src), "TF_CPP_MIN_LOG_LEVEL": "2"}


def mode_stream(args: argparse.Namespace) -> dict[str, Any]:
    """Peak RSS (MiB) of the data path and of a whole tiny train, per corpus multiple and code version."""
    import shutil

    out = Path(args.out) / "stream"
    base = prose(Path(args.out)) if args.base == "prose" else books(Path(args.out))
    conf = out / "tiny-lm.yaml"
    out.mkdir(parents=True, exist_ok=True)
    conf.write_text(TINY_LM.format(budget=args.train_steps * 32 * 64))
    versions = {"new": REPO} | ({"old": Path(args.old_src)} if args.old_src else {})
    res: dict[str, Any] = {"times": args.times, "rows": []}
    for k in args.times:
        data = replicate(base, k, out / f"corpus-{args.base}-c{CHUNK_CHARS}-x{k}")
        for name, src in versions.items():
            for what in args.what:
                work = out / f"{what}-{name}-x{k}"
                shutil.rmtree(work, ignore_errors=True)
                t0 = time.perf_counter()
                if what == "datapath":
                    cmd = [sys.executable, "-P", "-c", DATAPATH_WORKER, str(data), str(work), str(conf), name]
                    r = subprocess.run(cmd, env=_env(src), capture_output=True, text=True)
                    if r.returncode:
                        raise SystemExit(f"data path ({name}) failed: {r.stderr[-2000:]}")
                    row = json.loads(r.stdout.strip().splitlines()[-1])
                else:
                    cmd = [sys.executable, "-P", "-m", "datacraft", "train", str(data), "-c", str(conf)]
                    cmd += ["-o", str(work)]
                    c0 = cpu_seconds()
                    wrapped = [sys.executable, "-c", CHILD_RSS, *cmd, "-q"]
                    r = subprocess.run(wrapped, env=_env(src), capture_output=True, text=True)
                    if r.returncode:
                        raise SystemExit(f"{cmd} failed: {r.stderr[-2000:]}")
                    row = {"peak_mb": float(r.stdout.strip().splitlines()[-1]), "cpu_s": cpu_seconds() - c0}
                    manifest = json.loads((work / "datacraft_model.json").read_text())
                    row["train_tokens"] = manifest["data"]["tokens_with_eos"]["train"]
                row.update(what=what, version=name, times=k, wall_s=time.perf_counter() - t0)
                print(json.dumps(row), file=sys.stderr, flush=True)
                res["rows"].append(row)
                shutil.rmtree(work, ignore_errors=True)
    return res


def stream_markdown(res: dict[str, Any]) -> str:
    rows = res["rows"]
    lines = ["| path | code | corpus | training tokens | peak RSS MiB | prepare peak | epoch-of-batches peak | CPU s |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        cpu = r.get("cpu_s", r.get("prepare_cpu_s", 0) + r.get("epoch_cpu_s", 0))
        lines.append(
            f"| {r['what']} | {r['version']} | {r['times']}x | {r['train_tokens']:,} | {r['peak_mb']:,.0f} | "
            f"{r.get('prepare_peak_mb', float('nan')):,.0f} | {r.get('epoch_peak_mb', float('nan')):,.0f} | {cpu:.1f} |"
        )
    return "\n".join(lines)


# --- feed: tokens per CPU-second, streamed vs in-memory ----------------------------------------


def mode_feed(args: argparse.Namespace) -> dict[str, Any]:
    """Same model, same windows, same batch size: fed by tf.data from the token cache vs numpy arrays.
    Each timed epoch follows a warm-up epoch (tracing); alternated ``repeats`` times, best of each."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(REPO))
    import keras
    import numpy as np
    import tensorflow as tf

    from datacraft.train import data as D
    from datacraft.train.config import load_train_config
    from datacraft.train.identity import data_identity
    from datacraft.train.loop import compile_model, prepare_data
    from datacraft.train.model import ModelSpec, build_model
    from datacraft.train.tokfile import TokenFile
    from datacraft.train.windows import lm_batches

    cfg = load_train_config(REPO / "configs/train-lm.yaml", args.set)
    work = Path(args.out) / "feed"
    if not (work / "cache/meta.json").exists():
        work.mkdir(parents=True, exist_ok=True)
        files = D.parquet_files(prose(Path(args.out)))
        prepare_data(files, cfg, work, None, data_identity(files))
    tok = TokenFile.open(work / "cache", "train")
    from datacraft.train.tokenizer import TextTokenizer

    vocab = TextTokenizer.load(work / "tokenizer.json").vocab_size
    L, bs, steps = cfg.data.seq_len, cfg.batch_size, args.steps
    n = steps * bs
    batches = list(lm_batches(tok, L, bs, seed=cfg.seed, epoch=0, buffer=cfg.data.shuffle_buffer))[:steps]
    x_mem = np.concatenate([b[0] for b in batches])
    y_mem = np.concatenate([b[1] for b in batches])
    del batches

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.t, self.c = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.wall, self.cpu = time.perf_counter() - self.t, time.process_time() - self.c

    def fresh() -> Any:
        keras.utils.set_random_seed(cfg.seed)
        m = build_model(ModelSpec.from_config(cfg, vocab))
        compile_model(m, cfg, steps)
        return m

    sig = (tf.TensorSpec((None, L), tf.int32), tf.TensorSpec((None, L), tf.int32))
    best: dict[str, dict[str, float]] = {}
    for _ in range(args.repeats):
        for name in ("streamed token cache → tf.data", "in-memory numpy arrays"):
            m, tm = fresh(), Timer()
            if name.startswith("streamed"):
                ds = D.make_dataset(
                    lambda e: lm_batches(tok, L, bs, seed=cfg.seed, epoch=e, buffer=cfg.data.shuffle_buffer),
                    sig,
                    epochs=range(0, 2),
                )
                m.fit(ds, epochs=2, steps_per_epoch=steps, verbose=0, callbacks=[tm], shuffle=False)
            else:
                m.fit(x_mem, y_mem, batch_size=bs, epochs=2, verbose=0, callbacks=[tm], shuffle=True)
            row = {"tokens_per_cpu_s": n * L / tm.cpu, "tokens_per_s": n * L / tm.wall, "cpu_s": tm.cpu}
            if name not in best or row["tokens_per_cpu_s"] > best[name]["tokens_per_cpu_s"]:
                best[name] = row
    return {"steps": steps, "batch": bs, "seq_len": L, "tokens_per_epoch": n * L, "sets": args.set, "best": best}


def feed_markdown(res: dict[str, Any]) -> str:
    lines = ["| training input | tokens / CPU-s | tokens / s (wall) | CPU s per epoch |", "|---|---|---|---|"]
    for k, v in res["best"].items():
        lines.append(f"| {k} | {v['tokens_per_cpu_s']:,.0f} | {v['tokens_per_s']:,.0f} | {v['cpu_s']:.1f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["configs", "generate", "device", "stream", "feed"])
    ap.add_argument("--out", default=str(REPO / "bench/out/model"))
    ap.add_argument("--skip-lm", action="store_true", help="configs: only the demo config")
    ap.add_argument("--skip-demo", action="store_true", help="configs: only the LM config")
    ap.add_argument("--reuse", action="store_true", help="configs: evaluate complete models again, cost as recorded")
    ap.add_argument("--lm-set", nargs="*", default=[], help="configs: --set overrides for train-lm.yaml")
    ap.add_argument("--model", help="generate: a trained LM directory")
    ap.add_argument("--prompt", default="And God said")
    ap.add_argument("--tokens", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=30, help="device: timed training steps")
    ap.add_argument("--set", nargs="*", default=[], help="device: --set overrides (precision=..., jit_compile=...)")
    ap.add_argument("--times", nargs="*", type=int, default=[1, 10, 30], help="stream: corpus multiples")
    ap.add_argument("--what", nargs="*", default=["datapath", "train"], choices=["datapath", "train"])
    ap.add_argument("--old-src", help="stream: a directory holding an older `datacraft` package to compare")
    ap.add_argument("--base", choices=["books", "prose"], default="books", help="stream: the 1x corpus")
    ap.add_argument("--train-steps", type=int, default=100, help="stream: training steps of the tiny train")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.mode == "configs":
        rows = mode_configs(args)
        print(json.dumps(rows, indent=2) if args.json else configs_markdown(rows))
    elif args.mode == "generate":
        r = mode_generate(args)
        print(json.dumps(r, indent=2))
    elif args.mode == "stream":
        r = mode_stream(args)
        print(json.dumps(r, indent=2) if args.json else stream_markdown(r))
    elif args.mode == "feed":
        r = mode_feed(args)
        print(json.dumps(r, indent=2) if args.json else feed_markdown(r))
    else:
        print(json.dumps(mode_device(args)))


if __name__ == "__main__":
    main()
