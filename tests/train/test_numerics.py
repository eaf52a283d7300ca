"""Numerics measured, not assumed: candidates, the bounded measurement, the cache, resume."""

from __future__ import annotations

import json

import pytest
import torch

from gancore.train import numerics
from gancore.train.numerics import Candidate, Timing
from gancore.train.trainer import Trainer
from tests.conftest import run_cli

CPU = torch.device("cpu")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANCORE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "numerics.json"


def test_candidates_follow_the_recipe_settings(monkeypatch):
    monkeypatch.setattr(numerics, "bf16_supported", lambda device: True)
    keys = [c.key for c in numerics.candidates(CPU, images=True)]
    assert keys == ["fp32/nchw", "fp32/cl", "bf16/nchw", "bf16/cl"]
    assert [c.key for c in numerics.candidates(CPU, images=True, precision="fp32")] == [
        "fp32/nchw", "fp32/cl"]
    assert [c.key for c in numerics.candidates(CPU, images=True, channels_last="off")] == [
        "fp32/nchw", "bf16/nchw"]
    assert [c.key for c in numerics.candidates(CPU, images=False)] == ["fp32/nchw", "bf16/nchw"]
    monkeypatch.setattr(numerics, "bf16_supported", lambda device: False)
    assert [c.key for c in numerics.candidates(CPU, images=True)] == ["fp32/nchw", "fp32/cl"]
    with_compile = numerics.candidates(CPU, images=False, compile=True)
    assert [c.key for c in with_compile] == ["fp32/nchw", "fp32/nchw/compile"]
    assert Candidate.from_key("bf16/cl/compile") == Candidate("bf16", True, True)


def _probe(tiny):
    import gancore

    gan = gancore.build(tiny)
    return gan, numerics.probe_for(gan, 8, CPU)


def test_measurement_leaves_the_networks_and_the_rng_untouched(tiny):
    gan, probe = _probe(tiny)
    before = {k: v.clone() for k, v in gan.generator.state_dict().items()}
    before_d = {k: v.clone() for k, v in gan.discriminator.state_dict().items()}
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    timings = numerics.measure(probe, [Candidate("fp32", False), Candidate("fp32", True)], 0.05)
    assert torch.equal(torch.rand(3), expected)
    for k, v in gan.generator.state_dict().items():
        assert torch.equal(v, before[k]), k
    for k, v in gan.discriminator.state_dict().items():
        assert torch.equal(v, before_d[k]), k
    assert all(p.grad is None for p in gan.generator.parameters())
    assert [t.candidate.key for t in timings] == ["fp32/nchw", "fp32/cl"]
    assert all(t.safe and t.steps >= 2 and t.images_per_s > 0 for t in timings)


def _scripted(monkeypatch, rates, calls):
    """Stand-ins for the timing functions, with the given images/s (None: non-finite losses)."""

    def timing(cand):
        rate = rates[cand.key]
        if rate is None:
            return Timing(cand, problem="non-finite losses")
        return Timing(cand, rate, steps=3)

    def one(probe, cand, seconds, *, warmup=1, min_steps=2):
        calls.append(("estimate", cand.key, seconds))
        return timing(cand)

    def many(probe, cands, seconds_each, *, progress=None):
        calls.extend(("measure", c.key, seconds_each) for c in cands)
        return [timing(c) for c in cands]

    monkeypatch.setattr(numerics, "time_candidate", one)
    monkeypatch.setattr(numerics, "measure", many)


