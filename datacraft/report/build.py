"""``datacraft report``: one self-contained HTML page about a run, plots embedded as PNG data URIs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import partial
from html import escape
from pathlib import Path

import numpy as np

from datacraft.io import fs
from datacraft.io.atomic import write_text_atomic
from datacraft.pipeline.layout import DATA, QUARANTINE, REJECTED
from datacraft.report import charts, extras
from datacraft.report.html import Raw, img, note, page, pct, table
from datacraft.report.runstats import RunStats, load_run
from datacraft.report.sample import (
    CHARS,
    TOKENS,
    WORDS,
    ParquetSample,
    kept_columns,
    kept_extract,
    load_tokenizer,
    parquet_files,
    rejected_columns,
    rejected_extract,
    sample_parquet,
)

DUP_COLUMNS = ("dup_cluster", "dup_count")
NOT_SIGNALS = (CHARS, WORDS, TOKENS, "lang", *DUP_COLUMNS)
MAX_SIGNAL_PLOTS = 24
TOP_LANGS = 25
MAX_SHARD_ROWS = 100


@dataclass
class ReportInputs:
    """Everything the page is made from: merged stats and bounded samples of data/ and rejected/."""

    run: RunStats
    kept: ParquetSample
    rejected: ParquetSample
    quarantine_files: int
    tokenizer: str | None = None


def gather(
    out: str | Path, *, sample_rows: int = 100_000, seed: int = 0, tokenizer: str | Path | None = None
) -> ReportInputs:
    """Load a run's stats and sample its kept and rejected Parquet (at most ``sample_rows`` rows each).

    With ``tokenizer`` (a Hugging Face ``tokenizer.json``), sampled texts are also counted in its tokens.
    """
    counter = load_tokenizer(tokenizer) if tokenizer is not None else None
    run = load_run(out)
    root = run.out
    kept = sample_parquet(
        parquet_files(root / DATA),
        max_rows=sample_rows,
        seed=seed,
        columns_for=kept_columns,
        extract=partial(kept_extract, tokens=counter),
    )
    rejected = sample_parquet(
        parquet_files(root / REJECTED),
        max_rows=sample_rows,
        seed=seed + 1,
        columns_for=rejected_columns,
        extract=partial(rejected_extract, tokens=counter),
    )
    qfiles = sum(1 for p in (root / QUARANTINE).glob("*") if p.is_file() and not p.name.startswith("."))
    return ReportInputs(run, kept, rejected, qfiles, str(tokenizer) if tokenizer is not None else None)


def token_totals(inputs: ReportInputs) -> dict[str, int] | None:
    """Tokens of kept and dropped (rejected/) documents, sample sums scaled to the run's totals; None without."""
    kept, rej = inputs.kept, inputs.rejected
    if TOKENS not in kept.columns and TOKENS not in rej.columns:
        return None
    k = float(np.nansum(kept.columns[TOKENS])) * kept.weight if TOKENS in kept.columns else 0.0
    r = float(np.nansum(rej.columns[TOKENS])) * rej.weight if TOKENS in rej.columns else 0.0
    return {"kept": round(k), "dropped": round(r), "total": round(k + r)}


def _finite(values: np.ndarray) -> np.ndarray:
    values = values.astype(float)
    return values[np.isfinite(values)]


def _sample_note(s: ParquetSample, what: str) -> str:
    if s.rows_total == 0:
        return f"no {what} rows"
    if s.complete:
        return f"all {s.rows_total:,} {what} rows"
    return (
        f"a seeded sample of {s.rows_sampled:,} of {s.rows_total:,} {what} rows (whole row groups), scaled to the total"
    )


