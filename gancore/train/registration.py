"""Registration of the training components: optimizers, schedules, penalties, augmentations,
trackers.

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
        "lecam": (
            f"{_T}.regularisers:LeCam",
            "LeCam: D outputs pulled towards EMA anchors (Tseng et al. 2021)",
        ),
        "bcr": (f"{_T}.regularisers:BCR", "balanced consistency regularisation (Zhao et al. 2021)"),
        "cr": (f"{_T}.regularisers:CR", "consistency regularisation on reals (Zhang et al. 2020)"),
        "zero_gp": (
            f"{_T}.regularisers:ZeroGP",
            "zero-centred gradient penalty at interpolates (Thanh-Tung et al. 2019)",
        ),
        "max_gp": (f"{_T}.regularisers:MaxGP", "max over the batch of (|grad D(x̂)| - 1)^2"),
    },
    "augment": {
        "flip": (f"{_T}.augment:flip", "random horizontal flip of images (differentiable)"),
    },
    "tracker": {
        "jsonl": ("gancore.tracking.jsonl:JsonlTracker", "metrics.jsonl in the run folder "
                  "(always on)"),
        "tensorboard": ("gancore.tracking.tensorboard:TensorBoardTracker",
                        "TensorBoard event files in <run>/tensorboard (gancore[tensorboard])"),
        "mlflow": ("gancore.tracking.mlflow:MlflowTracker",
                   "an MLflow run ($MLFLOW_TRACKING_URI, else ./mlruns; gancore[mlflow])"),
        "wandb": ("gancore.tracking.wandb:WandbTracker",
                  "a Weights & Biases run, offline without an API key (gancore[wandb])"),
    },
}


#: the package each built-in tracker imports, and the extra that installs it
TRACKER_NEEDS = {"tensorboard": ("tensorboard", "tensorboard"), "mlflow": ("mlflow", "mlflow"),
                 "wandb": ("wandb", "wandb")}


def register(registry: Registry) -> None:
    """Add the training components to ``registry``."""
    for kind, entries in COMPONENTS.items():
        for name, (factory, summary) in entries.items():
            meta = {"needs": TRACKER_NEEDS[name]} if name in TRACKER_NEEDS else {}
            registry.add(kind, name, factory, summary=summary, **meta)
