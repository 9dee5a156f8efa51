"""One logging setup for every command.

- stderr: on a terminal, plain messages (progress is drawn as bars); otherwise timestamped lines;
  with ``--log-format json`` one JSON object per line (time, level, logger, event, message, counters).
- ``-q`` shows only errors (and the final one-line summary), ``-qq`` nothing at all.
- every run also appends to ``OUT/logs/driver.log`` (see :func:`attach_run_log`), whatever the verbosity.
- third-party loggers (TensorFlow, absl, warcio, Ray, Python warnings) go through the same handlers.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

LOGGER = "datacraft"
LOG_DIR = "logs"
DRIVER_LOG = "driver.log"
FORMATS = ("text", "json")
#: Loggers of libraries we use that talk too much at INFO; they still show warnings (unless -q).
NOISY = (
    "absl",
    "tensorflow",
    "h5py",
    "warcio",
    "ray",
    "urllib3",
    "matplotlib",
    "PIL",
    "py.warnings",
    "numba",
    "botocore",
    "aiobotocore",
    "s3fs",
    "fsspec",
    "gcsfs",
    "huggingface_hub",
    "filelock",
)


@dataclass
class LogState:
    """The current setup (module-global: one per process)."""

    verbosity: int = 0  # 0 normal, 1 = -q, 2 = -qq
    fmt: str = "text"
    configured: bool = False


STATE = LogState()
_HANDLER_ATTR = "_datacraft_handler"


def get_logger(name: str = "") -> logging.Logger:
    """A logger under ``datacraft`` (``get_logger("progress")`` → ``datacraft.progress``)."""
    return logging.getLogger(f"{LOGGER}.{name}" if name else LOGGER)


def utc_iso(created: float) -> str:
    return _dt.datetime.fromtimestamp(created, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _event(record: logging.LogRecord) -> str:
    return str(getattr(record, "event", None) or ("warning" if record.name == "py.warnings" else "log"))


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, event, message and the record's counters."""

    def format(self, record: logging.LogRecord) -> str:
        obj: dict[str, Any] = {
            "time": utc_iso(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": _event(record),
            "message": record.getMessage(),
        }
        counters = getattr(record, "counters", None)
        if counters:
            obj["counters"] = counters
        if record.exc_info:
            obj["exception"] = self.formatException(record.exc_info)
        return json.dumps(obj, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``2026-12-01T16:50:00.123Z INFO datacraft.progress: message`` (one line per record)."""

    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage().replace("\r", "")
        if record.exc_info:
            msg += "\n" + self.formatException(record.exc_info)
        return f"{utc_iso(record.created)} {record.levelname:<7} {record.name}: {msg}"


class TerminalFormatter(logging.Formatter):
    """Plain messages for people at a terminal; warnings and errors say so."""

    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.levelno >= logging.WARNING:
            short = record.name.removeprefix(f"{LOGGER}.") if record.name.startswith(LOGGER) else record.name
            msg = f"{record.levelname.lower()}: {msg}" + (f" [{short}]" if short != LOGGER else "")
        return msg


class LoggingWriter(io.TextIOBase):
    """A file-like object turning each written line into a log record (for libraries that print)."""

    def __init__(self, logger: str, level: int) -> None:
        self.logger = logging.getLogger(logger)
        self.level = level
        self.original = sys.stderr
        self._partial = ""

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            if line.strip():
                self.logger.log(self.level, line.rstrip("\r"))
        return len(text)

    def flush(self) -> None:
        if self._partial.strip():
            self.logger.log(self.level, self._partial)
        self._partial = ""

    def isatty(self) -> bool:
        return False


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it), never into a LoggingWriter."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return real_stderr()  # type: ignore[no-any-return]

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


class _StderrFilter(logging.Filter):
    """Drops records meant for the log file only, and progress lines while bars are drawn."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "file_only", False):
            return False
        return not (getattr(record, "event", None) == "progress" and bars_enabled())


def real_stderr() -> Any:
    """``sys.stderr``, looking through a LoggingWriter that a task put in its place."""
    stream: Any = sys.stderr
    while isinstance(stream, LoggingWriter):
        stream = stream.original
    return stream


def stderr_is_terminal() -> bool:
    """Whether stderr is an interactive terminal."""
    try:
        return bool(real_stderr().isatty())
    except (AttributeError, ValueError):
        return False


def bars_enabled() -> bool:
    """Progress bars only on a terminal, at normal verbosity, in text format."""
    return STATE.verbosity == 0 and STATE.fmt == "text" and stderr_is_terminal()


def stderr_level(verbosity: int) -> int:
    """Level of the stderr handler: INFO normally, ERROR with -q, nothing with -qq."""
    return logging.INFO if verbosity <= 0 else logging.ERROR if verbosity == 1 else logging.CRITICAL + 10


def _formatter(fmt: str, terminal: bool) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter()
    return TerminalFormatter() if terminal else TextFormatter()


def _our_handlers(root: logging.Logger, kind: str) -> list[logging.Handler]:
    return [h for h in root.handlers if getattr(h, _HANDLER_ATTR, None) == kind]


def setup_logging(verbosity: int | None = None, fmt: str | None = None) -> None:
    """(Re)configure logging for this process; arguments left None keep their current value."""
    if verbosity is not None:
        STATE.verbosity = max(0, verbosity)
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValueError(f"log format must be one of {FORMATS}, got {fmt!r}")
        STATE.fmt = fmt
    STATE.configured = True
    root = logging.getLogger()
    for h in _our_handlers(root, "stderr"):
        root.removeHandler(h)
    handler = StderrHandler()
    setattr(handler, _HANDLER_ATTR, "stderr")
    handler.setLevel(stderr_level(STATE.verbosity))
    handler.setFormatter(_formatter(STATE.fmt, stderr_is_terminal()))
    handler.addFilter(_StderrFilter())
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    quiet_native_libraries(STATE.verbosity)


def quiet_native_libraries(verbosity: int) -> None:
    """Environment for libraries that log from C++ (TensorFlow, absl), inherited by worker processes."""
    level = "2" if verbosity <= 0 else "3"
    if os.environ.get("_DATACRAFT_SET_TF_LOG") or "TF_CPP_MIN_LOG_LEVEL" not in os.environ:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = level
        os.environ["_DATACRAFT_SET_TF_LOG"] = "1"
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    os.environ.setdefault("GLOG_minloglevel", "2")


def tame_library_logger(name: str) -> None:
    """Make a library logger that installed its own stderr handler (Ray does) go through ours."""
    lib = logging.getLogger(name)
    for h in list(lib.handlers):
        lib.removeHandler(h)
    lib.propagate = True
    lib.setLevel(logging.WARNING)


def attach_run_log(out_dir: str | Path, name: str = DRIVER_LOG) -> Path | None:
    """Append this process's log records to ``OUT/logs/<name>`` from now on (replacing an earlier run log)."""
    root = logging.getLogger()
    detach_run_log()
    if "://" in str(out_dir):
        return None  # an object-store output: per-task logs are uploaded whole (tasklog); no driver file
    log_dir = Path(out_dir) / LOG_DIR
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_dir / name, encoding="utf-8")
    except OSError:
        return None  # a read-only or remote output: the run itself reports what matters
    setattr(handler, _HANDLER_ATTR, "file")
    handler.setLevel(logging.INFO)
    handler.setFormatter(JsonFormatter() if STATE.fmt == "json" else TextFormatter())
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return log_dir / name


def detach_run_log() -> None:
    """Close the current run log, if any."""
    root = logging.getLogger()
    for h in _our_handlers(root, "file"):
        root.removeHandler(h)
        h.close()


def log_event(logger: logging.Logger, event: str, message: str, level: int = logging.INFO, **counters: Any) -> None:
    """Log ``message`` as ``event`` with structured ``counters`` (JSON lines carry them as fields)."""
    logger.log(level, message, extra={"event": event, "counters": counters})
