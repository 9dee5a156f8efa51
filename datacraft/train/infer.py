"""Using a trained model: ``generate`` text (LM) and ``predict`` columns onto Parquet (streaming)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from datacraft.errors import ConfigError
from datacraft.train import data as D
from datacraft.train.modeldir import LoadedModel


@dataclass
class GenerateOptions:
    """Sampling controls of :func:`generate`."""

    max_tokens: int = 50
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    seed: int = 0
    stop: tuple[str, ...] = ()


def generate(loaded: LoadedModel, prompt: str, options: GenerateOptions | None = None) -> str:
    """Continue ``prompt`` token by token with the stateful decoder; stops at ``[EOS]``, after
    ``max_tokens`` or before the first stop sequence."""
    from datacraft.train.decode import StepDecoder, sample_next

    o = options or GenerateOptions()
    if loaded.task != "lm":
        raise ConfigError(f"{loaded.dir}: generate needs a language model (task lm), this one is {loaded.task}")
    tok = loaded.tokenizer
    ids = [tok.eos_id, *(tok.encode(prompt) if prompt else [])]  # [EOS] starts a document, as in training
    dec = StepDecoder(loaded.model, loaded.length)
    state = dec.initial_state()
    for t in ids:
        logits = dec.step(t, state)
    rng = np.random.default_rng(o.seed)
    seen = set(ids[1:])
    new: list[int] = []
    for _ in range(o.max_tokens):
        logits[tok.pad_id] = -np.inf
        nxt = sample_next(
            logits,
            rng,
            temperature=o.temperature,
            top_k=o.top_k,
            top_p=o.top_p,
            repetition_penalty=o.repetition_penalty,
            seen=seen,
        )
        if nxt == tok.eos_id:
            break
        new.append(nxt)
        seen.add(nxt)
        if o.stop:
            text = tok.decode(new)
            cut = min((i for i in (text.find(s) for s in o.stop) if i >= 0), default=-1)
            if cut >= 0:
                return text[:cut]
        logits = dec.step(nxt, state)
    return tok.decode(new)


def window_generate(loaded: LoadedModel, prompt: str, max_tokens: int) -> list[int]:
    """Greedy decoding by re-running the whole right-padded window per token (the old way; kept as the
    reference for the stateful decoder and for ``bench/train_bench.py``'s ms/token comparison)."""
    tok = loaded.tokenizer
    ids = [tok.eos_id, *(tok.encode(prompt) if prompt else [])]
    L = loaded.length
    new: list[int] = []
    for _ in range(max_tokens):
        ctx = (ids + new)[-L:]
        x = np.zeros((1, L), dtype=np.int32)
        x[0, : len(ctx)] = ctx
        logits = np.array(loaded.model.predict_on_batch(x))[0, len(ctx) - 1]
        logits[tok.pad_id] = -np.inf
        nxt = int(np.argmax(logits))
        if nxt == tok.eos_id:
            break
        new.append(nxt)
    return new


def _lm_doc_scores(loaded: LoadedModel, seqs: list[list[int]], batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per document: mean next-token NLL over its first ``seq_len + 1`` tokens, and tokens scored."""
    import keras

    L = loaded.length
    nll = np.full(len(seqs), np.nan)
    n_scored = np.zeros(len(seqs), dtype=np.int64)
    eos = loaded.tokenizer.eos_id
    for s in range(0, len(seqs), batch_size):
        chunk = [[eos, *q][: L + 1] for q in seqs[s : s + batch_size]]
        x = D.pad_batch([c[:-1] for c in chunk], L)
        logits = keras.ops.convert_to_numpy(keras.ops.log_softmax(loaded.model.predict_on_batch(x), axis=-1))
        for i, c in enumerate(chunk):
            t = np.asarray(c[1:])
            if len(t) == 0:
                continue
            lp = logits[i, np.arange(len(t)), t]
            nll[s + i] = float(-lp.mean())
            n_scored[s + i] = len(t)
    return nll, n_scored


def predict_table(loaded: LoadedModel, texts: list[str | None], batch_size: int) -> dict[str, pa.Array]:
    """The columns ``predict`` appends for one batch of texts (null text → null predictions)."""
    import keras

    ok = [i for i, t in enumerate(texts) if t]
    seqs = loaded.tokenizer.encode_batch([texts[i] for i in ok]) if ok else []
    n = len(texts)
    if loaded.task == "lm":
        nll, _ = _lm_doc_scores(loaded, seqs, batch_size) if ok else (np.zeros(0), np.zeros(0))
        loss = [None] * n
        for j, i in enumerate(ok):
            loss[i] = None if np.isnan(nll[j]) else float(nll[j])
        return {
            "lm_loss": pa.array(loss, pa.float64()),
            "lm_perplexity": pa.array([None if v is None else float(np.exp(v)) for v in loss], pa.float64()),
        }
    labels = loaded.labels
    probs = np.zeros((len(ok), len(labels)), dtype=np.float32)
    for s in range(0, len(ok), batch_size):
        part = seqs[s : s + batch_size]
        x = D.pad_batch([q if q else [0] for q in part], loaded.length)
        probs[s : s + len(part)] = keras.ops.convert_to_numpy(
            keras.ops.softmax(loaded.model.predict_on_batch(x), axis=-1)
        )
    pred_label: list[str | None] = [None] * n
    pred_score: list[float | None] = [None] * n
    per_class: list[list[float | None]] = [[None] * n for _ in labels]
    for j, i in enumerate(ok):
        pred_label[i] = labels[int(probs[j].argmax())]
        pred_score[i] = float(probs[j].max())
        for c in range(len(labels)):
            per_class[c][i] = float(probs[j, c])
    cols = {"pred_label": pa.array(pred_label, pa.string()), "pred_score": pa.array(pred_score, pa.float64())}
    for c, lab in enumerate(labels):
        cols[f"prob_{lab}"] = pa.array(per_class[c], pa.float64())
    return cols


def prediction_fields(loaded: LoadedModel) -> list[pa.Field]:
    """The typed columns ``predict`` appends: the same for every file and batch."""
    if loaded.task == "lm":
        return [pa.field("lm_loss", pa.float64()), pa.field("lm_perplexity", pa.float64())]
    fields = [pa.field("pred_label", pa.string()), pa.field("pred_score", pa.float64())]
    return fields + [pa.field(f"prob_{lab}", pa.float64()) for lab in loaded.labels]


def predict_schema(loaded: LoadedModel, files: list[str]) -> pa.Schema:
    """One output schema for every file: the inputs' unified columns, then the prediction columns.

    Readers load the output folder as one dataset, whatever each input file held; input columns
    named like a prediction column are replaced."""
    try:
        schemas = [pq.read_schema(f) for f in files]
        unified = pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowException, OSError) as e:
        raise ConfigError(f"input files of predict cannot share one schema: {e}") from None
    added = prediction_fields(loaded)
    names = {f.name for f in added}
    keep = [f for f in unified if f.name not in names]
    return pa.schema(keep + added, metadata={b"datacraft.predict.model": str(loaded.task).encode()})


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table``'s columns in ``schema``'s order and types; columns it lacks are null."""
    cols = []
    for field in schema:
        if field.name in table.column_names:
            cols.append(table.column(field.name).cast(field.type))
        else:
            cols.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(cols, schema=schema)


def predict_files(
    loaded: LoadedModel,
    inputs: str,
    out_dir: str | Path,
    *,
    batch_size: int = 64,
    read_rows: int = 1024,
    text_column: str | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Stream every input Parquet shard to ``out_dir/<same name>`` with prediction columns appended.

    Rows keep their order; every output file has the same schema (:func:`predict_schema`), an empty
    input gives an empty output; each file is written under a temporary name (staged locally for a
    URL) and appears whole when complete."""
    from datacraft.io import fs
    from datacraft.io.atomic import atomic_path

    text_col = text_column or loaded.config.data.text_column
    files = D.parquet_files(inputs)
    D.check_columns(files, [text_col])
    schema = predict_schema(loaded, files)
    out = fs.as_path(fs.resolve(str(out_dir)))
    names = [os.path.basename(f) for f in files]
    if len(set(names)) != len(names):
        names = [f"part-{i:05d}-{n}" for i, n in enumerate(names)]
    rows = 0
    written = []
    for f, name in zip(files, names, strict=True):
        final = fs.join(out, name)
        with atomic_path(final) as tmp, pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for batch in pq.ParquetFile(f).iter_batches(batch_size=read_rows):
                table = pa.Table.from_batches([batch])
                preds = predict_table(loaded, table.column(text_col).to_pylist(), batch_size)
                for k, v in preds.items():
                    table = table.drop_columns([k]) if k in table.column_names else table
                    table = table.append_column(k, v)
                writer.write_table(_conform(table, schema))
                rows += table.num_rows
                if progress is not None:
                    progress(table.num_rows)
        written.append(str(final))
    return {"files": written, "rows": rows}
