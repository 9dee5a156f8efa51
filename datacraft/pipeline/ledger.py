"""Per-shard stats and the ledger: documents in + created = kept + Σ dropped(stage, reason) + quarantined.

``created`` are documents a stage made from another (``split`` cuts a book into k parts: k - 1
created), counted by the stage as its ``docs_created`` counter; 0 for most pipelines.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from datacraft.errors import LedgerError

#: The stage counter that records documents a stage created (see the module docstring).
CREATED = "docs_created"


@dataclass
class StageStats:
    """What one stage saw in one shard."""

    docs_in: int = 0
    docs_out: int = 0
    chars_in: int = 0
    chars_out: int = 0
    seconds: float = 0.0  # wall seconds
    cpu_seconds: float = 0.0  # CPU seconds of the worker process while in this stage


@dataclass
class ShardStats:
    """Counts of one shard task; JSON-serializable, merged across shards afterwards."""

    shard: int
    input: str
    docs_in: int = 0
    kept: int = 0
    quarantined: int = 0
    chars_in: int = 0
    chars_out: int = 0
    dropped: dict[str, dict[str, int]] = field(default_factory=dict)
    stages: dict[str, StageStats] = field(default_factory=dict)
    counters: dict[str, dict[str, int]] = field(default_factory=dict)
    read_seconds: float = 0.0  # wall seconds; *_cpu_seconds: CPU seconds of the worker process
    write_seconds: float = 0.0
    seconds: float = 0.0
    read_cpu_seconds: float = 0.0
    write_cpu_seconds: float = 0.0
    cpu_seconds: float = 0.0
    outputs: dict[str, list[str]] = field(default_factory=dict)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    quarantine_examples: dict[str, str] = field(default_factory=dict)

    def add_quarantine(self, error: str, where: str) -> None:
        """Count a quarantined record by the kind of its error; keep the first position of each kind."""
        kind = quarantine_kind(error)
        self.quarantine_reasons[kind] = self.quarantine_reasons.get(kind, 0) + 1
        self.quarantine_examples.setdefault(kind, where)

    def add_drop(self, stage: str, reason: str, n: int = 1) -> None:
        """Count ``n`` documents dropped by ``stage`` for ``reason``."""
        by_reason = self.dropped.setdefault(stage, {})
        by_reason[reason] = by_reason.get(reason, 0) + n

    def add_count(self, stage: str, key: str, n: int = 1) -> None:
        """Add to a stage's named counter."""
        counters = self.counters.setdefault(stage, {})
        counters[key] = counters.get(key, 0) + n

    @property
    def dropped_total(self) -> int:
        """All documents dropped by any stage."""
        return sum(sum(r.values()) for r in self.dropped.values())

    @property
    def created_total(self) -> int:
        """Documents created by stages (their ``docs_created`` counters)."""
        return sum(c.get(CREATED, 0) for c in self.counters.values())

    def balanced(self) -> bool:
        """True when the ledger balances."""
        return self.docs_in + self.created_total == self.kept + self.dropped_total + self.quarantined

    def check(self) -> None:
        """Raise LedgerError unless the ledger balances."""
        if not self.balanced():
            raise LedgerError(
                f"ledger does not balance for shard {self.shard} ({self.input}): in={self.docs_in} "
                f"created={self.created_total} kept={self.kept} dropped={self.dropped_total} "
                f"quarantined={self.quarantined}"
            )

    def to_json(self) -> dict[str, Any]:
        """A plain dict for JSON."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ShardStats:
        """Inverse of :meth:`to_json`."""
        data = dict(data)
        data["stages"] = {k: StageStats(**v) for k, v in data.get("stages", {}).items()}
        return cls(**data)


def creating_stages(merged: dict[str, Any]) -> list[str]:
    """The stages of merged run stats that created documents (e.g. ``split``), in pipeline order."""
    return [stage for stage, counters in (merged.get("counters") or {}).items() if counters.get(CREATED)]


def quarantine_kind(error: str) -> str:
    """The kind of a quarantine error: its message before any detail, numbers as N (``invalid UTF-8 at byte N``)."""
    head = error.split(": ", 1)[0] if ": " in error else error
    head = re.sub(r"(?<![\w-])\d+", "N", head).strip()
    return head[:80] or "error"


def merge_stats(shards: list[ShardStats]) -> dict[str, Any]:
    """Sum shard stats into run totals (stage order as first seen)."""
    totals = {"docs_in": 0, "kept": 0, "quarantined": 0, "dropped": 0, "chars_in": 0, "chars_out": 0}
    totals["created"] = 0
    dropped: dict[str, dict[str, int]] = {}
    stages: dict[str, dict[str, float]] = {}
    counters: dict[str, dict[str, int]] = {}
    seconds = {"read": 0.0, "write": 0.0, "total": 0.0}
    q_reasons: dict[str, int] = {}
    q_examples: dict[str, str] = {}
    cpu = {"read": 0.0, "write": 0.0, "total": 0.0}
    for s in sorted(shards, key=lambda s: s.shard):
        totals["docs_in"] += s.docs_in
        totals["kept"] += s.kept
        totals["quarantined"] += s.quarantined
        totals["dropped"] += s.dropped_total
        totals["created"] += s.created_total
        totals["chars_in"] += s.chars_in
        totals["chars_out"] += s.chars_out
        for stage, reasons in s.dropped.items():
            d = dropped.setdefault(stage, {})
            for reason, n in reasons.items():
                d[reason] = d.get(reason, 0) + n
        for stage, st in s.stages.items():
            agg = stages.setdefault(stage, dict.fromkeys(asdict(st), 0))
            for k, v in asdict(st).items():
                agg[k] += v
        for stage, cs in s.counters.items():
            c = counters.setdefault(stage, {})
            for k, v in cs.items():
                c[k] = c.get(k, 0) + v
        for kind, n in s.quarantine_reasons.items():
            q_reasons[kind] = q_reasons.get(kind, 0) + n
        for kind, where in s.quarantine_examples.items():
            q_examples.setdefault(kind, where)
        seconds["read"] += s.read_seconds
        seconds["write"] += s.write_seconds
        seconds["total"] += s.seconds
        cpu["read"] += s.read_cpu_seconds
        cpu["write"] += s.write_cpu_seconds
        cpu["total"] += s.cpu_seconds
    balanced = totals["docs_in"] + totals["created"] == totals["kept"] + totals["dropped"] + totals["quarantined"]
    return {
        "totals": totals,
        "dropped": dropped,
        "stages": stages,
        "counters": counters,
        "quarantine": {
            "reasons": dict(sorted(q_reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
            "examples": q_examples,
        },
        "cpu_seconds": cpu,
        "wall_seconds": seconds,
        "ledger_balanced": balanced and all(s.balanced() for s in shards),
    }
