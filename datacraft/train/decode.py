"""Stateful step-by-step decoding of the LM, in NumPy from the trained weights.

One new token costs one embedding row, one recurrent-cell step per layer (the LSTM/GRU state is
carried), one attention query against the cached keys/values of earlier positions (the attention
cache, at most ``seq_len`` positions as in training) and the output projection: no re-run of the
window per token. Within the first ``seq_len`` positions the logits equal the Keras model's on the
same prefix (tested); beyond, the recurrent state keeps the whole history and attention sees the last
``seq_len`` positions.

Sampling: temperature (0 = greedy), top-k, top-p (nucleus), a repetition penalty on tokens already in
the context (CTRL's rule: positive logits divided by it, negative multiplied), a seed, and stop
sequences (the continuation is cut before the first one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * gamma + beta


@dataclass
class _Rnn:
    kind: str
    kernel: np.ndarray
    recurrent: np.ndarray
    bias: np.ndarray
    norm: tuple[np.ndarray, np.ndarray, float]
    residual: bool

    def step(self, x: np.ndarray, state: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        if self.kind == "lstm":
            h, c = state
            z = x @ self.kernel + h @ self.recurrent + self.bias
            i, f, g, o = np.split(z, 4, axis=-1)
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            h = _sigmoid(o) * np.tanh(c)
            return h, [h, c]
        (h,) = state
        b_in, b_rec = (self.bias[0], self.bias[1]) if self.bias.ndim == 2 else (self.bias, 0.0)
        xz, xr, xh = np.split(x @ self.kernel + b_in, 3, axis=-1)
        rz, rr, rh = np.split(h @ self.recurrent + b_rec, 3, axis=-1)
        z, r = _sigmoid(xz + rz), _sigmoid(xr + rr)
        h = z * h + (1 - z) * np.tanh(xh + r * rh)
        return h, [h]


@dataclass
class DecodeState:
    """What one decoding stream carries between tokens."""

    rnn: list[list[np.ndarray]]
    keys: list[np.ndarray] = field(default_factory=list)  # per position: [heads, key_dim]
    values: list[np.ndarray] = field(default_factory=list)
    position: int = 0


class StepDecoder:
    """Next-token logits one token at a time, from a trained ``datacraft_lm`` Keras model."""

    def __init__(self, model: Any, window: int) -> None:
        self.window = window
        get = model.get_layer
        self.embedding = np.asarray(get("embedding").get_weights()[0], np.float32)
        self.rnns: list[_Rnn] = []
        i = 0
        names = {layer.name for layer in model.layers}
        kind = "lstm" if "lstm_0" in names else "gru"
        while f"{kind}_{i}" in names:
            layer = get(f"{kind}_{i}")
            k, r, b = (np.asarray(w, np.float32) for w in layer.get_weights())
            norm = get(f"{kind}_{i}_norm")
            g, be = norm.get_weights()
            residual = f"{kind}_{i}_residual" in names
            self.rnns.append(_Rnn(kind, k, r, b, (g, be, float(norm.epsilon)), residual))
            i += 1
        att = get("causal_attention")
        self.q_k, self.q_b = att._query_dense.get_weights()
        self.k_k, self.k_b = att._key_dense.get_weights()
        self.v_k, self.v_b = att._value_dense.get_weights()
        self.o_k, self.o_b = att._output_dense.get_weights()
        self.scale = 1.0 / np.sqrt(self.q_k.shape[-1])
        an = get("attention_norm")
        self.att_norm = (*an.get_weights(), float(an.epsilon))
        self.head = _output_head(model, names, self.embedding)

    def initial_state(self) -> DecodeState:
        units = [r.recurrent.shape[0] for r in self.rnns]
        return DecodeState(
            [[np.zeros(u, np.float32)] * (2 if r.kind == "lstm" else 1) for u, r in zip(units, self.rnns, strict=True)]
        )

    def step(self, token: int, state: DecodeState) -> np.ndarray:
        """Feed ``token``; return the logits of the next token (updates ``state`` in place)."""
        x = self.embedding[token]
        for j, rnn in enumerate(self.rnns):
            h, state.rnn[j] = rnn.step(x, state.rnn[j])
            x = _layer_norm(x + h if rnn.residual else h, *rnn.norm)
        q = np.einsum("d,dhk->hk", x, self.q_k) + self.q_b
        state.keys.append(np.einsum("d,dhk->hk", x, self.k_k) + self.k_b)
        state.values.append(np.einsum("d,dhk->hk", x, self.v_k) + self.v_b)
        if len(state.keys) > self.window:
            del state.keys[0], state.values[0]
        K, V = np.stack(state.keys), np.stack(state.values)  # [t, heads, dim]
        scores = np.einsum("hk,thk->ht", q * self.scale, K)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        weights = scores / scores.sum(-1, keepdims=True)
        att = np.einsum("ht,thv->hv", weights, V)
        a = np.einsum("hv,hvd->d", att, self.o_k) + self.o_b
        x = _layer_norm(x + a, *self.att_norm)
        state.position += 1
        return self.head(x)


def _output_head(model: Any, names: set[str], embedding: np.ndarray) -> Any:
    """The final projection to logits: a Dense layer, or the tied embedding (with its projection)."""
    if "next_token_logits" in names:
        w, b = model.get_layer("next_token_logits").get_weights()
        if "bottleneck" in names:  # models of earlier datacraft versions
            pw, pb = model.get_layer("bottleneck").get_weights()
            return lambda x: (x @ pw + pb) @ w + b
        return lambda x: x @ w + b
    weights = model.get_layer("embedding").get_weights()
    bias = weights[-1]
    if len(weights) == 3:
        proj = weights[1]
        return lambda x: (x @ proj) @ embedding.T + bias
    return lambda x: x @ embedding.T + bias


def sample_next(
    logits: np.ndarray,
    rng: np.random.Generator,
    *,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    repetition_penalty: float = 1.0,
    seen: set[int] | None = None,
) -> int:
    """One token id from ``logits`` (a copy is modified); temperature 0 is greedy after the penalty."""
    logits = logits.astype(np.float64)
    if repetition_penalty != 1.0 and seen:
        idx = np.fromiter(seen, dtype=np.int64)
        vals = logits[idx]
        logits[idx] = np.where(vals > 0, vals / repetition_penalty, vals * repetition_penalty)
    if temperature <= 0:
        return int(np.argmax(logits))
    logits = logits / temperature
    if 0 < top_k < len(logits):
        cut = np.partition(logits, -top_k)[-top_k]
        logits = np.where(logits >= cut, logits, -np.inf)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    if top_p < 1.0:
        order = np.argsort(-p, kind="stable")
        cum = np.cumsum(p[order])
        keep = order[: int(np.searchsorted(cum, top_p)) + 1]  # smallest set with mass ≥ top_p
        q = np.zeros_like(p)
        q[keep] = p[keep]
        p = q / q.sum()
    return int(rng.choice(len(p), p=p))
