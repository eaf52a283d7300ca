"""What components need from the rest of a recipe, checked once when the recipe is resolved.

A component declares :class:`Requirement` s: a predicate on the resolved recipe that is true
when the recipe has a known hazard (a warning) or a conflict the component cannot work with
(an error), the recipe key at fault, and the fix. Declare them on the factory
(``requires = (...)``) or when registering (``registry.add(..., requires=[...])``)::

    from gancore.plugin import Requirement, batch_norm_in

    class MyPenalty:
        requires = (Requirement(
            key="discriminator.norm", when=batch_norm_in("discriminator"),
            message="output penalties collapse with a batch-norm discriminator",
            fix='set discriminator.norm = "none" (the references use weight_norm = "spectral")',
        ),)

:func:`check_requirements` evaluates every component's requirements on a resolved recipe and
returns :class:`Finding` s, each naming the component (``penalty[0] (lecam)``), the key and
the fix; ``gancore check`` prints them, and building, training and comparing print them before
any work (an error stops them). The knowledge of which parts fight each other lives with the
parts.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from gancore.core.errors import GancoreError
from gancore.core.requirements import (  # noqa: F401  (the author API's spelling too)
    BATCH_NORMS,
    Finding,
    RecipeDeprecationWarning,
    Requirement,
    RequirementWarning,
    batch_norm_in,
    output_penalty_on_batch_norm,
    unlabelled_data,
)

if TYPE_CHECKING:
    from gancore.recipe.schema import Recipe


class RecipeFacts:
    """What requirements may ask about a resolved recipe (cheap: nothing is built)."""

    def __init__(self, recipe: Recipe, registry: Any) -> None:
        self.recipe = recipe
        self.registry = registry
        self._flat: dict[str, Any] | None = None
        self._loss: Any = ...
        self._classes: int | None = None

    def get(self, key: str, default: Any = None) -> Any:
        """The value at a dotted key of the resolved recipe (``train.n_critic``)."""
        from gancore.recipe.diff import flatten_dict

        if self._flat is None:
            self._flat = flatten_dict(self.recipe.to_dict())
        return self._flat.get(key, default)

    def components(self, kind: str, under: str = "") -> list[tuple[str, str]]:
        """``(key, name)`` of every component of ``kind`` under the key prefix ``under``."""
        from gancore.recipe.walk import iter_references

        return [(key, spec.type) for k, key, spec in iter_references(self.recipe)
                if k == kind and (not under or key == under or key.startswith(under + "."))]

    def norms(self, network: str) -> set[str]:
        """The feature norms a network uses (its default and every block's)."""
        return {name for _, name in self.components("norm", network)}

    def weight_norms(self, network: str) -> set[str]:
        return {name for _, name in self.components("weight_norm", network)}

    @property
    def loss(self) -> Any:
        """The loss object (made from the recipe; losses are cheap to make)."""
        if self._loss is ...:
            self._loss = self.registry.make("loss", self.recipe.loss, key="loss")
        return self._loss

    @property
    def decision_threshold(self) -> float | None:
        """The loss's decision threshold (0.0 when it declares none; None: not fixed)."""
        value = getattr(self.loss, "decision_threshold", 0.0)
        return None if value is None else float(value)

    @property
    def num_classes(self) -> int:
        """The data's class count, from the dataset's ``describe()`` (0: unlabelled)."""
        if self._classes is None:
            from gancore.core.registry import params_of, params_to_kwargs

            recipe = self.recipe
            entry = self.registry.get("dataset", recipe.data, key="data.type")
            params = params_of(entry, recipe.data, key="data", source=recipe.source)
            describe = getattr(entry.load(), "describe", None)
            spec = describe(**params_to_kwargs(params)) if callable(describe) else None
            self._classes = int(getattr(spec, "num_classes", 0) or 0)
        return self._classes

    @property
    def labelled(self) -> bool:
        return self.num_classes > 0


# -- evaluation ---------------------------------------------------------------------------------
def requirements_of(entry: Any) -> tuple[Requirement, ...]:
    """A registry entry's requirements: registered ones, then the factory's ``requires``."""
    own = tuple(entry.meta.get("requires", ()) or ())
    try:
        declared = getattr(entry.load(), "requires", ())
    except GancoreError:
        declared = ()
    if isinstance(declared, Requirement):
        declared = (declared,)
    return own + tuple(r for r in (declared or ()) if isinstance(r, Requirement))


def check_requirements(recipe: Recipe, registry: Any) -> list[Finding]:
    """Every requirement of every component of a resolved recipe that the recipe breaks."""
    from gancore.recipe.walk import iter_references

    facts = RecipeFacts(recipe, registry)
    out: list[Finding] = []
    for kind, key, spec in iter_references(recipe):
        if (kind, spec.type) not in registry:
            continue
        entry = registry.get(kind, spec)
        for req in requirements_of(entry):
            try:
                hit = bool(req.when(facts, spec.validated))
            except GancoreError:
                raise
            except Exception as exc:  # a broken predicate is the pack's, not the user's
                raise GancoreError(
                    f"a requirement of {kind} {spec.type!r} from {entry.origin} could not be "
                    f"checked: {type(exc).__name__}: {exc}", source=recipe.source, key=key,
                    hint=f"fix or update the pack {entry.origin!r}") from exc
            if hit:
                message = req.message(facts, spec.validated) if callable(req.message) \
                    else req.message
                out.append(Finding(req.level, f"{key} ({spec.type})", req.key, message,
                                   req.fix, recipe.source))
    return out


_ANNOUNCED: set[tuple[str, str, str]] = set()


def announce(findings: Iterable[Finding], echo: Callable[[str], None] | None = None, *,
             errors: bool = True) -> None:
    """Print (``echo``) or warn each warning and deprecation once per process; raise one
    :class:`RecipeError` for the errors (all of them named) when ``errors``."""
    findings = list(findings)
    for f in findings:
        if f.level == "error":
            continue
        where = f"{f.source}: " if f.source else ""
        text = f"{where}{f.text()}"
        if echo is not None:  # the command line says each once per process
            mark = (f.source or "", f.component, f.message)
            if mark not in _ANNOUNCED:
                _ANNOUNCED.add(mark)
                echo(f"warning: {text}")
        else:
            category = RecipeDeprecationWarning if f.level == "deprecated" else RequirementWarning
            warnings.warn(text, category, stacklevel=3)
    # a loss's error first: it names the whole problem (ACGAN on unlabelled data)
    wrong = sorted((f for f in findings if f.level == "error"),
                   key=lambda f: not f.component.startswith("loss"))
    if errors and wrong:
        first = wrong[0].error()
        if len(wrong) > 1:
            first.hint = (first.hint or "") + " (also: " + "; ".join(
                f"{f.key}: {f.message}" for f in wrong[1:]) + ")"
            first.args = (first.format(),)
        raise first
