"""Model explanation: what a trained model looked at, per token.

- Classifier: integrated gradients (Sundararajan et al. 2017) of the predicted class's logit with
  respect to the token embeddings, from an all-zero embedding baseline along ``steps`` points
  (Riemann midpoint rule), summed over the embedding dimension: one signed score per token; and
  the attention-pooling weights (the softmax the model itself uses to pool its states).
- Language model: per-token surprisal (−log₂ p of each token given the tokens before it in the
  window) and the causal attention maps of every head.

The forward pass from embeddings is replayed layer by layer from the trained layers of the
``build_model`` graph (checked against the model's own output in the tests).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np

from datacraft.report.charts import save_png
from datacraft.train.modeldir import LoadedModel


def _rnn_layers(model: Any) -> list[tuple[Any, Any, Any, bool]]:
    names = {layer.name for layer in model.layers}
    kind = "lstm" if "lstm_0" in names else "gru"
    out, i = [], 0
    while f"{kind}_{i}" in names:
        out.append(
            (
                model.get_layer(f"{kind}_{i}"),
                model.get_layer(f"{kind}_{i}_norm"),
                f"{kind}_{i}_residual" in names,
                model.get_layer(f"{kind}_{i}_dropout"),
            )
        )
        i += 1
    return [(r, n, res, d) for r, n, res, d in out]


def states_from_embeddings(model: Any, embedded: Any) -> Any:
    """The recurrent stack's output for given embeddings (inference mode)."""
    x = embedded
    for rnn, norm, residual, _ in _rnn_layers(model):
        h = rnn(x, training=False)
        x = norm(x + h if residual else h)
    return x


def classifier_logits(model: Any, embedded: Any, tokens: Any) -> tuple[Any, Any]:
    """(class logits, attention-pooling weights) from embeddings."""
    from keras import ops

    states = states_from_embeddings(model, embedded)
    pool = model.get_layer("attention_pooling")
    scores = ops.squeeze(pool.score(states), -1)
    mask = ops.not_equal(tokens, 0)
    scores = ops.where(mask, scores, ops.full_like(scores, -1e9))
    weights = ops.softmax(scores, axis=-1)
    pooled = ops.sum(states * ops.expand_dims(weights, -1), axis=1)
    return model.get_layer("class_logits")(pooled), weights


def integrated_gradients(loaded: LoadedModel, ids: list[int], steps: int = 32) -> dict[str, Any]:
    """Per-token IG attributions for the predicted class, the class probabilities and pooling weights."""
    import tensorflow as tf

    model = loaded.model
    tokens = tf.constant([ids], dtype=tf.int32)
    emb = model.get_layer("embedding")(tokens)
    logits, weights = classifier_logits(model, emb, tokens)
    probs = tf.nn.softmax(logits)[0].numpy()
    target = int(np.argmax(probs))
    alphas = (np.arange(steps, dtype=np.float32) + 0.5) / steps
    path = tf.constant(alphas)[:, None, None] * emb  # baseline: all-zero embeddings
    tiled = tf.repeat(tokens, steps, axis=0)
    with tf.GradientTape() as tape:
        tape.watch(path)
        out, _ = classifier_logits(model, path, tiled)
        chosen = out[:, target]
    grads = tape.gradient(chosen, path)
    attributions = tf.reduce_sum(emb[0] * tf.reduce_mean(grads, axis=0), axis=-1).numpy()
    return {
        "target": target,
        "probs": probs.tolist(),
        "attributions": attributions.tolist(),
        "pooling_weights": weights[0].numpy().tolist(),
        # completeness: Σ attributions ≈ logit(x) − logit(baseline)
        "logit": float(logits[0, target]),
        "baseline_logit": float(classifier_logits(model, emb * 0, tokens)[0][0, target]),
    }


def lm_explanation(loaded: LoadedModel, ids: list[int]) -> dict[str, Any]:
    """Surprisal (bits) of every token after the first, and the attention maps [heads, T, T]."""
    import tensorflow as tf

    model = loaded.model
    tokens = tf.constant([ids], dtype=tf.int32)
    logp = tf.nn.log_softmax(model(tokens, training=False), axis=-1)[0].numpy()
    surprisal = [float(-logp[t - 1, ids[t]] / np.log(2)) for t in range(1, len(ids))]
    states = states_from_embeddings(model, model.get_layer("embedding")(tokens))
    _, scores = model.get_layer("causal_attention")(
        states, states, use_causal_mask=True, return_attention_scores=True, training=False
    )
    return {"surprisal_bits": surprisal, "attention": scores[0].numpy().tolist()}


