"""Local executors: in the calling process, or a pool of worker processes kept for the executor's life.

The pool is made on the first :meth:`LocalExecutor.run` and reused by every later one (the four dedup
phases, the stages and then the dedup of ``datacraft run``), so each worker starts and imports once.
Workers come from a fork server (where the platform has one): a fresh interpreter, started from the
driver like a spawned worker, imports datacraft's task modules once and forks each worker from there,
so no state of the driver leaks into a worker and no worker imports numpy or pyarrow again.

With ``inline=True`` (dedup) the driver is one of the ``workers``: it runs tasks itself between handing
tasks to a pool of ``workers - 1`` processes, so the run has one process less; a run of a single task
starts no pool. A pool of one process is spawned (a fork server would only add a process: there is
nothing to share), and a spawned pool needs no fork server.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from datacraft import progress as progress_mod
from datacraft import timing
from datacraft.errors import DatacraftError
from datacraft.interrupt import bind_to_parent

T = TypeVar("T")

#: Modules the fork server imports once, before forking workers: first the guard that makes it die with
#: the driver, then the task functions' modules.
PRELOAD = (
    "datacraft.executors._fork_guard",
    "datacraft.pipeline.task",
    "datacraft.dedup.phases",
    "datacraft.dedup.filter",
)

#: Input bytes each worker should have: a worker costs ~0.5–1 CPU-s to start (a process and its imports)
#: and saves none (it only overlaps work); at ~10 MB of text per CPU-second, 48 MiB is ≥ 5 CPU-s of work,
#: enough for the overlap to pay. ``DATACRAFT_MIN_BYTES_PER_WORKER`` overrides it (0: always ``workers``).
MIN_BYTES_PER_WORKER = 48 << 20

_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def pool_size(workers: int, input_bytes: int | None) -> int:
    """Workers worth starting for ``input_bytes`` of input: at most ``workers``, one per
    :data:`MIN_BYTES_PER_WORKER` (a small input runs in this process). Unknown size: ``workers``."""
    per_worker = int(os.environ.get("DATACRAFT_MIN_BYTES_PER_WORKER", MIN_BYTES_PER_WORKER))
    if input_bytes is None or per_worker <= 0:
        return workers
    return max(1, min(workers, input_bytes // per_worker))


class InProcessExecutor:
    """Runs tasks one after another in this process (``workers: 1``)."""

    def run(self, fn: Callable[[T], Any], tasks: list[T], progress: Any = None) -> Iterator[tuple[T, Any]]:
        if progress is not None:
            progress_mod.set_sink(progress.update_docs)
        try:
            for task in tasks:
                yield task, fn(task)
        finally:
            progress_mod.set_sink(None)


def _init_worker(counter: Any, parent: int) -> None:
    # A forked worker's parent is the fork server, which exits when the driver does (then PDEATHSIG fires).
    bind_to_parent(parent if parent > 0 else os.getppid())
    progress_mod.set_sink(progress_mod.shared_counter_sink(counter))


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate the pool's worker processes now (interrupted run): their unfinished shards stay incomplete."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(5)
        if p.is_alive():
            p.kill()
            p.join(5)


def _proc_cpu(pid: int, children: bool) -> float:
    """CPU seconds of a live process from ``/proc`` (with ``children``: plus its reaped children); 0 if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / _CLK_TCK


def _use_forkserver() -> bool:
    return "forkserver" in mp.get_all_start_methods() and os.path.isdir("/proc/self")


# The fork server is one per driver process; it is stopped (and reaped, so its CPU is counted) when the
# last open pool closes.
_server_lock = threading.Lock()
_server_users = 0


def _server_pid() -> int | None:
    from multiprocessing import forkserver

    return getattr(forkserver._forkserver, "_forkserver_pid", None)


def _server_cpu() -> float:
    """The fork server's CPU and that of the workers it reaped (it is this process's child, reaped at the end)."""
    pid = _server_pid()
    return _proc_cpu(pid, children=True) if pid else 0.0


def _acquire_server(ctx: Any) -> None:
    global _server_users
    with _server_lock:
        ctx.set_forkserver_preload(list(PRELOAD))
        if _server_users == 0:
            timing.add_live_cpu(_server_cpu)
        _server_users += 1


def _release_server() -> None:
    global _server_users
    with _server_lock:
        _server_users -= 1
        if _server_users == 0:
            from multiprocessing import forkserver

            stop = getattr(forkserver._forkserver, "_stop", None)
            if stop is not None:
                stop()  # closes its pipe and waits for it: its CPU moves to RUSAGE_CHILDREN
            timing.remove_live_cpu(_server_cpu)


