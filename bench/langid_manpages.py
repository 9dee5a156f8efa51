"""Long technical pages with a language label: this machine's manual pages, rendered to text.

Every page under ``/usr/share/man/<locale>/`` whose locale maps to a langdetect code (``zh_TW`` →
``zh-tw``, ``pt_BR`` → ``pt``; ``sr`` has no profile and is skipped) plus a seeded sample of the
English ``man1``/``man5``/``man8`` pages, rendered with ``groff -man -Tutf8`` (no overstrike, no
colour), keeping pages of at least ``min_chars`` characters. Rendering takes a minute, so the rows
are cached as JSONL (``--out``). Labels are per directory: translated pages keep English option
names and examples, which makes them hard, as real technical pages are.

    python bench/langid_manpages.py --out /tmp/manpages.jsonl      # build the set (cached by langid_bench)
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import subprocess
from pathlib import Path

MAN_ROOT = Path("/usr/share/man")
LOCALES = {
    "cs": "cs", "da": "da", "de": "de", "es": "es", "fi": "fi", "fr": "fr", "hr": "hr", "hu": "hu", "id": "id",
    "it": "it", "ja": "ja", "ko": "ko", "nl": "nl", "pl": "pl", "pt": "pt", "pt_BR": "pt", "ro": "ro", "ru": "ru",
    "sl": "sl", "sv": "sv", "tr": "tr", "uk": "uk", "zh_CN": "zh-cn", "zh_TW": "zh-tw",
}  # fmt: skip
DEFAULT_CACHE = Path.home() / ".cache" / "datacraft-bench" / "manpages.jsonl"


def render(path: Path) -> str:
    """One manual page as plain UTF-8 text ('' when groff fails)."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    if raw.startswith(b".so "):  # a link to another page
        return ""
    try:
        out = subprocess.run(
            ["groff", "-man", "-Tutf8", "-k", "-P-c", "-P-b", "-P-u"],
            input=raw,
            capture_output=True,
            timeout=30,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.decode("utf-8", "replace").strip()


def pages(root: Path = MAN_ROOT, english: int = 300, seed: int = 0) -> list[tuple[str, Path]]:
    """(label, path) of every localized page and of ``english`` sampled English pages, sorted."""
    out = [
        (code, p)
        for loc, code in LOCALES.items()
        for p in sorted((root / loc).glob("man*/*"))
        if p.is_file() and not p.is_symlink()
    ]
    en = sorted(p for sec in ("man1", "man5", "man8") for p in (root / sec).glob("*") if p.is_file())
    en = [p for p in en if not p.is_symlink()]
    out += [("en", p) for p in sorted(random.Random(seed).sample(en, min(english, len(en))))]
    return out


def build(out: Path, root: Path = MAN_ROOT, english: int = 300, min_chars: int = 1000) -> list[dict]:
    """Render the pages, keep those of ``min_chars`` or more, write JSONL rows to ``out``."""
    rows = []
    for lang, path in pages(root, english):
        text = render(path)
        if len(text) >= min_chars:
            rows.append({"id": f"man:{path.relative_to(root)}", "lang": lang, "text": text})
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(out)
    return rows


def load_or_build(cache: Path = DEFAULT_CACHE, root: Path = MAN_ROOT) -> list[dict]:
    """The cached rows, built first when absent; [] when this machine has no manual pages."""
    if not cache.exists():
        if not (root / "man1").is_dir():
            return []
        build(cache, root)
    with open(cache, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--root", type=Path, default=MAN_ROOT)
    ap.add_argument("--english", type=int, default=300, help="seeded sample of English pages")
    ap.add_argument("--min-chars", type=int, default=1000)
    args = ap.parse_args()
    rows = build(args.out, args.root, args.english, args.min_chars)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["lang"]] = counts.get(r["lang"], 0) + 1
    print(f"{len(rows)} pages -> {args.out}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
