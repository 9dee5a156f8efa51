"""Local process pool vs Ray on the same corpus and pipeline: throughput, engine overhead, per-task overhead.

Every measurement runs in a fresh interpreter. For Ray, the local Ray start (``ray.init``) and the first
round of worker processes are timed apart from the pipeline run, so the table shows both what a user
waits for once per run and the steady engine overhead. The per-task overhead is the wall time of many
empty tasks beyond the first ten, divided by their number, on warm workers, with the executor's
default bound on tasks in flight (2 × workers) and, for Ray, with 256 in flight.

    python bench/ray_bench.py --docs 100000 --shards 8 --workers 1 2 --tiny-tasks 2000

``--cluster`` instead compares the local pool on local files with a two-node cluster started as a user
would (``ray start --head`` and ``ray start --address`` in two working directories, token authentication
on, each node ``--workers`` CPUs) reading from and writing to an S3 server (moto, on 127.0.0.1; needs the
dev extra). CPU seconds then count the driver and every process of the cluster (raylets, GCS, workers);
the S3 server's CPU is shown apart.

    python bench/ray_bench.py --cluster --docs 100000 --shards 8 --workers 1 --tiny-tasks 500
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_corpus import generate  # noqa: E402

MEASURE = r"""
import json, operator, sys, time
t0 = time.perf_counter()
from datacraft.executors import LocalExecutor, InProcessExecutor
from datacraft.pipeline.config import build_config
from datacraft.pipeline.runner import run_pipeline
kind, workers, src, dst, tiny = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
out = {}
if kind == "ray":
    from datacraft.executors.ray import RayExecutor
    ex = RayExecutor(workers=workers)
    t = time.perf_counter(); ex.connect(); out["start_s"] = time.perf_counter() - t
    t = time.perf_counter(); list(ex.run(operator.neg, list(range(workers)))); out["warmup_s"] = time.perf_counter() - t
else:
    ex = LocalExecutor(workers) if workers > 1 else InProcessExecutor()
    out["start_s"] = out["warmup_s"] = 0.0
cfg = build_config({"input": {"paths": [src]}, "output": {"path": dst}, "workers": workers,
                    "stages": [{"normalize": {}}, {"length": {"min_words": 20}}]})
t = time.perf_counter(); result = run_pipeline(cfg, force=True, executor=ex); out["run_s"] = time.perf_counter() - t
out["docs"] = result.merged["totals"]["docs_in"]
if tiny:  # the difference of N and 10 empty tasks: per-run costs (a pool's start) cancel out
    times = []
    for n in (10, tiny):
        t = time.perf_counter(); assert sum(1 for _ in ex.run(operator.neg, list(range(n)))) == n
        times.append(time.perf_counter() - t)
    out["per_task_ms"] = 1000 * (times[1] - times[0]) / (tiny - 10)
    if kind == "ray":  # the same with a deep queue: what is left is Ray's submit/complete cost
        ex.max_in_flight = 256
        t = time.perf_counter(); assert sum(1 for _ in ex.run(operator.neg, list(range(tiny)))) == tiny
        out["per_task_deep_ms"] = 1000 * (time.perf_counter() - t) / tiny
if kind == "ray":
    ex.close()
