"""A run killed with SIGKILL mid-way, then rerun, gives byte-identical output to an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.helpers import make_corpus, tree_digest

REPO = Path(__file__).resolve().parents[1]


def write_pipeline(path: Path, inp: Path, out: Path, workers: int) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "name": "kill-test",
                "input": {"paths": [str(inp)]},
                "output": {"path": str(out), "row_group_rows": 100, "rows_per_file": 700},
                "workers": workers,
                "batch_size": 50,
                "stages": [{"normalize": {}}, {"length": {"min_words": 15}}],
            }
        )
    )
    return path


def run_cli(pipeline: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "datacraft", "run", str(pipeline), "--quiet"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_sigkill_then_rerun_is_byte_identical(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=10, docs=2500)
    reference = write_pipeline(tmp_path / "ref.yaml", tmp_path / "in", tmp_path / "ref", workers=1)
    assert run_cli(reference).returncode == 0
    for workers in (1, 2):
        out = tmp_path / f"killed{workers}"
        pipeline = write_pipeline(tmp_path / f"p{workers}.yaml", tmp_path / "in", out, workers=workers)
        proc = subprocess.Popen(
            [sys.executable, "-m", "datacraft", "run", str(pipeline), "--quiet"], cwd=REPO, start_new_session=True
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list((out / "_done").glob("*.json"))) >= 2:
                break
            time.sleep(0.01)
        assert proc.poll() is None, "the run finished before it could be killed; make the corpus bigger"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        done = len(list((out / "_done").glob("*.json")))
        assert 2 <= done < 10
        assert not (out / "stats.json").exists()
        result = run_cli(pipeline)
        assert result.returncode == 0, result.stderr
        assert tree_digest(out) == tree_digest(tmp_path / "ref")
        assert not [p for p in out.rglob(".*") if p.is_file()], "temporary files left behind"
