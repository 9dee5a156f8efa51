"""Phone-number candidates and their validation, for the ``pii`` stage.

A candidate is a run of digit groups (single separators `` .-/``, parenthesized groups, an optional
``+`` or ``00`` international prefix and an ``x123``/``ext. 123`` extension) that is not glued to a
word, a time (``09:24:44``), a decimal or a path. It is a phone number when:

- it carries an international prefix (``+49 30 901820``, ``0049 30 901820``) and `phonenumbers`_
  says the number is possible for that country code (right length; unknown codes fail);
- it has a parenthesized area code (``(0351) 123456``, ``8 (912) 123-45-67``): 7–15 digits;
- it has a shape only phone numbers have, in any country: a trunk ``0``, 8–12 digits in groups
  of two or more (``030 901820``, ``090-1234-5678``, ``01 23 45 67 89``; contiguous: 10–11
  digits), the North American ``555-123-4567``/``555.123.4567``, a Russian ``8 912 123 45 67``, a
  Brazilian ``11 91234-5678``, a Chinese mobile ``13812345678``;
- otherwise, when the document's language is known, at most four groups of two or more digits,
  one of three or more (no dots, not an ascending ``a-b`` range, not three or more numbers up to
  100), that `phonenumbers`_ says are a *valid* number
  (numbering plan, not just length) in one of that language's main regions (``609 141 777`` in
  Polish, ``3420837783`` in Italian);
- otherwise, when the language is not known (no ``lang``, ``und``, or a language without regions
  in ``REGIONS``), the same checks against *all* regions of ``REGIONS``, but only with strong
  evidence: a phone keyword just before the number (``tel``, ``phone``, ``Tel.``, ``тел.``,
  ``電話`` …, ``PHONE_KEYWORD``), or a typical phone grouping — three or four groups of 2–4 digits,
  9–11 digits in all, one separator (`` `` or ``-``) throughout (``503 432 079``,
  ``32 697 01 36``, ``80-8908-1510``) — or a contiguous mobile number: 10–11 digits that
  `phonenumbers`_ types as a mobile number of one of those regions *written exactly as it is
  dialled there* (``3505247734`` in Italy, ``89242036077`` in Russia, ``5512390240`` in the US;
  not ``1234567890``, a Korean mobile only with its trunk ``0``), so most long IDs stay.

Never: dates (``2024-04-25``, ``25.04.2024``), times, numbers next to a currency or ``%``, runs of
small numbers (``10 20 30 40 50``), ranges (``1990-2000``), ISBNs and version numbers — they match
none of the rules above.

.. _phonenumbers: https://pypi.org/project/phonenumbers/
"""

from __future__ import annotations

import functools
import re

import phonenumbers

_TOKEN = r"(?:\d*\(\d{1,5}\)\d*|\d+)"
_SEP = r"(?:[ .\-/]|(?<=\))|(?=\())"
PHONE_CANDIDATE = re.compile(
    r"(?<![\w@#$€£¥₹₽%.,:/+\-])"  # not glued to a word, an amount, a decimal, a time, a path
    rf"(?:\+ ?|(?=00))?{_TOKEN}(?:{_SEP}{_TOKEN})*"
    r"(?:[ ]?(?:x|ext\.?|ext)[ ]?\d{1,6})?"
    r"(?![\w@%$€£¥₹₽]|[.,:/\-]\d)"  # not followed by a word, an amount, a decimal or time part
)
_EXTENSION = re.compile(r"[ ]?(?:x|ext\.?)[ ]?\d{1,6}$")
_DATE_LIKE = re.compile(r"\d{1,4}([./-])\d{1,2}\1\d{1,4}|\d{4}[./-]\d{1,2}")
_AMOUNT = r"[$€£¥₹₽₩¢%]|USD|EUR|GBP|JPY|CHF|RUB|PLN|CNY|zł|kr|Kč|Ft|Rs|R\$"
_AMOUNT_BEFORE = re.compile(rf"(?:{_AMOUNT})\s?$")
_AMOUNT_AFTER = re.compile(rf"^\s?(?:{_AMOUNT})")
_NANP = re.compile(r"(?:\+?1[ .-])?[2-9]\d{2}([ .-])\d{3}\1\d{4}")
_RU = re.compile(r"8[ -]\d{3}[ -]\d{3}(?:[ -]?\d{2}[ -]?\d{2}|[ -]\d{4})")
_BR = re.compile(r"\d{2} \d{4,5}[ -]\d{4}")
_CN_MOBILE = re.compile(r"1[3-9]\d{9}")
_GROUPS = re.compile(r"\d+")
#: A phone keyword right before a number (≤ 3 characters of punctuation and spaces in between).
PHONE_KEYWORD = re.compile(
    r"(?:\b(?:tel|tél|telf|phone|ph|mobile|mob|cell|fax|call|telefon|telefone|téléphone|teléfono|"
    r"telefono|handy|tlf|puh|gsm|тел|телефон|моб)|電話|电话|手机|手機|携帯|전화|연락처|☎|📞)"
    r"\.?[\s:.\-–]{0,3}(?:\([^)]{1,12}\)[\s:]{0,2})?$",
    re.IGNORECASE,
)
_MOBILE_TYPES = frozenset({phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE})

