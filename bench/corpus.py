"""Deterministic synthetic corpus with known near duplicates, for dedup benchmarks.

Documents are word sequences drawn from the word frequencies of the bundled public-domain
text (KJV + Gutenberg editions), with sentence punctuation and capitals. A fraction of
documents get 1–3 copies; each family has one edit rate (0% = exact copy, or 1–8% of words
substituted, deleted or inserted). Truth is stored in each record: ``family`` (the original's
id, or null), ``edit_rate`` and ``lang``.

With ``--multilingual F`` a share F of the documents is Hindi, Vietnamese, Chinese or Japanese,
drawn from the word (hi, vi) or character (zh, ja: written without spaces) frequencies of the
bundled UDHR: small vocabularies whose unrelated documents share many n-grams, the hard case
for near-duplicate precision.

Document lengths are lognormal (median ~270 words, clipped to 50–2000). ``--words-scale S``
multiplies the drawn length and its bounds by S (0.25: median ~67 words, 12–500), for large
corpora that a slow reference tool must get through; families and edit rates are unchanged, and
the default 1.0 gives the same bytes as before the option existed.

    python bench/corpus.py OUT_DIR --docs 100000 --shards 8 --seed 0 --multilingual 0.04
"""

from __future__ import annotations

import argparse
import collections
import functools
import gzip
import io
import re
from pathlib import Path

import numpy as np
import orjson
import zstandard

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
#: Edit rates of near-duplicate families (fraction of words edited); 0.0 is an exact copy.
EDIT_RATES = (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08)


@functools.cache
def vocabulary() -> tuple[list[str], np.ndarray]:
    """Words and their probabilities from the bundled sample text (built once per process; do not mutate)."""
    counts: collections.Counter[str] = collections.Counter()
    with gzip.open(SAMPLE / "gutenberg-editions.jsonl.gz") as fh:
        for line in fh:
            counts.update(re.findall(r"[a-z]+", orjson.loads(line)["text"].lower()))
    with open(SAMPLE / "kjv-chapters.jsonl.zst", "rb") as raw:
        for line in io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(raw), encoding="utf-8"):
            counts.update(re.findall(r"[a-z]+", orjson.loads(line)["text"].lower()))
    words = sorted(counts, key=lambda w: (-counts[w], w))
    freq = np.array([counts[w] for w in words], float)
    return words, freq / freq.sum()


#: Other languages of ``--multilingual``: UDHR code → unit (space-separated words or characters).
LANGS = {"hi": "word", "vi": "word", "zh-cn": "char", "ja": "char"}


def lang_vocabularies() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Units and their cumulative probabilities per language of :data:`LANGS`, from the bundled UDHR."""
    texts: dict[str, list[str]] = collections.defaultdict(list)
    with gzip.open(SAMPLE / "udhr-55.jsonl.gz") as fh:
        for line in fh:
            r = orjson.loads(line)
            if r["lang"] in LANGS:
                texts[r["lang"]].append(r["text"])
    out = {}
    for lang, unit in LANGS.items():
        text = " ".join(texts[lang]).lower()
        if unit == "word":  # split at spaces and punctuation only: \w would cut at Devanagari vowel signs
            units = [w for w in re.split(r"[\s\d.,;:!?()\[\]\"'“”‘’«»—–।-]+", text) if w]
        else:
            units = re.findall(r"[^\W\d_]", text)
        counts = collections.Counter(units)
        vocab = sorted(counts, key=lambda w: (-counts[w], w))
        freq = np.array([counts[w] for w in vocab], float)
        out[lang] = (np.array(vocab, object), np.cumsum(freq / freq.sum()))
    return out


def render(idx: np.ndarray, words: np.ndarray, rng: np.random.Generator, lang: str = "en") -> str:
    """Units as text: sentences of 8–24 units, ending with a period (``。`` and no spaces for zh/ja)."""
    toks = words[idx].tolist()
    pos = 0
    spaceless = LANGS.get(lang) == "char"
    while pos < len(toks):
        if not spaceless:
            toks[pos] = toks[pos].capitalize()
        end = min(len(toks), pos + int(rng.integers(8, 25)))
        toks[end - 1] += "。" if spaceless else "."
        pos = end
    return ("" if spaceless else " ").join(toks)


def draw(cdf: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` word indices drawn by frequency."""
    return np.minimum(np.searchsorted(cdf, rng.random(n)), len(cdf) - 1)


