"""``datacraft train DATA --config train.yaml --out MODEL_DIR``."""

from __future__ import annotations

import click

from datacraft.cli.options import quiet_option, train_set_option


@click.command()
@click.argument("data", metavar="DATA")
@click.option("--config", "-c", "config_path", default=None, help="Training YAML (see configs/train-*.yaml).")
@click.option("--out", "-o", required=True, help="Model directory (created; rerun the same command to resume).")
@train_set_option
@click.option("--force", is_flag=True, help="Replace a model directory trained with another config or on other data.")
@quiet_option
def train(data: str, config_path: str | None, out: str, overrides: tuple[str, ...], force: bool, quiet: bool) -> None:
    """Train a tokenizer and a Keras model on curated Parquet DATA (a run directory, folder or files).

    \b
    Examples:
      datacraft train out/demo --config configs/train-lm.yaml --out models/lm
      datacraft train out/udhr --config configs/train-lang.yaml --out models/lang --set epochs=3

    Checkpoints are written every epoch; after a kill, the same command resumes the run. The model
    directory records the data's identity (file names, sizes, checksums): training into it again with
    other data (or another config) is refused with exit 2 unless --force; a run that failed before
    training (e.g. no usable data) is cleared by the next run instead of being trusted.
    """
    from datacraft.train.config import load_train_config

    cfg = load_train_config(config_path, list(overrides))
    from datacraft.train import quiet_tensorflow

    quiet_tensorflow()
    from datacraft.io import fs
    from datacraft.train.loop import fit
    from datacraft.train.modeldir import MANIFEST

    with fs.synced_dir(out, last=MANIFEST) as local_out:  # a URL: trained in local scratch, uploaded after
        res = fit(data, cfg, local_out, quiet=quiet, force=force)
    if quiet:
        return
    if res["status"] == "already complete":
        click.echo(f"{out}: already trained with this config on this data (use --force to retrain)", err=True)
        return
    m = res["manifest"]
    tok = m["data"]["tokens"]["train"]
    click.echo(
        f"trained {m['task']} model in {out}: best epoch {m['best_epoch']} val_loss={m['best_val_loss']:.4f}"
        f"{' (early stop)' if m['stopped_early'] else ''}; vocab {tok['vocab_size']}, "
        f"unk rate {tok['unk_rate']:.4%}, {tok['tokens_per_doc']:.1f} tokens/doc",
        err=True,
    )
