"""``datacraft explain-model MODEL_DIR --text ... --out DIR``: token attributions and attention."""

from __future__ import annotations

import click


@click.command("explain-model")
@click.argument("model_dir", metavar="MODEL_DIR")
@click.option("--text", "-t", "texts", multiple=True, help="A text to explain (repeatable).")
@click.option("--file", "-f", "text_file", default=None, help="A file with one text per line.")
@click.option("--out", "-o", required=True, help="Folder for index.html, PNG heat maps, explanations.json.")
@click.option("--steps", type=click.IntRange(min=2), default=32, show_default=True, help="Integrated-gradient steps.")
def explain_model(model_dir: str, texts: tuple[str, ...], text_file: str | None, out: str, steps: int) -> None:
    """Explain a trained model's predictions token by token, as an HTML page with PNG heat maps.

    Classifier: integrated-gradients attributions of the predicted class (red: for it, blue: against)
    and the attention-pooling weights. Language model: per-token surprisal (bits) and the causal
    attention map of every head.

    \b
    Examples:
      datacraft explain-model models/lang -t "Alle Menschen sind frei" -o out/explain-lang
      datacraft explain-model models/lm --file prompts.txt -o out/explain-lm
    """
    from pathlib import Path

    from datacraft.errors import ConfigError

    items = list(texts)
    if text_file:
        items += [
            line.rstrip("\n") for line in Path(text_file).read_text(encoding="utf-8").splitlines() if line.strip()
        ]
    if not items:
        raise ConfigError("give at least one --text or a --file")
    from datacraft.train import quiet_tensorflow

    quiet_tensorflow()
    from datacraft.train.explain import explain_texts
    from datacraft.train.modeldir import load_model_dir

    res = explain_texts(load_model_dir(model_dir), items, Path(out), steps)
    click.echo(f"explained {len(res['results'])} text(s): {res['html']}", err=True)
