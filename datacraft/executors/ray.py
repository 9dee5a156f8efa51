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
import dataclasses
import logging
import os
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import datacraft
from datacraft import progress as progress_mod
from datacraft.errors import ConfigError, DatacraftError, ExecutorError
from datacraft.io import fs

T = TypeVar("T")

#: Seconds without an answer from the head's GCS after which a run stops (Ray itself gives up after 60 s).
GCS_GRACE_S = 15.0

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


#: Fields of task records that name a path (``out``, ``out_dir``) or hold a shard whose ``path`` is one.
_PATH_FIELDS = ("out", "out_dir")


def resolve_task_paths(task: T) -> T:
    """The task with its relative paths made absolute (URLs kept), as the driver sees them.

    A worker on another node runs in another working directory: a relative path would name
    another file there (or none).
    """
    if not dataclasses.is_dataclass(task) or isinstance(task, type):
        return task
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(task):
        value = getattr(task, f.name)
        if f.name in _PATH_FIELDS and isinstance(value, str):
            changes[f.name] = fs.resolve(value)
        elif f.name == "shard" and dataclasses.is_dataclass(value) and isinstance(getattr(value, "path", None), str):
            changes[f.name] = dataclasses.replace(value, path=fs.resolve(value.path))  # type: ignore[type-var]
    return dataclasses.replace(task, **changes) if changes else task  # type: ignore[type-var]


def _log_stdstream(data: dict[str, Any], ignore_prefix: bool = False) -> None:
    """Ray's messages for the driver (``(raylet) Raylet is terminated…``) as log records, not raw prints."""
    log = logging.getLogger("ray.cluster")
    for line in data.get("lines", []):
        log.warning("(%s) %s", data.get("pid", "ray"), str(line).rstrip())


def _route_cluster_errors() -> None:
    """Ray's driver prints cluster errors (a node's raylet died, …) to stdout even with ``log_to_driver``
    off; send them through logging instead, so ``-q`` silences them and the run log keeps them."""
    with contextlib.suppress(Exception):  # a private hook of Ray: without it, Ray prints as it always did
        from ray._private import worker as ray_worker

        if callable(getattr(ray_worker, "print_to_stdstream", None)):
            ray_worker.print_to_stdstream = _log_stdstream