class ReportBuilder:
    """Turns :class:`ReportInputs` into the sections of the page."""

    def __init__(self, inputs: ReportInputs, seed: int = 0) -> None:
        self.seed = seed
        self.inp = inputs
        self.run = inputs.run
        self.m = inputs.run.merged
        self.t = self.m["totals"]
        dropping = [s for s in self.run.stage_order if s in self.m.get("dropped", {})]
        rej_stages = self.inp.rejected.columns.get("stage")
        extra = sorted({s for s in (rej_stages if rej_stages is not None else []) if s and s not in dropping})
        self.stage_colors = {s: charts.stage_color(i) for i, s in enumerate(dropping + extra)}

    # --- sections -------------------------------------------------------------------------------

    def header(self) -> str:
        m, t = self.m, self.t
        name = m.get("pipeline") or self.run.manifest.get("config", {}).get("name", "")
        parts = [f"<h1>datacraft run report: {escape(str(name))}</h1>"]
        parts.append(
            note(
                f"output {self.run.out} · {m.get('shards', len(m.get('per_shard', [])))} shards · "
                f"fingerprint {m.get('fingerprint', '?')}"
            )
        )
        if self.run.partial:
            parts.append(
                '<p class="warn">This run has no merged stats.json: it did not finish. The figures below merge '
                "the per-shard stats of the shards that completed.</p>"
            )
        plus, created = (" + created", t["created"]) if t.get("created") else ("", 0)
        ledger = (
            f"balanced: documents in{plus} = kept + dropped + quarantined"
            if m.get("ledger_balanced", t["docs_in"] + created == t["kept"] + t["dropped"] + t["quarantined"])
            else '<span class="bad">NOT BALANCED</span>'
        )
        parts.append(f"<p>Ledger {ledger}.</p>")
        parts.append(extras.related_runs(self.run))
        return "\n".join(parts)

    def summary(self) -> str:
        t = self.t
        rows = [("documents in", t["docs_in"], "100.0%")]
        if t.get("created"):  # e.g. split: a book cut into chapters; in + created = kept + dropped + quarantined
            rows.append(("created by stages (cut from other documents)", t["created"], pct(t["created"], t["docs_in"])))
        rows += [
            ("kept", t["kept"], pct(t["kept"], t["docs_in"])),
            ("dropped by stages", t["dropped"], pct(t["dropped"], t["docs_in"])),
            ("quarantined (bad records)", t["quarantined"], pct(t["quarantined"], t["docs_in"])),
            ("characters in", t["chars_in"], "100.0%"),
            ("characters kept", t["chars_out"], pct(t["chars_out"], t["chars_in"])),
        ]
        kept, rej = self.inp.kept, self.inp.rejected
        if WORDS in kept.columns and (rej.rows_total or not t["dropped"]):
            words_kept = float(np.nansum(kept.columns[WORDS])) * kept.weight
            words_rej = float(np.nansum(rej.columns[WORDS])) * rej.weight if WORDS in rej.columns else 0.0
            words_in = words_kept + words_rej
            rows.append(("words of kept + rejected documents as written (estimate)", round(words_in), "100.0%"))
            rows.append(("words kept (estimate)", round(words_kept), pct(words_kept, words_in)))
        tokens = token_totals(self.inp)
        if tokens is not None:
            name = Path(self.inp.tokenizer or "tokenizer").name
            rows.append((f"tokens of kept + dropped documents ({name}, sample scaled)", tokens["total"], "100.0%"))
            rows.append(("tokens kept", tokens["kept"], pct(tokens["kept"], tokens["total"])))
            rows.append(("tokens dropped", tokens["dropped"], pct(tokens["dropped"], tokens["total"])))
        return table(["", "count", "share"], rows, numeric=(1, 2))

    def funnel(self) -> str:
        t, stages = self.t, self.m.get("stages", {})
        steps: list[tuple[str, int, int]] = [("records read", t["docs_in"], t["chars_in"])]
        if t["quarantined"]:
            steps.append(("valid documents", t["docs_in"] - t["quarantined"], t["chars_in"]))
        for label in self.run.stage_order:
            if label in stages:
                steps.append((f"after {label}", int(stages[label]["docs_out"]), int(stages[label]["chars_out"])))
        steps.append(("kept (written)", t["kept"], t["chars_out"]))
        rows = [(label, d, pct(d, steps[0][1]), c, pct(c, steps[0][2])) for label, d, c in steps]
        return img(charts.funnel(steps), "funnel of documents and characters") + table(
            ["step", "documents", "% of input", "characters", "% of input"], rows, numeric=(1, 2, 3, 4)
        )

    def drops(self) -> str:
        dropped, stages = self.m.get("dropped", {}), self.m.get("stages", {})
        rows, chart_rows = [], []
        order = [s for s in self.run.stage_order if s in dropped]
        for stage in order:
            for reason, n in sorted(dropped[stage].items(), key=lambda kv: (-kv[1], kv[0])):
                stage_in = int(stages.get(stage, {}).get("docs_in", 0))
                cmd = Raw(
                    f"<code>datacraft inspect {escape(str(self.run.out))} --stage {escape(stage)} "
                    f"--reason {escape(reason)}</code>"
                )
                rows.append((stage, reason, n, pct(n, self.t["docs_in"]), pct(n, stage_in), cmd))
                chart_rows.append((stage, reason, n, order.index(stage)))
        parts = []
        if chart_rows:
            parts.append(img(charts.drops(chart_rows, self.t["docs_in"]), "dropped documents by stage and reason"))
            parts.append(
                table(
                    ["stage", "reason", "documents", "% of input", "% of stage input", "look at them"], rows, (2, 3, 4)
                )
            )
        else:
            parts.append(note("No stage dropped any document."))
        if self.t["quarantined"]:
            parts.append(
                note(
                    f"{self.t['quarantined']:,} bad records were quarantined (file, position, error) in "
                    f"{self.inp.quarantine_files} file(s) under {self.run.out / QUARANTINE}."
                )
            )
        annotate = self._annotate_reasons()
        if annotate:
            parts.append("<h3>Would-be drops of annotate-mode filters (documents kept)</h3>")
            parts.append(table(["column", "reason", "documents (est.)"], annotate, numeric=(2,)))
        return "\n".join(parts)

    def _annotate_reasons(self) -> list[tuple[str, str, int]]:
        kept = self.inp.kept
        rows = []
        for name, values in kept.columns.items():
            if name.endswith("_drop_reason"):
                counts = Counter(v for v in values if isinstance(v, str))
                rows += [(name, r, round(n * kept.weight)) for r, n in sorted(counts.items(), key=lambda kv: -kv[1])]
        return rows

    def lengths(self) -> str:
        kept, rej = self.inp.kept, self.inp.rejected
        if kept.rows_total + rej.rows_total == 0:
            return note("No Parquet output to measure (the run wrote no data/ or rejected/ Parquet files).")
        figs = []
        for col, unit in ((CHARS, "characters"), (WORDS, "words")):
            kept_v = _finite(kept.columns[col]) if col in kept.columns else np.array([])
            by_stage = []
            if col in rej.columns:
                stages = rej.columns["stage"]
                values = rej.columns[col].astype(float)
                for stage, color in self.stage_colors.items():
                    v = values[(stages == stage) & np.isfinite(values)]
                    if len(v):
                        by_stage.append((stage, v, rej.weight, color))
            figs.append(img(charts.length_histogram(unit, kept_v, kept.weight, by_stage), f"{unit} per document"))
        rows = []
        for label, s in (("kept", kept), ("rejected", rej)):
            for col, unit in ((CHARS, "characters"), (WORDS, "words")):
                v = _finite(s.columns[col]) if col in s.columns else np.array([])
                if len(v):
                    q = np.percentile(v, [5, 50, 95])
                    rows.append((label, unit, len(v), float(q[0]), float(q[1]), float(q[2]), float(v.mean())))
        parts = [
            note(
                "The whole stack is the input (before), the blue part what was kept (after). "
                f"Kept: {_sample_note(kept, 'kept')}. Rejected: {_sample_note(rej, 'rejected')}."
            ),
            f'<div class="grid">{"".join(figs)}</div>',
            table(["documents", "unit", "sampled", "p5", "median", "p95", "mean"], rows, numeric=(2, 3, 4, 5, 6)),
        ]
        if not kept.files and self.t["kept"]:
            parts.append(note("Kept documents were written as JSON Lines, not Parquet: only rejected ones show."))
        if rej.rows_total == 0 and self.t["dropped"]:
            parts.append(note("Dropped documents were not written (output.rejected is false), so only kept ones show."))
        return "\n".join(parts)

    def signals(self) -> str:
        kept, rej = self.inp.kept, self.inp.rejected
        kept_sig = {n: _finite(v) for n, v in kept.columns.items() if v.dtype == float and n not in NOT_SIGNALS}
        rej_sig: dict[str, list[float]] = {}
        for sig in rej.columns.get("signals", []):
            for k, v in sig.items():
                rej_sig.setdefault(k, []).append(v)
        names = [n for n in dict.fromkeys([*kept_sig, *rej_sig]) if n not in NOT_SIGNALS]
        names = [n for n in names if len(kept_sig.get(n, ())) or len(rej_sig.get(n, ()))]
        if not names:
            return note(
                "No numeric signal columns in this run. Filters in annotate mode write their signals as columns; "
                "dropped documents carry theirs in rejected/."
            )
        figs = []
        limits = extras.thresholds(self.run)
        for name in names[:MAX_SIGNAL_PLOTS]:
            k = kept_sig.get(name, np.array([]))
            r = np.array(rej_sig.get(name, []), dtype=float)
            figs.append(
                img(
                    charts.signal_histogram(
                        name, k, kept.weight, r[np.isfinite(r)], rej.weight, thresholds=limits.get(name, [])
                    ),
                    name,
                )
            )
        parts = [
            note(
                "Kept values come from numeric columns of data/ (annotate-mode filters and numeric input fields); "
                "rejected values from the signals recorded with each drop. Dashed lines: the thresholds "
                "of this run's stage parameters (min_…/max_…)."
            ),
            f'<div class="grid">{"".join(figs)}</div>',
        ]
        if len(names) > MAX_SIGNAL_PLOTS:
            parts.append(
                note(f"{len(names) - MAX_SIGNAL_PLOTS} more signals not shown: {', '.join(names[MAX_SIGNAL_PLOTS:])}")
            )
        return "\n".join(parts)

    def languages(self) -> str:
        kept, rej = self.inp.kept, self.inp.rejected
        kept_langs = Counter(v for v in kept.columns.get("lang", []) if isinstance(v, str))
        rej_langs = Counter(v for v in rej.columns.get("lang", []) if isinstance(v, str))
        if not kept_langs and not rej_langs:
            return note("No `lang` column in this run (add the langid stage to see languages).")
        est = {
            lang: (kept_langs[lang] * kept.weight, rej_langs[lang] * rej.weight)
            for lang in set(kept_langs) | set(rej_langs)
        }
        ranked = sorted(est.items(), key=lambda kv: (-(kv[1][0] + kv[1][1]), kv[0]))
        top = ranked[:TOP_LANGS]
        rest = ranked[TOP_LANGS:]
        if rest:
            top.append((f"{len(rest)} others", (sum(v[0] for _, v in rest), sum(v[1] for _, v in rest))))
        rows = [(lang, round(k), round(r), pct(k, k + r)) for lang, (k, r) in top]
        return (
            img(charts.languages([(lang, k, r) for lang, (k, r) in top]), "documents per language")
            + note(f"Estimated from {_sample_note(kept, 'kept')} and {_sample_note(rej, 'rejected')}.")
            + table(["language", "kept", "rejected", "kept share"], rows, numeric=(1, 2, 3))
        )

    def duplicates(self) -> str:
        kept = self.inp.kept
        parts = []
        if "dup_count" in kept.columns:
            sizes = _finite(kept.columns["dup_count"])
            sizes = sizes[sizes >= 1]
        elif "dup_cluster" in kept.columns:
            ids = [v for v in kept.columns["dup_cluster"] if v is not None and v == v]
            sizes = np.array(list(Counter(ids).values()), dtype=float)
        else:
            sizes = np.array([])
        dup_drops = {
            f"{stage} · {reason}": n
            for stage, reasons in self.m.get("dropped", {}).items()
            for reason, n in reasons.items()
            if "dup" in reason or "dup" in stage
        }
        if not len(sizes) and not dup_drops:
            return note("No `dup_cluster`/`dup_count` columns and no duplicate drops in this run (dedup did not run).")
        if len(sizes):
            multi = sizes[sizes > 1]
            parts.append(img(charts.cluster_sizes(sizes, kept.weight), "duplicate cluster sizes"))
            parts.append(
                table(
                    ["clusters (est.)", "with duplicates", "largest", "documents in clusters > 1"],
                    [
                        (
                            round(len(sizes) * kept.weight),
                            round(len(multi) * kept.weight),
                            int(sizes.max()),
                            round(float(multi.sum()) * kept.weight),
                        )
                    ],
                    numeric=(0, 1, 2, 3),
                )
            )
        if dup_drops:
            parts.append(table(["duplicates removed by", "documents"], sorted(dup_drops.items()), numeric=(1,)))
        return "\n".join(parts)

    def timing(self) -> str:
        stages, cpu = self.m.get("stages", {}), self.m.get("cpu_seconds", {})
        wall = self.m.get("wall_seconds")
        if wall is None:  # stats written before CPU time was measured: cpu_seconds held wall seconds
            wall, cpu = cpu, {}
        rows: list[tuple[str, float, float | None]] = [("read + parse", float(wall.get("read", 0.0)), cpu.get("read"))]
        rows += [
            (label, float(stages[label]["seconds"]), stages[label].get("cpu_seconds"))
            for label in self.run.stage_order
            if label in stages
        ]
        rows.append(("write", float(wall.get("write", 0.0)), cpu.get("write")))
        table_rows = []
        for label, sec, c in rows:
            docs = int(stages[label]["docs_in"]) if label in stages else self.t["docs_in"]
            cpu_cell = float(c) if c is not None else "-"
            table_rows.append((label, sec, cpu_cell, docs, docs / float(c) if c else 0.0))
        run_time = self.m.get("time", {})
        lines = [f"Shard tasks: {float(wall.get('total', 0.0)):.2f} wall seconds summed over tasks"]
        if "total" in cpu:
            lines.append(f"{float(cpu['total']):.2f} CPU seconds of their worker processes")
        if run_time.get("cpu_seconds") is not None:
            lines.append(
                f"the whole run: {float(run_time['wall_seconds']):.2f} s wall, "
                f"{float(run_time['cpu_seconds']):.2f} CPU s over all processes (start-up included)"
            )
        chart_rows = [(label, sec, float(c) if c is not None else None) for label, sec, c in rows]
        return (
            img(charts.timing(chart_rows), "wall and CPU seconds per step")
            + note("; ".join(lines) + ". Wall seconds grow when workers wait for a CPU; CPU seconds do not.")
            + table(
                ["step", "wall seconds", "CPU seconds", "documents", "documents / CPU s"],
                table_rows,
                numeric=(1, 2, 3, 4),
            )
        )

    def counters(self) -> str:
        rows = []
        has_langs = "lang" in self.inp.kept.columns or "lang" in self.inp.rejected.columns
        for stage, cs in self.m.get("counters", {}).items():
            families: dict[str, list[tuple[str, int]]] = {}
            for key, n in sorted(cs.items()):
                families.setdefault(key.split("=", 1)[0] if "=" in key else key, []).append((key, n))
            for family, items in families.items():
                if len(items) > 8 or (family == "lang" and has_langs and len(items) > 1):
                    top = sorted(items, key=lambda kv: -kv[1])[:3]
                    shown = ", ".join(f"{k}={n:,}" for k, n in top)
                    where = "see Languages" if family == "lang" and has_langs else "all in stats.json"
                    rows.append((stage, f"{family}=… ({len(items)} values; {where})", f"top: {shown}"))
                else:
                    rows += [(stage, key, n) for key, n in items]
        return table(["stage", "counter", "value"], rows, numeric=(2,)) if rows else note("No stage counters.")

    def shards(self) -> str:
        per = self.m.get("per_shard", [])
        rows = [
            (
                s["shard"],
                s["input"],
                s["docs_in"],
                s["kept"],
                sum(sum(r.values()) for r in s.get("dropped", {}).values()),
                s["quarantined"],
                float(s.get("seconds", 0.0)),
            )
            for s in per[:MAX_SHARD_ROWS]
        ]
        parts = [table(["shard", "input", "in", "kept", "dropped", "quarantined", "seconds"], rows, (0, 2, 3, 4, 5, 6))]
        if len(per) > MAX_SHARD_ROWS:
            parts.append(
                note(f"{len(per) - MAX_SHARD_ROWS} more shards in stats/; `datacraft stats --shards` lists all.")
            )
        return "\n".join(parts)

    def render(self) -> str:
        """The whole page."""
        sections = [
            ("summary", "Summary", self.summary()),
            ("funnel", "Funnel", self.funnel()),
            ("sources", "Funnel per source", extras.source_funnel(self.run)),
            ("drops", "Drops by stage and reason", self.drops()),
            ("examples", "Examples of dropped documents", extras.example_drops(self.run, self.seed)),
            ("lengths", "Lengths before and after", self.lengths()),
            ("signals", "Signals", self.signals()),
            ("languages", "Languages", self.languages()),
            ("duplicates", "Duplicates", self.duplicates()),
            ("timing", "Time per stage", self.timing()),
            ("counters", "Stage counters", self.counters()),
            ("shards", "Shards", self.shards()),
        ]
        name = self.m.get("pipeline") or "run"
        return page(f"datacraft report: {name}", self.header(), sections)


def build_report(
    out: str | Path,
    dest: str | Path | None = None,
    *,
    sample_rows: int = 100_000,
    seed: int = 0,
    tokenizer: str | Path | None = None,
) -> Path:
    """Write the report of run ``out`` to ``dest`` (default ``OUT/report.html``) atomically; return its path."""
    inputs = gather(out, sample_rows=sample_rows, seed=seed, tokenizer=tokenizer)
    html = ReportBuilder(inputs, seed=seed).render()
    path = fs.as_path(dest) if dest is not None else fs.as_path(out) / "report.html"
    write_text_atomic(path, html)
    return path
