"""What data a recipe trains and evaluates on, as far as a comparison cares (no torch needed).

Two variants of a comparison measure the same thing only when their scores come from the same
data: the same data set (``data.type``), the same image size, split, ``limit`` and, for
generated data sets, the same sample count and data seed. :func:`data_identity` picks those keys
out of a (resolved or loaded) recipe dictionary; :func:`describe_data` says them in a few words
(``fashion_mnist 32×32, train split``); :func:`align_setting` is the ``--set`` that gives another
recipe the same data.
"""

from __future__ import annotations

from typing import Any

#: The ``[data]`` keys that change which images a run trains and is scored on. (Augmentations
#: such as ``flip`` change training only and are recipe differences like any other.)
IDENTITY_KEYS = ("type", "image_size", "split", "limit", "num_samples", "seed")


def bare(name: str) -> str:
    """``builtin:shapes`` -> ``shapes`` (the name a user types)."""
    return name.rpartition(":")[2] if name.startswith("builtin:") else name


def data_identity(recipe: dict[str, Any]) -> dict[str, Any]:
    """The identity keys of ``recipe["data"]`` that are set (None values left out)."""
    data = recipe.get("data") or {}
    out = {k: data[k] for k in IDENTITY_KEYS if data.get(k) is not None}
    if "type" in out:
        out["type"] = bare(str(out["type"]))
    return out


def describe_data(recipe: dict[str, Any]) -> str:
    """``fashion_mnist 32×32, train split`` (with ``limit``/sample count/seed when set)."""
    ident = data_identity(recipe)
    text = str(ident.get("type", "?"))
    if "image_size" in ident:
        size = ident["image_size"]
        text += f" {size}×{size}" if isinstance(size, int) else f" {size}"
    extra = []
    if "split" in ident:
        extra.append(f"{ident['split']} split")
    if "limit" in ident:
        extra.append(f"limit {ident['limit']:,}")
    if "num_samples" in ident:
        extra.append(f"{ident['num_samples']:,} samples")
    if "seed" in ident:
        extra.append(f"data seed {ident['seed']}")
    return text + (", " + ", ".join(extra) if extra else "")


def align_setting(recipe: dict[str, Any]) -> str:
    """The ``--set`` value that gives any recipe the data of ``recipe``: the whole ``[data]``
    table as a TOML inline table (``data={ type = "fashion_mnist", image_size = 32 }``), so
    that keys of another data set's type do not linger."""
    ident = data_identity(recipe)
    if ident.get("split") == "train":
        del ident["split"]
    parts = []
    for key, value in ident.items():
        shown = f'"{value}"' if isinstance(value, str) else str(value).lower() \
            if isinstance(value, bool) else str(value)
        parts.append(f"{key} = {shown}")
    return "data={ " + ", ".join(parts) + " }"
