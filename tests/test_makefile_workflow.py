"""The Makefile workflow targets: real file dependencies, so reruns and ``make -j`` do only what is stale.

Runs the repository's Makefile in a scratch directory with a stand-in ``datacraft`` that writes each
step's output file and logs its command line, so the dependency graph is tested, not the steps.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

FAKE_DATACRAFT = r"""#!/bin/sh
echo "$*" >> "$LOG"
case "$1" in
  run) mkdir -p "$4" && echo '{}' > "$4/stats.json" ;;
  dedup) mkdir -p "$3" && echo '{}' > "$3/stats.json" ;;
  train) mkdir -p "$6" ;;
  evaluate) echo '{"loss": 1.0}' ;;
  report) echo '<html></html>' > "$2/report.html" ;;
  *) exit 3 ;;
esac
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "demo.yaml").write_text("name: demo\n")
    (tmp_path / "data" / "sample").mkdir(parents=True)
    (tmp_path / "data" / "sample" / "a.jsonl").write_text("{}\n")
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "train-demo.yaml").write_text("epochs: 1\n")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    fake = venv / "bin" / "datacraft"
    fake.write_text(FAKE_DATACRAFT)
    fake.chmod(0o755)
    (tmp_path / "pyproject.toml").write_text("")
    (venv / "stamp").write_text("")  # installed: newer than pyproject.toml
    _touch_later(venv / "stamp")
    return tmp_path


def make(ws: Path, *targets: str) -> list[str]:
    """Run make; return the datacraft commands it ran, in order."""
    log = ws / "log.txt"
    log.unlink(missing_ok=True)
    env = {**os.environ, "LOG": str(log)}
    subprocess.run(
        ["make", "--no-print-directory", f"VENV={ws / 'venv'}", f"STAMP={ws / 'venv' / 'stamp'}", *targets],
        cwd=ws,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return log.read_text().splitlines() if log.exists() else []


def _touch_later(path: Path, seconds: float = 5) -> None:
    later = time.time() + seconds
    os.utime(path, (later, later))


def test_workflow_runs_each_step_once_in_order(workspace: Path) -> None:
    cmds = make(workspace, "workflow-demo")
    verbs = [c.split()[0] for c in cmds]
    assert sorted(verbs) == sorted(["run", "report", "dedup", "report", "train", "evaluate"])
    assert verbs.index("run") < verbs.index("dedup") < verbs.index("train") < verbs.index("evaluate")
    assert "run pipelines/demo.yaml --output out/demo --quiet" in cmds  # first run: no --force
    assert "dedup out/demo out/demo-dedup" in cmds
    assert "train out/demo-dedup --config configs/train-demo.yaml --out out/demo-model --quiet" in cmds
    assert "evaluate out/demo-model out/demo-dedup --split val --json" in cmds
    assert (workspace / "out" / "demo-eval.json").read_text().strip() == '{"loss": 1.0}'
    assert (workspace / "out" / "demo-model.done").is_file()
    assert make(workspace, "workflow-demo") == []  # nothing is out of date


def test_changed_pipeline_redoes_everything_downstream(workspace: Path) -> None:
    make(workspace, "workflow-demo")
    _touch_later(workspace / "pipelines" / "demo.yaml", 30)
    cmds = make(workspace, "-j4", "workflow-demo")
    assert "run pipelines/demo.yaml --output out/demo --quiet --force" in cmds  # replaces the old output
    assert len(cmds) == 6


def test_changed_train_config_redoes_only_train_and_evaluate(workspace: Path) -> None:
    make(workspace, "workflow-demo")
    _touch_later(workspace / "configs" / "train-demo.yaml", 30)
    assert [c.split()[0] for c in make(workspace, "workflow-demo")] == ["train", "evaluate"]


def test_single_steps(workspace: Path) -> None:
    assert [c.split()[0] for c in make(workspace, "report-demo")] == ["run", "report"]
    assert [c.split()[0] for c in make(workspace, "dedup-demo")] == ["dedup"]
    assert make(workspace, "curate-demo") == []
