"""Per-task logs: what a task logs, warns or prints goes to ``OUT/logs/<task>.log`` (only if anything)."""

from __future__ import annotations

import contextlib
import io
import logging
import multiprocessing
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from datacraft.log import TextFormatter


def task_name(task: Any) -> str:
    """A file-name-safe name for a task: ``shard-00003``, ``signature-00001``, ``group-band-004``…"""
    kind = type(task).__name__.removesuffix("Task").lower() or "task"
    shard = getattr(task, "shard", None)
    if shard is not None and hasattr(shard, "index"):
        return f"{'shard' if kind == 'shard' else kind}-{shard.index:05d}"
    name = getattr(task, "name", None)
    if isinstance(name, str) and name:
        return f"{kind}-{name}" if not name.startswith(kind) else name
    return kind


class _ThreadFilter(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self.thread


@contextlib.contextmanager
def capture_task_output(path: Path) -> Iterator[io.StringIO]:
    """Collect this thread's log records (and, in a worker process, stdout/stderr) into ``path`` if any."""
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
    try:
        with contextlib.ExitStack() as stack:
            if in_worker:  # the driver's own stdout may carry data (apply -o -): never redirect it
                stack.enter_context(contextlib.redirect_stdout(buf))
                stack.enter_context(contextlib.redirect_stderr(buf))
            try:
                yield buf
            except BaseException:
                buf.write(f"task failed:\n{traceback.format_exc()}")
                raise
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        text = buf.getvalue()
        if text:
            with contextlib.suppress(OSError):
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "a", encoding="utf-8") as fh:
                    fh.write(text if text.endswith("\n") else text + "\n")


class LoggedTask:
    """Wraps a task function (picklable when the function is) so each task gets its own log file."""

    def __init__(self, fn: Callable[[Any], Any], log_dir: str | Path) -> None:
        self.fn = fn
        self.log_dir = str(log_dir)

    def __call__(self, task: Any) -> Any:
        with capture_task_output(Path(self.log_dir) / f"{task_name(task)}.log"):
            return self.fn(task)
