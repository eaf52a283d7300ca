"""Loading plugin packs into a registry, each in isolation.

Load order (deterministic): the built-in plugin (:mod:`gancore.packs.builtin`), through the same
hook as any pack; then the entry points of the ``gancore`` group sorted by name; then the
``extra`` plugin objects in the order given. For each pack, pluggy registers it and checks
its hooks (``check_pending``); blocked names are refused by pluggy's ``set_blocked``.

A pack that fails to import, has a misspelt hook or raises in its hook is recorded as
``failed`` with its error (its partial registrations are rolled back), a
:class:`PluginWarning` names it, and the others go on. Several origins may register one
name: each component keeps its qualified name (``origin:name``), and a bare name means the one
origin's, a pack's over gancore's own, or is an error when several packs register it
(:class:`~gancore.core.registry.Registry`); ``gancore plugins`` lists every such name.
A pack that registers one name twice loses the second. ``strict=True`` raises instead.

Environment:
  ``GANCORE_DISABLE_PLUGIN_AUTOLOAD=1``  load no entry-point packs (the built-ins still load)
  ``GANCORE_BLOCK_PLUGINS=a,b``          skip the named entry points
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from gancore.core.errors import DuplicateComponentError, GancoreError, PluginError
from gancore.core.registry import BUILTIN, Registry
from gancore.packs import hookspecs


class PluginWarning(UserWarning):
    """A plugin pack failed to load, or one of its components was refused."""

ENTRY_POINT_GROUP = "gancore"
BUILTIN_NAME = BUILTIN  # the built-in pack's origin


@dataclass
class PluginInfo:
    """What happened to one plugin when the registry was built."""

    name: str
    version: str | None = None
    dist: str | None = None
    status: str = "loaded"  # loaded | failed | blocked
    error: str | None = None
    components: list[str] = field(default_factory=list)
    #: components of this pack refused because it registered the name twice
    clashes: list[str] = field(default_factory=list)
    #: built-in components this pack replaces on purpose (``override=True``)
    overrides: list[str] = field(default_factory=list)
    #: names this pack registers that another origin registers too, with what a bare name means
    shared: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "dist": self.dist,
            "status": self.status,
            "error": self.error,
            "components": self.components,
            "clashes": self.clashes,
            "overrides": self.overrides,
            "shared": self.shared,
            "hooks": self.hooks,
        }

    def problems(self) -> list[str]:
        """One line per thing that went wrong for this plugin (for warnings)."""
        out = []
        if self.status == "failed":
            out.append(f"gancore plugin {self.name!r} failed to load and is skipped: {self.error}")
        out += [f"gancore plugin {self.name!r}: {c}" for c in self.clashes]
        return out


@dataclass
class LoadedPlugins:
    """A registry together with the plugin manager and report that produced it."""

    registry: Registry
    manager: pluggy.PluginManager
    plugins: list[PluginInfo]

    def failed(self) -> list[PluginInfo]:
        return [p for p in self.plugins if p.status == "failed"]


def _gancore_version() -> str:
    from gancore.core.version import __version__

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
    warn: bool = True,
) -> LoadedPlugins:
    """Build a registry from the built-in plugin, entry-point packs and ``extra`` objects.

    ``extra`` items are plugin objects/modules or ``(name, object)`` pairs, registered after
    the entry points (this is how tests add a plugin without installing it). A pack that fails
    or loses a name clash is reported by a :class:`PluginWarning` unless ``warn`` is false
    (the CLI prints its own one-line warning instead).
    """
    pm = make_manager()
    infos: list[PluginInfo] = []
    blocked = set(block) | _env_list("GANCORE_BLOCK_PLUGINS")
    for name in blocked:
        pm.set_blocked(name)
    if autoload is None:
        autoload = os.environ.get("GANCORE_DISABLE_PLUGIN_AUTOLOAD", "") in ("", "0")

    candidates: list[tuple[PluginInfo, Any]] = []
    if builtin:
        from gancore.packs import builtin as builtin_plugin

        candidates.append((PluginInfo(BUILTIN_NAME, _gancore_version(), "gancore"), builtin_plugin))

    if autoload:
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist = getattr(ep, "dist", None)
            info = PluginInfo(ep.name, dist.version if dist else None, dist.name if dist else None)
            if pm.is_blocked(ep.name) or (info.dist and info.dist in blocked):
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
        # a pack's own tests register the pack that is also installed: the object given here
        # takes the place of the entry point of the same name or the same module
        same = [c for c in candidates if c[0].name != BUILTIN_NAME and (
            c[0].name == str(name) or c[1] is obj)]
        for info, _ in same:
            candidates.remove((info, _))
        version = getattr(obj, "__version__", None) or (same[0][0].version if same else None)
        candidates.append((PluginInfo(str(name), version, same[0][0].dist if same else None),
                           obj))

    registry = Registry()
    for info, obj in candidates:
        infos.append(info)
        _load_one(pm, registry, info, obj, strict)
    registry._set_origin("unknown", None)
    registry.plugins = infos
    _shared_names(registry, infos)
    if warn:
        for info in infos:
            for problem in info.problems():
                warnings.warn(problem, PluginWarning, stacklevel=2)
    return LoadedPlugins(registry, pm, infos)


def _shared_names(registry: Registry, infos: list[PluginInfo]) -> None:
    """Fill each plugin's :attr:`PluginInfo.shared`: names other origins register too, and
    what their bare name means (``gancore plugins`` shows them)."""
    from gancore.core.errors import AmbiguousComponentError

    by_origin = {info.name: info for info in infos}
    for kind, name, qualified in registry.ambiguous():
        try:
            meant = f"a bare {name!r} means {registry.by_bare_name(kind, name).qualified}"
        except AmbiguousComponentError:
            meant = f"a bare {name!r} is an error: write one of them"
        line = f"{kind} {name!r}: {', '.join(qualified)} ({meant})"
        for q in qualified:
            info = by_origin.get(q.rpartition(":")[0])
            if info is not None:
                info.shared.append(line)


def _load_one(
    pm: pluggy.PluginManager, registry: Registry, info: PluginInfo, obj: Any, strict: bool
) -> None:
    """Register one plugin and call its hooks; on failure roll back what it did."""
    try:
        _check_hooks(pm, obj, info.name)
        pm.register(obj, name=info.name)
        pm.check_pending()
    except Exception as exc:
        if pm.is_registered(obj):
            pm.unregister(obj)
        _fail(info, exc, strict)
        return
    registry._set_origin(info.name, info.version)
    clashes_before = len(registry.clashes)
    try:
        _call_plugin_hooks(pm, obj, registry)
    except Exception as exc:
        registry._remove_origin(info.name)
        pm.unregister(obj)
        _fail(info, exc, strict)
        return
    info.hooks = sorted(
        impl.name for impl in pm.get_hookcallers(obj) or []  # type: ignore[union-attr]
    )
    mine = [e for e in registry.entries() if e.origin == info.name]
    info.components = [f"{e.kind}:{e.name}" for e in mine]
    info.overrides = [f"{e.kind}:{e.name} (replaces {e.overrides}'s)" for e in mine if e.overrides]
    for clash in registry.clashes[clashes_before:]:
        info.clashes.append(clash.message())
        if strict:
            registry._remove_origin(info.name)
            pm.unregister(obj)
            raise DuplicateComponentError(
                clash.message(), hint="register each name once in the pack's hook")


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
    from gancore.core.errors import suggest

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


def pack_problem(registry: Registry, dist: str) -> str | None:
    """Why an installed pack ``dist`` gives the registry nothing, or ``None`` if it is not
    installed (or is loaded). Used so that a failed pack is never reported as missing."""
    try:
        found = metadata.distribution(dist)
    except metadata.PackageNotFoundError:
        return None
    names = {ep.name for ep in found.entry_points if ep.group == ENTRY_POINT_GROUP}
    for info in registry.plugins:
        if info.name in names or (info.dist and info.dist == found.metadata["Name"]):
            if info.status == "failed":
                return f"is installed ({found.version}) but failed to load: {info.error}"
            if info.status == "blocked":
                return (f"is installed ({found.version}) but blocked (GANCORE_BLOCK_PLUGINS "
                        "or --block-plugin)")
            return f"is installed ({found.version}) and loaded"
    if names:
        return (f"is installed ({found.version}) but not loaded "
                "(GANCORE_DISABLE_PLUGIN_AUTOLOAD is set)")
    return f"is installed ({found.version}) but declares no gancore entry point"