def edit(idx: np.ndarray, rate: float, cdf: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Substitute, delete or insert ``rate`` of the words (at least one edit when rate > 0)."""
    if rate == 0:
        return idx
    out = idx.tolist()
    edits = max(1, round(rate * len(idx)))
    new = draw(cdf, rng, edits).tolist()
    for k, op in enumerate(rng.integers(3, size=edits).tolist()):
        i = int(rng.integers(len(out)))
        if op == 0:
            out[i] = new[k]
        elif op == 1 and len(out) > 1:
            del out[i]
        else:
            out.insert(i, new[k])
    return np.array(out)


def generate(
    docs: int, seed: int = 0, dup_fraction: float = 0.15, multilingual: float = 0.0, words_scale: float = 1.0
) -> list[dict]:
    """``docs`` records (originals, unique docs and copies) in a seeded random order.

    ``words_scale`` multiplies each drawn document length and the clip bounds (1.0: unchanged).
    """
    rng = np.random.default_rng(seed)
    words, p = vocabulary()
    tables = {"en": (np.array(words, object), np.cumsum(p))}
    if multilingual > 0:
        tables |= lang_vocabularies()
    others = sorted(LANGS)
    records: list[dict] = []
    n = 0
    while len(records) < docs:
        lang = "en"
        if multilingual > 0 and rng.random() < multilingual:
            lang = others[int(rng.integers(len(others)))]
        vocab, cdf = tables[lang]
        length = max(1, int(np.clip(rng.lognormal(5.6, 0.6) * words_scale, 50 * words_scale, 2000 * words_scale)))
        if LANGS.get(lang) == "char":
            length *= 2  # characters, not words
        idx = draw(cdf, rng, length)
        doc_id = f"doc{n:08d}"
        n += 1
        if rng.random() < dup_fraction:
            rate = float(EDIT_RATES[int(rng.integers(len(EDIT_RATES)))])
            base = {"family": doc_id, "edit_rate": rate, "lang": lang}
            records.append({"id": doc_id, "text": render(idx, vocab, rng, lang), **base})
            for _ in range(int(rng.integers(1, 4))):
                copy = edit(idx, rate, cdf, rng)
                records.append({"id": f"doc{n:08d}", "text": render(copy, vocab, rng, lang), **base})
                n += 1
        else:
            text = render(idx, vocab, rng, lang)
            records.append({"id": doc_id, "text": text, "family": None, "edit_rate": None, "lang": lang})
    records = records[:docs]
    order = rng.permutation(len(records))
    return [records[i] for i in order]


def write_shards(records: list[dict], out: Path, shards: int) -> list[Path]:
    """Split records into ``shards`` JSONL files in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for s, part in enumerate(np.array_split(np.arange(len(records)), shards)):
        path = out / f"shard-{s:04d}.jsonl"
        path.write_bytes(b"".join(orjson.dumps(records[i]) + b"\n" for i in part))
        paths.append(path)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--docs", type=int, default=10_000)
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dup-fraction", type=float, default=0.15, help="share of documents that get copies")
    ap.add_argument("--multilingual", type=float, default=0.0, help="share of hi/vi/zh/ja documents")
    ap.add_argument(
        "--words-scale",
        type=float,
        default=1.0,
        help="multiply document lengths (and their 50-2000 bounds) by this; 0.25: median ~67 words (default 1.0)",
    )
    a = ap.parse_args()
    if a.words_scale <= 0:
        ap.error("--words-scale must be > 0")
    records = generate(a.docs, a.seed, a.dup_fraction, a.multilingual, a.words_scale)
    paths = write_shards(records, a.out, a.shards)
    print(f"{a.docs} documents in {len(paths)} shards under {a.out}")


if __name__ == "__main__":
    main()
