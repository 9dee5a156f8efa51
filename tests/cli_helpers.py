"""Run the real ``datacraft`` command in a subprocess (stderr is then not a terminal)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def datacraft(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, **kw: Any
) -> subprocess.CompletedProcess[str]:
    """``python -m datacraft ARGS`` with captured text output."""
    full_env = {**os.environ, "DATACRAFT_PROGRESS_INTERVAL": "0.2", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "datacraft", *args],
        cwd=cwd or REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
        **kw,
    )


def write_pipeline(path: Path, inputs: Path, out: Path, stages: str, workers: int = 2, extra: str = "") -> Path:
    """A small pipeline YAML."""
    path.write_text(
        f"name: t\n{extra}input: {{paths: [{inputs}]}}\noutput: {{path: {out}}}\nworkers: {workers}\n"
        f"stages:\n{stages}\n"
    )
    return path
