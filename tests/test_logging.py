"""Logging for batch jobs: timestamped lines without carriage returns, JSON lines, -q/-qq, OUT/logs/."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cli_helpers import datacraft, write_pipeline
from helpers import make_corpus

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO|WARNING|ERROR) ")


def _setup(tmp_path: Path, workers: int = 2) -> tuple[Path, Path]:
    make_corpus(tmp_path / "in", shards=3, docs=40)
    out = tmp_path / "out"
    pipe = write_pipeline(
        tmp_path / "p.yaml",
        tmp_path / "in",
        out,
        "  - clean: {}\n  - length: {min_words: 5}\n  - spin: {rounds: 50}",
        workers=workers,
        extra=f"plugins: [{Path(__file__).parent / 'plugins' / 'timing_stages.py'}]\n",
    )
    return pipe, out


def test_non_tty_stderr_has_timestamped_lines_and_no_carriage_returns(tmp_path: Path) -> None:
    pipe, out = _setup(tmp_path)
    r = datacraft("run", str(pipe))
    assert r.returncode == 0, r.stderr
    assert "\r" not in r.stderr
    lines = r.stderr.splitlines()
    progress = [line for line in lines if "datacraft.progress" in line]
    assert progress and all(TIMESTAMP.match(line) for line in progress)
    assert any("shards 3/3" in line for line in progress)
    assert any(line.startswith("ledger      balanced") for line in lines)  # the summary table follows
    driver = (out / "logs" / "driver.log").read_text()
    assert "datacraft.progress" in driver and "ledger      balanced" in driver and "\r" not in driver
    # the plugin stage logged in each worker task: one log file per shard task
    task_logs = sorted(p.name for p in (out / "logs").glob("shard-*.log"))
    assert task_logs == ["shard-00000.log", "shard-00001.log", "shard-00002.log"]
    assert "spin: a batch of" in (out / "logs" / "shard-00001.log").read_text()


def test_log_format_json_lines_parse(tmp_path: Path) -> None:
    pipe, out = _setup(tmp_path)
    r = datacraft("run", str(pipe), "--log-format", "json")
    assert r.returncode == 0, r.stderr
    objs = [json.loads(line) for line in r.stderr.splitlines() if line.strip()]
    assert objs and all({"time", "level", "event", "message"} <= o.keys() for o in objs)
    progress = [o for o in objs if o["event"] == "progress"]
    assert progress and progress[-1]["counters"]["shards_done"] == 3
    assert {"docs", "rate", "shards_total", "eta_s"} <= progress[-1]["counters"].keys()
    summary = [o for o in objs if o["event"] == "summary"]
    assert len(summary) == 1 and summary[0]["counters"]["docs_in"] == 120
    for line in (out / "logs" / "driver.log").read_text().splitlines():
        json.loads(line)


def test_quiet_prints_one_line_and_qq_nothing(tmp_path: Path) -> None:
    pipe, out = _setup(tmp_path)
    r = datacraft("run", str(pipe), "-q")
    assert r.returncode == 0, r.stderr
    assert len(r.stderr.splitlines()) == 1, r.stderr
    assert r.stderr.startswith(f"{out}: in 120 = kept ")
    r = datacraft("run", str(pipe), "-qq", "--force")
    assert r.returncode == 0 and r.stderr == ""
    # the run log is written whatever the verbosity
    assert "ledger      balanced" in (out / "logs" / "driver.log").read_text()
    # -q before the command works too
    r = datacraft("-q", "run", str(pipe))
    assert r.returncode == 0 and len(r.stderr.splitlines()) == 1


def test_quiet_still_shows_errors(tmp_path: Path) -> None:
    r = datacraft("run", str(tmp_path / "missing.yaml"), "-q")
    assert r.returncode == 2 and "missing.yaml" in r.stderr


def test_warnings_go_through_logging_and_q_silences_them(tmp_path: Path) -> None:
    script = (
        "import warnings, logging; from datacraft.log import setup_logging; "
        "setup_logging(verbosity={v}); warnings.warn('noisy library'); "
        "logging.getLogger('absl').info('absl chatter'); logging.getLogger('ray').warning('raylet says hi')"
    )
    import subprocess
    import sys

    loud = subprocess.run([sys.executable, "-c", script.format(v=0)], capture_output=True, text=True)
    assert "noisy library" in loud.stderr and "raylet says hi" in loud.stderr
    assert "absl chatter" not in loud.stderr  # third-party INFO is noise
    quiet = subprocess.run([sys.executable, "-c", script.format(v=1)], capture_output=True, text=True)
    assert quiet.stderr == ""


def test_raw_stderr_of_libraries_follows_verbosity_and_lands_in_task_logs(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=2, docs=10)
    for workers in (1, 2):
        out = tmp_path / f"out{workers}"
        pipe = write_pipeline(
            tmp_path / f"p{workers}.yaml",
            tmp_path / "in",
            out,
            "  - noisy",
            workers=workers,
            extra=f"plugins: [{Path(__file__).parent / 'plugins' / 'timing_stages.py'}]\n",
        )
        loud = datacraft("run", str(pipe))
        assert loud.returncode == 0, loud.stderr
        noisy = [line for line in loud.stderr.splitlines() if "noisy library: 10 documents" in line]
        assert len(noisy) == 2 and all(TIMESTAMP.match(line) for line in noisy), loud.stderr
        assert "noisy library" in (out / "logs" / "shard-00000.log").read_text()
        quiet = datacraft("run", str(pipe), "-q", "--force")
        assert quiet.returncode == 0 and "noisy" not in quiet.stderr
        as_json = datacraft("run", str(pipe), "--log-format", "json", "--force")
        assert [json.loads(line) for line in as_json.stderr.splitlines()]
