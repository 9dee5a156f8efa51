"""Run datatrove's four quality filters over a JSONL corpus (executed by the datatrove interpreter).

Usage: python _datatrove_quality.py CORPUS.jsonl OUT.jsonl
Writes one JSON line per document with each filter's verdict (every filter applied to the
original text) and a last line {"timing": ...} with process CPU seconds of the four filters
chained (repetition → quality → C4 → FineWeb, as FineWeb's pipeline orders them).

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


def main():
    corpus, out = sys.argv[1], sys.argv[2]
    with open(corpus, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    filters = {
        "gopher_repetition": GopherRepetitionFilter(),
        "gopher_quality": GopherQualityFilter(),
        "c4": C4QualityFilter(),
        "fineweb_quality": FineWebQualityFilter(),
    }
    # warm up (tokenizer load) outside the timing
    warm = Document(text="Warm up the tokenizer. It loads once.", id="w")
    for f in filters.values():
        f.filter(warm)
    with open(out, "w", encoding="utf-8") as fh:
        if "--agreement" in sys.argv:
            for row in rows:
                res = {"id": row["id"]}
                for name, f in filters.items():
                    res[name] = verdict(f, Document(text=row["text"], id=row["id"]))
                fh.write(json.dumps(res) + "\n")
        chain = list(filters.values())
        t0 = time.process_time()
        kept = 0
        for row in rows:
            doc = Document(text=row["text"], id=row["id"])
            for f in chain:
                if verdict(f, doc)[0] is False:
                    break
            else:
                kept += 1
        cpu = time.process_time() - t0
        fh.write(json.dumps({"timing": {"docs": len(rows), "kept": kept, "cpu_seconds": cpu}}) + "\n")


if __name__ == "__main__":
    main()
