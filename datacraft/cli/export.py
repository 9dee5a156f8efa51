"""``datacraft export MODEL_DIR``."""

from __future__ import annotations

import json

import click

from datacraft.cli.options import quiet_option


@click.command()
@click.argument("model_dir", metavar="MODEL_DIR")
@click.option(
    "--quantize",
    type=click.Choice(["float16", "int8", "none"]),
    default="float16",
    show_default=True,
    help="TFLite weights: float16, dynamic-range int8, or float32.",
)
@click.option("--repeats", type=click.IntRange(min=1), default=30, show_default=True, help="Latency runs (median).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@quiet_option
def export(model_dir: str, quantize: str, repeats: int, as_json: bool, quiet: bool) -> None:
    """Export to SavedModel and TFLite in MODEL_DIR/export; compare size, latency and predictions.

    \b
    Examples:
      datacraft export models/lm --quantize float16
      datacraft export models/lang --quantize int8 --json
    """
    from datacraft.train import quiet_tensorflow

    quiet_tensorflow()
    from datacraft.train.export import export_model
    from datacraft.train.modeldir import load_model_dir

    loaded = load_model_dir(model_dir)
    rep = export_model(loaded, quantize=quantize, repeats=repeats)
    if as_json:
        click.echo(json.dumps(rep, indent=2, sort_keys=True))
        return
    if quiet:
        return
    click.echo(f"{'format':<12}{'size':>12}{'latency':>12}  match (max |Δp|, top-1 agreement)")
    for name in ("keras", "saved_model", "tflite"):
        e = rep[name]
        match = ""
        if "max_abs_prob_diff" in e:
            ok = "ok" if e["matches"] else "MISMATCH"
            match = f"{ok} ({e['max_abs_prob_diff']:.2e} <= {e['tolerance']:g}?, {e['top1_agreement']:.1%})"
        click.echo(f"{name:<12}{e['bytes'] / 1024:>10.1f}KB{e['latency_ms']:>10.2f}ms  {match}")
    click.echo(f"tflite ops: {rep['tflite']['ops']}; files in {loaded.dir / 'export'}")
