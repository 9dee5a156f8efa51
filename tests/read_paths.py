"""The two JSONL read paths of a shard task (per line, columnar), for tests comparing them (fixture ``read_paths``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest


@dataclass
class ReadPaths:
    """Runs a test body once per JSONL read path of a shard task, counting what the columnar path took.

    ``tables`` holds the row count of every Arrow table handed to ``ShardRun.run_table`` (only the
    columnar path hands tables over), so a test can check that both kinds of blocks were read.
    """

    monkeypatch: pytest.MonkeyPatch
    tables: list[int]

    def each(self) -> Iterator[bool]:
        """Yield False (per-line reader), then True (columnar reader), with ``task.COLUMNAR`` set to it."""
        import datacraft.pipeline.task as task

        for columnar in (False, True):
            self.monkeypatch.setattr(task, "COLUMNAR", columnar)
            yield columnar

    @property
    def table_rows(self) -> int:
        """Rows the columnar path read as Arrow tables, over every run so far."""
        return sum(self.tables)
