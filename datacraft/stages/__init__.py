"""Built-in stages. Importing this package registers every one of them."""

from datacraft.stages import langid, length, normalize, quality, threshold  # noqa: F401
