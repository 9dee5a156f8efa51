"""Built-in stages. Importing this package registers every one of them."""

from datacraft.stages import clean, html, langid, length, model_quality, normalize, pii, quality, threshold  # noqa: F401
