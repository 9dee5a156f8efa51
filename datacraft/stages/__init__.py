"""Built-in stages. Importing this package registers every one of them."""

from datacraft.stages import clean, html, langid, length, normalize, pii  # noqa: F401
from datacraft.stages.quality import (  # noqa: F401
    blocklist,
    c4,
    fineweb_quality,
    gopher_quality,
    gopher_repetition,
    threshold,
)
