"""The ``joint_d_pass`` technique (``train.joint_d_pass`` before 0.3): off, the trainer's
step is the DCGAN reference loop's; on, real and fake go through D in one pass, which changes
only what looks across the batch."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
from torch.nn import functional as F

from gancore.train.trainer import Trainer

FP32 = ['train.precision="fp32"', 'train.channels_last="off"', "train.techniques=[]",
        'train.device="cpu"']


def _recording(trainer: Trainer) -> list[torch.Tensor]:
    """The real batches the trainer draws, recorded as it draws them."""
    seen: list[torch.Tensor] = []
    draw = trainer.batches.next

    def next_batch() -> tuple[torch.Tensor, torch.Tensor]:
        x, y = draw()
        seen.append(x.clone())
        return x, y

    trainer.batches.next = next_batch  # type: ignore[method-assign]
    return seen


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def _reference_step(g: torch.nn.Module, d: torch.nn.Module, real: torch.Tensor,
                    z: torch.Tensor, *, joint: bool) -> tuple[float, float]:
    """The PyTorch DCGAN example's step (Adam 2e-4, betas 0.5/0.999); ``joint`` feeds D
    ``cat(real, fake)`` once instead of two batches."""
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    fake = g(z)
    if joint:
        both = d(torch.cat([real, fake.detach()]))
        d_real, d_fake = both[: len(real)], both[len(real):]
    else:
        d_real, d_fake = d(real), d(fake.detach())
    err_d = _bce(d_real, 1.0) + _bce(d_fake, 0.0)
    opt_d.zero_grad()
    err_d.backward()
    opt_d.step()
    d.requires_grad_(False)
    err_g = _bce(d(fake), 1.0)
    opt_g.zero_grad()
    err_g.backward()
    opt_g.step()
    d.requires_grad_(True)
    return err_d.item(), err_g.item()


def _assert_same_state(ours: torch.nn.Module, want: torch.nn.Module) -> None:
    theirs = want.state_dict()
    for name, tensor in ours.state_dict().items():
        torch.testing.assert_close(tensor, theirs[name], rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.parametrize("joint", [False, True])
def test_one_step_equals_the_reference_loop(tiny, joint):
    overrides = [*FP32, f"train.joint_d_pass={str(joint).lower()}"]
    trainer = Trainer(tiny, overrides=overrides, steps=1)
    assert any(t.name == "joint_d_pass" for t in trainer.run.techniques) is joint
    g, d = copy.deepcopy(trainer.G), copy.deepcopy(trainer.D)
    seen = _recording(trainer)
    rng = torch.get_rng_state()
    d_loss, g_loss = trainer.train_step()
    torch.set_rng_state(rng)
    z = torch.randn(len(seen[0]), trainer.gan.latent_dim)
    want_d, want_g = _reference_step(g, d, seen[0], z, joint=joint)
    assert d_loss.item() == pytest.approx(want_d, rel=1e-5)
    assert g_loss.item() == pytest.approx(want_g, rel=1e-5)
    _assert_same_state(trainer.G, g)
    _assert_same_state(trainer.D, d)  # weights and batch-norm running statistics


def test_with_batch_norm_the_joint_pass_is_a_different_step(tiny):
    """D's batch norm normalises real and fake together: the losses differ from two passes."""
    assert tiny["discriminator"]["norm"] == "batch"
    losses = {}
    for joint in (False, True):
        trainer = Trainer(tiny, overrides=[*FP32, f"train.joint_d_pass={str(joint).lower()}"],
                          steps=1)
        losses[joint] = trainer.train_step()[0].item()
    assert abs(losses[True] - losses[False]) > 1e-3


def _run(recipe: Any, overrides: list[str], steps: int) -> dict[str, torch.Tensor]:
    trainer = Trainer(recipe, overrides=overrides, steps=steps)
    losses = [torch.stack(trainer.train_step()) for _ in range(steps)]
    out = {f"G.{k}": v for k, v in trainer.G.state_dict().items()}
    out |= {f"D.{k}": v for k, v in trainer.D.state_dict().items()}
    return out | {"losses": torch.stack(losses)}


@pytest.mark.parametrize("loss", ["bce", "relativistic_average", "hinge"])
def test_without_batch_norm_one_pass_trains_as_two(tiny, loss):
    """Nothing in a D without batch statistics sees the batch: the same run, up to rounding
    (the relativistic loss also joins the two passes of the G step). SGD, because Adam's
    first steps turn a rounding-sized gradient (the relativistic loss is blind to a shift
    of all logits) into a step of the full learning rate."""
    tiny["discriminator"]["norm"] = "none"
    tiny["loss"] = loss
    for side in ("g_optimizer", "d_optimizer"):
        tiny["train"][side] = {"type": "sgd", "lr": 0.05, "momentum": 0.9}
    base = [*FP32, "train.steps=3"]
    two = _run(tiny, [*base, "train.joint_d_pass=false"], 3)
    one = _run(tiny, [*base, "train.joint_d_pass=true"], 3)
    for name, tensor in two.items():
        torch.testing.assert_close(one[name], tensor, rtol=1e-4, atol=1e-5, msg=name)


def test_acgan_class_logits_come_from_the_joint_pass():
    small = ['data.type="shapes"', "data.image_size=32", "data.num_samples=32",
             "train.batch_size=8", "train.threads=1", 'discriminator.norm="none"', *FP32]
    two = _run("acgan", [*small, "train.joint_d_pass=false"], 2)
    one = _run("acgan", [*small, "train.joint_d_pass=true"], 2)
    assert any(name.startswith("D.class_head") for name in two)
    for name, tensor in two.items():
        torch.testing.assert_close(one[name], tensor, rtol=1e-4, atol=1e-5, msg=name)
