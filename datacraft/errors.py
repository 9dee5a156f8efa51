"""Typed errors. The CLI maps them to exit codes in one place (``datacraft.cli.errors``)."""

from __future__ import annotations


class DatacraftError(Exception):
    """Base class for errors reported to the user without a traceback."""

    exit_code = 1


class ConfigError(DatacraftError):
    """Bad pipeline config, unknown stage or parameter, bad command-line value (exit 2)."""

    exit_code = 2


class InputError(DatacraftError):
    """An input file cannot be read at all, or a bad record under ``on_error: fail`` (exit 1)."""

    exit_code = 1


class LedgerError(DatacraftError):
    """The per-shard document ledger does not balance: a bug, never silently ignored (exit 1)."""

    exit_code = 1


class OutputConflictError(DatacraftError):
    """The output directory holds a different run (exit 2)."""

    exit_code = 2


class ExecutorError(DatacraftError):
    """The execution engine failed (e.g. a Ray worker died more often than retries allow) (exit 1)."""

    exit_code = 1


class OutputLockedError(OutputConflictError):
    """Another live process is writing the same output directory (exit 2)."""

    exit_code = 2


class OutputLockLostError(DatacraftError):
    """Another writer took over the output's lock while this run held it (exit 1: rerun one writer)."""

    exit_code = 1


class QuarantineBudgetError(DatacraftError):
    """More input records were quarantined than ``max_quarantine_fraction`` allows (exit 1)."""

    exit_code = 1

    def __init__(self, message: str, result: object = None) -> None:
        super().__init__(message)
        self.result = result


class StorageError(DatacraftError):
    """A remote store cannot be reached or used: credentials, bucket, permissions (exit 1)."""

    exit_code = 1
