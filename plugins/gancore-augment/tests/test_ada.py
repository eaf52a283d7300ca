"""ADA: the update of p against the reference's rule on scripted D outputs (BCE and least
squares), every critic batch feeding it, its cap, its state across --resume, the callback that
logs it, its requirements and its bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from gancore_augment import plugin
from gancore_augment.ada import ADA, AdaUpdate

import gancore
from gancore.plugin import RecipeError, Report, decision_threshold
from gancore.testing import make_trainer, read_checkpoint, resume_matches


def make_loss(name: str, **params: float):
    """A registered loss, made the way a recipe's ``loss`` table makes it."""
    return gancore.get_registry().create("loss", name, **params)


#: The bundled recipe shrunk to a run of a fraction of a second on the built-in shapes.
TINY = [
    "data.type='shapes'", "data.num_samples=64", "train.batch_size=8", "train.device='cpu'",
    "train.precision='fp32'", "train.channels_last='off'",
    "train.techniques=[{ type = 'ema', decay = 0.9 }]",
    "generator.latent_dim=8", "generator.stem.out_channels=16",
    "generator.blocks[0].out_channels=8", "generator.blocks[1].out_channels=8",
    "discriminator.blocks[0].out_channels=8", "discriminator.blocks[1].out_channels=8",
    "discriminator.blocks[2].out_channels=8", "train.grid_size=4", "train.log_every=1",
    "train.sample_every=100", "train.checkpoint_every=3",
]


def run_view(loss, n_critic: int = 1, loss_type: str = "bce") -> SimpleNamespace:
    """What ``ada`` reads of a run: its report channel, the loss's threshold, n_critic."""
    return SimpleNamespace(
        stats=Report(), decision_threshold=decision_threshold(loss),
        recipe=SimpleNamespace(train=SimpleNamespace(n_critic=n_critic),
                               loss=SimpleNamespace(type=loss_type)))


def reference_trajectory(batches: list[np.ndarray], threshold: float, target: float,
                         interval: int, kimg: float, p_max: float = 1.0) -> list[float]:
    """p after each interval by the reference's rule, written out with numpy (float64):
    r_t = mean(sign(D(x) - threshold)) over the interval's images, p += sign(r_t - target) *
    images / (kimg * 1000), clamped to [0, p_max] (NVlabs/stylegan2-ada-pytorch
    training/training_loop.py; StudioGAN src/worker.py, which clamps at 1)."""
    out, p = [], 0.0
    for start in range(0, len(batches) - interval + 1, interval):
        outputs = np.concatenate(batches[start:start + interval]).astype(np.float64)
        r_t = np.mean(np.sign(outputs - threshold))
        p = float(np.clip(p + np.sign(r_t - target) * outputs.size / (kimg * 1000), 0, p_max))
        out.append(p)
    return out


def publish(view: SimpleNamespace, batches: list[np.ndarray]) -> None:
    """Publish each batch as the update does, once per D phase."""
    for b in batches:
        view.stats.publish("d.real_logits", torch.tensor(b, dtype=torch.float32))


def trajectory(ada: ADA, view: SimpleNamespace, batches: list[np.ndarray],
               interval: int) -> list[float]:
    got = []
    for start in range(0, len(batches), interval):
        publish(view, batches[start:start + interval])
        got.append(ada.p)
    return got


# -- the update of p on scripted D outputs ----------------------------------------------------
def test_bce_p_follows_the_reference_rule_on_a_scripted_sequence():
    rng = np.random.default_rng(1)
    # D's logits drift from overfitting (mostly positive) to underfitting (mostly negative)
    means = [2.0] * 6 + [0.8] * 4 + [-1.5] * 6 + [0.3] * 4
    batches = [rng.normal(m, 1.0, size=5) for m in means]
    batches[3][:2] = 0.0  # a logit exactly at the threshold counts 0
    view = run_view(make_loss("bce"))
    ada = ADA(target=0.6, interval=2, ada_kimg=0.025, run=view)  # a step of 10/25 = 0.4
    got = trajectory(ada, view, batches, 2)
    want = reference_trajectory(batches, 0.0, 0.6, 2, 0.025)
    assert got == pytest.approx(want, abs=1e-12)
    assert max(got) == 1.0 and got[-1] < 1.0 and 0.0 in got  # clamped at both ends
    assert ada.threshold == 0.0 and ada.batches == 0 and int(ada.sign_sum) == 0


