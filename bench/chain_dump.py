"""Bit-identity dump of the four quality filters: run it in two trees and compare the digests.

``python bench/chain_dump.py NAME [--out DIR]`` (cwd = the datacraft tree to test) writes
``DIR/dump-NAME.txt`` (one short digest line per record, to diff) and prints the SHA-256 of all
records. Records: the tokens of every document; each filter alone, in filter and annotate mode,
through ``check`` (cache off) and through ``run_batch`` (cache off: batches of 1 and 1,000; cache on: batches of 7);
the four chained in batches of 1,000 (both modes) with every drop record, counter, kept text and
metadata. Documents: the quality-bench corpus, ``/work/shared/data``'s multilingual and book text
(skipped when absent), 3,000 random mixed-script strings. Takes ~10-25 minutes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, os.getcwd())
import bench.quality_bench as qb
from datacraft.document import Document
from datacraft.stages.quality.c4 import C4
from datacraft.stages.quality.fineweb import FineWebQuality
from datacraft.stages.quality.gopher import GopherQuality, GopherRepetition
from datacraft.text import cache as features_mod
from datacraft.text.words import split_words

SH = Path("/work/shared/data")


def corpus():
    docs = qb.build_corpus(Path("/tmp/chain_dump_corpus.jsonl"), 15000, 0)
    out = [(d["id"], d["text"], {}) for d in docs]
    for rel in ("langid/fortunes_multilingual.jsonl", "langid/udhr_55.jsonl"):
        path = SH / rel
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines() if path.exists() else []):
            r = json.loads(line)
            out.append((f"{rel}:{i}", r["text"], {"lang": r.get("lang")}))
            if i % 5 == 0:
                out.append((f"{rel}:{i}:nolang", r["text"], {}))
    books = SH / "prose/gutenberg_books_raw.jsonl"
    for i, line in enumerate(books.read_text(encoding="utf-8").splitlines() if books.exists() else []):
        out.append((f"book:{i}", json.loads(line)["text"], {}))
    rng = random.Random(17)
    alphabet = (
        list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") * 3
        + list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~«»‘’“”–—…•·¡¿") * 2
        + list("    \n\n\t\r\x0b\x0c\u00a0\u2028\u3000")
        + list("日本語の文章です。漢字かなカタカナ中文字符")
        + list("ภาษาไทยเแโใไ")
        + list("ພາສາລາວເແໂໃໄ")
        + list("привет мир éèàüöß")
        + list("\u0301\u0308")
        + list("한국어")
        + list("العربية")
        + ["😀", "👍", "\U0001f100", "\U0001f101", "\U00020000", "\U0001d400", "\ufffd", "\x00", "\x7f"]
        + [
            "Mr.",
            "e.g.",
            "U.S.",
            "C++",
            "i++",
            "http://x.y/z",
            "http:",
            "don't",
            "it's",
            "O'Brien",
            "...",
            "--",
            "''",
            "``",
            "3.14",
            "3,000",
            "a@b.com",
            "and/or",
        ]
    )
    for i in range(3000):
        n = rng.choice((0, 1, 3, 10, 40, 200, 800))
        parts = [rng.choice(alphabet) for _ in range(n)]
        if rng.random() < 0.5:
            parts = [p + (" " if rng.random() < 0.4 else "") for p in parts]
        lang = rng.choice((None, None, "en", "ja", "zh", "th", "ko", "de"))
        out.append((f"rand:{i}", "".join(parts), {} if lang is None else {"lang": lang}))
    return out


def enc(v):
    if isinstance(v, bool) or v is None or isinstance(v, (int, str)):
        return repr(v)
    if isinstance(v, float):
        return v.hex()
    if isinstance(v, dict):
        return "{" + ",".join(f"{k}:{enc(x)}" for k, x in sorted(v.items())) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(enc(x) for x in v) + "]"
    return repr(v)


class Ctx:
    def __init__(self, w):
        self.w = w

    def drop(self, doc, stage, reason, signals=None):
        self.w(f"drop {doc.id} {stage} {reason} {enc(signals or {})}")

    def count(self, stage, key, n=1):
        self.w(f"count {stage} {key} {n}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name")
    ap.add_argument("--out", default="/tmp")
    args = ap.parse_args()
    name = args.name
    docs = corpus()
    total = hashlib.sha256()
    lines = open(Path(args.out) / f"dump-{name}.txt", "w")  # noqa: SIM115 (closed at the end)

    def w(s):
        b = s.encode("utf-8", "surrogatepass")
        total.update(b + b"\n")
        lines.write(hashlib.md5(b).hexdigest()[:12] + " " + s[:80].replace("\n", " ") + "\n")

    filters = {
        "gopher_repetition": GopherRepetition,
        "gopher_quality": GopherQuality,
        "c4": C4,
        "fineweb_quality": FineWebQuality,
    }
    for did, text, meta in docs:
        w(f"tok {did} {enc(split_words(text, meta.get('lang')))}")
    features_mod.set_cache_enabled(False)
    for mode in ("filter", "annotate"):
        for fname, cls in filters.items():
            f = cls(cls.Params(mode=mode))
            for did, text, meta in docs:
                r = f.check(Document(did, text, dict(meta)))
                w(f"alone {mode} {fname} {did} {r.keep} {r.reason} {enc(r.signals)} {enc(r.skipped)}")
    for cache in (False, True):
        features_mod.set_cache_enabled(cache)
        for mode in ("filter", "annotate"):
            for fname, cls in filters.items():
                for size in (7,) if cache else (1, 1000):
                    f = cls(cls.Params(mode=mode))
                    ctx = Ctx(w)
                    for start in range(0, len(docs), size):
                        b = [Document(did, text, dict(meta)) for did, text, meta in docs[start : start + size]]
                        for d in f.run_batch(b, ctx):
                            w(f"batch {cache} {mode} {fname} {size} {d.id} {enc(d.meta)}")
    features_mod.set_cache_enabled(True)
    for mode in ("filter", "annotate"):
        stages = [cls(cls.Params(mode=mode)) for cls in filters.values()]
        ctx = Ctx(w)
        for start in range(0, len(docs), 1000):
            b = [Document(did, text, dict(meta)) for did, text, meta in docs[start : start + 1000]]
            for s in stages:
                b = s.run_batch(b, ctx)
            for d in b:
                w(f"chain {mode} {d.id} {enc(d.text)} {enc(d.meta)}")
    lines.close()
    print(name, len(docs), total.hexdigest())


main()
