"""Helper run inside the datatrove environment (bench/setup_datatrove_env.sh): never imports datacraft.

Reads a JSONL corpus, writes each filter's verdict per document (each filter alone, on the original
text) and the CPU seconds of the four filters chained, as JSON on stdout.
"""

from __future__ import annotations

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


def verdict(result: bool | tuple[bool, str]) -> tuple[bool, str | None]:
    if isinstance(result, tuple):
        return result[0], result[1]
    return bool(result), None


def main() -> None:
    path, mode = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    filters = {
        "gopher_repetition": GopherRepetitionFilter(),
        "gopher_quality": GopherQualityFilter(),
        "c4": C4QualityFilter(),
        "fineweb_quality": FineWebQualityFilter(),
    }
    # Warm up (spaCy model construction) outside the timings.
    for f in filters.values():
        f.filter(Document(text="Warm up the tokenizer. It is built on first use.", id="w"))
    out: dict = {}
    if mode == "verdicts":
        for name, f in filters.items():
            res = {}
            for r in rows:
                res[r["id"]] = verdict(f.filter(Document(text=r["text"], id=r["id"])))
            out[name] = res
    else:
        docs = [Document(text=r["text"], id=r["id"]) for r in rows]
        t0 = time.process_time()
        kept = 0
        for d in docs:
            for f in filters.values():
                if not verdict(f.filter(d))[0]:
                    break
            else:
                kept += 1
        out = {"cpu_seconds": time.process_time() - t0, "docs": len(docs), "kept": kept}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
