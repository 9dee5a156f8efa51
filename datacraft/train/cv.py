"""Stratified k-fold cross-validation of a classifier's config (``datacraft evaluate --kfold K``).

Each fold trains a fresh model (same config and tokenizer as MODEL_DIR) on K-1 folds and scores the
held-out fold. Only ids and labels are held in memory; token ids stream from a Parquet cache.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from datacraft.errors import ConfigError
from datacraft.train import data as D
from datacraft.train.metrics import classifier_metrics, encode_eval_data, predict_proba
from datacraft.train.modeldir import LoadedModel


def kfold_splits(labels: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified, disjoint folds (scikit-learn ``StratifiedKFold``, shuffled with ``seed``)."""
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(labels)
    smallest = counts[counts > 0].min()
    if k < 2:
        raise ConfigError("--kfold: K must be at least 2")
    if smallest < k:
        raise ConfigError(f"--kfold {k}: the smallest class has only {smallest} documents; use K <= {smallest}")
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(tr, te) for tr, te in skf.split(np.zeros(len(labels)), labels)]


def kfold_max_docs(loaded: LoadedModel, requested: int | None) -> int | None:
    """Documents of DATA the K folds share: ``requested`` (0: all), by default the model's own
    ``data.max_docs`` (the documents its config trains on)."""
    if requested is not None:
        return requested or None
    return loaded.config.data.max_docs


def run_kfold(
    loaded: LoadedModel,
    data: str | Path,
    k: int,
    epochs: int | None,
    batch_size: int,
    top_k: int,
    quiet: bool,
    max_docs: int | None = None,
) -> dict[str, Any]:
    """Train and score K fold models on the first :func:`kfold_max_docs` documents of DATA; per-fold
    metrics with mean and standard deviation."""
    import keras

    from datacraft.train.loop import compile_model
    from datacraft.train.model import ModelSpec, build_model

    if loaded.task != "classify":
        raise ConfigError("--kfold is for classifiers (this model's task is lm)")
    cfg = loaded.config
    if epochs is not None:
        cfg = cfg.model_copy(update={"epochs": epochs})
    with tempfile.TemporaryDirectory(prefix="datacraft-kfold-") as tmp:
        cache, info = encode_eval_data(loaded, data, "all", Path(tmp), kfold_max_docs(loaded, max_docs))
        ids, labels = [], []
        for i, _, lab in D.iter_cache(cache):
            ids.append(i)
            labels.append(lab)
        y = np.asarray(labels)
        folds = kfold_splits(y, k, cfg.seed)
        results = []
        for f, (tr, te) in enumerate(folds):
            train_ids = {ids[i] for i in tr}
            test_ids = {ids[i] for i in te}
            keras.utils.set_random_seed(cfg.seed + f)
            model = build_model(ModelSpec.from_config(cfg, loaded.tokenizer.vocab_size, len(loaded.labels)))
            steps = D.steps_for(len(tr), cfg.batch_size, drop_remainder=False)
            compile_model(model, cfg, steps)
            weights = D.class_weight_vector(cfg, loaded.labels, np.bincount(y[tr], minlength=len(loaded.labels)))
            for epoch in range(cfg.epochs):
                for batch in D.cls_batches(
                    cache,
                    cfg.data.max_length,
                    cfg.batch_size,
                    seed=cfg.seed + f,
                    epoch=epoch,
                    buffer=cfg.data.shuffle_buffer,
                    class_weights=weights,
                    select=train_ids.__contains__,
                ):
                    model.train_on_batch(*batch)
            probs, yt = predict_proba(model, cache, cfg.data.max_length, batch_size, select=test_ids.__contains__)
            m = classifier_metrics(yt, probs, loaded.labels, top_k)
            m.update(fold=f, train_docs=len(tr), test_docs=len(te))
            results.append(m)
            if not quiet:
                import sys

                sys.stderr.write(f"fold {f + 1}/{k}: accuracy={m['accuracy']:.4f} macro_f1={m['macro_f1']:.4f}\n")
    keys = [
        "accuracy",
        "macro_precision",
        "macro_recall",
        "macro_f1",
        "auc_roc",
        f"precision_at_{top_k}",
        f"ndcg_at_{top_k}",
    ]
    summary = {}
    for key in keys:
        vals = [r[key] for r in results if r.get(key) is not None]
        if vals:
            summary[key] = {"mean": float(np.mean(vals)), "std": float(np.std(vals))}
    return {
        "task": "classify",
        "kfold": k,
        "epochs": cfg.epochs,
        "summary": summary,
        "folds": [
            {kk: v for kk, v in r.items() if kk not in ("per_class", "confusion_matrix", "labels")} for r in results
        ],
        "data": info,
    }
