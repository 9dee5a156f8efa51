"""Report parts beyond the counts: example drops per reason, per-source funnel, run ↔ dedup links, thresholds."""

from __future__ import annotations

import os
import re
from collections import Counter
from html import escape
from itertools import pairwise
from pathlib import Path
from typing import Any

from datacraft.report.html import Raw, note, pct, table
from datacraft.report.rejected import sample_drops
from datacraft.report.runstats import RunStats
from datacraft.report.textsafe import escape_controls, truncate

EXAMPLES_PER_REASON = 3
EXAMPLE_CHARS = 300
MAX_REASONS_WITH_EXAMPLES = 40
MAX_SOURCES = 60


def example_drops(run: RunStats, seed: int = 0) -> str:
    """A few sampled documents per (stage, reason): escaped, truncated, with the signals that decided."""
    dropped = run.merged.get("dropped", {})
    order = [s for s in run.stage_order if s in dropped]
    pairs = [(s, r) for s in order for r, _ in sorted(dropped[s].items(), key=lambda kv: (-kv[1], kv[0]))]
    if not pairs:
        return note("No dropped documents.")
    if not any((run.out / "rejected").glob("*.parquet")) and not any((run.out / "rejected").rglob("*.parquet")):
        return note("Dropped documents were not written (output.rejected is false): no examples to show.")
    parts = [
        note(
            f"Up to {EXAMPLES_PER_REASON} documents per reason, chosen with seed {seed}; text cut to "
            f"{EXAMPLE_CHARS} characters, control characters shown as \\x.. escapes; highlighted: the "
            "blocklisted words or the most repeated n-gram that dropped it, where the filter tells. "
            "More with the inspect command beside each reason."
        )
    ]
    for stage, reason in pairs[:MAX_REASONS_WITH_EXAMPLES]:
        try:
            sample = sample_drops(run.out, stage, reason, EXAMPLES_PER_REASON, seed)
        except Exception as e:  # a damaged rejected/ file must not sink the whole report
            parts.append(note(f"{stage} · {reason}: examples unavailable ({type(e).__name__}: {e})"))
            continue
        rows = []
        for d in sample.docs:
            signals = ", ".join(f"{k}={_short(v)}" for k, v in d.signals.items()) or "-"
            shown = truncate(escape_controls(d.text), EXAMPLE_CHARS)
            text = mark(shown, _offending(run, stage, reason, d.text, d.meta.get("lang")))
            rows.append((d.id, signals, Raw(f'<pre class="doc">{text}</pre>')))
        parts.append(f"<h3>{escape(stage)} · {escape(reason)} <small>({sample.matches:,} documents)</small></h3>")
        parts.append(table(["id", "signals", "text"], rows))
    if len(pairs) > MAX_REASONS_WITH_EXAMPLES:
        parts.append(note(f"{len(pairs) - MAX_REASONS_WITH_EXAMPLES} more reasons: use datacraft inspect."))
    return "\n".join(parts)


def mark(text: str, phrases: list[list[str]]) -> str:
    """``text`` HTML-escaped, with occurrences of ``phrases`` (word sequences, any case) in ``<mark>``."""
    patterns = []
    for words in phrases:
        if not words:
            continue
        pat = re.escape(words[0])
        for a, b in pairwise(words):
            sep = r"\s+" if a[-1:].isalnum() and b[:1].isalnum() else r"\s*"
            pat += sep + re.escape(b)
        edge_l = r"(?<!\w)" if words[0][:1].isalnum() else ""
        edge_r = r"(?!\w)" if words[-1][-1:].isalnum() else ""
        patterns.append(edge_l + pat + edge_r)
    if not patterns:
        return escape(text)
    rx = re.compile("|".join(sorted(set(patterns), key=len, reverse=True)), re.IGNORECASE)
    out, pos = [], 0
    for m in rx.finditer(text):
        if m.end() == m.start():
            continue
        out.append(escape(text[pos : m.start()]))
        out.append(f"<mark>{escape(m.group())}</mark>")
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def _offending(run: RunStats, stage: str, reason: str, text: str, lang: Any = None) -> list[list[str]]:
    """What in ``text`` made ``stage`` drop it for ``reason``, as word sequences; [] where unknown.

    Recomputed from the run's own stage parameters: blocklisted words (``blocked_words``) and the most
    frequent n-gram of ``gopher_repetition``'s ``top_{n}_gram``, over the words of the document's language
    ``lang`` (as the filter segmented them). Other reasons mark nothing.
    """
    try:
        spec = next(
            s for s in run.manifest.get("config", {}).get("stages", []) if s.get("label", s.get("name")) == stage
        )
        name = spec["name"]
        if name == "blocklist" and reason == "blocked_words":
            return _blocklist_hits(spec, text, lang)
        top = re.fullmatch(r"top_(\d+)_gram", reason)
        if name == "gopher_repetition" and top:
            return _top_ngram(text, int(top.group(1)), lang)
    except Exception:  # marking is a courtesy: a stage that cannot be rebuilt here marks nothing
        return []
    return []