def test_least_squares_outputs_uniform_in_0_1_do_not_drive_p_up():
    """The bug of gancore-augment 0.1: it counted D(x) > 0, so least-squares outputs uniform
    in (0, 1) read r_t = 1 and drove p to 1. Against the loss's threshold (0.5) they read
    r_t ~ 0, below the target: p stays at 0."""
    rng = np.random.default_rng(2)
    batches = [rng.uniform(0.0, 1.0, size=16) for _ in range(40)]
    loss = make_loss("least_squares")
    assert decision_threshold(loss) == 0.5
    view = run_view(loss, loss_type="least_squares")
    ada = ADA(target=0.6, interval=4, ada_kimg=0.1, run=view)
    got = trajectory(ada, view, batches, 4)
    assert got == pytest.approx(reference_trajectory(batches, 0.5, 0.6, 4, 0.1), abs=1e-12)
    assert max(got) == 0.0 and abs(ada.rt) < 0.3
    # the same outputs against threshold 0 (the old heuristic) would have driven p to 1
    assert reference_trajectory(batches, 0.0, 0.6, 4, 0.1)[-1] == 1.0


def test_least_squares_p_follows_the_reference_rule_on_a_scripted_sequence():
    rng = np.random.default_rng(3)
    # outputs near the real target (1) then near the fake target (0), with a -1/1 coding too
    codings = ((make_loss("least_squares"), 0.9, 0.2),
               (make_loss("least_squares", a=-1.0, b=1.0), 0.7, -0.6))
    for loss, high, low in codings:
        batches = [rng.normal(m, 0.3, size=6) for m in [high] * 10 + [low] * 6 + [high] * 4]
        t = decision_threshold(loss)
        view = run_view(loss, loss_type="least_squares")
        ada = ADA(target=0.6, interval=2, ada_kimg=0.04, run=view)  # a step of 12/40 = 0.3
        got = trajectory(ada, view, batches, 2)
        assert got == pytest.approx(reference_trajectory(batches, t, 0.6, 2, 0.04), abs=1e-12)
        assert max(got) > 0.5 and min(got[5:]) < max(got)


def test_every_critic_batch_feeds_the_heuristic():
    """With n_critic = 3 an interval of 2 steps is 6 batches: p moves by their 6 B images, so
    per image it adapts as fast as with one critic batch a step."""
    rng = np.random.default_rng(4)
    batches = [rng.normal(1.0, 0.5, size=4) for _ in range(12)]
    view = run_view(make_loss("hinge"), n_critic=3)
    ada = ADA(target=0.0, interval=2, ada_kimg=0.1, run=view)
    publish(view, batches[:5])
    assert ada.p == 0.0 and ada.batches == 5 and ada.seen == 20
    publish(view, batches[5:6])
    assert ada.p == pytest.approx(24 / 100) and ada.batches == 0
    publish(view, batches[6:])
    assert ada.p == pytest.approx(reference_trajectory(batches, 0.0, 0.0, 6, 0.1)[-1])
    assert ada.p == pytest.approx(48 / 100)


def test_p_is_capped_at_p_max():
    view = run_view(make_loss("bce"))
    ada = ADA(target=0.0, interval=1, ada_kimg=0.01, p_max=0.8, run=view)
    publish(view, [np.ones(6)] * 5)  # each update +0.6, capped
    assert ada.p == 0.8
    batches = [np.ones(6)] * 3 + [-np.ones(6)] * 2
    assert reference_trajectory(batches, 0.0, 0.0, 1, 0.01, p_max=0.8) == pytest.approx(
        [0.6, 0.8, 0.8, 0.2, 0.0])


def test_a_loss_without_a_threshold_cannot_drive_ada():

    view = run_view(make_loss("wasserstein"), loss_type="wasserstein")
    ada = ADA(run=view)
    with pytest.raises(RecipeError, match="'wasserstein' loss has none") as info:
        view.stats.publish("d.real_logits", torch.ones(4))
    assert info.value.key == "loss.type" and ada.threshold is None


