"""``datacraft stages``: every registered stage with its parameters and defaults."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from datacraft.cli.completion import complete_stage

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo


def _type_name(info: FieldInfo) -> str:
    ann = info.annotation
    text = getattr(ann, "__name__", None) if not getattr(ann, "__args__", None) else None
    return text or str(ann).replace("typing.", "")


def describe_stages() -> list[dict[str, Any]]:
    """Stages as plain data: name, kind, summary, parameters (type, default, description), columns."""
    from datacraft.stages.registry import all_stages, stage_origin  # the registry imports every stage's base

    out = []
    for name, cls in all_stages().items():
        params = []
        for pname, info in cls.Params.model_fields.items():
            default = None if info.is_required() else info.get_default(call_default_factory=True)
            params.append(
                {
                    "name": pname,
                    "type": _type_name(info),
                    "default": default,
                    "required": info.is_required(),
                    "description": info.description or "",
                }
            )
        doc = (cls.__doc__ or "").strip().splitlines()
        out.append(
            {
                "name": name,
                "kind": cls.kind,
                "summary": doc[0] if doc else "",
                "params": params,
                "columns": cls.output_columns(),
                "origin": stage_origin(name),
            }
        )
    return out


@click.command()
@click.argument("name", required=False, shell_complete=complete_stage)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option(
    "--plugin",
    "plugins",
    multiple=True,
    metavar="MODULE|FILE.py",
    help="Also load this plugin (as a pipeline's plugins: list does); installed entry points load anyway.",
)
def stages(name: str | None, as_json: bool, plugins: tuple[str, ...]) -> None:
    """List stages with their parameters and defaults (or one stage by NAME), built-in and user stages.

    
    Examples:
      datacraft stages                       every stage, its parameters and the columns it adds
      datacraft stages gopher_quality        one stage
      datacraft stages --json | jq '.[].name'
      datacraft stages --plugin my_stages.py user stages from a file (see docs/plugins.md)
    """
    if plugins:
        from datacraft.stages.registry import load_plugins, resolve_plugin

        load_plugins([resolve_plugin(p, None) for p in plugins])
    described = describe_stages()
    if name:
        all_names = [d["name"] for d in described]
        described = [d for d in described if d["name"] == name]
        if not described:
            from datacraft.suggest import did_you_mean

            raise click.UsageError(
                f"unknown stage {name!r}{did_you_mean(name, all_names)}; `datacraft stages` lists them"
            )
    if as_json:
        click.echo(json.dumps(described, indent=2, default=str))
        return
    for d in described:
        origin = "" if d["origin"] == "built-in" else f"  (from {d['origin']})"
        click.echo(f"{d['name']}  [{d['kind']}]  {d['summary']}{origin}")
        for p in d["params"]:
            default = "required" if p["required"] else f"default {p['default']!r}"
            click.echo(f"    {p['name']:<22} {p['type']:<26} {default:<22} {p['description']}")
        if d["columns"]:
            click.echo("    adds columns: " + ", ".join(f"{k} ({v})" for k, v in d["columns"].items()))
        click.echo("")
