"""pii: the false positives of issue 13 stay text; international 00 prefixes and regional numbers are phones."""

from __future__ import annotations

import pytest

from datacraft.stages.pii import Pii, iban_ok


@pytest.mark.parametrize(
    "text",
    [
        "2024-04-25 09:24:44 started",  # was "<PHONE>:24:44"
        "at 2024-04-25T09:24:44Z",
        "on 25.04.2024 um 09:24",
        "dated 04/25/2024 and 25/04/2024",
        "scores 10 20 30 40 50",  # was "<PHONE>"
        "scores 31 89 24 100",
        "version 1.2.3, v10.0.19041 and 2.13.17472",
        "version 14.25.48.4",  # not an IPv4 address either
        "pages 123-456, 1990-2000, 1145-1166",
        "price $1 234 567, 1.234,56 €, 12 345 678 zł, 9,999,999 USD",
        "ISBN 978-3-16-148410-0",
        "growth 12 345 678 %",
    ],
)
def test_not_pii(text: str) -> None:
    assert Pii().redact(text) == (text, {})
    assert Pii().redact(text, "en") == (text, {})


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("call 0049 30 901820 now", None),  # was kept
        ("call +49 (0) 9141 777631 now", None),
        ("call 04 15 39 15 00 now", None),
        ("call 090-1234-5678 now", None),
        ("call 8 (912) 123-45-67 now", None),
        ("call 206.269.0743x9150 now", None),
        ("call 13891417776 now", None),
        ("call 11 91234-5678 now", None),
        ("call 609 141 777 now", "pl"),  # no trunk prefix: validated in Polish numbering
        ("call 3420837783 now", "it"),
    ],
)
def test_phones(text: str, lang: str | None) -> None:
    assert Pii().redact(text, lang) == ("call <PHONE> now", {"phone": 1})


def test_regional_phone_needs_the_language() -> None:
    # no keyword, no typical grouping, not a contiguous mobile number: only with the language
    assert Pii().redact("ref 609 141777 x") == ("ref 609 141777 x", {})
    assert Pii().redact("ref 609 141777 x", "pl") == ("ref <PHONE> x", {"phone": 1})
    assert Pii().redact("id 339733899 x") == ("id 339733899 x", {})
    assert Pii().redact("id 339733899 x", "it") == ("id <PHONE> x", {"phone": 1})


@pytest.mark.parametrize(
    "text",
    [
        "no. 609 141 777 x",  # typical grouping, valid in Poland
        "no. 32 697 01 36 x",
        "no. 80-8908-1510 x",  # Japan, without its trunk 0
        "no. 3505247734 x",  # contiguous Italian mobile
        "no. 89242036077 x",  # contiguous Russian mobile with its trunk 8
        "no. 5512390240 x",  # contiguous North American number
        "Tel.: 339733899 x",  # a keyword: any valid national number
        "тел. 609 141777 x",
        "電話 339733899 x",
        "phone (mobile): 339733899 x",
    ],
)
def test_phones_without_language(text: str) -> None:
    redacted, counts = Pii().redact(text)
    assert counts == {"phone": 1} and redacted.endswith("<PHONE> x")


@pytest.mark.parametrize(
    "text",
    [
        "tel 10 20 30 40",
        "phone: 2024-04-25 and 25.04.2024",
        "Tel. 1990-2000",
        "call v1.2.3 or 10.0.19041",
        "tel 12:30 or 09:24:44",
        "call $1 234 567",
        "order 1234567890 x",  # a Korean mobile only with its trunk 0
        "ts 1700000000 x",
        "year 2024 2025 2026",
        "population 1 234 567 people",
    ],
)
def test_not_phones_without_language(text: str) -> None:
    assert Pii().redact(text) == (text, {})


def test_unknown_international_code_is_not_a_phone() -> None:
    assert Pii().redact("ref 00008063608 x") == ("ref 00008063608 x", {})


def test_iban_and_card_glued_to_a_following_number() -> None:
    text = "PL42 4936 5794 4077 8261 9829 2034 60 and 4428-7880-6120-1113 70"
    assert Pii().redact(text) == ("<IBAN> 60 and <CREDIT_CARD> 70", {"iban": 1, "credit_card": 1})


def test_iban_outside_the_length_table_needs_the_checksum() -> None:
    assert iban_ok("RU41MAKM5411676907583")  # not in the registry table: 15-34 characters and mod 97
    assert not iban_ok("RU42MAKM5411676907583")


def test_spans_are_in_original_coordinates() -> None:
    text = "a@b.org, +44 20 7946 0958 and 10.0.0.1"
    spans = Pii().find(text)
    assert [(text[s.start : s.end], s.kind) for s in spans] == [
        ("a@b.org", "email"),
        ("+44 20 7946 0958", "phone"),
        ("10.0.0.1", "ipv4"),
    ]


def test_stage_reads_the_language_column() -> None:
    from stage_context import Ctx

    from datacraft.document import Document

    doc = Document("d", "tel. 609 141 777", {"lang": "pl"})
    Pii().map(doc, Ctx())
    assert doc.text == "tel. <PHONE>"
    other = Document("d", "tel. 609 141 777", {"language": "pl"})
    Pii(Pii.Params(lang_column="language")).map(other, Ctx())
    assert other.text == "tel. <PHONE>"
