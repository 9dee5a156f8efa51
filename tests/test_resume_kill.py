"""A run killed with SIGKILL mid-way, then rerun, gives byte-identical output to an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
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
        assert (out / "README.md").read_bytes() == (tmp_path / "ref" / "README.md").read_bytes()  # the dataset card
        assert not [p for p in out.rglob(".*") if p.is_file()], "temporary files left behind"


def _start_and_wait(pipeline: Path, out: Path, markers: int = 2) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "datacraft", "run", str(pipeline), "--quiet"],
        cwd=REPO,
        start_new_session=True,
        # SIGINT's default action, even when this test runs as a background job (which inherits SIGINT ignored)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((out / "_done").glob("*.json"))) >= markers:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be signalled; make the corpus bigger"
    return proc


@pytest.mark.parametrize(("sig", "code", "word"), [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "SIGINT")])
def test_signal_to_the_main_process_stops_workers_and_rerun_is_identical(
    tmp_path: Path, sig: signal.Signals, code: int, word: str
) -> None:
    make_corpus(tmp_path / "in", shards=10, docs=2500)
    reference = write_pipeline(tmp_path / "ref.yaml", tmp_path / "in", tmp_path / "ref", workers=1)
    assert run_cli(reference).returncode == 0
    out = tmp_path / "out"
    pipeline = write_pipeline(tmp_path / "p.yaml", tmp_path / "in", out, workers=2)
    proc = _start_and_wait(pipeline, out)
    workers = psutil.Process(proc.pid).children(recursive=True)
    assert workers, "expected worker processes"
    os.kill(proc.pid, sig)  # the main process only, as Slurm/Kubernetes or a parent shell would
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and word in lines[0] and "rerun" in lines[0], err
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, f"processes outlived the run: {alive}"
    assert not (out / "_lock").exists()
    result = run_cli(pipeline)
    assert result.returncode == 0, result.stderr
    assert tree_digest(out) == tree_digest(tmp_path / "ref")
    assert not [p for p in out.rglob(".*") if p.is_file()], "temporary files left behind"


def test_workers_exit_when_the_main_process_is_killed(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=10, docs=2500)
    out = tmp_path / "out"
    pipeline = write_pipeline(tmp_path / "p.yaml", tmp_path / "in", out, workers=2)
    proc = _start_and_wait(pipeline, out, markers=1)
    workers = psutil.Process(proc.pid).children(recursive=True)
    assert workers
    os.kill(proc.pid, signal.SIGKILL)  # the main process only: nobody stops the workers
    proc.communicate(timeout=60)
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, f"workers outlived the killed run: {alive}"
    assert run_cli(pipeline).returncode == 0  # the dead run's lock is taken over
