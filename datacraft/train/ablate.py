"""Data ablation: the same model, the same token budget and the same tokenizer on each data variant
(raw, curated, intermediate outputs), all evaluated on one clean held-out set.

```
OUT/
  tokenizer.json          learned once from the first variant's training split (or --tokenizer), shared
  models/NAME/            one model directory per variant (``datacraft train`` layout, resumable)
  ablation.json           config, per-variant data, budget and held-out metrics
  ablation.md             the table
  ablation.png            held-out perplexity per variant and the training loss curves
```
Perplexities are comparable because every model uses the same tokenizer; bits per character are
also given (tokenizer independent).
"""

from __future__ import annotations

import math
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datacraft.errors import ConfigError
from datacraft.io.atomic import write_text_atomic
from datacraft.report.charts import save_png
from datacraft.train import data as D
from datacraft.train.config import TrainConfig
from datacraft.train.modeldir import write_json
from datacraft.train.tokenizer import TextTokenizer

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Variant:
    """One training data variant: a plain name and a curated-Parquet path (run dir, folder, file or glob)."""

    name: str
    data: str


def parse_variant(spec: str) -> Variant:
    """``NAME=PATH`` → :class:`Variant` (a clear error otherwise)."""
    name, sep, path = spec.partition("=")
    name, path = name.strip(), path.strip()
    if not sep or not path:
        raise ConfigError(f"--variant {spec!r}: expected NAME=PATH, e.g. normalized=out/normalized")
    if not NAME_RE.match(name):
        raise ConfigError(f"--variant {spec!r}: name must be letters, digits, '_', '.', '-'")
    return Variant(name, path)


def check_variants(variants: list[Variant]) -> None:
    """At least two variants with distinct names, each naming readable Parquet data."""
    if len(variants) < 2:
        raise ConfigError("an ablation needs at least two data variants (e.g. raw and curated)")
    names = [v.name for v in variants]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"variant name(s) used twice: {', '.join(dup)}")
    for v in variants:
        D.parquet_files(v.data)  # InputError naming the path when it holds no Parquet


def ablation_config(cfg: TrainConfig, max_train_tokens: int | None, tokenizer: Path) -> TrainConfig:
    """The per-variant config: LM, the token budget, the shared tokenizer, no early stopping."""
    if cfg.task != "lm":
        raise ConfigError("ablate compares language models: the training config must have task: lm")
    budget = max_train_tokens or cfg.max_train_tokens
    if budget is None:
        raise ConfigError("ablate needs a token budget: --tokens N or max_train_tokens in the training config")
    raw = cfg.model_dump(mode="json")
    raw.update(max_train_tokens=budget, early_stopping_patience=None)
    raw["tokenizer"]["from_file"] = str(tokenizer)
    from datacraft.train.config import build_train_config

    return build_train_config(raw, source="ablation config")


def shared_tokenizer(variants: list[Variant], cfg: TrainConfig, path: Path, given: str | None) -> TextTokenizer:
    """Load ``given``, or learn the tokenizer from the first variant's training split; saved at ``path``
    (rewritten only when it changes, so a rerun resumes the models trained with it)."""
    if given:
        tok = TextTokenizer.load(given)
    else:
        tok = TextTokenizer.train(D.train_texts(D.parquet_files(variants[0].data), cfg, set()), cfg.tokenizer)
    text = tok.tok.to_str()
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        write_text_atomic(path, text)
    return tok


def bits_per_char(loss_nats_per_token: float, chars_per_token: float) -> float | None:
    """Tokenizer-independent loss: nats/token → bits/character (character count of the scored text)."""
    if not chars_per_token:
        return None
    return loss_nats_per_token / math.log(2) / chars_per_token


