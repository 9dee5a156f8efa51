"""Built-in stages. Importing this package registers every one of them."""

from datacraft.stages import langid, length, model_quality, normalize  # noqa: F401
