"""``ortho_adam``: Adam with BigGAN's orthogonal regularisation (Brock et al. 2019, sec. 3.1).

The regulariser of one weight is ``R(W) = ‖W Wᵀ ⊙ (1 − I)‖²_F`` with ``W`` the weight reshaped
to ``[out, in * k * k]`` (one row per filter): it pushes filters apart without constraining
their norms. As BigGAN's reference implementation does, the regulariser is not added to the
loss: its gradient ``∇R = 4 ((W Wᵀ) ⊙ (1 − I)) W``, times ``strength``, is added to each weight's
gradient just before the Adam update. Weights with fewer than two dimensions (biases, gains)
and parameters marked with :data:`gancore_biggan.layers.NO_ORTHO` (the shared class embedding)
are left out.

Note on the factor: BigGAN-PyTorch's ``ortho(model, strength)`` adds ``2 strength (W Wᵀ ⊙
(1 − I)) W``, the gradient of ``strength * R / 2``; its ``--G_ortho β`` is ``strength = β / 2``
here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any

import torch
from pydantic import Field

from gancore_biggan.layers import NO_ORTHO


def ortho_gradient(weight: torch.Tensor) -> torch.Tensor:
    """``∇ ‖W Wᵀ ⊙ (1 − I)‖²_F`` for ``weight`` of any shape with two or more dimensions."""
    w = weight.reshape(weight.shape[0], -1)
    gram = w @ w.t()
    gram = gram - torch.diag_embed(torch.diagonal(gram))  # ⊙ (1 − I)
    return (4.0 * gram @ w).view_as(weight)


class OrthoAdam(torch.optim.Adam):
    """Adam whose :meth:`step` first adds ``strength * ∇R(W)`` to each weight's gradient."""

    def __init__(self, params: Iterable[Any], lr: float = 2e-4,
                 betas: tuple[float, float] = (0.0, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, strength: float = 1e-4) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        self.strength = strength

    @torch.no_grad()
    def add_ortho_gradients(self) -> None:
        """Add ``strength * ∇R(W)`` to the gradient of every regularised weight."""
        if self.strength == 0:
            return
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None or p.dim() < 2 or getattr(p, NO_ORTHO, False):
                    continue
                p.grad.add_(ortho_gradient(p.float()).to(p.grad.dtype), alpha=self.strength)

    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self.add_ortho_gradients()
        super().step()
        return loss


Beta = Annotated[float, Field(ge=0.0, lt=1.0, allow_inf_nan=False)]


def ortho_adam(
    params: Iterable[Any],
    lr: Annotated[
        float, Field(gt=0.0, le=10.0, allow_inf_nan=False, description="learning rate")
    ] = 2e-4,
    betas: Annotated[
        tuple[Beta, Beta], Field(description="Adam's (beta1, beta2), each in [0, 1)")
    ] = (0.0, 0.999),
    eps: Annotated[
        float, Field(gt=0.0, le=1.0, allow_inf_nan=False, description="Adam's epsilon")
    ] = 1e-8,
    weight_decay: Annotated[
        float, Field(ge=0.0, le=1.0, allow_inf_nan=False, description="L2 weight decay")
    ] = 0.0,
    strength: Annotated[
        float,
        Field(ge=0.0, le=1.0, allow_inf_nan=False,
              description="β of the orthogonal regulariser (BigGAN: 1e-4; 0 disables)"),
    ] = 1e-4,
) -> torch.optim.Optimizer:
    """Adam plus BigGAN's orthogonal regularisation ``strength * ‖W Wᵀ ⊙ (1 − I)‖²_F``."""
    return OrthoAdam(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                     strength=strength)
