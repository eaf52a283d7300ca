"""A tiny run, for checking training components on their own (the testing kit's conformance
checks): networks of a few hundred weights on [2, 3, 8, 8] images, a BCE loss, two optimizers,
a clock at step 0 of 10, a report channel and its :class:`~gancore.train.run.RunView`."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import torch
from torch import nn

from gancore.train.report import Report
from gancore.train.run import Clock, Run, RunView

#: the shape of the tiny run's images
SHAPE = (3, 8, 8)


class TinyGenerator(nn.Module):
    """z [B, 4] -> images [B, 3, 8, 8] in [-1, 1]."""

    latent_dim, num_classes = 4, 0

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3 * 8 * 8)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return torch.tanh(self.fc(z)).view(-1, *SHAPE)


class TinyDiscriminator(nn.Module):
    """A stem and two blocks (so FreezeD-like techniques have blocks), then a logit."""

    num_classes = 0

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.blocks = nn.ModuleList([nn.Conv2d(4, 4, 3, stride=2, padding=1),
                                     nn.Conv2d(4, 4, 3, stride=2, padding=1)])
        self.head = nn.Linear(4 * 2 * 2, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = torch.tanh(self.stem(x))
        for block in self.blocks:
            x = torch.tanh(block(x))
        return self.head(x.flatten(1)).squeeze(1)


def tiny_run(registry: Any = None, total_steps: int = 10) -> Run:
    """A :class:`Run` with tiny networks on the CPU (nothing is trained)."""
    from gancore.recipe import load_recipe
    from gancore.train.losses import BCE

    torch.manual_seed(0)
    recipe = load_recipe({
        "data": {"type": "shapes", "image_size": 8},
        "generator": "stack", "discriminator": "stack",
        "train": {"steps": total_steps, "batch_size": 2},
    })
    run = Run(recipe=recipe, registry=registry, clock=Clock(total_steps), report=Report(),
              echo=lambda text: None)
    run.view = RunView(run)
    run.lock = SimpleNamespace(acquire=lambda: None, release=lambda: None)
    run.dist = SimpleNamespace(rank=0, world_size=1, is_main=True, enabled=False)
    run.device = torch.device("cpu")
    run.G, run.D = TinyGenerator(), TinyDiscriminator()
    run.G_train, run.D_train = run.G, run.D
    run.gan = SimpleNamespace(latent_dim=4, num_classes=0, generator=run.G,
                              discriminator=run.D, data=SimpleNamespace(shape=SHAPE))
    run.loss = BCE()
    run.dataset = list(range(64))
    run.g_params, run.d_params = list(run.G.parameters()), list(run.D.parameters())
    run.opt_g = torch.optim.SGD(run.g_params, lr=0.01)
    run.opt_d = torch.optim.SGD(run.d_params, lr=0.01)
    return run


def tiny_view(registry: Any = None) -> RunView:
    """The :class:`RunView` of a :func:`tiny_run`."""
    run = tiny_run(registry)
    assert run.view is not None
    return run.view
