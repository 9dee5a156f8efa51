"""``fit``: the training run behind ``datacraft train``, resumable epoch by epoch.

A run writes a checkpoint (model + optimizer state) and ``checkpoints/state.json`` after every
epoch. Rerunning the same command after a kill loads the last checkpoint and continues at the next
epoch with the same data order (shuffling depends on seed and epoch only), the same LR schedule
position (the optimizer's step counter is in the checkpoint) and the same early-stopping state
(rebuilt from the history).
"""

from __future__ import annotations

import itertools
import json
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras

from datacraft import __version__
from datacraft.errors import ConfigError, OutputConflictError
from datacraft.io.atomic import atomic_path
from datacraft.report.charts import save_png
from datacraft.train import data as D
from datacraft.train import tokfile
from datacraft.train import windows as W
from datacraft.train.accel import make_strategy
from datacraft.train.config import TrainConfig
from datacraft.train.identity import data_identity, describe_difference, file_checksum
from datacraft.train.model import ModelSpec, build_model
from datacraft.train.modeldir import (
    CACHE_DIR,
    CKPT_DIR,
    CURVE_FILE,
    FORMAT,
    FORMAT_VERSION,
    HISTORY_FILE,
    MANIFEST,
    MODEL_FILE,
    TOKENIZER_FILE,
    read_manifest,
    write_json,
)
from datacraft.train.steps import (
    ResumablePlateau,
    SignalFlag,
    StepCheckpoint,
    catch_stop_signals,
    interrupted,
    restore_seed_states,
    seed_states,
)
from datacraft.train.tokenizer import TextTokenizer
from datacraft.train.tokfile import TokenFile

STATE_FILE = "state.json"
#: manifest statuses a rerun does not trust: the directory is cleared and training starts afresh
UNTRUSTED = ("preparing", "failed")


def make_optimizer(cfg: TrainConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """The configured optimizer with its learning-rate schedule."""
    o = cfg.optimizer
    lr: Any = o.learning_rate
    if o.schedule == "warmup_cosine":
        total = steps_per_epoch * cfg.epochs
        warm = min(o.warmup_steps, max(0, total - 1))
        lr = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0,
            decay_steps=max(1, total - warm),
            alpha=o.min_lr_ratio,
            warmup_target=o.learning_rate,
            warmup_steps=warm,
        )
    elif o.schedule == "step":
        lr = keras.optimizers.schedules.ExponentialDecay(
            o.learning_rate, decay_steps=o.step_epochs * steps_per_epoch, decay_rate=o.step_gamma, staircase=True
        )
    kw: dict[str, Any] = {"learning_rate": lr}
    if o.clipnorm:
        kw["clipnorm"] = o.clipnorm
    if o.name == "adam":
        return keras.optimizers.Adam(**kw)
    if o.name == "adamw":
        return keras.optimizers.AdamW(weight_decay=o.weight_decay, **kw)
    if o.name == "sgd":
        return keras.optimizers.SGD(momentum=o.momentum, **kw)
    return keras.optimizers.RMSprop(**kw)


def compile_model(model: keras.Model, cfg: TrainConfig, steps_per_epoch: int) -> None:
    """Cross-entropy on logits, accuracy (and top-5 for the LM)."""
    metrics: list[Any] = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    if cfg.task == "lm":
        metrics.append(keras.metrics.SparseTopKCategoricalAccuracy(k=5, name="top5"))
    model.compile(
        optimizer=make_optimizer(cfg, steps_per_epoch),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=metrics,
        jit_compile=cfg.jit_compile,
    )


def current_lr(model: keras.Model) -> float:
    opt = model.optimizer
    lr = opt.learning_rate
    return float(keras.ops.convert_to_numpy(lr))


