"""The Ray executor on a real local Ray cluster: same bytes as the local pool, survives a killed worker."""

from __future__ import annotations

import operator
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml

from datacraft.errors import ExecutorError, InputError
from datacraft.executors.ray import PACKAGE_DIR, RayExecutor, describe_worker
from datacraft.pipeline.config import PipelineConfig, build_config
from datacraft.pipeline.runner import RunResult, run_pipeline
from datacraft.progress import report_docs
from tests.conftest import REPO, RayCluster
from tests.helpers import make_corpus, tree_digest, write_jsonl

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray


def config(inp: Path, out: Path, **extra: Any) -> PipelineConfig:
    raw: dict[str, Any] = {
        "input": {"paths": [str(inp)]},
        "output": {"path": str(out), "row_group_rows": 50, "rows_per_file": 300},
        "stages": [{"normalize": {}}, {"length": {"min_words": 10}}],
        "batch_size": 100,
    }
    raw.update(extra)
    return build_config(raw)


def on_ray(cluster: RayCluster, **ray_options: Any) -> dict[str, Any]:
    return {"executor": "ray", "ray_address": cluster.address, "workers": 2, "ray": ray_options}


class Recorder:
    """A progress sink as the runner passes it: records the counter the executor asks it to watch."""

    enabled = True
    counter: Any = None

    def watch(self, counter: Any) -> None:
        self.counter = counter


def test_generic_tasks_each_yielded_once_with_progress(ray_cluster: RayCluster) -> None:
    executor = RayExecutor(address=ray_cluster.address, max_in_flight=3)
    tasks = list(range(1, 21))
    progress = Recorder()
    results = dict(executor.run(report_docs, tasks, progress))
    assert sorted(results) == tasks and set(results.values()) == {None}
    assert progress.counter.value == sum(tasks)  # every report_docs(n) reached the driver's counter
    assert dict(executor.run(operator.neg, [3, 1, 2])) == {3: -3, 1: -1, 2: -2}
    assert list(executor.run(operator.neg, [])) == []
    with pytest.raises(ValueError, match="invalid literal for int") as info:  # a bug: its own type, not retried
        list(executor.run(int, ["1", "x"]))
    assert any("raised in Ray task int[1]" in note for note in info.value.__notes__)


def test_package_is_shipped_to_workers(ray_cluster: RayCluster) -> None:
    # runtime_env.py_modules: the driver's datacraft is unpacked under the cluster's session directory and put
    # on the workers' sys.path (on this one machine the driver's own sys.path is there too; other nodes lack it).
    ((_, info),) = RayExecutor(address=ray_cluster.address).run(describe_worker, [None])
    shipped = [Path(p) for p in info["sys_path"] if Path(p).is_relative_to(ray_cluster.temp_dir)]
    copies = [p / "datacraft" / "executors" / "ray.py" for p in shipped if (p / "datacraft").is_dir()]
    assert copies and copies[0].read_bytes() == (PACKAGE_DIR / "executors" / "ray.py").read_bytes()


def test_pipeline_on_ray_is_byte_identical_to_local(ray_cluster: RayCluster, tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=5, docs=120)
    local = run_pipeline(config(tmp_path / "in", tmp_path / "local", workers=2))
    remote = run_pipeline(config(tmp_path / "in", tmp_path / "ray", **on_ray(ray_cluster, max_in_flight=2)))
    digest = tree_digest(tmp_path / "local", ("data", "rejected", "quarantine", "_done"))
    assert tree_digest(tmp_path / "ray", ("data", "rejected", "quarantine", "_done")) == digest
    assert any(k.startswith("rejected/") for k in digest) and remote.ran == 5
    assert remote.merged["totals"] == local.merged["totals"] and remote.merged["ledger_balanced"]
    again = run_pipeline(config(tmp_path / "in", tmp_path / "ray", **on_ray(ray_cluster)))
    assert again.ran == 0 and again.merged["totals"] == local.merged["totals"]


