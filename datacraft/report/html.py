"""Small HTML building blocks: escaped tables, figures and sections of one self-contained page."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1100px;
       padding: 1.5rem; color: #222; background: #fff; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; border-bottom: 1px solid #ddd;
       padding-bottom: .2rem; margin-top: 2rem; }
nav a { margin-right: .8rem; font-size: .9rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .85rem; }
th, td { border-bottom: 1px solid #eee; padding: .25rem .6rem; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; height: auto; } .grid { display: flex; flex-wrap: wrap; gap: .5rem; }
.grid figure { flex: 1 1 480px; margin: 0; } .note { color: #666; font-size: .85rem; }
.warn { background: #fff3cd; border: 1px solid #e0c060; padding: .5rem .8rem; }
.bad { color: #b00020; font-weight: bold; } code { background: #f4f4f4; padding: 0 .2rem; }
pre.doc { white-space: pre-wrap; word-break: break-word; max-width: 640px; margin: 0; font-size: .8rem; }
"""


def fmt_num(v: Any) -> str:
    """Integers with thousands separators, floats with 3 significant decimals."""
    if isinstance(v, bool) or v is None:
        return escape(str(v))
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.3f}".rstrip("0").rstrip(".") if abs(v) < 1000 else f"{v:,.0f}"
    return escape(str(v))


def pct(part: float, whole: float) -> str:
    """A percentage, or an empty string when ``whole`` is zero."""
    return f"{100 * part / whole:.1f}%" if whole else ""


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[int] = ()) -> str:
    """An HTML table; columns listed in ``numeric`` are right-aligned and number-formatted."""
    num = set(numeric)
    head = "".join(
        f'<th class="n">{escape(h)}</th>' if i in num else f"<th>{escape(h)}</th>" for i, h in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="n">{fmt_num(v)}</td>' if i in num else f"<td>{_cell(v)}</td>" for i, v in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class Raw(str):
    """Markup that must not be escaped again."""


def _cell(v: Any) -> str:
    return v if isinstance(v, Raw) else fmt_num(v)


def img(uri: str, alt: str) -> str:
    """A figure with an embedded image."""
    return f'<figure><img src="{uri}" alt="{escape(alt)}"></figure>'


def note(text: str) -> str:
    """A grey explanatory line (escaped)."""
    return f'<p class="note">{escape(text)}</p>'


def section(anchor: str, title: str, body: str) -> str:
    """A titled section with an anchor the navigation links to."""
    return f'<section id="{escape(anchor)}"><h2>{escape(title)}</h2>\n{body}\n</section>'


def page(title: str, header: str, sections: Sequence[tuple[str, str, str]]) -> str:
    """The whole document: navigation, then ``(anchor, title, body)`` sections."""
    nav = "".join(f'<a href="#{escape(a)}">{escape(t)}</a>' for a, t, _ in sections)
    body = "\n".join(section(a, t, b) for a, t, b in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>\n"
        f"<body>\n{header}\n<nav>{nav}</nav>\n{body}\n</body></html>\n"
    )
