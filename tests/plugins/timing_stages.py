"""Test plugin stages (loaded through a pipeline's ``plugins:`` list): one burns CPU, one sleeps."""

from __future__ import annotations

import hashlib
import logging
import sys
import time

from pydantic import Field

from datacraft.document import Document
from datacraft.stages.base import Mapper, StageContext, StageParams
from datacraft.stages.registry import register


class SpinParams(StageParams):
    rounds: int = Field(2000, ge=1, description="sha256 rounds per document")


@register("spin")
class Spin(Mapper):
    """Burn CPU: hash each document ``rounds`` times (and log each batch)."""

    Params = SpinParams

    def process_batch(self, docs: list[Document], ctx: StageContext) -> list[Document]:
        logging.getLogger(__name__).info("spin: a batch of %d documents", len(docs))
        return super().process_batch(docs, ctx)

    def map(self, doc: Document, ctx: StageContext) -> Document:
        h = doc.text.encode()
        for _ in range(self.params.rounds):  # type: ignore[attr-defined]
            h = hashlib.sha256(h).digest()
        doc.meta["spin"] = h.hex()[:8]
        return doc


class NapParams(StageParams):
    seconds: float = Field(0.05, ge=0, description="sleep per batch")


@register("nap")
class Nap(Mapper):
    """Sleep per batch: wall time without CPU time."""

    Params = NapParams

    def process_batch(self, docs: list[Document], ctx: StageContext) -> list[Document]:
        time.sleep(self.params.seconds)  # type: ignore[attr-defined]
        return docs


@register("noisy")
class Noisy(Mapper):
    """Write to stderr directly, as warcio does with its warnings."""

    def process_batch(self, docs: list[Document], ctx: StageContext) -> list[Document]:
        sys.stderr.write(f"noisy library: {len(docs)} documents\n")
        return docs
