"""The PyTorch DCGAN example's networks written by hand: the references for the benches."""

from __future__ import annotations

from torch import nn


def generator(nz: int = 100, ngf: int = 64, nc: int = 3, image_size: int = 64) -> nn.Module:
    """DCGAN generator for 64x64 (four x2 stages) or 32x32 (three) images."""
    mult = 8 if image_size == 64 else 4
    layers: list[nn.Module] = [nn.ConvTranspose2d(nz, ngf * mult, 4, 1, 0, bias=False),
                               nn.BatchNorm2d(ngf * mult), nn.ReLU(True)]
    while mult > 1:
        layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 4, 2, 1, bias=False),
                   nn.BatchNorm2d(ngf * mult // 2), nn.ReLU(True)]
        mult //= 2
    layers += [nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def discriminator(ndf: int = 64, nc: int = 3, image_size: int = 64) -> nn.Module:
    """DCGAN discriminator returning raw logits of shape [B, 1, 1, 1]."""
    top = 8 if image_size == 64 else 4
    layers: list[nn.Module] = [nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
    mult = 1
    while mult < top:
        layers += [nn.Conv2d(ndf * mult, ndf * mult * 2, 4, 2, 1, bias=False),
                   nn.BatchNorm2d(ndf * mult * 2), nn.LeakyReLU(0.2, True)]
        mult *= 2
    layers += [nn.Conv2d(ndf * top, 1, 4, 1, 0, bias=False)]
    return nn.Sequential(*layers)


def weights_init(m: nn.Module) -> None:
    """The example's N(0, 0.02) initialisation."""
    name = type(m).__name__
    if "Conv" in name:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif "BatchNorm" in name:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)
