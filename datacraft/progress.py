"""Progress reporting that works across processes: tasks report, the driver shows.

On a terminal (normal verbosity, text logs) the driver draws a tqdm bar. In every case it also
logs periodic ``progress`` events (documents, rate, shards done, ETA): timestamped lines on a
non-terminal stderr, JSON objects with ``--log-format json``, and lines in ``OUT/logs/driver.log``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from datacraft.log import bars_enabled, get_logger, log_event

_sink: Callable[[int], None] | None = None
log = get_logger("progress")
#: Seconds between progress lines (``DATACRAFT_PROGRESS_INTERVAL`` overrides).
DEFAULT_INTERVAL = 10.0


def progress_interval() -> float:
    """Seconds between periodic progress lines."""
    try:
        return max(0.05, float(os.environ.get("DATACRAFT_PROGRESS_INTERVAL", DEFAULT_INTERVAL)))
    except ValueError:
        return DEFAULT_INTERVAL


def set_sink(sink: Callable[[int], None] | None) -> None:
    """Where :func:`report_docs` sends counts in this process (None: nowhere)."""
    global _sink
    _sink = sink


def report_docs(n: int) -> None:
    """Tell the driver that ``n`` more documents were processed."""
    if _sink is not None:
        _sink(n)


def shared_counter_sink(counter: Any) -> Callable[[int], None]:
    """A sink adding to a ``multiprocessing.Value`` shared with the driver."""

    def sink(n: int) -> None:
        with counter.get_lock():
            counter.value += n

    return sink


def format_eta(seconds: float | None) -> str:
    """``0:01:05`` or ``?``."""
    if seconds is None:
        return "?"
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class _NoBar:
    """What a disabled tqdm bar does: nothing."""

    def update(self, n: int = 1) -> None:
        """Nothing."""

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        """Nothing."""

    def refresh(self) -> None:
        """Nothing."""

    def close(self) -> None:
        """Nothing."""


class RunProgress:
    """Documents and shards of one run or phase: a bar on a terminal, periodic log lines everywhere.

    ``enabled=False`` draws no bar; the periodic lines are logged anyway (the stderr handler's level
    decides whether they show: not with ``-q``), so ``OUT/logs/driver.log`` always has them.
    """

    def __init__(self, total_shards: int, enabled: bool, unit: str = "docs", desc: str = "") -> None:
        self.total_shards = total_shards
        self.enabled = enabled
        self.unit = unit
        self.desc = desc or "run"
        self.shards_done = 0
        self.shards_skipped = 0
        self.docs = 0
        self.t0 = time.monotonic()
        self._lock = threading.Lock()
        self.bar: Any = _NoBar()
        if enabled and bars_enabled():
            from tqdm import tqdm  # only where a bar is drawn (a terminal): tqdm's import is ~40 ms

            self.bar = tqdm(
                total=None,
                unit=f" {unit}",
                desc=desc or None,
                file=sys.stderr,
                dynamic_ncols=True,
                mininterval=0.5,
                unit_scale=True,
                leave=False,
            )
        self._counter: Any = None
        self._seen = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ticker: threading.Thread | None = None
        self._update_postfix()
        self._ticker = threading.Thread(target=self._tick, daemon=True, name="datacraft-progress")
        self._ticker.start()

    def _update_postfix(self) -> None:
        self.bar.set_postfix_str(f"shards {self.shards_done}/{self.total_shards}", refresh=False)

    def counters(self) -> dict[str, Any]:
        """The numbers of a progress line: documents, rate, shards done, elapsed and ETA seconds."""
        elapsed = time.monotonic() - self.t0
        ran = self.shards_done - self.shards_skipped
        left = self.total_shards - self.shards_done
        eta = elapsed / ran * left if ran > 0 else (0.0 if left == 0 else None)
        return {
            "task": self.desc,
            self.unit: self.docs,
            "rate": round(self.docs / elapsed, 1) if elapsed > 0 else 0.0,
            "shards_done": self.shards_done,
            "shards_total": self.total_shards,
            "elapsed_s": round(elapsed, 1),
            "eta_s": None if eta is None else round(eta, 1),
        }

    def log_line(self, event: str = "progress") -> None:
        """Log the current state as one line (``event`` is ``progress`` or ``done``)."""
        c = self.counters()
        msg = (
            f"{self.desc}: {c[self.unit]:,} {self.unit} ({c['rate']:,.0f}/s), "
            f"shards {c['shards_done']}/{c['shards_total']}, elapsed {format_eta(c['elapsed_s'])}"
            + (f", ETA {format_eta(c['eta_s'])}" if event == "progress" else "")
        )
        log_event(log, event if event != "done" else "progress", msg, **c)

    def _tick(self) -> None:
        interval = progress_interval()
        while not self._stop.wait(interval):
            self.log_line()

    def update_docs(self, n: int) -> None:
        """Add ``n`` processed documents (same process)."""
        with self._lock:
            self.docs += n
        self.bar.update(n)

    def shard_done(self, skipped: bool = False) -> None:
        """Count one finished shard (``skipped``: complete from an earlier run)."""
        self.shards_done += 1
        self.shards_skipped += int(skipped)
        self._update_postfix()
        self.bar.refresh()

    def watch(self, counter: Any) -> None:
        """Poll a shared counter written by worker processes."""
        self._counter = counter
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.25):
            self._drain()

    def _drain(self) -> None:
        if self._counter is not None:
            value = self._counter.value
            if value > self._seen:
                self.update_docs(value - self._seen)
                self._seen = value

    def close(self) -> None:
        """Stop polling, remove the bar and log the final state."""
        self._stop.set()
        for t in (self._thread, self._ticker):
            if t is not None:
                t.join()
        self._drain()
        self.bar.close()
        if self.total_shards:
            self.log_line("done")
