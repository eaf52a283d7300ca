"""Caches that cannot go stale: each kind, truncated, replaced by another version's entry or
with flipped bytes, is recomputed with a one-line note and gives the right result; two
processes filling one entry leave one valid entry; ``gancore cache`` lists and clears."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import torch

from gancore.data.filters import FilterContext, TensorImages
from gancore.data.outliers import AutoencoderOutliers
from gancore.data.shapes import Shapes
from gancore.evaluation.evaluator import EvalSettings, evaluate_gan, score_keys
from gancore.metrics.classifier import ClassifierExtractor
from gancore.metrics.stats_cache import StatsCache
from gancore.storage import cache as cache_mod
from gancore.storage.cache import DIGEST_FIELD, KEY_FIELD, read_tensors, write_tensors
from gancore.train import numerics
from tests.conftest import run_cli
from tests.train.conftest import TINY
from tests.train.test_numerics import _probe, _scripted

RING: dict[str, Any] = {
    "recipe": {"name": "ring-cache"},
    "data": {"type": "ring", "num_samples": 1000},
    "generator": {"type": "stack", "latent_dim": 4,
                  "stem": {"type": "linear", "out_channels": 16}, "head": {"type": "to_vector"}},
    "discriminator": {"type": "stack", "blocks": [{"type": "linear", "out_channels": 16}]},
}


@pytest.fixture
def tiny() -> dict[str, Any]:
    return copy.deepcopy(TINY)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x10  # a bit of the last tensor's values
    path.write_bytes(bytes(data))


def _foreign(path: Path) -> None:
    """The same entry as another gancore version would have written it, at this path."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), framework="pt") as fh:
        meta = dict(fh.metadata())
    key = {**json.loads(meta[KEY_FIELD]), "gancore": "0.0.1"}
    extra = {k: v for k, v in meta.items() if k not in (KEY_FIELD, DIGEST_FIELD)}
    write_tensors(path, load_file(str(path)), key, extra=extra)


CORRUPT = {
    "truncated": (_truncate, "it cannot be read (truncated or damaged"),
    "another version": (_foreign, "it was written by gancore 0.0.1 / torch"),
    "flipped bytes": (_flip, "its contents fail their checksum (corrupted)"),
}


def _one_note(capsys: pytest.CaptureFixture[str], path: Path, why: str, again: str) -> None:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("note: ") and str(path) in err, err
    assert why in err and err.rstrip().endswith(again), err


@pytest.fixture(scope="module")
def ring_gan() -> Any:
    import gancore

    return gancore.build(RING)


@pytest.mark.parametrize("how", CORRUPT)
def test_a_bad_statistics_entry_is_recomputed(ring_gan, tmp_path, capsys, how):
    settings = EvalSettings(metrics=["fid"], extractor="raw", num_samples=300, seed=0,
                            cache_dir=str(tmp_path), device="cpu")
    first = evaluate_gan(ring_gan, settings)
    (entry,) = (tmp_path / "stats").glob("*.safetensors")
    capsys.readouterr()
    corrupt, why = CORRUPT[how]
    corrupt(entry)
    again = evaluate_gan(ring_gan, settings)
    _one_note(capsys, entry, why, "computing it again")
    assert {k: again[k] for k in score_keys(again)} == {k: first[k] for k in score_keys(first)}
    evaluate_gan(ring_gan, settings)  # the entry written again is sound: used, no note
    assert capsys.readouterr().err == ""


def _blobs(n: int = 200) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 4
    x = torch.randn(n, 3, 16, 16, generator=gen) * 0.3 + y.view(-1, 1, 1, 1) * 0.2
    return x.clamp(-1, 1), y


@pytest.mark.parametrize("how", CORRUPT)
def test_a_bad_classifier_entry_is_trained_again(tmp_path, capsys, how):
    x, y = _blobs()
    first = ClassifierExtractor(epochs=1, cache_dir=str(tmp_path)).fit(x, y, dataset="blobs")
    assert not first.from_cache and first.cache_path is not None
    capsys.readouterr()
    corrupt, why = CORRUPT[how]
    corrupt(first.cache_path)
    again = ClassifierExtractor(epochs=1, cache_dir=str(tmp_path)).fit(x, y, dataset="blobs")
    _one_note(capsys, first.cache_path, why, "computing it again")
    assert not again.from_cache and again.accuracy == first.accuracy
    assert torch.equal(again.features(x), first.features(x))
    third = ClassifierExtractor(epochs=1, cache_dir=str(tmp_path)).fit(x, y, dataset="blobs")
    assert third.from_cache and capsys.readouterr().err == ""
    assert torch.equal(third.features(x), first.features(x))


@pytest.mark.parametrize("how", CORRUPT)
def test_a_bad_filter_entry_is_trained_again(tmp_path, capsys, how):
    x, y = Shapes(image_size=16, num_samples=64, seed=1).as_tensors()
    data = TensorImages(x, y)
    ctx = FilterContext(seed=0, batch_size=8, num_classes=4, dataset="shapes",
                        cache_dir=tmp_path)
    first = AutoencoderOutliers(fraction=0.1, steps=10)
    kept = first(data, ctx)
    capsys.readouterr()
    corrupt, why = CORRUPT[how]
    corrupt(first.cache_path)
    again = AutoencoderOutliers(fraction=0.1, steps=10)
    assert torch.equal(again(data, ctx), kept)
    _one_note(capsys, first.cache_path, why, "computing it again")
    assert not again.from_cache and torch.equal(again.scores, first.scores)
    third = AutoencoderOutliers(fraction=0.1, steps=10)
    assert torch.equal(third(data, ctx), kept) and third.from_cache


