"""``datacraft inspect OUT`` (sample dropped documents) and ``datacraft explain`` (trace one document)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from datacraft.cli.options import set_option
from datacraft.report.textsafe import for_terminal

if TYPE_CHECKING:  # imported where used: loading them costs ~0.7 CPU-s, too much for --help
    from datacraft.report.explain import Explanation
    from datacraft.report.rejected import DroppedDoc

#: Diff lines shown per stage by default (datacraft.report.explain.MAX_DIFF_LINES; a test keeps them equal).
DEFAULT_DIFF_LINES = 40

PREVIEW_LINES = 12


def _fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    text = json.dumps(v, ensure_ascii=False, default=str) if not isinstance(v, str) else v
    return text if len(text) <= 80 else text[:77] + "…"


def format_signals(signals: dict[str, Any]) -> str:
    """``key=value, …`` on one line (long values shortened)."""
    return ", ".join(f"{k}={_fmt_value(v)}" for k, v in signals.items()) or "(none recorded)"


def preview(text: str, max_chars: int, indent: str = "    │ ") -> str:
    """The start of a text, line by line with a margin, and how much was left out."""
    cut = text if max_chars <= 0 else text[:max_chars]
    lines = cut.splitlines() or [""]
    more_lines = max(len(lines) - PREVIEW_LINES, 0)
    lines = lines[:PREVIEW_LINES]
    out = [indent + line for line in lines]
    shown = sum(len(line) + 1 for line in lines)
    if shown < len(text) or more_lines:
        out.append(f"{indent}… {max(len(text) - shown, 0):,} more characters")
    return "\n".join(out)


def format_dropped(i: int, n: int, doc: DroppedDoc, max_chars: int) -> str:
    """One sampled drop as readable text."""
    return "\n".join(
        [
            f"[{i}/{n}] {doc.id}   stage={doc.stage}  reason={doc.reason}   ({len(doc.text):,} chars)",
            f"    signals: {format_signals(doc.signals)}",
            f"    from:    {doc.file} row {doc.row}",
            preview(doc.text, max_chars),
        ]
    )


@click.command(short_help="Sampled dropped documents with their signals.")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--stage", "-s", default=None, help="Only documents dropped by this stage (label).")
@click.option("--reason", "-r", default=None, help="Only documents dropped for this reason.")
@click.option("-n", "count", type=click.IntRange(min=1), default=5, show_default=True, help="How many to show.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sample.")
@click.option(
    "--chars",
    type=click.IntRange(min=0),
    default=400,
    show_default=True,
    help="Characters of text shown per document (0: all).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (text cut to --chars; 0 for full text).")
def inspect(out: str, stage: str | None, reason: str | None, count: int, seed: int, chars: int, as_json: bool) -> None:
    """Show a seeded sample of documents that run OUT dropped, with the signals that dropped them.

    On a terminal, control characters in the text (escape sequences, carriage returns) are shown as \\x1b etc.

    \b
    Examples:
      datacraft inspect out/demo                                   5 drops of any stage
      datacraft inspect out/demo --stage length --reason too_few_words -n 3
      datacraft inspect out/demo-dedup --reason near_dup --json --chars 0 | jq .docs[0]
    """
    from datacraft.report.rejected import sample_drops

    sample = sample_drops(out, stage, reason, count, seed)
    if as_json:
        payload = {
            "out": out,
            "stage": stage,
            "reason": reason,
            "seed": seed,
            "matches": sample.matches,
            "docs": [d.to_json(chars) for d in sample.docs],
        }
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
        return
    what = " ".join(x for x in (f"by {stage}" if stage else "", f"for {reason}" if reason else "") if x)
    if not sample.matches:
        click.echo(f"{out}: no dropped documents{' ' + what if what else ''}")
        return
    click.echo(
        f"{sample.matches:,} documents dropped{' ' + what if what else ''}; "
        f"showing {len(sample.docs)} chosen with seed {seed}\n"
    )
    for i, doc in enumerate(sample.docs, 1):
        click.echo(for_terminal(format_dropped(i, len(sample.docs), doc, chars)) + "\n")


def format_explanation(ex: Explanation, max_chars: int) -> str:
    """The trace of one document as readable text."""
    lines = [
        f"document  {ex.id}  ({ex.source}; {len(ex.text_before):,} chars, {len(ex.text_before.split()):,} words)",
        preview(ex.text_before, max_chars, indent="  │ "),
        "",
    ]
    for i, s in enumerate(ex.steps, 1):
        head = f"{i:>2}. {s.label:<18} [{s.kind}]  "
        if s.decision == "dropped":
            head += f"DROPPED  reason={s.reason}"
        elif s.decision == "changed":
            delta = s.chars_after - s.chars_before
            head += (
                f"changed  {s.chars_before:,} → {s.chars_after:,} chars ({delta:+,}), {s.lines_changed} lines changed"
            )
        elif s.decision == "not run":
            head += "not run (the document was dropped before)"
        else:
            head += s.decision + (f"  {s.reason}" if s.reason else "")
        lines.append(head)
        if s.signals:
            lines.append(f"      signals: {format_signals(s.signals)}")
        if s.meta_added:
            lines.append(f"      meta:    {format_signals(s.meta_added)}")
        if s.counters:
            lines.append(f"      counted: {format_signals(s.counters)}")
        lines += [f"      {d}" for d in s.diff]
    d = ex.dropped_by
    lines.append("")
    if d is None:
        lines.append(f"result    kept ({len(ex.text_after):,} chars after all stages)")
    else:
        lines.append(f"result    dropped by {d.label} ({d.reason})")
    return "\n".join(lines)


@click.command(short_help="One document through a pipeline's stages.")
@click.argument("inputs", nargs=-1, metavar="[INPUT]…")
@click.option("--id", "doc_id", required=True, help="Id of the document to trace.")
@click.option("--pipeline", "-p", required=True, type=click.Path(dir_okay=False), help="Pipeline YAML.")
@set_option
@click.option(
    "--chars",
    type=click.IntRange(min=0),
    default=300,
    show_default=True,
    help="Characters of the input text shown (0: all).",
)
@click.option(
    "--diff-lines",
    type=click.IntRange(min=0),
    default=DEFAULT_DIFF_LINES,
    show_default=True,
    help="Diff lines per stage.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the trace as JSON.")
def explain(
    inputs: tuple[str, ...],
    doc_id: str,
    pipeline: str,
    overrides: tuple[str, ...],
    chars: int,
    diff_lines: int,
    as_json: bool,
) -> None:
    """Run one document (found by --id in INPUT, default: the pipeline's input) through the pipeline's stages.

    Shows each stage's decision, reason, signals and text change; nothing is written.

    \b
    Examples:
      datacraft explain --id 'fortunes:law:150' --pipeline pipelines/demo.yaml
      datacraft explain data/sample/udhr-55.jsonl.gz --id udhr:fra:art1 -p pipelines/demo.yaml --json
    """
    from datacraft.pipeline.config import load_pipeline
    from datacraft.report.explain import explain_document, find_document

    config = load_pipeline(pipeline, list(overrides))
    doc, source = find_document(config, list(inputs) or config.input.paths, doc_id)
    ex = explain_document(config, doc, source, diff_lines)
    if as_json:
        click.echo(json.dumps(ex.to_json(), indent=2, ensure_ascii=False, default=str))
        return
    click.echo(for_terminal(format_explanation(ex, chars)))
