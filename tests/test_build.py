"""The builder: every bundled recipe, shapes, DCGAN reference counts, export, Python API."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import gancore
from gancore.assembly.summary import summarize
from gancore.core.errors import RecipeError

from .conftest import RECIPES


def _recipes():
    from gancore.core.errors import GancoreError
    from gancore.packs.loader import get_registry
    from gancore.recipe import check_requires, load_recipe

    out = []
    for path in sorted(RECIPES.glob("*.toml")):
        try:
            check_requires(load_recipe(path), get_registry())
        except GancoreError as exc:
            out.append(pytest.param(path, marks=pytest.mark.skip(reason=exc.message)))
            continue
        out.append(path)
    return out


def dcgan_reference() -> tuple[nn.Module, nn.Module]:
    """The PyTorch DCGAN example's networks (nz=100, ngf=ndf=64, nc=3), written by hand."""
    g = nn.Sequential(
        nn.ConvTranspose2d(100, 512, 4, 1, 0, bias=False), nn.BatchNorm2d(512), nn.ReLU(True),
        nn.ConvTranspose2d(512, 256, 4, 2, 1, bias=False), nn.BatchNorm2d(256), nn.ReLU(True),
        nn.ConvTranspose2d(256, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(True),
        nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(True),
        nn.ConvTranspose2d(64, 3, 4, 2, 1, bias=False), nn.Tanh())
    d = nn.Sequential(
        nn.Conv2d(3, 64, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
        nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2, True),
        nn.Conv2d(128, 256, 4, 2, 1, bias=False), nn.BatchNorm2d(256), nn.LeakyReLU(0.2, True),
        nn.Conv2d(256, 512, 4, 2, 1, bias=False), nn.BatchNorm2d(512), nn.LeakyReLU(0.2, True),
        nn.Conv2d(512, 1, 4, 1, 0, bias=False))
    return g, d


def test_dcgan_matches_the_pytorch_reference_network():
    gan = gancore.build("dcgan")
    g_ref, d_ref = dcgan_reference()
    assert sum(p.numel() for p in gan.generator.parameters()) == 3_576_704
    assert sum(p.numel() for p in gan.discriminator.parameters()) == 2_765_568
    # same tensors in the same order: copy the reference weights and compare outputs
    for ours, ref in ((gan.generator, g_ref), (gan.discriminator, d_ref)):
        ours_state, ref_state = list(ours.state_dict().values()), list(ref.state_dict().values())
        assert [t.shape for t in ours_state] == [t.shape for t in ref_state]
        ours.load_state_dict(dict(zip(ours.state_dict(), ref_state, strict=True)))
    gan.eval()
    g_ref.eval()
    d_ref.eval()
    z = torch.randn(3, 100)
    with torch.no_grad():
        x = gan.generator(z)
        torch.testing.assert_close(x, g_ref(z[:, :, None, None]))
        torch.testing.assert_close(gan.discriminator(x), d_ref(x).flatten())


@pytest.mark.parametrize("path", _recipes(), ids=lambda p: p.stem)
def test_every_recipe_builds_with_the_right_shapes(path):
    gan = gancore.build(path)
    summary = summarize(gan, batch_size=3)
    assert summary["generator"].output_shape == [3, *gan.data.shape]
    assert summary["discriminator"].output_shape == [3]
    if gan.recipe.generator.type == "stack":  # every part runs in sequence
        assert all(row.output_shape for row in summary["generator"].layers)


@pytest.mark.parametrize("path", _recipes(), ids=lambda p: p.stem)
def test_every_recipe_round_trips_through_save_and_load(path, tmp_path):
    gan = gancore.build(path, seed=5)
    file = gancore.save(gan, tmp_path / "init.safetensors")
    again = gancore.load(file)
    for net in (gan, again):
        net.eval()
    z = torch.randn(4, gan.latent_dim, generator=torch.Generator().manual_seed(0))
    y = torch.arange(4) % gan.num_classes if gan.num_classes else None
    with torch.no_grad():
        torch.testing.assert_close(gan.generator(z, y), again.generator(z, y), rtol=0, atol=0)
        x = gan.generator(z, y)
        d_y = y if gan.discriminator.num_classes else None
        torch.testing.assert_close(gan.discriminator(x, d_y), again.discriminator(x, d_y),
                                   rtol=0, atol=0)


def test_same_seed_same_weights_and_global_rng_untouched():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = gancore.build("dcgan-32", seed=1)
    after = torch.rand(1)
    b = gancore.build("dcgan-32", seed=1)
    c = gancore.build("dcgan-32", seed=2)
    assert torch.equal(before, after)
    wa, wb, wc = (next(x.generator.parameters()) for x in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)


def test_print_is_readable_and_export_works():
    gan = gancore.build("dcgan-32").eval()
    text = repr(gan.generator)
    assert "ConvTranspose2d(100, 256" in text and "BatchNorm2d(256" in text
    z = torch.randn(2, 100)
    exported = torch.export.export(gan.generator, (z,))
    torch.testing.assert_close(exported.module()(z), gan.generator(z))
    sagan = gancore.build("sagan").generator.eval()
    z = torch.randn(2, 128)
    exported = torch.export.export(sagan, (z,))
    torch.testing.assert_close(exported.module()(z), sagan(z))


def test_class_conditioning_variants():
    for g_cond, d_cond, d_head in (("concat", "concat", "conv_logit"),
                                   ("cbn", "projection", "linear_logit")):
        overrides = [f"generator.conditioning={g_cond}", f"discriminator.conditioning={d_cond}",
                     f"discriminator.head={{type=\"{d_head}\"}}"]
        gan = gancore.build("dcgan-32", overrides=overrides).eval()
        assert gan.num_classes == 10
        z = torch.randn(1, 100).repeat(2, 1)
        with torch.no_grad():
            for m in gan.generator.modules():  # make classes matter for cbn at init
                if hasattr(m, "embed") and isinstance(m.embed, nn.Embedding):
                    nn.init.normal_(m.embed.weight)
            x = gan.generator(z, torch.tensor([0, 1]))
            assert not torch.allclose(x[0], x[1])
            assert gan.discriminator(x, torch.tensor([0, 1])).shape == (2,)
        with pytest.raises(ValueError, match="labels"):
            gan.generator(z)


def test_conditioning_on_unlabelled_data_is_an_error():
    with pytest.raises(RecipeError, match="labelled data") as exc:
        gancore.build("sagan", overrides=["generator.conditioning=concat",
                                          "data.labels=none"])
    assert exc.value.key == "generator.conditioning"


def test_build_network_from_python_without_a_recipe():
    g = gancore.build_network("generator", {
        "type": "stack", "latent_dim": 16,
        "stem": {"type": "dense", "out_channels": 32, "resolution": 4},
        "blocks": [{"type": "upsample", "out_channels": 16}, {"type": "self_attention"},
                   {"type": "upsample"}],
    }, data=(3, 16, 16))
    assert g(torch.randn(2, 16)).shape == (2, 3, 16, 16)
    d = gancore.build_network("discriminator", {
        "type": "stack", "blocks": [{"type": "linear", "out_channels": 32}],
    }, data=(2,))
    assert d(torch.randn(5, 2)).shape == (5,)


@pytest.mark.parametrize("norm", ["batch", "instance", "layer", "group", "none"])
@pytest.mark.parametrize("weight_norm", ["spectral", "weight", "none"])
def test_norm_choices_build(norm, weight_norm):
    gan = gancore.build("sagan", overrides=[f"discriminator.norm={norm}",
                                            f"generator.weight_norm={weight_norm}"])
    assert gan.discriminator(gan.generator(torch.randn(2, 128))).shape == (2,)


def test_spectral_norm_bounds_the_largest_singular_value():
    gan = gancore.build("sagan")
    conv = gan.discriminator.blocks[0][0]
    x = torch.randn(8, 32, 16, 16)
    for _ in range(30):  # power iterations converge in train mode
        conv(x)
    w = conv.weight.flatten(1)
    assert torch.linalg.matrix_norm(w, ord=2).item() == pytest.approx(1.0, rel=0.05)


@pytest.mark.parametrize("scheme", ["normal_0.02", "xavier", "orthogonal"])
def test_init_schemes(scheme):
    gan = gancore.build("dcgan-32", overrides=[f"generator.init={scheme}"])
    w = gan.generator.blocks[0][0].weight
    if scheme == "normal_0.02":
        assert w.std().item() == pytest.approx(0.02, rel=0.1)
        assert w.mean().abs().item() < 0.002
    elif scheme == "orthogonal":
        flat = w.flatten(1)
        rows = flat if flat.shape[0] <= flat.shape[1] else flat.T
        torch.testing.assert_close(rows @ rows.T, torch.eye(rows.shape[0]), atol=1e-4, rtol=0)
    else:  # ConvTranspose2d weight is (in, out, k, k): fan_in = out*k*k, fan_out = in*k*k
        k2 = w.shape[2] * w.shape[3]
        bound = (6 / (w.shape[1] * k2 + w.shape[0] * k2)) ** 0.5
        assert 0.9 * bound <= w.abs().max().item() <= bound


def test_built_modules_record_the_component_that_made_them(builtin_registry):
    import copy

    from gancore.core.registry import MadeBy, made_by

    gan = gancore.build("sagan", overrides=["data.type=shapes"], registry=builtin_registry)
    g = gan.generator
    version = builtin_registry.get("generator", "stack").origin_version
    assert made_by(g) == MadeBy("generator", "stack", "builtin", version, "generator")
    attention = made_by(g.blocks[2])
    assert (attention.kind, attention.name, attention.key) == (
        "block", "self_attention", "generator.blocks[2]")
    # the small layers a block makes through its context: kind and name, no key of their own
    inner = {(m.kind, m.name) for m in map(made_by, g.blocks[0].modules()) if m is not None}
    assert {("block", "upsample"), ("weight_norm", "spectral"), ("norm", "batch"),
            ("activation", "relu")} <= inner
    assert made_by(g.blocks[0][2]).key is None
    assert made_by(nn.Linear(2, 2)) is None
    # the record is plain data: it leaves the weights alone and survives a copy
    assert not any("made_by" in k for k in g.state_dict())
    assert made_by(copy.deepcopy(g).blocks[2]) == attention