def test_the_fastest_safe_candidate_is_chosen_and_cached(tiny, cache, monkeypatch):
    _, probe = _probe(tiny)
    monkeypatch.setattr(numerics, "bf16_supported", lambda device: True)
    calls: list = []
    rates = {"fp32/nchw": 100.0, "fp32/cl": 120.0, "bf16/nchw": 150.0, "bf16/cl": None}
    _scripted(monkeypatch, rates, calls)
    kwargs = dict(precision="auto", channels_last="auto", images=True, network_signature="n1")
    choice = numerics.choose(probe, steps=10_000, **kwargs)
    assert choice.how == "measured" and choice.candidate.key == "bf16/nchw"  # bf16/cl refused
    # one step of the rule's candidate estimates the run: 0.08 s a step, 800 s, so 3 s in all
    assert calls[0] == ("estimate", "bf16/cl", 0.0)
    assert [c[1] for c in calls[1:]] == ["fp32/nchw", "fp32/cl", "bf16/nchw", "bf16/cl"]
    assert sum(c[2] for c in calls[1:]) <= numerics.BUDGET_S
    saved = json.loads(cache.read_text())
    (key,) = saved
    assert key.endswith("n1") and saved[key]["choice"] == "bf16/nchw"
    assert choice.describe() == "numerics: bf16 autocast (measured now: 150 images/s, 1.50x fp32)"
    # the next run reads the cache and measures nothing
    calls.clear()
    again = numerics.choose(probe, steps=10_000, **kwargs)
    assert calls == [] and again.how == "cached" and again.candidate.key == "bf16/nchw"
    assert again.describe() == (
        "numerics: bf16 autocast (cached from an earlier run, which measured 150 images/s, "
        "1.50x fp32 then; this run's speed is in its log)")
    # another network signature measures again
    numerics.choose(probe, steps=10_000, **{**kwargs, "network_signature": "n2"})
    assert len(calls) == 5


def test_a_short_run_uses_the_rule(tiny, cache, monkeypatch):
    _, probe = _probe(tiny)
    monkeypatch.setattr(numerics, "bf16_supported", lambda device: True)
    calls: list = []
    rates = dict.fromkeys(["fp32/nchw", "fp32/cl", "bf16/nchw", "bf16/cl"], 800.0)
    _scripted(monkeypatch, rates, calls)
    # 20 steps of 0.01 s: 2% of the run is 4 ms, below the smallest budget worth measuring
    choice = numerics.choose(probe, precision="auto", channels_last="auto", images=True,
                             steps=20, network_signature="short")
    assert choice.how == "rule" and choice.candidate == Candidate("bf16", True)
    assert len(calls) == 1 and not cache.exists()
    assert "too short" in choice.describe()


def test_fixed_settings_measure_nothing(tiny, cache, monkeypatch):
    _, probe = _probe(tiny)
    monkeypatch.setattr(numerics, "time_candidate", lambda *a, **k: pytest.fail("measured"))
    choice = numerics.choose(probe, precision="fp32", channels_last="off", images=True,
                             steps=10**6, network_signature="x")
    assert choice.how == "fixed" and choice.candidate == Candidate("fp32", False)


def test_a_damaged_cache_is_ignored(tiny, cache, monkeypatch, capsys):
    cache.parent.mkdir(parents=True)
    cache.write_text("{not json")
    assert numerics.read_cache(cache) == {}
    assert "cannot be read (truncated or corrupted); measuring again" in capsys.readouterr().err
    # an entry without its checksum and versions (hand-written, or by an earlier gancore)
    cache.write_text(json.dumps({"k": {"choice": "bf16/cl"}}))
    assert numerics.cached_choice("k", [Candidate("bf16", True)], cache) is None
    assert "carries no checksum" in capsys.readouterr().err
    numerics.write_cache("k", numerics.Choice(Candidate("bf16", True), "measured"), cache)
    assert numerics.cached_choice("k", [Candidate("fp32", False)], cache) is None  # not allowed
    assert numerics.cached_choice("k", [Candidate("bf16", True)], cache).how == "cached"
    assert capsys.readouterr().err == ""


def test_a_resumed_run_keeps_its_numerics(tiny, tmp_path, cache, monkeypatch):
    # the first run measured fp32 + channels_last (on another day the cache may say otherwise)
    monkeypatch.setattr(numerics, "choose",
                        lambda *a, **k: numerics.Choice(Candidate("fp32", True), "measured"))
    first = Trainer(tiny, out=tmp_path / "run")
    first.fit()
    meta = first.checkpoint_payload()[1]["trainer"]
    assert '"channels_last": true' in meta and '"precision": "fp32"' in meta
    # resumed, it keeps what it was trained with and measures nothing
    monkeypatch.setattr(numerics, "choose", lambda *a, **k: pytest.fail("chose again"))
    tiny["train"]["steps"] = 6
    resumed = Trainer(tiny, out=tmp_path / "run", resume=True)
    assert resumed.numerics.how == "resumed"
    assert resumed.numerics.candidate == Candidate("fp32", True)
    assert resumed.precision == "fp32" and resumed.channels_last
    assert "as the resumed run was trained" in resumed.numerics.describe()


