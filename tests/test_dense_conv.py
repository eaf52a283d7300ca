"""The dense-case convolutions agree with torch's convolutions, values and gradients."""

import pytest
import torch
from torch import nn

from gancore.nn.dense_conv import ProjectionConvTranspose2d, WindowConv2d

CL = torch.channels_last


def _pair(ours_cls, ref_cls, *args, bias, channels_last):
    torch.manual_seed(0)
    ref = ref_cls(*args, bias=bias)
    ours = ours_cls(*args, bias=bias)
    ours.load_state_dict(ref.state_dict())
    if channels_last:
        ref, ours = ref.to(memory_format=CL), ours.to(memory_format=CL)
    return ours, ref


def _check(ours, ref, x):
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    y1, y2 = ours(x1), ref(x2)
    assert y1.shape == y2.shape
    torch.testing.assert_close(y1, y2, rtol=1e-5, atol=1e-5)
    g = torch.randn_like(y2)
    y1.backward(g)
    y2.backward(g)
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-5, atol=1e-5)
    for (name, p1), p2 in zip(ours.named_parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(p1.grad, p2.grad, rtol=1e-5, atol=1e-5, msg=name)
    return y1


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("channels_last", [False, True])
def test_projection_matches_transposed_conv_on_a_1x1_input(bias, channels_last):
    ours, ref = _pair(
        ProjectionConvTranspose2d, nn.ConvTranspose2d, 10, 6, 4, 1, 0,
        bias=bias, channels_last=channels_last,
    )
    y = _check(ours, ref, torch.randn(3, 10, 1, 1))
    assert y.shape == (3, 6, 4, 4)
    assert y.is_contiguous(memory_format=CL if channels_last else torch.contiguous_format)


def test_projection_falls_back_to_the_convolution_on_larger_inputs():
    ours, ref = _pair(
        ProjectionConvTranspose2d, nn.ConvTranspose2d, 4, 3, 4, 2, 1,
        bias=True, channels_last=False,
    )
    assert _check(ours, ref, torch.randn(2, 4, 5, 5)).shape == (2, 3, 10, 10)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("channels_last", [False, True])
def test_window_conv_matches_conv_when_the_kernel_covers_the_map(bias, channels_last):
    ours, ref = _pair(WindowConv2d, nn.Conv2d, 8, 2, 4, 1, 0, bias=bias,
                      channels_last=channels_last)
    x = torch.randn(3, 8, 4, 4)
    if channels_last:
        x = x.contiguous(memory_format=CL)
    assert _check(ours, ref, x).shape == (3, 2, 1, 1)


def test_window_conv_falls_back_on_larger_maps():
    ours, ref = _pair(WindowConv2d, nn.Conv2d, 8, 2, 4, 1, 0, bias=True, channels_last=False)
    assert _check(ours, ref, torch.randn(2, 8, 6, 6)).shape == (2, 2, 3, 3)


def test_bf16_autocast_keeps_the_dtype_of_the_convolution():
    proj = ProjectionConvTranspose2d(10, 6, 4, 1, 0, bias=True)
    window = WindowConv2d(6, 1, 4, 1, 0, bias=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        h = proj(torch.randn(2, 10, 1, 1))
        out = window(h)
    assert h.dtype == out.dtype == torch.bfloat16