class RunState(keras.callbacks.Callback):
    """After each epoch: history, best model, per-epoch checkpoint + state, early stopping."""

    def __init__(
        self,
        out: Path,
        cfg: TrainConfig,
        state: dict[str, Any],
        units_per_epoch: int,
        unit: str,
        flag: SignalFlag | None = None,
        callback_states: dict[str, Callable[[], dict[str, Any]]] | None = None,
    ) -> None:
        super().__init__()
        self.out, self.cfg, self.state, self.flag = out, cfg, state, flag
        self.callback_states = callback_states if callback_states is not None else {}
        self.units_per_epoch, self.unit = units_per_epoch, unit
        self.t0 = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.flag is not None and self.flag.signum is not None:  # stopped mid-epoch: not an epoch
            return
        secs = time.perf_counter() - self.t0
        logs = dict(logs or {})
        row = {k: float(v) for k, v in logs.items() if k != "learning_rate"}
        row.update(epoch=epoch + 1, seconds=round(secs, 3), lr=current_lr(self.model))
        row[f"{self.unit}_per_s"] = self.units_per_epoch / secs if secs > 0 else 0.0
        hist: list[dict[str, Any]] = self.state.setdefault("history", [])
        hist.append(row)
        val = row.get("val_loss", float("inf"))
        best = self.state.get("best_val_loss")
        if best is None or val < best:
            self.state.update(best_val_loss=val, best_epoch=epoch + 1)
            _save_keras(self.model, self.out / MODEL_FILE)
        # checkpoint first, then the state that points at it, then prune older checkpoints
        ckdir = self.out / CKPT_DIR
        name = f"epoch-{epoch + 1:04d}.keras"
        _save_keras(self.model, ckdir / name)
        patience = self.cfg.early_stopping_patience
        if patience is not None and epoch + 1 - self.state["best_epoch"] >= patience:
            self.state["stopped_early"] = True
            self.model.stop_training = True
        self.state.update(epoch=epoch + 1, step=0, checkpoint=name, rng=seed_states(self.model))
        self.state.update({k: get() for k, get in self.callback_states.items()})
        write_json(ckdir / STATE_FILE, self.state)
        write_json(self.out / HISTORY_FILE, hist)
        keep = sorted(p.name for p in ckdir.glob("epoch-*.keras"))[: -self.cfg.keep_checkpoints]
        for old in keep:
            (ckdir / old).unlink(missing_ok=True)
        _prune_steps(ckdir, keep=None)


class TqdmProgress(keras.callbacks.Callback):
    """A per-epoch progress bar with the running loss, on stderr."""

    def __init__(self, steps: int, epochs: int) -> None:
        super().__init__()
        self.steps, self.epochs, self.bar = steps, epochs, None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=self.steps,
            desc=f"epoch {epoch + 1}/{self.epochs}",
            unit="batch",
            file=sys.stderr,
            mininterval=1.0,
            leave=False,
        )

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.bar is not None:
            self.bar.update(1)
            if logs and batch % 10 == 0:
                self.bar.set_postfix(loss=f"{float(logs.get('loss', 0)):.4f}")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.bar is not None:
            self.bar.close()
        logs = logs or {}
        parts = [f"{k}={float(v):.4f}" for k, v in logs.items() if k != "learning_rate"]
        sys.stderr.write(f"epoch {epoch + 1}: " + " ".join(parts) + "\n")


def _prune_steps(ckdir: Path, keep: str | None) -> None:
    """Delete step checkpoints other than ``keep`` (an epoch checkpoint supersedes them all)."""
    for p in ckdir.glob("step-*.keras"):
        if p.name != keep:
            p.unlink(missing_ok=True)


def _save_keras(model: keras.Model, path: Path) -> None:
    """Save to a temporary ``.keras`` name, then rename (a kill never leaves a half-written model)."""
    with atomic_path(path, keep_suffix=True) as tmp:
        model.save(tmp)


def _prepare_dir(out: Path, cfg: TrainConfig, identity: dict[str, Any], force: bool) -> dict[str, Any] | None:
    """Return the existing manifest to resume from, None for a fresh run; refuse foreign dirs,
    another config and other data. A run that failed or was killed while preparing its data left
    nothing worth keeping: it is cleared and started afresh."""
    if not out.exists():
        out.mkdir(parents=True)
        return None
    if not (out / MANIFEST).exists():
        if any(out.iterdir()):
            raise OutputConflictError(f"{out}: exists and is not a datacraft model directory; choose another --out")
        return None
    manifest = read_manifest(out)
    if force or manifest.get("status") in UNTRUSTED:
        _clear_dir(out)
        return None
    if manifest.get("fingerprint") != cfg.fingerprint():
        raise OutputConflictError(
            f"{out}: holds a model trained with a different config; use --force to replace it, or another --out"
        )
    old = manifest.get("data_identity")
    if not isinstance(old, dict) or old.get("digest") != identity["digest"]:
        why = describe_difference(old, identity) if isinstance(old, dict) else "it records no data identity"
        raise OutputConflictError(
            f"{out}: holds a model {'trained' if manifest.get('status') == 'complete' else 'being trained'} on "
            f"different data ({why}); use --force to retrain it on this data, or another --out"
        )
    return manifest