def run_ablation(
    variants: list[Variant],
    eval_data: str,
    cfg: TrainConfig,
    out: str | Path,
    *,
    max_train_tokens: int | None = None,
    tokenizer: str | None = None,
    batch_size: int = 64,
    quiet: bool = False,
    force: bool = False,
) -> dict[str, Any]:
    """Train one model per variant under the same budget and tokenizer, evaluate each on ``eval_data``
    and write ``ablation.{json,md,png}`` to ``out``; returns the JSON document."""
    from datacraft.train.loop import fit
    from datacraft.train.metrics import encode_eval_data, evaluate_lm
    from datacraft.train.modeldir import load_model_dir

    check_variants(variants)
    D.parquet_files(eval_data)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tok_path = out / "tokenizer.json"
    shared_tokenizer(variants, cfg, tok_path, tokenizer)
    vcfg = ablation_config(cfg, max_train_tokens, tok_path.resolve())
    rows: list[dict[str, Any]] = []
    for i, v in enumerate(variants):
        if not quiet:
            import sys

            sys.stderr.write(f"[{i + 1}/{len(variants)}] training on {v.name} ({v.data})\n")
        model_dir = out / "models" / v.name
        fit(v.data, vcfg, model_dir, quiet=quiet, force=force)
        loaded = load_model_dir(model_dir)
        with tempfile.TemporaryDirectory(prefix="datacraft-ablate-") as tmp:
            cache, info = encode_eval_data(loaded, eval_data, "all", Path(tmp))
            ev = evaluate_lm(loaded, cache, batch_size)
        m = loaded.manifest
        train_tok = m["data"]["tokens"]["train"]
        available = m["data"]["tokens_with_eos"]["train"]
        trained = int(m.get("train_tokens") or 0)
        rows.append(
            {
                "name": v.name,
                "data": v.data,
                "train_docs": train_tok["docs"],
                "train_tokens_available": available,
                "train_tokens": trained,
                "passes": trained / available if available else None,
                "epochs": len(m.get("history", [])),
                "final_train_loss": (m.get("history") or [{}])[-1].get("loss"),
                "heldout_loss": ev["loss"],
                "heldout_perplexity": ev["perplexity"],
                "heldout_accuracy": ev["accuracy"],
                "heldout_top5": ev["top5_accuracy"],
                "heldout_bits_per_char": bits_per_char(ev["loss"], info["tokens"]["chars_per_token"]),
                "heldout_tokens_scored": ev["tokens_scored"],
                "history": m.get("history", []),
                "model_dir": str(model_dir),
            }
        )
    base = rows[0]["heldout_perplexity"]
    for r in rows:
        r["perplexity_vs_first"] = r["heldout_perplexity"] / base - 1.0
    result = {
        "eval_data": eval_data,
        "baseline": rows[0]["name"],
        "budget_tokens": vcfg.max_train_tokens,
        "tokenizer": {"path": str(tok_path), "source": tokenizer or f"learned from {variants[0].name}"},
        "config": vcfg.model_dump(mode="json"),
        "variants": rows,
    }
    write_json(out / "ablation.json", result)
    write_text_atomic(out / "ablation.md", markdown_table(result) + "\n")
    plot_ablation(result, out / "ablation.png")
    return result


def markdown_table(result: dict[str, Any]) -> str:
    """The ablation as a markdown table (one row per variant)."""
    lines = [
        f"Held-out: `{result['eval_data']}`; every model trained on {result['variants'][0]['train_tokens']:,} tokens "
        f"with the same tokenizer ({result['tokenizer']['source']}) and seed {result['config']['seed']}.",
        "",
        "| variant | train docs | tokens available | tokens trained | passes | held-out loss | held-out ppl "
        f"| Δ ppl vs {result['baseline']} | bits/char | next-token acc |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["variants"]:
        bpc = "n/a" if r["heldout_bits_per_char"] is None else f"{r['heldout_bits_per_char']:.3f}"
        lines.append(
            f"| {r['name']} | {r['train_docs']:,} | {r['train_tokens_available']:,} | {r['train_tokens']:,} "
            f"| {r['passes']:.2f} | {r['heldout_loss']:.4f} | {r['heldout_perplexity']:.2f} "
            f"| {r['perplexity_vs_first']:+.1%} | {bpc} | {r['heldout_accuracy']:.4f} |"
        )
    return "\n".join(lines)


def plot_ablation(result: dict[str, Any], path: Path) -> None:
    """Bar chart of held-out perplexity per variant, beside each variant's training loss by epoch."""

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["variants"]
    names = [r["name"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    bars = ax1.bar(names, [r["heldout_perplexity"] for r in rows], color="#4c72b0")
    ax1.bar_label(bars, fmt="%.1f")
    ax1.set_ylabel("held-out perplexity (lower is better)")
    ax1.set_title(f"same {rows[0]['train_tokens']:,} training tokens")
    for r in rows:
        h = r["history"]
        if h:
            ax2.plot([e["epoch"] for e in h], [e["loss"] for e in h], marker="o", label=r["name"])
    ax2.set_xlabel("epoch (equal share of the token budget)")
    ax2.set_ylabel("training loss")
    ax2.legend()
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
