"""Signals: SIGTERM becomes an exception in the driver (like SIGINT's KeyboardInterrupt); workers die with it.

The driver turns SIGTERM into :class:`Terminated` so that the same cleanup runs as for Ctrl-C
(executors stop their workers, writers delete temporary files, the output lock is released),
and the CLI exits 130 (SIGINT) or 143 (SIGTERM). A worker process ignores SIGINT (the driver
decides) and exits as soon as its parent dies (``PR_SET_PDEATHSIG`` on Linux, and a watchdog
thread polling the parent pid everywhere), so no worker outlives a killed run.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

PR_SET_PDEATHSIG = 1
WATCHDOG_SECONDS = 0.5


class Terminated(BaseException):
    """SIGTERM received by the driver (a BaseException, like KeyboardInterrupt: not an ordinary error)."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(f"terminated by signal {signum}")
        self.signum = signum


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block (main thread only), SIGTERM raises :class:`Terminated`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _set_pdeathsig() -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes  # here, not at import: ctypes.util pulls in subprocess (only workers need it)
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _watch_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(WATCHDOG_SECONDS)


def bind_to_parent(parent: int) -> None:
    """In a worker process: ignore SIGINT and exit when ``parent`` (the driver) is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _set_pdeathsig()
    if os.getppid() != parent:  # the parent died before PDEATHSIG was armed
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="datacraft-parent-watchdog", daemon=True).start()
