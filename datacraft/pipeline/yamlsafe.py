"""YAML loading with bounds: file size and alias expansion (no "billion laughs").

``yaml.safe_load`` shares the object of an anchor among its aliases, so an alias bomb costs little
to parse, but anything that walks the result (validation, hashing, JSON) expands it. Here the
composed node graph is measured first: the number of nodes it stands for once every alias is
expanded must stay under :data:`MAX_NODES`. Ordinary anchors (a shared stage list, defaults merged
with ``<<``) are far below it.
"""

from __future__ import annotations

from typing import Any

import yaml

from datacraft.errors import ConfigError

#: Largest YAML text accepted (a pipeline is a few KiB).
MAX_BYTES = 4 * 1024 * 1024
#: Most nodes the document may expand to, every alias counted at its full size.
MAX_NODES = 200_000


def expanded_size(node: yaml.Node, limit: int = MAX_NODES) -> int:
    """Nodes ``node`` stands for with every alias expanded; ConfigError past ``limit`` or on a cycle."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def visit(n: yaml.Node) -> int:
        key = id(n)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise ConfigError("YAML refers to itself through an alias (a recursive structure)")
        active.add(key)
        total = 1
        if isinstance(n, yaml.SequenceNode):
            for child in n.value:
                total += visit(child)
                if total > limit:
                    break
        elif isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                total += visit(k) + visit(v)
                if total > limit:
                    break
        active.discard(key)
        if total > limit:
            raise ConfigError(
                f"YAML expands to more than {limit:,} values through its aliases (an alias bomb?); refused"
            )
        sizes[key] = total
        return total

    return visit(node)


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that measures the composed document before building Python objects."""

    def get_single_node(self) -> Any:
        node = super().get_single_node()
        if node is not None:
            expanded_size(node)
        return node


def safe_load_bounded(text: str, source: str = "YAML") -> Any:
    """``yaml.safe_load`` with the size and alias-expansion bounds; errors are ConfigError naming ``source``."""
    if len(text) > MAX_BYTES:
        raise ConfigError(f"{source}: {len(text):,} characters is more than the {MAX_BYTES:,} a config may have")
    try:
        return yaml.load(text, Loader=_BoundedLoader)
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None
    except RecursionError:
        raise ConfigError(f"{source}: YAML nested too deeply") from None
