"""``export``: SavedModel and TFLite (float16 or dynamic-range int8), with size, single-document
latency against the Keras model, and a check that exported predictions match within a tolerance.

Inputs are fixed at ``[1, length]`` (the training window / max length, post-padded) for TFLite.
Recurrent layers are unrolled over the fixed length so that the graph converts to TFLite builtin
ops; only if that fails does the converter fall back to ``SELECT_TF_OPS`` (needs the Flex delegate),
and the report says which op set was used.
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from datacraft.errors import DatacraftError
from datacraft.train import data as D
from datacraft.train.modeldir import CACHE_DIR, EXPORT_DIR, MODEL_FILE, LoadedModel, write_json

TOLERANCE = {"none": 1e-4, "float16": 2e-2, "int8": 1e-1}


def _sample_inputs(loaded: LoadedModel, n: int, seed: int) -> np.ndarray:
    """Up to ``n`` real documents from the model's validation cache (else random ids), ``[n, length]``."""
    L = loaded.length
    cache = loaded.dir / CACHE_DIR / "val.parquet"
    seqs: list[list[int]] = []
    if cache.exists():
        for _, ids, _ in D.iter_cache(cache):
            seqs.append(ids[:L])
            if len(seqs) == n:
                break
    if not seqs:
        rng = np.random.default_rng(seed)
        seqs = [list(rng.integers(3, loaded.tokenizer.vocab_size, size=L)) for _ in range(n)]
    out = np.zeros((len(seqs), L), dtype=np.int32)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return out


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _latency_ms(fn: Any, x: np.ndarray, repeats: int) -> float:
    fn(x)  # warm-up (tracing, allocation)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def convert_tflite(saved_model: Path, quantize: str) -> tuple[bytes, str]:
    """TFLite flatbuffer from a SavedModel; returns (bytes, op set used)."""
    import tensorflow as tf

    errors = []
    for ops_name, ops in (
        ("builtins", [tf.lite.OpsSet.TFLITE_BUILTINS]),
        ("builtins+select_tf_ops", [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]),
    ):
        conv = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
        conv.target_spec.supported_ops = ops
        if quantize in ("float16", "int8"):
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            conv.target_spec.supported_types = [tf.float16]
        try:
            return conv.convert(), ops_name
        except Exception as e:  # the converter raises ConverterError and others
            errors.append(f"{ops_name}: {str(e)[:300]}")
    raise DatacraftError("TFLite conversion failed: " + " | ".join(errors))


def fixed_length_model(loaded: LoadedModel) -> Any:
    """The same weights in a graph with a fixed input length and unrolled recurrent layers, which
    TFLite converts to builtin ops (a ``while`` loop over time would need the Flex delegate)."""
    from datacraft.train.model import ModelSpec, build_model

    spec = ModelSpec.from_config(loaded.config, loaded.tokenizer.vocab_size, len(loaded.labels))
    model = build_model(spec.model_copy(update={"unroll_length": loaded.length}))
    model.set_weights(loaded.model.get_weights())
    return model


def export_model(
    loaded: LoadedModel, *, quantize: str = "float16", repeats: int = 30, samples: int = 16
) -> dict[str, Any]:
    """Write ``MODEL_DIR/export/{saved_model, model.tflite, export.json}``; returns the report."""
    import tensorflow as tf

    out = loaded.dir / EXPORT_DIR
    L = loaded.length
    sm_dir = out / "saved_model"
    tmp_sm = out / f".saved_model.tmp-{os.getpid()}"
    shutil.rmtree(tmp_sm, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    export_model_ = fixed_length_model(loaded)
    export_model_.export(
        str(tmp_sm), format="tf_saved_model", verbose=False, input_signature=[tf.TensorSpec([None, L], tf.int32)]
    )
    shutil.rmtree(sm_dir, ignore_errors=True)
    os.replace(tmp_sm, sm_dir)
    flat, ops_used = convert_tflite(sm_dir, quantize)
    tfl_path = out / "model.tflite"
    tmp_tfl = out / f".model.tflite.tmp-{os.getpid()}"
    tmp_tfl.write_bytes(flat)
    os.replace(tmp_tfl, tfl_path)

    x = _sample_inputs(loaded, samples, loaded.config.seed)
    keras_fn = lambda a: np.asarray(loaded.model.predict_on_batch(a))  # noqa: E731
    sm = tf.saved_model.load(str(sm_dir))
    sm_fn = lambda a: sm.serve(tf.constant(a)).numpy()  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice (LiteRT)
        interp = tf.lite.Interpreter(model_path=str(tfl_path))
    interp.resize_tensor_input(interp.get_input_details()[0]["index"], [1, L])
    interp.allocate_tensors()
    inp, outp = interp.get_input_details()[0]["index"], interp.get_output_details()[0]["index"]

    def tfl_fn(a: np.ndarray) -> np.ndarray:
        rows = []
        for row in a:
            interp.set_tensor(inp, row[None, :].astype(np.int32))
            interp.invoke()
            rows.append(interp.get_tensor(outp)[0])
        return np.stack(rows)

    ref = _softmax(keras_fn(x))
    report: dict[str, Any] = {"task": loaded.task, "input_shape": [1, L], "quantize": quantize, "samples": len(x)}
    one = x[:1]
    fmts = {
        "keras": (loaded.dir / MODEL_FILE, keras_fn),
        "saved_model": (sm_dir, sm_fn),
        "tflite": (tfl_path, tfl_fn),
    }
    for name, (path, fn) in fmts.items():
        entry: dict[str, Any] = {
            "path": str(path),
            "bytes": _dir_size(path),
            "latency_ms": _latency_ms(fn, one, repeats),
        }
        if name != "keras":
            got = _softmax(fn(x))
            diff = float(np.abs(got - ref).max())
            agree = float((got.argmax(-1) == ref.argmax(-1)).mean())
            tol = TOLERANCE["none"] if name == "saved_model" else TOLERANCE[quantize]
            entry.update(max_abs_prob_diff=diff, top1_agreement=agree, tolerance=tol, matches=diff <= tol)
        report[name] = entry
    report["tflite"]["ops"] = ops_used
    report["keras"]["latency_note"] = "predict_on_batch on one document (compiled Keras predict)"
    write_json(out / "export.json", report)
    return report
