"""A command whose stdout reader goes away (``datacraft stages | head -1``) ends quietly: no error line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_closed_stdout_pipe_ends_quietly() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "datacraft", "stages"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.read(10)
    proc.stdout.close()  # as `head -c 10` does
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=120)
    assert first and err == "", err
    assert code in (0, 1)
