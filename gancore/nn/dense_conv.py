"""Convolutions that are matrix products in disguise, computed as such.

DCGAN's first generator layer (a transposed conv on the latent as a 1x1 map) and its last
discriminator layer (a valid conv whose kernel covers the whole map) are dense layers. oneDNN runs
them through its convolution kernels, several times slower than one GEMM on a CPU. These
subclasses keep the convolution's parameters (same names, shapes and state dict) and fall back to
the convolution whenever the input is not the dense case.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _channels_last(t: torch.Tensor) -> bool:
    return t.dim() == 4 and not t.is_contiguous() and t.is_contiguous(
        memory_format=torch.channels_last
    )


class ProjectionConvTranspose2d(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d`` that computes a 1x1 input (padding 0) as one matrix product.

    The output keeps the weight's memory format, so a channels_last model gets channels_last
    maps without a copy.
    """

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        if not self._dense(x) or output_size is not None:
            return super().forward(x, output_size)
        w = self.weight  # [in, out, kh, kw]
        n, (c_in, c_out, kh, kw) = x.shape[0], w.shape
        z = x.reshape(n, c_in)
        if _channels_last(w):
            y = (z @ w.permute(0, 2, 3, 1).reshape(c_in, -1)).view(n, kh, kw, c_out)
            y = y.permute(0, 3, 1, 2)
        else:
            y = (z @ w.reshape(c_in, -1)).view(n, c_out, kh, kw)
        if self.bias is not None:
            y = y + self.bias.view(1, -1, 1, 1).to(y.dtype)
        return y

    def _dense(self, x: torch.Tensor) -> bool:
        return (
            x.dim() == 4
            and x.shape[-2:] == (1, 1)
            and self.groups == 1
            and self.padding == (0, 0)
            and self.output_padding == (0, 0)
            and self.dilation == (1, 1)
            and self.padding_mode == "zeros"
        )


class WindowConv2d(nn.Conv2d):
    """``nn.Conv2d`` that computes a kernel covering the whole input (padding 0) as a linear layer.

    The output is ``[N, out, 1, 1]`` as from the convolution.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self._dense(x):
            return super().forward(x)
        w = self.weight  # [out, in, kh, kw]
        if _channels_last(x):  # flatten both in (h, w, c) order: no copy of the activations
            flat_x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
            flat_w = w.permute(0, 2, 3, 1).reshape(w.shape[0], -1)
        else:
            flat_x, flat_w = x.reshape(x.shape[0], -1), w.reshape(w.shape[0], -1)
        return F.linear(flat_x, flat_w, self.bias).view(x.shape[0], -1, 1, 1)

    def _dense(self, x: torch.Tensor) -> bool:
        return (
            x.dim() == 4
            and tuple(x.shape[-2:]) == tuple(self.kernel_size)
            and self.groups == 1
            and self.padding == (0, 0)
            and self.dilation == (1, 1)
            and self.padding_mode == "zeros"
        )
