"""ACGAN: the class loss against a hand formula, one D pass for both logits, bad input."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from gancore.cli import main
from gancore.core.errors import ContractError, RecipeError
from gancore.testing import check_component
from gancore.train import acgan
from gancore.train.losses import BCE, Hinge
from gancore.train.trainer import Trainer

#: the bundled recipe, small enough for a few CPU steps (its networks need 32x32 images)
SMALL = [
    'data.type="shapes"', "data.image_size=32", "data.num_samples=32", "train.batch_size=8",
    'train.device="cpu"', 'train.precision="fp32"', 'train.channels_last="off"',
    "train.threads=1", "train.log_every=1",
]


def _by_hand(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean negative log-softmax of the true class."""
    log_p = logits - logits.exp().sum(1, keepdim=True).log()
    return -log_p[torch.arange(len(y)), y].mean()


def test_class_losses_equal_the_cross_entropy_formula(builtin_registry):
    g = torch.Generator().manual_seed(0)
    real_cls, fake_cls = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    y = torch.tensor([0, 3, 1, 1, 2, 0])
    real, fake = torch.randn(6, generator=g), torch.randn(6, generator=g)
    loss = builtin_registry.make("loss", {"type": "acgan", "adversarial": "hinge",
                                          "weight": 0.5})
    assert isinstance(loss.adversarial, Hinge) and loss.uses_class_logits
    assert torch.equal(loss.d_loss(real, fake), Hinge().d_loss(real, fake))
    assert torch.equal(loss.g_loss(fake, real), Hinge().g_loss(fake, real))
    for ours, want in (
        (loss.d_class_loss(real_cls, fake_cls, y), 0.5 * _by_hand(real_cls, y)),
        (loss.g_class_loss(fake_cls, y), 0.5 * F.cross_entropy(fake_cls, y)),
        (loss.g_class_loss(fake_cls, y), 0.5 * _by_hand(fake_cls, y)),
    ):
        torch.testing.assert_close(ours, want)
    paper = builtin_registry.make("loss", {"type": "acgan", "d_fake_classes": True})
    assert isinstance(paper.adversarial, BCE) and paper.weight == 1.0
    torch.testing.assert_close(paper.d_class_loss(real_cls, fake_cls, y),
                               F.cross_entropy(real_cls, y) + F.cross_entropy(fake_cls, y))


def test_label_smoothing_reaches_the_adversarial_loss(builtin_registry):
    loss = builtin_registry.make("loss", "acgan")
    loss.real_target = loss.real_target * 0.9
    assert loss.adversarial.real_target == pytest.approx(0.9)


def test_an_acgan_inside_acgan_is_refused(builtin_registry):
    with pytest.raises(RecipeError) as info:
        builtin_registry.make("loss", {"type": "acgan", "adversarial": "acgan"}, key="loss")
    assert info.value.key == "loss.adversarial"


def test_class_head_keeps_the_plain_forward(builtin_registry):
    spec = {"type": "stack", "class_head": "pooled",
            "blocks": [{"type": "down", "out_channels": 8}, {"type": "down", "out_channels": 8}]}
    d = check_component(builtin_registry, "discriminator", "stack", spec, num_classes=5)
    assert d.aux_classes == 5
    x = torch.randn(3, 3, 16, 16)
    logits, classes = d(x, return_classes=True)
    assert torch.equal(d(x), logits) and classes.shape == (3, 5)
    plain = check_component(builtin_registry, "discriminator", "stack", num_classes=5)
    assert plain.aux_classes == 0 and plain.class_head is None


def test_a_class_head_that_breaks_the_contract_is_named(builtin_registry):
    from gancore.assembly.build import build_network
    from gancore.core.contract import check_network_shapes

    data = {"shape": (3, 16, 16), "num_classes": 3}
    with torch.device("meta"):  # as the builder checks it: nothing is computed
        d = build_network("discriminator", {"type": "stack", "class_head": "linear"}, data,
                          builtin_registry)
    check_network_shapes(d, "discriminator", (3, 16, 16), 3, "discriminator")
    d.aux_classes = 4  # declares more classes than its head makes
    with pytest.raises(ContractError, match=r"expected \[2\] and \[2, 4\]"):
        check_network_shapes(d, "discriminator", (3, 16, 16), 0, "discriminator")

    class NoClasses(torch.nn.Module):
        aux_classes = 3

        def forward(self, x, y=None):
            return x.flatten(1).sum(1)

    with pytest.raises(ContractError, match="takes no return_classes argument"):
        check_network_shapes(NoClasses(), "discriminator", (3, 16, 16), 0, "discriminator")


