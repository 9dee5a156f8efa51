"""``build_model(spec) -> keras.Model``: a pure function of a :class:`ModelSpec`.

Embedding → N × (LSTM|GRU, residual + LayerNorm when widths match) → attention → head:
- ``lm``: causal multi-head self-attention over the recurrent states (residual + LayerNorm), then
  next-token logits at every position;
- ``classify``: attention pooling (a learned score per position, softmax over non-padding tokens),
  then class logits.
Outputs are logits; callers apply softmax. Padding id 0 is masked in attention pooling only, so the
graph has no Keras masks (post-padding keeps real positions' recurrent states exact) and converts
cleanly to TFLite.
"""

from __future__ import annotations

from typing import Any, Literal

import keras
from keras import layers, ops
from pydantic import BaseModel, ConfigDict

from datacraft.train.config import ModelConfig, TrainConfig


class ModelSpec(BaseModel):
    """Everything ``build_model`` needs: the model section plus sizes derived from data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task: Literal["lm", "classify"]
    vocab_size: int
    num_classes: int = 0
    model: ModelConfig
    unroll_length: int | None = None  # export: fixed input length with unrolled recurrent layers (TFLite builtins)
    precision: str = "float32"  # Keras dtype policy of the layers; logits stay float32

    @classmethod
    def from_config(cls, cfg: TrainConfig, vocab_size: int, num_classes: int = 0) -> ModelSpec:
        return cls(
            task=cfg.task, vocab_size=vocab_size, num_classes=num_classes, model=cfg.model, precision=cfg.precision
        )


@keras.saving.register_keras_serializable(package="datacraft")
class AttentionPooling(layers.Layer):
    """Softmax-weighted sum of states over non-padding positions (token id != 0)."""

    def __init__(self, kernel_regularizer: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.score = layers.Dense(1, kernel_regularizer=self.kernel_regularizer, name="score")

    def build(self, input_shape: Any) -> None:
        self.score.build(input_shape[0])
        self.built = True

    def call(self, inputs: Any) -> Any:
        states, token_ids = inputs
        logits = ops.squeeze(self.score(states), -1)
        mask = ops.not_equal(token_ids, 0)
        logits = ops.where(mask, logits, ops.full_like(logits, -1e9))
        weights = ops.softmax(logits, axis=-1)
        return ops.sum(states * ops.expand_dims(weights, -1), axis=1)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        s = input_shape[0]
        return (s[0], s[2])

    def get_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        cfg["kernel_regularizer"] = keras.regularizers.serialize(self.kernel_regularizer)
        return cfg


@keras.saving.register_keras_serializable(package="datacraft")
class TiedEmbedding(layers.Embedding):
    """An embedding whose transpose is also the output projection (``reverse=True``): logits =
    (x · P) · Eᵀ + b, with a learned projection P only when the input width differs from the
    embedding size (compare keras-hub's ReversibleEmbedding)."""

    def __init__(self, input_dim: int, output_dim: int, hidden_dim: int | None = None, **kwargs: Any) -> None:
        super().__init__(input_dim, output_dim, **kwargs)
        self.hidden_dim = hidden_dim

    def build(self, input_shape: Any = None) -> None:
        super().build(input_shape)
        if self.hidden_dim is not None and self.hidden_dim != self.output_dim:
            self.projection = self.add_weight(
                shape=(self.hidden_dim, self.output_dim), initializer="glorot_uniform", name="projection"
            )
        else:
            self.projection = None
        self.output_bias = self.add_weight(shape=(self.input_dim,), initializer="zeros", name="output_bias")

    def call(self, inputs: Any, reverse: bool = False) -> Any:
        if not reverse:
            return super().call(inputs)
        x = inputs if self.projection is None else ops.matmul(inputs, ops.cast(self.projection, inputs.dtype))
        return ops.matmul(x, ops.transpose(ops.cast(self.embeddings, x.dtype))) + ops.cast(self.output_bias, x.dtype)

    def compute_output_shape(self, input_shape: Any, reverse: bool = False) -> tuple:
        if reverse:
            return (*input_shape[:-1], self.input_dim)
        return super().compute_output_shape(input_shape)

    def compute_output_spec(self, inputs: Any, reverse: bool = False) -> Any:
        shape = self.compute_output_shape(inputs.shape, reverse)
        return keras.KerasTensor(shape, dtype=self.compute_dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "hidden_dim": self.hidden_dim}

    # Embedding saves only its matrix; save and load every variable of this layer, in order
    def save_own_variables(self, store: Any) -> None:
        layers.Layer.save_own_variables(self, store)

    def load_own_variables(self, store: Any) -> None:
        layers.Layer.load_own_variables(self, store)


def build_model(spec: ModelSpec) -> keras.Model:
    """Build (not compile) the model for ``spec``; inputs are int32 token ids ``[batch, length]``."""
    old = keras.config.dtype_policy()
    keras.config.set_dtype_policy(spec.precision)
    try:
        return _build(spec)
    finally:
        keras.config.set_dtype_policy(old)


def _build(spec: ModelSpec) -> keras.Model:
    m = spec.model
    reg = keras.regularizers.L2(m.l2) if m.l2 > 0 else None
    tokens = keras.Input(shape=(spec.unroll_length,), dtype="int32", name="tokens")
    tied = spec.task == "lm" and m.tie_embeddings
    if tied:
        hidden = m.rnn_units if m.rnn_layers else m.embed_dim
        embedding: layers.Embedding = TiedEmbedding(
            spec.vocab_size, m.embed_dim, hidden_dim=hidden, embeddings_regularizer=reg, name="embedding"
        )
    else:
        embedding = layers.Embedding(spec.vocab_size, m.embed_dim, embeddings_regularizer=reg, name="embedding")
    x = embedding(tokens)
    x = layers.Dropout(m.dropout, name="embedding_dropout")(x)
    rnn_cls = layers.LSTM if m.rnn == "lstm" else layers.GRU
    for i in range(m.rnn_layers):
        h = rnn_cls(
            m.rnn_units,
            return_sequences=True,
            kernel_regularizer=reg,
            recurrent_regularizer=reg,
            unroll=spec.unroll_length is not None,
            name=f"{m.rnn}_{i}",
        )(x)
        h = layers.Dropout(m.dropout, name=f"{m.rnn}_{i}_dropout")(h)
        x = layers.Add(name=f"{m.rnn}_{i}_residual")([x, h]) if x.shape[-1] == m.rnn_units else h
        x = layers.LayerNormalization(name=f"{m.rnn}_{i}_norm")(x)
    if spec.task == "lm":
        a = layers.MultiHeadAttention(
            m.attention_heads, m.attention_dim, dropout=m.dropout, kernel_regularizer=reg, name="causal_attention"
        )(x, x, use_causal_mask=True)
        x = layers.LayerNormalization(name="attention_norm")(layers.Add(name="attention_residual")([x, a]))
        if tied:
            out = embedding(x, reverse=True)
        else:
            out = layers.Dense(spec.vocab_size, kernel_regularizer=reg, name="next_token_logits")(x)
    else:
        pooled = AttentionPooling(kernel_regularizer=reg, name="attention_pooling")([x, tokens])
        pooled = layers.Dropout(m.dropout, name="pooled_dropout")(pooled)
        out = layers.Dense(spec.num_classes, kernel_regularizer=reg, name="class_logits")(pooled)
    if spec.precision != "float32":  # softmax and loss in float32 (Keras' mixed-precision advice)
        out = layers.Activation("linear", dtype="float32", name="logits_float32")(out)
    return keras.Model(tokens, out, name=f"datacraft_{spec.task}")
