"""Bad sweep files and options: one message naming the key, exit status 2."""

from __future__ import annotations

import re
import sys

import pytest

from gancore.core.errors import GancoreError

from .conftest import SPACE, write_sweep


def OPTUNA(name: str) -> None:  # per test: the optuna-absent test runs without it
    pytest.importorskip(name, reason='optuna is not installed: pip install "gancore[sweep]"')


def _check(tmp_path, head="", body=SPACE, **kwargs):
    OPTUNA("optuna")
    from gancore.packs.loader import get_registry
    from gancore.sweep.spec import check_sweep, load_sweep

    sweep = load_sweep(write_sweep(tmp_path, head, body, **kwargs))
    check_sweep(sweep, get_registry())
    return sweep


@pytest.mark.parametrize(("body", "key", "words"), [
    (SPACE.replace("train.g_optimizer.lr", "train.lr"), 'space."train.lr"',
     "unknown parameter 'lr'"),
    ('[objective]\nmetric = "fid"\n[space."train.batch_size"]\nlow = 0.5\nhigh = 4.5\n',
     'space."train.batch_size"', "valid integer"),
    (SPACE.replace("low = 1e-4", 'low = "1e-4"'), 'space."train.g_optimizer.lr".low',
     "must be a number"),
    (SPACE.replace("low = 1e-4", "low = 0.0"), 'space."train.g_optimizer.lr".low',
     "above 0"),
    (SPACE.replace("low = 1e-4", "low = 0.5"), 'space."train.g_optimizer.lr".low',
     "above high"),
    (SPACE.replace('"fid"', '"fdi"'), "objective.metric", "did you mean 'fid'"),
    (SPACE.replace('metric = "fid"', 'metric = "density"'), "objective.direction",
     "no direction"),
    (SPACE.replace('metric = "fid"', 'metric = "fid"\ndirection = "maximize"'),
     "objective.direction", "lower is better"),
    ('[objective]\nmetric = "fid"\n', "space", "search space is empty"),
    ('[space."train.g_optimizer.lr"]\nlow = 1e-4\nhigh = 1e-2\n', "objective",
     "missing required table [objective]"),
    (SPACE + '[space."train.d_optimizer.lr"]\nlow = 1e-4\nhigh = 1e-2\n'
             'when = { "loss.type" = "hinge" }\n', 'space."train.d_optimizer.lr".when',
     "no search key above"),
    (SPACE + '[space."loss.type"]\nchoices = []\n', 'space."loss.type".choices', "non-empty"),
    (SPACE + '[space."seed"]\nlow = 1\nhigh = 3\n', 'space."seed"', "set by the sweep"),
])
def test_bad_sweep_files_name_the_key(tmp_path, body, key, words):
    with pytest.raises(GancoreError) as info:
        _check(tmp_path, body=body)
    err = info.value
    assert err.key == key, err.format()
    assert words in err.message, err.format()
    assert err.source and err.source.endswith("sweep.toml")
    assert err.exit_code == 2


def test_a_pruner_needs_in_training_evaluations(tmp_path):
    with pytest.raises(GancoreError, match="needs in-training evaluations") as info:
        _check(tmp_path, head='pruner = "median"')
    assert info.value.key == "sweep.eval_every"


def test_a_grid_needs_finite_values(tmp_path):
    with pytest.raises(GancoreError, match="needs step") as info:
        _check(tmp_path, head='sampler = "grid"')
    assert info.value.key == 'space."train.g_optimizer.lr"'


def test_a_good_file_passes(tmp_path):
    sweep = _check(tmp_path, body=SPACE + '[space."loss.type"]\nchoices = ["bce", "hinge"]\n'
                   '[space."train.n_critic"]\nlow = 1\nhigh = 2\n'
                   'when = { "loss.type" = "hinge" }\n')
    (target,) = sweep.targets
    assert [p.kind for p in target.space] == ["float", "categorical", "int"]
    assert target.space[0].log and target.space[2].when == {"loss.type": ["hinge"]}
    assert sweep.objectives[0].direction == "minimize" and sweep.metrics() == ["fid"]


def test_the_storage_url_must_open(tmp_path):
    OPTUNA("optuna")
    from gancore.sweep.storage import open_storage

    with pytest.raises(GancoreError, match="cannot be opened") as info:
        open_storage(f"sqlite:///{tmp_path}/no/such/folder/x.db")
    assert info.value.key == "--storage"
    with pytest.raises(GancoreError, match="cannot be opened"):
        open_storage("nosuchdialect://host/db")


def test_a_changed_sweep_file_is_refused_naming_the_difference(tmp_path):
    OPTUNA("optuna")
    from gancore.sweep.storage import SweepChanged, prepare

    sweep = _check(tmp_path)
    out = tmp_path / "out"
    prepare(sweep, out, None)
    prepare(sweep, out, None)  # the same file: accepted
    changed = _check(tmp_path, trials=3)
    with pytest.raises(SweepChanged) as info:
        prepare(changed, out, None)
    assert "sweep.trials: 2 -> 3" in info.value.message and info.value.key == "sweep.trials"
    wider = _check(tmp_path, body=SPACE.replace("high = 1e-2", "high = 1e-1"))
    with pytest.raises(SweepChanged, match=re.escape("high: 0.01 -> 0.1")):
        prepare(wider, out, None)


def test_without_optuna_the_command_names_the_extra(tmp_path, monkeypatch, capsys):
    from gancore.cli import main

    monkeypatch.setitem(sys.modules, "optuna", None)
    path = write_sweep(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["sweep", str(path), "--out", str(tmp_path / "out")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "needs optuna" in err and "gancore[sweep]" in err


def test_the_cli_exits_2_naming_the_key(tmp_path, capsys):
    OPTUNA("optuna")
    from gancore.cli import main

    path = write_sweep(tmp_path, body=SPACE.replace("low = 1e-4", "low = -1.0"))
    with pytest.raises(SystemExit) as info:
        main(["sweep", str(path), "--out", str(tmp_path / "out")])
    assert info.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert 'space."train.g_optimizer.lr".low' in err and "above 0" in err
    assert not (tmp_path / "out").exists()  # refused before anything was written


@pytest.mark.parametrize("name", ["shapes-small", "optimizers-lr"])
def test_the_bundled_sweeps_pass_the_checks(name):
    OPTUNA("optuna")
    from pathlib import Path

    from gancore.packs.loader import get_registry
    from gancore.sweep.spec import check_sweep, load_sweep

    path = Path(__file__).resolve().parents[2] / "sweeps" / f"{name}.toml"
    sweep = load_sweep(path)
    if "fashion" in path.read_text() and not Path("/usr/share/datasets/fashion-mnist").exists():
        pytest.skip("needs Fashion-MNIST (apt-get install dataset-fashion-mnist)")
    check_sweep(sweep, get_registry())
    if name == "optimizers-lr":  # each optimizer tuned on the same budget, its own lr range
        assert [t.name for t in sweep.targets] == ["adam-2e-4", "sgd-1e-2"]
        ranges = {t.name: (t.space[0].low, t.space[0].high) for t in sweep.targets}
        assert ranges == {"adam-2e-4": (1e-5, 3e-3), "sgd-1e-2": (1e-4, 0.3)}
        assert sweep.best == 1 and sweep.confirm_seeds == [1, 2, 3]
        assert sweep.meta.steps == 400 and sweep.meta.trials == 8
