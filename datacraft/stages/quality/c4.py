"""``c4``: the C4 rules (Raffel et al. 2020): line removal, then document rules."""

from __future__ import annotations

import re

from pydantic import Field

from datacraft.document import Document
from datacraft.stages.base import Filter, FilterParams, FilterResult, StageContext
from datacraft.stages.registry import register
from datacraft.text.punct import count_sentences
from datacraft.text.words import words

CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
END_PUNCTUATION = (".", "?", "!", '"', "'")
POLICY_PHRASES = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")


class C4Params(FilterParams):
    split_spaceless: bool = Field(
        True, description="count each Han/kana character and Thai-script letter as a word (False: runs, as spaCy)"
    )
    remove_citations: bool = Field(True, description="delete [1], [edit], [citation needed] markers")
    drop_no_terminal_punct_lines: bool = Field(True, description="drop lines not ending in . ? ! \" ' (or in ...)")
    min_words_per_line: int | None = Field(3, ge=0, description="drop lines with fewer whitespace-separated words")
    max_word_length: int | None = Field(1000, ge=1, description="drop lines with a longer word")
    drop_javascript_lines: bool = Field(True, description='drop lines mentioning "javascript"')
    drop_policy_lines: bool = Field(True, description="drop lines about cookies, privacy policy, terms of use")
    policy_phrases: list[str] = Field(list(POLICY_PHRASES), description="lower-case phrases marking policy lines")
    drop_lorem_ipsum: bool = Field(True, description='drop documents containing "lorem ipsum"')
    drop_curly_bracket: bool = Field(True, description="drop documents containing {")
    min_sentences: int | None = Field(5, ge=0, description="drop documents with fewer sentences after line removal")
    remove_lines: bool = Field(True, description="write the text without the removed lines (also in annotate mode)")


@register("c4")
class C4(Filter):
    """C4 rules: remove lines (no terminal punctuation, < 3 words, javascript, policy, huge words), then drop
    documents with lorem ipsum, a curly bracket or fewer than 5 sentences."""

    Params = C4Params

    @classmethod
    def output_columns(cls) -> dict[str, str]:
        return {"c4_lines": "int64", "c4_lines_removed": "int64", "c4_sentences": "int64", "c4_drop_reason": "string"}

    def evaluate(self, text: str) -> tuple[FilterResult, str]:
        """The verdict and the text with the removed lines taken out."""
        p: C4Params = self.params  # type: ignore[assignment]
        full = p.mode == "annotate"
        lines = text.splitlines()
        kept: list[str] = []
        sentences = 0
        reason: str | None = None
        # In filter mode counting can stop once there are enough sentences.
        enough = None if full or p.min_sentences is None else p.min_sentences
        count = p.min_sentences is not None
        for line in lines:
            line = line.strip()
            ws = line.split()
            if (
                p.max_word_length is not None
                and len(line) > p.max_word_length
                and any(len(w) > p.max_word_length for w in ws)
            ):
                continue
            if p.remove_citations and "[" in line:
                line = CITATION.sub("", line)
            if p.drop_no_terminal_punct_lines and (not line.endswith(END_PUNCTUATION) or line.endswith("...")):
                continue
            if p.min_words_per_line is not None and len(ws) < p.min_words_per_line:
                continue
            low = line.lower()
            if p.drop_lorem_ipsum and "lorem ipsum" in low and reason is None:
                reason = "lorem_ipsum"
                if not full:
                    break
            if p.drop_javascript_lines and "javascript" in low:
                continue
            if p.drop_curly_bracket and "{" in line and reason is None:
                reason = "curly_bracket"
                if not full:
                    break
            if p.drop_policy_lines and any(ph in low for ph in p.policy_phrases):
                continue
            if count:
                sentences += count_sentences(words(line, p.split_spaceless))
                if enough is not None and sentences >= enough:
                    count = False
            kept.append(line)
        # c4_sentences is exact in annotate mode; in filter mode it stops counting at min_sentences.
        s = {"c4_lines": len(lines), "c4_lines_removed": len(lines) - len(kept), "c4_sentences": sentences}
        if reason is None and p.min_sentences is not None and sentences < p.min_sentences:
            reason = "too_few_sentences"
        return FilterResult(reason is None, reason, s), "\n".join(kept).strip()

    def check(self, doc: Document) -> FilterResult:
        return self.evaluate(doc.text)[0]

    def process_batch(self, docs: list[Document], ctx: StageContext) -> list[Document]:
        p: C4Params = self.params  # type: ignore[assignment]
        annotate = p.mode == "annotate"
        label = self.label
        out: list[Document] = []
        for doc in docs:
            result, text = self.evaluate(doc.text)
            if annotate:
                doc.meta.update(result.signals)
                doc.meta[f"{label}_drop_reason"] = result.reason
            elif not result.keep:
                ctx.drop(doc, label, result.reason or "dropped", result.signals)
                continue
            if p.remove_lines and text != doc.text:
                ctx.count(label, "docs_with_lines_removed")
                ctx.count(label, "lines_removed", int(result.signals["c4_lines_removed"]))
                doc.text = text
            out.append(doc)
        return out
