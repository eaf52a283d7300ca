"""Recipes written for earlier versions: the ``[train]`` technique flags become techniques.

Until 0.3 eight techniques were flags of ``[train]``; they are components now
(``train.techniques``), and each old flag maps to its component with the same meaning, so a
recipe gives the same weights either way. The old keys keep working with a deprecation note
(they go away in gancore 0.5); a recipe that sets an old flag and also lists the component
that replaces it is refused, since the two would say the same thing twice.

=========================  ==================================================
``[train]`` flag (old)      ``train.techniques`` entry (new)
=========================  ==================================================
``ema = d``                 ``{ type = "ema", decay = d }`` (+ ``start = ema_start``)
``label_smoothing = s``     ``{ type = "label_smoothing", amount = s }``
``instance_noise = s``      ``{ type = "instance_noise", std = s }``
``grad_clip = m``           ``{ type = "grad_clip", max_norm = m }``
``clip_weights = c``        ``{ type = "clip_weights", limit = c }``
``top_k = {...}``           ``{ type = "top_k", ... }`` (same keys)
``freeze_d = n``            ``{ type = "freeze_d", blocks = n }``
``joint_d_pass = true``     ``"joint_d_pass"``
=========================  ==================================================
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gancore.core.errors import RecipeError
from gancore.core.values import is_int, is_number

#: The version the old flags go away in.
REMOVED_IN = "0.5"


@dataclass(frozen=True)
class Flag:
    """One old ``[train]`` flag: its technique and how its value maps to parameters."""

    key: str
    technique: str
    #: parameters of the technique from the flag's value (None: the flag is off)
    params: Callable[[Any, dict[str, Any]], dict[str, Any] | None]


def _number(name: str) -> Callable[[Any, dict[str, Any]], dict[str, Any] | None]:
    def params(value: Any, train: dict[str, Any]) -> dict[str, Any] | None:
        off = is_number(value) and value == 0
        # anything else, a bad value included, goes to the technique, whose validation names it
        return None if off else {name: value}

    return params


def _ema(value: Any, train: dict[str, Any]) -> dict[str, Any] | None:
    params = _number("decay")(value, train)
    start = train.get("ema_start", 0)
    if params is not None and not (is_int(start) and start == 0):
        params["start"] = start
    return params


def _table(value: Any, train: dict[str, Any]) -> dict[str, Any] | None:
    if value is None:
        return None
    return dict(value) if isinstance(value, dict) else {"start": value}


def _switch(value: Any, train: dict[str, Any]) -> dict[str, Any] | None:
    return {} if value is True else None if value is False else {"enabled": value}


#: The flags, in the order their techniques are listed after the recipe's own.
FLAGS: tuple[Flag, ...] = (
    Flag("freeze_d", "freeze_d", _number("blocks")),
    Flag("joint_d_pass", "joint_d_pass", _switch),
    Flag("label_smoothing", "label_smoothing", _number("amount")),
    Flag("instance_noise", "instance_noise", _number("std")),
    Flag("top_k", "top_k", _table),
    Flag("grad_clip", "grad_clip", _number("max_norm")),
    Flag("clip_weights", "clip_weights", _number("limit")),
    Flag("ema", "ema", _ema),
)
#: Keys read together with a flag (``ema_start`` with ``ema``).
COMPANIONS = {"ema_start": "ema"}
LEGACY_KEYS = tuple(f.key for f in FLAGS) + tuple(COMPANIONS)


@dataclass(frozen=True)
class Deprecation:
    """An old flag found in a recipe, and what replaces it."""

    key: str
    technique: str
    entry: Any

    def message(self) -> str:
        return (f"deprecated (it goes away in gancore {REMOVED_IN}): it is now the "
                f"technique {self.technique!r}")

    def hint(self) -> str:
        from gancore.core.refs import inline_toml

        return f"write train.techniques = [{inline_toml(self.entry)}] instead"


def _type_of(entry: Any) -> str | None:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and isinstance(entry.get("type"), str):
        return entry["type"]
    return None


def migrate_dict(data: dict[str, Any], *, warn: bool = True, source: str | None = None,
                 ) -> dict[str, Any]:
    """``data`` with the old ``[train]`` flags turned into ``train.techniques`` entries.

    Returns a new dict (``data`` is not changed); one without old flags is returned as is.
    With ``warn``, the :class:`Deprecation` s found are kept in the result's
    ``"__deprecations__"`` key for :func:`pop_deprecations`.
    """
    train = data.get("train") if isinstance(data, dict) else None
    if not isinstance(train, dict) or not any(k in train for k in LEGACY_KEYS):
        return data
    out = copy.deepcopy(data)
    train = out["train"]
    existing = train.get("techniques")
    techniques = list(existing) if isinstance(existing, list) else (
        [] if existing is None else [existing])
    named = {_type_of(t): i for i, t in enumerate(techniques)}
    found: list[Deprecation] = []
    legacy: dict[int, str] = {}
    for companion, flag in COMPANIONS.items():
        if companion in train and flag not in train:
            value = train.pop(companion)
            if value:
                raise RecipeError(
                    f"{companion} is set but {flag} is not: {companion} only says when the "
                    f"{flag} technique starts", source=source, key=f"train.{companion}",
                    hint=f'write train.techniques = [{{ type = "{flag}", start = {value} }}]')
    for flag in FLAGS:
        if flag.key not in train:
            continue
        value = train.pop(flag.key)
        params = flag.params(value, train)
        if flag.key == "ema":
            train.pop("ema_start", None)
        if flag.technique in named:  # set (or turned off) twice: which one is meant?
            i = named[flag.technique]
            change = (f"; to change it: --set train.techniques[{i}].{next(iter(params))}=..."
                      if params else "")
            raise RecipeError(
                f"train.{flag.key} (deprecated) and train.techniques[{i}] ({flag.technique}) "
                "both set the same technique", source=source, key=f"train.{flag.key}",
                hint=f"remove train.{flag.key}: the technique in train.techniques replaces it"
                f" (to turn it off, remove it from train.techniques){change}")
        if params is None:
            found.append(Deprecation(f"train.{flag.key}", flag.technique, flag.technique))
            continue
        entry: Any = {"type": flag.technique, **params} if params else flag.technique
        legacy[len(techniques)] = f"train.{flag.key}"
        techniques.append(entry)
        named[flag.technique] = len(techniques) - 1
        found.append(Deprecation(f"train.{flag.key}", flag.technique, entry))
    train["techniques"] = techniques
    if warn:
        out["__deprecations__"] = found
    out["__legacy_keys__"] = legacy
    return out


def pop_deprecations(data: dict[str, Any]) -> tuple[list[Deprecation], dict[int, str]]:
    """The deprecations and legacy keys :func:`migrate_dict` recorded (removed from data)."""
    return data.pop("__deprecations__", []), data.pop("__legacy_keys__", {})
