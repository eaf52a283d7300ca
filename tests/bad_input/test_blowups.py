"""A loss that becomes NaN or infinite stops training with one message naming its cause:
the network (D or G loss), the step, the last finite losses of both, and what to try."""

from __future__ import annotations

import pytest

from gancore.assembly import checkpoint
from gancore.train.trainer import Trainer, TrainingError

from .conftest import cli_error, tiny_recipe, write_recipe


def _poison(trainer: Trainer, which: str, at: int, value: float) -> None:
    """Make the ``which`` (``d``/``g``/``both``) loss ``value`` from its ``at``-th call."""
    for net in ("d", "g"):
        if which not in (net, "both"):
            continue
        original = getattr(trainer.loss, f"{net}_loss")
        calls: list[int] = []

        def poisoned(*args, _original=original, _calls=calls):
            _calls.append(1)
            out = _original(*args)
            return out * 0 + value if len(_calls) >= at else out

        setattr(trainer.loss, f"{net}_loss", poisoned)


CASES = [
    # (which loss, from which call, value, what the message says)
    ("d", 3, float("nan"), ["discriminator loss became nan at step 3 (the D loss)",
                            "last finite losses were D", "(step 2)", "train.d_optimizer.lr is"]),
    ("g", 2, float("inf"), ["generator loss became inf at step 2 (the G loss)",
                            "(step 1)", "train.g_optimizer.lr is"]),
    ("g", 4, float("-inf"), ["generator loss became -inf at step 4", "(step 3)"]),
    ("d", 1, float("nan"), ["discriminator loss became nan at step 1",
                            "no finite losses were recorded before it"]),
    ("both", 3, float("nan"), ["discriminator loss became nan at step 3",
                               "(and the generator loss too)", "(step 2)"]),
    ("d", 2, float("inf"), ["discriminator loss became inf at step 2", "gradient penalty",
                            'train.techniques = [{ type = "grad_clip", max_norm = 10 }]']),
]


@pytest.mark.parametrize("which, at, value, fragments", CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
def test_a_blow_up_names_network_step_last_losses_and_remedies(tmp_path, which, at, value,
                                                               fragments):
    recipe = tiny_recipe(train={"steps": 6, "log_every": 1, "checkpoint_every": 1})
    trainer = Trainer(recipe, out=tmp_path / "run")
    _poison(trainer, which, at, value)
    with pytest.raises(TrainingError) as info:
        trainer.fit()
    msg = " ".join(str(info.value).split())
    for fragment in fragments:
        assert fragment in msg, msg
    assert "lower the learning rate" in msg and "try " in msg
    if at > 1:
        assert "the last good checkpoint is" in msg
        assert checkpoint.read(tmp_path / "run" / "last.safetensors").step == at - 1


def test_remedies_already_in_the_recipe_are_not_suggested(tmp_path):
    recipe = tiny_recipe(train={"steps": 4, "grad_clip": 5.0, "precision": "fp32",
                                "d_optimizer": {"type": "adam", "lr": 1e-3}})
    recipe["penalty"] = [{"type": "r1", "weight": 1.0}]
    trainer = Trainer(recipe)
    _poison(trainer, "d", 2, float("nan"))
    with pytest.raises(TrainingError) as info:
        trainer.fit()
    msg = str(info.value)
    assert "train.d_optimizer.lr is 0.001; try 0.00025" in msg
    assert "gradient penalty" not in msg and "grad_clip" not in msg and "fp32" not in msg


def test_a_blow_up_on_the_command_line_is_one_message(capsys, tmp_path, monkeypatch):
    from gancore.train import losses

    calls: list[int] = []
    original = losses.BCE.g_loss

    def poisoned(self, fake, real=None):
        calls.append(1)
        out = original(self, fake, real)
        return out * float("nan") if len(calls) >= 3 else out

    monkeypatch.setattr(losses.BCE, "g_loss", poisoned)
    path = write_recipe(tmp_path / "tiny.toml", tiny_recipe(train={"steps": 6, "log_every": 1}))
    msg = cli_error(capsys, "train", str(path), "--out", str(tmp_path / "run"), "-q")
    assert "generator loss became nan at step 3 (the G loss)" in msg
    assert "last finite losses were D" in msg and "hint:" in msg
    assert checkpoint.read(tmp_path / "run" / "last.safetensors").step == 2