def _color(v: float, scale: float) -> str:
    a = min(1.0, abs(v) / scale) if scale > 0 else 0.0
    return f"rgba(220,40,40,{a:.2f})" if v >= 0 else f"rgba(40,90,220,{a:.2f})"


def _spans(pieces: list[str], values: list[float], fmt: str) -> str:
    scale = max((abs(v) for v in values), default=0.0)
    return "".join(
        f'<span title="{fmt.format(v)}" style="background:{_color(v, scale)}">{html.escape(p)}</span>'
        for p, v in zip(pieces, values, strict=True)
    )


def _heatmap(matrix: np.ndarray, labels: list[str], title: str, path: Path, ylabels: list[str] | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h, w = matrix.shape
    fig, ax = plt.subplots(figsize=(min(16, 2 + 0.35 * w), min(12, 1.5 + 0.35 * h)))
    im = ax.imshow(matrix, cmap="viridis", aspect="auto")
    ax.set_xticks(range(w), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(h), ylabels or labels, fontsize=7)
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)


def explain_texts(loaded: LoadedModel, texts: list[str], out: Path, steps: int = 32) -> dict[str, Any]:
    """Explain each text; write ``out/index.html``, one PNG heat map per text (per head for the LM)
    and ``out/explanations.json``."""
    import json

    from datacraft.io.atomic import write_text_atomic

    out.mkdir(parents=True, exist_ok=True)
    tok = loaded.tokenizer
    parts = [f"<h1>{html.escape(str(loaded.dir))}: {loaded.task} model explanations</h1>"]
    results = []
    for n, text in enumerate(texts):
        ids = tok.encode(text)[: loaded.length]
        if loaded.task == "lm":
            ids = [tok.eos_id, *ids][: loaded.length]
        pieces = [tok.decode([i]) or tok.tok.id_to_token(i - tok.offset) or "?" for i in ids]
        if not ids:
            continue
        if loaded.task == "classify":
            r = integrated_gradients(loaded, ids, steps)
            r["label"] = loaded.labels[r["target"]]
            mat = np.asarray([r["attributions"], r["pooling_weights"]])
            png = out / f"text-{n:03d}.png"
            _heatmap(mat, pieces, f"text {n}: attribution / pooling weight", png, ["IG attribution", "pooling"])
            parts += [
                f"<h2>text {n}: predicted <b>{html.escape(r['label'])}</b> (p={max(r['probs']):.3f})</h2>",
                "<p>integrated gradients (red: for the prediction, blue: against)</p>",
                f"<p class=t>{_spans(pieces, r['attributions'], '{:+.4f}')}</p>",
                "<p>attention-pooling weights</p>",
                f"<p class=t>{_spans(pieces, r['pooling_weights'], '{:.4f}')}</p>",
                f'<img src="{png.name}">',
            ]
        else:
            r = lm_explanation(loaded, ids)
            att = np.asarray(r["attention"])
            pngs = []
            for h in range(att.shape[0]):
                png = out / f"text-{n:03d}-head-{h}.png"
                _heatmap(att[h], pieces, f"text {n}: attention head {h} (row: query)", png)
                pngs.append(png.name)
            parts += [
                f"<h2>text {n}: surprisal, mean {np.mean(r['surprisal_bits']):.2f} bits/token</h2>",
                f"<p class=t>{_spans(pieces[1:], r['surprisal_bits'], '{:.2f} bits')}</p>",
                *[f'<img src="{p}">' for p in pngs],
            ]
        r.update(text=text, tokens=pieces, ids=ids)
        results.append(r)
    style = "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}.t{line-height:2;font-size:15px}"
    style += "span{padding:1px 0;border-radius:3px}img{max-width:100%}</style>"
    write_text_atomic(out / "index.html", f"<!doctype html><meta charset=utf-8>{style}" + "\n".join(parts))
    write_text_atomic(out / "explanations.json", json.dumps(results, indent=1))
    return {"html": str(out / "index.html"), "results": results}
