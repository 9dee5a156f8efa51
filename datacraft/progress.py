"""Progress reporting that works across processes: tasks report, the driver draws."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from tqdm import tqdm

_sink: Callable[[int], None] | None = None


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


class RunProgress:
    """A docs/s bar with shards done, on stderr; silent when ``enabled`` is false."""

    def __init__(self, total_shards: int, enabled: bool, unit: str = "docs", desc: str = "") -> None:
        self.total_shards = total_shards
        self.enabled = enabled
        self.shards_done = 0
        self.bar = tqdm(
            total=None,
            unit=f" {unit}",
            desc=desc or None,
            disable=not enabled,
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
        self._update_postfix()

    def _update_postfix(self) -> None:
        self.bar.set_postfix_str(f"shards {self.shards_done}/{self.total_shards}", refresh=False)

    def update_docs(self, n: int) -> None:
        """Add ``n`` processed documents (same process)."""
        self.bar.update(n)

    def shard_done(self) -> None:
        """Count one finished shard."""
        self.shards_done += 1
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
                self.bar.update(value - self._seen)
                self._seen = value

    def close(self) -> None:
        """Stop polling and remove the bar."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._drain()
        self.bar.close()
