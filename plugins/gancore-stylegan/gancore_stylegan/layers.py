"""StyleGAN2 building layers: equalised linear, modulated convolution, noise, mapping network."""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn
from torch.nn import functional as F

#: Gain that keeps the variance of a leaky ReLU (slope 0.2) output close to its input's.
LRELU_GAIN = math.sqrt(2.0)


class EqualLinear(nn.Module):
    """Linear layer with equalised learning rate (weights scaled at run time, not at init)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias_init: float = 0.0,
        lr_mul: float = 1.0,
        activation: bool = False,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_mul))
        self.weight_gain = lr_mul / math.sqrt(in_features)
        self.lr_mul = lr_mul
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(x, self.weight * self.weight_gain, self.bias * self.lr_mul)
        if self.activation:
            out = F.leaky_relu(out, 0.2) * LRELU_GAIN
        return out


def modulate(
    weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True, eps: float = 1e-8
) -> torch.Tensor:
    """Per-sample weights ``[B, O, I, k, k]``: ``weight`` scaled by ``styles`` ``[B, I]``.

    With ``demodulate`` each output channel's weights are rescaled to unit L2 norm.
    """
    w = weight.unsqueeze(0) * styles[:, None, :, None, None]
    if demodulate:
        w = w * torch.rsqrt(w.pow(2).sum(dim=(2, 3, 4), keepdim=True) + eps)
    return w


def modulated_conv2d(x: torch.Tensor, weights: torch.Tensor, padding: int = 0) -> torch.Tensor:
    """Convolve each sample of ``x`` ``[B, I, H, W]`` with its own ``weights[b]`` (grouped conv)."""
    b, i, h, w = x.shape
    o = weights.shape[1]
    out = F.conv2d(
        x.reshape(1, b * i, h, w),
        weights.reshape(b * o, i, *weights.shape[3:]),
        padding=padding,
        groups=b,
    )
    return out.reshape(b, o, *out.shape[2:])


class ModulatedConv2d(nn.Module):
    """Convolution whose input channels are scaled by an affine map of the style ``w``.

    ``up = True`` doubles the resolution (bilinear) before the convolution.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        w_dim: int,
        demodulate: bool = True,
        up: bool = False,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.demodulate, self.up = kernel_size, demodulate, up
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)

    def modulated_weight(self, w: torch.Tensor) -> torch.Tensor:
        """The per-sample weights ``[B, O, I, k, k]`` for styles ``w`` ``[B, w_dim]``."""
        return modulate(self.weight * self.weight_gain, self.affine(w), self.demodulate)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        return modulated_conv2d(x, self.modulated_weight(w), padding=self.kernel_size // 2)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"demodulate={self.demodulate}, up={self.up}"
        )


class NoiseInput(nn.Module):
    """Adds per-pixel Gaussian noise scaled by a learned ``strength`` (initially 0).

    ``mode``: ``random`` draws fresh noise each call, ``const`` uses a fixed map drawn at
    construction (needs the resolution), ``none`` adds nothing.
    """

    def __init__(self, resolution: int | None = None) -> None:
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(()))
        self.mode = "random"
        if resolution is not None:
            self.register_buffer("const_noise", torch.randn(1, 1, resolution, resolution))
        else:
            self.const_noise = None

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        if noise is None:
            if self.mode == "none":
                return x
            if self.mode == "const":
                if self.const_noise is None:
                    raise ValueError("const noise needs the block's resolution at build time")
                noise = self.const_noise
            else:
                noise = torch.randn(
                    x.shape[0], 1, x.shape[2], x.shape[3], device=x.device, dtype=x.dtype
                )
        return x + noise * self.strength


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each row to unit mean square (StyleGAN's pixel norm of z)."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


class MappingNetwork(nn.Module):
    """z (and optionally a class label) -> w through an MLP with a reduced learning rate."""

    def __init__(
        self,
        latent_dim: int,
        w_dim: int,
        num_layers: int,
        num_classes: int = 0,
        lr_mul: float = 0.01,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.embed = EqualLinear(num_classes, w_dim) if num_classes else None
        in_dim = latent_dim + (w_dim if num_classes else 0)
        dims = [in_dim] + [w_dim] * num_layers
        self.layers = nn.Sequential(
            *(
                EqualLinear(a, b, lr_mul=lr_mul, activation=True)
                for a, b in itertools.pairwise(dims)
            )
        )

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = normalize_2nd_moment(z)
        if self.embed is not None:
            if y is None:
                raise ValueError("this generator is class-conditional: pass labels y")
            label = self.embed(F.one_hot(y, self.num_classes).to(z.dtype))
            x = torch.cat([x, normalize_2nd_moment(label)], dim=1)
        return self.layers(x)
