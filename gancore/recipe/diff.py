"""Differences between two recipes, setting by setting (what ``--resume`` refuses).

``[expect]`` (the recorded bands) is data about a recipe, not a setting of it: it never makes
two recipes differ."""

from __future__ import annotations

from typing import Any

#: ``[train]`` keys and others that may change when a run is resumed.
RESUMABLE_KEYS = (
    "train.steps",
    "train.log_every",
    "train.keep_best",
    "train.sample_every",
    "train.checkpoint_every",
    "train.num_workers",
    "train.device",
    "train.compile",
    "train.grid_size",
    "train.callbacks",
    "train.callbacks[",
    "train.default_callbacks",
    "train.trackers",
    "train.trackers[",
    "train.eval_every",
    "train.eval_samples",
    "data.root",
    "eval.",
    "recipe.",
    "expect",
    "expect.",
)


def flatten_dict(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}, "c": [{"d": 2}]}`` -> ``{"a.b": 1, "c[0].d": 2}``."""
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for k, v in data.items():
            out.update(flatten_dict(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(data, list) and data and any(isinstance(v, dict | list) for v in data):
        for i, v in enumerate(data):
            out.update(flatten_dict(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = data
    return out


def _same_form(a: Any, b: Any) -> tuple[Any, Any]:
    """``a`` and ``b`` with a reference written ``"name"`` on one side and ``{type = ...}`` on
    the other both in the table form, so they compare key by key."""
    if isinstance(a, str) and isinstance(b, dict) and "type" in b:
        a = {"type": a}
    elif isinstance(b, str) and isinstance(a, dict) and "type" in a:
        b = {"type": b}
    if isinstance(a, dict) and isinstance(b, dict):
        pairs = {k: _same_form(a.get(k), b.get(k)) for k in a.keys() & b.keys()}
        a = {k: pairs[k][0] if k in pairs else v for k, v in a.items()}
        b = {k: pairs[k][1] if k in pairs else v for k, v in b.items()}
    elif isinstance(a, list) and isinstance(b, list):
        pairs_list = [_same_form(x, y) for x, y in zip(a, b, strict=False)]
        a = [p[0] for p in pairs_list] + a[len(pairs_list):]
        b = [p[1] for p in pairs_list] + b[len(pairs_list):]
    return a, b


_UNSET = "<unset>"


BUILTIN_PREFIX = "builtin:"


def _builtin_bare(value: Any) -> Any:
    """``value`` with ``builtin:name`` written ``name`` at any depth: a bare name in a recipe of
    an earlier version (or in a checkpoint of one) meant gancore's own component."""
    if isinstance(value, str) and value.startswith(BUILTIN_PREFIX):
        return value[len(BUILTIN_PREFIX):]
    if isinstance(value, dict):
        return {k: _builtin_bare(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_builtin_bare(v) for v in value]
    return value


def recipe_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``key: old -> new`` for every setting that differs, ignoring :data:`RESUMABLE_KEYS`.

    Component names compare qualified (``gancore-extras:lecam`` is not ``lecam``), except that
    ``builtin:x`` and a bare ``x`` are one name (the recipes of earlier versions wrote them
    bare).

    A component of another type is its ``type`` line and the settings of the new one (those
    of the old type alone are left out); a component on one side only is one line. A key
    unset on one side and None on the other (a parameter added in a later version, off by
    default) is no difference.
    """
    old, new = _same_form(_builtin_bare(old), _builtin_bare(new))
    a, b = flatten_dict(old), flatten_dict(new)
    components = sorted({k[: -len(".type")] for k in (*a, *b) if k.endswith(".type")}, key=len)
    out: list[str] = []
    whole: set[str] = set()
    type_first = {k: k[: -len("type")] + "\0" if k.endswith(".type") else k for k in (*a, *b)}
    for key in sorted(set(a) | set(b), key=type_first.__getitem__):
        if any(key == k or (k.endswith((".", "[")) and key.startswith(k))
               for k in RESUMABLE_KEYS):
            continue
        owner = next((c for c in components if key.startswith(c + ".")
                      and a.get(c + ".type", _UNSET) != b.get(c + ".type", _UNSET)), None)
        if owner is not None and (owner + ".type" not in a or owner + ".type" not in b):
            if owner not in whole:  # added or removed: the whole component in one line
                whole.add(owner)
                out.append(f"{owner}: {_inline(a, owner)} -> {_inline(b, owner)}")
            continue
        if owner is not None and key not in b:
            continue  # a setting of the old type only
        if {_key(a.get(key, _UNSET)), _key(b.get(key, _UNSET))} == {_UNSET, "None"}:
            continue  # a parameter added since (default None): unset on the other side
        if a.get(key, _UNSET) != b.get(key, _UNSET):
            out.append(f"{key}: {a.get(key, _UNSET)!r} -> {b.get(key, _UNSET)!r}")
    return out


def _key(value: Any) -> str:
    return _UNSET if value is _UNSET else "None" if value is None else "value"


def _inline(flat: dict[str, Any], prefix: str) -> str:
    """The component at ``prefix`` of a flattened recipe as ``{type = 'x', k = v}``."""
    if prefix + ".type" not in flat:
        return repr(_UNSET)
    items = {k[len(prefix) + 1:]: v for k, v in flat.items() if k.startswith(prefix + ".")}
    order = ["type", *sorted(k for k in items if k != "type")]
    return "{" + ", ".join(f"{k} = {items[k]!r}" for k in order) + "}"