def _clear_dir(out: Path) -> None:
    """Empty a model directory (keeps the folder itself, which the user named)."""
    for p in out.iterdir():
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()


def _mark_failed(out: Path, manifest: dict[str, Any], error: BaseException) -> None:
    """Record a run that failed before training: a rerun clears it instead of trusting its files."""
    write_json(out / MANIFEST, {**manifest, "status": "failed", "error": str(error)})


def _plot_history(history: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for key, ax in (("loss", axes[0]), ("accuracy", axes[1])):
        for prefix in ("", "val_"):
            if prefix + key in history[0]:
                ax.plot(epochs, [h[prefix + key] for h in history], marker="o", label=prefix + key)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(key)
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)


def data_cache_key(cfg: TrainConfig, identity: dict[str, Any], tok_path: Path, labels: list[str]) -> str:
    """What decides the token cache: the data, the tokenizer file, the labels and the config fields
    that choose documents and their split (not the model or optimizer: retuning them reuses it)."""
    d = cfg.data
    return tokfile.cache_key(
        {
            "data": identity["digest"],
            "tokenizer": file_checksum(tok_path),
            "labels": labels,
            "task": cfg.task,
            "seed": cfg.seed,
            "columns": [d.text_column, d.id_column, d.label_column],
            "max_docs": d.max_docs,
            "val_fraction": d.val_fraction,
        }
    )


def prepare_data(
    files: list[str], cfg: TrainConfig, out: Path, manifest: dict[str, Any] | None, identity: dict[str, Any]
) -> tuple[TextTokenizer, list[str], dict[str, Any]]:
    """Tokenizer, labels and the encoded cache; reused from ``manifest`` when a run resumes and the
    cache's key (data identity, tokenizer, labels, split config) is unchanged and its build completed."""
    cache = out / CACHE_DIR
    if manifest and manifest.get("data") and (out / TOKENIZER_FILE).exists():
        labels = list(manifest.get("labels") or [])
        if tokfile.cache_valid(cache, data_cache_key(cfg, identity, out / TOKENIZER_FILE, labels)):
            return TextTokenizer.load(out / TOKENIZER_FILE), labels, manifest["data"]
    labels_seen: set[str] = set()
    texts = D.train_texts(files, cfg, labels_seen)
    if cfg.tokenizer.from_file:
        for _ in texts:  # still collect the labels
            pass
        tok = TextTokenizer.load(cfg.tokenizer.from_file)
    else:
        tok = TextTokenizer.train(texts, cfg.tokenizer)
    tok.save(out / TOKENIZER_FILE)
    labels = D.sort_labels(labels_seen) if cfg.task == "classify" else []
    if cfg.task == "classify" and len(labels) < 2:
        raise ConfigError(f"data.label_column {cfg.data.label_column!r}: need at least 2 classes, found {labels}")
    key = data_cache_key(cfg, identity, out / TOKENIZER_FILE, labels)
    counts, stats = D.encode_to_cache(files, cfg, tok, labels or None, cache, key=key)
    info: dict[str, Any] = {
        "files": len(files),
        "counts": counts.as_dict(),
        "tokens": {s: st.as_dict() for s, st in stats.items()},
        "tokens_with_eos": {s: st.tokens + st.docs for s, st in stats.items()},
        "cache_key": key,
    }
    return tok, labels, info


@dataclass
class BatchPlan:
    """How a run's batches are made: generators per epoch, their signatures and sizes."""

    train_gen: Callable[..., Iterator[tuple]]  # (epoch, start batch=0)
    val_gen: Callable[[int], Iterator[tuple]]
    train_sig: tuple
    val_sig: tuple
    steps: int
    n_train: int
    n_val: int
    units: int
    unit: str


