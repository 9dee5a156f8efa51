"""The clean and pii mappers."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from datacraft.errors import ConfigError
from datacraft.pipeline.config import validate_stage_params
from datacraft.stages.clean import Clean
from datacraft.stages.pii import Pii, iban_ok, luhn_ok


def test_mojibake_and_entities_are_repaired() -> None:
    c = Clean()
    assert c.clean("The cafÃ© is â€œniceâ€\x9d.") == "The café is “nice”."
    assert c.clean("Fish &amp; chips") == "Fish & chips"
    assert c.clean("“curly” ﬁne") == "“curly” ﬁne"  # quotes and ligatures are kept as written


def test_invisible_and_control_characters_and_whitespace() -> None:
    counts: dict[str, int] = {}
    out = Clean().clean("zero\u200bwidth\u00ad here\x07\n\n\n\nnext   line\t\t end  ", counts)
    assert out == "zerowidth here\n\nnext line end"
    assert counts["invisible_chars"] == 2


def test_nfkc_option() -> None:
    assert Clean(Clean.Params(form="NFKC")).clean("ﬁ １") == "fi 1"


def test_boilerplate_lines_removed_by_patterns() -> None:
    text = "Real text here.\nThis site uses cookies to improve your experience.\nPlease enable JavaScript.\nMore text."
    counts: dict[str, int] = {}
    assert Clean().clean(text, counts) == "Real text here.\nMore text."
    assert counts["boilerplate_lines"] == 2
    custom = Clean(Clean.Params(boilerplate_patterns=[r"^subscribe\b"]))
    assert custom.clean("Subscribe now!\nThis site uses cookies.") == "This site uses cookies."


def test_bad_pattern_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="boilerplate_patterns"):
        validate_stage_params("clean", {"boilerplate_patterns": ["(unclosed"]}, "stages[0].clean")


def test_gutenberg_header_and_footer_stripped(sample_dir: Path) -> None:
    c = Clean()
    with gzip.open(sample_dir / "gutenberg-books-raw.jsonl.gz", "rt", encoding="utf-8") as fh:
        books = [json.loads(line)["text"] for line in fh]
    for raw in books:
        counts: dict[str, int] = {}
        out = c.clean(raw, counts)
        assert counts.get("gutenberg_stripped") == 1
        assert "PROJECT GUTENBERG" not in out.upper()
        assert len(out) > 0.8 * len(raw)


def test_clean_counts_in_context() -> None:
    from stage_context import Ctx

    from datacraft.document import Document

    ctx = Ctx()
    doc = Document("d", "a\u200bb", {})
    Clean().map(doc, ctx)
    assert doc.text == "ab" and ctx.counts[("clean", "changed")] == 1


# --- pii ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("mail john.doe@example.co.uk now", "mail <EMAIL> now", "email"),
        ("call +1 (555) 123-4567 today", "call <PHONE> today", "phone"),
        ("call 555-123-4567 today", "call <PHONE> today", "phone"),
        ("call +44 20 7946 0958.", "call <PHONE>.", "phone"),
        ("host 192.168.1.10 up", "host <IPV4> up", "ipv4"),
        ("host 2001:db8::1 up", "host <IPV6> up", "ipv6"),
        ("host fe80::1ff:fe23:4567:890a up", "host <IPV6> up", "ipv6"),
        ("card 4111 1111 1111 1111, ok", "card <CREDIT_CARD>, ok", "credit_card"),
        ("card 5500-0000-0000-0004 ok", "card <CREDIT_CARD> ok", "credit_card"),
        ("iban GB82 WEST 1234 5698 7654 32 ok", "iban <IBAN> ok", "iban"),
        ("iban DE89370400440532013000 ok", "iban <IBAN> ok", "iban"),
    ],
)
def test_pii_redacted(text: str, expected: str, kind: str) -> None:
    out, counts = Pii().redact(text)
    assert out == expected
    assert counts == {kind: 1}


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112 fails Luhn",
        "iban GB82 WEST 1234 5698 7654 33 fails mod 97",
        "years 1999-2005 and 2023-01-15",
        "at 10:30:00 on the clock",
        "ISBN 978-3-16-148410-0",
        "version 999.1.2.3 and 256.1.1.1",
        "price $1,000,000 and 3 000 000 people",
        "a::b is not an address",
    ],
)
def test_pii_leaves_lookalikes(text: str) -> None:
    assert Pii().redact(text) == (text, {})


def test_pii_types_and_placeholders_configurable() -> None:
    p = Pii(Pii.Params(types=["email"], placeholders={"email": "[mail]"}))
    assert p.redact("a@b.org 192.168.0.1") == ("[mail] 192.168.0.1", {"email": 1})


def test_pii_counts_per_type_in_context() -> None:
    from stage_context import Ctx

    from datacraft.document import Document

    ctx = Ctx()
    doc = Document("d", "x@y.com and z@w.com at 10.0.0.1", {})
    Pii().map(doc, ctx)
    assert doc.text == "<EMAIL> and <EMAIL> at <IPV4>"
    assert ctx.counts == {("pii", "email"): 2, ("pii", "ipv4"): 1}


def test_checksums() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("GB82WEST12345698765432") and not iban_ok("GB82WEST1234569876543")