def test_without_a_run_observe_counts_each_call_as_a_step():
    ada = ADA(interval=3, ada_kimg=0.01, target=0.0)
    for logits in ([1.0, 2.0], [3.0, -1.0], [1.0, 1.0], [2.0, 2.0]):
        ada.observe(torch.tensor(logits))
    assert (ada.p, ada.batches, ada.seen, ada.rt) == (0.6, 1, 2, 4 / 6)
    b = ADA(interval=3, ada_kimg=0.01, target=0.0)
    b.load_state_dict(ada.state_dict())
    assert (b.p, b.batches, b.seen, b.rt) == (ada.p, ada.batches, ada.seen, ada.rt)
    for logits in ([-1.0, -1.0], [-3.0, -1.0]):
        assert ada.observe(torch.tensor(logits)) == b.observe(torch.tensor(logits))
    assert ada.p == b.p == 0.0 and ada.rt == b.rt == -2 / 6


def test_a_state_saved_by_version_0_1_loads():
    ada = ADA()
    state = ada.state_dict()
    state["_extra_state"] = {"p": 0.25, "steps": 3, "seen": 24, "rt": 0.5}
    ada.load_state_dict(state)
    assert (ada.p, ada.batches, ada.seen, ada.rt) == (0.25, 3, 24, 0.5)


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


# -- in a run ----------------------------------------------------------------------------------
def test_in_a_run_every_critic_batch_moves_p(tmp_path):
    # target -1: every interval raises p by its images / (kimg * 1000)
    overrides = [*TINY, "train.n_critic=2", "augment[0].interval=1",
                 "augment[0].ada_kimg=0.4", "augment[0].target=-1.0"]
    trainer = make_trainer("dcgan-32-ada", overrides=overrides, steps=2, out=tmp_path / "run")
    trainer.fit()
    (augment,) = trainer.augments
    assert augment.p == pytest.approx(2 * (2 * 8) / 400)  # 2 steps of 2 batches of 8 images


@pytest.mark.parametrize(("loss", "threshold"), [
    ("least_squares", 0.5), ("{ type = 'least_squares', a = -1.0, b = 1.0 }", 0.0),
    ("hinge", 0.0)])
def test_in_a_run_the_threshold_is_the_losss(loss, threshold):
    trainer = make_trainer("dcgan-32-ada", overrides=[
        *TINY, f"loss={loss}", "discriminator.norm='none'"], steps=1)
    trainer.fit()
    assert trainer.augments[0].threshold == threshold


def test_p_resumes_exactly_with_the_bundled_recipe(tmp_path):
    overrides = [*TINY, "augment[0].interval=2", "augment[0].ada_kimg=0.05",
                 "augment[0].target=-1.0"]  # p rises by 16/50 = 0.32 every 2 steps
    # 6 steps straight against 3, then resumed to 6: tensors, states and logs bit-identical
    done = resume_matches("dcgan-32-ada", tmp_path, overrides, steps=(3, 3))
    one, two = done.straight, done.resumed
    saved = read_checkpoint(tmp_path / "resumed" / "step_0000003.safetensors")
    state = saved.info.trainer.components["augment[0]"].state
    assert state["_extra_state"]["batches"] == 1  # stopped in the middle of an interval
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


def test_p_adapts_without_the_callback(tmp_path):
    overrides = [*TINY, "train.default_callbacks=false", "augment[0].interval=1",
                 "augment[0].ada_kimg=0.08", "augment[0].target=-1.0"]
    trainer = make_trainer("dcgan-32-ada", overrides=overrides, steps=2, out=tmp_path / "run")
    result = trainer.fit()
    assert trainer.augments[0].p == pytest.approx(2 * 8 / 80)
    assert all("aug_p" not in r for r in result.records)  # the callback only logs


def test_both_components_pass_check_pack_with_p_1(check_pack):
    checked = check_pack(plugin, "gancore-augment", params={"augment:ada": {"p": 1.0}})
    assert {"augment:ada", "callback:ada"} <= set(checked)


