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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from gancore.errors import GancoreError, RecipeError

if TYPE_CHECKING:
    from gancore.recipe.schema import Recipe

Level = Literal["warning", "error"]

#: Top-level recipe sections a requirement's key may start with.
SECTIONS = ("recipe", "seed", "data", "generator", "discriminator", "loss", "penalty",
            "augment", "train", "eval")


class RequirementWarning(UserWarning):
    """A recipe joins components with a known hazard (see :mod:`gancore.recipe.requirements`)."""


class RecipeDeprecationWarning(FutureWarning):
    """A recipe uses a key that goes away in a later version (it still works)."""


@dataclass(frozen=True)
class Requirement:
    """A condition a component puts on the rest of the recipe.

    ``when(facts, params)`` is true when the recipe has the problem (``facts``: a
    :class:`RecipeFacts`; ``params``: the component's validated parameters). ``key`` is the
    recipe key at fault (``discriminator.norm``), ``message`` what goes wrong, ``fix`` what to
    change; ``level`` is ``"warning"`` (a known hazard) or ``"error"`` (cannot work).
    """

    key: str
    when: Callable[[RecipeFacts, Any], bool]
    #: what goes wrong; a callable ``(facts, params) -> str`` may name the recipe's parts
    message: str | Callable[[RecipeFacts, Any], str]
    fix: str
    level: Level = "warning"

    def check_key(self) -> str | None:
        """Why :attr:`key` cannot be a recipe key, or None."""
        from gancore.recipe.schema import EvalSection, TrainSection

        head, _, rest = self.key.partition(".")
        head = head.split("[")[0]
        if head not in SECTIONS:
            return f"{self.key!r} is not a recipe key (sections: {', '.join(SECTIONS)})"
        if head in ("train", "eval") and rest:
            model = TrainSection if head == "train" else EvalSection
            field_name = rest.split(".")[0].split("[")[0]
            if field_name not in model.model_fields:
                from gancore.errors import suggest

                return (f"{self.key!r} is not a recipe key ([{head}] has no "
                        f"{field_name!r}{suggest(field_name, list(model.model_fields))})")
        return None


@dataclass(frozen=True)
class Finding:
    """A requirement that a recipe does not meet (or a deprecated key it uses)."""

    level: str  # "error", "warning" or "deprecated"
    component: str  # "penalty[0] (lecam)", or the deprecated key
    key: str
    message: str
    fix: str
    source: str | None = None

    def text(self) -> str:
        """``penalty[0] (lecam): message; fix`` (the component first, then the fix)."""
        return f"{self.component}: {self.message}; {self.fix}"

    def error(self) -> RecipeError:
        return RecipeError(self.message, source=self.source, key=self.key, hint=self.fix)


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
        from gancore.recipe.resolve import iter_references

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
            from gancore.registry import params_of, params_to_kwargs

            recipe = self.recipe
            entry = self.registry.get("dataset", recipe.data.type, key="data.type")
            params = params_of(entry, recipe.data, key="data", source=recipe.source)
            describe = getattr(entry.load(), "describe", None)
            spec = describe(**params_to_kwargs(params)) if callable(describe) else None
            self._classes = int(getattr(spec, "num_classes", 0) or 0)
        return self._classes

    @property
    def labelled(self) -> bool:
        return self.num_classes > 0


# -- predicates for the common cases ------------------------------------------------------------
BATCH_NORMS = ("batch", "conditional_batch")


def batch_norm_in(network: str) -> Callable[[RecipeFacts, Any], bool]:
    """True when ``network`` (``"discriminator"``) uses batch norm anywhere."""
    return lambda facts, params: bool(facts.norms(network) & set(BATCH_NORMS))


def unlabelled_data() -> Callable[[RecipeFacts, Any], bool]:
    """True when the data has no class labels."""
    return lambda facts, params: not facts.labelled


def output_penalty_on_batch_norm(what: str) -> Requirement:
    """The warning of penalties on D's outputs (LeCam, CR, bCR) with a batch-norm D."""
    return Requirement(
        key="discriminator.norm", when=batch_norm_in("discriminator"),
        message=f"{what} with a batch-norm discriminator: batch norm normalises each batch D "
        "sees on its own, so D's outputs on real, fake and augmented batches stop being "
        "comparable and the term collapses training (measured on DCGAN-32: FID 1834 with "
        "LeCam against 132 with discriminator.norm = \"none\"; see docs/studies.md)",
        fix='set discriminator.norm = "none" (the reference implementations use '
        'discriminator.weight_norm = "spectral" and no batch norm)')


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
    from gancore.recipe.resolve import iter_references

    facts = RecipeFacts(recipe, registry)
    out: list[Finding] = []
    for kind, key, spec in iter_references(recipe):
        if (kind, spec.type) not in registry:
            continue
        entry = registry.get(kind, spec.type)
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
