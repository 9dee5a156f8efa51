"""Where LoggedTask puts a task's log: a URL stays a URL, a relative folder is made absolute at the driver."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from datacraft.tasklog import LoggedTask


@dataclass
class _Shard:
    index: int


@dataclass
class ShardTask:
    shard: _Shard


def _logs(task: ShardTask) -> int:
    logging.getLogger("datacraft.test").warning("task %d says hello", task.shard.index)
    return task.shard.index


def test_url_log_dir_is_one_object_under_the_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fsspec = pytest.importorskip("fsspec")
    monkeypatch.chdir(tmp_path)
    logged = LoggedTask(_logs, "memory://tasklog-bucket/out/logs")
    assert logged.log_dir == "memory://tasklog-bucket/out/logs"
    assert logged(ShardTask(_Shard(3))) == 3
    store = fsspec.filesystem("memory")
    assert b"task 3 says hello" in store.cat_file("/tasklog-bucket/out/logs/shard-00003.log")
    assert not (tmp_path / "memory:").exists(), "the URL was folded into a local path"


def test_relative_log_dir_is_resolved_where_the_task_is_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    logged = LoggedTask(_logs, Path("out") / "logs")
    assert logged.log_dir == os.path.join(str(tmp_path), "out", "logs")
    elsewhere = tmp_path / "node"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # a worker on another node runs in another directory
    logged(ShardTask(_Shard(1)))
    assert "task 1 says hello" in (tmp_path / "out" / "logs" / "shard-00001.log").read_text()
    assert not (elsewhere / "out").exists()
