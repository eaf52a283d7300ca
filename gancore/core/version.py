"""gancore's version (recorded in checkpoints, caches and prepared data)."""

__version__ = "0.3.0"
