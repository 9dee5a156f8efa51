"""Pipelines and dedup with s3:// inputs and outputs, against a real S3-compatible server (moto) on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import make_corpus, tree_digest, write_jsonl
from tests.s3_server import S3Server, s3_server  # noqa: F401 - the fixture

REPO = Path(__file__).resolve().parents[1]
BUCKET = "datacraft-test"


def write_pipeline(path: Path, inp: str, out: str, workers: int = 1, **extra: Any) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "name": "s3-test",
                "input": {"paths": [inp]},
                "output": {"path": out, "row_group_rows": 100, "rows_per_file": 700},
                "workers": workers,
                "batch_size": 50,
                "stages": [{"normalize": {}}, {"length": {"min_words": 15}}],
                **extra,
            }
        )
    )
    return path


def datacraft(
    args: list[str], env: dict[str, str], cwd: Path = REPO, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "datacraft", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def s3_digest(
    server: S3Server, prefix: str, subdirs: tuple[str, ...] = ("data", "rejected", "quarantine")
) -> dict[str, str]:
    """sha256 of every object under ``prefix/sub`` keyed by path relative to ``prefix`` (as tree_digest)."""
    store = server.fs()
    out = {}
    for sub in subdirs:
        for key in sorted(store.find(f"{prefix}/{sub}")):
            out[key[len(prefix) + 1 :]] = hashlib.sha256(store.cat_file(key)).hexdigest()
    return out


@pytest.fixture(scope="module")
def corpus(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """A local corpus (with a bad record and a .zst and a plain shard) and the same files in s3://BUCKET/raw/."""
    root = tmp_path_factory.mktemp("corpus") / "raw"
    make_corpus(root, shards=4, docs=300)
    write_jsonl(
        root / "extra.jsonl.zst", [{"id": f"z{i}", "text": f"zst doc {i} " + "word " * (i % 30)} for i in range(80)]
    )
    write_jsonl(
        root / "sub" / "bad.jsonl",
        [],
        raw_lines=[b'{"id": "ok", "text": "fine text here"}', b"{not json", b'{"text": 3}'],
    )
    store = s3_server.fs()
    store.mkdir(BUCKET)
    store.put(str(root) + "/", f"{BUCKET}/raw/", recursive=True)
    return root


