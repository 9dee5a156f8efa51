"""The local cache of derived tables: entries of other versions are pruned (automatically when unused for
days, or by ``datacraft cache --prune``), never folders of other naming, nor a live builder's."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from datacraft.cli import main
from datacraft.cli.cache import current_entries
from datacraft.langid import cache as C

DAY = 86400


def _entry(root: Path, name: str, age_days: float, key: str | None = None) -> Path:
    folder = root / f"{name}-{key or os.urandom(16).hex()}"
    folder.mkdir(parents=True)
    np.save(folder / "a.npy", np.zeros(1000, dtype=np.uint8))
    (folder / "meta.json").write_text(json.dumps({"arrays": ["a"], "meta": {}}))
    then = time.time() - age_days * DAY
    os.utime(folder / "meta.json", (then, then))
    return folder


def _leftover(root: Path, name: str, age_seconds: float) -> Path:
    folder = root / f".{name}-{os.urandom(4).hex()}"
    folder.mkdir(parents=True)
    (folder / "a.npy").write_bytes(b"x" * 10)
    then = time.time() - age_seconds
    os.utime(folder, (then, then))
    return folder


def _foreign(root: Path) -> list[Path]:
    """Folders and files that are not ours, even if they look close."""
    root.mkdir(parents=True, exist_ok=True)
    old = time.time() - 100 * DAY
    paths = [root / "notes", root / f"langid-fast-{'0' * 31}", root / "langid-fast-cafe", root / "model.bin"]
    for p in paths[:3]:
        p.mkdir()
        (p / "meta.json").write_text("{}")
        os.utime(p / "meta.json", (old, old))
        os.utime(p, (old, old))
    paths[3].write_bytes(b"weights")
    os.utime(paths[3], (old, old))
    return paths


def test_writing_a_new_entry_prunes_long_unused_ones_of_its_name(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DATACRAFT_CACHE", str(tmp_path))
    stale = _entry(tmp_path, "langid-fast", C.AUTO_PRUNE_DAYS + 1)
    recent = _entry(tmp_path, "langid-fast", C.AUTO_PRUNE_DAYS - 1)
    other_name = _entry(tmp_path, "langid-script", 100)
    dead_builder = _leftover(tmp_path, "langid-fast", C.LEFTOVER_SECONDS + 60)
    live_builder = _leftover(tmp_path, "langid-fast", 5)
    foreign = _foreign(tmp_path)
    C.save_arrays("langid-fast", "ab" * 16, {"x": np.arange(3)}, {"k": 1})
    new = tmp_path / f"langid-fast-{'ab' * 16}"
    assert new.is_dir() and not stale.exists() and not dead_builder.exists()
    assert recent.is_dir() and other_name.is_dir() and live_builder.is_dir()
    assert all(p.exists() for p in foreign)
    assert not [p for p in tmp_path.iterdir() if "trash" in p.name]
    arrays, meta = C.load_arrays("langid-fast", "ab" * 16)  # type: ignore[misc]
    assert arrays["x"].tolist() == [0, 1, 2] and meta == {"k": 1}


def test_reading_an_entry_marks_it_used(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DATACRAFT_CACHE", str(tmp_path))
    folder = _entry(tmp_path, "langid-fast", 30, key="cd" * 16)
    assert C.load_arrays("langid-fast", "cd" * 16) is not None
    assert time.time() - (folder / "meta.json").stat().st_mtime < 60
    C.prune(tmp_path, keep=set(), unused_for=DAY)
    assert folder.is_dir()


def test_cache_command_lists_and_prunes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DATACRAFT_CACHE", str(tmp_path))
    current = sorted(current_entries())
    for name in current:
        prefix, _, key = name.rpartition("-")
        _entry(tmp_path, prefix, 50, key=key)
    week_old = _entry(tmp_path, "langid-fast", 8)
    today = _entry(tmp_path, "langid-fast", 0.1)
    dead_builder = _leftover(tmp_path, "langid-fast", C.LEFTOVER_SECONDS + 60)
    live_builder = _leftover(tmp_path, "langid-script", 5)
    foreign = _foreign(tmp_path)
    runner = CliRunner()
    res = runner.invoke(main, ["cache", "--json"])
    assert res.exit_code == 0, res.output
    listed = json.loads(res.stdout)
    assert {e["folder"] for e in listed["entries"]} == {
        *current,
        week_old.name,
        today.name,
        dead_builder.name,
        live_builder.name,
    }
    assert {e["folder"] for e in listed["entries"] if e["current"]} == set(current)
    res = runner.invoke(main, ["cache", "--prune", "--older-than", "7"])
    assert res.exit_code == 0, res.output
    assert "removed 2 folder(s)" in res.output
    assert not week_old.exists() and not dead_builder.exists() and today.is_dir() and live_builder.is_dir()
    res = runner.invoke(main, ["cache", "--prune"])
    assert res.exit_code == 0 and "removed 1 folder(s)" in res.output, res.output
    assert not today.exists() and live_builder.is_dir()
    assert all((tmp_path / name).is_dir() for name in current)
    assert all(p.exists() for p in foreign)


def test_cache_command_when_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATACRAFT_CACHE", "off")
    res = CliRunner().invoke(main, ["cache", "--prune"])
    assert res.exit_code == 0 and "disabled" in res.output
