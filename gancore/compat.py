"""Every import path gancore has moved, still importable, each with a ``DeprecationWarning``
naming its new home. They go away in gancore :data:`REMOVED_IN`.

Packs and scripts written for 0.1 and 0.2 import modules that have since moved into
subpackages (``gancore.kinds`` is ``gancore.core.kinds``, ``gancore.plugins`` is
``gancore.packs.loader``...). :data:`MOVED` maps each old module to its new one; importing the
old name gives the new module itself, so its classes and functions are the same objects.
:data:`FORWARDED` lists the old modules whose names now live in several places (0.1's
``gancore.context``, ``gancore.spec``...): each name is looked up on first use and warns once.

:func:`install` (called by ``import gancore``) puts a finder for these names on
``sys.meta_path``; it imports nothing until an old name is imported.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from typing import Any

#: The version the old paths go away in.
REMOVED_IN = "0.5"

#: old module -> new module (moved whole).
MOVED: dict[str, str] = {
    "gancore.kinds": "gancore.core.kinds",
    "gancore.protocols": "gancore.core.protocols",
    "gancore.errors": "gancore.core.errors",
    "gancore.params": "gancore.core.params",
    "gancore._lazy": "gancore.core.lazy",
    "gancore.recipe.refs": "gancore.core.refs",
    "gancore.hookspecs": "gancore.packs.hookspecs",
    "gancore.plugins": "gancore.packs.loader",
    "gancore.builtins": "gancore.packs.builtin",
    "gancore.io": "gancore.storage.io",
    "gancore.checkpoint": "gancore.assembly.checkpoint",
    "gancore.train.plots": "gancore.plotting.figures",
    "gancore.train.threads": "gancore.core.threads",
    "gancore.train.quality": "gancore.evaluation.during_training",
}

#: old module -> the modules its names are looked up in, in order (and 0.1's views).
FORWARDED: dict[str, tuple[str, ...]] = {
    "gancore.registry": ("gancore.core.registry",),
    "gancore.contract": ("gancore.core.contract", "gancore.testing.conformance"),
    "gancore.context": ("gancore.assembly.context",),
    "gancore.spec": ("gancore.core.refs",),
    "gancore.assemble": ("gancore.assembly.sequence",),
    "gancore.builder": ("gancore.assembly.build", "gancore.assembly.summary"),
}


def _kinds_views() -> dict[str, Any]:
    """0.1's ``gancore.registry.KINDS`` and ``BUILDER_ARGS``, derived from the table of kinds."""
    from gancore.core.kinds import KINDS

    return {"KINDS": {k.name: k.summary for k in KINDS.values()},
            "BUILDER_ARGS": {k.name: k.supplied for k in KINDS.values()}}


def _warn(old: str, new: str, stacklevel: int = 3) -> None:
    warnings.warn(f"{old} is deprecated: import it from {new} (the old path goes away in "
                  f"gancore {REMOVED_IN}; authors: gancore.plugin has the whole author API)",
                  DeprecationWarning, stacklevel=stacklevel)


def forwarding_module(old: str, targets: tuple[str, ...]) -> types.ModuleType:
    """A module whose attributes are those of ``targets`` (the first that has each)."""
    module = types.ModuleType(old, f"Moved: see {', '.join(targets)}.")

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if old == "gancore.registry" and name in ("KINDS", "BUILDER_ARGS"):
            _warn(f"{old}.{name}", "gancore.core.kinds.KINDS")
            return _kinds_views()[name]
        for target in targets:
            found = importlib.import_module(target)
            if hasattr(found, name):
                _warn(f"{old}.{name}", target)
                return getattr(found, name)
        raise AttributeError(f"module {old!r} has no attribute {name!r}")

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    return module


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        old = spec.name
        if old in MOVED:
            _warn(old, MOVED[old], stacklevel=7)
            return importlib.import_module(MOVED[old])
        return forwarding_module(old, FORWARDED[old])

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the module is the new one (or forwards to it)."""


class _Finder(importlib.abc.MetaPathFinder):
    """Finds the old module names (and nothing else)."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname in MOVED or fullname in FORWARDED:
            return importlib.machinery.ModuleSpec(fullname, _Loader())
        return None


_FINDER = _Finder()


def install() -> None:
    """Make the old module names importable (idempotent)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.append(_FINDER)