def test_full_minhash_dedup_on_ray_is_byte_identical_to_local(ray_cluster: RayCluster, tmp_path: Path) -> None:
    from datacraft.dedup.config import build_dedup_config
    from datacraft.dedup.runner import run_dedup
    from tests.test_dedup import corpus

    inp, _ = corpus(tmp_path, shards=3, per_shard=25)

    def dedup_config(out: Path, **extra: Any) -> Any:
        raw = {
            "input": {"paths": [str(inp)]},
            "output": {"path": str(out)},
            "workers": 2,
            "dedup": {"mode": "both", "verify": "signature"},
            **extra,
        }
        return build_dedup_config(raw)

    local = run_dedup(dedup_config(tmp_path / "local"))
    remote = run_dedup(dedup_config(tmp_path / "ray", executor="ray", ray_address=ray_cluster.address))
    subdirs = ("data", "rejected", "quarantine")  # dedup markers name their own output directory
    digest = tree_digest(tmp_path / "local", subdirs)
    assert any(k.startswith("rejected/") for k in digest)
    assert tree_digest(tmp_path / "ray", subdirs) == digest
    assert remote.ran == local.ran


def test_user_error_reaches_the_caller_as_itself(ray_cluster: RayCluster, tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=2, docs=10)
    write_jsonl(tmp_path / "in" / "shard-09.jsonl", [], raw_lines=[b'{"id": "a", "text": "ok"}', b"{not json"])
    cfg = config(tmp_path / "in", tmp_path / "o", on_error="fail", **on_ray(ray_cluster))
    with pytest.raises(InputError) as info:
        run_pipeline(cfg)
    assert type(info.value) is InputError  # not Ray's wrapper, and not retried (retry_exceptions=False)
    assert "shard-09.jsonl" in str(info.value) and "Traceback" not in str(info.value)
    assert not (tmp_path / "o" / "_done" / "part-00002.json").exists()


def busy_workers(cluster: RayCluster) -> list[psutil.Process]:
    """Worker processes of the test cluster that are running one of our tasks right now."""
    found = []
    for proc in psutil.Process(cluster.pid).children(recursive=True):
        try:
            title = " ".join(proc.cmdline())
        except psutil.Error:
            continue
        if title.startswith("ray::datacraft."):  # the task names the executor gives
            found.append(proc)
    return found


def run_and_kill_one_worker(cluster: RayCluster, cfg: PipelineConfig) -> tuple[RunResult | BaseException, int]:
    """Run ``cfg`` in a thread; SIGKILL a worker while it runs a shard task; return the outcome and the PID."""
    outcome: list[RunResult | BaseException] = []

    def target() -> None:
        try:
            outcome.append(run_pipeline(cfg))
        except BaseException as e:
            outcome.append(e)

    thread = threading.Thread(target=target)
    thread.start()
    killed = 0
    deadline = time.monotonic() + 180
    while not killed and thread.is_alive() and time.monotonic() < deadline:
        done = list((Path(cfg.output.path) / "_done").glob("*.json"))
        workers = busy_workers(cluster) if done else []  # after one shard: its tasks are mid-run, not starting
        if workers:
            workers[0].kill()
            killed = workers[0].pid
        time.sleep(0.02)
    thread.join(timeout=300)
    titles = {" ".join(p.cmdline())[:80] for p in psutil.Process(cluster.pid).children(recursive=True)}
    assert killed, f"no busy Ray worker was found to kill; make the corpus bigger; {titles}"
    assert not psutil.pid_exists(killed) or psutil.Process(killed).status() == psutil.STATUS_ZOMBIE
    return outcome[0], killed


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    """Shards that take long enough to kill a worker in mid-task, and their output with the local executor."""
    root = tmp_path_factory.mktemp("big")
    make_corpus(root / "in", shards=6, docs=4000)
    reference = run_pipeline(config(root / "in", root / "ref", workers=1))
    return root / "in", root / "ref", reference.merged["totals"]


def test_killed_worker_is_retried_same_bytes_and_ledger(
    ray_cluster: RayCluster, big_corpus: tuple[Path, Path, dict[str, Any]], tmp_path: Path
) -> None:
    inp, ref, totals = big_corpus
    cfg = config(inp, tmp_path / "ray", **on_ray(ray_cluster, max_retries=2))
    result, _ = run_and_kill_one_worker(ray_cluster, cfg)
    assert isinstance(result, RunResult), result
    assert result.merged["ledger_balanced"] and result.merged["totals"] == totals
    assert tree_digest(tmp_path / "ray") == tree_digest(ref)
    assert len(list((tmp_path / "ray" / "_done").glob("*.json"))) == 6
    assert not [p for p in (tmp_path / "ray").rglob(".*") if p.is_file()], "temporary files left behind"


