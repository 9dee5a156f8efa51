"""A two-node Ray cluster started with `ray start`, as a user would, with data on an S3 server only.

Head and second node run in two different working directories (no shared working directory) with
token authentication on; the driver runs in a third. `run` and `dedup` must give the bytes of a local run.
Both nodes live on this machine, so a local output path resolved at the driver is the same folder for both.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.helpers import make_corpus, tree_digest
from tests.s3_server import S3Server, free_port, start_moto
from tests.test_storage_s3 import s3_digest

pytestmark = [pytest.mark.ray, pytest.mark.slow]
pytest.importorskip("ray")

REPO = Path(__file__).resolve().parents[1]
BUCKET = "cluster-test"
RAY = str(Path(sys.executable).with_name("ray"))
#: `ray job submit` needs the dashboard's job server: Ray's "default" extra (datacraft's `ray-job` extra).
HAS_JOBS = all(importlib.util.find_spec(m) is not None for m in ("aiohttp_cors", "opencensus", "prometheus_client"))


@dataclass
class Cluster:
    address: str
    env: dict[str, str]  # what a driver needs: S3 endpoint and credentials, the cluster's token
    s3: S3Server
    driver_dir: Path
    tag: str  # in the environment of every process `ray start` launched for this cluster
    dashboard: str | None  # the job server's address, when ray[default] is installed


def _own_pids(tag: str) -> list[int]:
    """Processes whose environment carries this test's tag (the ones `ray start` launched for it)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if f"DATACRAFT_TEST_CLUSTER={tag}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
    return pids


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = tmp_path_factory.mktemp("cluster")
    moto, s3 = start_moto(base)
    s3.fs().mkdir(BUCKET)
    tag = uuid.uuid4().hex
    token = base / "token"
    token.write_text(secrets.token_hex(32))
    home = base / "home"
    home.mkdir(exist_ok=True)
    env = s3.client_env(
        HOME=str(home),  # ~/.ray of the person running the tests is left alone
        RAY_AUTH_MODE="token",
        RAY_AUTH_TOKEN_PATH=str(token),
        RAY_USAGE_STATS_ENABLED="0",
        DATACRAFT_TEST_CLUSTER=tag,
        PYTHONPATH="",
    )
    env.pop("RAY_ADDRESS", None)
    env.pop("RAY_AUTH_TOKEN", None)  # conftest's: here the token is the file, found as `ray start` finds it
    port = free_port()
    common = ["--num-cpus", "1", "--object-store-memory", str(100 * 2**20), "--disable-usage-stats", "--block"]
    procs = []
    try:
        head_dir, node_dir = base / "head", base / "node"
        head_dir.mkdir()
        node_dir.mkdir()
        dashboard = ["--include-dashboard=false"]
        job_server = None
        if HAS_JOBS:
            dport = free_port()
            dashboard = ["--include-dashboard=true", "--dashboard-host", "127.0.0.1", "--dashboard-port", str(dport)]
            job_server = f"http://127.0.0.1:{dport}"
        procs.append(
            subprocess.Popen(
                [RAY, "start", "--head", "--port", str(port), *dashboard, *common],
                cwd=head_dir,
                env=env,
                stdout=open(base / "head.log", "wb"),  # noqa: SIM115
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        address = f"127.0.0.1:{port}"
        _wait_for(base / "head.log")
        procs.append(
            subprocess.Popen(
                [RAY, "start", "--address", address, *common],
                cwd=node_dir,
                env={**env, "DATACRAFT_TEST_NODE": "second"},  # so that a test can find this node's processes
                stdout=open(base / "node.log", "wb"),  # noqa: SIM115
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        _wait_for(base / "node.log")
        driver = base / "driver"
        driver.mkdir()
        driver_env = {k: v for k, v in env.items() if k != "DATACRAFT_TEST_CLUSTER"}
        driver_env.pop("RAY_AUTH_MODE")  # datacraft turns token mode on by itself when it finds a token
        yield Cluster(address, driver_env, s3, driver, tag, job_server)
    finally:
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        time.sleep(3)
        for pid in _own_pids(tag):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        moto.terminate()


def _started(log: Path) -> bool:
    """`ray start` prints this once its node has joined the cluster."""
    return log.is_file() and b"Ray runtime started" in log.read_bytes()


def _second_node_workers(tag: str) -> list[int]:
    """The second node's raylet and Ray worker processes (whose command lines name default_worker.py):
    killing them loses the node's running tasks, and the node itself (the test runs late in the module)."""
    pids = []
    for pid in _own_pids(tag):
        with contextlib.suppress(OSError):
            proc = Path(f"/proc/{pid}")
            if (
                b"DATACRAFT_TEST_NODE=second" in (proc / "environ").read_bytes().split(b"\0")
                and b"default_worker" in (proc / "cmdline").read_bytes()
            ):
                pids.append(pid)
    return pids


def _wait_for(log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if _started(log):
            return
        time.sleep(1)
    raise RuntimeError(f"Ray node did not come up: {log.read_text()[-3000:]}")


def datacraft(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "datacraft", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def test_run_and_dedup_on_two_nodes_match_local(cluster: Cluster, tmp_path: Path) -> None:
    env = cluster.env
    make_corpus(tmp_path / "raw", shards=6, docs=400)
    make_corpus(tmp_path / "raw" / "copy", shards=2, docs=400)  # duplicates for dedup
    cluster.s3.fs().put(str(tmp_path / "raw") + "/", f"{BUCKET}/raw/", recursive=True)
    pipeline = {
        "name": "cluster",
        "input": {"paths": ["raw"]},
        "output": {"path": "out-local", "row_group_rows": 100, "rows_per_file": 500},
        "batch_size": 50,
        "stages": [{"normalize": {}}, {"length": {"min_words": 15}}],
    }
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(pipeline))
    r = datacraft(["run", "p.yaml", "--quiet"], env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    expected = tree_digest(tmp_path / "out-local")

    # The YAML and every path relative to the driver's working directory; the nodes run elsewhere.
    drv = cluster.driver_dir
    (drv / "raw").symlink_to(tmp_path / "raw")
    (drv / "p.yaml").write_text(yaml.safe_dump({**pipeline, "output": {**pipeline["output"], "path": "out-ray"}}))
    r = datacraft(["run", "p.yaml", "--ray-address", cluster.address, "--quiet"], env, cwd=drv)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and len(r.stderr.splitlines()) == 1, "--quiet printed more than the final line"
    assert r.stderr.startswith("out-ray: in "), r.stderr
    assert tree_digest(drv / "out-ray") == expected
    manifest = json.loads((drv / "out-ray" / "_run.json").read_text())
    assert manifest["config"]["executor"] == "ray"

    # Data on the S3 server only; RAY_ADDRESS alone selects the cluster.
    r = datacraft(
        ["run", "p.yaml", "-i", f"s3://{BUCKET}/raw", "-o", f"s3://{BUCKET}/out", "--quiet"],
        {**env, "RAY_ADDRESS": cluster.address},
        cwd=drv,
    )
    assert r.returncode == 0, r.stderr
    assert s3_digest(cluster.s3, f"{BUCKET}/out") == expected
    markers = [json.loads(cluster.s3.fs().cat_file(m)) for m in cluster.s3.fs().find(f"{BUCKET}/out/_done")]
    assert len(markers) == 8 and all(m["input"].startswith(f"s3://{BUCKET}/raw/") for m in markers)

    # dedup --ray-address runs on the cluster, from S3 to S3, and matches a local dedup.
    r = datacraft(["dedup", str(tmp_path / "raw"), str(tmp_path / "dd-local"), "--quiet"], env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = datacraft(
        ["dedup", f"s3://{BUCKET}/raw", f"s3://{BUCKET}/dd", "--ray-address", cluster.address, "--quiet"], env, cwd=drv
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(cluster.s3.fs().cat_file(f"{BUCKET}/dd/_run.json"))["config"]["executor"] == "ray"
    assert s3_digest(cluster.s3, f"{BUCKET}/dd") == tree_digest(tmp_path / "dd-local")


def test_infeasible_request_and_task_time_limit_fail_at_once(cluster: Cluster, tmp_path: Path) -> None:
    env = cluster.env
    make_corpus(tmp_path / "raw", shards=2, docs=50)
    pipeline = {"input": {"paths": ["raw"]}, "output": {"path": "out"}, "stages": [{"normalize": {}}]}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(pipeline))
    t0 = time.monotonic()
    r = datacraft(
        ["run", "p.yaml", "--ray-address", cluster.address, "--set", "ray.memory=100GiB", "--quiet"], env, tmp_path
    )
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "ray.memory=100.0GiB" in r.stderr and "largest node" in r.stderr, r.stderr
    assert time.monotonic() - t0 < 120
    code = (
        "import time, sys\n"
        "from datacraft.executors.ray import RayExecutor\n"
        "from datacraft.errors import ExecutorError\n"
        f"ex = RayExecutor(address={cluster.address!r}, task_timeout=2)\n"
        "try:\n"
        "    list(ex.run(time.sleep, [60]))\n"
        "except ExecutorError as e:\n"
        "    print('ERR', e)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert "ERR" in r.stdout and "ray.task_timeout=2" in r.stdout, (r.stdout, r.stderr)


def test_joining_without_the_token_fails_clearly(cluster: Cluster, tmp_path: Path) -> None:
    env = {k: v for k, v in cluster.env.items() if not k.startswith("RAY_AUTH")}
    make_corpus(tmp_path / "raw", shards=1, docs=10)
    pipeline = {"input": {"paths": ["raw"]}, "output": {"path": "out"}, "stages": [{"normalize": {}}]}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(pipeline))
    r = datacraft(["run", "p.yaml", "--ray-address", cluster.address, "--quiet"], env, tmp_path)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "token" in r.stderr.splitlines()[-1] and "Traceback" not in r.stderr, r.stderr


PLUGIN = REPO / "tests" / "plugins" / "timing_stages.py"


def test_task_logs_quiet_and_a_killed_worker_on_two_nodes(cluster: Cluster, tmp_path: Path) -> None:
    """Per-task logs of Ray workers land under OUT/logs/ (on S3 too); -q prints one line; a worker of the
    second node killed mid-run is retried by Ray (or the run fails with one line), and a rerun matches local."""
    env = cluster.env
    make_corpus(tmp_path / "raw", shards=6, docs=200)
    cluster.s3.fs().put(str(tmp_path / "raw") + "/", f"{BUCKET}/logs-raw/", recursive=True)
    pipeline = {
        "name": "cluster-logs",
        "plugins": [str(PLUGIN)],
        "input": {"paths": [str(tmp_path / "raw")]},
        "output": {"path": "out-local", "row_group_rows": 100},
        "batch_size": 25,
        # spin logs one line per batch in the task; nap makes each shard take ~2 s, time to kill a worker
        "stages": [{"normalize": {}}, {"spin": {"rounds": 2}}, {"nap": {"seconds": 0.25}}],
    }
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(pipeline))
    r = datacraft(["run", "p.yaml", "-qq"], env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    expected = tree_digest(tmp_path / "out-local")
    assert expected

    # On S3, through the cluster: one log object per shard task, -q prints only the final line.
    out = f"s3://{BUCKET}/logs-out"
    r = datacraft(
        ["run", "p.yaml", "-i", f"s3://{BUCKET}/logs-raw", "-o", out, "--ray-address", cluster.address, "-q"],
        env,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and len(r.stderr.splitlines()) == 1 and r.stderr.startswith(f"{out}: in "), r.stderr
    assert s3_digest(cluster.s3, f"{BUCKET}/logs-out") == expected
    store = cluster.s3.fs()
    logs = sorted(k.rsplit("/", 1)[1] for k in store.find(f"{BUCKET}/logs-out/logs"))
    assert [n for n in logs if n.startswith("shard-")] == [f"shard-{i:05d}.log" for i in range(6)], logs
    assert b"spin: a batch of" in store.cat_file(f"{BUCKET}/logs-out/logs/shard-00003.log")
    assert not (tmp_path / "s3:").exists(), "a log went to a local folder named after the URL"

    # A local output given relative to the driver: the task logs land in the driver's OUT/logs/, not in
    # the working directory of a node. Mid-run, the second node's worker processes are killed.
    r_kill = subprocess.Popen(
        [sys.executable, "-m", "datacraft", "run", "p.yaml", "-o", "out-ray", "--ray-address", cluster.address, "-q"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed: list[int] = []
    deadline = time.monotonic() + 120
    while r_kill.poll() is None and time.monotonic() < deadline and not killed:
        done = tmp_path / "out-ray" / "_done"
        if done.is_dir() and any(done.iterdir()):  # the first shard is done, the others are running or queued
            for pid in _second_node_workers(cluster.tag):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
        time.sleep(0.2)
    stdout, stderr = r_kill.communicate(timeout=600)
    assert killed, "no worker of the second node was found running"
    if r_kill.returncode != 0:  # retries exhausted: one datacraft line, then the rerun resumes
        assert r_kill.returncode == 1 and "Traceback" not in stderr, stderr
        assert "rerun" in stderr.splitlines()[-1], stderr
        r = datacraft(["run", "p.yaml", "-o", "out-ray", "--ray-address", cluster.address, "-q"], env, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    else:
        assert stdout == "" and len(stderr.splitlines()) == 1, stderr
    assert tree_digest(tmp_path / "out-ray") == expected
    task_logs = sorted(p.name for p in (tmp_path / "out-ray" / "logs").glob("shard-*.log"))
    assert task_logs == [f"shard-{i:05d}.log" for i in range(6)], task_logs
    assert "spin: a batch of" in (tmp_path / "out-ray" / "logs" / "shard-00000.log").read_text()
    for node in ("head", "node"):
        assert not list((cluster.driver_dir.parent / node).rglob("shard-*.log")), f"a task log went to the {node} dir"


@pytest.mark.skipif(not HAS_JOBS, reason="ray job submit needs ray[default]: pip install 'datacraft[ray-job]'")
def test_ray_job_submit_runs_on_the_cluster(cluster: Cluster, tmp_path: Path) -> None:
    """`ray job submit -- datacraft run ...` as docs/ray.md shows it: RAY_ADDRESS alone selects Ray."""
    assert cluster.dashboard is not None
    make_corpus(tmp_path / "raw", shards=3, docs=100)
    cluster.s3.fs().put(str(tmp_path / "raw") + "/", f"{BUCKET}/job-raw/", recursive=True)
    pipeline = {
        "input": {"paths": ["raw"]},
        "output": {"path": "out-local", "row_group_rows": 100},
        "stages": [{"normalize": {}}, {"length": {"min_words": 15}}],
    }
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(pipeline))
    r = datacraft(["run", "p.yaml", "-qq"], cluster.env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    jobdir = tmp_path / "job"
    jobdir.mkdir()
    (jobdir / "p.yaml").write_text(yaml.safe_dump(pipeline))
    out = f"s3://{BUCKET}/job-out"
    r = subprocess.run(
        [RAY, "job", "submit", "--address", cluster.dashboard, "--working-dir", str(jobdir), "--",
         sys.executable, "-m", "datacraft", "run", "p.yaml", "-i", f"s3://{BUCKET}/job-raw", "-o", out, "-q"],
        env={**cluster.env, "RAY_AUTH_MODE": "token"},
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-3000:])
    assert "succeeded" in r.stdout + r.stderr, (r.stdout[-3000:], r.stderr[-3000:])
    assert s3_digest(cluster.s3, f"{BUCKET}/job-out") == tree_digest(tmp_path / "out-local")
    manifest = json.loads(cluster.s3.fs().cat_file(f"{BUCKET}/job-out/_run.json"))
    assert manifest["config"]["executor"] == "ray"


def test_worker_kill_without_retries_fails_then_rerun_matches_local(cluster: Cluster, tmp_path: Path) -> None:
    """With ``ray.max_retries: 0``, killing the second node's workers mid-run (again and again, so a running
    task is hit) ends the run with exit 1 and one line saying to rerun; the rerun completes, byte-identical."""
    env = cluster.env
    make_corpus(tmp_path / "raw", shards=6, docs=200)
    pipeline = {
        "name": "cluster-fail",
        "plugins": [str(PLUGIN)],
        "input": {"paths": [str(tmp_path / "raw")]},
        "output": {"path": "out-local", "row_group_rows": 100},
        "batch_size": 25,
        "stages": [{"normalize": {}}, {"nap": {"seconds": 0.25}}],  # ~2 s per shard: time to kill
        "ray": {"max_retries": 0},
    }
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(pipeline))
    r = datacraft(["run", "p.yaml", "-qq"], env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    expected = tree_digest(tmp_path / "out-local")
    cmd = [sys.executable, "-m", "datacraft", "run", "p.yaml", "-o", "out-ray", "--ray-address", cluster.address, "-q"]
    run = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed: list[int] = []
    deadline = time.monotonic() + 300
    while run.poll() is None and time.monotonic() < deadline:
        done = tmp_path / "out-ray" / "_done"
        if done.is_dir() and any(done.iterdir()):  # from the first finished shard on, until the run ends
            for pid in _second_node_workers(cluster.tag):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
        time.sleep(0.1)
    _, stderr = run.communicate(timeout=600)
    assert killed, "no worker of the second node was found running"
    assert run.returncode == 1, (run.returncode, stderr)
    last = stderr.strip().splitlines()[-1]
    assert "Ray task" in last and "rerun to resume" in last and "Traceback" not in stderr, stderr
    finished = len(list((tmp_path / "out-ray" / "_done").iterdir()))
    assert 1 <= finished < 6, finished
    r = datacraft(["run", "p.yaml", "-o", "out-ray", "--ray-address", cluster.address], env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    # (a task still running on the head when the run stopped may have finished since: count from the summary)
    assert "run, 0 already complete" not in r.stderr and "already complete)" in r.stderr, r.stderr
    assert tree_digest(tmp_path / "out-ray") == expected
