"""Built-in stages. Importing this package registers every one of them."""

from datacraft.stages import (  # noqa: F401
    clean,
    html,
    langid,
    length,
    model_quality,
    normalize,
    pii,
    quality,
    reflow,
    split,
    threshold,
)
