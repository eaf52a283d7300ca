"""Training techniques as components: a pack's technique trains and resumes bit-exactly, the
former [train] flags are techniques, the step's extension points, the run view, the report
channel and early stops."""

from __future__ import annotations

import json
import warnings

import pytest
import torch

from gancore.assembly.checkpoint import read
from gancore.core.errors import ContractError, GancoreError, RecipeError
from gancore.packs.loader import load_plugins
from gancore.plugin import hookimpl
from gancore.recipe import load_recipe
from gancore.recipe.requirements import RecipeDeprecationWarning
from gancore.testing import check_component, resume_matches
from gancore.train import Trainer, train
from tests.conftest import run_cli
from tests.train import technique_pack

PACK = "technique-pack"


@pytest.fixture
def registry():
    loaded = load_plugins(extra=[(PACK, technique_pack)], autoload=False, warn=False)
    return loaded.registry


@pytest.fixture
def plain(tiny):
    """The tiny recipe without batch norm in D and without EMA."""
    tiny["discriminator"]["norm"] = "none"
    tiny["train"].pop("techniques")
    return tiny


def _weights(path):
    ckpt = read(path)
    return {**{f"g.{k}": v for k, v in ckpt.section("generator").items()},
            **{f"d.{k}": v for k, v in ckpt.section("discriminator").items()}}


# -- a technique the core does not have ---------------------------------------------------------
def test_a_pack_technique_trains_and_resumes_bit_exactly(plain, tmp_path, registry):
    plain["train"]["techniques"] = [{"type": "scheduled_noise", "std": 0.3, "until": 5},
                                    {"type": "latent_consistency", "weight": 0.5}]
    check = resume_matches(plain, tmp_path, steps=(3, 3), registry=registry)
    techniques = check.resumed.run.techniques
    assert [t.name for t in techniques] == ["scheduled_noise", "latent_consistency"]
    assert [t.origin for t in techniques] == [PACK, PACK]
    state = read(tmp_path / "resumed" / "last.safetensors").info.trainer.components
    # D sees 2 noised batches per D phase and 1 in the G phase: 3 per step, 6 steps
    assert state["train.techniques[0]"].state == {"batches": 18}
    # and it changed the training
    plain["train"].pop("techniques")
    train(plain, out=tmp_path / "without", steps=6, overrides=[
        'train.device="cpu"', "train.threads=1", 'train.precision="fp32"',
        'train.channels_last="off"'], registry=registry)
    a = _weights(tmp_path / "straight" / "last.safetensors")
    b = _weights(tmp_path / "without" / "last.safetensors")
    assert any(not torch.equal(a[k], b[k]) for k in a)


def test_the_g_term_reaches_the_generator(plain, registry):
    plain["train"]["techniques"] = [{"type": "latent_consistency", "weight": 1.0}]
    trainer = Trainer(plain, overrides=['train.device="cpu"'], registry=registry)
    seen = []
    trainer.run.update.g_terms.append(lambda batch: seen.append(batch.z.shape) or None)
    trainer.train_step()
    assert seen == [torch.Size([8, 8])]


