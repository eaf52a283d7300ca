"""The built-in plugin: registers gancore's own components through the public hook.

Factories are lazy ``"module:attribute"`` strings, so loading this plugin imports no torch.
"""

from __future__ import annotations

from pathlib import Path

from gancore.hookspecs import hookimpl

_B = "gancore.nn"

_COMPONENTS: list[tuple[str, str, str, str]] = [
    # kind, name, factory, summary
    ("generator", "stack", f"{_B}.networks:StackGenerator", "stem + blocks + head generator"),
    (
        "discriminator",
        "stack",
        f"{_B}.networks:StackDiscriminator",
        "optional stem + blocks + logit head discriminator",
    ),
    ("block", "dense", f"{_B}.blocks:Dense", "stem: linear layer to a C x r x r map"),
    ("block", "project", f"{_B}.blocks:Project", "stem: transposed conv from a 1x1 latent (DCGAN)"),
    ("block", "upsample", f"{_B}.blocks:Upsample", "x2 nearest/bilinear upsample + conv"),
    ("block", "transposed", f"{_B}.blocks:Transposed", "x2 transposed conv (4, stride 2)"),
    ("block", "down", f"{_B}.blocks:Down", "/2 strided conv (4, stride 2)"),
    ("block", "conv", f"{_B}.blocks:Conv", "stride-1 conv keeping the resolution"),
    ("block", "dropout", f"{_B}.blocks:Dropout", "dropout"),
    ("block", "residual_up", f"{_B}.residual:ResidualUp", "x2 residual block (SNGAN G)"),
    ("block", "residual_down", f"{_B}.residual:ResidualDown", "/2 residual block (SNGAN D)"),
    ("block", "self_attention", f"{_B}.attention:SelfAttention", "self-attention (SAGAN)"),
    ("block", "to_image", f"{_B}.heads:ToImage", "head: conv to image channels + tanh"),
    (
        "block",
        "to_image_transposed",
        f"{_B}.heads:ToImageTransposed",
        "head: x2 transposed conv to image channels + tanh (DCGAN)",
    ),
    ("block", "conv_logit", f"{_B}.heads:ConvLogit", "head: full-map conv to one logit (DCGAN)"),
    (
        "block",
        "linear_logit",
        f"{_B}.heads:LinearLogit",
        "head: global sum pool + linear (+ projection)",
    ),
    ("block", "linear", f"{_B}.mlp:Linear", "fully connected layer + norm + act (vectors)"),
    ("block", "to_vector", f"{_B}.mlp:ToVector", "head: linear to the data's dimension"),
    ("norm", "batch", f"{_B}.norms:batch", "batch normalization"),
    ("norm", "instance", f"{_B}.norms:instance", "instance normalization"),
    ("norm", "layer", f"{_B}.norms:layer", "layer normalization"),
    ("norm", "group", f"{_B}.norms:group", "group normalization"),
    (
        "norm",
        "conditional_batch",
        f"{_B}.norms:conditional_batch",
        "batch norm with per-class scale and shift",
    ),
    ("norm", "none", f"{_B}.norms:none", "no normalization"),
    ("weight_norm", "spectral", f"{_B}.norms:spectral", "spectral normalization"),
    ("weight_norm", "weight", f"{_B}.norms:weight", "weight normalization"),
    ("weight_norm", "none", f"{_B}.norms:no_weight_norm", "no weight normalization"),
    ("activation", "relu", f"{_B}.activations:relu", "ReLU"),
    ("activation", "leaky_relu", f"{_B}.activations:leaky_relu", "leaky ReLU (slope 0.2)"),
    ("activation", "tanh", f"{_B}.activations:tanh", "tanh"),
    ("activation", "sigmoid", f"{_B}.activations:sigmoid", "sigmoid"),
    ("activation", "gelu", f"{_B}.activations:gelu", "GELU"),
    ("activation", "silu", f"{_B}.activations:silu", "SiLU / swish"),
    ("activation", "elu", f"{_B}.activations:elu", "ELU"),
    ("activation", "identity", f"{_B}.activations:identity", "no activation"),
    ("init", "normal_0.02", f"{_B}.init:normal_002", "N(0, 0.02) weights (DCGAN)"),
    ("init", "xavier", f"{_B}.init:xavier", "Xavier uniform"),
    ("init", "orthogonal", f"{_B}.init:orthogonal", "orthogonal (BigGAN)"),
    ("init", "default", f"{_B}.init:default", "PyTorch's own initialisation"),
    ("loss", "bce", "gancore.train.losses:BCE", "binary cross-entropy, non-saturating G loss"),
    ("loss", "minimax", "gancore.train.losses:Minimax", "binary cross-entropy, minimax G loss"),
    ("loss", "least_squares", "gancore.train.losses:LeastSquares", "least squares (LSGAN)"),
    ("loss", "hinge", "gancore.train.losses:Hinge", "hinge (SAGAN, BigGAN)"),
    ("loss", "wasserstein", "gancore.train.losses:Wasserstein", "Wasserstein critic (WGAN)"),
    (
        "loss",
        "relativistic_average",
        "gancore.train.losses:RelativisticAverage",
        "relativistic average BCE (RaSGAN)",
    ),
    (
        "loss",
        "acgan",
        "gancore.train.acgan:ACGAN",
        "an adversarial loss + cross-entropy of D's class logits (ACGAN)",
    ),
]


@hookimpl
def gancore_register_components(registry) -> None:  # type: ignore[no-untyped-def]
    """Register the built-in components."""
    from gancore.data import registration as data
    from gancore.metrics import registration as metrics
    from gancore.sweep import registration as sweep
    from gancore.train import registration as train
    from gancore.train.requirements import BUILT_IN

    for kind, name, factory, summary in _COMPONENTS:
        registry.add(kind, name, factory, summary=summary,
                     **({"requires": BUILT_IN[kind, name]} if (kind, name) in BUILT_IN else {}))
    for module in (data, metrics, train, sweep):
        module.register(registry)


@hookimpl
def gancore_recipe_dirs() -> list[str]:
    """The bundled recipes."""
    return [str(Path(__file__).resolve().parent.parent / "recipes")]