def _exit_now(code: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def rerun_hint() -> str:
    """The command line that started this process, to rerun after a failure."""
    argv = list(sys.argv)
    if argv and argv[0].endswith(("datacraft", "__main__.py")):
        argv[0] = "datacraft"
    return shlex.join(argv)


_AUTH_VARS = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")


def ray_token_available() -> bool:
    """Whether Ray would find an authentication token: RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return True
    path = os.environ.get("RAY_AUTH_TOKEN_PATH") or str(Path.home() / ".ray" / "auth_token")
    return os.path.isfile(path)


def auth_env(joining: bool) -> dict[str, str]:
    """Environment for ``ray.init`` so token authentication works without side effects.

    Joining a cluster: Ray sends its token only with ``RAY_AUTH_MODE=token``, which it does not set
    for an explicit address; when a token is available (as ``ray start`` uses it), use it.
    A private local Ray: Ray would generate ``~/.ray/auth_token``, and every later ``ray start --head``
    on this machine would then require tokens. A token held in this process's environment instead
    keeps the private cluster authenticated and leaves ``~/.ray`` alone.
    """
    if os.environ.get("RAY_AUTH_MODE"):
        return {}
    if joining:
        return {"RAY_AUTH_MODE": "token"} if ray_token_available() else {}
    if ray_token_available():
        return {}  # Ray uses the existing token, writes nothing
    import secrets

    return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}


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
        task_timeout: float | None = None,
    ) -> None:
        self.ray = import_ray()
        self.task_timeout = task_timeout
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
        self._saved_env: dict[str, str | None] = {}
        self._gcs_lost_since: float | None = None
        self._lost = False  # the cluster is gone: do not wait for Ray to shut down

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
        auth = auth_env(joining=address is not None)
        for key, value in auth.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        if auth:
            with contextlib.suppress(Exception):  # Ray caches its config: make it read the variables again
                from ray._raylet import Config

                Config.initialize("")
        try:
            if address is None:
                ray.init(address="local", num_cpus=self.workers, object_store_memory=self.object_store_memory, **common)
            else:
                ray.init(address=address, **common)
        except ValueError as e:
            raise ConfigError(f"ray_address {address!r}: {e}") from None
        except ConnectionError as e:
            where = "no running Ray cluster was found" if address == "auto" else f"cannot reach {address}"
            self._restore_env()
            raise ExecutorError(
                f"Ray: {where} ({_first_line(e)}); start one with `ray start --head`, or leave out --ray-address "
                "to start a local Ray. A cluster with token authentication needs its token here: RAY_AUTH_TOKEN, "
                "RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token (see `ray get-auth-token`)"
            ) from None
        except Exception as e:
            self._restore_env()
            if type(e).__name__ == "AuthenticationError":
                raise ExecutorError(
                    f"Ray: the cluster at {address} requires token authentication ({_first_line(e)}); give datacraft "
                    "its token: RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token (see `ray get-auth-token`)"
                ) from None
            raise
        finally:
            auth_log.setLevel(auth_level)
        from datacraft.log import tame_library_logger

        tame_library_logger("ray")  # Ray installs its own stderr handler: route it through ours (-q silences it)
        _route_cluster_errors()
        self._started = True
        self._local = address is None

    def close(self) -> None:
        """Disconnect from Ray if this executor connected (a local Ray it started stops too)."""
        if self._started and self._lost:  # Ray's shutdown would wait for the lost GCS, then abort loudly
            import atexit

            atexit.unregister(self.ray.shutdown)
            # Ray's threads crash the interpreter's exit without their GCS: leave at once, after the message.
            atexit.register(_exit_now, ExecutorError.exit_code)
            self._started = False
        if self._started:
            self.ray.shutdown()
            self._started = False
        self._restore_env()

    def _restore_env(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

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
        self._check_feasible(opts)
        name = getattr(fn, "__name__", "task")
        inflight: dict[Any, int] = {}
        started: dict[Any, float] = {}
        next_index = 0
        sent = [resolve_task_paths(t) for t in tasks]

        def submit() -> None:
            nonlocal next_index
            i = next_index
            next_index += 1
            ref = self._remote.options(name=f"datacraft.{name}[{i}]", **opts).remote(fn, sent[i], counter, i)
            inflight[ref] = i
            started[ref] = time.monotonic()

        try:
            with self._cluster_loss(name):
                while next_index < len(tasks) and len(inflight) < limit:
                    submit()
                while inflight:
                    done, _ = ray.wait(list(inflight), num_returns=1, timeout=1.0 if self.task_timeout else 5.0)
                    if not done:
                        self._check_timeouts(inflight, started, name)
                        self._check_gcs(name)
                    for ref in done:
                        i = inflight.pop(ref)
                        started.pop(ref, None)
                        result = self._result(ray, ref, name, i)
                        if next_index < len(tasks):
                            submit()
                        yield tasks[i], result
        finally:
            with contextlib.suppress(Exception):
                self._cancel(ray, list(inflight))
            if view is not None:
                view.close()
                with contextlib.suppress(Exception):
                    ray.kill(counter)

    def _check_timeouts(self, inflight: dict[Any, int], started: dict[Any, float], name: str) -> None:
        """Fail the run when a task has run longer than ``task_timeout`` (queued time counts, too)."""
        if not self.task_timeout:
            return
        now = time.monotonic()
        for ref, t0 in started.items():
            if now - t0 > self.task_timeout:
                with contextlib.suppress(Exception):
                    self.ray.cancel(ref, force=True)
                raise ExecutorError(
                    f"Ray task {name}[{inflight[ref]}] ran longer than ray.task_timeout={self.task_timeout:g} s "
                    "and was cancelled (finished tasks are kept: raise ray.task_timeout, or split the input into "
                    f"smaller shards, then rerun: {rerun_hint()})"
                )

    def _check_gcs(self, name: str) -> None:
        """Fail with one line when the head's GCS has not answered for ``GCS_GRACE_S`` (before Ray aborts)."""
        import socket

        try:
            host, port = self.ray.get_runtime_context().gcs_address.rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=2):
                self._gcs_lost_since = None
                return
        except OSError:
            pass
        except Exception:  # no address to check: leave it to Ray
            return
        now = time.monotonic()
        if self._gcs_lost_since is None:
            self._gcs_lost_since = now
        elif now - self._gcs_lost_since > GCS_GRACE_S:
            self._lost = True
            raise ExecutorError(
                f"lost the Ray cluster while running {name} tasks (its head node / GCS has not answered for "
                f"{GCS_GRACE_S:g} s); finished tasks are kept: once the cluster is back, rerun: {rerun_hint()}"
            )

    def _check_feasible(self, opts: dict[str, Any]) -> None:
        """Fail at once when no node of the cluster could ever run a task with these resources."""
        try:
            nodes = [n for n in self.ray.nodes() if n.get("Alive")]
        except Exception:  # the check is advisory: Ray itself reports what it cannot schedule
            return
        if not nodes:
            return
        best_cpu = max(float(n.get("Resources", {}).get("CPU", 0.0)) for n in nodes)
        best_mem = max(float(n.get("Resources", {}).get("memory", 0.0)) for n in nodes)
        want_mem = float(opts.get("memory") or 0)
        problems = []
        if opts["num_cpus"] > best_cpu:
            problems.append(f"ray.num_cpus={opts['num_cpus']:g} but the largest node has {best_cpu:g} CPUs")
        if want_mem > best_mem:
            problems.append(
                f"ray.memory={want_mem / 2**30:.1f}GiB but the largest node offers {best_mem / 2**30:.1f}GiB to tasks"
            )
        if problems:
            raise ConfigError(
                "no node of the Ray cluster can run a task: " + "; ".join(problems) + " (lower the request with "
                "--set ray.num_cpus=… / --set ray.memory=…, or add a larger node)"
            )

    @contextlib.contextmanager
    def _cluster_loss(self, name: str) -> Iterator[None]:
        """Turn a lost head node / GCS into one datacraft error line with the command to rerun."""
        try:
            yield
        except DatacraftError:
            raise
        except Exception as e:
            exc = self.ray.exceptions
            lost = (exc.RaySystemError, exc.GetTimeoutError, ConnectionError)
            lost_names = ("RpcError", "GcsUnavailable", "RaySystemError", "ConnectionError")
            if isinstance(e, lost) or any(n in type(e).__name__ for n in lost_names):
                raise ExecutorError(
                    f"lost the Ray cluster while running {name} tasks ({type(e).__name__}: {_first_line(e)}); "
                    f"finished tasks are kept: once the cluster is back, rerun: {rerun_hint()}"
                ) from None
            raise

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
            raise ExecutorError(
                f"Ray task {name}[{index}] failed: {type(e).__name__}: {_first_line(e)} "
                "(finished tasks are kept: rerun to resume)"
            ) from None

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
