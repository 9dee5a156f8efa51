"""``datacraft ablate``: train the same model on raw vs curated data (same tokens), compare held-out."""

from __future__ import annotations

import click

from datacraft.cli.options import quiet_option, train_set_option


@click.command()
@click.option("--raw", "raw", required=True, help="Baseline Parquet data (the raw input, converted with `run`).")
@click.option("--curated", "curated", required=True, help="Curated Parquet data (a run directory, folder or files).")
@click.option(
    "--variant",
    "extra",
    multiple=True,
    metavar="NAME=PATH",
    help="Another data variant, e.g. an intermediate output (repeatable; trained after raw and curated).",
)
@click.option("--eval", "eval_data", required=True, help="Clean held-out Parquet data every model is scored on.")
@click.option("--config", "-c", "config_path", default=None, help="Training YAML with task: lm (configs/train-*.yaml).")
@click.option(
    "--tokens", type=click.IntRange(min=1), default=None, help="Training token budget per model (max_train_tokens)."
)
@click.option("--tokenizer", default=None, help="A tokenizer.json to share (default: learned from the raw data).")
@click.option("--out", "-o", required=True, help="Directory for models, ablation.{json,md,png} (rerun to resume).")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True, help="Evaluation batch.")
@train_set_option
@click.option("--force", is_flag=True, help="Retrain models trained earlier with another config.")
@quiet_option
def ablate(
    raw: str,
    curated: str,
    extra: tuple[str, ...],
    eval_data: str,
    config_path: str | None,
    tokens: int | None,
    tokenizer: str | None,
    out: str,
    batch_size: int,
    overrides: tuple[str, ...],
    force: bool,
    quiet: bool,
) -> None:
    """Does curation help? Train the same LM with the same token budget, seed and tokenizer on each
    data variant and compare perplexity on one clean held-out set.

    \b
    Examples:
      datacraft ablate --raw out/raw --curated out/curated --variant normalized=out/norm \\
        --eval out/heldout --config configs/train-lm.yaml --tokens 400000 --out out/ablation
    """
    from datacraft.train.ablate import Variant, parse_variant
    from datacraft.train.config import load_train_config

    cfg = load_train_config(config_path, list(overrides))
    variants = [Variant("raw", raw), Variant("curated", curated), *(parse_variant(v) for v in extra)]
    from datacraft.train import quiet_tensorflow

    quiet_tensorflow()
    from datacraft.train.ablate import markdown_table, run_ablation

    res = run_ablation(
        variants,
        eval_data,
        cfg,
        out,
        max_train_tokens=tokens,
        tokenizer=tokenizer,
        batch_size=batch_size,
        quiet=quiet,
        force=force,
    )
    if not quiet:
        click.echo(markdown_table(res))
        click.echo(f"table: {out}/ablation.md  json: {out}/ablation.json  plot: {out}/ablation.png", err=True)
