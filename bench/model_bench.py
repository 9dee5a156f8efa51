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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["configs", "generate", "device"])
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
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.mode == "configs":
        rows = mode_configs(args)
        print(json.dumps(rows, indent=2) if args.json else configs_markdown(rows))
    elif args.mode == "generate":
        r = mode_generate(args)
        print(json.dumps(r, indent=2))
    else:
        print(json.dumps(mode_device(args)))


if __name__ == "__main__":
    main()
