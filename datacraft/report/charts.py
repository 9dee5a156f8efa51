"""Plots of a run, drawn with matplotlib (Agg, no pyplot state) and returned as PNG data URIs."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter, LogLocator, NullFormatter

from datacraft.io.atomic import atomic_path

KEPT_COLOR = "#2b7bba"
PALETTE = ("#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#1b9e77", "#666666")
STYLE = {
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.dpi": 100,
}


def stage_color(i: int) -> str:
    """Color of the i-th dropping stage (kept documents are always blue)."""
    return PALETTE[i % len(PALETTE)]


@contextmanager
def figure(width: float, height: float) -> Iterator[Figure]:
    """A styled figure, not registered with pyplot (so nothing leaks between reports)."""
    with rc_context(STYLE):
        fig = Figure(figsize=(width, height), layout="tight")
        yield fig


def save_png(fig: Any, path: str | Path, dpi: int = 100) -> None:
    """Write a figure as PNG atomically, without timestamp or version metadata (same input, same bytes)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None})


def to_data_uri(fig: Figure) -> str:
    """Render a figure as a PNG ``data:`` URI (no timestamp or version metadata: same input, same bytes)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _fmt(n: float) -> str:
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.3g}{unit}"
    return f"{n:.3g}" if isinstance(n, float) and not float(n).is_integer() else f"{int(n)}"


def _barh(ax: Axes, labels: Sequence[str], values: Sequence[float], colors: Sequence[str], total: float) -> None:
    y = np.arange(len(labels))
    ax.barh(y, values, color=colors)
    ax.set_yticks(y, labels)
    if not ax.yaxis_inverted():
        ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    top = max(values, default=0) or 1
    for yi, v in zip(y, values, strict=True):
        pct = f" ({100 * v / total:.1f}%)" if total else ""
        ax.text(v + top * 0.01, yi, f"{_fmt(v)}{pct}", va="center", fontsize=8)
    ax.set_xlim(0, top * 1.3)
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))


def _log_x(ax: Axes, axis: str = "x") -> None:
    """A log axis labelled in plain numbers: at 1, 2, 5 × 10^k over a short range, fewer over a long one."""
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    a = ax.xaxis if axis == "x" else ax.yaxis
    lo, hi = (ax.dataLim.x0, ax.dataLim.x1) if axis == "x" else (ax.dataLim.y0, ax.dataLim.y1)
    decades = np.log10(max(hi, 1.0) / max(lo, 1.0)) if np.isfinite(lo) and np.isfinite(hi) else 3.0
    subs = (1.0, 2.0, 5.0) if decades <= 2 else (1.0, 3.0) if decades <= 4 else (1.0,)
    a.set_major_locator(LogLocator(base=10, subs=subs))
    a.set_major_formatter(EngFormatter(sep=""))
    a.set_minor_formatter(NullFormatter())


def funnel(steps: Sequence[tuple[str, int, int]]) -> str:
    """Documents and characters remaining after each step: ``(label, docs, chars)``."""
    labels = [s[0] for s in steps]
    with figure(10, 0.45 * len(steps) + 1.2) as fig:
        ax_docs, ax_chars = fig.subplots(1, 2, sharey=True)
        colors = [KEPT_COLOR] * len(steps)
        _barh(ax_docs, labels, [s[1] for s in steps], colors, steps[0][1])
        _barh(ax_chars, labels, [s[2] for s in steps], colors, steps[0][2])
        ax_docs.set_title("documents")
        ax_chars.set_title("characters")
        return to_data_uri(fig)


def drops(rows: Sequence[tuple[str, str, int, int]], docs_in: int) -> str:
    """Dropped documents per ``(stage, reason, n, stage index)``, as a share of the input."""
    labels = [f"{stage} · {reason}" for stage, reason, _, _ in rows]
    with figure(10, 0.35 * len(rows) + 1.0) as fig:
        ax = fig.subplots()
        _barh(ax, labels, [r[2] for r in rows], [stage_color(r[3]) for r in rows], docs_in)
        ax.set_xlabel("documents dropped")
        return to_data_uri(fig)


def _log_bins(values: Sequence[np.ndarray], n: int = 40) -> np.ndarray:
    allv = np.concatenate([v for v in values if len(v)]) if any(len(v) for v in values) else np.array([1.0])
    lo, hi = max(allv.min(), 1.0), max(allv.max(), 2.0)
    return np.unique(np.geomspace(lo, hi * 1.0001, n))


def length_histogram(
    unit: str, kept: np.ndarray, kept_weight: float, rejected: Sequence[tuple[str, np.ndarray, float, str]]
) -> str:
    """Stacked histogram of lengths (log bins): kept documents, then rejected ones by stage.

    The whole stack is the input ("before"); the blue part is what was kept ("after").
    Weights scale sampled rows to run totals.
    """
    series = [np.clip(kept, 1, None)] + [np.clip(r[1], 1, None) for r in rejected]
    weights = [np.full(len(kept), kept_weight)] + [np.full(len(r[1]), r[2]) for r in rejected]
    labels = ["kept"] + [f"rejected: {r[0]}" for r in rejected]
    colors = [KEPT_COLOR] + [r[3] for r in rejected]
    with figure(5, 3.2) as fig:
        ax = fig.subplots()
        bins = _log_bins(series)
        ax.hist(series, bins=bins, weights=weights, stacked=True, label=labels, color=colors)
        _log_x(ax)
        ax.set_xlabel(f"{unit} per document (log scale)")
        ax.set_ylabel("documents")
        ax.legend(fontsize=7)
        return to_data_uri(fig)


def signal_histogram(
    name: str,
    kept: np.ndarray,
    kept_weight: float,
    rejected: np.ndarray,
    rej_weight: float,
    thresholds: Sequence[tuple[float, str]] = (),
) -> str:
    """Distribution of one numeric signal among kept and rejected documents, with threshold lines."""
    both = np.concatenate([kept, rejected])
    lo, hi = (float(both.min()), float(both.max())) if len(both) else (0.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    bins = np.linspace(lo, hi, 41)
    with figure(5, 2.8) as fig:
        ax = fig.subplots()
        if len(kept):
            ax.hist(
                kept, bins=bins, weights=np.full(len(kept), kept_weight), color=KEPT_COLOR, alpha=0.55, label="kept"
            )
        if len(rejected):
            ax.hist(
                rejected,
                bins=bins,
                weights=np.full(len(rejected), rej_weight),
                histtype="step",
                linewidth=1.5,
                color=PALETTE[0],
                label="rejected",
            )
        for value, label in thresholds:
            if lo <= value <= hi:
                ax.axvline(value, color="#333", linestyle="--", linewidth=1, label=f"{label} = {value:g}")
        ax.set_title(name)
        ax.set_ylabel("documents")
        ax.legend(fontsize=7)
        return to_data_uri(fig)


def languages(rows: Sequence[tuple[str, float, float]]) -> str:
    """Documents per language ``(lang, kept, rejected)``, most frequent first.

    Stacked on a linear axis; side by side on a log axis when counts span more than 50×.
    """
    labels = [r[0] for r in rows]
    kept = np.array([r[1] for r in rows])
    rej = np.array([r[2] for r in rows])
    totals = kept + rej
    log = len(rows) > 1 and totals.max() > 50 * max(totals[totals > 0].min(), 1)
    with figure(10, (0.4 if log else 0.3) * len(rows) + 1.0) as fig:
        ax = fig.subplots()
        y = np.arange(len(rows))
        if log:
            ax.barh(y - 0.2, kept, height=0.4, color=KEPT_COLOR, label="kept")
            ax.barh(y + 0.2, rej, height=0.4, color=PALETTE[0], label="rejected")
            _log_x(ax)
            ax.set_xlabel("documents (log scale)")
        else:
            ax.barh(y, kept, color=KEPT_COLOR, label="kept")
            ax.barh(y, rej, left=kept, color=PALETTE[0], label="rejected")
            ax.set_xlabel("documents")
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.grid(axis="y", visible=False)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return to_data_uri(fig)


def cluster_sizes(sizes: np.ndarray, weight: float) -> str:
    """How many duplicate clusters have each size (log counts)."""
    sizes = sizes.astype(int)
    values, counts = np.unique(sizes, return_counts=True)
    with figure(5, 2.8) as fig:
        ax = fig.subplots()
        ax.bar(values, counts * weight, color=KEPT_COLOR, width=0.8)
        _log_x(ax, "y")
        ax.set_xlabel("documents in the cluster")
        ax.set_ylabel("clusters")
        return to_data_uri(fig)


def timing(rows: Sequence[tuple[str, float, float | None]]) -> str:
    """Wall and CPU seconds per step ``(label, wall, cpu or None)``, summed over shards."""
    labels = [r[0] for r in rows]
    wall = np.array([r[1] for r in rows], dtype=float)
    cpu = np.array([r[2] if r[2] is not None else np.nan for r in rows], dtype=float)
    with figure(10, 0.45 * len(rows) + 1.2) as fig:
        ax = fig.subplots()
        y = np.arange(len(rows))
        ax.barh(y - 0.2, wall, height=0.4, color=PALETTE[1 % len(PALETTE)], label="wall seconds")
        ax.barh(y + 0.2, np.nan_to_num(cpu), height=0.4, color=KEPT_COLOR, label="CPU seconds")
        top = float(np.nanmax(np.concatenate([wall, np.nan_to_num(cpu)]))) if len(rows) else 1.0
        for yi, w, c in zip(y, wall, cpu, strict=True):
            ax.text(w + top * 0.01, yi - 0.2, _fmt(float(w)), va="center", fontsize=7)
            if np.isfinite(c):
                ax.text(c + top * 0.01, yi + 0.2, _fmt(float(c)), va="center", fontsize=7)
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.grid(axis="y", visible=False)
        ax.set_xlim(0, (top or 1.0) * 1.15)
        ax.set_xlabel("seconds, summed over shards")
        ax.legend(fontsize=7, loc="lower right")
        return to_data_uri(fig)
