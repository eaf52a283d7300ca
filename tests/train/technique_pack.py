"""A test pack written against the public API only (``gancore.plugin``): two training
techniques the core does not have.

- ``scheduled_noise`` (``d_input``): Gaussian noise on D's inputs whose std falls linearly from
  ``std`` to 0 over ``until`` generator steps, a fixed horizon, so the schedule is the same
  whatever ``--steps`` a resume gives; it counts the batches it noised (state kept across
  ``--resume``).
- ``latent_consistency`` (``g_term``): G's loss gains ``weight * E|G(z + eps) - G(z)|``, a
  G-side consistency term that keeps nearby latents close in image space.
"""

from __future__ import annotations

import torch

from gancore.plugin import Requirement, RunView, batch_norm_in, hookimpl


class ScheduledNoise:
    """Noise on D's inputs, std * max(0, 1 - step / until)."""

    points = ("d_input",)

    def __init__(self, std: float = 0.2, until: int = 4, *, run: RunView) -> None:
        self.std, self.until, self.run = std, until, run
        self.batches = 0

    def sigma(self) -> float:
        return self.std * max(0.0, 1.0 - self.run.step / self.until)

    def d_input(self, x):
        self.batches += 1
        sigma = self.sigma()
        return x + sigma * torch.randn_like(x) if sigma > 0 else x

    def state_dict(self):
        return {"batches": self.batches}

    def load_state_dict(self, state):
        self.batches = state["batches"]


class LatentConsistency:
    """weight * E|G(z + eps) - G(z)| added to G's loss."""

    points = ("g_term",)
    requires = (Requirement(
        key="discriminator.norm", when=batch_norm_in("discriminator"),
        message="latent_consistency is tested without batch norm in D",
        fix='set discriminator.norm = "none"'),)

    def __init__(self, weight: float = 0.5, eps: float = 0.1) -> None:
        self.weight, self.eps = weight, eps

    def g_term(self, batch):
        moved = batch.generator(batch.z + self.eps * torch.randn_like(batch.z), batch.y)
        return self.weight * (moved - batch.fake).abs().mean()


class Both:
    """Declares a point it does not implement (a broken technique)."""

    points = ("d_input", "g_select")

    def d_input(self, x):
        return x


@hookimpl
def gancore_register_components(registry) -> None:
    registry.add("technique", "scheduled_noise", ScheduledNoise, points=("d_input",))
    registry.add("technique", "latent_consistency", LatentConsistency)
    registry.add("technique", "both", Both)
