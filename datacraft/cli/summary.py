"""The one-screen run summary."""

from __future__ import annotations

from typing import Any

import click

MAX_COUNTERS = 10


def format_summary(merged: dict[str, Any], *, out: str, ran: int, skipped: int, seconds: float) -> str:
    """Render merged run stats as a short text table."""
    t = merged["totals"]
    n_in = t["docs_in"] or 1
    lines = [
        f"output      {out}",
        f"shards      {ran + skipped} ({ran} run, {skipped} already complete)",
        f"documents   in {t['docs_in']:,}  kept {t['kept']:,} ({100 * t['kept'] / n_in:.1f}%)  "
        f"dropped {t['dropped']:,}  quarantined {t['quarantined']:,}",
        f"characters  in {t['chars_in']:,}  kept {t['chars_out']:,}",
    ]
    if merged["dropped"]:
        lines.append("drops by stage and reason")
        for stage, reasons in merged["dropped"].items():
            for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
                lines.append(f"  {stage:<20} {reason:<28} {n:>10,}")
    if merged["stages"]:
        lines.append("stages      docs in → out, CPU seconds")
        for stage, s in merged["stages"].items():
            lines.append(f"  {stage:<20} {int(s['docs_in']):>10,} → {int(s['docs_out']):<10,} {s['seconds']:8.2f}s")
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
    rate = t["docs_in"] / seconds if seconds > 0 else 0.0
    ledger = "balanced" if merged["ledger_balanced"] else "NOT BALANCED"
    lines.append(f"ledger      {ledger}: in = kept + dropped + quarantined")
    lines.append(f"time        {seconds:.2f}s wall, {rate:,.0f} docs/s")
    return "\n".join(lines)


def echo_summary(text: str) -> None:
    """Print a summary on stderr."""
    click.echo(text, err=True)
