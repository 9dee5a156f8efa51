"""Stage base classes: mappers change documents, filters decide keep/drop with a reason.

Stages hold configuration only. Everything a run counts lives in the :class:`StageContext`
of the shard task, so one stage instance can serve any number of workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator

from datacraft.document import Document
from datacraft.stages.when import compile_condition


class StageParams(BaseModel):
    """Base for a stage's typed, documented parameters (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    when: dict[str, Any] | None = Field(
        None,
        description="run only on documents whose metadata match, e.g. {lang: en} or {not: {source: kjv}}; "
        "the others pass through unchanged (see docs/quality.md)",
    )

    @field_validator("when")
    @classmethod
    def _check_when(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            compile_condition(value)
        return value


class FilterParams(StageParams):
    """Parameters every filter has."""

    mode: Literal["filter", "annotate"] = Field(
        "filter", description="filter: drop failing documents; annotate: keep all and write signals as columns"
    )


@dataclass(slots=True)
class FilterResult:
    """A filter's verdict: ``keep``, the ``reason`` for a drop, and the ``signals`` computed."""

    keep: bool
    reason: str | None = None
    signals: dict[str, Any] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()  # rules with no meaning for this document's language (counted, not failed)


KEEP = FilterResult(True)


class StageContext(Protocol):
    """What a running stage may do besides returning documents (implemented by the shard task)."""

    def drop(self, doc: Document, stage: str, reason: str, signals: dict[str, Any] | None = None) -> None:
        """Route a dropped document to the ledger (and ``rejected/``)."""

    def count(self, stage: str, key: str, n: int = 1) -> None:
        """Add ``n`` to a named counter of the stage (e.g. PII redactions by type)."""


class Stage:
    """A pipeline step over batches of documents. Subclasses set ``name`` and ``Params``."""

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "stage"
    Params: ClassVar[type[StageParams]] = StageParams

    def __init__(self, params: StageParams | None = None, label: str | None = None) -> None:
        self.params = params if params is not None else self.Params()
        self.label = label or self.name
        self._ready = False

    def setup(self) -> None:
        """Load anything heavy (models, profiles). Called once per worker before the first batch."""

    def ensure_setup(self) -> None:
        """Run :meth:`setup` once."""
        if not self._ready:
            self.setup()
            self._ready = True

    def process_batch(self, docs: list[Document], ctx: StageContext) -> list[Document]:
        """Return the documents that go on to the next stage."""
        raise NotImplementedError

    def run_batch(self, docs: list[Document], ctx: StageContext) -> list[Document]:
        """:meth:`process_batch` on the documents matching ``when`` (all without one), order kept.

        Each run of consecutive matching documents is processed as one batch; the others pass
        through untouched and are counted as ``when_skipped``.
        """
        cond = self.params.when
        if cond is None:
            return self.process_batch(docs, ctx)
        match = self.__dict__.get("_when")
        if match is None:
            match = self.__dict__["_when"] = compile_condition(cond)
        out: list[Document] = []
        run: list[Document] = []
        skipped = 0
        for doc in docs:
            if match(doc):
                run.append(doc)
                continue
            if run:
                out.extend(self.process_batch(run, ctx))
                run = []
            out.append(doc)
            skipped += 1
        if run:
            out.extend(self.process_batch(run, ctx))
        if skipped:
            ctx.count(self.label, "when_skipped", skipped)
        return out

    @classmethod
    def output_columns(cls) -> dict[str, str]:
        """Columns this stage can add with default parameters (name → type name), for ``datacraft stages``."""
        return {}

    def output_fields(self) -> list[pa.Field]:
        """The typed columns this configured stage adds to the documents it keeps (the output schema).

        Every key a stage puts in ``doc.meta`` of a kept document must be declared here. By default:
        the columns of :meth:`output_columns` (so a user stage that declares those is in the schema).
        """
        return columns_to_fields(self.output_columns())


class Mapper(Stage):
    """A stage that changes text or adds meta; it never drops documents."""

    kind = "mapper"

    def map(self, doc: Document, ctx: StageContext) -> Document:
        """Return the changed document (may be the same object)."""
        raise NotImplementedError

    def process_batch(self, docs: list[Document], ctx: StageContext) -> list[Document]:
        return [self.map(d, ctx) for d in docs]


class Filter(Stage):
    """A stage whose pure :meth:`check` decides keep/drop; the shared runner does the rest."""

    kind = "filter"
    Params: ClassVar[type[StageParams]] = FilterParams

    def signal_columns(self) -> dict[str, str]:
        """The signals of this configured filter (name → type name): columns in ``mode: annotate``."""
        return self.output_columns()

    def output_fields(self) -> list[pa.Field]:
        """In ``mode: annotate`` the signals and ``<label>_drop_reason``; a filtering filter adds nothing."""
        if getattr(self.params, "mode", "filter") != "annotate":
            return []
        return [*columns_to_fields(self.signal_columns()), pa.field(f"{self.label}_drop_reason", pa.string())]

    def check(self, doc: Document) -> FilterResult:
        """Decide about one document; must not modify it."""
        raise NotImplementedError

    def check_batch(self, docs: list[Document]) -> list[FilterResult]:
        """Decide about a batch (override to vectorize); by default :meth:`check` per document."""
        return [self.check(d) for d in docs]

    def process_batch(self, docs: list[Document], ctx: StageContext) -> list[Document]:
        return self.route(docs, self.check_batch(docs), ctx)

    def route(self, docs: list[Document], results: list[FilterResult], ctx: StageContext) -> list[Document]:
        """Apply verdicts: keep, drop to the ledger, or (``mode: annotate``) keep all with signals."""
        annotate = getattr(self.params, "mode", "filter") == "annotate"
        kept: list[Document] = []
        label = self.label
        for doc, result in zip(docs, results, strict=True):
            for rule in result.skipped:
                ctx.count(label, f"skipped_{rule}")
            if annotate:
                doc.meta.update(result.signals)
                doc.meta[f"{label}_drop_reason"] = None if result.keep else result.reason
                kept.append(doc)
            elif result.keep:
                kept.append(doc)
            else:
                ctx.drop(doc, label, result.reason or "dropped", result.signals)
        return kept


def columns_to_fields(columns: dict[str, str]) -> list[pa.Field]:
    """Arrow fields from a ``name → type name`` mapping (``int64``, ``float64``, ``list<…>``…)."""
    from datacraft.io.schema import parse_type

    return [pa.field(name, parse_type(t)) for name, t in columns.items()]