def test_a_fixed_step_schedule_survives_a_resume_with_more_steps(plain, tmp_path, registry):
    """Noise on a fixed horizon: 3 steps then --steps 6 equals 6 straight, weight for weight."""
    plain["train"]["techniques"] = [{"type": "scheduled_noise", "std": 0.3, "until": 5}]
    settings = ['train.device="cpu"', "train.threads=1", 'train.precision="fp32"',
                'train.channels_last="off"']
    train(plain, out=tmp_path / "straight", steps=6, overrides=settings, registry=registry)
    train(plain, out=tmp_path / "resumed", steps=3, overrides=settings, registry=registry)
    train(plain, out=tmp_path / "resumed", steps=6, overrides=settings, registry=registry,
          resume=True)
    a = _weights(tmp_path / "straight" / "last.safetensors")
    b = _weights(tmp_path / "resumed" / "last.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_instance_noise_follows_the_run_or_a_fixed_horizon(plain, registry):
    plain["train"]["techniques"] = [{"type": "instance_noise", "std": 0.4},
                                    {"type": "instance_noise", "std": 0.4, "until": 2}]
    trainer = Trainer(plain, steps=4, overrides=['train.device="cpu"'], registry=registry)
    stretch, fixed = (t.obj for t in trainer.run.techniques)
    sigmas = []
    for _ in range(4):
        sigmas.append((stretch.sigma(), fixed.sigma()))
        trainer.train_step()
    assert sigmas == [(0.4, 0.4), (pytest.approx(0.3), 0.2), (0.2, 0.0), (pytest.approx(0.1),
                                                                          0.0)]


# -- the former [train] flags -------------------------------------------------------------------
def test_gancore_list_shows_the_eight_former_flags():
    res = run_cli("list", "technique", "--json")
    assert res.returncode == 0, res.stderr
    names = {c["name"] for c in json.loads(res.stdout)}
    assert {"ema", "label_smoothing", "instance_noise", "grad_clip", "clip_weights", "top_k",
            "freeze_d", "joint_d_pass"} <= names
    shown = json.loads(run_cli("show", "technique", "top_k", "--json").stdout)
    assert {p["name"] for p in shown["params"]} == {"start", "gamma", "min", "every"}


def test_a_flag_becomes_its_technique_with_a_deprecation_note():
    recipe = load_recipe("dcgan-32", ["train.ema=0.99", "train.ema_start=5",
                                      "train.label_smoothing=0.1", "train.joint_d_pass=true"])
    assert [t.as_dict() if t.params() else t.type for t in recipe.train.techniques] == [
        "joint_d_pass", {"type": "label_smoothing", "amount": 0.1},
        {"type": "ema", "decay": 0.99, "start": 5}]
    notes = {f.key: f for f in recipe.findings}
    assert set(notes) == {"train.ema", "train.label_smoothing", "train.joint_d_pass"}
    assert notes["train.ema"].level == "deprecated"
    assert 'train.techniques = [{ type = "ema", decay = 0.99, start = 5 }]' in \
        notes["train.ema"].fix
    assert "ema" not in recipe.to_dict()["train"]


def test_the_trainer_warns_about_a_flag(plain):
    with pytest.warns(RecipeDeprecationWarning, match="train.grad_clip: deprecated"):
        trainer = Trainer(plain, overrides=['train.device="cpu"', "train.grad_clip=1.0"])
    assert [t.name for t in trainer.run.techniques] == ["grad_clip"]


def test_a_flag_and_its_technique_together_are_one_error():
    with pytest.raises(RecipeError) as info:
        load_recipe("sagan", ["train.ema=0.9"])
    err = info.value
    assert err.key == "train.ema"
    assert "train.ema (deprecated) and train.techniques[0] (ema) both set" in err.message
    assert "remove train.ema" in err.hint


def test_an_error_in_a_flag_names_the_flag():
    from gancore.recipe import resolve

    with pytest.raises(RecipeError) as info:
        resolve(load_recipe("dcgan-32", ["train.ema=1.5"]))
    assert info.value.key == "train.ema"
    with pytest.raises(RecipeError) as info:
        Trainer("dcgan-32", overrides=['data.type="shapes"', "train.freeze_d=9"])
    assert info.value.key == "train.freeze_d"
    assert "cannot freeze 9 discriminator blocks" in info.value.message


# -- extension points and their checks -----------------------------------------------------------
def test_an_unknown_extension_point_is_refused_when_the_pack_loads():
    class Bad:
        @hookimpl
        def gancore_register_components(self, registry):
            registry.add("technique", "bad", lambda: None, points=("d_inputs",))

    loaded = load_plugins(extra=[("bad-pack", Bad())], autoload=False, warn=False)
    info = next(p for p in loaded.plugins if p.name == "bad-pack")
    assert info.status == "failed"
    assert "technique 'bad' from bad-pack declares the unknown extension point 'd_inputs'; " \
        "did you mean 'd_input'?" in info.error


def test_a_requirement_on_a_key_that_does_not_exist_is_refused():
    from gancore.plugin import Requirement

    class Bad:
        @hookimpl
        def gancore_register_components(self, registry):
            registry.add("penalty", "bad", lambda: None, requires=[Requirement(
                key="train.stepz", when=lambda f, p: True, message="m", fix="f")])

    loaded = load_plugins(extra=[("bad-pack", Bad())], autoload=False, warn=False)
    info = next(p for p in loaded.plugins if p.name == "bad-pack")
    assert info.status == "failed"
    assert "penalty 'bad' from bad-pack declares a requirement on 'train.stepz' is not a " \
        "recipe key ([train] has no 'stepz'; did you mean 'steps'?)" in info.error


def test_check_pack_checks_each_point(registry):
    check_component(registry, "technique", "scheduled_noise")
    check_component(registry, "technique", "latent_consistency")
    with pytest.raises(ContractError, match="declares the extension point 'g_select' but has "
                       "no g_select method"):
        check_component(registry, "technique", "both")
    for name in ("ema", "label_smoothing", "instance_noise", "grad_clip", "clip_weights",
                 "top_k", "freeze_d", "joint_d_pass"):
        check_component(registry, "technique", name)


def test_two_techniques_on_a_single_point_are_an_error(plain):
    plain["train"]["techniques"] = ["joint_d_pass", "top_k", "joint_d_pass"]
    with pytest.raises(RecipeError) as info:
        Trainer(plain, overrides=['train.device="cpu"'])
    assert info.value.key == "train.techniques[2]"
    assert "train.techniques[0] (joint_d_pass) and train.techniques[2] (joint_d_pass) both " \
        "implement d_pass" in info.value.message


def test_resume_with_another_technique_list_is_refused(plain, tmp_path):
    train(plain, out=tmp_path / "run", steps=2, overrides=['train.device="cpu"'])
    with pytest.raises(GancoreError) as info:
        Trainer(plain, out=tmp_path / "run", steps=4, resume=True,
                overrides=['train.device="cpu"', 'train.techniques=["grad_clip"]'])
    assert "cannot be resumed" in info.value.message
    assert "train.techniques" in info.value.message


# -- the run view and the report channel ---------------------------------------------------------
class Watch:
    """Counts D outputs published per step, reports a scalar, reads the view."""

    def __init__(self, *, run) -> None:
        self.calls = 0
        run.stats.subscribe("d.real_logits", self.seen)

    def seen(self, logits) -> None:
        self.calls += 1

    def on_step_end(self, run, step):
        run.stats.scalar("watch.calls", self.calls)
        assert run.step == step and run.total_steps == 4
        assert run.recipe.train.n_critic == 2


def test_the_report_channel_reaches_every_critic_batch(plain):
    class Pack:
        @hookimpl
        def gancore_register_components(self, registry):
            registry.add("callback", "watch", Watch)

    registry = load_plugins(extra=[("watch-pack", Pack())], autoload=False, warn=False).registry
    plain["train"].update(n_critic=2, callbacks=["watch"], log_every=2)
    result = train(plain, overrides=['train.device="cpu"'], registry=registry)
    assert result.records[0]["watch.calls"] == pytest.approx((2 + 4) / 2)
    assert result.records[1]["watch.calls"] == pytest.approx((6 + 8) / 2)


def test_the_run_view_is_read_only_and_old_attributes_warn(plain):
    trainer = Trainer(plain, overrides=['train.device="cpu"'])
    view = trainer.view
    with pytest.raises(AttributeError, match="read-only"):
        view.step = 3
    assert view.generator is trainer.G and view.total_steps == 4
    trainer.train_step()
    with pytest.warns(DeprecationWarning, match=r"trainer.last_real_logits is deprecated.*"
                      r'run.stats.latest\("d.real_logits"\)'):
        old = view.last_real_logits
    assert torch.equal(old, view.stats.latest("d.real_logits"))


# -- stopping a run ---------------------------------------------------------------------------
class StopAt:
    def __init__(self, at: int = 2) -> None:
        self.at = at

    def on_step_end(self, run, step):
        if step == self.at:
            from gancore.plugin import StopTraining

            raise StopTraining(f"enough at {step}")


def test_a_callback_stops_a_run_as_a_normal_end(plain, tmp_path):
    class Pack:
        @hookimpl
        def gancore_register_components(self, registry):
            registry.add("callback", "stop_at", StopAt)

    registry = load_plugins(extra=[("stop-pack", Pack())], autoload=False, warn=False).registry
    plain["train"]["callbacks"] = [{"type": "stop_at", "at": 3}]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no CallbackWarning: a stop is no failure
        result = train(plain, out=tmp_path / "run", overrides=['train.device="cpu"'],
                       registry=registry)
    assert result.step == 3
    assert result.stopped == "enough at 3"
    assert read(tmp_path / "run" / "last.safetensors").step == 3
    records = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text()
               .splitlines()]
    assert records[-1] == {"step": 3, "event": "stop", "reason": "enough at 3",
                           "by": "callback 'stop_at' from stop-pack (train.callbacks[0])"}
    assert (tmp_path / "run" / "samples" / "final.png").is_file()


# -- which generator samples and in-training scores use ------------------------------------------
def test_samples_come_from_the_ema_only_once_it_is_warm(plain):
    """A young EMA (fewer updates than 1 / (1 - decay)) leans on the initial weights: grids and
    in-training scores use the raw G until it is past its horizon, as evaluation does."""
    plain["train"]["techniques"] = [{"type": "ema", "decay": 0.5}]  # horizon: 2 updates
    trainer = Trainer(plain, overrides=['train.device="cpu"'])
    view = trainer.view
    seen = []
    for _ in range(3):
        seen.append((view.sampling_weights, view.sampling_generator is view.generator))
        trainer.train_step()
    seen.append((view.sampling_weights, view.sampling_generator is view.averaged_generator))
    assert seen == [("raw", True), ("raw", True), ("EMA", False), ("EMA", True)]
    plain["train"]["techniques"] = [{"type": "ema", "decay": 0.5, "rampup": 0.05}]
    warmed = Trainer(plain, overrides=['train.device="cpu"']).view
    assert warmed.sampling_weights == "EMA"  # warmed up by rampup from the first update
    assert warmed.sampling_generator is warmed.averaged_generator
