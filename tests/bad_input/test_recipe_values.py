"""Recipe values the validation must refuse, with the key path, before anything runs.

Class 1: values of the right type the code cannot use (out of bounds, NaN/inf, unknown
devices). Class 2: values of the wrong type that pydantic's lax mode would coerce (``true`` for
a number, ``1`` for a boolean, a string or a TOML date for a number). Class 5: integers that
would overflow torch's int64. Each case: one ``error:`` line naming the key, exit status 2, no
traceback, and nothing written (``-o`` is given and must not appear).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import gancore
from gancore.core.errors import GancoreError, RecipeError
from gancore.recipe import load_recipe, resolve

from .conftest import cli_error, snapshot, tiny_recipe, write_recipe

ADAM = 'train.g_optimizer={type="adam", %s}'
ADAM_D = 'train.d_optimizer={type="adam", %s}'
RMS = 'train.g_optimizer={type="rmsprop", %s}'
SGD = 'train.d_optimizer={type="sgd", %s}'

# (--set override, the key the message names, a fragment of the message)
BOUNDS = [
    # optimizers
    (ADAM % "lr=-1.0", "train.g_optimizer.lr", "greater than 0"),
    (ADAM % "lr=0", "train.g_optimizer.lr", "greater than 0"),
    (ADAM % "lr=-0.0", "train.g_optimizer.lr", "greater than 0"),
    (ADAM % "lr=1e300", "train.g_optimizer.lr", "less than or equal to 10"),
    (ADAM_D % "lr=11", "train.d_optimizer.lr", "less than or equal to 10"),
    (ADAM % "lr=1e-400", "train.g_optimizer.lr", "greater than 0"),  # TOML rounds it to 0.0
    (ADAM % "betas=[2.0, 0.9]", "train.g_optimizer.betas[0]", "less than 1"),
    (ADAM % "betas=[0.5, 1.0]", "train.g_optimizer.betas[1]", "less than 1"),
    (ADAM % "betas=[-0.1, 0.9]", "train.g_optimizer.betas[0]", "greater than or equal to 0"),
    (ADAM % "betas=[0.5]", "train.g_optimizer.betas[1]", "too few items"),
    (ADAM % "betas=[0.5, 0.9, 0.99]", "train.g_optimizer.betas", "2 items"),
    (ADAM % "betas=[]", "train.g_optimizer.betas[0]", "too few items"),
    (ADAM % "eps=0", "train.g_optimizer.eps", "greater than 0"),
    (ADAM % "eps=-1e-8", "train.g_optimizer.eps", "greater than 0"),
    (ADAM % "weight_decay=-0.1", "train.g_optimizer.weight_decay", "greater than or equal to 0"),
    (ADAM % "weight_decay=1e9", "train.g_optimizer.weight_decay", "less than or equal to 1"),
    ('train.g_optimizer={type="adamw", betas=[0.9, 1.5]}', "train.g_optimizer.betas[1]",
     "less than 1"),
    (RMS % "alpha=1.0", "train.g_optimizer.alpha", "less than 1"),
    (RMS % "momentum=-0.5", "train.g_optimizer.momentum", "greater than or equal to 0"),
    (RMS % "lr=100", "train.g_optimizer.lr", "less than or equal to 10"),
    (SGD % "momentum=1.5", "train.d_optimizer.momentum", "less than 1"),
    (SGD % "lr=-1e-2", "train.d_optimizer.lr", "greater than 0"),
    # schedules
    ('train.g_schedule={type="exponential", final_factor=0}', "train.g_schedule.final_factor",
     "greater than 0"),
    ('train.g_schedule={type="exponential", final_factor=-1}', "train.g_schedule.final_factor",
     "greater than 0"),
    ('train.d_schedule={type="exponential", final_factor=2}', "train.d_schedule.final_factor",
     "less than or equal to 1"),
    ('train.g_schedule={type="cosine", min_factor=-0.1}', "train.g_schedule.min_factor",
     "greater than or equal to 0"),
    ('train.g_schedule={type="cosine", warmup=-1}', "train.g_schedule.warmup",
     "greater than or equal to 0"),
    ('train.g_schedule={type="constant", warmup=1000000000000}', "train.g_schedule.warmup",
     "less than or equal to 1000000000"),
    ('train.g_schedule={type="linear", start=1.0}', "train.g_schedule.start", "less than 1"),
    ('train.g_schedule={type="linear", final_factor=1.5}', "train.g_schedule.final_factor",
     "less than or equal to 1"),
    # [train], [eval] and top-level settings
    ('train.device="tpu"', "train.device", "unknown device 'tpu'"),
    ('train.device="CPU"', "train.device", "unknown device 'CPU'"),
    ('train.device=""', "train.device", "unknown device ''"),
    ('train.device="cuda:"', "train.device", "unknown device 'cuda:'"),
    ('train.device="cuda:-1"', "train.device", "unknown device 'cuda:-1'"),
    ('train.device="cuda:0 "', "train.device", "unknown device"),
    ('train.device="cuda:99999"', "train.device", "unknown device"),
    ('train.device="cpu; rm -rf /"', "train.device", "unknown device"),
    ("seed=1000000000000000000000000000000", "seed", "less than or equal to 9223372036854775807"),
    ("seed=-1", "seed", "greater than or equal to 0"),
    ("seed=9223372036854775808", "seed", "less than or equal to 9223372036854775807"),
    ("eval.seed=18446744073709551616", "eval.seed", "less than or equal to"),
    ("train.threads=" + "1" + "0" * 30, "train.threads", "less than or equal to 4096"),
    ("train.threads=4097", "train.threads", "less than or equal to 4096"),
    ("train.threads=-1", "train.threads", "greater than or equal to 0"),
    ("train.num_workers=1000000", "train.num_workers", "less than or equal to 256"),
    ("train.n_critic=1000000000", "train.n_critic", "less than or equal to 100"),
    ("train.n_critic=101", "train.n_critic", "less than or equal to 100"),
    ("train.n_critic=0", "train.n_critic", "greater than 0"),
    ("train.steps=10000000000", "train.steps", "less than or equal to 1000000000"),
    ("train.steps=0", "train.steps", "greater than 0"),
    ("train.batch_size=1000000000000000000000", "train.batch_size", "less than or equal to 65536"),
    ("train.log_every=0", "train.log_every", "greater than or equal to 1"),
    ("train.sample_every=10000000000", "train.sample_every", "less than or equal to 1000000000"),
    ("train.checkpoint_every=-1", "train.checkpoint_every", "greater than or equal to 1"),
    ("train.techniques[0].start=-1", "train.techniques[0].start", "greater than or equal to 0"),
    ("train.techniques[0].decay=1.0", "train.techniques[0].decay", "less than 1"),
    ("train.label_smoothing=0.5", "train.label_smoothing", "less than 0.5"),
    ("train.instance_noise=1e9", "train.instance_noise", "less than or equal to 10"),
    ("train.grad_clip=-1", "train.grad_clip", "greater than 0"),  # the grad_clip technique's
    ("train.clip_weights=1e30", "train.clip_weights", "less than or equal to 100"),
    ("eval.num_samples=0", "eval.num_samples", "greater than 0"),
    ("eval.num_samples=100000000000000000000", "eval.num_samples", "less than or equal to"),
    ('eval.metrics=[{type="kid", subsets=0}]', "eval.metrics[0].subsets", "greater than or equal"),
    ('eval.metrics=[{type="kid", subset_size=1}]', "eval.metrics[0].subset_size",
     "greater than or equal to 2"),
    ('eval.metrics=[{type="kid", seed=-5}]', "eval.metrics[0].seed", "greater than or equal"),
    ('eval.metrics=[{type="kid", degree=1000}]', "eval.metrics[0].degree", "less than or equal"),
    ('eval.metrics=["fid", {type="pr", k=0}]', "eval.metrics[1].k", "greater than or equal to 1"),
    ('eval.metrics=[{type="dc", k=1000000}]', "eval.metrics[0].k", "less than or equal to 1000"),
    ('eval.metrics=[{type="is", splits=1000000000}]', "eval.metrics[0].splits",
     "less than or equal"),
    ('eval.metrics=[{type="class_coverage", eps=0}]', "eval.metrics[0].eps", "greater than 0"),
    ('eval.metrics=[{type="modes", threshold=-3}]', "eval.metrics[0].threshold", "greater than 0"),
    ('eval.extractor={type="classifier", device="tpu"}', "eval.extractor.device",
     "unknown device"),
    ('eval.extractor={type="classifier", epochs=0}', "eval.extractor.epochs", "greater than"),
    ('eval.extractor={type="classifier", holdout=1.0}', "eval.extractor.holdout", "less than 1"),
    ('eval.extractor={type="classifier", batch_size=0}', "eval.extractor.batch_size",
     "greater than 0"),
    ('eval.extractor={type="inception", device="gpu"}', "eval.extractor.device",
     "unknown device 'gpu'"),
    # datasets
    ("data.image_size=0", "data.image_size", "greater than or equal to 4"),
    ("data.image_size=-32", "data.image_size", "greater than or equal to 4"),
    ("data.image_size=1000000000000000000000000000000", "data.image_size",
     "less than or equal to 4096"),
    ("data.image_size=3", "data.image_size", "greater than or equal to 4"),
    ("data.num_samples=0", "data.num_samples", "greater than 0"),
    ("data.num_samples=100000000", "data.num_samples", "less than or equal to 10000000"),
    ("data.seed=-1", "data.seed", "greater than or equal to 0"),
    ("data.rotate=181", "data.rotate", "less than or equal to 180"),
    ("data.rotate=-10", "data.rotate", "greater than or equal to 0"),
    ("data.shift=1.0", "data.shift", "less than 1"),
    ('data={type="ring", std=-1}', "data.std", "greater than or equal to 0"),
    ('data={type="ring", num_modes=0}', "data.num_modes", "greater than or equal to 1"),
    ('data={type="ring", radius=0}', "data.radius", "greater than 0"),
    ('data={type="grid", side=1000000}', "data.side", "less than or equal to 100"),
    ('data={type="grid", num_samples=-1}', "data.num_samples", "greater than 0"),
    ('data={type="folder", root="x", test_fraction=1.0}', "data.test_fraction", "less than 1"),
    ('data={type="folder", root="x", limit=0}', "data.limit", "greater than or equal to 1"),
    ('data={type="cifar10", image_size=8192}', "data.image_size", "less than or equal to 4096"),
    ('data={type="celeba", crop=0}', "data.crop", "greater than 0"),
    # losses, penalties, augmentations
    ('loss={type="bce", real_target=2.0}', "loss.real_target", "less than or equal to 1"),
    ('loss={type="minimax", real_target=-0.5}', "loss.real_target", "greater than or equal"),
    ('loss={type="hinge", margin=0}', "loss.margin", "greater than 0"),
    ('loss={type="least_squares", c=1e6}', "loss.c", "less than or equal to 100"),
    ('penalty={type="gradient_penalty", weight=-1}', "penalty[0].weight", "greater than or equal"),
    ('penalty={type="r1", weight=1e12}', "penalty[0].weight", "less than or equal"),
    ('penalty={type="r1", interval=0}', "penalty[0].interval", "greater than or equal to 1"),
    ('penalty={type="r1", interval=1000000000}', "penalty[0].interval", "less than or equal"),
    ('penalty={type="dragan", c=0}', "penalty[0].c", "greater than 0"),
    ('augment={type="flip", p=1.5}', "augment[0].p", "less than or equal to 1"),
    ('augment={type="flip", p=-0.1}', "augment[0].p", "greater than or equal to 0"),
    # norms, blocks, networks, inits, activations
    ('discriminator.norm={type="batch", momentum=2}', "discriminator.norm.momentum",
     "less than or equal to 1"),
    ('discriminator.norm={type="batch", eps=0}', "discriminator.norm.eps", "greater than 0"),
    ('generator.norm={type="group", groups=0}', "generator.norm.groups", "greater than 0"),
    ('discriminator.weight_norm={type="spectral", n_power_iterations=0}',
     "discriminator.weight_norm.n_power_iterations", "greater than or equal to 1"),
    ('discriminator.weight_norm={type="weight", dim=10}', "discriminator.weight_norm.dim",
     "less than or equal to 3"),
    ('generator.activation={type="leaky_relu", negative_slope=-1}',
     "generator.activation.negative_slope", "greater than or equal to 0"),
    ('generator.init={type="normal_0.02", std=0}', "generator.init.std", "greater than 0"),
    ('generator.init={type="orthogonal", gain=1e9}', "generator.init.gain", "less than or equal"),
    ("generator.blocks[0].out_channels=1000000000000000000000000000000",
     "generator.blocks[0].out_channels", "less than or equal to 16384"),
    ('generator.blocks[1]={type="self_attention", reduction=0}', "generator.blocks[1].reduction",
     "greater than or equal to 1"),
    ("generator.embed_dim=-1", "generator.embed_dim", "greater than or equal to 0"),
    ("generator.latent_dim=100000", "generator.latent_dim", "less than or equal to 16384"),
    ('discriminator.blocks[0]={type="dropout", p=1.0}', "discriminator.blocks[0].p",
     "less than 1"),
]

# NaN and infinity (class 7 of the issue: a NaN loss that follows from a recipe value)
NON_FINITE = [
    ('loss={type="least_squares", a=nan}', "loss.a"),
    ('loss={type="least_squares", b=inf}', "loss.b"),
    ('loss={type="least_squares", c=-inf}', "loss.c"),
    ('loss={type="bce", real_target=nan}', "loss.real_target"),
    ('loss={type="hinge", margin=inf}', "loss.margin"),
    ("train.instance_noise=inf", "train.instance_noise"),
    ("train.instance_noise=nan", "train.instance_noise"),
    ("train.grad_clip=inf", "train.grad_clip"),
    ("train.grad_clip=nan", "train.grad_clip"),
    ("train.clip_weights=inf", "train.clip_weights"),
    ("train.techniques[0].decay=nan", "train.techniques[0].decay"),
    ("train.label_smoothing=nan", "train.label_smoothing"),
    (ADAM % "lr=nan", "train.g_optimizer.lr"),
    (ADAM % "lr=inf", "train.g_optimizer.lr"),
    (ADAM % "betas=[nan, 0.9]", "train.g_optimizer.betas[0]"),
    (ADAM % "eps=nan", "train.g_optimizer.eps"),
    (ADAM % "weight_decay=+inf", "train.g_optimizer.weight_decay"),
    ('train.g_schedule={type="cosine", min_factor=nan}', "train.g_schedule.min_factor"),
    ('penalty={type="gradient_penalty", weight=inf}', "penalty[0].weight"),
    ('penalty={type="gradient_penalty", target=nan}', "penalty[0].target"),
    ('penalty={type="dragan", c=inf}', "penalty[0].c"),
    ('augment={type="flip", p=nan}', "augment[0].p"),
    ('discriminator.norm={type="batch", eps=nan}', "discriminator.norm.eps"),
    ('discriminator.weight_norm={type="spectral", eps=inf}', "discriminator.weight_norm.eps"),
    ('generator.activation={type="leaky_relu", negative_slope=nan}',
     "generator.activation.negative_slope"),
    ('generator.init={type="xavier", gain=inf}', "generator.init.gain"),
    ('generator.init={type="normal_0.02", std=nan}', "generator.init.std"),
    ("data.rotate=nan", "data.rotate"),
    ("data.shift=-inf", "data.shift"),
    ('data={type="ring", std=nan}', "data.std"),
    ('data={type="grid", spacing=inf}', "data.spacing"),
    ('eval.metrics=[{type="kid", coef0=nan}]', "eval.metrics[0].coef0"),
    ('eval.metrics=[{type="modes", threshold=inf}]', "eval.metrics[0].threshold"),
]

# wrong types that lax validation would coerce: booleans, strings and dates for numbers,
# numbers and strings for booleans, fractions for integers
STRICT = [
    ("train.grad_clip=true", "train.grad_clip", "valid number", "booleans, not numbers"),
    ("train.grad_clip=false", "train.grad_clip", "valid number", "booleans, not numbers"),
    ("train.instance_noise=true", "train.instance_noise", "valid number", "booleans"),
    ("train.techniques[0].decay=true", "train.techniques[0].decay", "valid number",
     "booleans"),
    ("train.steps=true", "train.steps", "valid integer", "booleans"),
    ("train.n_critic=false", "train.n_critic", "valid integer", "booleans"),
    ("seed=true", "seed", "valid integer", "booleans"),
    ("train.steps=4.0", "train.steps", "valid integer", "whole number"),
    ("train.batch_size=8.5", "train.batch_size", "valid integer", "whole number"),
    ('train.steps="4"', "train.steps", "valid integer", "without quotes"),
    ('train.grad_clip="1.0"', "train.grad_clip", "valid number", "without quotes"),
    ("train.grad_clip=1979-05-27", "train.grad_clip", "valid number", "without quotes"),
    ("train.grad_clip=07:32:00", "train.grad_clip", "valid number", "without quotes"),
    ("seed=1979-05-27T07:32:00Z", "seed", "valid integer", "without quotes"),
    ("train.compile=1", "train.compile", "valid boolean", "true or false"),
    ('train.compile="yes"', "train.compile", "valid boolean", "true or false"),
    ('train.compile="true"', "train.compile", "valid boolean", "true or false"),
    ("train.default_callbacks=0", "train.default_callbacks", "valid boolean", "true or false"),
    (ADAM % "lr=true", "train.g_optimizer.lr", "valid number", "booleans"),
    (ADAM % 'lr="1e-3"', "train.g_optimizer.lr", "valid number", "without quotes"),
    (ADAM % "lr=1979-05-27", "train.g_optimizer.lr", "valid number", "without quotes"),
    (ADAM % "lr=[0.001]", "train.g_optimizer.lr", "valid number", "without quotes"),
    (ADAM % "lr={value=0.001}", "train.g_optimizer.lr", "valid number", "without quotes"),
    (ADAM % "betas=[true, 0.9]", "train.g_optimizer.betas[0]", "valid number", "booleans"),
    (ADAM % 'betas=["0.5", 0.9]', "train.g_optimizer.betas[0]", "valid number", "quotes"),
    (ADAM % "amsgrad=1", "train.g_optimizer.amsgrad", "valid boolean", "true or false"),
    (SGD % 'nesterov="no"', "train.d_optimizer.nesterov", "valid boolean", "true or false"),
    ("data.image_size=16.0", "data.image_size", "valid integer", "whole number"),
    ("data.image_size=true", "data.image_size", "valid integer", "booleans"),
    ("data.flip=1", "data.flip", "valid boolean", "true or false"),
    ("generator.latent_dim=true", "generator.latent_dim", "valid integer", "booleans"),
    ("generator.blocks[0].out_channels=8.0", "generator.blocks[0].out_channels",
     "valid integer", "whole number"),
    ('loss={type="least_squares", a=false}', "loss.a", "valid number", "booleans"),
    ('penalty={type="r1", interval=true}', "penalty[0].interval", "valid integer", "booleans"),
    ('augment={type="flip", p=true}', "augment[0].p", "valid number", "booleans"),
    ('discriminator.norm={type="instance", affine=1}', "discriminator.norm.affine",
     "valid boolean", "true or false"),
    ("recipe.name=5", "recipe.name", "valid string", "fix the value"),
]

# integers beyond what torch's int64 (or anything else) can hold
OVERFLOW = [
    ("seed=" + "9" * 40, "seed"),
    ("seed=-" + "9" * 40, "seed"),
    ("eval.seed=" + "9" * 25, "eval.seed"),
    ("data.seed=" + "9" * 25, "data.seed"),
    ("train.steps=" + "9" * 30, "train.steps"),
    ("train.batch_size=" + "9" * 30, "train.batch_size"),
    ("train.techniques[0].start=" + "9" * 30, "train.techniques[0].start"),
    ("train.log_every=" + "9" * 30, "train.log_every"),
    ("train.grid_size=" + "9" * 30, "train.grid_size"),
    ("generator.latent_dim=" + "9" * 30, "generator.latent_dim"),
    ("data.num_samples=" + "9" * 30, "data.num_samples"),
    ('eval.metrics=[{type="kid", seed=18446744073709551616}]', "eval.metrics[0].seed"),
    ('penalty={type="r1", interval=' + "9" * 30 + "}", "penalty[0].interval"),
    ('train.g_schedule={type="cosine", warmup=' + "9" * 30 + "}", "train.g_schedule.warmup"),
]


@pytest.fixture
def recipe_file(tmp_path: Path) -> Path:
    return write_recipe(tmp_path / "tiny.toml")


def _refused(capsys, tmp_path: Path, recipe_file: Path, override: str) -> str:
    """``gancore build RECIPE --set OVERRIDE -o ...`` fails with one message, writes nothing."""
    before = snapshot(tmp_path)
    msg = cli_error(capsys, "build", str(recipe_file), "--set", override,
                    "-o", str(tmp_path / "out.safetensors"))
    assert snapshot(tmp_path) == before
    return msg


@pytest.mark.parametrize("override, key, fragment", BOUNDS, ids=[c[0] for c in BOUNDS])
def test_values_out_of_bounds_are_refused_with_the_key(
    capsys, tmp_path, recipe_file, override, key, fragment
):
    msg = _refused(capsys, tmp_path, recipe_file, override)
    assert f"{key}:" in msg and fragment in msg, msg


@pytest.mark.parametrize("override, key", NON_FINITE, ids=[c[0] for c in NON_FINITE])
def test_nan_and_infinity_are_refused(capsys, tmp_path, recipe_file, override, key):
    msg = _refused(capsys, tmp_path, recipe_file, override)
    assert f"{key}:" in msg and "finite number" in msg, msg
    assert "nan and inf cannot be used" in msg


@pytest.mark.parametrize("override, key, fragment, hint", STRICT, ids=[c[0] for c in STRICT])
def test_wrong_types_are_not_coerced(capsys, tmp_path, recipe_file, override, key, fragment,
                                     hint):
    msg = _refused(capsys, tmp_path, recipe_file, override)
    assert f"{key}:" in msg and fragment in msg and hint in msg, msg


@pytest.mark.parametrize("override, key", OVERFLOW, ids=[c[0][:40] for c in OVERFLOW])
def test_integers_beyond_int64_are_refused_at_validation(
    capsys, tmp_path, recipe_file, override, key
):
    msg = _refused(capsys, tmp_path, recipe_file, override)
    assert f"{key}:" in msg and ("less than" in msg or "greater than" in msg), msg


def test_a_huge_value_is_shown_short(capsys, tmp_path, recipe_file):
    msg = _refused(capsys, tmp_path, recipe_file, "seed=" + "9" * 4000)
    assert "(4,000 characters)" in msg and len(msg) < 600


# -- values that must still be accepted ---------------------------------------------------

ACCEPTED = [
    ADAM % "lr=1",  # an int for a float
    ADAM % "lr=1.0, betas=[0, 0]",
    ADAM % "lr=10.0, betas=[0.0, 0.999999]",
    'train.g_optimizer={type="sgd", lr=0.1, momentum=0.9, nesterov=true}',
    'train.g_schedule={type="exponential", final_factor=1}',
    'train.g_schedule={type="linear", start=0.5, final_factor=0}',
    "train.n_critic=100",
    "train.steps=1000000000",
    "seed=9223372036854775807",
    "train.threads=4096",
    "train.instance_noise=0.1",
    "train.grad_clip=1",
    'train.device="cpu"',
    'train.device="cuda:3"',  # a valid name; the machine is checked when training starts
    "data.image_size=16",
    'augment={type="flip", p=1}',
    'loss={type="least_squares", a=-1, b=1, c=0}',
]


@pytest.mark.parametrize("override", ACCEPTED)
def test_values_at_the_edges_are_accepted(override):
    recipe = resolve(load_recipe(tiny_recipe(), [override]))
    assert recipe.resolved


def test_an_int_is_a_float_but_a_bool_is_neither():
    recipe = resolve(load_recipe(tiny_recipe(train={"g_optimizer": {"type": "adam", "lr": 1}})))
    assert recipe.train.g_optimizer.validated.lr == 1.0
    assert isinstance(recipe.train.g_optimizer.validated.lr, float)
    with pytest.raises(RecipeError, match=r"train\.grad_clip"):  # the technique's max_norm
        resolve(load_recipe(tiny_recipe(train={"grad_clip": True})))


# -- devices this machine does not have ---------------------------------------------------

@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
@pytest.mark.parametrize("device", ["cuda", "cuda:0", "cuda:7"])
def test_a_cuda_device_without_cuda_is_one_message(capsys, tmp_path, recipe_file, device):
    before = snapshot(tmp_path)
    msg = cli_error(capsys, "train", str(recipe_file), "--set", f'train.device="{device}"',
                    "--out", str(tmp_path / "run"), "-q")
    assert "train.device" in msg and "no GPU is available" in msg
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("name, available, count, fragment", [
    ("cuda", False, 0, "has no CUDA GPU"),
    ("cuda:1", False, 0, "has no CUDA GPU"),
    ("cuda:2", True, 2, "has 2 CUDA device(s)"),
    ("cuda:10", True, 1, "has 1 CUDA device(s)"),
    ("tpu", True, 1, "unknown device 'tpu'"),
])
def test_extractor_devices_are_checked_against_the_machine(monkeypatch, name, available, count,
                                                           fragment):
    from gancore.metrics.base import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    with pytest.raises(RecipeError) as info:
        resolve_device(name)
    assert fragment in str(info.value)


# -- integers given outside a recipe (command-line options, API arguments) -----------------

@pytest.mark.parametrize("args, fragment", [
    (["--seed", "9" * 30], "--seed must be an integer from 0 to 2**63-1"),
    (["--seed", "-1"], "--seed must be an integer from 0 to 2**63-1"),
    (["--seed", str(2**64)], "--seed must be an integer from 0 to 2**63-1"),
])
def test_build_seed_options_beyond_int64(capsys, tmp_path, recipe_file, args, fragment):
    before = snapshot(tmp_path)
    msg = cli_error(capsys, "build", str(recipe_file), *args,
                    "-o", str(tmp_path / "out.safetensors"))
    assert fragment in msg
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("args, fragment", [
    (["--seed", "9" * 30], "--seed must be an integer from 0 to 2**63-1"),
    (["--seed", "-" + "9" * 30], "--seed must be an integer from 0 to 2**63-1"),
    (["--seed", str(2**63)], "--seed must be an integer from 0 to 2**63-1"),
    (["-n", "9" * 30], "-n must be at most 10,000,000"),
    (["-n", str(2**63)], "-n must be at most 10,000,000"),
    (["--interpolate", "-n", "9" * 30], "-n must be at most 10,000,000"),
])
def test_sample_options_beyond_int64(capsys, tmp_path, ckpt, args, fragment):
    before = snapshot(tmp_path)
    msg = cli_error(capsys, "sample", str(ckpt), *args, "--grid", str(tmp_path / "g.png"))
    assert fragment in msg
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("steps", ["9" * 30, str(2**63)])
def test_train_steps_option_beyond_int64(capsys, tmp_path, recipe_file, steps):
    before = snapshot(tmp_path)
    msg = cli_error(capsys, "train", str(recipe_file), "--steps", steps,
                    "--out", str(tmp_path / "run"), "-q")
    assert "train.steps" in msg and "less than or equal to 1000000000" in msg
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("seed", [2**64, -1, 10**30, True])
def test_the_build_api_refuses_seeds_beyond_int64(seed):
    with pytest.raises(GancoreError, match="seed must be an integer"):
        gancore.build(tiny_recipe(), seed=seed)
