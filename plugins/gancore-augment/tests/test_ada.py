"""ADA: the paper's update of p, its state across --resume, the pipeline's operations, the
callback that drives it, its log keys and its bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from gancore_augment import ops, plugin
from gancore_augment.ada import ADA, ADA_OPS, AdaUpdate

import gancore
from gancore.plugin import RecipeError
from gancore.testing import make_trainer, read_checkpoint, resume_matches

#: The bundled recipe shrunk to a run of a fraction of a second on the built-in shapes.
TINY = [
    "data.type='shapes'", "data.num_samples=64", "train.batch_size=8", "train.device='cpu'",
    "train.precision='fp32'", "train.channels_last='off'", "train.ema=0.9",
    "generator.latent_dim=8", "generator.stem.out_channels=16",
    "generator.blocks[0].out_channels=8", "generator.blocks[1].out_channels=8",
    "discriminator.blocks[0].out_channels=8", "discriminator.blocks[1].out_channels=8",
    "discriminator.blocks[2].out_channels=8", "train.grid_size=4", "train.log_every=1",
    "train.sample_every=100", "train.checkpoint_every=3",
]


@pytest.fixture
def registry():
    return gancore.load_plugins(extra=[("gancore-augment", plugin)], autoload=False).registry


@pytest.fixture
def images():
    return torch.rand(6, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1


# -- the update of p ---------------------------------------------------------------------------
def _scripted_logits(signs: list[int], generator: torch.Generator) -> torch.Tensor:
    """Logits with the given signs and random magnitudes."""
    magnitude = torch.rand(len(signs), generator=generator) * 3 + 0.01
    return torch.tensor(signs, dtype=torch.float32) * magnitude


def test_p_follows_the_papers_rule_on_scripted_outputs():
    batch, interval, kimg, target = 5, 2, 0.025, 0.6  # each step of p: 10 / 25 = 0.4
    ada = ADA(target=target, interval=interval, ada_kimg=kimg)
    # per interval, the signs of D(real) over its two steps of 5 images (0: a logit of 0)
    intervals = [
        [1] * 10,                            # r = 1: up to 0.4
        [1] * 9 + [-1],                      # r = 0.8: up to 0.8
        [1] * 7 + [0, -1, 1],                # r = 0.7: up, clamped at 1
        [1] * 8 + [-1] * 2,                  # r = 0.6 = target: unchanged
        [-1] * 5 + [1] * 5,                  # r = 0: down to 0.6
        [0] * 10,                            # r = 0: down to 0.2
        [-1] * 10,                           # r = -1: down, clamped at 0
        [1] * 4 + [-1] * 6,                  # r = -0.2: stays at 0
        [1] * 10,                            # r = 1: up to 0.4 again
    ]
    g = torch.Generator().manual_seed(1)
    got, expected, p = [], [], 0.0
    for signs in intervals:
        steps = [_scripted_logits(signs[i:i + batch], g) for i in range(0, len(signs), batch)]
        for step in steps[:-1]:
            assert ada.observe(step) is None
        got.append(ada.observe(steps[-1]))
        # the paper's rule, written out independently
        r_t = np.mean(np.sign(torch.cat(steps).numpy().astype(np.float64)))
        p = float(np.clip(p + np.sign(r_t - target) * (batch * interval) / (kimg * 1000), 0, 1))
        expected.append(p)
        assert ada.p == p and ada.rt == pytest.approx(r_t, abs=1e-12)
    assert got == expected
    assert got[2] == 1.0 and got[3] == 1.0 and got[6] == 0.0 and got[7] == 0.0
    assert ada.steps == 0 and ada.seen == 0 and int(ada.sign_sum) == 0


def test_the_sums_stay_on_the_device_between_updates():
    ada = ADA(interval=3)
    ada.observe(torch.tensor([1.0, -2.0, 3.0, 4.0]))
    ada.observe(torch.tensor([-1.0, 0.0, 0.5, 2.0]))
    assert isinstance(ada.sign_sum, torch.Tensor) and ada.sign_sum.dtype == torch.int64
    assert int(ada.sign_sum) == 2 + 1 and ada.seen == 8 and ada.steps == 2 and ada.p == 0.0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_observing_does_not_sync_with_the_gpu_between_intervals():
    ada = ADA(interval=4)
    logits = torch.randn(64, device="cuda")
    ada.observe(logits)  # moves the sums to the GPU
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(2):
            assert ada.observe(logits) is None
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert ada.sign_sum.device.type == "cuda"
    assert ada.observe(logits) is not None  # the interval's one read


def test_state_round_trip_keeps_a_running_interval():
    a = ADA(interval=3, ada_kimg=0.01, target=0.0)
    for logits in ([1.0, 2.0], [3.0, -1.0], [1.0, 1.0], [2.0, 2.0]):
        a.observe(torch.tensor(logits))
    b = ADA(interval=3, ada_kimg=0.01, target=0.0)
    b.load_state_dict(a.state_dict())
    assert (b.p, b.steps, b.seen, b.rt) == (a.p, a.steps, a.seen, a.rt) == (0.6, 1, 2, 4 / 6)
    for logits in ([-1.0, -1.0], [-3.0, -1.0]):
        assert a.observe(torch.tensor(logits)) == b.observe(torch.tensor(logits))
    assert a.p == b.p == 0.0 and a.rt == b.rt == -2 / 6


# -- resume ----------------------------------------------------------------------------------
def test_p_resumes_exactly_with_the_bundled_recipe(tmp_path):
    overrides = [*TINY, "augment[0].interval=2", "augment[0].ada_kimg=0.05",
                 "augment[0].target=-1.0"]  # p rises by 16/50 = 0.32 every 2 steps
    # 6 steps straight against 3, then resumed to 6: tensors, states and logs bit-identical
    done = resume_matches("dcgan-32-ada", tmp_path, overrides, steps=(3, 3))
    one, two = done.straight, done.resumed
    saved = read_checkpoint(tmp_path / "resumed" / "step_0000003.safetensors")
    state = saved.info.trainer.components["augment[0]"].state
    assert state["_extra_state"]["steps"] == 1  # stopped in the middle of an interval
    assert state["_extra_state"]["p"] > 0
    assert "state.augment[0].sign_sum" in saved.tensors
    assert one.augments[0].p == two.augments[0].p > 0
    assert one.augments[0].rt == two.augments[0].rt
    # p is logged at every log step, the same in both runs (resume_matches compared the logs)
    log = [json.loads(line) for line in
           (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()]
    assert log[-1]["aug_p"] == one.augments[0].p
    assert [r["step"] for r in log if "ada_rt" in r] == [2, 3, 4, 5, 6]


def test_p_reaches_the_trackers(tmp_path, register_plugin):
    class Recorder:
        def __init__(self, out):
            self.values = []
            Recorder.last = self

        def log_scalars(self, values, step):
            self.values.append((step, dict(values)))

    class Pack:
        @gancore.hookimpl
        def gancore_register_components(self, registry):
            registry.add("tracker", "keep", Recorder)

    register_plugin(Pack(), name="keep-pack")  # with the installed packs
    make_trainer("dcgan-32-ada", overrides=[*TINY, "augment[0].p=0.25"], steps=2,
                 out=tmp_path / "run", trackers=["keep"]).fit()
    assert [(step, v["aug_p"]) for step, v in Recorder.last.values] == [(1, 0.25), (2, 0.25)]


# -- the operations --------------------------------------------------------------------------
@pytest.mark.parametrize("op", ADA_OPS)
def test_each_operation_is_the_identity_at_p_0_and_changes_images_at_p_1(images, op):
    g = torch.Generator().manual_seed(3)
    assert torch.equal(ADA(ops=[op], p=0.0)(images, g), images)
    assert torch.equal(ADA(ops=[op], p=0.0).apply_op(op, images, g), images)
    out = ADA(ops=[op], p=1.0)(images, g)
    assert out.shape == images.shape and out.dtype == images.dtype
    assert not torch.equal(out, images)


@pytest.mark.parametrize("op", ADA_OPS)
def test_each_operation_touches_only_the_samples_drawn(op):
    x = torch.rand(400, 3, 8, 8, generator=torch.Generator().manual_seed(4)) * 2 - 1
    out = ADA(ops=[op], p=0.3).apply_op(op, x, torch.Generator().manual_seed(5))
    drawn = torch.rand(400, generator=torch.Generator().manual_seed(5)) < 0.3  # its first draw
    changed = (out != x).flatten(1).any(1)
    assert not changed[~drawn].any()
    # a drawn sample may be left as it is: no flip (1/2), no turn (1/4), no shift (1/9)
    expected = {"xflip": 1 / 2, "rotate90": 3 / 4, "translation": 8 / 9}.get(op, 1.0)
    assert abs(float(changed[drawn].float().mean()) - expected) < 0.12
    assert 0.2 < drawn.float().mean() < 0.4


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_the_pipeline_keeps_shape_and_dtype_and_passes_gradients(dtype):
    ada = ADA(ops=list(ADA_OPS), p=1.0)
    for shape in [(4, 3, 16, 16), (4, 1, 8, 12)]:  # square and not (half turns only)
        x = (torch.rand(*shape, generator=torch.Generator().manual_seed(6)) * 2 - 1).to(dtype)
        x.requires_grad_(True)
        out = ada(x, torch.Generator().manual_seed(7))
        assert out.shape == x.shape and out.dtype == dtype
        out.float().square().sum().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_rotate90_and_xflip_match_torch():
    x = torch.rand(8, 2, 5, 5)
    k = torch.tensor([0, 1, 2, 3, 4, -1, 5, 2])
    out = ops.rotate90(x, k)
    for b in range(8):
        assert torch.equal(out[b], torch.rot90(x[b], int(k[b]), dims=(-2, -1))), b
    wide = torch.rand(4, 2, 4, 6)
    out = ops.rotate90(wide, torch.tensor([0, 1, 2, 3]))
    assert torch.equal(out[1], wide[1]) and torch.equal(out[3], wide[3].flip(-1).flip(-2))
    flip = torch.tensor([True, False, True, False, False, True, False, False])
    out = ops.xflip(x, flip)
    assert torch.equal(out[flip], x[flip].flip(-1)) and torch.equal(out[~flip], x[~flip])


def test_the_same_seed_gives_the_same_augmentation(images):
    ada = ADA(p=0.7)
    a = ada(images, torch.Generator().manual_seed(8))
    assert torch.equal(a, ada(images, torch.Generator().manual_seed(8)))


def test_both_components_pass_check_pack_with_p_1(check_pack):
    checked = check_pack(plugin, "gancore-augment", params={"augment:ada": {"p": 1.0}})
    assert {"augment:ada", "callback:ada"} <= set(checked)


# -- the callback and the recipe ---------------------------------------------------------------
def test_the_bundled_recipe_turns_the_callback_on_by_default(tmp_path):
    trainer = make_trainer("dcgan-32-ada", overrides=TINY, steps=1)
    (augment,) = trainer.augments
    assert isinstance(augment, ADA) and augment.ops[:2] == ["xflip", "rotate90"]
    assert (augment.target, augment.interval, augment.ada_kimg) == (0.6, 4, 500.0)
    assert [(b.key, type(b.obj)) for b in trainer.callbacks
            if b.name == "ada"] == [("callback:ada", AdaUpdate)]
    gan = gancore.build("dcgan-32-ada")
    assert gan.recipe.augment[0].type == "ada"


def test_without_an_ada_augment_the_default_callback_is_idle():
    trainer = make_trainer("dcgan-32", overrides=TINY, steps=2)
    assert any(cb.name == "ada" for cb in trainer.events.callbacks)  # on by default...
    result = trainer.fit()
    assert result.step == 2 and all("aug_p" not in r for r in result.records)
    # ...but not wanted in this run: it hears no event, so steps cost what they cost without it
    assert not any(cb.name == "ada" for cb in trainer.events.callbacks)
    assert trainer.events.step == []


def test_the_ada_callback_without_an_ada_augment_is_one_error(tmp_path):
    trainer = make_trainer("dcgan-32", overrides=[*TINY, "train.callbacks=['ada']"],
                             steps=2, out=tmp_path / "run")
    with pytest.raises(RecipeError) as info:
        trainer.fit()
    msg = str(info.value)
    assert info.value.exit_code == 2 and info.value.key == "train.callbacks[0]"
    assert not (tmp_path / "run" / "last.safetensors").exists()  # nothing trained, nothing kept
    assert "train.callbacks[0]: the ada callback adapts the probability of an ada augment, " \
        "but the recipe's [[augment]] list has none" in msg
    assert 'add [[augment]] type = "ada" to the recipe' in msg
    assert 'or remove "ada" from train.callbacks' in msg


@pytest.mark.parametrize(
    ("setting", "key", "text"),
    [
        ("augment[0].ops=[]", "augment[0].ops", "the ada pipeline is empty: name at least one of "
         "xflip, rotate90, translation, brightness, contrast, saturation, cutout"),
        ("augment[0].ops=['xflip','rotate']", "augment[0].ops",
         "unknown operation 'rotate'; did you mean 'rotate90'?"),
        ("augment[0].ops=['xflip','xflip']", "augment[0].ops",
         "operation 'xflip' is named twice"),
        ("augment[0].ada_kimg=0", "augment[0].ada_kimg", "greater than 0"),
        ("augment[0].p=1.5", "augment[0].p", "less than or equal to 1"),
        ("augment[0].interval=0", "augment[0].interval", "greater than or equal to 1"),
        ("augment[0].target=2", "augment[0].target", "less than or equal to 1"),
    ],
)
def test_bad_settings_name_their_key(setting, key, text):
    with pytest.raises(RecipeError) as info:
        gancore.build("dcgan-32-ada", overrides=["data.type='shapes'", setting])
    assert info.value.key == key
    assert text in str(info.value)
    assert info.value.exit_code == 2


def test_an_empty_pipeline_from_python_is_refused():
    with pytest.raises(ValueError, match="the ada pipeline is empty"):
        ADA(ops=[])
