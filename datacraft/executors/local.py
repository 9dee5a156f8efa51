"""Local executors: in the calling process, or a pool of worker processes."""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from datacraft import progress as progress_mod
from datacraft.errors import DatacraftError
from datacraft.interrupt import bind_to_parent

T = TypeVar("T")


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
    bind_to_parent(parent)
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


class LocalExecutor:
    """A pool of ``workers`` processes (spawned, so no state leaks from the driver)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def run(self, fn: Callable[[T], Any], tasks: list[T], progress: Any = None) -> Iterator[tuple[T, Any]]:
        if not tasks:
            return
        ctx = mp.get_context("spawn")
        counter = ctx.Value("q", 0)
        if progress is not None:
            progress.watch(counter)
        pool = ProcessPoolExecutor(
            max_workers=min(self.workers, len(tasks)),
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(counter, os.getpid()),
        )
        futures: dict[Future[Any], T] = {}
        order = {id(task): i for i, task in enumerate(tasks)}
        try:
            pending = iter(tasks)
            # Keep a bounded number of tasks in flight so results stream back in order of completion.
            for task in pending:
                futures[pool.submit(fn, task)] = task
                if len(futures) >= 2 * self.workers:
                    break
            while futures:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for fut in sorted(done, key=lambda f: order[id(futures[f])]):
                    task = futures.pop(fut)
                    try:
                        result = fut.result()
                    except BrokenProcessPool:
                        raise DatacraftError(
                            "a worker process died (killed, or out of memory?); rerun the same command to resume"
                        ) from None
                    yield task, result
                    nxt = next(pending, None)
                    if nxt is not None:
                        futures[pool.submit(fn, nxt)] = nxt
        except BaseException as e:
            # Interrupted (SIGINT, SIGTERM) or abandoned: stop the workers rather than wait for their shards.
            # An ordinary error in a task lets the others in flight finish (their shards stay complete).
            if not isinstance(e, Exception):
                _stop_workers(pool)
            raise
        finally:
            for fut in futures:
                fut.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
