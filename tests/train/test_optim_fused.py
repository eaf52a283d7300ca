"""Adam/AdamW use torch's fused kernel where it exists: the same update up to rounding."""

from __future__ import annotations

import pytest
import torch

from gancore.train import optim


def _params(seed: int) -> list[torch.nn.Parameter]:
    g = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(shape, generator=g)) for shape in ((5, 3), (7,))]


@pytest.mark.parametrize("factory", [optim.adam, optim.adamw])
def test_the_fused_update_equals_the_foreach_one(factory):
    fused, plain = _params(0), _params(0)
    a, b = factory(fused, fused=True), factory(plain)
    assert a.defaults.get("fused") is True and not b.defaults.get("fused")
    g = torch.Generator().manual_seed(1)
    for _ in range(5):
        grads = [torch.randn(p.shape, generator=g) for p in fused]
        for p, q, grad in zip(fused, plain, grads, strict=True):
            p.grad, q.grad = grad.clone(), grad.clone()
        a.step()
        b.step()
    for p, q in zip(fused, plain, strict=True):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)
        assert not torch.equal(p, _params(0)[0] if p.shape == (5, 3) else _params(0)[1])


def test_without_a_fused_kernel_adam_falls_back(monkeypatch):
    real = torch.optim.Adam

    class NoFused(real):  # a torch without the fused CPU kernel refuses fused=True
        def __init__(self, params, **kw):
            if kw.get("fused"):
                raise RuntimeError("fused=True requires all the params to be CUDA tensors")
            super().__init__(params, **kw)

    monkeypatch.setattr(torch.optim, "Adam", NoFused)
    opt = optim.adam(iter(_params(0)), fused=True)  # a one-shot iterator survives the retry
    assert not opt.defaults.get("fused") and len(opt.param_groups[0]["params"]) == 2
