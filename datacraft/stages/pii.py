"""``pii``: redact e-mail addresses, phone numbers, IP addresses, card numbers and IBANs with typed placeholders.

Candidates are found by regular expressions and then validated: IP addresses with :mod:`ipaddress`,
card numbers with the Luhn checksum, IBANs with the ISO 13616 mod-97 checksum and their country's
length, phone numbers by shape and with `phonenumbers` (:mod:`datacraft.stages.pii_phone`), so that
dates, times, prices, scores, ranges and version numbers stay. Kinds are searched in a fixed order
(e-mails, IBANs, cards, IPv6, IPv4, phones); text claimed by one kind is hidden from the next.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Literal, NamedTuple

from pydantic import Field

from datacraft.document import Document
from datacraft.stages.base import Mapper, StageContext, StageParams
from datacraft.stages.pii_phone import PHONE_CANDIDATE, is_phone
from datacraft.stages.registry import register

PiiType = Literal["email", "phone", "ipv4", "ipv6", "credit_card", "iban"]
ALL_TYPES: list[PiiType] = ["email", "iban", "credit_card", "ipv6", "ipv4", "phone"]
PLACEHOLDERS: dict[str, str] = {
    "email": "<EMAIL>",
    "phone": "<PHONE>",
    "ipv4": "<IPV4>",
    "ipv6": "<IPV6>",
    "credit_card": "<CREDIT_CARD>",
    "iban": "<IBAN>",
}

#: IBAN length by country (ISO 13616 registry).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "BY": 28,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19,
    "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}"
)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)\b")
_TRIMMED = frozenset({"iban", "credit_card"})  # a failed candidate is retried without its last group
_CARD = re.compile(r"(?<![\d+-])\d(?:[ -]?\d){11,18}(?![\d-])")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{0,4}|\d{1,3}(?:\.\d{1,3}){3})(?![\w:])")
_DIGIT = re.compile(r"\d")
_VERSION_BEFORE = re.compile(r"(?i)\b(?:version|ver\.?|v\.?|release|build)\s*$")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of a digit string."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(candidate: str) -> bool:
    """Country length (15–34 for countries outside the registry table) and mod-97 checksum of an IBAN
    (spaces ignored)."""
    s = candidate.replace(" ", "")
    if IBAN_LENGTHS.get(s[:2], len(s) if 15 <= len(s) <= 34 else -1) != len(s):
        return False  # a registered country's length, or 15-34 characters for the others (checksum below)
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


Validator = Callable[[re.Match[str], str | None], bool]


_CARD_PREFIXES = ("2", "3", "4", "5", "6", "1800", "0604")  # Mastercard 2-series, Amex/Diners/JCB, Visa, MC/Maestro, …
_CARD_SHORT_PREFIXES = ("50", "56", "57", "58", "6", "0604")  # Maestro numbers may have 12 digits


def _card(m: re.Match[str], lang: str | None = None) -> bool:
    groups = re.findall(r"\d+", m.group())
    shape = [len(g) for g in groups]
    if len(groups) > 1 and shape not in ([4, 6, 5], [4, 6, 4]) and (set(shape[:-1]) != {4} or shape[-1] > 4):
        return False  # printed cards: groups of four (Amex, Diners: 4-6-5, 4-6-4), never "28 29 97 100 87 92"
    digits = "".join(groups)
    if len(digits) == 12:
        return digits.startswith(_CARD_SHORT_PREFIXES) and luhn_ok(digits)
    return 13 <= len(digits) <= 19 and digits.startswith(_CARD_PREFIXES) and luhn_ok(digits)


def _ipv6(m: re.Match[str], lang: str | None = None) -> bool:
    if not any(c.isdigit() for c in m.group()):  # "a::b", "dead::beef": more likely code than addresses
        return False
    try:
        ipaddress.IPv6Address(m.group())
    except ValueError:
        return False
    return True


def _ipv4(m: re.Match[str], lang: str | None = None) -> bool:
    if _VERSION_BEFORE.search(m.string, max(0, m.start() - 12), m.start()):
        return False  # "version 1.2.3.4"
    try:
        ipaddress.IPv4Address(m.group())
    except ValueError:
        return False
    return True


def _phone(m: re.Match[str], lang: str | None = None) -> bool:
    return is_phone(m.string, m.start(), m.end(), lang)


_RULES: dict[str, tuple[re.Pattern[str], Validator | None]] = {
    "email": (_EMAIL, None),
    "iban": (_IBAN, lambda m, lang=None: iban_ok(m.group())),
    "credit_card": (_CARD, _card),
    "ipv6": (_IPV6, _ipv6),
    "ipv4": (_IPV4, _ipv4),
    "phone": (PHONE_CANDIDATE, _phone),
}


def _valid_end(m: re.Match[str], kind: str, valid: Validator | None, lang: str | None) -> int:
    """End of the valid part of a candidate match (0: none). IBANs and card numbers glued to a following
    number (``… 2034 60``) are retried without their last group while checksums can still pass."""
    if valid is None or valid(m, lang):
        return m.end()
    if kind not in _TRIMMED:
        return 0
    pattern, text, start = m.re, m.string, m.start()
    end = m.end()
    while (cut := text.rfind(" ", start, end)) > start or (cut := text.rfind("-", start, end)) > start:
        shorter = pattern.fullmatch(text, start, cut)
        if shorter is None or shorter.end() - start < 12:
            return 0
        if valid(shorter, lang):
            return cut
        end = cut
    return 0


class Span(NamedTuple):
    """One redacted piece of a text: ``text[start:end]`` is of ``kind``."""

    start: int
    end: int
    kind: str


class PiiParams(StageParams):
    types: list[PiiType] = Field(list(ALL_TYPES), description="kinds of PII to redact")
    placeholders: dict[str, str] = Field(PLACEHOLDERS, description="replacement text per kind")
    lang_column: str = Field(
        "lang",
        description="metadata column with the document's language (from langid); a bare national phone number "
        "is validated against that language's regions with phonenumbers",
    )


@register("pii")
class Pii(Mapper):
    """Redact e-mails, phones, IPv4/IPv6, Luhn-valid card numbers and IBANs with <TYPE> placeholders."""

    Params = PiiParams

    def __init__(self, params: PiiParams | None = None, label: str | None = None) -> None:
        super().__init__(params, label)
        p: PiiParams = self.params  # type: ignore[assignment]
        wanted = set(p.types)
        placeholders = {**PLACEHOLDERS, **p.placeholders}
        # Fixed order: e-mails before IPs and phones, IBANs and cards before phones.
        self._rules = [(t, *_RULES[t], placeholders[t]) for t in ALL_TYPES if t in wanted]
        self._placeholders = placeholders

    def find(self, text: str, lang: str | None = None) -> list[Span]:
        """The PII spans of ``text``, sorted; ``lang`` (a langdetect code) enables regional phone validation."""
        spans: list[Span] = []
        masked = text
        for kind, pattern, valid, _ in self._rules:
            if (kind == "email" and "@" not in masked) or (
                kind in ("ipv4", "ipv6", "phone") and not _DIGIT.search(masked)
            ):
                continue
            found = []
            for m in pattern.finditer(masked):
                end = _valid_end(m, kind, valid, lang)
                if end:
                    found.append(Span(m.start(), end, kind))
            if found:
                spans += found
                parts, pos = [], 0
                for sp in found:  # hide what this kind claimed from the next kinds, as a placeholder would
                    parts += [masked[pos : sp.start], "\x00" * (sp.end - sp.start)]
                    pos = sp.end
                masked = "".join([*parts, masked[pos:]])
        return sorted(spans)

    def redact(self, text: str, lang: str | None = None) -> tuple[str, dict[str, int]]:
        """The redacted text and the number of redactions per type."""
        spans = self.find(text, lang)
        if not spans:
            return text, {}
        counts: dict[str, int] = {}
        parts, pos = [], 0
        for sp in spans:
            parts += [text[pos : sp.start], self._placeholders[sp.kind]]
            pos = sp.end
            counts[sp.kind] = counts.get(sp.kind, 0) + 1
        parts.append(text[pos:])
        return "".join(parts), {k: counts[k] for k in ALL_TYPES if k in counts}

    def map(self, doc: Document, ctx: StageContext) -> Document:
        lang = doc.meta.get(self.params.lang_column)  # type: ignore[attr-defined]
        text, counts = self.redact(doc.text, lang if isinstance(lang, str) else None)
        for kind, n in counts.items():
            ctx.count(self.label, kind, n)
        if counts:
            doc.text = text
        return doc
