"""``datacraft generate`` and ``datacraft predict``: use a trained model."""

from __future__ import annotations

import click

from datacraft.cli.options import quiet_option


@click.command()
@click.argument("model_dir", metavar="MODEL_DIR")
@click.option("--prompt", "-p", default="", help="Text to continue (empty: start a new document).")
@click.option("--max-tokens", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--temperature", type=click.FloatRange(min=0), default=0.8, show_default=True, help="0: greedy.")
@click.option("--top-k", type=click.IntRange(min=0), default=40, show_default=True, help="0: no truncation.")
@click.option(
    "--top-p", type=click.FloatRange(0, 1, min_open=True), default=1.0, show_default=True, help="Nucleus mass (1: off)."
)
@click.option(
    "--repetition-penalty",
    type=click.FloatRange(min=1.0),
    default=1.0,
    show_default=True,
    help="Divide positive (multiply negative) logits of tokens already in the text by this (1: off).",
)
@click.option("--stop", multiple=True, help="Stop before this string (repeatable).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--timing", is_flag=True, help="Print ms/token on stderr.")
def generate(
    model_dir: str,
    prompt: str,
    max_tokens: int,
    temperature: float,
    top_k: int,
    top_p: float,
    repetition_penalty: float,
    stop: tuple[str, ...],
    seed: int,
    timing: bool,
) -> None:
    """Continue PROMPT with a trained language model (prints prompt + continuation).

    Decoding is stateful: each new token runs one recurrent step and one attention query against the
    cached keys/values (no re-run of the window per token).

    \b
    Example:
      datacraft generate models/lm --prompt "It was a dark" --temperature 0.8 --top-p 0.9 --seed 1
    """
    import time

    from datacraft.train import quiet_tensorflow

    quiet_tensorflow()
    from datacraft.train.infer import GenerateOptions
    from datacraft.train.infer import generate as run_generate
    from datacraft.train.modeldir import load_model_dir

    loaded = load_model_dir(model_dir)
    opts = GenerateOptions(max_tokens, temperature, top_k, top_p, repetition_penalty, seed, stop)
    t0 = time.perf_counter()
    text = run_generate(loaded, prompt, opts)
    secs = time.perf_counter() - t0
    click.echo(prompt + text)
    if timing:
        n = max(1, len(loaded.tokenizer.encode(text)))
        click.echo(f"{1000 * secs / n:.2f} ms/token ({n} tokens, prompt included in the time)", err=True)


@click.command()
@click.argument("model_dir", metavar="MODEL_DIR")
@click.argument("inputs", metavar="IN")
@click.argument("out", metavar="OUT")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--text-column", default=None, help="Text column of IN (default: the one the model was trained on).")
@quiet_option
def predict(model_dir: str, inputs: str, out: str, batch_size: int, text_column: str | None, quiet: bool) -> None:
    """Append predictions to Parquet IN, writing OUT/<same file names>.

    Classifier: pred_label, pred_score and prob_<label> per class. LM: lm_loss and lm_perplexity
    per document (over its first window), e.g. for perplexity filtering.

    \b
    Example:
      datacraft predict models/lang out/udhr/data out/udhr-scored
    """
    from datacraft.train import quiet_tensorflow

    quiet_tensorflow()
    from tqdm import tqdm

    from datacraft.train.infer import predict_files
    from datacraft.train.modeldir import load_model_dir

    loaded = load_model_dir(model_dir)
    with tqdm(unit="docs", disable=quiet, mininterval=1) as bar:
        res = predict_files(loaded, inputs, out, batch_size=batch_size, text_column=text_column, progress=bar.update)
    if not quiet:
        click.echo(f"predicted {res['rows']} documents into {len(res['files'])} file(s) in {out}", err=True)
