"""The BigGAN networks and ortho_adam: contract, shapes, the techniques, recipe, registration."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import gancore_biggan
import pytest
import torch
from gancore_biggan import plugin
from gancore_biggan.generator import latent_chunks
from gancore_biggan.layers import NO_ORTHO, ConditionalBatchNorm
from gancore_biggan.optim import OrthoAdam, ortho_gradient
from torch.nn import functional as F

import gancore
from gancore.plugin import RecipeError


def test_every_component_builds_and_runs(check_pack):
    tiny = {"ch": 4}  # the defaults (ch = 64) are slow on a CPU
    checked = check_pack(plugin, "gancore-biggan", num_classes=3,
                         params={"generator:biggan": tiny, "discriminator:biggan": tiny})
    assert set(checked) == {"generator:biggan", "discriminator:biggan", "optimizer:ortho_adam"}


@pytest.mark.parametrize("size, blocks", [(16, 2), (32, 3), (64, 4)])
def test_output_shapes_and_layouts(build, size, blocks):
    g, d = build("generator", size), build("discriminator", size)
    y = torch.tensor([0, 2])
    x = g(torch.randn(2, g.latent_dim), y)
    assert x.shape == (2, 3, size, size) and x.abs().max() <= 1
    assert d(x, y).shape == (2,)
    assert len(g.blocks) == blocks and len(g.chunks) == blocks + 1 and sum(g.chunks) == 128
    if size == 32:  # the published CIFAR layout: 4*ch everywhere, D halves twice
        assert [b.out_channels for b in g.blocks] == [16, 16, 16]
        assert [b.downsample for b in d.blocks] == [True, True, False, False]
        assert [b.out_channels for b in d.blocks] == [16] * 4


def test_attention_sits_where_asked(build):
    g = build("generator", 32, attention_resolution=16)
    d = build("discriminator", 32, attention_resolution=8)
    assert g.attention_index == 1 and d.attention_index == 1
    seen = []
    g.attention.register_forward_hook(lambda m, a, o: seen.append(tuple(o.shape)))
    y = torch.tensor([1, 0])
    g(torch.randn(2, 128), y)
    assert seen == [(2, 16, 16, 16)]
    with torch.no_grad():  # the gate starts at 0: the block is the identity at init
        h = torch.randn(2, 16, 16, 16)
        torch.testing.assert_close(g.attention(h), h)
        g.attention.gamma.fill_(1.0)
        assert not torch.allclose(g.attention(h), h)
    with pytest.raises(RecipeError, match="one of 8, 16, 32") as info:
        build("generator", 32, attention_resolution=4)
    assert info.value.key == "generator.attention_resolution"


def test_unlabelled_data_is_refused_with_the_key(build):
    for kind in ("generator", "discriminator"):
        with pytest.raises(RecipeError, match="class-conditional") as info:
            build(kind, classes=0)
        assert info.value.key == f"{kind}.type"
        assert "labelled dataset" in info.value.hint


def test_impossible_layouts_are_located_errors(build):
    with pytest.raises(RecipeError) as info:
        build("generator", 32, widths=[4, 4, 4])
    assert info.value.key == "generator.widths"
    with pytest.raises(RecipeError) as info:
        build("discriminator", 32, widths=[1, 2], downsample=[True])
    assert info.value.key == "discriminator.downsample"
    with pytest.raises(RecipeError, match="ch"):
        build("generator", ch=0)


def test_the_latent_is_split_across_stem_and_blocks(build):
    assert latent_chunks(128, 3, True) == [32, 32, 32, 32]
    assert latent_chunks(128, 2, True) == [44, 42, 42]  # the stem takes the remainder
    assert latent_chunks(128, 3, False) == [128]
    g = build("generator", 32).eval()
    z, y = torch.randn(2, 128), torch.tensor([2, 1])
    seen: dict[str, torch.Tensor] = {}
    g.linear.register_forward_pre_hook(lambda m, a: seen.__setitem__("stem", a[0]))
    for i, block in enumerate(g.blocks):
        block.register_forward_pre_hook(lambda m, a, i=i: seen.__setitem__(i, a[1]))
    with torch.no_grad():
        g(z, y)
    e = g.shared(y)
    torch.testing.assert_close(seen["stem"], z[:, :32])
    for i in range(3):
        torch.testing.assert_close(seen[i], torch.cat([e, z[:, 32 * (i + 1):32 * (i + 2)]], 1))
    assert g.blocks[0].bn1.cond_dim == 128 + 32


def test_changing_one_chunk_changes_only_the_blocks_that_receive_it(build):
    g = build("generator", 32).eval()
    y = torch.tensor([0, 1])
    z = torch.randn(2, 128)
    z2 = z.clone()
    z2[:, 96:] = torch.randn(2, 32)  # the last block's chunk

    def trace(zz):
        outs = []
        hooks = [b.register_forward_hook(lambda m, a, o: outs.append(o)) for b in g.blocks]
        with torch.no_grad():
            final = g(zz, y)
        for h in hooks:
            h.remove()
        return outs, final

    (a0, a1, a2), fa = trace(z)
    (b0, b1, b2), fb = trace(z2)
    torch.testing.assert_close(a0, b0)
    torch.testing.assert_close(a1, b1)
    assert not torch.allclose(a2, b2) and not torch.allclose(fa, fb)


def test_conditional_bn_is_linear_in_embedding_and_chunk():
    cbn = ConditionalBatchNorm(3, 4, torch.nn.Linear(4, 3, bias=False),
                               torch.nn.Linear(4, 3, bias=False))
    wg = torch.tensor([[1.0, 0.0, 2.0, -1.0], [0.5, 0.5, 0.0, 0.0], [0.0, -1.0, 1.0, 3.0]])
    wb = torch.tensor([[0.0, 1.0, 0.0, 0.0], [2.0, 0.0, -1.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    with torch.no_grad():
        cbn.gain.weight.copy_(wg)
        cbn.bias.weight.copy_(wb)
    e = torch.tensor([[1.0, 2.0], [0.0, -1.0]])  # shared embeddings of two labels
    zc = torch.tensor([[0.5, 0.0], [1.0, 1.0]])  # their z chunks
    c = torch.cat([e, zc], 1)
    gain, bias = cbn.affine(c)
    # by hand: gain = 1 + W_g [e, z], bias = W_b [e, z]
    # sample 0, c = [1, 2, .5, 0]: W_g c = [1 + 1, .5 + 1, -2 + .5] ; W_b c = [2, 2 - .5, 3.5]
    torch.testing.assert_close(gain[0], torch.tensor([3.0, 2.5, -0.5]))
    torch.testing.assert_close(bias[0], torch.tensor([2.0, 1.5, 3.5]))
    # sample 1, c = [0, -1, 1, 1]: W_g c = [2 - 1, -.5, 1 + 1 + 3]; W_b c = [-1, -1 + 1, 1]
    torch.testing.assert_close(gain[1], torch.tensor([2.0, 0.5, 6.0]))
    torch.testing.assert_close(bias[1], torch.tensor([-1.0, 0.0, 1.0]))
    x = torch.randn(2, 3, 4, 4)
    normed = F.batch_norm(x, None, None, training=True, eps=1e-5)
    want = normed * gain[:, :, None, None] + bias[:, :, None, None]
    torch.testing.assert_close(cbn(x, c), want)


def test_cbn_gains_are_centred_on_one(build):
    g = build("generator", 16)
    bn = g.blocks[0].bn1
    gain, bias = bn.affine(torch.zeros(1, bn.cond_dim))  # gain = 1 + W c, bias = W c
    torch.testing.assert_close(gain, torch.ones_like(gain))
    torch.testing.assert_close(bias, torch.zeros_like(bias))
    z, y = torch.randn(512, 128), torch.arange(512) % 3
    _, conds = g.conditions(z, y)
    gain, _ = bn.affine(conds[0] - conds[0].mean(0))  # zero-mean conditions: mean gain 1
    torch.testing.assert_close(gain.mean(0), torch.ones(gain.shape[1]), atol=1e-4, rtol=0)


def test_one_hot_labels_without_a_shared_embedding(build):
    g = build("generator", 16, shared_dim=0, hierarchical=False)
    assert g.shared is None and g.chunks == [128]
    _, conds = g.conditions(torch.randn(2, 128), torch.tensor([2, 0]))
    torch.testing.assert_close(conds[0], torch.tensor([[0.0, 0, 1], [1, 0, 0]]))
    assert g.blocks[0].bn1.cond_dim == 3


def test_projection_term_is_the_inner_product_with_the_class_embedding(build):
    d = build("discriminator", 16).double().eval()  # sums of 64 positions: large logits
    x, y = torch.randn(3, 3, 16, 16, dtype=torch.float64), torch.tensor([2, 0, 1])
    with torch.no_grad():
        h = d.features(x)
        # h by hand: the blocks, ReLU, sum over positions
        a = x
        for block in d.blocks:
            a = block(a)
        torch.testing.assert_close(h, F.relu(a).sum(dim=(2, 3)))
        emb = d.embed.weight  # the spectrally normalised table
        lin_w, lin_b = d.linear.weight, d.linear.bias
        want = torch.stack([
            (lin_w[0] * h[i]).sum() + lin_b[0] + (emb[y[i]] * h[i]).sum() for i in range(3)
        ])
        torch.testing.assert_close(d(x, y), want)
        # the class changes the logit through the projection alone
        y2 = torch.tensor([0, 0, 1])
        torch.testing.assert_close(d(x, y2) - d(x, y), ((emb[y2] - emb[y]) * h).sum(1))


def test_ortho_adam_adds_the_gradient_of_the_regulariser():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 5, 3)
    shared = torch.nn.Parameter(torch.randn(4, 6))
    setattr(shared, NO_ORTHO, True)
    params = [conv.weight, conv.bias, shared]
    for p in params:
        p.grad = torch.randn_like(p)
    grads = [p.grad.clone() for p in params]
    # the regulariser, written independently, and its autograd gradient
    w = conv.weight.detach().clone().requires_grad_(True)
    m = w.flatten(1)
    reg = ((m @ m.t()) * (1 - torch.eye(5))).pow(2).sum()
    (want,) = torch.autograd.grad(reg, w)
    torch.testing.assert_close(ortho_gradient(conv.weight.detach()), want)
    opt = OrthoAdam(params, lr=1e-3, strength=0.01)
    opt.add_ortho_gradients()
    torch.testing.assert_close(conv.weight.grad, grads[0] + 0.01 * want)
    torch.testing.assert_close(conv.bias.grad, grads[1])  # 1-D: left alone
    torch.testing.assert_close(shared.grad, grads[2])  # marked: left alone


def test_ortho_adam_step_is_adam_on_the_regularised_gradient():
    torch.manual_seed(0)
    w1 = torch.nn.Parameter(torch.randn(4, 3))
    w2 = torch.nn.Parameter(w1.detach().clone())
    g = torch.randn(4, 3)
    reg_grad = ortho_gradient(w1.detach())
    w1.grad, w2.grad = g.clone(), g + 1e-2 * reg_grad
    OrthoAdam([w1], lr=1e-2, strength=1e-2).step()
    torch.optim.Adam([w2], lr=1e-2, betas=(0.0, 0.999)).step()
    torch.testing.assert_close(w1, w2)
    # with orthonormal rows the regulariser is at its minimum: nothing is added
    q, _ = torch.linalg.qr(torch.randn(6, 4))
    assert ortho_gradient(q.t().contiguous()).abs().max() < 1e-5


def test_ortho_adam_is_named_from_a_recipe(registry):
    opt = registry.create("optimizer", "ortho_adam", [torch.nn.Parameter(torch.ones(2, 2))],
                          strength=1e-4, lr=1e-3, betas=[0.0, 0.999])
    assert isinstance(opt, OrthoAdam) and opt.strength == 1e-4
    assert opt.param_groups[0]["betas"] == (0.0, 0.999)
    with pytest.raises(RecipeError, match="strength"):
        registry.create("optimizer", "ortho_adam", [torch.nn.Parameter(torch.ones(2))],
                        strength=-1.0)


def test_orthogonal_init_by_default(build):
    g = build("generator", 16, ch=8)
    w = g.blocks[0].conv1.parametrizations.weight.original.flatten(1)  # [32, 288]: rows
    torch.testing.assert_close(w @ w.t(), torch.eye(32), atol=1e-4, rtol=1e-4)


def test_bundled_recipe_trains_50_steps(train_smoke):
    run = train_smoke(
        "biggan-32",
        overrides=["generator.ch=2", "discriminator.ch=2", "train.batch_size=4",
                   "train.n_critic=1", "train.ema_start=0",  # tiny: 8 channels per block
                   "train.threads=1"],  # on a shared CPU, 2 threads can be 10x slower
        steps=50,
    )
    assert (run / "last.safetensors").is_file()
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    losses = [r[k] for r in rows for k in ("d_loss", "g_loss") if k in r]
    assert len(losses) >= 50 and all(math.isfinite(v) for v in losses)
    gan = gancore.load(run / "last.safetensors")
    assert type(gan.generator).__name__ == "BigGANGenerator"


def test_registered_through_the_entry_point():
    env = {**os.environ}
    env.pop("GANCORE_DISABLE_PLUGIN_AUTOLOAD", None)
    out = subprocess.run(
        [sys.executable, "-m", "gancore", "plugins", "--json"],
        capture_output=True, text=True, env=env, cwd=Path(__file__).parent, check=True,
    )
    rows = {p["name"]: p for p in json.loads(out.stdout)}
    assert rows["gancore-biggan"]["status"] == "loaded"
    assert rows["gancore-biggan"]["version"] == gancore_biggan.__version__
    assert {"generator:biggan", "discriminator:biggan", "optimizer:ortho_adam"} <= set(
        rows["gancore-biggan"]["components"]
    )
