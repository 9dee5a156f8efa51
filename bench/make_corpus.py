"""Deterministic synthetic corpus generator: JSONL.gz shards of prose-like documents.

python bench/make_corpus.py OUT_DIR --docs 100000 --shard-docs 50000 --seed 0
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import random
from pathlib import Path

import orjson

SYLLABLES = ["ka", "lo", "mi", "ra", "te", "su", "no", "vi", "de", "an", "or", "el", "is", "un", "po", "ba"]


def vocabulary(rng: random.Random, size: int = 20000) -> list[str]:
    """Pseudo-words of 1–4 syllables; common words first (Zipf sampling favours low ranks)."""
    common = ["the", "of", "and", "to", "a", "in", "that", "is", "was", "with", "for", "as", "have", "be"]
    words = list(common)
    while len(words) < size:
        words.append("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))))
    return words


def document(rng: random.Random, vocab: list[str], cum_weights: list[float]) -> str:
    """A few paragraphs of sentences."""
    paragraphs = []
    for _ in range(rng.randint(1, 6)):
        sentences = []
        for _ in range(rng.randint(1, 6)):
            words = rng.choices(vocab, cum_weights=cum_weights, k=rng.randint(4, 24))
            sentences.append(" ".join(words).capitalize() + rng.choice([".", ".", ".", "?", "!"]))
        paragraphs.append(" ".join(sentences))
    return "\n\n".join(paragraphs)


def generate(out: Path, docs: int, shard_docs: int, seed: int = 0) -> list[Path]:
    """Write ``docs`` documents into shards of ``shard_docs``; same seed, same bytes."""
    rng = random.Random(seed)
    vocab = vocabulary(rng)
    cum_weights = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(vocab))))
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for shard, start in enumerate(range(0, docs, shard_docs)):
        path = out / f"shard-{shard:05d}.jsonl.gz"
        with gzip.GzipFile(path, "wb", mtime=0, compresslevel=6) as fh:
            for i in range(start, min(start + shard_docs, docs)):
                row = {
                    "id": f"doc-{i:09d}",
                    "text": document(rng, vocab, cum_weights),
                    "url": f"https://example.org/{i % 997}/{i}",
                    "source": "synthetic",
                }
                fh.write(orjson.dumps(row) + b"\n")
        paths.append(path)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--shard-docs", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    for p in generate(args.out, args.docs, args.shard_docs, args.seed):
        print(p)


if __name__ == "__main__":
    main()