out["total_s"] = time.perf_counter() - t0
print("RESULT " + json.dumps(out))
"""


def measure(kind: str, workers: int, src: Path, dst: Path, tiny: int) -> dict[str, float]:
    """One fresh interpreter: start the engine, run the pipeline, then the empty tasks.

    Adds ``cpu_s``: user+system CPU of that process and every process it started and reaped (pool
    workers; a local Ray's daemons and workers), so Ray's own processes count as overhead.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", MEASURE, kind, str(workers), str(src), str(dst), str(tiny)], stdout=out, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        out.seek(0)
        err.seek(0)
        lines = [line for line in out.read().splitlines() if line.startswith("RESULT ")]
        if status != 0 or not lines:
            raise SystemExit(f"{kind} x{workers} failed (status {status}):\n{err.read()[-3000:]}")
    result = json.loads(lines[-1][len("RESULT ") :])
    result["cpu_s"] = usage.ru_utime + usage.ru_stime
    return result


CLUSTER_MEASURE = r"""
import json, operator, os, sys, time
from pathlib import Path
from datacraft.executors.ray import RayExecutor
from datacraft.pipeline.config import build_config
from datacraft.pipeline.runner import run_pipeline
address, src, dst, tiny, tag = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
def cluster_cpu():  # the cluster's processes, read while this driver's workers are still alive
    tick, total = os.sysconf("SC_CLK_TCK"), {}
    for e in Path("/proc").iterdir():
        try:
            if e.name.isdigit() and tag.encode() in (e / "environ").read_bytes().split(b"\0"):
                f = (e / "stat").read_text().rsplit(")", 1)[1].split()
                total[int(e.name)] = (int(f[11]) + int(f[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total
cpu0 = cluster_cpu()
out = {}
ex = RayExecutor(address=address)
t = time.perf_counter(); ex.connect(); out["start_s"] = time.perf_counter() - t
t = time.perf_counter(); list(ex.run(operator.neg, list(range(ex.slots())))); out["warmup_s"] = time.perf_counter() - t
cfg = build_config({"input": {"paths": [src]}, "output": {"path": dst}, "workers": 2,
                    "stages": [{"normalize": {}}, {"length": {"min_words": 20}}]})
t = time.perf_counter(); result = run_pipeline(cfg, force=True, executor=ex); out["run_s"] = time.perf_counter() - t
out["docs"] = result.merged["totals"]["docs_in"]
if tiny:
    times = []
    for n in (10, tiny):
        t = time.perf_counter(); assert sum(1 for _ in ex.run(operator.neg, list(range(n)))) == n
        times.append(time.perf_counter() - t)
    out["per_task_ms"] = 1000 * (times[1] - times[0]) / (tiny - 10)
cpu1 = cluster_cpu()
out["cluster_cpu_s"] = sum(t - cpu0.get(pid, 0.0) for pid, t in cpu1.items())
ex.close()
print("RESULT " + json.dumps(out))
"""


def _tagged_cpu(tag: str) -> dict[int, float]:
    """CPU seconds (user + system) of every live process whose environment carries ``tag``."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if tag.encode() not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            out[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_log(log: Path, text: bytes, timeout: float = 240) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.is_file() and text in log.read_bytes():
            return
        time.sleep(1)
    raise SystemExit(f"timed out waiting for {text!r} in {log}:\n{log.read_text()[-2000:]}")


def cluster_bench(args: argparse.Namespace, src: Path) -> None:
    """Local pool on local files vs a 2-node `ray start` cluster on S3 (moto): wall, CPU, per-task cost."""
    import secrets
    import signal
    import time
    import uuid

    import s3fs

    work = args.workdir / "cluster"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    tag = f"DATACRAFT_BENCH_CLUSTER={uuid.uuid4().hex}"
    s3_tag = f"DATACRAFT_BENCH_S3={uuid.uuid4().hex}"
    port, s3_port = _free_port(), _free_port()
    endpoint = f"http://127.0.0.1:{s3_port}"
    (work / "token").write_text(secrets.token_hex(32))
    (work / "home").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RAY_"))}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        HOME=str(work / "home"),
        RAY_AUTH_TOKEN_PATH=str(work / "token"),
        RAY_USAGE_STATS_ENABLED="0",
    )
    procs = []
    try:
        k, v = s3_tag.split("=")
        moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)],
            env={**env, k: v},
            stdout=open(work / "moto.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        procs.append(moto)
        _wait_log(work / "moto.log", b"Running on")
        store = s3fs.S3FileSystem(key="bench", secret="bench", endpoint_url=endpoint)
        store.mkdir("bench")
        store.put(str(src) + "/", "bench/raw/", recursive=True)
        ray_bin = str(Path(sys.executable).with_name("ray"))
        k, v = tag.split("=")
        node_env = {**env, "RAY_AUTH_MODE": "token", k: v}
        common = ["--num-cpus", str(args.workers[0]), "--object-store-memory", str(200 * 2**20), "--block"]
        for name, extra in (
            ("head", ["--head", "--port", str(port), "--include-dashboard=false"]),
            ("node", ["--address", f"127.0.0.1:{port}"]),
        ):
            (work / name).mkdir()
            procs.append(
                subprocess.Popen(
                    [ray_bin, "start", *extra, *common],
                    cwd=work / name,
                    env=node_env,
                    stdout=open(work / f"{name}.log", "wb"),  # noqa: SIM115
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            _wait_log(work / f"{name}.log", b"Ray runtime started")
        results = {}
        for kind in ("local", "cluster"):  # side by side
            if kind == "local":
                m = measure("local", 2 * args.workers[0], src, work / "out-local", args.tiny_tasks)
            else:
                s3_before = _tagged_cpu(s3_tag)
                with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
                    cmd = [
                        sys.executable,
                        "-c",
                        CLUSTER_MEASURE,
                        f"127.0.0.1:{port}",
                        "s3://bench/raw",
                        "s3://bench/out",
                        str(args.tiny_tasks),
                        tag,
                    ]
                    proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
                    _, status, usage = os.wait4(proc.pid, 0)
                    out.seek(0)
                    err.seek(0)
                    lines = [line for line in out.read().splitlines() if line.startswith("RESULT ")]
                    if status != 0 or not lines:
                        raise SystemExit(f"cluster run failed (status {status}):\n{err.read()[-3000:]}")
                s3_after = _tagged_cpu(s3_tag)
                m = json.loads(lines[-1][len("RESULT ") :])
                m["cpu_s"] = usage.ru_utime + usage.ru_stime + m["cluster_cpu_s"]
                m["s3_cpu_s"] = sum(t - s3_before.get(pid, 0.0) for pid, t in s3_after.items())
            results[kind] = m
    finally:
        for p in procs[::-1]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        time.sleep(3)
        for pid in _tagged_cpu(tag):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    ref = results["local"]
    print(f"corpus: {args.docs:,} docs in {args.shards} shards; pipeline normalize + length")
    print(f"local: process pool of {2 * args.workers[0]} on local files; cluster: 2 nodes × {args.workers[0]} CPU, S3")
    print()
    print(
        "| executor | engine start s | worker warm-up s | pipeline run s | docs/s | run vs local | CPU s, all "
        "processes | CPU vs local | S3 server CPU s | per empty task ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind, m in results.items():
        per_task = f"{m['per_task_ms']:.3f}" if "per_task_ms" in m else "-"
        print(
            f"| {kind} | {m['start_s']:.1f} | {m['warmup_s']:.1f} | {m['run_s']:.2f} | {m['docs'] / m['run_s']:,.0f} | "
            f"{m['run_s'] / ref['run_s']:.2f}× | {m['cpu_s']:.1f} | {m['cpu_s'] / ref['cpu_s']:.2f}× | "
            f"{m.get('s3_cpu_s', 0.0):.1f} | {per_task} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--tiny-tasks", type=int, default=2000, help="empty tasks for the per-task overhead")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each configuration (best is kept)")
    ap.add_argument("--workdir", type=Path, default=HERE / "out" / "ray_bench")
    ap.add_argument("--cluster", action="store_true", help="local pool vs a 2-node `ray start` cluster on S3")
    args = ap.parse_args()
    src = args.workdir / f"corpus-{args.docs}-{args.shards}"
    if not src.exists():
        generate(src, args.docs, -(-args.docs // args.shards), seed=0)
    if args.cluster:
        cluster_bench(args, src)
        return
    best: dict[tuple[str, int], dict[str, float]] = {}
    for _ in range(args.repeat):
        for workers in args.workers:
            for kind in ("local", "ray"):  # side by side, alternated
                m = measure(kind, workers, src, args.workdir / f"out-{kind}-{workers}", args.tiny_tasks)
                prev = best.get((kind, workers))
                best[(kind, workers)] = m if prev is None or m["run_s"] < prev["run_s"] else prev
    print(f"corpus: {args.docs:,} docs in {args.shards} shards; pipeline normalize + length; best of {args.repeat}")
    print()
    print(
        "| executor | workers | engine start s | worker warm-up s | pipeline run s | docs/s | run vs local "
        "| start+run vs local | CPU s, all processes | per empty task ms | same, 256 in flight |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for workers in args.workers:
        for kind in ("local", "ray"):
            m, ref = best[(kind, workers)], best[("local", workers)]
            total = m["start_s"] + m["warmup_s"] + m["run_s"]
            per_task = f"{m['per_task_ms']:.3f}" if "per_task_ms" in m else "-"
            deep = f"{m['per_task_deep_ms']:.3f}" if "per_task_deep_ms" in m else "-"
            print(
                f"| {kind} | {workers} | {m['start_s']:.1f} | {m['warmup_s']:.1f} | {m['run_s']:.2f} | "
                f"{m['docs'] / m['run_s']:,.0f} | {m['run_s'] / ref['run_s']:.2f}× | {total / ref['run_s']:.2f}× | "
                f"{m['cpu_s']:.1f} | {per_task} | {deep} |"
            )


if __name__ == "__main__":
    main()
