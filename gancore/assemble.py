"""Deprecated: moved to :mod:`gancore.assembly.sequence` (authors: :mod:`gancore.plugin`)."""

from gancore._lazy import moved_module

__getattr__ = moved_module(__name__, "gancore.assembly.sequence")
