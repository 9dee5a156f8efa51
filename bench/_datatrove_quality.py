"""Run datatrove's four quality filters over a JSONL corpus (executed by the datatrove interpreter).

Usage: python _datatrove_quality.py CORPUS.jsonl OUT.jsonl [--agreement] [--warmup W.jsonl] [--passes N]

Writes one JSON line per document with each filter's verdict (every filter applied to the
original text, with ``--agreement``) and a last line {"timing": ...} with the process CPU
seconds of the four filters chained (repetition → quality → C4 → FineWeb, as FineWeb's pipeline
orders them), once per pass over the corpus.

Warm-up, the same on both sides of the benchmark: the filters and their tokenizer are built and
the documents of ``--warmup`` (a few sentences in English, Chinese, Japanese and Thai, written by
quality_bench.py, which runs them through datacraft's chain too) go through the chain untimed, so
every lazily loaded model or dictionary is loaded before the clock starts. Then each pass is
timed over the whole corpus; pass 1 meets every document for the first time, later passes find
the tokenizer's caches filled by the earlier ones. The agreement pass runs after the timed passes,
so the timing is the same with or without it.

datatrove's English tokenizer is spaCy's rule-based ``spacy.blank("en")`` (no model download).
"""

import json
import sys
import time

from datatrove.data import Document
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
)


def verdict(f, doc):
    r = f.filter(doc)
    if r is True or r == (True, None):
        return [True, None]
    if isinstance(r, tuple):
        return [bool(r[0]), r[1]]
    return [bool(r), None]


def option(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def chain_pass(chain, rows):
    """(process CPU seconds, documents kept) of the chain over ``rows``."""
    t0 = time.process_time()
    kept = 0
    for row in rows:
        doc = Document(text=row["text"], id=row["id"])
        for f in chain:
            if verdict(f, doc)[0] is False:
                break
        else:
            kept += 1
    return time.process_time() - t0, kept


def main():
    corpus, out = sys.argv[1], sys.argv[2]
    with open(corpus, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    warm_path = option("--warmup", None)
    warm = [{"id": "w", "text": "Warm up the tokenizer. It loads once."}]
    if warm_path:
        with open(warm_path, encoding="utf-8") as fh:
            warm = [json.loads(line) for line in fh]
    filters = {
        "gopher_repetition": GopherRepetitionFilter(),
        "gopher_quality": GopherQualityFilter(),
        "c4": C4QualityFilter(),
        "fineweb_quality": FineWebQualityFilter(),
    }
    chain = list(filters.values())
    chain_pass(chain, warm)  # loads the tokenizer (and anything else lazy), untimed
    passes = [chain_pass(chain, rows) for _ in range(int(option("--passes", "1")))]
    with open(out, "w", encoding="utf-8") as fh:
        if "--agreement" in sys.argv:
            for row in rows:
                res = {"id": row["id"]}
                for name, f in filters.items():
                    res[name] = verdict(f, Document(text=row["text"], id=row["id"]))
                fh.write(json.dumps(res) + "\n")
        timing = {
            "docs": len(rows),
            "kept": passes[0][1],
            "cpu_seconds": passes[0][0],
            "pass_cpu_seconds": [cpu for cpu, _ in passes],
            "warmup_docs": len(warm),
        }
        fh.write(json.dumps({"timing": timing}) + "\n")


if __name__ == "__main__":
    main()
