"""``datacraft tune``: hyperparameter search with KerasTuner over ranges given in YAML.

The search space is a mapping of config keys (as for ``--set``) to ranges::

    model.rnn_units: {values: [32, 64, 128]}                       # a choice
    model.dropout: {min: 0.0, max: 0.3, step: 0.1}                  # float grid
    optimizer.learning_rate: {min: 1.0e-4, max: 1.0e-2, sampling: log}
    model.rnn_layers: {min: 1, max: 2}                              # int range (both bounds ints)

Keys under ``tokenizer`` and ``data`` (other than ``data.seq_len``) decide the token cache, which is
built once in ``OUT/data`` from the base config, so they cannot vary. Every trial trains the base
config with the trial's values on that cache and is scored by its best ``val_loss``. KerasTuner keeps
each trial in ``OUT/search`` (rerunning the same command resumes: finished trials are not rerun);
``OUT/trials.json`` / ``trials.csv`` list every trial's values and score, ``OUT/best.yaml`` is the base
config with the best values, ready for ``datacraft train -c OUT/best.yaml``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import yaml

from datacraft.errors import ConfigError
from datacraft.io.atomic import write_text_atomic
from datacraft.pipeline.yamlsafe import safe_load_bounded
from datacraft.train.config import TrainConfig, build_train_config

ALGORITHMS = ("random", "bayesian", "hyperband")
FIXED_PREFIXES = ("tokenizer.", "data.")
ALLOWED_DATA = ("data.seq_len",)


def load_space(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read and check a search-space YAML (errors name the key, exit 2)."""
    try:
        raw = safe_load_bounded(Path(path).read_text(encoding="utf-8"), str(path))
    except FileNotFoundError:
        raise ConfigError(f"search space file not found: {path}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML: {e}") from None
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{path}: expected a mapping of config keys to ranges")
    for key, spec in raw.items():
        if key.startswith(FIXED_PREFIXES) and key not in ALLOWED_DATA:
            raise ConfigError(f"{path}: {key}: the tokenizer and data keys are fixed by the base config")
        if not isinstance(spec, dict) or not ({"values"} <= set(spec) or {"min", "max"} <= set(spec)):
            raise ConfigError(f"{path}: {key}: expected {{values: [...]}} or {{min: .., max: .., step/sampling}}")
        unknown = set(spec) - {"values", "min", "max", "step", "sampling"}
        if unknown:
            raise ConfigError(f"{path}: {key}: unknown range field(s) {sorted(unknown)}")
        if "values" in spec and (not isinstance(spec["values"], list) or not spec["values"]):
            raise ConfigError(f"{path}: {key}.values: expected a non-empty list")
        if spec.get("sampling", "linear") not in ("linear", "log", "reverse_log"):
            raise ConfigError(f"{path}: {key}.sampling: linear, log or reverse_log")
    return raw


def define(hp: Any, key: str, spec: dict[str, Any]) -> Any:
    """Declare one hyperparameter on a KerasTuner ``HyperParameters``."""
    if "values" in spec:
        return hp.Choice(key, spec["values"])
    lo, hi = spec["min"], spec["max"]
    sampling = spec.get("sampling", "linear")
    if isinstance(lo, int) and isinstance(hi, int) and not isinstance(spec.get("step", 1), float):
        return hp.Int(key, lo, hi, step=spec.get("step"), sampling=sampling)
    return hp.Float(key, float(lo), float(hi), step=spec.get("step"), sampling=sampling)


def trial_config(base_raw: dict[str, Any], values: dict[str, Any]) -> TrainConfig:
    """The base config with a trial's values (validated like ``--set``)."""
    return build_train_config(base_raw, [f"{k}={json.dumps(v)}" for k, v in values.items()], "trial")


