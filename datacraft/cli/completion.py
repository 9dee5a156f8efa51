"""``datacraft completion bash|zsh|fish``: the shell completion script (commands, options, stage names)."""

from __future__ import annotations

import click
from click.shell_completion import CompletionItem, get_completion_class

COMPLETE_VAR = "_DATACRAFT_COMPLETE"


def _stage_items(incomplete: str) -> list[CompletionItem]:
    from datacraft.stages.registry import all_stages

    items = []
    for name, cls in all_stages().items():
        if name.startswith(incomplete):
            doc = (cls.__doc__ or "").strip().splitlines()
            items.append(CompletionItem(name, help=doc[0] if doc else None))
    return items


def complete_stage(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Complete one stage name."""
    return _stage_items(incomplete)


def complete_stage_list(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Complete the last name of a comma-separated stage list (``clean,pi`` → ``clean,pii``)."""
    head, _, last = incomplete.rpartition(",")
    prefix = f"{head}," if head else ""
    return [CompletionItem(prefix + item.value, help=item.help) for item in _stage_items(last)]


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL (commands, options, file names and stage names).

    \b
    Examples:
      eval "$(datacraft completion bash)"                  # this bash session; add it to ~/.bashrc
      datacraft completion zsh > ~/.zfunc/_datacraft       # zsh, with ~/.zfunc on $fpath
      datacraft completion fish > ~/.config/fish/completions/datacraft.fish
    """
    from datacraft.cli import main

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - click ships all three
        raise click.UsageError(f"no completion for {shell}")
    click.echo(cls(main, {}, "datacraft", COMPLETE_VAR).source())
