"""The names of ADA's operations and presets (importing this module imports no torch).

The operations and the presets ``blit``, ``geom``, ``color``, ``bg`` and ``bgc`` are those of
NVlabs/stylegan2-ada-pytorch (``training/augment.py``, ``train.py`` ``augpipe_specs``);
``bgc_fixed`` is ``bgc`` without the operations that can leak.
"""

from __future__ import annotations

from collections.abc import Sequence

from gancore.plugin import suggest

#: The operations, in the order the pipeline applies them (the reference's).
BLIT = ("xflip", "rotate90", "xint")
GEOM = ("scale", "rotate", "aniso", "xfrac")
COLOR = ("brightness", "contrast", "lumaflip", "hue", "saturation")
CORRUPTION = ("cutout",)
ORDER = BLIT + GEOM + COLOR + CORRUPTION

#: Operations whose draw at full strength is uniform over a symmetry (a mirror, quarter turns,
#: every angle, the luma axis flipped, every hue): at p near 1, D cannot tell a transformed
#: image from an untransformed one, so the generator may produce transformed images (a leak).
LEAKING = ("xflip", "rotate90", "rotate", "lumaflip", "hue")
#: The probability above which the ADA paper finds leaks likely (Karras et al. 2020, 2.2).
LEAK_P = 0.8

PRESETS: dict[str, tuple[str, ...]] = {
    "blit": BLIT,
    "geom": GEOM,
    "color": COLOR,
    "bg": BLIT + GEOM,
    "bgc": BLIT + GEOM + COLOR,
    "bgc_fixed": tuple(op for op in BLIT + GEOM + COLOR if op not in LEAKING),
}
#: Names of earlier versions: ``translation`` was an integer shift filled with zeros.
ALIASES = {"translation": "xint"}

_HINT = (f'name a preset ({", ".join(PRESETS)}) or a list of operations ({", ".join(ORDER)}), '
         'e.g. ops = "bgc" or ops = ["xint", "brightness", "contrast"]')


def check_ops(ops: str | Sequence[str]) -> str | list[str]:
    """``ops`` validated: a known preset, or a non-empty list of known operations named once
    (an earlier name counts as its operation); a ``ValueError`` otherwise."""
    if isinstance(ops, str):
        if ops not in PRESETS:
            raise ValueError(f"unknown preset {ops!r}{suggest(ops, list(PRESETS))}: {_HINT}")
        return ops
    names = list(ops)
    if not names:
        raise ValueError(f"the ada pipeline is empty: {_HINT}")
    known = (*ORDER, *ALIASES)
    for name in names:
        if name not in known:
            raise ValueError(f"unknown operation {name!r}{suggest(name, known)} "
                             f"(known: {', '.join(ORDER)})")
    canonical = [ALIASES.get(n, n) for n in names]
    twice = sorted({n for n in canonical if canonical.count(n) > 1})
    if twice:
        raise ValueError(f"operation {twice[0]!r} is named twice: name each operation once")
    return names


def expand(ops: str | Sequence[str]) -> tuple[str, ...]:
    """The operations ``ops`` names (a preset or a list), in the pipeline's order."""
    chosen = set(PRESETS[ops]) if isinstance(ops, str) else {ALIASES.get(n, n) for n in ops}
    return tuple(op for op in ORDER if op in chosen)


def leaking(ops: str | Sequence[str]) -> tuple[str, ...]:
    """The operations among ``ops`` that can leak at high p."""
    return tuple(op for op in expand(ops) if op in LEAKING)
