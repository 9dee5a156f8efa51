"""Imported first by the fork server of local pools, so that the server dies with the driver that started it.

Every worker forked by the server holds the pipe whose end of file would stop the server, so a killed
driver would otherwise leave the server and its workers waiting forever. With ``PR_SET_PDEATHSIG``
(Linux) the kernel kills the server when the driver dies, and each worker's own PDEATHSIG (armed on
the server, its parent) then stops the workers. Imported anywhere else, this module does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def _in_fork_server() -> bool:
    return "multiprocessing.forkserver" in " ".join(getattr(sys, "orig_argv", []))


def arm() -> None:
    """Die with the parent process (SIGKILL on its death); exit now if it is already gone."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if parent == 1:  # the driver died before the signal was armed
        os._exit(1)


if _in_fork_server():
    arm()