def test_the_trainer_takes_both_logits_from_one_pass(monkeypatch):
    trainer = Trainer("acgan", overrides=[*SMALL, "loss.weight=0.7"], steps=1)
    calls: list[tuple[bool, object]] = []
    d_forward = trainer.D.forward

    def spy(x, y=None, return_classes=False):
        out = d_forward(x, y, return_classes=return_classes)
        calls.append((return_classes, out))
        return out

    monkeypatch.setattr(trainer.D, "forward", spy)
    labels: list[torch.Tensor] = []
    next_batch = trainer.batches.next

    def spy_batch():
        x, y = next_batch()
        labels.append(y)
        return x, y

    monkeypatch.setattr(trainer.batches, "next", spy_batch)
    d_loss, g_loss = trainer.train_step()
    assert [c[0] for c in calls] == [True, True, True]  # D on real, fake; G step on fake
    (real, real_cls), (fake, _), (fake_g, fake_cls_g) = [c[1] for c in calls]
    y = labels[0]
    bce = BCE()
    torch.testing.assert_close(
        d_loss, bce.d_loss(real, fake) + 0.7 * F.cross_entropy(real_cls, y))
    torch.testing.assert_close(
        g_loss, bce.g_loss(fake_g) + 0.7 * F.cross_entropy(fake_cls_g, y))


def test_the_bundled_recipe_trains_on_shapes():
    trainer = Trainer("acgan", overrides=SMALL, steps=2)
    head = {k: v.clone() for k, v in trainer.D.class_head.state_dict().items()}
    result = trainer.fit()
    assert result.step == 2 and trainer.class_loss
    assert all(torch.isfinite(torch.tensor([r["d_loss"], r["g_loss"]])).all()
               for r in result.records)
    after = trainer.D.class_head.state_dict()
    assert any(not torch.equal(head[k], after[k]) for k in head)  # the classifier learns


def test_unlabelled_data_are_refused_naming_the_loss():
    with pytest.raises(RecipeError) as info:
        Trainer("acgan", overrides=[*SMALL, 'data.labels="none"'], steps=1)
    assert info.value.key == "loss.type"
    assert info.value.message == ("the 'acgan' loss learns the data's classes (ACGAN), but the "
                                  "data ('shapes') have no class labels")
    assert 'labels = "shape"' in info.value.hint and 'loss.type = "bce"' in info.value.hint


def test_unlabelled_data_from_the_command_line(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "acgan", *[a for s in SMALL for a in ("--set", s)],
              "--set", 'data.labels="none"', "--steps", "1", "-q"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "loss.type" in err and "no class labels" in err and "Traceback" not in err


@pytest.mark.parametrize(("override", "key", "words"), [
    ('discriminator.class_head="none"', "discriminator.class_head", "has no class head"),
    ('generator.conditioning="none"', "generator.conditioning", "not class-conditional"),
])
def test_networks_that_cannot_give_a_class_loss_are_refused(override, key, words):
    with pytest.raises(RecipeError, match=words) as info:
        Trainer("acgan", overrides=[*SMALL, override], steps=1)
    assert info.value.key == key


def test_a_class_head_on_unlabelled_data_is_refused(builtin_registry):
    with pytest.raises(RecipeError, match="no class labels") as info:
        check_component(builtin_registry, "discriminator", "stack", {"class_head": "linear"})
    assert info.value.key == "discriminator.class_head"


def test_other_losses_ignore_the_class_head():
    trainer = Trainer("acgan", overrides=[*SMALL, 'loss="hinge"'], steps=1)
    assert not trainer.class_loss and not acgan.uses_class_logits(trainer.loss)
    trainer.train_step()
