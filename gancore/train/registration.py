"""Registration of the training components: optimizers, schedules, penalties, augmentations,
trackers.

Factories are lazy ``"module:attribute"`` strings, so importing this module imports no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gancore.core.registry import Registry

_T = "gancore.train"

#: kind -> name -> (lazy factory, one-line summary)
COMPONENTS: dict[str, dict[str, tuple[str, str]]] = {
    "loss": {
        "bce": ("gancore.train.losses:BCE", "binary cross-entropy, non-saturating G loss"),
        "minimax": ("gancore.train.losses:Minimax", "binary cross-entropy, minimax G loss"),
        "least_squares": ("gancore.train.losses:LeastSquares", "least squares (LSGAN)"),
        "hinge": ("gancore.train.losses:Hinge", "hinge (SAGAN, BigGAN)"),
        "wasserstein": ("gancore.train.losses:Wasserstein", "Wasserstein critic (WGAN)"),
        "relativistic_average": (f"{_T}.losses:RelativisticAverage",
                                 "relativistic average BCE (RaSGAN)"),
        "acgan": (f"{_T}.acgan:ACGAN",
                  "an adversarial loss + cross-entropy of D's class logits (ACGAN)"),
    },
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
    "technique": {
        "ema": (f"{_T}.techniques.ema:ExponentialAverage",
                "after_step: exponential moving average of G's weights (sampled, evaluated)"),
        "label_smoothing": (f"{_T}.techniques.smoothing:LabelSmoothing",
                            "d_targets: one-sided label smoothing (Salimans et al. 2016)"),
        "instance_noise": (f"{_T}.techniques.noise:InstanceNoise",
                           "d_input: Gaussian noise on D's inputs, annealed to 0"),
        "grad_clip": (f"{_T}.techniques.clipping:GradClip",
                      "before_step: clip the gradient norm of G and D"),
        "clip_weights": (f"{_T}.techniques.clipping:ClipWeights",
                         "after_step: clamp D's weights (WGAN weight clipping)"),
        "top_k": (f"{_T}.techniques.selection:TopKSelection",
                  "g_select: only the k best-scored fakes update G (Sinha et al. 2020)"),
        "freeze_d": (f"{_T}.techniques.freezing:FreezeD",
                     "freeze: D's first blocks kept fixed (FreezeD, Mo et al. 2020)"),
        "joint_d_pass": (f"{_T}.techniques.dpass:JointPass",
                         "d_pass: real and fake through D in one forward pass"),
        "zcr": (f"{_T}.regularisers:ZCR",
                "d_term, g_term: latent consistency regularisation (zCR, Zhao et al. 2021)"),
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


#: the extension point of each built-in technique (declared, so nothing is imported)
TECHNIQUE_POINTS = {
    "ema": ("after_step",), "label_smoothing": ("d_targets",), "instance_noise": ("d_input",),
    "grad_clip": ("before_step",), "clip_weights": ("after_step",), "top_k": ("g_select",),
    "freeze_d": ("freeze",), "joint_d_pass": ("d_pass",), "zcr": ("d_term", "g_term"),
}


#: (name, factory, summary, order) of the run folder's writers (gancore.train.writers):
#: callbacks on by default, after the recipe's and the packs', in this order.
WRITERS: tuple[tuple[str, str, str, int], ...] = (
    ("trackers", f"{_T}.writers:TrackersWriter",
     "the recipe's experiment trackers: scalars, sample grids, scores", 10),
    ("checkpoints", f"{_T}.writers:Checkpoints",
     "step_*.safetensors every checkpoint_every steps, last.safetensors", 20),
    ("samples", f"{_T}.writers:SampleGrids",
     "a sample grid every sample_every steps and final.png", 30),
    ("evaluation", "gancore.evaluation.during_training:Evaluation",
     "the [eval] metrics every eval_every steps", 40),
    ("plots", f"{_T}.writers:Plots", "loss_curves.png and eval_curves.png at the end", 50),
)


def register(registry: Registry) -> None:
    """Add the training components (and the run folder's writers) to ``registry``."""
    from gancore.train.requirements import BUILT_IN
    for kind, entries in COMPONENTS.items():
        for name, (factory, summary) in entries.items():
            meta: dict[str, object] = {}
            if name in TRACKER_NEEDS and kind == "tracker":
                meta["needs"] = TRACKER_NEEDS[name]
            if kind == "technique":
                meta["points"] = TECHNIQUE_POINTS[name]
            if (kind, name) in BUILT_IN:
                meta["requires"] = BUILT_IN[kind, name]
            registry.add(kind, name, factory, summary=summary, **meta)
    for name, factory, summary, order in WRITERS:
        registry.add("callback", name, factory, summary=summary, default=True, core=True,
                     order=order)
