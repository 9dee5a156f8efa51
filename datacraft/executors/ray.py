"""The Ray executor: one Ray core task per shard or phase task, on a local Ray or an existing cluster.

Tasks are submitted with ``ray.remote`` and collected with ``ray.wait``, at most ``max_in_flight`` at a
time. Each task requests ``num_cpus`` (and optionally ``memory``). A task whose worker process or node
dies is rerun up to ``max_retries`` times; an exception the task raises (a bad input, a bug) is never
retried, and a :class:`~datacraft.errors.DatacraftError` reaches the caller as itself. Task functions
must be idempotent: shard tasks are (temporary names, renamed when complete, marker last).

The datacraft package of the driver is shipped to the workers (``runtime_env.py_modules``), so a
cluster only needs datacraft's dependencies installed, not datacraft itself. Stages never import Ray.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import datacraft
from datacraft import progress as progress_mod
from datacraft.errors import ConfigError, DatacraftError, ExecutorError

T = TypeVar("T")

#: The package directory shipped to Ray workers.
PACKAGE_DIR = Path(datacraft.__file__).resolve().parent


def import_ray() -> Any:
    """Import Ray, or explain how to install it (ConfigError, exit 2)."""
    try:
        import ray
    except ImportError as e:
        raise ConfigError(
            f"executor 'ray' needs Ray, which is not installed ({e}); "
            "install it with: pip install 'datacraft[ray]'  (or use --executor local)"
        ) from None
    return ray


def _execute(fn: Callable[[Any], Any], task: Any, counter: Any, key: int) -> Any:
    """Body of every Ray task: send document counts to the driver's counter actor, run ``fn(task)``."""
    if counter is not None:
        counter.reset.remote(key)  # a retried attempt starts its count again
        progress_mod.set_sink(lambda n: counter.add.remote(key, n))
    try:
        return fn(task)
    finally:
        progress_mod.set_sink(None)
        if counter is not None:
            import ray

            # Calls from one caller run in order: once this returns, every count of this task is in.
            with contextlib.suppress(Exception):
                ray.get(counter.total.remote(), timeout=10)


def describe_worker(_: Any = None) -> dict[str, Any]:
    """Where a worker runs and what it imports (host, pid, datacraft's location, sys.path), for diagnostics."""
    import socket
    import sys

    return {"host": socket.gethostname(), "pid": os.getpid(), "datacraft": datacraft.__file__, "sys_path": sys.path}


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else ""


class DocCounter:
    """Documents processed per task (an actor): the driver polls the total for the progress bar."""

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}

    def reset(self, key: int) -> None:
        self.counts[key] = 0

    def add(self, key: int, n: int) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def total(self) -> int:
        return sum(self.counts.values())


class CounterView:
    """A ``.value`` over the counter actor, as :meth:`RunProgress.watch` expects; frozen once closed."""

    def __init__(self, ray: Any, actor: Any) -> None:
        self._ray = ray
        self._actor = actor
        self._last = 0
        self._closed = False

    @property
    def value(self) -> int:
        if not self._closed:
            with contextlib.suppress(Exception):  # a slow or lost counter only delays the bar
                self._last = int(self._ray.get(self._actor.total.remote(), timeout=5))
        return self._last

    def close(self) -> None:
        _ = self.value
        self._closed = True


