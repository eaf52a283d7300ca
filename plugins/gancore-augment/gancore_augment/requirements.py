"""What the pack's augments need from the rest of a recipe (importing this imports no torch).

- ``ada`` with a loss that has no decision threshold (``wasserstein``,
  ``relativistic_average``): an error, since its heuristic counts D's outputs on real images
  above that threshold;
- ``ada`` with operations that can leak (flips, 90-degree and arbitrary rotations, luma flip,
  hue) and a cap on p above 0.8: a warning, since the ADA paper finds leaks likely above it.

DiffAugment needs neither: its operations (colour, translation, cutout) draw from no symmetry
(no flip, no rotation), and it has no p to adapt.
"""

from __future__ import annotations

from typing import Any

from gancore.plugin import Requirement
from gancore_augment import opsets


def _no_threshold(facts: Any, params: Any) -> bool:
    return facts.decision_threshold is None


def _no_threshold_message(facts: Any, params: Any) -> str:
    return (f"ada adapts p from the share of D's outputs on real images above the loss's "
            f"decision threshold, and the {facts.recipe.loss.type!r} loss has none (its "
            "outputs have no fixed scale)")


NO_THRESHOLD = Requirement(
    key="loss.type", when=_no_threshold, level="error", message=_no_threshold_message,
    fix="use a loss with a fixed threshold (bce, hinge or least_squares), or a fixed "
        'augmentation (type = "diffaugment")')


def _leaks(facts: Any, params: Any) -> bool:
    return params.p_max > opsets.LEAK_P and bool(opsets.leaking(params.ops))


def _leak_message(facts: Any, params: Any) -> str:
    ops = ", ".join(opsets.leaking(params.ops))
    return (f"ada's {ops} can leak into the generator (rotated, mirrored or recoloured samples) "
            f"when p rises above {opsets.LEAK_P}, and p_max is {params.p_max:g} (Karras et al. "
            f"2020, section 2.2: leaks are unlikely while p stays below about {opsets.LEAK_P})")


LEAKS = Requirement(
    key="augment", when=_leaks, message=_leak_message,
    fix=f'set p_max = {opsets.LEAK_P} on this augment, or ops = "bgc_fixed" for data with a '
        "fixed orientation")

#: The requirements of the ``ada`` augment, registered with it.
ADA_REQUIRES = (NO_THRESHOLD, LEAKS)
