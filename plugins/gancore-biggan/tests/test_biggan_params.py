"""Parameter counts of BigGAN at 32x32 with ch = 64: this implementation against the published
CIFAR-10 architecture, counted by hand from its layer list.

The published architecture (Brock et al. 2019, BigGAN-PyTorch's CIFAR configuration: ch = 64,
dim_z = 128, 10 classes, spectral norm everywhere; the CIFAR script uses per-class cBN tables
and no hierarchical latent). Spectral norm adds no parameters (its u, v vectors are buffers).

Generator (4x4 stem, 3 up-blocks of 4 * ch = 256 channels):

- linear z -> 256 * 4 * 4:              128 * 4096 + 4096                   =   528,384
- per up-block (256 -> 256):
  conv3x3 x 2:                          2 * (256 * 256 * 9 + 256)           = 1,180,160
  shortcut conv1x1:                     256 * 256 + 256                     =    65,792
  2 cBN, gain and bias tables:          2 * 2 * 10 * 256                    =    10,240
  one block                                                                 = 1,256,192
- 3 blocks                                                                  = 3,768,576
- output BN (gain, bias):               2 * 256                             =       512
- output conv3x3 256 -> 3:              256 * 3 * 9 + 3                     =     6,915
- G total                               528,384 + 3,768,576 + 512 + 6,915   = 4,304,387

Discriminator (4 blocks of 256 channels; the first two downsample):

- block 1 (3 -> 256, no pre-activation): 3*256*9 + 256 + 256*256*9 + 256 + 3*256 + 256
                                         = 7,168 + 590,080 + 1,024           =   598,272
- block 2 (256 -> 256, downsample):     2 * 590,080 + 65,792                = 1,245,952
- blocks 3, 4 (256 -> 256, no shortcut conv: same channels, no downsampling)
                                        2 * (2 * 590,080)                    = 2,360,320
- linear 256 -> 1:                      256 + 1                             =       257
- projection embedding 10 x 256                                             =     2,560
- D total                                                                   = 4,207,361

With the paper's shared embedding (128) and hierarchical latent (4 chunks of 32), as in this
pack's recipe: the stem takes a chunk of 32 (32 * 4096 + 4096 = 135,168), the shared table adds
10 * 128 = 1,280, and each cBN maps [embedding 128, chunk 32] to gain and bias
(2 * 160 * 256 = 81,920, two per block: 163,840 instead of 10,240):
G = 135,168 + 1,280 + 3 * (1,180,160 + 65,792 + 163,840) + 512 + 6,915 = 4,373,251.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from gancore_biggan import plugin

import gancore

RECIPE = Path(plugin.__file__).parent / "recipes" / "biggan-32.toml"


def count(kind: str, spec: dict, classes: int) -> int:
    registry = gancore.load_plugins(extra=[("gancore-biggan", plugin)], autoload=False).registry
    with torch.device("meta"):  # nothing allocated
        net = gancore.build_network(kind, spec, {"shape": (3, 32, 32), "num_classes": classes},
                                    registry)
    return sum(p.numel() for p in net.parameters())


def published_g(ch: int = 64, z: int = 128, classes: int = 10) -> int:
    c = 4 * ch
    conv3 = c * c * 9 + c
    block = 2 * conv3 + (c * c + c) + 2 * 2 * classes * c
    return (z * c * 16 + c * 16) + 3 * block + 2 * c + (c * 3 * 9 + 3)


def published_d(ch: int = 64, classes: int = 10) -> int:
    c = 4 * ch
    conv3 = c * c * 9 + c
    first = (3 * c * 9 + c) + conv3 + (3 * c + c)
    second = 2 * conv3 + (c * c + c)
    rest = 2 * (2 * conv3)
    return first + second + rest + (c + 1) + classes * c


def shared_hier_g(ch: int = 64, z: int = 128, shared: int = 128, classes: int = 10) -> int:
    c, chunk = 4 * ch, z // 4
    conv3 = c * c * 9 + c
    block = 2 * conv3 + (c * c + c) + 2 * 2 * (shared + chunk) * c
    return (chunk * c * 16 + c * 16) + classes * shared + 3 * block + 2 * c + (c * 3 * 9 + 3)


def test_the_hand_arithmetic():
    assert published_g() == 528_384 + 3 * 1_256_192 + 512 + 6_915 == 4_304_387
    assert published_d() == 598_272 + 1_245_952 + 2_360_320 + 257 + 2_560 == 4_207_361
    assert shared_hier_g() == 4_373_251


def test_the_published_cifar_architecture_is_reproduced_exactly():
    g = {"type": "biggan", "ch": 64, "latent_dim": 128, "shared_dim": 0, "hierarchical": False}
    assert count("generator", g, 10) == published_g() == 4_304_387
    assert count("discriminator", {"type": "biggan", "ch": 64}, 10) == published_d() == 4_207_361


@pytest.mark.parametrize("classes", [4, 10])
def test_the_recipe_counts(classes):
    recipe = gancore.load_recipe(RECIPE)
    g = count("generator", recipe.generator.as_dict(), classes)
    d = count("discriminator", recipe.discriminator.as_dict(), classes)
    assert g == shared_hier_g(classes=classes)
    assert d == published_d(classes=classes)
    if classes == 4:  # shapes, as `gancore build biggan-32 --json` reports (and the recipe says)
        assert (g, d) == (4_372_483, 4_205_825)
        assert "G 4,372,483   D 4,205,825" in RECIPE.read_text(encoding="utf-8")
    else:
        assert (g, d) == (4_373_251, 4_207_361)