def _blocklist_hits(spec: dict[str, Any], text: str, lang: Any = None) -> list[list[str]]:
    from datacraft.stages.registry import get_stage_class
    from datacraft.text.cache import features

    cls = get_stage_class("blocklist")
    stage = cls(cls.Params(**spec.get("params", {})), label=spec.get("label"))
    stage.ensure_setup()
    words = features(text, lang).words
    lower = [w.lower() for w in words]
    hits = {(w,) for w in lower if w in stage._single}
    for i, w in enumerate(lower):
        for phrase in stage._multi.get(w, ()):
            if tuple(lower[i : i + len(phrase)]) == phrase:
                hits.add(phrase)
    return [list(h) for h in sorted(hits)]


def _top_ngram(text: str, n: int, lang: Any = None) -> list[list[str]]:
    from datacraft.text.cache import features

    words = features(text, lang).words
    grams = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    if not grams:
        return []
    gram, count = grams.most_common(1)[0]  # ties: first seen, as the filter
    return [list(gram)] if count > 1 else []


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    text = str(v)
    return text if len(text) <= 40 else text[:37] + "…"


def source_funnel(run: RunStats) -> str:
    """Documents in / kept / dropped / quarantined per input file (the source of each shard)."""
    per = run.merged.get("per_shard", [])
    if not per:
        return note("No per-shard stats.")
    by_source: dict[str, dict[str, int]] = {}
    for s in per:
        src = str(s.get("input", "?"))
        agg = by_source.setdefault(src, {"in": 0, "kept": 0, "dropped": 0, "quarantined": 0, "chars_in": 0, "chars": 0})
        agg["in"] += int(s.get("docs_in", 0))
        agg["kept"] += int(s.get("kept", 0))
        agg["dropped"] += sum(sum(r.values()) for r in s.get("dropped", {}).values())
        agg["quarantined"] += int(s.get("quarantined", 0))
        agg["chars_in"] += int(s.get("chars_in", 0))
        agg["chars"] += int(s.get("chars_out", 0))
    common = os.path.commonpath(list(by_source)) if len(by_source) > 1 else ""
    rows = []
    for src, a in sorted(by_source.items(), key=lambda kv: -kv[1]["in"])[:MAX_SOURCES]:
        name = os.path.relpath(src, common) if common and src.startswith(common) else src
        top = _top_reason(per, src)
        rows.append(
            (
                name,
                a["in"],
                a["kept"],
                pct(a["kept"], a["in"]),
                a["dropped"],
                a["quarantined"],
                pct(a["chars"], a["chars_in"]),
                top,
            )
        )
    head = ["source", "in", "kept", "kept %", "dropped", "quarantined", "characters kept %", "main drop reason"]
    parts = [table(head, rows, numeric=(1, 2, 3, 4, 5, 6))]
    if common:
        parts.insert(0, note(f"Sources are input files, relative to {common}."))
    if len(by_source) > MAX_SOURCES:
        parts.append(note(f"{len(by_source) - MAX_SOURCES} more sources in stats.json (per_shard)."))
    return "\n".join(parts)


def _top_reason(per: list[dict[str, Any]], src: str) -> str:
    counts: dict[str, int] = {}
    for s in per:
        if str(s.get("input")) == src:
            for stage, reasons in s.get("dropped", {}).items():
                for reason, n in reasons.items():
                    counts[f"{stage} · {reason}"] = counts.get(f"{stage} · {reason}", 0) + n
    if not counts:
        return "-"
    key, n = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    return f"{key} ({n:,})"


def related_runs(run: RunStats, report_name: str = "report.html") -> str:
    """Links between a pipeline run and its dedup run (and back), by their output directories."""
    cfg = run.manifest.get("config", {})
    links = []
    if run.manifest.get("kind") == "dedup":
        for p in cfg.get("input", {}).get("paths", []):
            src = Path(p)
            src = src.parent if src.name == "data" else src
            if (src / "_run.json").is_file():
                links.append(("input run (before dedup)", src))
    elif isinstance(cfg.get("dedup"), dict):
        out = cfg["dedup"].get("output") or str(cfg.get("output", {}).get("path", "")).rstrip("/") + "-dedup"
        links.append(("dedup run of this output", Path(out)))
    if not links:
        return ""
    items = []
    for what, target in links:
        rel = os.path.relpath(target / report_name, run.out)
        exists = (target / report_name).is_file()
        hint = "" if exists else f" (no report yet: <code>datacraft report {escape(str(target))}</code>)"
        items.append(f'{escape(what)}: <a href="{escape(rel)}">{escape(str(target))}</a>{hint}')
    return "<p>" + " · ".join(items) + "</p>"


def thresholds(run: RunStats) -> dict[str, list[tuple[float, str]]]:
    """Signal column → ``(value, "stage.param")`` thresholds from the run's stage parameters.

    A parameter ``min_X``/``max_X`` of a filter matches the stage's output column ending in ``X``.
    """
    from datacraft.errors import ConfigError
    from datacraft.stages.registry import get_stage_class

    out: dict[str, list[tuple[float, str]]] = {}
    for spec in run.manifest.get("config", {}).get("stages", []):
        try:
            cls = get_stage_class(spec["name"])
        except (ConfigError, KeyError):
            continue
        try:
            params = cls.Params(**spec.get("params", {})).model_dump()
        except Exception:
            continue
        columns = list(cls.output_columns())
        for pname, value in params.items():
            if not (pname.startswith(("min_", "max_")) and isinstance(value, int | float)) or isinstance(value, bool):
                continue
            rest = pname[4:]
            for col in columns:
                if col == rest or col.endswith("_" + rest):
                    out.setdefault(col, []).append((float(value), f"{spec['label']}.{pname}"))
    return out
