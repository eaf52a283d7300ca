"""Weight initialisation schemes (kind ``init``): functions applied to a whole network."""

from __future__ import annotations

from torch import nn

from gancore.core.contract import keeps_init
from gancore.core.params import Scale

_WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm2d)


def _weight(module: nn.Module):
    """The trainable weight tensor, behind a weight-norm parametrization if there is one."""
    params = getattr(module, "parametrizations", None)
    if params is not None and "weight" in params:
        return (
            params.weight.original
            if hasattr(params.weight, "original")
            else params.weight.original1
        )
    return module.weight


def _skip(module: nn.Module) -> bool:
    """Conditional-norm embeddings keep their own (1, 0) initialisation."""
    return keeps_init(module)


def normal_002(network: nn.Module, std: Scale = 0.02) -> None:
    """DCGAN's scheme: conv/linear weights N(0, 0.02), norm scales N(1, 0.02), biases 0."""
    for m in network.modules():
        if isinstance(m, _WEIGHTED) and not _skip(m):
            nn.init.normal_(_weight(m), 0.0, std)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, _NORMS) and getattr(m, "weight", None) is not None:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


def xavier(network: nn.Module, gain: Scale = 1.0) -> None:
    """Xavier/Glorot uniform weights, zero biases."""
    for m in network.modules():
        if isinstance(m, _WEIGHTED) and not isinstance(m, nn.Embedding):
            nn.init.xavier_uniform_(_weight(m), gain=gain)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)


def orthogonal(network: nn.Module, gain: Scale = 1.0) -> None:
    """Orthogonal weights (as in BigGAN), zero biases."""
    for m in network.modules():
        if isinstance(m, _WEIGHTED) and not isinstance(m, nn.Embedding):
            nn.init.orthogonal_(_weight(m), gain=gain)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)


def default(network: nn.Module) -> None:
    """PyTorch's own initialisation (leave layers as constructed)."""
