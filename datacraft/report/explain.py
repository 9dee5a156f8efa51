"""Run one document through a pipeline's stages and record what each stage did to it."""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from typing import Any

from datacraft.document import Document
from datacraft.errors import InputError
from datacraft.io.paths import list_shards
from datacraft.io.readers import read_shard
from datacraft.pipeline.config import PipelineConfig
from datacraft.pipeline.task import build_stages, read_options
from datacraft.stages.base import Filter

MAX_DIFF_LINES = 40


@dataclass
class StepTrace:
    """What one stage did: ``decision`` is kept, dropped, changed, unchanged or not run."""

    label: str
    name: str
    kind: str
    decision: str
    reason: str | None = None
    signals: dict[str, Any] = field(default_factory=dict)
    chars_before: int = 0
    chars_after: int = 0
    lines_changed: int = 0
    diff: list[str] = field(default_factory=list)
    meta_added: dict[str, Any] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)


@dataclass
class Explanation:
    """The document, where it came from, and one :class:`StepTrace` per stage."""

    id: str
    source: str
    text_before: str
    text_after: str
    steps: list[StepTrace]

    @property
    def dropped_by(self) -> StepTrace | None:
        """The step that dropped the document, if any."""
        return next((s for s in self.steps if s.decision == "dropped"), None)

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        d = self.dropped_by
        return {
            "id": self.id,
            "source": self.source,
            "result": {"kept": d is None, "stage": d.label if d else None, "reason": d.reason if d else None},
            "steps": [s.__dict__ for s in self.steps],
            "text_before": self.text_before,
            "text_after": self.text_after,
        }


class TraceContext:
    """A StageContext that records drops and counters of one document instead of writing them."""

    def __init__(self) -> None:
        self.drops: list[tuple[str, str, dict[str, Any]]] = []
        self.counters: dict[str, dict[str, int]] = {}

    def drop(self, doc: Document, stage: str, reason: str, signals: dict[str, Any] | None = None) -> None:
        self.drops.append((stage, reason, dict(signals or {})))

    def count(self, stage: str, key: str, n: int = 1) -> None:
        c = self.counters.setdefault(stage, {})
        c[key] = c.get(key, 0) + n


def find_document(config: PipelineConfig, inputs: list[str], doc_id: str) -> tuple[Document, str]:
    """Stream the inputs until the document with ``doc_id`` turns up; error with example ids otherwise."""
    shards = list_shards(inputs, config.input.format)
    opts = read_options(config)
    examples: list[str] = []
    seen = 0
    for shard in shards:
        for item in read_shard(shard, opts):
            if isinstance(item, Document):
                if item.id == doc_id:
                    return item, shard.path
                seen += 1
                if len(examples) < 3:
                    examples.append(item.id)
            elif f"{item.file}:{item.position.removeprefix('line ').removeprefix('row ')}" == doc_id:
                raise InputError(f"{doc_id!r} is a bad record, quarantined before any stage: {item.describe()}")
    hint = f"; ids look like: {', '.join(repr(e) for e in examples)}" if examples else ""
    raise InputError(
        f"no document with id {doc_id!r} among {seen:,} documents in {len(shards)} shard(s) of "
        f"{', '.join(inputs)}{hint}"
    )


def visible(line: str) -> str:
    """A diff line with invisible changes made visible: blank lines, trailing spaces, tabs, controls."""
    if not line.strip():
        return f"⟨blank line{', ' + repr(line) if line else ''}⟩"
    body = line.rstrip()
    tail = line[len(body) :].replace(" ", "·").replace("\t", "→")
    body = "".join(c if c.isprintable() or c == "\t" else f"\\x{ord(c):02x}" for c in body)
    return body.replace("  ", "·" * 2) + tail


def _diff(before: str, after: str, limit: int) -> tuple[int, list[str]]:
    """Lines changed and a compact unified diff (runs of the same line folded into ``×N``)."""
    a, b = before.splitlines(), after.splitlines()
    raw = [line for line in difflib.unified_diff(a, b, lineterm="", n=0) if not line.startswith(("---", "+++", "@@"))]
    changed = max(sum(1 for x in raw if x.startswith("-")), sum(1 for x in raw if x.startswith("+")))
    folded: list[str] = []
    i = 0
    while i < len(raw):
        j = i
        while j + 1 < len(raw) and raw[j + 1] == raw[i]:
            j += 1
        text = raw[i][0] + visible(raw[i][1:])
        folded.append(text + (f"  ×{j - i + 1}" if j > i else ""))
        i = j + 1
    if len(folded) > limit:
        folded = [*folded[:limit], f"… {len(folded) - limit} more diff lines"]
    return changed, folded


def explain_document(
    config: PipelineConfig, doc: Document, source: str = "", diff_lines: int = MAX_DIFF_LINES
) -> Explanation:
    """Run ``doc`` through every stage of ``config`` (stopping at a drop) and trace each step."""
    stages = build_stages(config)
    before_text = doc.text
    doc = Document(doc.id, doc.text, copy.deepcopy(doc.meta))
    ctx = TraceContext()
    steps: list[StepTrace] = []
    alive = True
    for stage in stages:
        step = StepTrace(stage.label, stage.name, stage.kind, "not run", chars_before=len(doc.text))
        steps.append(step)
        if not alive:
            step.chars_after = step.chars_before
            continue
        stage.ensure_setup()
        text, meta = doc.text, copy.deepcopy(doc.meta)
        if isinstance(stage, Filter):
            probe = Document(doc.id, doc.text, copy.deepcopy(doc.meta))
            verdict = stage.check(probe)
            step.signals = dict(verdict.signals)
        n_drops = len(ctx.drops)
        out = stage.run_batch([doc], ctx)
        step.counters = ctx.counters.pop(stage.label, {})
        if len(ctx.drops) > n_drops:
            _, reason, signals = ctx.drops[-1]
            step.decision, step.reason = "dropped", reason
            step.signals = signals or step.signals
            step.chars_after = step.chars_before
            alive = False
            continue
        if not out:
            step.decision, step.reason = "dropped", "removed without a drop record"
            alive = False
            continue
        doc = out[0]
        step.chars_after = len(doc.text)
        step.meta_added = {k: v for k, v in doc.meta.items() if k not in meta or meta[k] != v}
        if doc.text != text:
            step.decision = "changed"
            step.lines_changed, step.diff = _diff(text, doc.text, diff_lines)
        elif stage.kind == "filter":
            step.decision = "kept"
            reason_col = doc.meta.get(f"{stage.label}_drop_reason")
            if reason_col:
                step.reason = f"annotate mode: would drop ({reason_col})"
        else:
            step.decision = "changed" if step.meta_added else "unchanged"
    return Explanation(doc.id, source, before_text, doc.text, steps)
