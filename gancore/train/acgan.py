"""ACGAN (Odena et al. 2017): an auxiliary classifier on the discriminator and its class loss.

The ``acgan`` loss (kind ``loss``) wraps an adversarial loss and adds the cross-entropy of the
discriminator's class logits: on real images with their labels for D, on fakes with the labels
they were generated for in both the G step and, with ``d_fake_classes``, the D step (the
paper's). The logits come from the discriminator's class head (``discriminator.class_head``)
in the same forward pass as the adversarial logits (``D(x, y, return_classes=True)``); the
discriminator's plain ``forward(x, y)`` is unchanged for every other loss and penalty.

A loss takes part through three optional members of the ``Loss`` protocol:
``uses_class_logits = True``, ``d_class_loss(real_class_logits, fake_class_logits, y)`` and
``g_class_loss(fake_class_logits, y)``; the trainer adds what they return to ``d_loss`` and
``g_loss``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch.nn import functional as F

from gancore.core.errors import RecipeError
from gancore.core.params import Weight
from gancore.core.refs import LossSpec

if TYPE_CHECKING:
    from torch import nn

    from gancore.core.registry import Registry
    from gancore.recipe import Recipe


def uses_class_logits(loss: Any) -> bool:
    """Whether ``loss`` (a loss or its factory) adds a class loss (``uses_class_logits``)."""
    return bool(getattr(loss, "uses_class_logits", False))


class ACGAN:
    """Adversarial loss + ``weight`` x cross-entropy of the class logits (ACGAN).

    ``adversarial`` is any registered loss without class logits (made by the ``registry``
    that makes this loss); ``d_fake_classes`` also trains D's classifier on the fakes' labels, as in
    the paper (off: D learns classes from real images only, G is rewarded for fakes that
    D classifies as their labels).
    """

    uses_class_logits = True

    def __init__(
        self,
        adversarial: LossSpec = "bce",
        weight: Weight = 1.0,
        d_fake_classes: bool = False,
        *,
        registry: Registry,
    ) -> None:
        key = "loss.adversarial"
        self.adversarial = registry.make("loss", adversarial, key=key)
        if uses_class_logits(self.adversarial):
            name = getattr(adversarial, "type", adversarial)
            raise RecipeError(
                f"the adversarial loss of acgan cannot use class logits itself ({name!r} does)",
                key=key, hint='use a plain adversarial loss, e.g. adversarial = "bce"',
            )
        self.weight = weight
        self.d_fake_classes = d_fake_classes
        inner = self.adversarial
        if callable(getattr(inner, "state_dict", None)) and callable(
            getattr(inner, "load_state_dict", None)
        ):  # a stateful adversarial loss keeps its state across --resume
            self.state_dict = inner.state_dict
            self.load_state_dict = inner.load_state_dict

    # -- the adversarial part (the Loss protocol) ---------------------------------------------
    @property
    def needs_real_for_g(self) -> bool:
        return bool(getattr(self.adversarial, "needs_real_for_g", False))

    @property
    def decision_threshold(self) -> float | None:
        """The adversarial loss's decision threshold (see :func:`decision_threshold`)."""
        from gancore.metrics.classification import decision_threshold

        return decision_threshold(self.adversarial)

    @property
    def real_target(self) -> float:
        """The adversarial loss's real target (label smoothing lowers it)."""
        try:
            return self.adversarial.real_target
        except AttributeError:
            raise AttributeError("the adversarial loss has no real_target") from None

    @real_target.setter
    def real_target(self, value: float) -> None:
        self.adversarial.real_target = value

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return self.adversarial.d_loss(real_logits, fake_logits)

    def g_loss(
        self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.adversarial.g_loss(fake_logits, real_logits)

    # -- the class part ----------------------------------------------------------------------
    def d_class_loss(
        self, real_class_logits: torch.Tensor, fake_class_logits: torch.Tensor, y: torch.Tensor
    ) -> torch.Tensor:
        """``weight`` x CE(real class logits, y) (+ CE(fake class logits, y) when
        ``d_fake_classes``)."""
        loss = F.cross_entropy(real_class_logits, y)
        if self.d_fake_classes:
            loss = loss + F.cross_entropy(fake_class_logits, y)
        return self.weight * loss

    def g_class_loss(self, fake_class_logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``weight`` x CE(fake class logits, the labels the fakes were made for)."""
        return self.weight * F.cross_entropy(fake_class_logits, y)


def forward_with_classes(
    discriminator: nn.Module | Any, x: torch.Tensor, y: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(logits, class_logits)`` of one discriminator pass, in fp32."""
    logits, class_logits = discriminator(x, y, return_classes=True)
    return logits.float(), class_logits.float()


def check_labelled(recipe: Recipe, registry: Registry) -> None:
    """Refuse a loss with class logits on unlabelled data, before any network is built."""
    from gancore.assembly.build import data_spec

    entry = registry.get("loss", recipe.loss, key="loss.type")
    if not uses_class_logits(entry.load()):
        return
    if data_spec(recipe, registry).num_classes > 0:
        return
    raise RecipeError(
        f"the {recipe.loss.type!r} loss learns the data's classes (ACGAN), but the data "
        f"({recipe.data.type!r}) have no class labels",
        source=recipe.source, key="loss.type",
        hint="train it on labelled data (e.g. data.type = \"shapes\" with labels = \"shape\"), "
        "or use a loss without classes (loss.type = \"bce\") and remove class_head and the "
        "class conditioning",
    )


def check_networks(loss: Any, generator: nn.Module, discriminator: nn.Module,
                   num_classes: int, source: str | None = None) -> bool:
    """Whether the trainer adds a class loss; refuses networks that cannot give one."""
    from gancore.core.contract import aux_classes

    if not uses_class_logits(loss):
        return False
    if int(getattr(generator, "num_classes", 0) or 0) <= 0:
        raise RecipeError(
            "the class loss (ACGAN) trains the generator to make images of given classes, but "
            "the generator is not class-conditional",
            source=source, key="generator.conditioning",
            hint='set generator.conditioning = "concat" (or "cbn")',
        )
    classes = aux_classes(discriminator)
    if classes <= 0:
        raise RecipeError(
            "the class loss (ACGAN) needs class logits from the discriminator, but it has no "
            "class head",
            source=source, key="discriminator.class_head",
            hint='set discriminator.class_head = "linear" (or "pooled" for residual blocks)',
        )
    if classes != num_classes:
        raise RecipeError(
            f"the discriminator's class head predicts {classes} classes, but the data have "
            f"{num_classes}",
            source=source, key="discriminator.class_head",
            hint="the class head must predict the data's classes",
        )
    return True
