"""``datacraft evaluate MODEL_DIR DATA``."""

from __future__ import annotations

import json

import click

from datacraft.cli.options import quiet_option


@click.command()
@click.argument("model_dir", metavar="MODEL_DIR")
@click.argument("data", metavar="DATA")
@click.option(
    "--split",
    type=click.Choice(["all", "val", "train"]),
    default="all",
    show_default=True,
    help="All documents of DATA, or only those in the model's own validation/training split.",
)
@click.option(
    "--kfold", type=click.IntRange(min=2), default=None, help="Stratified K-fold CV of the classifier config."
)
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="--kfold: epochs per fold (default: config).")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option(
    "--k", "top_k", type=click.IntRange(min=1), default=10, show_default=True, help="k of precision@k, nDCG@k."
)
@click.option(
    "--baseline",
    type=click.Choice(["ngram", "none"]),
    default="ngram",
    show_default=True,
    help="LM: also fit add-1 unigram, add-k bigram and interpolated Kneser-Ney n-grams on the model's "
    "training split and score them on the same tokens.",
)
@click.option("--max-order", type=click.IntRange(2, 5), default=5, show_default=True, help="Highest Kneser-Ney order.")
@click.option(
    "--max-docs",
    type=click.IntRange(min=0),
    default=None,
    help="Read only the first N documents of DATA (0: all). Default: the model's data.max_docs for "
    "--split val/train (the split it made of the documents it read) and for --kfold (the documents its "
    "config trains on), all documents for --split all.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON on stdout.")
@quiet_option
def evaluate(
    model_dir: str,
    data: str,
    split: str,
    kfold: int | None,
    epochs: int | None,
    batch_size: int,
    top_k: int,
    baseline: str,
    max_order: int,
    max_docs: int | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Score a trained model on curated Parquet DATA.

    LM: loss, perplexity, next-token accuracy and top-5, next to n-gram baselines (add-1 unigram,
    add-k bigram, interpolated Kneser-Ney 2..--max-order) fitted on the model's training split and
    scored on exactly the same target tokens with the same context limit. Classifier: accuracy, per-class and macro
    precision/recall/F1, AUC-ROC, confusion matrix (table and MODEL_DIR/eval/confusion.png),
    precision@k and nDCG@k.

    \b
    Examples:
      datacraft evaluate models/lm out/demo-dedup --split val
      datacraft evaluate models/lang out/udhr --kfold 5 --json
    """
    from datacraft.train import quiet_tensorflow

    quiet_tensorflow()
    from datacraft.train.modeldir import load_model_dir, write_json

    loaded = load_model_dir(model_dir)
    if kfold is not None:
        from datacraft.train.cv import run_kfold

        res = run_kfold(loaded, data, kfold, epochs, batch_size, top_k, quiet or as_json, max_docs)
    else:
        from datacraft.train.metrics import evaluate as run_eval
        from datacraft.train.metrics import plot_confusion

        order = max_order if baseline == "ngram" else None
        res = run_eval(loaded, data, split, batch_size, top_k, order, max_docs)
        if res["task"] == "classify":
            png = loaded.dir / "eval" / "confusion.png"
            plot_confusion(res["confusion_matrix"], res["labels"], png)
            res["confusion_png"] = str(png)
    write_json(loaded.dir / "eval" / ("kfold.json" if kfold else "metrics.json"), res)
    if as_json:
        click.echo(json.dumps(res, indent=2, sort_keys=True))
    elif not quiet:
        click.echo(_format(res, top_k))


def _format(res: dict, k: int) -> str:
    from datacraft.train.metrics import format_confusion

    if "kfold" in res:
        lines = [f"{res['kfold']}-fold stratified CV ({res['epochs']} epochs per fold):"]
        lines += [f"  {key:<16} {v['mean']:.4f} ± {v['std']:.4f}" for key, v in res["summary"].items()]
        return "\n".join(lines)
    if res["task"] == "lm":
        line = (
            f"loss {res['loss']:.4f}  perplexity {res['perplexity']:.2f}  accuracy {res['accuracy']:.4f}  "
            f"top-5 {res['top5_accuracy']:.4f}  ({res['tokens_scored']} tokens, split {res['split']})"
        )
        base = res.get("baselines")
        if not base:
            return line
        rows = [("neural LM (this model)", res["perplexity"])]
        rows += [(m["model"], m["perplexity"]) for m in base["models"]]
        w = max(len(r[0]) for r in rows)
        lines = [line, f"perplexity on the same {res['tokens_scored']} tokens (n-grams fitted on {base['fitted_on']}, "
                 f"{base['train_tokens']} tokens):"]  # fmt: skip
        lines += [f"  {name:<{w}}  {ppl:>10.2f}" for name, ppl in rows]
        return "\n".join(lines)
    auc = "n/a" if res["auc_roc"] is None else f"{res['auc_roc']:.4f}"
    lines = [
        f"documents {res['documents']}  accuracy {res['accuracy']:.4f}  macro P/R/F1 {res['macro_precision']:.4f}/"
        f"{res['macro_recall']:.4f}/{res['macro_f1']:.4f}  AUC-ROC {auc}  precision@{k} {res[f'precision_at_{k}']:.4f}"
        f"  nDCG@{k} {res[f'ndcg_at_{k}']:.4f}",
        f"{'class':<12}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}",
    ]
    for lab, m in res["per_class"].items():
        lines.append(f"{lab:<12}{m['precision']:>10.4f}{m['recall']:>10.4f}{m['f1']:>10.4f}{m['support']:>9}")
    lines.append(format_confusion(res["confusion_matrix"], res["labels"]))
    lines.append(f"confusion matrix plot: {res['confusion_png']}")
    return "\n".join(lines)
