"""``datacraft tune DATA --config base.yaml --space space.yaml --out TUNE_DIR``."""

from __future__ import annotations

import click

from datacraft.cli.options import quiet_option, set_option


@click.command()
@click.argument("data", metavar="DATA")
@click.option("--config", "-c", "config_path", default=None, help="Base training YAML (the values not searched).")
@click.option("--space", "-s", "space_path", required=True, help="YAML: config key → {values} or {min, max, ...}.")
@click.option("--out", "-o", required=True, help="Search directory (rerun the same command to resume).")
@click.option(
    "--algorithm", type=click.Choice(["random", "bayesian", "hyperband"]), default="random", show_default=True
)
@click.option("--trials", type=click.IntRange(min=1), default=10, show_default=True, help="random/bayesian: trials.")
@set_option
@quiet_option
def tune(
    data: str,
    config_path: str | None,
    space_path: str,
    out: str,
    algorithm: str,
    trials: int,
    overrides: tuple[str, ...],
    quiet: bool,
) -> None:
    """Search hyperparameters of a training config with KerasTuner on curated Parquet DATA.

    \b
    Examples:
      datacraft tune out/demo-dedup -c configs/train-demo.yaml -s space.yaml -o out/tune --trials 3
      datacraft tune out/demo-dedup -c configs/train-demo.yaml -s space.yaml -o out/tune --algorithm hyperband

    \b
    A space.yaml:
      model.rnn_units: {values: [32, 64, 128]}
      optimizer.learning_rate: {min: 1.0e-4, max: 1.0e-2, sampling: log}
      model.dropout: {min: 0.0, max: 0.3, step: 0.1}

    Each trial trains the base config with its values and is scored by val_loss. Writes
    OUT/trials.json and trials.csv (every trial's values and score) and OUT/best.yaml, the base
    config with the best values: `datacraft train DATA -c OUT/best.yaml -o MODEL`.
    """
    from datacraft.train.config import load_train_config
    from datacraft.train.tune import format_table, load_space

    base = load_train_config(config_path, list(overrides)).model_dump(mode="json")
    space = load_space(space_path)
    from datacraft.train import quiet_tensorflow

    quiet_tensorflow()
    from datacraft.train.tune import run_tune

    res = run_tune(data, base, space, out, algorithm=algorithm, trials=trials, quiet=quiet)
    if not quiet:
        click.echo(format_table(res["trials"]))
        click.echo(f"best: trial {res['best']['trial']} val_loss {res['best']['val_loss']:.4f} → {res['best_config']}")
