"""Evaluation: LM loss/perplexity/accuracy/top-5 (Keras metrics), classifier metrics (scikit-learn)."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from datacraft.errors import ConfigError
from datacraft.report.charts import save_png
from datacraft.train import data as D
from datacraft.train import windows as W
from datacraft.train.modeldir import LoadedModel
from datacraft.train.tokfile import TokenFile

SPLIT_CHOICES = ("all", "val", "train")


def split_selector(loaded: LoadedModel, split: str) -> Any:
    """id → "val" (kept) or None: ``all`` documents, or the model's own ``val``/``train`` split."""
    cfg = loaded.config
    if split == "all":
        return lambda _id: "val"
    return lambda i: "val" if D.split_of(i, cfg.seed, cfg.data.val_fraction) == split else None


def eval_max_docs(loaded: LoadedModel, split: str, requested: int | None) -> int | None:
    """Documents of DATA read by evaluate: ``requested`` (0: all); by default the model's own
    ``data.max_docs`` for its ``val``/``train`` split (the split it made of the documents it read),
    all documents for ``all``."""
    if requested is not None:
        return requested or None
    return loaded.config.data.max_docs if split != "all" else None


def encode_eval_data(
    loaded: LoadedModel, data: str | Path, split: str, work: Path, max_docs: int | None = None
) -> tuple[Path, dict[str, Any]]:
    """Tokenize the first ``max_docs`` (None: all) documents of DATA with the model's tokenizer into
    ``work/val.parquet`` (and ``val.tokens``); returns the path and counts."""
    cfg = loaded.config
    files = D.parquet_files(data)
    required = [cfg.data.text_column] + ([cfg.data.label_column] if cfg.task == "classify" else [])
    D.check_columns(files, [c for c in required if c])
    eval_cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update={"max_docs": max_docs})})
    counts, stats = D.encode_to_cache(
        files, eval_cfg, loaded.tokenizer, loaded.labels or None, work, splits=split_selector(loaded, split)
    )
    info = {"counts": counts.as_dict(), "tokens": stats["val"].as_dict(), "max_docs": max_docs}
    return work / "val.parquet", info


def evaluate_lm(loaded: LoadedModel, cache: Path, batch_size: int) -> dict[str, Any]:
    """Mean next-token cross-entropy, perplexity, accuracy and top-5 over the packed windows of the
    flat token file next to ``cache`` (``val.parquet`` → ``val.tokens``)."""
    import keras
    import tensorflow as tf

    L = loaded.config.data.seq_len
    model = loaded.model
    model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[
            keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
            keras.metrics.SparseTopKCategoricalAccuracy(k=5, name="top5"),
        ],
    )
    sig = (tf.TensorSpec((None, L), tf.int32), tf.TensorSpec((None, L), tf.int32))
    tokens = TokenFile.open(cache.parent, cache.stem)
    windows = tokens.windows(L)
    if windows == 0:
        raise ConfigError(f"the evaluation data has fewer than {L + 1} tokens")
    ds = D.make_dataset(
        lambda _e: W.lm_batches(tokens, L, batch_size, drop_remainder=False),
        sig,
        batches=D.steps_for(windows, batch_size, drop_remainder=False),
    )
    res = model.evaluate(ds, verbose=0, return_dict=True)
    return {
        "task": "lm",
        "loss": float(res["loss"]),
        "perplexity": math.exp(float(res["loss"])),
        "accuracy": float(res["accuracy"]),
        "top5_accuracy": float(res["top5"]),
        "windows": windows,
        "tokens_scored": windows * L,
    }


def predict_proba(
    model: Any, cache: Path, max_length: int, batch_size: int, select: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities and true labels of the documents in a cache file, batch by batch."""
    import keras

    probs, ys = [], []
    for x, y in D.cls_batches(cache, max_length, batch_size, select=select):
        logits = model.predict_on_batch(x)
        probs.append(keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1)))
        ys.append(y)
    if not ys:
        raise ConfigError("no labelled documents to evaluate")
    return np.concatenate(probs), np.concatenate(ys)


def ranking_at_k(y: np.ndarray, probs: np.ndarray, k: int, classes: list[int]) -> tuple[float, float]:
    """Macro precision@k and nDCG@k: for each class, rank documents by its score (binary: the positive
    class only); precision@k is the share of true members among the top k, nDCG@k from scikit-learn."""
    from sklearn.metrics import ndcg_score

    precs, ndcgs = [], []
    k = min(k, len(y))
    for c in classes:
        rel = (y == c).astype(float)
        score = probs[:, c]
        top = np.argsort(-score, kind="stable")[:k]
        precs.append(float(rel[top].mean()))
        ndcgs.append(float(ndcg_score(rel[None, :], score[None, :], k=k)) if len(y) > 1 else float(rel[0]))
    return float(np.mean(precs)), float(np.mean(ndcgs))


def classifier_metrics(y: np.ndarray, probs: np.ndarray, labels: list[str], k: int = 10) -> dict[str, Any]:
    """Accuracy, per-class and macro P/R/F1, AUC-ROC, confusion matrix, precision@k and nDCG@k."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support, roc_auc_score

    n = len(labels)
    pred = probs.argmax(axis=1)
    idx = list(range(n))
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=idx, zero_division=0)
    mp, mr, mf, _ = precision_recall_fscore_support(y, pred, labels=idx, average="macro", zero_division=0)
    auc: float | None
    auc_note = None
    try:
        if n == 2:
            auc = float(roc_auc_score(y, probs[:, 1]))
        else:
            present = np.unique(y)
            if len(present) < n:
                auc_note = "macro one-vs-rest over the classes present in the data"
            auc = float(
                np.mean([roc_auc_score((y == c).astype(int), probs[:, c]) for c in present])
                if len(present) > 1
                else float("nan")
            )
    except ValueError as e:
        auc, auc_note = None, str(e)
    classes = [1] if n == 2 else idx
    pk, nk = ranking_at_k(y, probs, k, [c for c in classes if (y == c).any()] or classes)
    cm = confusion_matrix(y, pred, labels=idx)
    out: dict[str, Any] = {
        "task": "classify",
        "documents": len(y),
        "accuracy": float(accuracy_score(y, pred)),
        "macro_precision": float(mp),
        "macro_recall": float(mr),
        "macro_f1": float(mf),
        "auc_roc": auc,
        f"precision_at_{k}": pk,
        f"ndcg_at_{k}": nk,
        "per_class": {
            labels[i]: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i in idx
        },
        "labels": labels,
        "confusion_matrix": cm.tolist(),
    }
    if auc_note:
        out["auc_roc_note"] = auc_note
    return out


