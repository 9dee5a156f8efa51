"""'Did you mean …?' for command names and configuration keys."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean X?)`` for the closest choices, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    if not close and len(word) >= 3:
        close = [c for c in choices if c.startswith(word)][:3]
    return f" (did you mean {' or '.join(close)}?)" if close else ""


def unknown_command_message(name: str, commands: list[str]) -> str:
    """The message for an unknown subcommand."""
    return f"no such command {name!r}{did_you_mean(name, commands)}; `datacraft --help` lists the commands"
