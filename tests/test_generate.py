"""Stateful decoding equals the Keras model; sampling controls; tied embeddings; foreign tokenizers.

CPU budget: untrained tiny models (vocab 40, 8 units), a few seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.train
pytest.importorskip("tensorflow")

from datacraft.train.config import build_train_config  # noqa: E402


def _model(rnn: str, tied: bool, layers: int = 2, embed: int = 8, units: int = 8):
    from datacraft.train.model import ModelSpec, build_model

    cfg = build_train_config(
        {
            "model": {
                "embed_dim": embed,
                "rnn": rnn,
                "rnn_units": units,
                "rnn_layers": layers,
                "attention_heads": 2,
                "attention_dim": 4,
                "dropout": 0.2,
                "tie_embeddings": tied,
            }
        }
    )
    return build_model(ModelSpec.from_config(cfg, 40))


@pytest.mark.parametrize(
    ("rnn", "tied", "embed", "units"),
    [("lstm", False, 8, 8), ("gru", False, 8, 12), ("lstm", True, 8, 8), ("gru", True, 6, 10)],
)
def test_step_decoder_equals_full_window(rnn: str, tied: bool, embed: int, units: int) -> None:
    from datacraft.train.decode import StepDecoder

    model = _model(rnn, tied, embed=embed, units=units)
    rng = np.random.default_rng(1)
    for w in model.weights:  # non-trivial biases and norms
        w.assign(w.numpy() + rng.normal(0, 0.2, w.shape).astype(w.dtype.name if hasattr(w.dtype, "name") else w.dtype))
    x = rng.integers(3, 40, (1, 12)).astype("int32")
    full = np.asarray(model.predict_on_batch(x))[0]
    dec = StepDecoder(model, window=12)
    state = dec.initial_state()
    steps = np.stack([dec.step(int(t), state) for t in x[0]])
    np.testing.assert_allclose(steps, full, rtol=1e-4, atol=1e-4)


def test_tied_embeddings_share_the_matrix() -> None:
    import keras

    untied, tied = _model("lstm", False, embed=8, units=12), _model("lstm", True, embed=8, units=12)
    names = {layer.name for layer in tied.layers}
    assert "next_token_logits" not in names
    emb = tied.get_layer("embedding")
    assert [tuple(w.shape) for w in emb.weights] == [(40, 8), (12, 8), (40,)]  # E, projection, bias
    assert tied.count_params() < untied.count_params()
    # a gradient step on the output moves the input embedding too (one shared matrix)
    tied.compile(optimizer=keras.optimizers.SGD(1.0), loss=keras.losses.SparseCategoricalCrossentropy(True))
    before = emb.embeddings.numpy().copy()
    x = np.full((2, 5), 3, "int32")
    y = np.full((2, 5), 7, "int32")
    tied.train_on_batch(x, y)
    moved = np.abs(emb.embeddings.numpy() - before).sum(axis=1)
    assert moved[7] > 0 and moved[3] > 0  # 7 only appears as a target, 3 only as an input


def test_sampling_controls() -> None:
    from datacraft.train.decode import sample_next

    logits = np.asarray([1.0, 3.0, 2.9, 0.5, -1.0])
    rng = np.random.default_rng(0)
    assert sample_next(logits, rng, temperature=0) == 1
    assert {sample_next(logits, rng, top_k=1) for _ in range(20)} == {1}
    assert {sample_next(logits, rng, top_p=0.3) for _ in range(20)} == {1}
    assert {sample_next(logits, rng, top_k=2) for _ in range(200)} == {1, 2}
    # penalty: token 1 was already used, greedy now picks 2
    assert sample_next(logits, rng, temperature=0, repetition_penalty=1.5, seen={1}) == 2
    # negative logits are pushed further down, not up
    assert sample_next(np.asarray([-1.0, -1.1]), rng, temperature=0, repetition_penalty=2.0, seen={0}) == 1
    a = [sample_next(logits, np.random.default_rng(5)) for _ in range(3)]
    assert a == [sample_next(logits, np.random.default_rng(5)) for _ in range(3)]


def test_foreign_tokenizer_special_tokens_are_mapped(tmp_path: Path) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from datacraft.train.tokenizer import TextTokenizer

    # GPT-2 style: byte-level BPE whose only special token is <|endoftext|>, at the end of the vocabulary
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(["hello world, the quick brown fox"] * 20, trainer=trainer)
    tok.add_special_tokens(["<|endoftext|>"])
    path = tmp_path / "gpt2ish.json"
    tok.save(str(path))
    assert tok.token_to_id("!") == 0  # id 0 is an ordinary token there
    t = TextTokenizer.load(path)
    ids = t.encode("hello world!<|endoftext|>")
    assert ids[-1] == t.eos_id == 2 and min(ids[:-1]) >= 3
    assert t.decode(ids) == "hello world!"
    assert t.vocab_size == tok.get_vocab_size() + 3
    # the native layout is kept as is
    from datacraft.train.config import TokenizerConfig

    native = TextTokenizer.train(["abc abd"] * 5, TokenizerConfig(vocab_size=270))
    assert native.offset == 0 and native.encode("abc") == native.tok.encode("abc").ids


def test_generate_cli_stateful_with_controls(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    import yaml
    from click.testing import CliRunner

    from datacraft.cli import main

    data = tmp_path / "data"
    data.mkdir()
    rows = [{"id": f"d{i}", "text": "the cat sat on the mat. the dog sat on the log. " * 3} for i in range(30)]
    pq.write_table(pa.Table.from_pylist(rows), data / "p.parquet")
    raw = {
        "epochs": 1,
        "batch_size": 4,
        "data": {"seq_len": 16, "val_fraction": 0.3},
        "tokenizer": {"vocab_size": 100, "min_frequency": 1},
        "model": {"embed_dim": 8, "rnn_units": 8, "attention_heads": 1, "attention_dim": 4, "tie_embeddings": True},
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    runner = CliRunner()
    res = runner.invoke(main, ["train", str(data), "-c", str(tmp_path / "c.yaml"), "-o", str(tmp_path / "m"), "-q"])
    assert res.exit_code == 0, res.output
    base = ["generate", str(tmp_path / "m"), "-p", "the cat", "--max-tokens", "20", "--seed", "3"]
    a = runner.invoke(main, [*base, "--top-p", "0.9", "--repetition-penalty", "1.3"])
    b = runner.invoke(main, [*base, "--top-p", "0.9", "--repetition-penalty", "1.3"])
    assert a.exit_code == 0, a.output
    assert a.output == b.output and a.output.startswith("the cat")
    greedy = runner.invoke(main, [*base, "--temperature", "0"]).output
    cont = greedy[len("the cat") :].rstrip("\n")
    assert cont, greedy
    stop = cont.strip()[:2]
    cut = runner.invoke(main, [*base, "--temperature", "0", "--stop", stop]).output.rstrip("\n")
    assert cut == "the cat" + cont[: cont.find(stop)]
    manifest = json.loads((tmp_path / "m/datacraft_model.json").read_text())
    assert manifest["config"]["model"]["tie_embeddings"] is True