# -- the callback and the recipe ---------------------------------------------------------------
def test_the_bundled_recipe_turns_the_callback_on_by_default():
    trainer = make_trainer("dcgan-32-ada", overrides=TINY, steps=1)
    (augment,) = trainer.augments
    assert isinstance(augment, ADA) and augment.spec == "bgc_fixed"
    assert augment.ops == ("xint", "scale", "aniso", "xfrac", "brightness", "contrast",
                           "saturation")
    assert (augment.target, augment.interval, augment.ada_kimg, augment.p_max) == (
        0.6, 4, 500.0, 1.0)
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
    assert "train.callbacks[0]: the ada callback reports the probability of an ada augment, " \
        "but the recipe's [[augment]] list has none" in msg
    assert 'add [[augment]] type = "ada" to the recipe' in msg
    assert 'or remove "ada" from train.callbacks' in msg


@pytest.mark.parametrize(
    ("setting", "key", "text"),
    [
        ("augment[0].ops=[]", "augment[0].ops", "the ada pipeline is empty: name a preset "
         "(blit, geom, color, bg, bgc, bgc_fixed) or a list of operations (xflip, rotate90, "
         "xint, scale, rotate, aniso, xfrac, brightness, contrast, lumaflip, hue, saturation, "
         "cutout)"),
        ("augment[0].ops=['xflip','rotate9']", "augment[0].ops",
         "unknown operation 'rotate9'; did you mean 'rotate90'?"),
        ("augment[0].ops='bgcf'", "augment[0].ops", "unknown preset 'bgcf'; did you mean"),
        ("augment[0].ops=['xflip','xflip']", "augment[0].ops",
         "operation 'xflip' is named twice"),
        ("augment[0].ops=['translation','xint']", "augment[0].ops",
         "operation 'xint' is named twice"),
        ("augment[0].ada_kimg=0", "augment[0].ada_kimg", "greater than 0"),
        ("augment[0].p=1.5", "augment[0].p", "less than or equal to 1"),
        ("augment[0].p_max=1.5", "augment[0].p_max", "less than or equal to 1"),
        ("augment[0]={ type = 'ada', p = 0.9, p_max = 0.8 }", "augment[0]",
         "p = 0.9 is above p_max = 0.8"),
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


def test_the_old_name_translation_is_xint():
    assert ADA(ops=["xflip", "translation"]).ops == ("xflip", "xint")


# -- requirements, through `gancore check` -------------------------------------------------------
RECIPES = {
    "no-threshold": """loss = "wasserstein"
[discriminator]
norm = "none"
""",
    "leaks": 'augment = [{ type = "ada", ops = "bgc" }]\n',
    "capped": 'augment = [{ type = "ada", ops = "bgc", p_max = 0.8 }]\n',
    "fixed": "",  # the bundled recipe: bgc_fixed
}


def test_gancore_check_names_the_requirements(tmp_path):
    paths = []
    for name, body in RECIPES.items():
        path = tmp_path / f"{name}.toml"
        path.write_text(f'extends = "dcgan-32-ada"\n{body}\n[data]\ntype = "shapes"\n')
        paths.append(str(path))
    res = subprocess.run([sys.executable, "-m", "gancore", "check", *paths, "--json"],
                         capture_output=True, text=True, env=dict(os.environ), timeout=300)
    assert res.returncode == 1, res.stderr  # one recipe has an error
    found = {os.path.basename(r["recipe"]).removesuffix(".toml"):
             [f for f in r["findings"] if f["component"].startswith("augment")]
             for r in json.loads(res.stdout)}
    # a loss without a decision threshold: an error at loss.type
    (err,) = found["no-threshold"]
    assert (err["level"], err["key"]) == ("error", "loss.type")
    assert "'wasserstein' loss has none" in err["message"]
    # leaking operations with p allowed above 0.8: a warning naming them and the fix
    (warn,) = found["leaks"]
    assert (warn["level"], warn["key"]) == ("warning", "augment")
    assert "xflip, rotate90, rotate, lumaflip, hue can leak" in warn["message"]
    assert "p_max = 0.8" in warn["fix"] and '"bgc_fixed"' in warn["fix"]
    # capped at 0.8, or without the leaking operations: nothing
    assert found["capped"] == [] and found["fixed"] == []