class RayExecutor:
    """Runs tasks as Ray core tasks (see the module docstring).

    ``address`` None starts a private local Ray with ``workers`` CPUs (no dashboard, worker output not
    forwarded) unless ``RAY_ADDRESS`` is set; ``"auto"`` or ``HOST:PORT`` joins an existing cluster, where
    concurrency follows the cluster's CPUs. When this process is already connected to Ray (the caller
    ran ``ray.init``), that connection is used as it is and left open.
    """

    def __init__(
        self,
        workers: int = 1,
        address: str | None = None,
        *,
        num_cpus: float = 1.0,
        memory: int | None = None,
        max_retries: int = 3,
        max_in_flight: int | None = None,
        object_store_memory: int | None = None,
    ) -> None:
        self.ray = import_ray()
        self.workers = max(1, workers)
        self.address = address
        self.num_cpus = num_cpus
        self.memory = int(memory) if memory else None
        self.max_retries = max_retries
        self.max_in_flight = max_in_flight
        self.object_store_memory = int(object_store_memory) if object_store_memory else None
        self._started = False
        self._local = False
        self._remote: Any = None

    # -- connection -------------------------------------------------------------------------------

    def connect(self) -> None:
        """Start or join Ray (once); a no-op when this process is already connected."""
        ray = self.ray
        if ray.is_initialized():
            return
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        runtime_env = {"py_modules": [str(PACKAGE_DIR)], "excludes": ["__pycache__", "*.pyc"]}
        common: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": logging.WARNING,
            "runtime_env": runtime_env,
        }
        # Ray announces its (default, local) token authentication at WARNING level on every start.
        auth_log = logging.getLogger("ray._private.authentication.authentication_token_setup")
        auth_level = auth_log.level
        auth_log.setLevel(logging.ERROR)
        # Like Ray itself, honour RAY_ADDRESS (set e.g. for the entrypoint of `ray job submit`).
        address = self.address or os.environ.get("RAY_ADDRESS") or None
        try:
            if address is None:
                ray.init(address="local", num_cpus=self.workers, object_store_memory=self.object_store_memory, **common)
            else:
                ray.init(address=address, **common)
        except ValueError as e:
            raise ConfigError(f"ray_address {address!r}: {e}") from None
        except ConnectionError as e:
            where = "no running Ray cluster was found" if address == "auto" else f"cannot reach {address}"
            raise ExecutorError(
                f"Ray: {where} ({e}); start one with `ray start --head`, or leave out --ray-address "
                "to start a local Ray. A cluster with token authentication also needs RAY_AUTH_MODE=token "
                "and its token (RAY_AUTH_TOKEN or ~/.ray/auth_token)"
            ) from None
        finally:
            auth_log.setLevel(auth_level)
        from datacraft.log import tame_library_logger

        tame_library_logger("ray")  # Ray installs its own stderr handler: route it through ours (-q silences it)
        self._started = True
        self._local = address is None

    def close(self) -> None:
        """Disconnect from Ray if this executor connected (a local Ray it started stops too)."""
        if self._started:
            self.ray.shutdown()
            self._started = False

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def slots(self) -> int:
        """Tasks that can run at once: local CPUs, or the cluster's CPUs, divided by ``num_cpus``."""
        cpus = float(self.workers)
        if not (self._started and self._local):  # a cluster we joined, or the caller's Ray
            cpus = float(self.ray.cluster_resources().get("CPU", cpus))
        return max(1, int(cpus // self.num_cpus))

    # -- running ----------------------------------------------------------------------------------

    def _task_options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {"num_cpus": self.num_cpus, "max_retries": self.max_retries, "retry_exceptions": False}
        if self.memory:
            opts["memory"] = self.memory
        return opts

    def run(self, fn: Callable[[T], Any], tasks: list[T], progress: Any = None) -> Iterator[tuple[T, Any]]:
        """Run ``fn(task)`` for every task on Ray; yield ``(task, result)`` as each completes."""
        if not tasks:
            return
        ray = self.ray
        self.connect()
        if self._remote is None:
            self._remote = ray.remote(_execute)
        limit = self.max_in_flight or 2 * self.slots()
        counter = view = None
        if progress is not None and getattr(progress, "enabled", True):
            counter = ray.remote(num_cpus=0, max_restarts=-1)(DocCounter).remote()
            view = CounterView(ray, counter)
            progress.watch(view)
        opts = self._task_options()
        name = getattr(fn, "__name__", "task")
        inflight: dict[Any, int] = {}
        next_index = 0

        def submit() -> None:
            nonlocal next_index
            i = next_index
            next_index += 1
            ref = self._remote.options(name=f"datacraft.{name}[{i}]", **opts).remote(fn, tasks[i], counter, i)
            inflight[ref] = i

        try:
            while next_index < len(tasks) and len(inflight) < limit:
                submit()
            while inflight:
                done, _ = ray.wait(list(inflight), num_returns=1)
                for ref in done:
                    i = inflight.pop(ref)
                    result = self._result(ray, ref, name, i)
                    if next_index < len(tasks):
                        submit()
                    yield tasks[i], result
        finally:
            self._cancel(ray, list(inflight))
            if view is not None:
                view.close()
                ray.kill(counter)

    def _result(self, ray: Any, ref: Any, name: str, index: int) -> Any:
        """The value of one finished task; errors raised as they would be by the local executors."""
        exc = ray.exceptions
        try:
            return ray.get(ref)
        except exc.RayTaskError as e:
            cause = getattr(e, "cause", None)
            if not isinstance(cause, Exception):  # the remote exception could not be rebuilt here
                raise
            if not isinstance(cause, DatacraftError):  # a bug or an OS error: keep where it happened
                cause.add_note(f"raised in Ray task {name}[{index}]:\n{e}")
            raise cause from None
        except (exc.WorkerCrashedError, exc.NodeDiedError, exc.LocalRayletDiedError, exc.OutOfMemoryError) as e:
            raise ExecutorError(
                f"Ray task {name}[{index}] failed after {self.max_retries} retries: {type(e).__name__}: "
                f"{_first_line(e)} (finished tasks are kept: rerun to resume; raise ray.max_retries, or set "
                "ray.memory if workers run out of memory)"
            ) from None
        except exc.RayError as e:
            raise ExecutorError(f"Ray task {name}[{index}] failed: {type(e).__name__}: {_first_line(e)}") from None

    @staticmethod
    def _cancel(ray: Any, refs: list[Any]) -> None:
        """Stop queued and running tasks after a failure, and give running ones time to clean up."""
        if not refs:
            return
        for ref in refs:
            with contextlib.suppress(Exception):  # already finished or lost
                ray.cancel(ref)
        with contextlib.suppress(Exception):
            ray.wait(refs, num_returns=len(refs), timeout=30)
