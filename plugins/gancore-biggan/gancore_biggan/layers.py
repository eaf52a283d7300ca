"""BigGAN's layers: conditional batch norm, residual up/down blocks, non-local attention.

Written from Brock et al. 2019 ("Large Scale GAN Training for High Fidelity Natural Image
Synthesis", appendix B) and the architecture tables of its public CIFAR configuration.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from gancore.plugin import BuildContext, WeightNormSpec

#: Parameters carrying this attribute (set to True) are left out of ``ortho_adam``'s
#: regularisation, as BigGAN leaves out its shared class embedding.
NO_ORTHO = "gancore_biggan_no_ortho"


def conv3(ctx: BuildContext, cin: int, cout: int, wn: WeightNormSpec | None) -> nn.Module:
    return ctx.apply_weight_norm(nn.Conv2d(cin, cout, 3, padding=1), wn)


def conv1(ctx: BuildContext, cin: int, cout: int, wn: WeightNormSpec | None,
          bias: bool = True) -> nn.Module:
    return ctx.apply_weight_norm(nn.Conv2d(cin, cout, 1, bias=bias), wn)


class ConditionalBatchNorm(nn.Module):
    """Batch norm whose gain and bias are linear functions of a condition vector ``c``.

    ``gain = 1 + W_g c`` and ``bias = W_b c`` (no bias terms), so the gain starts around 1.
    In BigGAN ``c = [shared(y), z_chunk]``; with one-hot labels for ``c`` the linear maps are
    per-class lookup tables (de Vries et al. 2017).
    """

    def __init__(self, num_features: int, cond_dim: int, gain: nn.Module, bias: nn.Module,
                 eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.num_features, self.cond_dim = num_features, cond_dim
        self.bn = nn.BatchNorm2d(num_features, eps=eps, momentum=momentum, affine=False)
        self.gain, self.bias = gain, bias

    def affine(self, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The per-sample gain and bias ``[B, C]`` for conditions ``c`` ``[B, cond_dim]``."""
        return 1.0 + self.gain(c), self.bias(c)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        gain, bias = self.affine(c)
        return self.bn(x) * gain[:, :, None, None] + bias[:, :, None, None]


def make_cbn(ctx: BuildContext, channels: int, cond_dim: int,
             wn: WeightNormSpec | None) -> ConditionalBatchNorm:
    """A conditional BN whose linear maps get the weight norm ``wn`` (none for one-hot)."""
    def linear() -> nn.Module:
        layer = nn.Linear(cond_dim, channels, bias=False)
        return ctx.apply_weight_norm(layer, wn) if wn is not None else layer

    return ConditionalBatchNorm(channels, cond_dim, linear(), linear())


class GBlock(nn.Module):
    """Generator residual block, doubling the resolution.

    main: cBN, ReLU, upsample, conv3x3, cBN, ReLU, conv3x3; shortcut: upsample, conv1x1.
    Both batch norms take the same condition ``c`` (``forward(x, c)``).
    """

    def __init__(self, in_channels: int, out_channels: int, cond_dim: int, *,
                 ctx: BuildContext, weight_norm: WeightNormSpec | None,
                 cbn_weight_norm: WeightNormSpec | None) -> None:
        super().__init__()
        self.out_channels, self.scale = out_channels, 2.0
        self.bn1 = make_cbn(ctx, in_channels, cond_dim, cbn_weight_norm)
        self.conv1 = conv3(ctx, in_channels, out_channels, weight_norm)
        self.bn2 = make_cbn(ctx, out_channels, cond_dim, cbn_weight_norm)
        self.conv2 = conv3(ctx, out_channels, out_channels, weight_norm)
        self.shortcut = conv1(ctx, in_channels, out_channels, weight_norm)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(x, c))
        h = self.conv1(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        h = self.conv2(F.relu(self.bn2(h, c)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class DBlock(nn.Module):
    """Discriminator residual block.

    main: [ReLU], conv3x3, ReLU, conv3x3, [avgpool]; shortcut (when channels change or the
    block downsamples): conv1x1 then avgpool, or avgpool then conv1x1 for the first block
    (``preactivation = False``, fed with images).
    """

    def __init__(self, in_channels: int, out_channels: int, *, ctx: BuildContext,
                 weight_norm: WeightNormSpec | None, preactivation: bool,
                 downsample: bool) -> None:
        super().__init__()
        self.out_channels, self.scale = out_channels, 0.5 if downsample else 1.0
        self.preactivation, self.downsample = preactivation, downsample
        self.conv1 = conv3(ctx, in_channels, out_channels, weight_norm)
        self.conv2 = conv3(ctx, out_channels, out_channels, weight_norm)
        learn = in_channels != out_channels or downsample
        self.shortcut = conv1(ctx, in_channels, out_channels, weight_norm) if learn else None

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = F.relu(x) if self.preactivation else x
        h = self.conv2(F.relu(self.conv1(h)))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        s = x
        if self.shortcut is not None:
            if self.preactivation:
                s = self.shortcut(s)
                if self.downsample:
                    s = F.avg_pool2d(s, 2)
            else:
                if self.downsample:
                    s = F.avg_pool2d(s, 2)
                s = self.shortcut(s)
        return h + s


class NonLocal(nn.Module):
    """BigGAN's non-local block (self-attention, Zhang et al. 2019).

    Queries and keys have ``C/8`` channels, values ``C/2``; keys and values are max-pooled by 2,
    so attention costs a quarter of the full map. The gate ``gamma`` starts at 0.
    """

    def __init__(self, channels: int, *, ctx: BuildContext,
                 weight_norm: WeightNormSpec | None) -> None:
        super().__init__()
        self.out_channels, self.scale = channels, 1.0
        qk, v = max(1, channels // 8), max(1, channels // 2)
        self.theta = conv1(ctx, channels, qk, weight_norm, bias=False)
        self.phi = conv1(ctx, channels, qk, weight_norm, bias=False)
        self.g = conv1(ctx, channels, v, weight_norm, bias=False)
        self.o = conv1(ctx, v, channels, weight_norm, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        b, _, h, w = x.shape
        theta = self.theta(x).flatten(2)  # B, qk, N
        phi = F.max_pool2d(self.phi(x), 2).flatten(2)  # B, qk, N/4
        g = F.max_pool2d(self.g(x), 2).flatten(2)  # B, v, N/4
        beta = torch.softmax(torch.bmm(theta.transpose(1, 2), phi), dim=-1)  # B, N, N/4
        o = torch.bmm(g, beta.transpose(1, 2)).view(b, -1, h, w)
        return x + self.gamma * self.o(o)
