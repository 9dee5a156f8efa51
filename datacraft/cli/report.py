"""``datacraft report OUT`` (HTML page with plots) and ``datacraft stats OUT`` (merged counts)."""

from __future__ import annotations

import json
from typing import Any

import click

from datacraft.cli.options import quiet_option
from datacraft.cli.summary import created_by
from datacraft.report.runstats import RunStats, load_run


@click.command(short_help="HTML report of a run, with plots.")
@click.argument("out", type=click.Path(file_okay=False))
@click.option(
    "--out", "dest", type=click.Path(dir_okay=False), default=None, help="HTML file [default: OUT/report.html]."
)
@click.option(
    "--sample-rows",
    type=click.IntRange(min=1),
    default=100_000,
    show_default=True,
    help="Most rows read from data/ and from rejected/ for histograms (whole row groups, seeded).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the row-group sample.")
@click.option(
    "--tokenizer",
    type=click.Path(dir_okay=False),
    default=None,
    help="Hugging Face tokenizer.json: count kept and dropped tokens on the sample [default: words (estimate)].",
)
@quiet_option
def report(out: str, dest: str | None, sample_rows: int, seed: int, tokenizer: str | None, quiet: bool) -> None:
    """Write one self-contained HTML report of run OUT: funnel, drops, lengths, signals, languages, timing.

    Plots are PNG images embedded in the page, so the file can be mailed or archived alone.

    \b
    Examples:
      datacraft report out/demo                            writes out/demo/report.html
      datacraft report out/demo-dedup --out /tmp/dedup.html --sample-rows 20000
      datacraft report out/demo --tokenizer tok/tokenizer.json   kept/dropped tokens, not words
    """
    from datacraft.report.build import build_report  # matplotlib: only loaded for this command

    path = build_report(out, dest, sample_rows=sample_rows, seed=seed, tokenizer=tokenizer)
    if not quiet:
        click.echo(f"report written to {path}", err=True)


def format_stats(run: RunStats, shards: bool = False) -> str:
    """Merged counts of a run as a text table."""
    m = run.merged
    t = m["totals"]
    n_in = (t["docs_in"] + int(t.get("created") or 0)) or 1  # documents to account for: read + created
    lines = [f"run         {run.out}  (pipeline {m.get('pipeline') or '?'}, {m.get('shards', '?')} shards)"]
    if run.partial:
        lines.append("            (no stats.json: the run did not finish; merged from the completed shards' stats/)")
    lines += [
        f"documents   in {t['docs_in']:,}{created_by(m)}   kept {t['kept']:,} ({100 * t['kept'] / n_in:.1f}%)   "
        f"dropped {t['dropped']:,} ({100 * t['dropped'] / n_in:.1f}%)   quarantined {t['quarantined']:,}",
        f"characters  in {t['chars_in']:,}   kept {t['chars_out']:,} "
        f"({100 * t['chars_out'] / (t['chars_in'] or 1):.1f}%)",
    ]
    stages = m.get("stages", {})
    order = run.stage_order
    if stages:
        lines.append("")
        head = f"{'stage':<22}{'docs in':>12}{'docs out':>12}{'dropped':>10}{'chars out':>16}"
        lines.append(head + f"{'wall s':>10}{'CPU s':>10}")
        for label in order:
            if label in stages:
                s = stages[label]
                d = sum(m.get("dropped", {}).get(label, {}).values())
                lines.append(
                    f"{label:<22}{int(s['docs_in']):>12,}{int(s['docs_out']):>12,}{d:>10,}"
                    f"{int(s['chars_out']):>16,}{s['seconds']:>10.2f}{_cpu(s):>10}"
                )
    dropped = m.get("dropped", {})
    if dropped:
        lines.append("")
        lines.append(f"{'dropped by stage':<22}{'reason':<30}{'documents':>12}{'% of input':>12}")
        for label in [s for s in order if s in dropped]:
            for reason, n in sorted(dropped[label].items(), key=lambda kv: (-kv[1], kv[0])):
                lines.append(f"{label:<22}{reason:<30}{n:>12,}{100 * n / n_in:>11.1f}%")
    counters = m.get("counters", {})
    if counters:
        lines.append("")
        for label, cs in counters.items():
            lines.append(f"counters    {label}: " + ", ".join(f"{k}={v:,}" for k, v in sorted(cs.items())))
    cpu = m.get("cpu_seconds", {})
    if cpu:
        lines.append(
            f"CPU time    {cpu.get('total', 0.0):.2f}s in shard tasks "
            f"(read {cpu.get('read', 0.0):.2f}s, write {cpu.get('write', 0.0):.2f}s)"
        )
    ledger = "balanced" if m.get("ledger_balanced", True) else "NOT BALANCED"
    plus = " + created" if t.get("created") else ""
    lines.append(f"ledger      {ledger}: in{plus} = kept + dropped + quarantined")
    if shards:
        lines.append("")
        lines.append(f"{'shard':>6}  {'in':>10}{'kept':>10}{'dropped':>10}{'quar.':>8}{'sec':>8}  input")
        for s in m.get("per_shard", []):
            d = sum(sum(r.values()) for r in s.get("dropped", {}).values())
            lines.append(
                f"{s['shard']:>6}  {s['docs_in']:>10,}{s['kept']:>10,}{d:>10,}{s['quarantined']:>8,}"
                f"{s.get('seconds', 0.0):>8.2f}  {s['input']}"
            )
    return "\n".join(lines)


@click.command(short_help="A run's merged counts (table or --json).")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the merged stats as JSON.")
@click.option("--shards", is_flag=True, help="Also list every shard (in JSON: keep per_shard).")
def stats(out: str, as_json: bool, shards: bool) -> None:
    """Print the merged counts of run OUT: documents, drops by stage and reason, time per stage.

    \b
    Examples:
      datacraft stats out/demo
      datacraft stats out/demo --shards
      datacraft stats out/demo --json | jq .totals
    """
    run = load_run(out)
    if as_json:
        data: dict[str, Any] = dict(run.merged)
        if not shards:
            data.pop("per_shard", None)
        data["partial"] = run.partial
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    click.echo(format_stats(run, shards))


def _cpu(stage: dict) -> str:
    """A stage's CPU seconds (worker CPU time), or ``-`` for stats written before they were measured."""
    cpu = stage.get("cpu_seconds")
    return "-" if cpu is None else f"{float(cpu):.2f}"
