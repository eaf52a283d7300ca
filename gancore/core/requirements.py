"""What a component needs from the rest of a recipe: the declarations (:class:`Requirement`)
and what a recipe that breaks one gets (:class:`Finding`).

A component declares requirements on its factory (``requires = (...)``) or when it is
registered (``registry.add(..., requires=[...])``); :mod:`gancore.recipe.requirements` checks
them once when a recipe is resolved. Importing this module imports nothing else of gancore
but the errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from gancore.core.errors import RecipeError

if TYPE_CHECKING:
    from gancore.recipe.requirements import RecipeFacts

Level = Literal["warning", "error"]

#: Top-level recipe sections a requirement's key may start with.
SECTIONS = ("recipe", "seed", "data", "generator", "discriminator", "loss", "penalty",
            "augment", "train", "eval")
#: The keys of ``[train]`` and ``[eval]`` (a test holds them equal to the recipe schema's).
TRAIN_KEYS = ("batch_size", "steps", "n_critic", "g_optimizer", "d_optimizer", "g_schedule",
              "d_schedule", "techniques", "precision", "channels_last", "compile", "device",
              "num_workers", "threads", "log_every", "sample_every", "checkpoint_every",
              "grid_size", "callbacks", "default_callbacks", "trackers", "eval_every",
              "eval_samples", "keep_best")
EVAL_KEYS = ("metrics", "num_samples", "extractor", "seed")


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
        from gancore.core.errors import suggest

        head, _, rest = self.key.partition(".")
        head = head.split("[")[0]
        if head not in SECTIONS:
            return f"{self.key!r} is not a recipe key (sections: {', '.join(SECTIONS)})"
        if head in ("train", "eval") and rest:
            fields = TRAIN_KEYS if head == "train" else EVAL_KEYS
            field_name = rest.split(".")[0].split("[")[0]
            if field_name not in fields:
                return (f"{self.key!r} is not a recipe key ([{head}] has no "
                        f"{field_name!r}{suggest(field_name, list(fields))})")
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