def run_tune(
    data: str | Path,
    base_raw: dict[str, Any],
    space: dict[str, dict[str, Any]],
    out: str | Path,
    *,
    algorithm: str = "random",
    trials: int = 10,
    seed: int | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Search, resumably, and write the trial table and ``best.yaml``; returns the summary."""
    import keras
    import keras_tuner as kt

    from datacraft.train import data as D
    from datacraft.train.loop import compile_model, plan_batches, prepare_data
    from datacraft.train.model import ModelSpec, build_model

    out = Path(out)
    base = build_train_config(base_raw, source="base config")
    for key in space:  # every key must be a real config key: validate with a sample value
        sample = space[key]["values"][0] if "values" in space[key] else space[key]["min"]
        trial_config(base_raw, {key: sample})
    files = D.parquet_files(data)
    required = [base.data.text_column] + ([base.data.label_column] if base.task == "classify" else [])
    D.check_columns(files, [c for c in required if c])
    work = out / "data"
    work.mkdir(parents=True, exist_ok=True)
    meta_path = work / "prepared.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        from datacraft.train.tokenizer import TextTokenizer

        tok, labels, info = TextTokenizer.load(work / "tokenizer.json"), meta["labels"], meta["info"]
    else:
        from datacraft.train.identity import data_identity

        tok, labels, info = prepare_data(files, base, work, None, data_identity(files))
        write_text_atomic(meta_path, json.dumps({"labels": labels, "info": info}))

    class Model(kt.HyperModel):
        def build(self, hp: Any) -> keras.Model:
            cfg = trial_config(base_raw, {k: define(hp, k, s) for k, s in space.items()})
            plan = plan_batches(cfg, work / "cache", tok, labels, info)
            model = build_model(ModelSpec.from_config(cfg, tok.vocab_size, len(labels)))
            compile_model(model, cfg, plan.steps)
            return model

        def fit(self, hp: Any, model: keras.Model, *args: Any, **kwargs: Any) -> Any:
            cfg = trial_config(base_raw, {k: hp.get(k) for k in space})
            plan = plan_batches(cfg, work / "cache", tok, labels, info)
            epochs = int(kwargs.pop("epochs", cfg.epochs))
            initial = int(kwargs.pop("initial_epoch", 0))
            train = D.make_dataset(plan.train_gen, plan.train_sig, epochs=range(initial, epochs))
            val = D.make_dataset(plan.val_gen, plan.val_sig, batches=D.steps_for(plan.n_val, cfg.batch_size, False))
            return model.fit(
                train,
                epochs=epochs,
                initial_epoch=initial,
                steps_per_epoch=plan.steps,
                validation_data=val,
                verbose=0,
                shuffle=False,
                callbacks=kwargs.get("callbacks", []),
            )

    common = {
        "objective": "val_loss",
        "directory": str(out),
        "project_name": "search",
        "overwrite": False,
        "seed": base.seed if seed is None else seed,
    }
    cls = {"random": kt.RandomSearch, "bayesian": kt.BayesianOptimization, "hyperband": kt.Hyperband}[algorithm]

    class Tuner(cls):  # type: ignore[misc, valid-type]
        def _configure_tensorboard_dir(self, callbacks: Any, trial: Any, execution: int = 0) -> None:
            """KerasTuner imports tensorboard here for TensorBoard callbacks; we pass none (and
            tensorflow-cpu does not install tensorboard)."""

    if algorithm != "hyperband":
        tuner: Any = Tuner(Model(), max_trials=trials, **common)
    else:
        tuner = Tuner(Model(), max_epochs=max(2, base.epochs), factor=3, max_consecutive_failed_trials=3, **common)
    keras.utils.set_random_seed(base.seed)
    tuner.search(epochs=base.epochs, verbose=0)
    rows = trial_rows(tuner, list(space))
    done = [r for r in rows if r["val_loss"] is not None]
    if not done:
        raise ConfigError("no trial finished; see the errors above")
    best = min(done, key=lambda r: r["val_loss"])
    best_cfg = trial_config(base_raw, {k: best[k] for k in space})
    raw = best_cfg.model_dump(mode="json", exclude_defaults=False)
    write_text_atomic(
        out / "best.yaml",
        f"# best of {len(done)} trial(s) ({algorithm}), val_loss {best['val_loss']:.4f}: trial {best['trial']}\n"
        + yaml.safe_dump(raw, sort_keys=False),
    )
    write_text_atomic(out / "trials.json", json.dumps(rows, indent=2) + "\n")
    with open(out / "trials.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return {"trials": rows, "best": best, "best_config": str(out / "best.yaml")}


def trial_rows(tuner: Any, keys: list[str]) -> list[dict[str, Any]]:
    """One row per trial: id, status, each searched value, best val_loss and epochs run."""
    rows = []
    for tid, trial in sorted(tuner.oracle.trials.items()):
        score = trial.score
        row: dict[str, Any] = {"trial": tid, "status": str(trial.status)}
        for k in keys:
            row[k] = trial.hyperparameters.values.get(k)
        row["val_loss"] = None if score is None else float(score)
        row["epochs"] = trial.hyperparameters.values.get("tuner/epochs")
        rows.append(row)
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """The trial table as aligned text, best first."""
    if not rows:
        return "(no trials)"
    rows = sorted(rows, key=lambda r: (r["val_loss"] is None, r["val_loss"] or 0))
    cols = list(rows[0])
    cells = [[("" if r[c] is None else f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c])) for c in cols]
             for r in rows]  # fmt: skip
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)