def test_run_s3_in_and_out_matches_local(s3_server: S3Server, corpus: Path, tmp_path: Path) -> None:  # noqa: F811
    env = s3_server.client_env()
    local = write_pipeline(tmp_path / "local.yaml", str(corpus), str(tmp_path / "out"))
    remote = write_pipeline(tmp_path / "s3.yaml", f"s3://{BUCKET}/raw/", f"s3://{BUCKET}/runs/a")
    r = datacraft(["run", str(local), "--quiet"], env)
    assert r.returncode == 0, r.stderr
    log_start = s3_server.log.stat().st_size
    r = datacraft(["run", str(remote), "--quiet"], env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    log_lines = s3_server.log.read_bytes()[log_start:].decode(errors="replace").splitlines()
    expected = tree_digest(tmp_path / "out")
    assert len([k for k in expected if k.startswith("data/")]) >= 5 and any(
        k.startswith("quarantine/") for k in expected
    )
    assert s3_digest(s3_server, f"{BUCKET}/runs/a") == expected
    store = s3_server.fs()
    stats = json.loads(store.cat_file(f"{BUCKET}/runs/a/stats.json"))
    local_stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["totals"] == local_stats["totals"]
    assert stats["ledger_balanced"]
    markers = store.find(f"{BUCKET}/runs/a/_done")
    assert len(markers) == 6
    marker = json.loads(store.cat_file(markers[0]))
    assert marker["etag"] and all(store.size(f"{BUCKET}/runs/a/{p}") == n for p, n in marker["outputs"].items())
    # Markers vouch for the same sizes and checksums as the local run's (taken from the staged files).
    for key in markers:
        local_marker = json.loads((tmp_path / "out" / "_done" / key.rsplit("/", 1)[-1]).read_text())
        remote_marker = json.loads(store.cat_file(key))
        assert remote_marker["outputs"] == local_marker["outputs"]
        assert remote_marker["checksums"] == local_marker["checksums"] and remote_marker["checksums"]
    # The run never read back what it wrote: no GET of an output object (the server's request log).
    written = ("data/", "rejected/", "quarantine/")
    reads = [line for line in log_lines if any(f" /{BUCKET}/runs/a/{w}" in line for w in written)]
    assert not [line for line in reads if '"GET ' in line], reads[:5]
    assert [line for line in reads if '"PUT ' in line], "the request log lists no uploads: is it the server's log?"
    r = datacraft(["verify", f"s3://{BUCKET}/runs/a"], env, cwd=tmp_path)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert not (tmp_path / "s3:").exists(), "a local folder named after the URL was created"
    # A rerun skips every shard: the markers vouch for the objects.
    r = datacraft(["run", str(remote), "--dry-run"], env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "0 to run, 6 complete" in r.stdout, r.stdout
    # A lost object is noticed: that shard (only) is redone.
    lost = marker["outputs"] and sorted(marker["outputs"])[0]
    store.rm_file(f"{BUCKET}/runs/a/{lost}")
    r = datacraft(["run", str(remote), "--dry-run"], env, cwd=tmp_path)
    assert "1 to run, 5 complete" in r.stdout, r.stdout
    r = datacraft(["run", str(remote), "--quiet"], env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert s3_digest(s3_server, f"{BUCKET}/runs/a") == expected


def test_report_and_stats_of_an_s3_run(s3_server: S3Server, corpus: Path, tmp_path: Path) -> None:  # noqa: F811
    env = s3_server.client_env()
    remote = write_pipeline(tmp_path / "s3.yaml", f"s3://{BUCKET}/raw/", f"s3://{BUCKET}/runs/rep")
    assert datacraft(["run", str(remote), "--quiet"], env, cwd=tmp_path).returncode == 0
    r = datacraft(["report", f"s3://{BUCKET}/runs/rep"], env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    html = s3_server.fs().cat_file(f"{BUCKET}/runs/rep/report.html").decode()
    assert "<img" in html and "too_few_words" in html
    r = datacraft(["stats", f"s3://{BUCKET}/runs/rep"], env, cwd=tmp_path)
    assert r.returncode == 0 and "kept 912" in r.stdout, (r.stdout, r.stderr)


def test_glob_over_s3(s3_server: S3Server, corpus: Path) -> None:  # noqa: F811
    from datacraft.io.paths import list_shards

    shards = list_shards([f"s3://{BUCKET}/raw/*.jsonl.gz"])
    assert [s.name for s in shards] == [f"shard-{i:02d}.jsonl.gz" for i in range(4)]
    everything = list_shards([f"s3://{BUCKET}/raw"])
    assert [s.name for s in everything] == [s.name for s in list_shards([str(corpus)])]
    assert all(s.path.startswith(f"s3://{BUCKET}/raw/") for s in everything)


def test_dedup_on_s3_matches_local(s3_server: S3Server, corpus: Path, tmp_path: Path) -> None:  # noqa: F811
    env = s3_server.client_env()
    # Duplicates across shards: the same corpus twice.
    r = datacraft(["dedup", str(corpus), str(corpus / "sub"), str(tmp_path / "dd"), "--quiet"], env)
    assert r.returncode == 0, r.stderr
    r = datacraft(
        ["dedup", f"s3://{BUCKET}/raw", f"s3://{BUCKET}/raw/sub", f"s3://{BUCKET}/dd", "--quiet"],
        s3_server.client_env(DATACRAFT_SCRATCH=str(tmp_path / "scratch")),
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    expected = tree_digest(tmp_path / "dd")
    assert any(k.startswith("data/") for k in expected)
    assert s3_digest(s3_server, f"{BUCKET}/dd") == expected
    local = json.loads((tmp_path / "dd" / "stats.json").read_text())["dedup"]
    remote = json.loads(s3_server.fs().cat_file(f"{BUCKET}/dd/stats.json"))["dedup"]
    assert remote["clusters"] == local["clusters"] and remote["removed"] == local["removed"]


def test_kill_then_resume_on_s3_is_identical(s3_server: S3Server, tmp_path: Path) -> None:  # noqa: F811
    staging = tmp_path / "scratch" / "datacraft-scratch" / "staging"
    env = s3_server.client_env(DATACRAFT_SCRATCH=str(tmp_path / "scratch"))
    make_corpus(tmp_path / "in", shards=10, docs=2500)
    store = s3_server.fs()
    store.put(str(tmp_path / "in") + "/", f"{BUCKET}/kill-in/", recursive=True)
    ref = write_pipeline(tmp_path / "ref.yaml", str(tmp_path / "in"), str(tmp_path / "ref"))
    assert datacraft(["run", str(ref), "--quiet"], env).returncode == 0
    pipeline = write_pipeline(tmp_path / "p.yaml", f"s3://{BUCKET}/kill-in", f"s3://{BUCKET}/killed")
    proc = subprocess.Popen(
        [sys.executable, "-m", "datacraft", "run", str(pipeline), "--quiet"], cwd=REPO, env=env, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if (
            len(store.find(f"{BUCKET}/killed/_done", refresh=True) if store.exists(f"{BUCKET}/killed/_done") else [])
            >= 2
            and staging.is_dir()
            and any(staging.iterdir())  # a shard being written: its staged file will be left behind
        ):
            break
        store.invalidate_cache()
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed; make the corpus bigger"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    store.invalidate_cache()
    done = len(store.find(f"{BUCKET}/killed/_done"))
    assert 2 <= done < 10
    left = sorted(p.name for p in staging.iterdir())
    assert left, "the killed run left no staged file"
    r = datacraft(["run", str(pipeline), "--quiet"], env)
    assert r.returncode == 0, r.stderr
    assert s3_digest(s3_server, f"{BUCKET}/killed") == tree_digest(tmp_path / "ref")
    assert not set(left) & {p.name for p in staging.iterdir()}, "the killed run's staged files are still there"


def test_missing_credentials_is_a_clear_error(s3_server: S3Server, corpus: Path, tmp_path: Path) -> None:  # noqa: F811
    env = s3_server.client_env()
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(key)
    pipeline = write_pipeline(tmp_path / "p.yaml", f"s3://{BUCKET}/raw", f"s3://{BUCKET}/nocreds")
    r = datacraft(["run", str(pipeline)], env, cwd=tmp_path)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "credentials" in r.stderr and "AWS_ACCESS_KEY_ID" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) <= 2, r.stderr
    assert not (tmp_path / "s3:").exists()


def test_missing_bucket_is_a_clear_error(s3_server: S3Server, corpus: Path, tmp_path: Path) -> None:  # noqa: F811
    env = s3_server.client_env()
    pipeline = write_pipeline(tmp_path / "p.yaml", f"s3://{BUCKET}/raw", "s3://no-such-bucket/out")
    r = datacraft(["run", str(pipeline)], env, cwd=tmp_path)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "no-such-bucket" in r.stderr and "does not exist" in r.stderr
    assert "Traceback" not in r.stderr
    missing_input = write_pipeline(tmp_path / "q.yaml", f"s3://{BUCKET}/nothing-here/", str(tmp_path / "o"))
    r = datacraft(["run", str(missing_input)], env, cwd=tmp_path)
    assert r.returncode == 1 and "input not found" in r.stderr, r.stderr


@pytest.mark.train
def test_train_reads_and_writes_s3(s3_server: S3Server, tmp_path: Path) -> None:  # noqa: F811
    """`train` on s3:// data into an s3:// model folder, then `evaluate` from it: same as local."""
    pytest.importorskip("tensorflow")
    pytest.importorskip("tokenizers")
    import pyarrow as pa
    import pyarrow.parquet as pq

    from datacraft.io.paths import list_shards
    from datacraft.io.readers import ReadOptions, read_shard

    rows = []
    for doc in read_shard(list_shards([str(REPO / "data/sample/kjv-chapters.jsonl.zst")])[0], ReadOptions()):
        rows.append({"id": doc.id, "text": doc.text[:400]})
        if len(rows) == 30:
            break
    (tmp_path / "lm" / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "lm" / "data" / "part-00000-0000.parquet")
    s3_server.fs().put(str(tmp_path / "lm") + "/", f"{BUCKET}/lm/", recursive=True)
    conf = tmp_path / "lm.yaml"
    conf.write_text(
        yaml.safe_dump(
            {
                "epochs": 1,
                "batch_size": 8,
                "data": {"seq_len": 16, "val_fraction": 0.2, "shuffle_buffer": 64},
                "tokenizer": {"vocab_size": 300, "min_frequency": 1},
                "model": {"embed_dim": 8, "rnn_units": 8, "attention_heads": 1, "attention_dim": 4, "dropout": 0.0},
            }
        )
    )
    # In this process (one TensorFlow import); the fixture pointed the environment at the S3 server.
    from click.testing import CliRunner

    from datacraft.cli import main

    os.environ["DATACRAFT_SCRATCH"] = str(tmp_path / "scratch")
    runner = CliRunner()
    local, remote = str(tmp_path / "model"), f"s3://{BUCKET}/models/lm"
    try:
        for data, out in ((str(tmp_path / "lm"), local), (f"s3://{BUCKET}/lm", remote)):
            r = runner.invoke(main, ["train", data, "-c", str(conf), "-o", out, "-q"])
            assert r.exit_code == 0, r.output
        store = s3_server.fs()
        tokenizer = (tmp_path / "model" / "tokenizer.json").read_bytes()
        assert store.cat_file(f"{BUCKET}/models/lm/tokenizer.json") == tokenizer
        assert store.exists(f"{BUCKET}/models/lm/model.keras")
        metrics = []
        for model in (local, remote):
            r = runner.invoke(main, ["evaluate", model, str(tmp_path / "lm"), "--split", "val", "--json"])
            assert r.exit_code == 0, r.output
            metrics.append(json.loads(r.output))
    finally:
        del os.environ["DATACRAFT_SCRATCH"]
    assert metrics[0]["loss"] == pytest.approx(metrics[1]["loss"], rel=1e-5)
