"""Deprecated: moved to :mod:`gancore.recipe.refs` (authors: :mod:`gancore.plugin`)."""

from gancore._lazy import moved_module

__getattr__ = moved_module(__name__, "gancore.recipe.refs")
