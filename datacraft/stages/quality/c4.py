"""``c4``: the C4 line and document rules (Raffel et al. 2020; TFDS ``c4_utils``), each switchable.

Unlike the other filters it changes text: lines that fail a line rule are removed, the kept
lines are stripped and joined with ``\\n``. Removed lines are counted per rule with
``ctx.count`` (``lines_total``, ``lines_kept``, ``lines_removed_<rule>``, ``citations_removed``,
``docs_modified``) for the documents that are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field

from datacraft.document import Document
from datacraft.stages.base import FilterResult, StageContext
from datacraft.stages.quality.languages import SPACELESS, base_lang
from datacraft.stages.quality.perlang import LangAware, LangParams
from datacraft.stages.registry import register
from datacraft.text.segment import TERMINAL_TUPLE, count_sentences
from datacraft.text.words import punct_set, split_words

CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
END_PUNCTUATION = (".", "?", "!", '"', "'")
#: Line endings outside English: every Unicode sentence terminal (。 । ؟ …) and closing quotes/brackets.
UNICODE_END_PUNCTUATION = (*TERMINAL_TUPLE, '"', "'", "”", "’", "»", "」", "』", "）", ")")
POLICY_SUBSTRINGS = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
)
LINE_RULES = ("too_long_word", "no_terminal_punct", "too_few_words", "javascript", "policy")


class C4Params(LangParams):
    remove_citations: bool = Field(True, description="delete citation markers such as [1], [edit], [citation needed]")
    filter_no_terminal_punct: bool = Field(True, description="remove lines not ending in . ? ! \" ' (or ending in ...)")
    min_words_per_line: int = Field(3, ge=0, description="remove lines with fewer whitespace-separated words (0: off)")
    max_word_length: int | None = Field(1000, ge=1, description="remove lines with a longer word (None: off)")
    filter_javascript: bool = Field(True, description="remove lines mentioning 'javascript'")
    filter_policy: bool = Field(True, description="remove terms-of-use / privacy / cookie notice lines")
    policy_substrings: list[str] = Field(list(POLICY_SUBSTRINGS), description="lower-case phrases of policy lines")
    filter_lorem_ipsum: bool = Field(True, description="drop documents containing 'lorem ipsum'")
    filter_curly_bracket: bool = Field(True, description="drop documents containing '{'")
    min_num_sentences: int = Field(5, ge=0, description="drop documents with fewer sentences in kept lines (0: off)")
    min_lines: int = Field(0, ge=0, description="drop documents with fewer kept lines (0: off)")
    end_punctuation: list[str] | None = Field(
        None, description="line endings that count (None: C4's . ? ! \" ' in English, Unicode terminals otherwise)"
    )


@dataclass(slots=True)
class C4Outcome:
    """What the C4 rules make of one text."""

    text: str
    reason: str | None
    signals: dict[str, Any]
    removed: dict[str, int] = field(default_factory=dict)
    citations: int = 0


@register("c4")
class C4(LangAware):
    """C4 rules: remove bad lines, then drop documents with lorem ipsum, '{' or too few sentences.

    Line rules (the line is removed, counted in stats): ``too_long_word``, ``no_terminal_punct``,
    ``too_few_words``, ``javascript``, ``policy``; citation markers are deleted first when enabled.
    Drop reasons: ``lorem_ipsum``, ``curly_bracket`` (checked on lines that survived the earlier line
    rules, as C4 does), ``too_few_sentences``, ``too_few_lines``. In annotate mode kept documents get
    the cleaned text too, so annotating and thresholding later equals filtering now.
    """

    Params = C4Params

    @classmethod
    def output_columns(cls) -> dict[str, str]:
        return {
            "c4_lines": "int64",
            "c4_lines_kept": "int64",
            "c4_sentences": "int64",
            "c4_lorem_ipsum": "bool",
            "c4_curly_bracket": "bool",
        }

    def __init__(self, params: C4Params | None = None, label: str | None = None) -> None:
        super().__init__(params, label)
        p: C4Params = self.params  # type: ignore[assignment]
        # one search for all phrases instead of one substring test each (same answer: some phrase occurs)
        self._policy = re.compile("|".join(map(re.escape, p.policy_substrings))) if p.policy_substrings else None

    def evaluate(self, text: str, lang: str | None = None, exact: bool = True) -> C4Outcome:
        """Apply every rule to ``text`` (pure); ``lang`` picks line endings and how words are counted.

        Sentences are counted after the line loop, over the kept lines in order, stopping (unless
        annotating) once ``min_num_sentences`` is reached, as C4 does. Every kept line that is not
        empty holds a token and so at least one sentence: with ``exact`` False, a document with
        enough such lines and no other failure is kept without tokenizing, and its signals leave
        out ``c4_sentences`` (a filtering pipeline keeps no signal of a kept document).
        """
        p: C4Params = self.params  # type: ignore[assignment]
        base = base_lang(lang)
        if p.end_punctuation is not None:
            ends = tuple(p.end_punctuation)
        else:
            ends = END_PUNCTUATION if base is None else UNICODE_END_PUNCTUATION
        spaceless = base in SPACELESS
        annotate = p.mode == "annotate"
        punct = punct_set()
        removed = dict.fromkeys(LINE_RULES, 0)
        kept: list[str] = []
        sentences = 0
        citations = 0
        lorem = curly = False
        # the parameters as locals; a line's words are computed only for the rules that need them
        max_word = p.max_word_length
        min_words = p.min_words_per_line
        cite, no_punct = p.remove_citations, p.filter_no_terminal_punct
        lorem_on, js_on, curly_on = p.filter_lorem_ipsum, p.filter_javascript, p.filter_curly_bracket
        policy = self._policy if p.filter_policy else None
        min_sentences = p.min_num_sentences
        lines = text.splitlines()
        for raw in lines:
            line = raw.strip()
            words: list[str] | None = None
            if max_word is not None and len(line) > max_word:
                words = self._words(line, lang, spaceless, punct)
                if any(len(w) > max_word for w in words):
                    removed["too_long_word"] += 1
                    continue
            source = line  # words are counted before citations are cut out
            if cite and "[" in line:
                line, k = CITATION.subn("", line)
                citations += k
            if no_punct and (not line.endswith(ends) or line.endswith("...")):
                removed["no_terminal_punct"] += 1
                continue
            if min_words:
                if words is not None:
                    n_words = len(words)
                elif spaceless:
                    n_words = len(self._words(source, lang, spaceless, punct))
                else:  # at most min_words chunks: enough to compare
                    n_words = len(source.split(None, min_words - 1))
                if n_words < min_words:
                    removed["too_few_words"] += 1
                    continue
            lower = line.lower()
            if lorem_on and "lorem ipsum" in lower:
                lorem = True
                if not annotate:
                    break
            if js_on and "javascript" in lower:
                removed["javascript"] += 1
                continue
            if curly_on and "{" in line:
                curly = True
                if not annotate:
                    break
            if policy is not None and policy.search(lower) is not None:
                removed["policy"] += 1
                continue
            kept.append(line)
        bounded = (
            not exact
            and not annotate
            and not lorem
            and not curly
            and len(kept) >= p.min_lines
            and len(kept) - kept.count("") >= min_sentences
        )
        if min_sentences and not bounded:
            for line in kept:
                if not annotate and sentences >= min_sentences:
                    break
                sentences += count_sentences(split_words(line, lang), punct)
        signals: dict[str, Any] = {
            "c4_lines": len(lines),
            "c4_lines_kept": len(kept),
            "c4_sentences": sentences,
            "c4_lorem_ipsum": lorem,
            "c4_curly_bracket": curly,
        }
        if bounded:
            del signals["c4_sentences"]
            return C4Outcome("\n".join(kept).strip(), None, signals, removed, citations)
        reason = None
        if lorem:
            reason = "lorem_ipsum"
        elif curly:
            reason = "curly_bracket"
        elif sentences < p.min_num_sentences:
            reason = "too_few_sentences"
        elif len(kept) < p.min_lines:
            reason = "too_few_lines"
        return C4Outcome("\n".join(kept).strip(), reason, signals, removed, citations)

    @staticmethod
    def _words(line: str, lang: str | None, spaceless: bool, punct: frozenset[str]) -> list[str]:
        """The words of a stripped line: whitespace-separated, or (space-less script) from the segmenter
        with punctuation left out."""
        if spaceless:
            return [w for w in split_words(line, lang) if w[-1] not in punct]
        return line.split()

    def check_lang(self, doc: Document) -> FilterResult:
        out = self.evaluate(doc.text, doc.meta.get("lang"))
        return FilterResult(out.reason is None, out.reason, out.signals)

    def process_batch(self, docs: list[Document], ctx: StageContext) -> list[Document]:
        annotate = getattr(self.params, "mode", "filter") == "annotate"
        label = self.label
        kept: list[Document] = []
        totals = dict.fromkeys(("lines_total", "lines_kept", "citations_removed", "docs_modified"), 0)
        removed = dict.fromkeys(LINE_RULES, 0)
        for doc in docs:
            flt, skipped = self.variant(doc.meta.get("lang"))
            for rule in skipped:
                ctx.count(label, f"skipped_{rule}")
            out = flt.evaluate(doc.text, doc.meta.get("lang"), exact=annotate)  # type: ignore[attr-defined]
            if out.reason is None:
                totals["lines_total"] += out.signals["c4_lines"]
                totals["lines_kept"] += out.signals["c4_lines_kept"]
                totals["citations_removed"] += out.citations
                for k, n in out.removed.items():
                    removed[k] += n
                if out.text != doc.text:
                    totals["docs_modified"] += 1
                    doc.text = out.text
            if annotate:
                doc.meta.update(out.signals)
                doc.meta[f"{label}_drop_reason"] = out.reason
                kept.append(doc)
            elif out.reason is None:
                kept.append(doc)
            else:
                ctx.drop(doc, label, out.reason, out.signals)
        for k, n in totals.items():
            if n:
                ctx.count(label, k, n)
        for k, n in removed.items():
            if n:
                ctx.count(label, f"lines_removed_{k}", n)
        return kept
