"""Studies with runs that start from another run's checkpoint: ``init_from`` and ``[pretrain]``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tomli_w
import torch

from gancore.assembly.checkpoint import read
from gancore.core.errors import GancoreError
from gancore.evaluation import EvalSettings, compare, load_study
from gancore.evaluation.runs import InlineExecutor, StudyFailed, run_task

#: A learning rate so small that a run's weights stay those it started from (to 1e-6).
FROZEN = ['train.g_optimizer={ type = "sgd", lr = 1e-12 }',
          'train.d_optimizer={ type = "sgd", lr = 1e-12 }']
TRANSFER = f"""
[pretrain.src]
description = "the run the tuned variant starts from"
set = ["data.num_samples=32"]

[variants.scratch]

[variants.tuned]
init_from = "src"
set = {json.dumps(FROZEN)}
"""


def _study(tmp_path: Path, recipe: dict, text: str) -> Path:
    (tmp_path / "tiny.toml").write_text(tomli_w.dumps(recipe), encoding="utf-8")
    path = tmp_path / "study.toml"
    path.write_text('[study]\nname = "transfer"\nbase = "tiny.toml"\nsteps = 2\n'
                    'baseline = "scratch"\n' + text, encoding="utf-8")
    return path


def _settings() -> EvalSettings:
    return EvalSettings(metrics=["f1"], num_samples=16)  # no features: no classifier to fit


def _weights(path: Path, section: str) -> dict[str, torch.Tensor]:
    return {k: v for k, v in read(path).section(section).items() if v.dim() >= 2}


class Recording(InlineExecutor):
    """Runs tasks inline and records which runs each ``run`` call was given together."""

    def __init__(self, fail: str | None = None) -> None:
        super().__init__()
        self.batches: list[list[str]] = []
        self.fail = fail

    def run(self, tasks, done):  # type: ignore[no-untyped-def]
        self.batches.append([t.spec.id for t in tasks])
        for task in tasks:
            if task.spec.variant == self.fail:
                done(task, {"id": task.spec.id, "status": "failed", "error": "boom"})
            else:
                done(task, run_task(task))


def test_a_variant_starts_from_the_final_checkpoint_of_its_source_of_the_same_seed(
        tmp_path, make_tiny):
    study = load_study(_study(tmp_path, make_tiny(), TRANSFER))
    assert [e.name for e in study.variants] == ["scratch", "tuned"]
    assert study.baseline == "scratch"
    out = tmp_path / "out"
    executor = Recording()
    result = compare(study.entries, out, steps=2, seeds=[0, 1], settings=_settings(),
                     study=study, executor=executor)
    # the [pretrain] run is trained (first) but neither evaluated nor compared
    assert [r.id for r in result.results] == ["scratch/seed-0", "tuned/seed-0",
                                               "scratch/seed-1", "tuned/seed-1"]
    assert executor.batches == [["src/seed-0", "scratch/seed-0", "src/seed-1", "scratch/seed-1"],
                                ["tuned/seed-0", "tuned/seed-1"]]
    plan = json.loads((out / "study.json").read_text())
    assert plan["runs"] == ["src/seed-0", "scratch/seed-0", "tuned/seed-0", "src/seed-1",
                            "scratch/seed-1", "tuned/seed-1"]
    src_state = json.loads((out / "state" / "src@seed-0.json").read_text())
    assert src_state["status"] == "done" and src_state["evaluation"] is None
    assert "src" not in result.stats.variants
    for seed in (0, 1):
        src = out / "src" / f"seed-{seed}" / "last.safetensors"
        tuned = out / "tuned" / f"seed-{seed}" / "last.safetensors"
        scratch = out / "scratch" / f"seed-{seed}" / "last.safetensors"
        start = {**{f"g.{k}": v for k, v in _weights(src, "ema").items()},
                 **{f"d.{k}": v for k, v in _weights(src, "discriminator").items()}}
        for name, path in (("tuned", tuned), ("scratch", scratch)):
            got = {**{f"g.{k}": v for k, v in _weights(path, "generator").items()},
                   **{f"d.{k}": v for k, v in _weights(path, "discriminator").items()}}
            assert got.keys() == start.keys()
            same = all(torch.allclose(got[k], start[k], atol=1e-6) for k in start)
            assert same == (name == "tuned"), (name, seed)
        state = json.loads((out / "state" / f"tuned@seed-{seed}.json").read_text())
        st = src.stat()
        assert state["init_from"] == [str(src), st.st_size, st.st_mtime_ns]
    # the seed-0 and seed-1 sources differ, so each seed started from its own
    a = _weights(out / "tuned" / "seed-0" / "last.safetensors", "generator")
    b = _weights(out / "tuned" / "seed-1" / "last.safetensors", "generator")
    assert any(not torch.allclose(a[k], b[k]) for k in a)
    assert result.diffs["tuned"][0] == "starts from the final checkpoint of 'src'"
    assert "starts from the final checkpoint of 'src'" in (out / "comparison.md").read_text()

    again = Recording()
    compare(study.entries, out, steps=2, seeds=[0, 1], settings=_settings(), study=study,
            executor=again)
    assert again.batches == []  # everything reused, the pretrain runs too


def test_a_failed_source_fails_the_runs_that_start_from_it(tmp_path, make_tiny):
    study = load_study(_study(tmp_path, make_tiny(), TRANSFER))
    out = tmp_path / "out"
    executor = Recording(fail="src")
    with pytest.raises(StudyFailed) as info:
        compare(study.entries, out, steps=2, settings=_settings(), study=study,
                executor=executor)
    assert executor.batches == [["src", "scratch"]]  # tuned was never started
    message = info.value.format()
    assert "2 run(s) failed" in message and "src: boom" in message
    assert "tuned: not trained: the run it starts from (init_from), 'src', did not finish" \
        in message
    assert [r.id for r in info.value.comparison.results] == ["scratch"]
    assert not (out / "tuned").exists()


def test_a_source_trained_again_makes_its_fine_tuned_run_stale(tmp_path, make_tiny):
    import shutil

    study = load_study(_study(tmp_path, make_tiny(), TRANSFER))
    out = tmp_path / "out"
    compare(study.entries, out, steps=2, settings=_settings(), study=study)
    shutil.rmtree(out / "src")
    (out / "state" / "src.json").unlink()
    with pytest.raises(StudyFailed) as info:
        compare(study.entries, out, steps=2, settings=_settings(), study=study)
    message = info.value.format()
    assert "the run 'tuned' was started from an earlier checkpoint of its init_from run" \
        in message and str(out / "tuned") in message
    shutil.rmtree(out / "tuned")
    result = compare(study.entries, out, steps=2, settings=_settings(), study=study)
    assert [r.id for r in result.results] == ["scratch", "tuned"]


@pytest.mark.slow  # three fresh worker processes
def test_with_two_jobs_the_source_finishes_before_its_fine_tuned_run_starts(tmp_path,
                                                                            make_tiny):
    from gancore.evaluation.runs import LocalExecutor

    study = load_study(_study(tmp_path, make_tiny(), TRANSFER))
    out = tmp_path / "out"
    compare(study.entries, out, steps=2, settings=_settings(), study=study,
            executor=LocalExecutor(2))
    states = {p.stem: json.loads(p.read_text()) for p in (out / "state").glob("*.json")}
    assert {s["status"] for s in states.values()} == {"done"}
    assert states["tuned"]["started"] >= states["src"]["finished"]
    assert states["tuned"]["pid"] != states["src"]["pid"]


def test_a_variant_may_start_from_another_variant(tmp_path, make_tiny):
    path = _study(tmp_path, make_tiny(), f"""
        [variants.scratch]
        [variants.tuned]
        init_from = "scratch"
        set = {json.dumps(FROZEN)}
    """.replace("\n        ", "\n"))
    study = load_study(path)
    out = tmp_path / "out"
    result = compare(study.entries, out, steps=2, settings=_settings(), study=study)
    assert [r.id for r in result.results] == ["scratch", "tuned"]
    start = _weights(out / "scratch" / "last.safetensors", "ema")
    got = _weights(out / "tuned" / "last.safetensors", "generator")
    assert all(torch.allclose(got[k], start[k], atol=1e-6) for k in start)


def test_the_same_recipe_from_other_weights_is_a_different_variant(tmp_path, make_tiny):
    from gancore.evaluation.plan import validate
    from gancore.packs.loader import get_registry

    study = load_study(_study(tmp_path, make_tiny(), """
