"""The batch token view matches each document's own token list."""

from __future__ import annotations

from datacraft.text.batch import token_view
from datacraft.text.cache import TextFeatures


def test_token_view_matches_each_documents_words() -> None:
    texts = ["It's a test, a test.", "", "今天天气很好。", "one one one"]
    feats = [TextFeatures(t) for t in texts]
    view = token_view(feats)
    assert view.n_docs == 4
    for i, f in enumerate(feats):
        lo, hi = view.offsets[i], view.offsets[i + 1]
        words = f.words
        assert hi - lo == len(words)
        assert list(view.lengths[lo:hi]) == [len(w) for w in words]
        ids = list(view.ids[lo:hi])
        for a in range(len(words)):
            for b in range(len(words)):
                assert (ids[a] == ids[b]) == (words[a] == words[b])
