"""The built-in plugin: gancore's own components, registered through the public hook.

Like an entry point, each registration module is named by a string and imported when the hook
runs, so the plugin loader (a low layer) depends on no component module, and loading the
built-in pack imports no torch (every factory is a lazy ``"module:attribute"`` string).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from gancore.packs.hookspecs import hookimpl

#: The modules with gancore's own components, each with ``register(registry)``, in order.
REGISTRATIONS = (
    "gancore.nn.registration",
    "gancore.data.registration",
    "gancore.metrics.registration",
    "gancore.train.registration",
    "gancore.sweep.registration",
)


@hookimpl
def gancore_register_components(registry) -> None:  # type: ignore[no-untyped-def]
    """Register the built-in components."""
    for name in REGISTRATIONS:
        importlib.import_module(name).register(registry)


@hookimpl
def gancore_recipe_dirs() -> list[str]:
    """The bundled recipes."""
    return [str(Path(__file__).resolve().parent.parent / "recipes")]
