"""Show untrusted document text safely: control characters (terminal escapes) made visible."""

from __future__ import annotations

import re
import sys

# C0 controls except tab and newline, DEL, C1 controls, and bidi overrides that reorder what is shown.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(m: re.Match[str]) -> str:
    c = m.group()
    return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"


def escape_controls(text: str) -> str:
    """Replace control characters (ESC, BEL, CR, bidi overrides…) by ``\\x1b``-style escapes."""
    return _CONTROL.sub(_visible, text)


def for_terminal(text: str, stream: object = None) -> str:
    """``text`` with controls escaped when ``stream`` (default stdout) is a terminal; unchanged otherwise."""
    s = stream if stream is not None else sys.stdout
    try:
        tty = bool(s.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        tty = False
    return escape_controls(text) if tty else text


def truncate(text: str, max_chars: int) -> str:
    """At most ``max_chars`` characters, with an ellipsis and the count left out."""
    if max_chars <= 0 or len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}… ({len(text) - max_chars:,} more characters)"
