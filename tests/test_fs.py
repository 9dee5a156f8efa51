"""datacraft.io.fs without a server: URL parsing, path resolution for workers, local behaviour unchanged."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from datacraft.errors import ConfigError, InputError
from datacraft.io import fs
from datacraft.io.atomic import atomic_path, tmp_path_for
from datacraft.io.paths import list_shards
from tests.helpers import make_corpus


def test_remote_path_names() -> None:
    p = fs.as_path("s3://bucket//runs/a/")
    assert isinstance(p, fs.RemotePath) and str(p) == "s3://bucket/runs/a"
    child = p / "data" / "part-00000-0000.parquet"
    assert str(child) == "s3://bucket/runs/a/data/part-00000-0000.parquet"
    assert child.name == "part-00000-0000.parquet" and child.suffix == ".parquet"
    assert child.parent.parent == p and p in child.parents and str(child.parents[-1]) == "s3://bucket"
    assert fs.join("s3://bucket/x", "data", "f") == "s3://bucket/x/data/f"
    assert not hasattr(p, "__fspath__")  # os functions refuse it instead of making ./s3:/ folders


def test_local_paths_stay_paths_and_resolve_for_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert fs.as_path("out/x") == Path("out/x") and fs.as_path("file:///tmp/x") == Path("/tmp/x")
    assert fs.resolve("out/x") == str(tmp_path / "out" / "x")
    assert fs.resolve("s3://b/k") == "s3://b/k" and fs.resolve("-") == "-"
    assert fs.protocol("hf://datasets/x") == "hf" and fs.protocol("C:/data") is None


def test_ray_tasks_carry_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ray")
    from datacraft.dedup.phases import GroupTask
    from datacraft.executors.ray import resolve_task_paths
    from datacraft.pipeline.task import ShardTask

    monkeypatch.chdir(tmp_path)
    make_corpus(tmp_path / "in", shards=1, docs=2)
    shard = list_shards(["in"])[0]
    task = resolve_task_paths(ShardTask({}, "fp", shard, "out"))
    assert task.out_dir == str(tmp_path / "out") and task.shard.path == str(tmp_path / "in" / shard.name)
    assert task.shard.name == shard.name  # ids derive from the name: unchanged
    remote = resolve_task_paths(GroupTask(0, (0,), {}, "s3://b/out", "fp"))
    assert remote.out == "s3://b/out"


def test_staging_for_urls_is_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATACRAFT_SCRATCH", str(tmp_path / "scratch"))
    staged = tmp_path_for("s3://bucket/out/data/part-00000-0000.parquet")
    assert isinstance(staged, Path) and staged.is_relative_to(tmp_path / "scratch")
    local = tmp_path_for(tmp_path / "f.json")
    assert local.parent == tmp_path and local.name.startswith(".f.json.tmp-")
    with atomic_path(tmp_path / "a" / "b.txt") as tmp:
        tmp.write_text("x")
    assert (tmp_path / "a" / "b.txt").read_text() == "x"


def test_read_only_protocols_refuse_writes() -> None:
    with pytest.raises(ConfigError, match="read-only"):
        fs.check_access("https://example.org/out", write=True)


def test_unreadable_subdirectory_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_corpus(tmp_path / "in" / "sub", shards=1, docs=2)
    make_corpus(tmp_path / "in", shards=1, docs=2)
    real = os.scandir

    def scandir(path: object = ".") -> object:  # root reads every folder: simulate one it cannot
        if str(path).endswith("sub"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(InputError, match=r"cannot read input directory .*sub"):
        list_shards([str(tmp_path / "in")])