def format_confusion(cm: list[list[int]], labels: list[str], max_classes: int = 20) -> str:
    """A plain-text confusion matrix (rows: true, columns: predicted)."""
    if len(labels) > max_classes:
        return f"(confusion matrix of {len(labels)} classes: see confusion.png / --json)"
    w = max(6, *(len(lab) for lab in labels)) + 1
    lines = ["true\\pred".ljust(w) + "".join(lab.rjust(w) for lab in labels)]
    for lab, row in zip(labels, cm, strict=True):
        lines.append(lab.ljust(w) + "".join(str(v).rjust(w) for v in row))
    return "\n".join(lines)


def plot_confusion(cm: list[list[int]], labels: list[str], path: Path) -> None:
    """Confusion matrix heat map as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(labels)
    size = min(16, 3 + 0.25 * n)
    fig, ax = plt.subplots(figsize=(size, size))
    arr = np.asarray(cm)
    im = ax.imshow(arr, cmap="Blues")
    ax.set_xticks(range(n), labels, rotation=90, fontsize=max(4, 10 - n // 10))
    ax.set_yticks(range(n), labels, fontsize=max(4, 10 - n // 10))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if n <= 12:
        for i in range(n):
            for j in range(n):
                ax.text(j, i, str(arr[i, j]), ha="center", va="center", fontsize=8)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)


def lm_baselines(
    loaded: LoadedModel, data: str | Path, cache: Path, work: Path, max_order: int, max_docs: int | None = None
) -> dict[str, Any]:
    """n-gram baselines fitted on the model's training split, scored on the windows of ``cache``."""
    from datacraft.train.modeldir import CACHE_DIR
    from datacraft.train.ngram import baseline_table, token_stream

    eos, L = loaded.tokenizer.eos_id, loaded.config.data.seq_len
    train_cache = loaded.dir / CACHE_DIR / "train.parquet"
    source = "the model's training cache"
    if not train_cache.exists():  # the cache was removed: re-encode the training split of DATA
        (work / "train").mkdir()
        train_cache, _ = encode_eval_data(loaded, data, "train", work / "train", max_docs)
        source = "the training split of DATA"
    windows = np.concatenate(list(D.lm_window_chunks(cache, L, eos)) or [np.zeros((0, L + 1), np.int32)])
    stream = token_stream(train_cache, eos)
    rows = baseline_table(stream, windows, loaded.tokenizer.vocab_size, max_order)
    return {"fitted_on": source, "train_tokens": len(stream), "models": rows}


def evaluate(
    loaded: LoadedModel,
    data: str | Path,
    split: str,
    batch_size: int,
    k: int,
    baseline_order: int | None = 5,
    max_docs: int | None = None,
) -> dict[str, Any]:
    """Evaluate a loaded model on DATA (``split``: all documents, or the model's val/train split; only
    the documents :func:`eval_max_docs` allows, ``max_docs`` 0 = all); an LM is shown next to n-gram
    baselines up to ``baseline_order`` (None: none) on the same tokens."""
    limit = eval_max_docs(loaded, split, max_docs)
    with tempfile.TemporaryDirectory(prefix="datacraft-eval-") as tmp:
        cache, info = encode_eval_data(loaded, data, split, Path(tmp), limit)
        if loaded.task == "lm":
            res = evaluate_lm(loaded, cache, batch_size)
            if baseline_order:
                res["baselines"] = lm_baselines(loaded, data, cache, Path(tmp), baseline_order, limit)
        else:
            probs, y = predict_proba(loaded.model, cache, loaded.length, batch_size)
            res = classifier_metrics(y, probs, loaded.labels, k)
    res.update(split=split, data=info)
    return res
