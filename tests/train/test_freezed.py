"""FreezeD: frozen discriminator blocks stay as they are, through steps, --init-from, resume."""

from __future__ import annotations

import pytest
import torch

from gancore.assembly import checkpoint
from gancore.cli import main
from gancore.core.errors import RecipeError
from gancore.train.trainer import Trainer, train


def _plain(tiny, freeze=0):
    tiny["train"].update(precision="fp32", channels_last="off", threads=1, freeze_d=freeze)
    return tiny


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_frozen_blocks_keep_their_parameters(tiny):
    trainer = Trainer(_plain(tiny, freeze=1), steps=2)
    D = trainer.D
    first, second, head = _state(D.blocks[0]), _state(D.blocks[1]), _state(D.head)
    for _ in range(2):
        trainer.train_step()
    assert _same(first, _state(D.blocks[0]))
    assert not _same(second, _state(D.blocks[1])) and not _same(head, _state(D.head))
    frozen = {id(p) for p in D.blocks[0].parameters()}
    in_optimizer = {id(p) for group in trainer.opt_d.param_groups for p in group["params"]}
    assert frozen and not frozen & in_optimizer
    assert len(in_optimizer) == sum(1 for _ in D.parameters()) - len(frozen)
    assert not any(p.requires_grad for p in D.blocks[0].parameters())  # after the G step too
    assert all(p.requires_grad for p in D.blocks[1].parameters())


def test_weight_clipping_leaves_frozen_blocks_alone(tiny):
    tiny["train"]["clip_weights"] = 0.001
    trainer = Trainer(_plain(tiny, freeze=2), steps=1)
    frozen = _state(trainer.D.blocks)
    trainer.train_step()
    assert _same(frozen, _state(trainer.D.blocks))
    assert all(p.abs().max() <= 0.001 for p in trainer.D.head.parameters())


def test_the_stem_counts_as_the_first_block(tiny):
    tiny["discriminator"]["stem"] = {"type": "conv", "out_channels": 4}
    trainer = Trainer(_plain(tiny, freeze=1), steps=1)
    stem, block = _state(trainer.D.stem), _state(trainer.D.blocks[0])
    trainer.train_step()
    assert _same(stem, _state(trainer.D.stem)) and not _same(block, _state(trainer.D.blocks[0]))
    with pytest.raises(RecipeError) as info:
        Trainer(_plain(tiny, freeze=4), steps=1)
    assert info.value.message == ("cannot freeze 4 discriminator blocks: the discriminator has "
                                  "3 blocks (the stem and discriminator.blocks[0..1])")


def test_more_blocks_than_the_discriminator_has_are_refused(tiny):
    with pytest.raises(RecipeError) as info:
        Trainer(_plain(tiny, freeze=3), steps=1)
    assert info.value.key == "train.freeze_d"
    assert info.value.message == ("cannot freeze 3 discriminator blocks: the discriminator has "
                                  "2 blocks (discriminator.blocks[0..1])")
    assert info.value.hint.startswith("freeze 0 to 2 blocks")


def test_refused_from_the_command_line_without_a_traceback(tiny, tmp_path, capsys):
    import tomli_w

    path = tmp_path / "tiny.toml"
    path.write_text(tomli_w.dumps(tiny))
    with pytest.raises(SystemExit) as info:
        main(["train", str(path), "--set", "train.freeze_d=9", "--steps", "1", "-q"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "train.freeze_d" in err and "has 2 blocks" in err and "Traceback" not in err


def test_fine_tuning_from_a_checkpoint(tiny, tmp_path):
    train(_plain(tiny), out=tmp_path / "source", steps=2)
    source = checkpoint.read(tmp_path / "source" / "last.safetensors").section("discriminator")
    trainer = Trainer(_plain(tiny, freeze=1), steps=2, out=tmp_path / "tuned",
                      init_from=tmp_path / "source" / "last.safetensors")
    trainer.fit()
    tuned = checkpoint.read(tmp_path / "tuned" / "last.safetensors").section("discriminator")
    assert set(tuned) == set(source)
    frozen = [k for k in source if k.startswith("blocks.0.")]
    assert frozen and all(torch.equal(source[k], tuned[k]) for k in frozen)
    changed = [k for k in source if k.startswith("blocks.1.") and source[k].dtype.is_floating_point
               and "running" not in k]
    assert changed and any(not torch.equal(source[k], tuned[k]) for k in changed)


def test_a_frozen_run_resumes_exactly(tiny, tmp_path):
    train(_plain(tiny, freeze=1), out=tmp_path / "one", steps=4)
    train(tiny, out=tmp_path / "two", steps=2)
    train(tiny, out=tmp_path / "two", steps=4, resume=True)
    a = checkpoint.read(tmp_path / "one" / "last.safetensors").tensors
    b = checkpoint.read(tmp_path / "two" / "last.safetensors").tensors
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
