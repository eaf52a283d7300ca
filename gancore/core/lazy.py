"""Lazy package attributes, so importing a gancore package does not import torch."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_attributes(
    package: str, table: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module ``__getattr__`` and ``__dir__`` for ``package`` that import on first use.

    ``table`` maps an attribute to ``"module"`` (same attribute name) or ``"module:attr"``;
    a module starting with ``.`` is relative to ``package``. Each value is cached on the module.
    """

    def __getattr__(name: str) -> Any:
        target = table.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attr = target.partition(":")
        value = getattr(importlib.import_module(module, package), attr or name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *table})

    return __getattr__, __dir__


def moved_module(old: str, *new_modules: str) -> Callable[[str], Any]:
    """Module ``__getattr__`` for a module that moved: forwards to the first of ``new_modules``
    that has the name, with a :class:`DeprecationWarning` naming it.

    ``from old import X`` keeps working.
    """

    def __getattr__(name: str) -> Any:
        import warnings

        if name.startswith("__"):
            raise AttributeError(name)
        for new in new_modules:
            module = importlib.import_module(new)
            if hasattr(module, name):
                value = getattr(module, name)
                break
        else:
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        warnings.warn(
            f"{old}.{name} is deprecated: import it from {new} "
            "(authors: gancore.plugin has the whole author API)",
            DeprecationWarning,
            stacklevel=2,
        )
        return value

    return __getattr__
