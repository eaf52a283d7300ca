"""Deprecated: moved to :mod:`gancore.assembly.context` (authors: :mod:`gancore.plugin`)."""

from gancore._lazy import moved_module

__getattr__ = moved_module(__name__, "gancore.assembly.context")
