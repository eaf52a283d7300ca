"""Modulated convolution, demodulation and noise inputs against written-out references."""

from __future__ import annotations

import torch
from gancore_stylegan.layers import ModulatedConv2d, NoiseInput, modulate, modulated_conv2d
from torch.nn import functional as F


def test_grouped_modulated_conv_equals_per_sample_loop():
    torch.manual_seed(0)
    conv = ModulatedConv2d(4, 6, 3, w_dim=5)
    x, w = torch.randn(3, 4, 7, 7), torch.randn(3, 5)
    out = conv(x, w)
    styles = conv.affine(w)
    base = conv.weight * conv.weight_gain
    for b in range(3):
        weight = base * styles[b][None, :, None, None]
        weight = weight / weight.pow(2).sum(dim=(1, 2, 3), keepdim=True).add(1e-8).sqrt()
        expected = F.conv2d(x[b : b + 1], weight, padding=1)
        torch.testing.assert_close(out[b : b + 1], expected, rtol=1e-4, atol=1e-5)


def test_modulation_without_demodulation_scales_input_channels():
    torch.manual_seed(1)
    weight, styles = torch.randn(2, 3, 1, 1), torch.rand(4, 3) + 0.5
    x = torch.randn(4, 3, 5, 5)
    out = modulated_conv2d(x, modulate(weight, styles, demodulate=False))
    expected = F.conv2d(x * styles[:, :, None, None], weight)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)


def test_demodulation_gives_unit_norm_weights_per_output_channel():
    torch.manual_seed(2)
    conv = ModulatedConv2d(8, 5, 3, w_dim=4)
    weights = conv.modulated_weight(torch.randn(6, 4) * 3)
    norms = weights.pow(2).sum(dim=(2, 3, 4)).sqrt()
    torch.testing.assert_close(norms, torch.ones(6, 5), rtol=1e-4, atol=1e-4)


def test_up_doubles_resolution():
    conv = ModulatedConv2d(2, 3, 3, w_dim=4, up=True)
    assert conv(torch.randn(2, 2, 4, 4), torch.randn(2, 4)).shape == (2, 3, 8, 8)


def test_noise_changes_output_only_with_nonzero_strength():
    torch.manual_seed(3)
    noise = NoiseInput(resolution=4)
    x = torch.randn(2, 3, 4, 4)
    assert torch.equal(noise(x), x)
    with torch.no_grad():
        noise.strength.fill_(0.5)
    a, b = noise(x), noise(x)
    assert not torch.allclose(a, b)
    assert torch.allclose((a - x) / 0.5, (a - x)[:, :1].expand_as(a) / 0.5)  # one map per pixel
    noise.mode = "const"
    torch.testing.assert_close(noise(x), noise(x))
    noise.mode = "none"
    assert torch.equal(noise(x), x)