def test_fp16_and_tf32_need_a_gpu(tiny):
    from gancore.core.errors import RecipeError

    for precision in ("fp16", "tf32"):
        tiny["train"]["precision"] = precision
        tiny["train"]["device"] = "cpu"
        with pytest.raises(RecipeError, match=f"{precision} training needs a GPU") as info:
            Trainer(tiny)
        assert info.value.key == "train.precision"


def test_bench_command_prints_the_candidate_table(tmp_path):
    env = {"GANCORE_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(
        'extends = "dcgan-32"\n[data]\ntype = "shapes"\nimage_size = 32\nnum_samples = 64\n'
        "[train]\nbatch_size = 4\n", encoding="utf-8")
    result = run_cli("bench", str(recipe), "--seconds", "0.1", env=env)
    assert result.returncode == 0, result.stderr
    assert "numerics candidates" in result.stdout and "<- chosen" in result.stdout
    assert "fp32 + channels_last" in result.stdout
    # the data path, measured against the chosen step: in-memory shapes keep up
    assert "data path: float tensors in memory deliver" in " ".join(result.stdout.split())
    cached = json.loads((tmp_path / "cache" / "numerics.json").read_text())
    assert len(cached) == 1
    as_json = run_cli("bench", str(recipe), "--seconds", "0.1", "--json", "--no-save",
                      "--set", "train.channels_last='off'", env=env)
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert all(c["candidate"].endswith("/nchw") for c in data["candidates"])
    assert sum(c["chosen"] for c in data["candidates"]) == 1
    assert data["data_path"]["data_images_per_s"] > 0 and data["data_path"]["ratio"] > 0
    bad = run_cli("bench", str(recipe), "--set", "train.precision='fp64'", env=env)
    assert bad.returncode == 2 and "train.precision" in bad.stderr


def test_within_the_margin_the_rule_candidate_wins(tiny, cache, monkeypatch):
    """Noise of a shared machine does not override the rule; a clear gain still does."""
    _, probe = _probe(tiny)
    monkeypatch.setattr(numerics, "bf16_supported", lambda device: False)
    kwargs = dict(precision="auto", channels_last="auto", images=True, steps=10_000)
    assert numerics.rule(CPU, images=True, precision="auto", channels_last="auto").key == "fp32/cl"
    for rates, want, sig in (
        ({"fp32/nchw": 101.0, "fp32/cl": 100.0}, "fp32/cl", "m1"),  # 1% apart: the rule's
        ({"fp32/nchw": 100.0, "fp32/cl": 99.0}, "fp32/cl", "m2"),
        ({"fp32/nchw": 103.0, "fp32/cl": 100.0}, "fp32/nchw", "m3"),  # 3% faster: measured
    ):
        _scripted(monkeypatch, rates, [])
        choice = numerics.choose(probe, network_signature=sig, **kwargs)
        assert (choice.how, choice.candidate.key) == ("measured", want), rates
    timings = [Timing(Candidate("fp32", False), 101.0, steps=3),
               Timing(Candidate("fp32", True), 100.0, steps=3)]
    assert numerics.fastest(timings).candidate.key == "fp32/nchw"  # no rule: the simpler one
    assert numerics.fastest(timings, prefer=Candidate("fp32", True)).candidate.key == "fp32/cl"


def test_bf16_on_a_cpu_without_bf16_support_warns_that_it_is_emulated(tiny, monkeypatch):
    import warnings

    from gancore.recipe.requirements import RequirementWarning

    tiny["train"]["precision"] = "bf16"
    tiny["train"]["device"] = "cpu"
    monkeypatch.setattr(numerics, "bf16_supported", lambda device: False)
    with pytest.warns(RequirementWarning, match="emulated") as told:
        trainer = Trainer(tiny)
    assert trainer.precision == "bf16"  # asked for explicitly: warned, not overridden
    assert any("train.precision" in str(w.message) and '"auto"' in str(w.message) for w in told)
    monkeypatch.setattr(numerics, "bf16_supported", lambda device: True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RequirementWarning)
        Trainer(tiny)
