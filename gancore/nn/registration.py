"""Registration of the built-in networks, blocks, norms, activations and inits.

Factories are lazy ``"module:attribute"`` strings, so importing this module imports no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gancore.core.requirements import Requirement

if TYPE_CHECKING:
    from gancore.core.registry import Registry

_B = "gancore.nn"

COMPONENTS: list[tuple[str, str, str, str]] = [
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
]




def _conditioning(facts: Any, params: Any) -> bool:
    return getattr(params, "conditioning", "none") != "none" and not facts.labelled


#: class conditioning of a stack network needs labelled data (an error, as the build says)
CONDITIONING_ON_UNLABELLED = {
    network: Requirement(
        key=f"{network}.conditioning", when=_conditioning, level="error",
        message="class conditioning needs labelled data, but the dataset has no classes",
        fix='set conditioning = "none" or use a labelled dataset')
    for network in ("generator", "discriminator")
}


def register(registry: Registry) -> None:
    """Add the network components to ``registry``."""
    for kind, name, factory, summary in COMPONENTS:
        requires = CONDITIONING_ON_UNLABELLED.get(kind) if name == "stack" else None
        registry.add(kind, name, factory, summary=summary,
                     **({"requires": (requires,)} if requires else {}))
