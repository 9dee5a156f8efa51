"""The run summary: a table at normal verbosity, one line with -q, nothing with -qq; always in the run log."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from datacraft.log import STATE, get_logger, utc_iso
from datacraft.pipeline.ledger import creating_stages

MAX_COUNTERS = 10
log = get_logger("summary")


class Summary(str):
    """The summary text, carrying its one-line form and its counters (for -q and --log-format json)."""

    line: str
    counters: dict[str, Any]

    def __new__(cls, text: str, line: str = "", counters: dict[str, Any] | None = None) -> Summary:
        obj = super().__new__(cls, text)
        obj.line = line or text.splitlines()[0] if text else line
        obj.counters = counters or {}
        return obj

    def __add__(self, other: str) -> Summary:  # type: ignore[override]
        return Summary(str(self) + other, self.line, self.counters)


def _cpu_of(s: dict[str, Any]) -> str:
    return f"{s['cpu_seconds']:8.2f}" if "cpu_seconds" in s else "       -"


def run_time(merged: dict[str, Any], seconds: float) -> tuple[float, float | None]:
    """Wall seconds of the run and CPU seconds of its process tree (None when not measured)."""
    t = merged.get("time") or {}
    cpu = t.get("cpu_seconds")
    return float(t.get("wall_seconds", seconds)), (float(cpu) if cpu is not None else None)


def created_by(merged: dict[str, Any]) -> str:
    """`` + 38 created by split``: documents stages created (cut from others), or '' when none."""
    created = int(merged["totals"].get("created") or 0)
    if not created:
        return ""
    return f" + {created:,} created by {', '.join(creating_stages(merged)) or 'stages'}"


def ledger_line(merged: dict[str, Any]) -> str:
    """``in 15,305 + 38 created by split = kept 2,403 (15.7%) + dropped 12,940 + quarantined 0``."""
    t = merged["totals"]
    total = (t["docs_in"] + int(t.get("created") or 0)) or 1
    return (
        f"in {t['docs_in']:,}{created_by(merged)} = kept {t['kept']:,} ({100 * t['kept'] / total:.1f}%) + "
        f"dropped {t['dropped']:,} + quarantined {t['quarantined']:,}"
    )


def format_summary(merged: dict[str, Any], *, out: str, ran: int, skipped: int, seconds: float) -> Summary:
    """Render merged run stats as a short text table (with its one-line form).

    The document line is the ledger itself: in (+ created by stages such as ``split``) = kept + dropped +
    quarantined, so every input document is accounted for."""
    t = merged["totals"]
    lines = [
        f"output      {out}",
        f"shards      {ran + skipped} ({ran} run, {skipped} already complete)",
        f"documents   {ledger_line(merged)}",
        f"characters  in {t['chars_in']:,}  kept {t['chars_out']:,}",
    ]
    if merged["dropped"]:
        lines.append("drops by stage and reason")
        for stage, reasons in merged["dropped"].items():
            for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
                lines.append(f"  {stage:<20} {reason:<28} {n:>10,}")
    if merged["stages"]:
        lines.append("stages      docs in → out        wall s    CPU s (summed over workers)")
        for stage, s in merged["stages"].items():
            lines.append(
                f"  {stage:<20} {int(s['docs_in']):>10,} → {int(s['docs_out']):<10,} {s['seconds']:8.2f} {_cpu_of(s)}"
            )
        wall, cpu = merged.get("wall_seconds") or {}, merged.get("cpu_seconds") or {}
        for part in ("read", "write"):
            if part in wall and part in cpu:
                lines.append(f"  {'(' + part + ')':<45}{wall[part]:8.2f} {cpu[part]:8.2f}")
    for stage, counters in merged.get("counters", {}).items():
        top = sorted(counters.items(), key=lambda kv: (-kv[1], kv[0]))
        shown = ", ".join(f"{k}={v:,}" for k, v in top[:MAX_COUNTERS])
        more = f", … {len(top) - MAX_COUNTERS} more in stats.json" if len(top) > MAX_COUNTERS else ""
        lines.append(f"  {stage} counters: {shown}{more}")
    q = merged.get("quarantine") or {}
    if t["quarantined"] and q.get("reasons"):
        lines.append("quarantined by error kind (e.g. file, position)")
        for kind, n in list(q["reasons"].items())[:MAX_COUNTERS]:
            lines.append(f"  {kind:<48} {n:>10,}  ({q.get('examples', {}).get(kind, '?')})")
    wall_s, cpu_s = run_time(merged, seconds)
    rate = t["docs_in"] / wall_s if wall_s > 0 else 0.0
    ledger = "balanced" if merged["ledger_balanced"] else "NOT BALANCED"
    cpu_text = f", {cpu_s:.2f} CPU s (all processes)" if cpu_s is not None else ""
    plus = " + created" if t.get("created") else ""
    lines.append(f"ledger      {ledger}: in{plus} = kept + dropped + quarantined")
    lines.append(f"time        {wall_s:.2f}s wall{cpu_text}, {rate:,.0f} docs/s")
    line = f"{out}: {ledger_line(merged)}; {wall_s:.1f}s wall" + (f", {cpu_s:.1f} CPU s" if cpu_s is not None else "")
    counters = {
        "output": out,
        **t,
        "shards_run": ran,
        "shards_skipped": skipped,
        "wall_seconds": round(wall_s, 3),
        "cpu_seconds": None if cpu_s is None else round(cpu_s, 3),
        "ledger_balanced": merged["ledger_balanced"],
    }
    return Summary("\n".join(lines), line, counters)


def echo_summary(text: str, *, final: bool = True) -> None:
    """Show a summary as the verbosity asks (``final=False``: not the last one of the command, so no -q line)."""
    line = getattr(text, "line", None) or (text.splitlines()[0] if text else "")
    counters = getattr(text, "counters", {})
    log.info(str(text), extra={"event": "summary", "file_only": True, "counters": counters})
    if STATE.verbosity >= 2 or (STATE.verbosity == 1 and not final):
        return
    if STATE.fmt == "json":
        obj = {"time": utc_iso(time.time()), "level": "info", "logger": "datacraft.summary", "event": "summary"}
        click.echo(json.dumps(obj | {"message": line, "counters": counters}, default=str), err=True)
        return
    click.echo(line if STATE.verbosity == 1 else str(text), err=True)
    sys.stderr.flush()