[pretrain.src]
[variants.scratch]
[variants.tuned]
init_from = "src"
[variants.copy]
"""))
    with pytest.raises(GancoreError, match="'scratch' and 'copy' do not differ"):
        validate(study.entries, overrides=[], seed=0, steps=2, settings=_settings(),
                 registry=get_registry(), study=study)
    del study.entries[-1]
    recipes = validate(study.entries, overrides=[], seed=0, steps=2, settings=_settings(),
                       registry=get_registry(), study=study)
    assert recipes["scratch"] == recipes["tuned"] == recipes["src"]


def test_a_source_none_of_whose_weights_fit_is_refused_before_training(tmp_path, make_tiny):
    from gancore.evaluation.plan import validate
    from gancore.packs.loader import get_registry

    wide = ['generator.stem={ type = "dense", out_channels = 24, resolution = 4 }',
            'generator.blocks=[{ type = "upsample", out_channels = 12 }, '
            '{ type = "upsample", out_channels = 12 }]',
            'discriminator.blocks=[{ type = "down", out_channels = 12, norm = "none" }, '
            '{ type = "down", out_channels = 24 }]']
    study = load_study(_study(tmp_path, make_tiny(), f"""
[pretrain.wide]
set = {json.dumps(wide)}
[variants.scratch]
[variants.tuned]
init_from = "wide"
"""))
    with pytest.raises(GancoreError) as info:
        validate(study.entries, overrides=[], seed=0, steps=2, settings=_settings(),
                 registry=get_registry(), study=study)
    assert info.value.key == "variants.tuned.init_from"
    assert "no weight of 'wide' fits its networks" in info.value.format()
    assert not (tmp_path / "out").exists()
