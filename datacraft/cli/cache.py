"""``datacraft cache``: list the local cache of derived tables, and prune other versions' entries."""

from __future__ import annotations

import json
import time

import click

from datacraft.cli.options import quiet_option


def current_entries() -> set[str]:
    """Folder names of the entries this version uses (langid's default tables and script classes)."""
    from datacraft.langid.fast import tables_cache_name
    from datacraft.langid.script import class_table_key

    return {tables_cache_name(), f"langid-script-{class_table_key()}"}


def _age(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


@click.command()
@click.option(
    "--prune",
    is_flag=True,
    help="Remove the entries this version does not use (other checkouts rebuild theirs on next use, ~1 s) "
    "and builders' leftovers older than an hour.",
)
@click.option(
    "--older-than",
    "days",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="--prune: only entries unused for at least this many days (on a shared machine: e.g. 7).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the entries (and what was removed) as JSON.")
@quiet_option
def cache(prune: bool, days: float, as_json: bool, quiet: int) -> None:
    """List the local cache of derived tables (langid) with sizes and last use; --prune removes old entries.

    The cache is $DATACRAFT_CACHE (default $XDG_CACHE_HOME/datacraft or ~/.cache/datacraft;
    DATACRAFT_CACHE=off disables it). Entries of other versions unused for 7 days are also removed
    automatically whenever a new entry is written. Only datacraft's own folders are ever touched.

    \b
    Examples:
      datacraft cache
      datacraft cache --prune
      datacraft cache --prune --older-than 7
    """
    from datacraft.langid.cache import cache_root, list_entries
    from datacraft.langid.cache import prune as prune_entries

    root = cache_root()
    if root is None:
        click.echo("the cache is disabled (DATACRAFT_CACHE=off)")
        return
    current = current_entries()
    removed = prune_entries(root, keep=current, unused_for=days * 86400) if prune else []
    entries = list_entries(root)
    now = time.time()
    if as_json:
        rows = [
            {
                "folder": e.path.name,
                "name": e.name,
                "size": e.size,
                "last_used": e.last_used,
                "current": e.path.name in current,
                "leftover": e.key is None,
            }
            for e in entries
        ]
        gone = [{"folder": e.path.name, "size": e.size} for e in removed]
        click.echo(json.dumps({"root": str(root), "entries": rows, "removed": gone}, indent=2))
        return
    if quiet:
        return
    if prune:
        freed = sum(e.size for e in removed)
        click.echo(f"removed {len(removed)} folder(s), {freed / 1e6:.1f} MB")
    click.echo(f"{root}: {len(entries)} folder(s), {sum(e.size for e in entries) / 1e6:.1f} MB")
    for e in entries:
        tag = "current" if e.path.name in current else "leftover" if e.key is None else ""
        click.echo(f"  {e.path.name:<48} {e.size / 1e6:>8.1f} MB  used {_age(now - e.last_used):>8} ago  {tag}")