#: Main regions by language code (langdetect codes): where a bare national number is validated.
REGIONS: dict[str, tuple[str, ...]] = {
    "en": ("US", "GB", "CA", "AU", "IN", "IE", "NZ", "ZA"), "de": ("DE", "AT", "CH"), "fr": ("FR", "BE", "CH", "CA"),
    "es": ("ES", "MX", "AR", "CO", "CL", "PE"), "pt": ("BR", "PT"), "it": ("IT", "CH"), "nl": ("NL", "BE"),
    "ru": ("RU", "KZ", "BY"), "uk": ("UA",), "pl": ("PL",), "cs": ("CZ",), "sk": ("SK",), "hu": ("HU",),
    "ro": ("RO",), "bg": ("BG",), "hr": ("HR",), "sl": ("SI",), "sv": ("SE",), "da": ("DK",), "no": ("NO",),
    "fi": ("FI",), "et": ("EE",), "lv": ("LV",), "lt": ("LT",), "el": ("GR", "CY"), "tr": ("TR",),
    "ja": ("JP",), "ko": ("KR",), "zh-cn": ("CN",), "zh-tw": ("TW", "HK"), "vi": ("VN",), "th": ("TH",),
    "id": ("ID",), "hi": ("IN",), "ar": ("SA", "EG", "AE", "MA"), "he": ("IL",), "fa": ("IR",),
}  # fmt: skip
#: Every region of ``REGIONS`` once, in table order: tried when the language is unknown.
ALL_REGIONS: tuple[str, ...] = tuple(dict.fromkeys(r for regions in REGIONS.values() for r in regions))


def _digits(s: str) -> str:
    return "".join(c for c in s if c.isdigit())


@functools.lru_cache(maxsize=4096)
def _possible_international(digits: str) -> bool:
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_possible_number(number)


@functools.lru_cache(maxsize=4096)
def _valid_in(digits: str, regions: tuple[str, ...]) -> bool:
    for region in regions:
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(digits, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


@functools.lru_cache(maxsize=4096)
def _mobile_in(digits: str, regions: tuple[str, ...]) -> bool:
    for region in regions:
        try:
            number = phonenumbers.parse(digits, region)
        except phonenumbers.NumberParseException:
            continue
        if (
            phonenumbers.is_valid_number(number)
            and phonenumbers.number_type(number) in _MOBILE_TYPES
            and _digits(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)) == digits
        ):
            return True
    return False


def _typical_grouping(s: str, groups: list[str]) -> bool:
    """Three or four groups of 2–4 digits, 9–11 digits in all, one separator (space or hyphen)."""
    seps = set(re.sub(r"\d", "", s))
    return (
        3 <= len(groups) <= 4
        and seps in ({" "}, {"-"})
        and all(2 <= len(g) <= 4 for g in groups)
        and 9 <= sum(map(len, groups)) <= 11
    )


def next_to_amount(text: str, start: int, end: int) -> bool:
    """Whether a currency sign or code, or ``%``, stands right before or after ``text[start:end]``."""
    return bool(_AMOUNT_BEFORE.search(text[max(0, start - 5) : start]) or _AMOUNT_AFTER.match(text[end : end + 5]))


def is_phone(text: str, start: int, end: int, lang: str | None = None) -> bool:
    """Whether the candidate ``text[start:end]`` is a phone number (rules in the module docstring)."""
    s = _EXTENSION.sub("", text[start:end])
    digits = _digits(s)
    if not 7 <= len(digits) <= 15 or _DATE_LIKE.fullmatch(s) or next_to_amount(text, start, end):
        return False
    if s.startswith("+"):
        return _possible_international(_digits(s.replace("(0)", "")))
    if digits.startswith("00"):
        return len(digits) > 9 and _possible_international(_digits(s.replace("(0)", ""))[2:])
    if "(" in s:
        return True
    groups = _GROUPS.findall(s)
    if len(groups) == 1 and digits[0] == "0" and 10 <= len(digits) <= 11:  # contiguous, trunk 0
        return True
    if len(groups) > 1 and digits[0] == "0" and 8 <= len(digits) <= 12 and min(map(len, groups)) >= 2:  # trunk 0
        return True
    if any(p.fullmatch(s) for p in (_NANP, _RU, _BR, _CN_MOBILE)):
        return True
    regions = REGIONS.get(lang or "")
    if not regions:  # language unknown: every region, with strong evidence only
        regions = ALL_REGIONS
        if not PHONE_KEYWORD.search(text[max(0, start - 24) : start]):
            if len(groups) == 1 and 10 <= len(digits) <= 11:
                return _mobile_in(digits, regions)
            if not _typical_grouping(s, groups):
                return False
    shape = [len(g) for g in groups]
    if "." in s or "/" in s or len(groups) > 4 or min(shape) < 2 or max(shape) < 3:
        return False  # dotted (versions), many or only short groups (scores): no
    if len(groups) == 2 and "-" in s and int(groups[0]) < int(groups[1]):
        return False  # a range
    if len(groups) >= 3 and all(g[0] != "0" and int(g) <= 100 for g in groups):
        return False  # a list of small numbers (scores, counts)
    return _valid_in(digits, regions)
