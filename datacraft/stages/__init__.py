"""Built-in stages. Importing this package registers every one of them."""

from datacraft.stages import (  # noqa: F401  # noqa: F401,E402  (text by kind)
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
