"""Per-task logs: what a task logs, warns or prints goes to ``OUT/logs/<task>.log`` (only if anything).

Raw writes to stderr (warcio writes its warnings there) and, in worker processes, to stdout become
log records, so they follow the driver's verbosity and format: shown at normal verbosity, silenced
by ``-q``, JSON objects with ``--log-format json``, and always kept in the task's log file.
"""

from __future__ import annotations

import contextlib
import io
import logging
import multiprocessing
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from datacraft.log import STATE, JsonFormatter, LoggingWriter, TextFormatter, stderr_level


def task_name(task: Any) -> str:
    """A file-name-safe name for a task: ``shard-00003``, ``signature-00001``, ``group-band-004``…"""
    kind = type(task).__name__.removesuffix("Task").lower() or "task"
    shard = getattr(task, "shard", None)
    if shard is not None and hasattr(shard, "index"):
        return f"{kind}-{shard.index:05d}"
    name = getattr(task, "name", None)
    if isinstance(name, str) and name:
        return name if name.startswith(kind) else f"{kind}-{name}"
    return kind


class _ThreadFilter(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self.thread


@contextlib.contextmanager
def capture_task_output(path: Path | str, verbosity: int = 0, fmt: str = "text") -> Iterator[io.StringIO]:
    """Collect this thread's log records and raw stderr (stdout too in a worker) into ``path`` if any."""
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(TextFormatter())
    handler.setLevel(logging.INFO)
    handler.addFilter(_ThreadFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    in_worker = multiprocessing.parent_process() is not None
    echo: logging.Handler | None = None
    if in_worker and not any(getattr(h, "_datacraft_handler", None) == "stderr" for h in root.handlers):
        echo = logging.StreamHandler(sys.__stderr__)  # the worker's own stderr: the driver's terminal or log
        echo.setLevel(max(stderr_level(verbosity), logging.WARNING))
        echo.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
        echo.addFilter(_ThreadFilter())
        root.addHandler(echo)
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(contextlib.redirect_stderr(LoggingWriter("datacraft.tasks.stderr", logging.WARNING)))
            if in_worker:  # the driver's own stdout may carry data (apply -o -): never redirect it
                stack.enter_context(contextlib.redirect_stdout(LoggingWriter("datacraft.tasks.stdout", logging.INFO)))
            try:
                yield buf
            except BaseException:
                buf.write(f"task failed:\n{traceback.format_exc()}")
                raise
    finally:
        root.removeHandler(handler)
        if echo is not None:
            root.removeHandler(echo)
        root.setLevel(old_level)
        text = buf.getvalue()
        if text:
            text = text if text.endswith("\n") else text + "\n"
            with contextlib.suppress(OSError):
                if "://" in str(path):  # an object store has no append: the task's log is one object
                    from datacraft.io import fs

                    fs.as_path(str(path)).write_text(text)
                else:
                    path = Path(path)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    with open(path, "a", encoding="utf-8") as fh:
                        fh.write(text)


class LoggedTask:
    """Wraps a task function (picklable when the function is) so each task gets its own log file.

    Made in the driver, it carries the driver's verbosity and log format to worker processes, and the
    log folder made absolute (a URL kept as it is): a worker on another node runs in another directory.
    """

    def __init__(self, fn: Callable[[Any], Any], log_dir: Any) -> None:
        from datacraft.io import fs

        self.fn = fn
        self.log_dir = fs.resolve(str(log_dir))
        self.verbosity = STATE.verbosity
        self.fmt = STATE.fmt

    def __call__(self, task: Any) -> Any:
        name = f"{task_name(task)}.log"
        # Path() would fold the "//" of a URL: join URLs as text
        path = f"{self.log_dir.rstrip('/')}/{name}" if "://" in self.log_dir else Path(self.log_dir) / name
        with capture_task_output(path, self.verbosity, self.fmt):
            return self.fn(task)
