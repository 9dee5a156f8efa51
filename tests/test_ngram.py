"""N-gram baselines: vectorized Kneser-Ney against a plain reference implementation (NumPy only)."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pytest

from datacraft.train.ngram import NgramModel, baseline_table


def reference_kn(stream: list[int], V: int, n: int):
    """Textbook interpolated KN with Ney discounts, one dict per order (slow, obviously right)."""
    grams = {k: Counter(tuple(stream[i : i + k]) for i in range(len(stream) - k + 1)) for k in range(1, n + 1)}
    cont = {k: Counter(g[1:] for g in grams[k + 1]) for k in range(1, n)}

    def counts(k: int) -> Counter:
        return grams[k] if k == n else cont[k]

    def disc(c: Counter) -> float:
        vals = [v for v in c.values() if v > 0]
        n1, n2 = vals.count(1), vals.count(2)
        return n1 / (n1 + 2 * n2) if n1 + n2 else 0.5

    stats = {}
    for k in range(1, n + 1):
        c = counts(k)
        den: dict = defaultdict(float)
        n1p: dict = defaultdict(float)
        for g, v in c.items():
            den[g[:-1]] += v
            n1p[g[:-1]] += v > 0
        stats[k] = (c, den, n1p, disc(c))

    def p(ctx: tuple, w: int) -> float:
        c, den, n1p, d = stats[1]
        total = den[()]
        prob = max(c[(w,)] - d, 0) / total + d * n1p[()] / total / V
        for k in range(2, len(ctx) + 2):
            h = ctx[len(ctx) - k + 1 :]
            c, den, n1p, d = stats[k]
            if den.get(h, 0) > 0:
                prob = (max(c[(*h, w)] - d, 0) + d * n1p[h] * prob) / den[h]
        return prob

    return p


@pytest.mark.parametrize("n", [2, 3, 5])
def test_kn_matches_reference_and_sums_to_one(n: int) -> None:
    rng = np.random.default_rng(n)
    V = 12
    # a skewed stream with repeated phrases, so higher orders have real counts
    base = rng.integers(0, V, 30).tolist()
    stream = []
    for _ in range(40):
        stream += base[: rng.integers(3, 30)] + rng.integers(0, V, 5).tolist()
    m = NgramModel(np.asarray(stream), V, max_order=n)
    windows = rng.integers(0, V, (6, 9))
    windows[:3, :6] = np.asarray(base[:6])  # seen contexts too
    got = np.exp(m.kn_logprob(windows, n))
    ref = reference_kn(stream, V, n)
    for i in range(windows.shape[0]):
        for t in range(1, windows.shape[1]):
            ctx = tuple(windows[i, max(0, t - n + 1) : t].tolist())
            assert got[i, t - 1] == pytest.approx(ref(ctx, int(windows[i, t])), rel=1e-9)
    # a proper distribution over the vocabulary for any context
    ctx = np.asarray(base[: n - 1])
    full = np.stack([np.concatenate([ctx, [w]]) for w in range(V)])
    assert np.exp(m.kn_logprob(full, n))[:, -1].sum() == pytest.approx(1.0, abs=1e-9)


def test_baselines_order_on_second_order_source() -> None:
    """Text from a 2nd-order Markov source: KN-3 sees what a bigram cannot."""
    rng = np.random.default_rng(0)
    V = 20
    table = rng.integers(3, V, (V, V))

    def sample(n: int) -> np.ndarray:
        out = [3, 4]
        for _ in range(n):
            out.append(int(table[out[-2], out[-1]]) if rng.random() < 0.9 else int(rng.integers(3, V)))
        return np.asarray(out)

    stream, held = sample(20000), sample(400)
    windows = np.stack([held[i : i + 17] for i in range(0, 380, 16)])
    rows = baseline_table(stream, windows, V, 4)
    ppl = {r["model"].split(" (")[0]: r["perplexity"] for r in rows}
    assert ppl["Kneser-Ney 3-gram"] < 0.6 * ppl["Kneser-Ney 2-gram"]
    assert ppl["Kneser-Ney 2-gram"] < ppl["add-1 unigram"]
    assert ppl["Kneser-Ney 4-gram"] < ppl["Kneser-Ney 2-gram"]
    assert all(r["tokens_scored"] == windows[:, 1:].size for r in rows)