def test_worker_loss_without_retries_fails_clearly_then_resumes(
    ray_cluster: RayCluster, big_corpus: tuple[Path, Path, dict[str, Any]], tmp_path: Path
) -> None:
    inp, ref, totals = big_corpus
    cfg = config(inp, tmp_path / "ray", **on_ray(ray_cluster, max_retries=0))
    result, _ = run_and_kill_one_worker(ray_cluster, cfg)
    assert isinstance(result, ExecutorError), result
    assert "after 0 retries" in str(result) and "rerun to resume" in str(result)
    assert not (tmp_path / "ray" / "stats.json").exists()
    resumed = run_pipeline(config(inp, tmp_path / "ray", **on_ray(ray_cluster)))
    assert 1 <= resumed.ran < 6 and resumed.merged["ledger_balanced"] and resumed.merged["totals"] == totals
    assert tree_digest(tmp_path / "ray") == tree_digest(ref)


@pytest.mark.slow  # starts a second, private Ray (tens of seconds on a busy machine); run by `make test-all`
def test_cli_starts_a_quiet_local_ray(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=3, docs=50)
    run_pipeline(config(tmp_path / "in", tmp_path / "ref"))
    pipeline = tmp_path / "p.yaml"
    raw = {
        "input": {"paths": [str(tmp_path / "in")]},
        "output": {"path": str(tmp_path / "out"), "row_group_rows": 50, "rows_per_file": 300},
        "stages": [{"normalize": {}}, {"length": {"min_words": 10}}],
        "batch_size": 100,
    }
    pipeline.write_text(yaml.safe_dump(raw))
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS" and not k.startswith("RAY_AUTH")}
    env["PYTHONPATH"] = str(REPO)
    env["HOME"] = str(tmp_path / "home")  # a home without ~/.ray: what a first private Ray does to it
    cmd = [sys.executable, "-m", "datacraft", "run", str(pipeline), "--executor", "ray", "--workers", "2", "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    # no Ray start-up chatter with --quiet: only datacraft's final summary line
    assert proc.stdout == "" and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith(f"{tmp_path / 'out'}: in "), proc.stderr
    assert tree_digest(tmp_path / "out") == tree_digest(tmp_path / "ref")
    # No token left behind: a later `ray start --head` on this machine does not switch to token auth.
    assert not (tmp_path / "home" / ".ray" / "auth_token").exists()


@pytest.mark.slow  # a private Ray, a lost GCS and 15 s of grace: about a minute
def test_lost_head_is_one_error_line_with_the_rerun_command(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=12, docs=20000)
    raw = {
        "input": {"paths": ["in"]},
        "output": {"path": "out"},
        "stages": [{"normalize": {}}, {"length": {"min_words": 5}}],
    }
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(raw))
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS" and not k.startswith("RAY_AUTH")}
    env.update(PYTHONPATH=str(REPO), HOME=str(tmp_path / "home"))
    cmd = [sys.executable, "-m", "datacraft", "run", "p.yaml", "--executor", "ray", "--workers", "1", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not list((tmp_path / "out" / "_done").glob("*.json")):
        time.sleep(0.2)
    gcs = [c for c in psutil.Process(proc.pid).children() if "gcs_server" in " ".join(c.cmdline())]
    assert gcs and proc.poll() is None, "no GCS to kill, or the run already ended"
    gcs[0].kill()
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 1, (out, err)
    assert err.count("\n") == 1 and "lost the Ray cluster" in err, err
    assert "rerun: datacraft run p.yaml --executor ray --workers 1 --quiet" in err
    rerun = subprocess.run([*cmd[:5], "--quiet"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    run_pipeline(
        build_config({**raw, "input": {"paths": [str(tmp_path / "in")]}, "output": {"path": str(tmp_path / "ref")}})
    )
    assert tree_digest(tmp_path / "out") == tree_digest(tmp_path / "ref")
