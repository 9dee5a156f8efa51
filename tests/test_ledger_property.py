"""Property: for any mix of good, bad and dropped records, in = kept + dropped + quarantined."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datacraft.pipeline.config import build_config
from datacraft.pipeline.runner import run_pipeline
from tests.helpers import read_parquet_rows, write_jsonl

KINDS = ["good", "bad_json", "bad_utf8", "missing_text", "non_string", "oversize", "not_object"]


def line_for(kind: str, i: int, words: int) -> bytes:
    text = " ".join(f"w{i}x{k}" for k in range(words))
    return {
        "good": json.dumps({"id": f"d{i}", "text": text}).encode(),
        "bad_json": b'{"id": "d%d", "text": ' % i,
        "bad_utf8": b'{"id": "d%d", "text": "caf\xe9"}' % i,
        "missing_text": json.dumps({"id": f"d{i}"}).encode(),
        "non_string": json.dumps({"id": f"d{i}", "text": [text]}).encode(),
        "oversize": json.dumps({"id": f"d{i}", "text": "x" * 600}).encode(),
        "not_object": json.dumps([text]).encode(),
    }[kind]


records = st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 12)), min_size=0, max_size=60)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shards=st.lists(records, min_size=1, max_size=3), min_words=st.integers(0, 10), batch=st.integers(1, 9))
def test_ledger_balances_for_any_mix(shards: list[list[tuple[str, int]]], min_words: int, batch: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        n = 0
        expect = {"kept": 0, "dropped": 0, "quarantined": 0}
        for s, recs in enumerate(shards):
            lines = []
            for kind, words in recs:
                lines.append(line_for(kind, n, words))
                n += 1
                if kind == "good":
                    expect["kept" if words >= min_words else "dropped"] += 1
                else:
                    expect["quarantined"] += 1
            write_jsonl(root / "in" / f"s{s}.jsonl", [], raw_lines=lines)
        cfg = build_config(
            {
                "input": {"paths": [str(root / "in")], "max_record_bytes": 500},
                "output": {"path": str(root / "out")},
                "stages": [{"normalize": {}}, {"length": {"min_words": min_words}}],
                "batch_size": batch,
                "max_quarantine_fraction": 1,
            }
        )
        totals = run_pipeline(cfg).merged["totals"]
        assert totals["docs_in"] == n
        assert {k: totals[k] for k in expect} == expect
        assert len(read_parquet_rows(root / "out" / "data")) == expect["kept"]
        assert len(read_parquet_rows(root / "out" / "rejected")) == expect["dropped"]
        quarantined = sum(len(f.read_text().splitlines()) for f in (root / "out" / "quarantine").glob("*.jsonl"))
        assert quarantined == expect["quarantined"]
