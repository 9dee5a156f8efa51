"""The tokens of a batch of documents as flat arrays, for measures computed over the whole batch.

A :class:`TokenView` holds every token of several documents, one document after another, as
numbers: an id per token (equal ids within one document mean equal tokens) and its length in
characters. Measures that count or compare tokens (n-gram repetition) run over these arrays with
numpy instead of one Python object per token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

from datacraft.text.cache import TextFeatures


@dataclass(frozen=True)
class TokenView:
    """Tokens of ``n`` documents: document ``i`` owns positions ``offsets[i]:offsets[i + 1]``."""

    offsets: np.ndarray  #: int64, ``n + 1`` entries, starting at 0
    ids: np.ndarray  #: int64 per token; within one document, equal ids ⇔ equal tokens
    lengths: np.ndarray  #: int64 per token, characters (code points)

    @property
    def n_docs(self) -> int:
        """How many documents the view holds."""
        return len(self.offsets) - 1


def token_view(feats: Sequence[TextFeatures]) -> TokenView:
    """The tokens (:attr:`TextFeatures.words`) of ``feats`` as one :class:`TokenView`."""
    words = [f.words for f in feats]
    offsets = np.zeros(len(words) + 1, np.int64)
    np.cumsum(np.fromiter(map(len, words), np.int64, len(words)), out=offsets[1:])
    flat = list(chain.from_iterable(words))
    vocab: dict[str, int] = {}
    ids = np.fromiter((vocab.setdefault(w, len(vocab)) for w in flat), np.int64, len(flat))
    lengths = np.fromiter(map(len, flat), np.int64, len(flat))
    return TokenView(offsets, ids, lengths)
