"""Dedup's work files in a local folder while the output is on S3 (moto on 127.0.0.1): same bytes, exact resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import make_corpus, tree_digest
from tests.s3_server import S3Server, s3_server  # noqa: F401 - the fixture
from tests.test_storage_s3 import datacraft, s3_digest

BUCKET = "datacraft-workdir"


@pytest.fixture(scope="module")
def dup_corpus(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """Three shards holding duplicates across shards, locally and in s3://BUCKET/raw/."""
    root = tmp_path_factory.mktemp("dups") / "raw"
    make_corpus(root, shards=3, docs=200)
    make_corpus(root / "again", shards=2, docs=200)  # the same documents as shards 0-1: exact duplicates
    store = s3_server.fs()
    store.mkdir(BUCKET)
    store.put(str(root) + "/", f"{BUCKET}/raw/", recursive=True)
    return root


def _only_subfolder(work: Path) -> Path:
    subs = [p for p in work.iterdir() if p.is_dir()]
    assert len(subs) == 1, subs
    return subs[0] / "_dedup"


def _marker_times(root: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (root / "_done").iterdir()}


@pytest.mark.slow  # six dedup runs (~2 min on the loaded 2-core machine)
def test_s3_dedup_with_local_work_dir(s3_server: S3Server, dup_corpus: Path, tmp_path: Path) -> None:  # noqa: F811
    env = s3_server.client_env(DATACRAFT_SCRATCH=str(tmp_path / "scratch"))
    r = datacraft(["dedup", str(dup_corpus), str(tmp_path / "ref"), "--quiet"], env)
    assert r.returncode == 0, r.stderr
    expected = tree_digest(tmp_path / "ref")
    assert any(k.startswith("rejected/") for k in expected), "the corpus must hold duplicates"

    src, work = f"s3://{BUCKET}/raw", tmp_path / "work"
    r = datacraft(["dedup", src, f"s3://{BUCKET}/dd", "--work-dir", str(work), "--quiet"], env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert s3_digest(s3_server, f"{BUCKET}/dd") == expected
    store = s3_server.fs()
    assert not [k for k in store.find(f"{BUCKET}/dd") if "/_dedup/" in k], "work files went to the store"
    root = _only_subfolder(work)
    local_files = [p for p in root.rglob("*") if p.is_file()]
    assert len(local_files) > 20, "the phase files (OUT/_dedup objects by default) are not in the work folder"
    owner = json.loads((root / "_work.json").read_text())
    manifest = json.loads(store.cat_file(f"{BUCKET}/dd/_run.json"))
    assert owner == {
        "output": f"s3://{BUCKET}/dd",
        "fingerprint": manifest["fingerprint"],
        "input_fingerprint": manifest["input_fingerprint"],
    }
    assert (root / "sig").is_dir() and (root / "clusters" / "summary.json").is_file()

    # The same work folder: every phase task is skipped (its markers are untouched), output unchanged.
    before = _marker_times(root)
    r = datacraft(["dedup", src, f"s3://{BUCKET}/dd", "--work-dir", str(work)], env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert _marker_times(root) == before
    assert "(0 run, 5 already complete)" in r.stderr, r.stderr

    # Work files that belong to another run are never trusted: a corrupted decisions file and a marker
    # set of another fingerprint are deleted and redone (set through the environment variable this time).
    (root / "_work.json").write_text(json.dumps({**owner, "fingerprint": "another-run"}))
    for f in (root / "clusters").glob("part-*.parquet"):
        f.write_bytes(b"not parquet")
    (root / "stale.bin").write_bytes(b"x")
    store.rm(f"{BUCKET}/dd/_done", recursive=True)  # the shards must be filtered again, from the new files
    env_var = {**env, "DATACRAFT_DEDUP_WORK_DIR": str(work)}
    r = datacraft(["dedup", src, f"s3://{BUCKET}/dd", "--quiet"], env_var, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert not (root / "stale.bin").exists()
    assert json.loads((root / "_work.json").read_text()) == owner
    assert all(t > before[name] for name, t in _marker_times(root).items())
    assert s3_digest(s3_server, f"{BUCKET}/dd") == expected

    # A different (empty) work folder: the phases run again there; the output stays identical.
    other = tmp_path / "other-work"
    r = datacraft(["dedup", src, f"s3://{BUCKET}/dd", "--work-dir", str(other), "--quiet"], env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (_only_subfolder(other) / "_done").is_dir()
    assert s3_digest(s3_server, f"{BUCKET}/dd") == expected
    r = datacraft(["verify", f"s3://{BUCKET}/dd"], env, cwd=tmp_path)
    assert r.returncode == 0, (r.stdout, r.stderr)


def test_work_dir_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--work-dir, dedup.work_dir (pipeline and dedup YAML) and the environment variable; not in fingerprints."""
    from datacraft.dedup.config import build_dedup_config, dedup_from_pipeline
    from datacraft.dedup.layout import WORK_DIR_ENV, work_base, work_dir_setting
    from datacraft.pipeline.config import PipelineConfig

    raw = {"input": {"paths": ["in"]}, "output": {"path": "out"}}
    plain = build_dedup_config(raw)
    moved = build_dedup_config({**raw, "dedup": {"work_dir": "w", "threshold": 0.8}})
    assert moved.work_dir == "w" and moved.dedup.threshold == 0.8
    assert build_dedup_config({**raw, "dedup": {"threshold": 0.8}}).fingerprint() == moved.fingerprint()
    assert plain.fingerprint() != moved.fingerprint()  # (the threshold)
    pipe = PipelineConfig(
        name="p", input={"paths": ["in"]}, output={"path": "o"}, stages=[], dedup={"work_dir": "/scratch"}
    )
    assert dedup_from_pipeline(pipe).work_dir == "/scratch"
    monkeypatch.delenv(WORK_DIR_ENV, raising=False)
    assert work_dir_setting(None) is None and work_base("out", None) == str(Path("out").absolute())
    monkeypatch.setenv(WORK_DIR_ENV, str(tmp_path))
    assert work_dir_setting(None) == str(tmp_path) and work_dir_setting("x") == str(Path("x").absolute())
    a, b = work_base("s3://b/x/out", str(tmp_path)), work_base("s3://b/y/out", str(tmp_path))
    assert a != b and a.startswith(f"{tmp_path}/out-") and b.startswith(f"{tmp_path}/out-")