def plan_batches(
    cfg: TrainConfig, cache: Path, tok: TextTokenizer, labels: list[str], info: dict[str, Any]
) -> BatchPlan:
    """The batch generators of a run over its token cache; a config error when the data gives none."""
    bs = cfg.batch_size
    if cfg.task == "lm":
        train_tok, val_tok = TokenFile.open(cache, "train"), TokenFile.open(cache, "val")
        n_train, n_val = train_tok.windows(cfg.data.seq_len), val_tok.windows(cfg.data.seq_len)
        steps = D.steps_for(n_train, bs, drop_remainder=True)
        units, unit = steps * bs * cfg.data.seq_len, "tokens"
        sig: tuple = (
            _spec((None, cfg.data.seq_len)),
            _spec((None, cfg.data.seq_len)),
        )
        L, buf = cfg.data.seq_len, cfg.data.shuffle_buffer

        def train_gen(epoch: int, start: int = 0) -> Any:
            return W.lm_batches(train_tok, L, bs, seed=cfg.seed, epoch=epoch, buffer=buf, start=start)

        if cfg.max_train_tokens is not None:  # a fixed budget: the same number of batches on any data
            per_pass, steps = steps, cfg.max_train_tokens // (cfg.epochs * bs * L)
            units = steps * bs * L
            if per_pass == 0:
                raise ConfigError(f"the training split gives no full batch of {bs}; lower batch_size or add data")

            def train_gen(epoch: int, start: int = 0) -> Any:
                return W.lm_budget_batches(
                    train_tok,
                    L,
                    bs,
                    seed=cfg.seed,
                    buffer=buf,
                    start=epoch * steps + start,
                    count=steps - start,
                    batches_per_pass=per_pass,
                )

        def val_gen(_: int) -> Any:
            return W.lm_batches(val_tok, L, bs, drop_remainder=False)

        if n_val == 0:
            raise ConfigError(f"the validation split has fewer than {L + 1} tokens; raise data.val_fraction")
    else:
        n_train, n_val = info["counts"]["docs"]["train"], info["counts"]["docs"]["val"]
        steps = D.steps_for(n_train, bs, drop_remainder=False)
        units, unit = n_train, "docs"
        weights = D.class_weight_vector(cfg, labels, D.cache_label_counts(cache / "train.parquet", len(labels)))
        sig = (_spec((None, None)), _spec((None,)))
        if weights is not None:
            sig = (*sig, _spec((None,), "float32"))
        ML = cfg.data.max_length

        def train_gen(epoch: int, start: int = 0) -> Any:
            batches = D.cls_batches(
                cache / "train.parquet",
                ML,
                bs,
                seed=cfg.seed,
                epoch=epoch,
                buffer=cfg.data.shuffle_buffer,
                class_weights=weights,
            )
            return itertools.islice(batches, start, None)

        def val_gen(_: int) -> Any:
            return ((b[0], b[1]) for b in D.cls_batches(cache / "val.parquet", ML, bs))

        val_sig = sig[:2]
        if n_val == 0:
            raise ConfigError("the validation split is empty; raise data.val_fraction")
    if steps == 0:
        raise ConfigError(f"the training split gives no full batch of {bs}; lower batch_size or add data")

    return BatchPlan(train_gen, val_gen, sig, sig if cfg.task == "lm" else val_sig, steps, n_train, n_val, units, unit)