def _other_version(monkeypatch: pytest.MonkeyPatch, key: str, choice: Any) -> None:
    mine = cache_mod.versions()
    with monkeypatch.context() as m:
        m.setattr(cache_mod, "versions", lambda: {**mine, "gancore": "0.0.1"})
        numerics.write_cache(key, choice)


@pytest.mark.parametrize("how", CORRUPT)
def test_a_bad_numerics_entry_is_measured_again(tiny, tmp_path, monkeypatch, capsys, how):
    monkeypatch.setenv("GANCORE_CACHE", str(tmp_path))
    monkeypatch.setattr(numerics, "bf16_supported", lambda device: True)
    _, probe = _probe(tiny)
    calls: list = []
    rates = {"fp32/nchw": 100.0, "fp32/cl": 120.0, "bf16/nchw": 150.0, "bf16/cl": 90.0}
    _scripted(monkeypatch, rates, calls)
    kwargs = dict(precision="auto", channels_last="auto", images=True, network_signature="n1")
    first = numerics.choose(probe, steps=10_000, **kwargs)
    path = tmp_path / "numerics.json"
    assert first.how == "measured" and path.is_file()
    key = next(iter(json.loads(path.read_text())))
    capsys.readouterr()
    if how == "truncated":
        _truncate(path)
        why = "it cannot be read (truncated or corrupted)"
    elif how == "another version":
        _other_version(monkeypatch, key, first)
        why = "it was written by gancore 0.0.1 / torch"
    else:
        text = path.read_text()
        at = text.index('"fp32/cl": 120.0') + len('"fp32/cl": 1')
        path.write_text(text[:at] + chr(ord(text[at]) ^ 0x01) + text[at + 1:])  # 120 -> 130
        why = "its contents fail their checksum (corrupted)"
    calls.clear()
    again = numerics.choose(probe, steps=10_000, **kwargs)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and why in err and err.rstrip().endswith("measuring again"), err
    assert again.how == "measured" and again.candidate == first.candidate and len(calls) == 5
    calls.clear()
    third = numerics.choose(probe, steps=10_000, **kwargs)
    assert third.how == "cached" and calls == [] and capsys.readouterr().err == ""


FILL = textwrap.dedent("""
    import sys, torch
    from gancore.metrics.classifier import ClassifierExtractor
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(400) % 4
    x = (torch.randn(400, 3, 16, 16, generator=gen) * 0.3 + y.view(-1, 1, 1, 1) * 0.2)
    ext = ClassifierExtractor(epochs=2, cache_dir=sys.argv[1]).fit(x.clamp(-1, 1), y,
                                                                   dataset="blobs")
    print("cached" if ext.from_cache else "trained", ext.accuracy, flush=True)
""")


def test_two_processes_filling_one_entry_leave_one_valid_entry(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", FILL, str(tmp_path)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    said = sorted(out.split()[0] for out, _ in outs)
    assert said == ["cached", "trained"]  # one computed it, the other waited and read it
    assert len({out.split()[1] for out, _ in outs}) == 1  # the same network
    (entry,) = tmp_path.iterdir()  # one entry, no temporary or lock file
    from safetensors import safe_open

    with safe_open(str(entry), framework="pt") as fh:
        key = json.loads(fh.metadata()[KEY_FIELD])
    assert read_tensors(entry, key) is not None


def test_cache_command_lists_and_clears(tmp_path):
    home = tmp_path / "cache"
    env = {"GANCORE_CACHE": str(home)}
    stats = StatsCache(home / "stats")
    a = stats.save_features(torch.ones(10, 4), dataset="d", split="train", extractor="raw")
    b = stats.save_stats(_stats(), dataset="d", split="test", extractor="raw")
    c = write_tensors(home / "classifiers" / "x.safetensors", {"w": torch.zeros(3)}, {"k": 1})
    listed = run_cli("cache", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert data["home"] == str(home)
    kinds = {k["kind"]: k for k in data["kinds"]}
    assert set(kinds) >= {"numerics", "stats", "classifiers", "filters"}
    assert kinds["stats"]["entries"] == 2
    assert kinds["stats"]["bytes"] == a.stat().st_size + b.stat().st_size
    assert kinds["classifiers"]["entries"] == 1 and kinds["filters"]["entries"] == 0
    table = run_cli("cache", env=env)
    assert table.returncode == 0 and "classifiers" in table.stdout and str(home) in table.stdout
    one = run_cli("cache", "clear", "stats", env=env)
    assert one.returncode == 0 and "cleared stats: 2 entries" in one.stdout
    assert not a.exists() and not b.exists() and c.exists()
    typo = run_cli("cache", "clear", "stat", env=env)
    assert typo.returncode == 2 and "did you mean 'stats'" in typo.stderr
    everything = run_cli("cache", "clear", env=env)
    assert everything.returncode == 0 and "cleared classifiers: 1 entries" in everything.stdout
    assert not c.exists()


def _stats() -> Any:
    from gancore.metrics.fid import feature_stats

    return feature_stats(torch.randn(10, 4, generator=torch.Generator().manual_seed(0)))
