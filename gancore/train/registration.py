"""Registration of the training components: optimizers, schedules, penalties, augmentations.

Factories are lazy ``"module:attribute"`` strings, so importing this module imports no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gancore.registry import Registry

_T = "gancore.train"

#: kind -> name -> (lazy factory, one-line summary)
COMPONENTS: dict[str, dict[str, tuple[str, str]]] = {
    "optimizer": {
        "adam": (f"{_T}.optim:adam", "Adam (Kingma & Ba 2015)"),
        "adamw": (f"{_T}.optim:adamw", "Adam with decoupled weight decay"),
        "rmsprop": (f"{_T}.optim:rmsprop", "RMSprop (WGAN)"),
        "sgd": (f"{_T}.optim:sgd", "stochastic gradient descent with momentum"),
    },
    "schedule": {
        "constant": (f"{_T}.optim:constant", "constant learning rate (optional warm-up)"),
        "cosine": (f"{_T}.optim:cosine", "cosine decay to min_factor x lr"),
        "exponential": (f"{_T}.optim:exponential", "exponential decay to final_factor x lr"),
        "linear": (f"{_T}.optim:linear", "linear decay to final_factor x lr from a start step"),
    },
    "penalty": {
        "gradient_penalty": (
            f"{_T}.penalties:GradientPenalty",
            "WGAN-GP: (|grad D(interpolate)| - 1)^2",
        ),
        "r1": (f"{_T}.penalties:R1", "R1: |grad D(real)|^2 / 2 (Mescheder et al. 2018)"),
        "dragan": (f"{_T}.penalties:DRAGAN", "DRAGAN: gradient penalty around perturbed reals"),
    },
    "augment": {
        "flip": (f"{_T}.augment:flip", "random horizontal flip of images (differentiable)"),
    },
}


def register(registry: Registry) -> None:
    """Add the training components to ``registry``."""
    for kind, entries in COMPONENTS.items():
        for name, (factory, summary) in entries.items():
            registry.add(kind, name, factory, summary=summary)