def fit(
    data: str | Path,
    cfg: TrainConfig,
    out: str | Path,
    *,
    quiet: bool = False,
    force: bool = False,
    extra_callbacks: list[keras.callbacks.Callback] | None = None,
) -> dict[str, Any]:
    """Train (or resume) a model on curated Parquet ``data`` into ``out``; returns a summary."""
    out = Path(out)
    files = D.parquet_files(data)
    required = [cfg.data.text_column] + ([cfg.data.label_column] if cfg.task == "classify" else [])
    D.check_columns(files, [c for c in required if c])
    identity = data_identity(files)
    manifest = _prepare_dir(out, cfg, identity, force)
    if manifest and manifest.get("status") == "complete":
        return {"status": "already complete", "out": str(out), "history": manifest.get("history", [])}
    base = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "datacraft_version": __version__,
        "keras_version": keras.__version__,
        "task": cfg.task,
        "fingerprint": cfg.fingerprint(),
        "config": cfg.model_dump(mode="json"),
        "data_identity": identity,
    }
    if manifest is None:  # claim the directory first (a rerun after a kill here starts afresh)
        write_json(out / MANIFEST, {**base, "status": "preparing"})
    try:
        tok, labels, info = prepare_data(files, cfg, out, manifest, identity)
        plan = plan_batches(cfg, out / CACHE_DIR, tok, labels, info)
    except Exception as e:
        _mark_failed(out, base, e)
        raise
    manifest = {**base, "labels": labels, "data": info, "status": "training"}
    write_json(out / MANIFEST, manifest)
    steps, n_train, n_val, units, unit = plan.steps, plan.n_train, plan.n_val, plan.units, plan.unit
    bs = cfg.batch_size

    keras.utils.set_random_seed(cfg.seed)
    ckdir = out / CKPT_DIR
    state_path = ckdir / STATE_FILE
    state: dict[str, Any] = {}
    initial_epoch = step0 = 0
    strategy = make_strategy(cfg)
    with strategy.scope():
        if state_path.exists():
            state = json.loads(state_path.read_text())
            model = _load_checkpoint(ckdir / state["checkpoint"])
            restore_seed_states(model, state.get("rng") or [])
            if cfg.jit_compile != "auto":
                model.jit_compile = cfg.jit_compile
            initial_epoch, step0 = int(state["epoch"]), int(state.get("step", 0))
            if not quiet:
                where = f"at step {step0} of epoch {initial_epoch + 1}" if step0 else f"after epoch {initial_epoch}"
                sys.stderr.write(f"resuming {out} {where}\n")
        else:
            model = build_model(ModelSpec.from_config(cfg, tok.vocab_size, len(labels)))
            compile_model(model, cfg, steps)
    done = state.get("stopped_early") or initial_epoch >= cfg.epochs
    if not done:
        val_batches = D.steps_for(n_val, bs, drop_remainder=False)
        val_ds = D.make_dataset(plan.val_gen, plan.val_sig, batches=val_batches)
        with catch_stop_signals() as flag:
            callback_states: dict[str, Callable[[], dict[str, Any]]] = {}

            def save_step(m: keras.Model, epoch: int, done_steps: int) -> None:
                name = f"step-{epoch + 1:04d}-{done_steps:08d}.keras"
                _save_keras(m, ckdir / name)
                state.update(epoch=epoch, step=done_steps, checkpoint=name, rng=seed_states(m))
                state.update({k: get() for k, get in callback_states.items()})
                write_json(state_path, state)
                _prune_steps(ckdir, keep=name)

            callbacks: list[keras.callbacks.Callback] = [
                RunState(out, cfg, state, units, unit, flag, callback_states),
                StepCheckpoint(save_step, steps, cfg.checkpoint_every_steps, flag, step0),
            ]
            if cfg.optimizer.schedule == "plateau":  # first: RunState records the lr it leaves
                plateau = ResumablePlateau(
                    monitor="val_loss",
                    factor=cfg.optimizer.step_gamma,
                    patience=cfg.optimizer.plateau_patience,
                    saved=state.get("plateau"),
                )
                callbacks.insert(0, plateau)
                callback_states["plateau"] = plateau.state
            if not quiet:
                callbacks.append(TqdmProgress(steps, cfg.epochs))
            callbacks += extra_callbacks or []
            fit_kw = {"validation_data": val_ds, "callbacks": callbacks, "verbose": 0, "shuffle": False}
            if step0:  # finish the interrupted epoch: replay its seeded batches, skipping those done
                part = D.make_dataset(
                    lambda e: plan.train_gen(e, step0),
                    plan.train_sig,
                    epochs=range(initial_epoch, initial_epoch + 1),
                )
                model.fit(
                    part, epochs=initial_epoch + 1, initial_epoch=initial_epoch, steps_per_epoch=steps - step0, **fit_kw
                )
                initial_epoch += 1
            if initial_epoch < cfg.epochs and flag.signum is None and not state.get("stopped_early"):
                train_ds = D.make_dataset(plan.train_gen, plan.train_sig, epochs=range(initial_epoch, cfg.epochs))
                model.fit(train_ds, epochs=cfg.epochs, initial_epoch=initial_epoch, steps_per_epoch=steps, **fit_kw)
            if flag.signum is not None and int(state.get("epoch", 0)) < cfg.epochs and not state.get("stopped_early"):
                raise interrupted(flag, out)
    history = state.get("history", [])
    if history:
        _plot_history(history, out / CURVE_FILE)
    manifest.update(
        status="complete",
        history=history,
        best_epoch=state.get("best_epoch"),
        best_val_loss=state.get("best_val_loss"),
        stopped_early=bool(state.get("stopped_early")),
        steps_per_epoch=steps,
        train_tokens=len(history) * steps * bs * (cfg.data.seq_len if cfg.task == "lm" else 0) or None,
        train_examples=n_train,
        val_examples=n_val,
    )
    write_json(out / MANIFEST, manifest)
    return {"status": "trained", "out": str(out), "history": history, "manifest": manifest}


def _spec(shape: tuple, dtype: str = "int32") -> Any:
    import tensorflow as tf

    return tf.TensorSpec(shape=shape, dtype=dtype)


def _load_checkpoint(path: Path) -> keras.Model:
    import datacraft.train.model  # noqa: F401 - registers custom layers

    try:
        return keras.saving.load_model(path, compile=True, safe_mode=True)
    except Exception as e:
        raise ConfigError(f"{path}: cannot resume from this checkpoint ({type(e).__name__}: {str(e)[:300]})") from None