class LocalExecutor:
    """A pool of ``workers`` processes, started on the first run and reused until :meth:`close`."""

    def __init__(self, workers: int, inline: bool = False) -> None:
        self.workers = workers
        self.inline = inline and workers > 1
        #: processes of the pool: the driver takes one worker's share of the tasks when ``inline``
        self.processes = workers - 1 if self.inline else workers
        self._pool: ProcessPoolExecutor | None = None
        self._counter: Any = None
        self._forkserver = False

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._forkserver = self.processes > 1 and _use_forkserver()
            if self._forkserver:
                ctx = mp.get_context("forkserver")
                _acquire_server(ctx)
                parent = 0  # the fork server: known in the worker only
            else:
                ctx = mp.get_context("spawn")
                parent = os.getpid()
            self._counter = ctx.Value("q", 0)
            self._pool = ProcessPoolExecutor(
                max_workers=self.processes, mp_context=ctx, initializer=_init_worker, initargs=(self._counter, parent)
            )
            timing.add_live_cpu(self.live_cpu_seconds)
        return self._pool

    def live_cpu_seconds(self) -> float:
        """CPU seconds of this pool's processes not yet reaped by this process (counted by the tree clock)."""
        if self._pool is None:
            return 0.0
        procs = list((getattr(self._pool, "_processes", None) or {}).values())
        return sum(_proc_cpu(p.pid, children=False) for p in procs if p.pid)

    def close(self) -> None:
        """Stop the workers (and the fork server when no other pool uses it); a later run starts a new pool."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            pool.shutdown(wait=True, cancel_futures=True)
        finally:
            self._release(pool)

    def _release(self, pool: ProcessPoolExecutor) -> None:
        # Reaped now (their CPU is in RUSAGE_CHILDREN or the server's): no longer counted as live.
        if self._forkserver:
            self._forkserver = False
            _release_server()
        timing.remove_live_cpu(self.live_cpu_seconds)

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        """Drop a broken or interrupted pool."""
        self._pool = None
        try:
            pool.shutdown(wait=False, cancel_futures=True)
        finally:
            self._release(pool)

    def __del__(self) -> None:  # an executor nobody closed: do not leave its workers behind
        if getattr(self, "_pool", None) is not None:
            # not contextlib.suppress: at interpreter exit module globals may already be None
            try:  # noqa: SIM105
                self.close()
            except Exception:  # a finalizer must not raise
                pass

    def run(self, fn: Callable[[T], Any], tasks: list[T], progress: Any = None) -> Iterator[tuple[T, Any]]:
        if not tasks:
            return
        if self.inline and len(tasks) == 1:  # one task: no process is worth starting for it
            yield from InProcessExecutor().run(fn, tasks, progress)
            return
        pool = self._ensure_pool()
        with self._counter.get_lock():  # no task is in flight between runs
            self._counter.value = 0
        if progress is not None:
            progress.watch(self._counter)
        futures: dict[Future[Any], T] = {}
        order = {id(task): i for i, task in enumerate(tasks)}
        pending = iter(tasks)
        queued = 2 * self.processes  # tasks in flight in the pool: each process has the next one waiting

        def fill() -> None:
            while len(futures) < queued:
                task = next(pending, _END)
                if task is _END:
                    return
                futures[pool.submit(fn, task)] = task

        def collect(done: set[Future[Any]]) -> Iterator[tuple[T, Any]]:
            for fut in sorted(done, key=lambda f: order[id(futures[f])]):
                task = futures.pop(fut)
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    self._discard(pool)
                    raise DatacraftError(
                        "a worker process died (killed, or out of memory?); rerun the same command to resume"
                    ) from None
                yield task, result

        try:
            fill()
            while True:
                yield from collect({f for f in futures if f.done()})
                fill()
                task = next(pending, _END) if self.inline else _END
                if task is not _END:  # the driver's share: run here while the pool works
                    yield from InProcessExecutor().run(fn, [task], progress)
                    continue
                if not futures:
                    break
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                yield from collect(done)
        except BaseException as e:
            # Interrupted (SIGINT, SIGTERM) or abandoned: stop the workers rather than wait for their shards.
            # An ordinary error in a task lets the others in flight finish (their shards stay complete).
            if not isinstance(e, Exception) and self._pool is pool:
                _stop_workers(pool)
                self._discard(pool)
            raise
        finally:
            for fut in futures:
                fut.cancel()
            if self._pool is pool:
                wait(futures)  # the tasks already running finish; the pool stays for the next run


_END: Any = object()
