"""Loading plugin packs into a registry, each in isolation.

The built-in plugin (:mod:`gancore.builtin.plugin`) is registered first, through the same hook
as any pack; then every entry point of the ``gancore`` group. A pack that fails to import, has
a misspelt hook, raises in its hook or registers a name twice is recorded as ``failed`` (its
partial registrations are rolled back) and the others go on; ``strict=True`` raises instead.

Environment:
  ``GANCORE_DISABLE_PLUGIN_AUTOLOAD=1``  load no entry-point packs (the built-ins still load)
  ``GANCORE_BLOCK_PLUGINS=a,b``          skip the named entry points
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from gancore import hookspecs
from gancore.errors import GancoreError, PluginError
from gancore.registry import Registry

ENTRY_POINT_GROUP = "gancore"
BUILTIN_NAME = "builtin"


@dataclass
class PluginInfo:
    """What happened to one plugin when the registry was built."""

    name: str
    version: str | None = None
    dist: str | None = None
    status: str = "loaded"  # loaded | failed | blocked
    error: str | None = None
    components: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "dist": self.dist,
            "status": self.status,
            "error": self.error,
            "components": self.components,
        }


@dataclass
class LoadedPlugins:
    """A registry together with the plugin manager and report that produced it."""

    registry: Registry
    manager: pluggy.PluginManager
    plugins: list[PluginInfo]

    def failed(self) -> list[PluginInfo]:
        return [p for p in self.plugins if p.status == "failed"]


def _gancore_version() -> str:
    from gancore import __version__

    return __version__


def _env_list(name: str) -> set[str]:
    return {s.strip() for s in os.environ.get(name, "").split(",") if s.strip()}


def make_manager() -> pluggy.PluginManager:
    """A fresh plugin manager with gancore's hookspecs (there is no global one)."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def load_plugins(
    *,
    extra: Iterable[Any | tuple[str, Any]] = (),
    autoload: bool | None = None,
    block: Iterable[str] = (),
    strict: bool = False,
    builtin: bool = True,
) -> LoadedPlugins:
    """Build a registry from the built-in plugin, entry-point packs and ``extra`` objects.

    ``extra`` items are plugin objects/modules or ``(name, object)`` pairs, registered after
    the entry points (this is how tests add a plugin without installing it).
    """
    pm = make_manager()
    infos: list[PluginInfo] = []
    blocked = set(block) | _env_list("GANCORE_BLOCK_PLUGINS")
    if autoload is None:
        autoload = os.environ.get("GANCORE_DISABLE_PLUGIN_AUTOLOAD", "") in ("", "0")

    candidates: list[tuple[PluginInfo, Any]] = []
    if builtin:
        from gancore.builtin import plugin as builtin_plugin

        candidates.append((PluginInfo(BUILTIN_NAME, _gancore_version(), "gancore"), builtin_plugin))

    if autoload:
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist = getattr(ep, "dist", None)
            info = PluginInfo(ep.name, dist.version if dist else None, dist.name if dist else None)
            if ep.name in blocked or (info.dist and info.dist in blocked):
                info.status = "blocked"
                infos.append(info)
                continue
            try:
                obj = ep.load()
            except Exception as exc:  # a broken pack must never brick the tool
                info.status, info.error = "failed", f"import failed: {type(exc).__name__}: {exc}"
                infos.append(info)
                if strict:
                    raise PluginError(
                        f"plugin {ep.name!r} ({ep.value}) {info.error}",
                        hint="fix or uninstall the pack, or block it with "
                        f"GANCORE_BLOCK_PLUGINS={ep.name}",
                    ) from exc
                continue
            candidates.append((info, obj))

    for item in extra:
        name, obj = item if isinstance(item, tuple) else (None, item)
        name = name or getattr(obj, "__name__", None) or type(obj).__name__
        candidates.append((PluginInfo(str(name), getattr(obj, "__version__", None)), obj))

    registry = Registry()
    for info, obj in candidates:
        infos.append(info)
        try:
            pm.register(obj, name=info.name)
            _check_hooks(pm, obj, info.name)
        except Exception as exc:
            if pm.is_registered(obj):
                pm.unregister(obj)
            _fail(info, exc, strict)
            continue
        registry._set_origin(info.name, info.version)
        try:
            _call_plugin_hooks(pm, obj, registry)
        except Exception as exc:
            registry._remove_origin(info.name)
            pm.unregister(obj)
            _fail(info, exc, strict)
            continue
        info.components = [
            f"{e.kind}:{e.name}" for e in registry.entries() if e.origin == info.name
        ]
    registry._set_origin("unknown", None)
    return LoadedPlugins(registry, pm, infos)


def _fail(info: PluginInfo, exc: Exception, strict: bool) -> None:
    info.status = "failed"
    info.error = exc.message if isinstance(exc, GancoreError) else f"{type(exc).__name__}: {exc}"
    if strict:
        if isinstance(exc, GancoreError):
            raise exc
        raise PluginError(
            f"plugin {info.name!r} failed: {info.error}",
            hint="fix or uninstall the pack, or run without --strict-plugins",
        ) from exc


def _check_hooks(pm: pluggy.PluginManager, obj: Any, name: str) -> None:
    """Reject misspelt ``gancore_*`` hooks (pluggy's check_pending, per plugin)."""
    from gancore.errors import suggest

    known = [h for h in dir(hookspecs) if h.startswith("gancore_")]
    for attr in dir(obj):
        if attr.startswith("gancore_") and callable(getattr(obj, attr, None)) and attr not in known:
            raise PluginError(
                f"plugin {name!r} implements unknown hook {attr!r}{suggest(attr, known)}"
            )


def _call_plugin_hooks(pm: pluggy.PluginManager, obj: Any, registry: Registry) -> None:
    """Call one plugin's hook implementations (so its failures stay its own)."""
    for impl in pm.hook.gancore_register_components.get_hookimpls():
        if impl.plugin is obj:
            impl.function(registry=registry)
    for impl in pm.hook.gancore_recipe_dirs.get_hookimpls():
        if impl.plugin is obj:
            for path in impl.function() or []:
                registry.add_recipe_dir(str(path))


_DEFAULT: LoadedPlugins | None = None


def default_plugins(*, refresh: bool = False, strict: bool = False) -> LoadedPlugins:
    """The process-wide registry of installed plugins, built on first use."""
    global _DEFAULT
    if _DEFAULT is None or refresh or strict:
        _DEFAULT = load_plugins(strict=strict)
    return _DEFAULT


def get_registry(*, refresh: bool = False) -> Registry:
    """The registry of the built-in components and every installed plugin pack."""
    return default_plugins(refresh=refresh).registry


def set_default(loaded: LoadedPlugins | None) -> None:
    """Replace the process-wide plugins (used by tests and ``--block-plugin``)."""
    global _DEFAULT
    _DEFAULT = loaded


def component_pack(registry: Registry, kind: str, name: str) -> str | None:
    """The distribution name of the pack that provides ``kind``/``name`` (None if built in)."""
    if (kind, name) not in registry:
        return None
    origin = registry.get(kind, name).origin
    if origin == BUILTIN_NAME:
        return None
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == origin and getattr(ep, "dist", None):
            return ep.dist.name
    return origin
