"""Options and inputs that used to give silently wrong results are now one clear error.

``--truncation nan`` made every latent value NaN, ``--truncation inf`` truncated nothing,
``--interpolate -n 0`` drew a walk anyway, and a ``labels = "subfolders"`` folder without
subfolders trained an unlabelled model. Each case: one message, no file written.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from PIL import Image

import gancore
from gancore.core.errors import DataError, GancoreError
from gancore.data.folder import ImageFolder
from gancore.train import sample as sample_mod

from .conftest import cli_error, cli_ok, snapshot, tiny_recipe, write_recipe

SAMPLE_CASES = [
    # (extra `gancore sample` arguments, what the message must say)
    (["--truncation", "nan"], "--truncation: truncation must be a finite positive number"),
    (["--truncation", "NaN"], "(got nan)"),
    (["--truncation", "inf"], "(got inf)"),
    (["--truncation", "-inf"], "(got -inf)"),
    (["--truncation", "1e999"], "(got inf)"),
    (["--truncation", "-1"], "(got -1.0)"),
    (["--truncation", "0"], "(got 0.0)"),
    (["--truncation", "-0.0"], "(got -0.0)"),
    (["--truncation", "1e-400"], "(got 0.0)"),
    (["--truncation", "nan", "--interpolate"], "finite positive number"),
    (["--interpolate", "-n", "0"], "--interpolate needs -n 2 or more (got 0)"),
    (["--interpolate", "-n", "1"], "--interpolate needs -n 2 or more (got 1)"),
    (["--interpolate", "-n", "-5"], "--interpolate needs -n 2 or more (got -5)"),
    (["-n", "0"], "-n must be 1 or more (got 0)"),
    (["-n", "-3"], "-n must be 1 or more (got -3)"),
    (["-n", "0", "--npy", "x.npy"], "-n must be 1 or more"),
]


@pytest.mark.parametrize("extra, message", SAMPLE_CASES)
def test_sample_options_that_would_be_silently_wrong(ckpt, tmp_path, capsys, monkeypatch,
                                                     extra, message):
    monkeypatch.chdir(tmp_path)  # the default grid would be ./samples.png
    before = snapshot(tmp_path)
    err = cli_error(capsys, "sample", str(ckpt), *extra)
    assert message in err and "hint:" in err
    assert snapshot(tmp_path) == before  # no samples.png, no .npy


LIBRARY_CASES = [
    # (call, what the message must say)
    (lambda gan: sample_mod.sample_images(gan, 4, truncation=math.nan), "finite positive"),
    (lambda gan: sample_mod.sample_images(gan, 4, truncation=math.inf), "finite positive"),
    (lambda gan: sample_mod.sample_images(gan, 4, truncation=-2.0), "finite positive"),
    (lambda gan: sample_mod.sample_images(gan, 0), "-n must be 1 or more"),
    (lambda gan: sample_mod.interpolate(gan, rows=0, steps=8), "rows must be 1 or more"),
    (lambda gan: sample_mod.interpolate(gan, rows=2, steps=1), "needs 2 or more steps"),
    (lambda gan: sample_mod.interpolate(gan, rows=2, steps=4, truncation=math.nan), "finite"),
    (lambda gan: sample_mod.walk_shape(0), "needs -n 2 or more"),
    (lambda gan: sample_mod.walk_shape(-1), "needs -n 2 or more"),
    (lambda gan: sample_mod.truncated_normal(2, 3, math.nan, torch.Generator()), "finite"),
]


@pytest.mark.parametrize("call, message", LIBRARY_CASES)
def test_sampling_functions_refuse_instead_of_drawing_garbage(ckpt, call, message):
    gan = gancore.load(ckpt)
    with pytest.raises(GancoreError) as info:
        call(gan)
    assert message in str(info.value)


def test_the_smallest_valid_values_still_work(ckpt, tmp_path, capsys):
    import numpy as np

    cli_ok(capsys, "sample", str(ckpt), "--interpolate", "-n", "2", "--npy",
           str(tmp_path / "walk.npy"), "--truncation", "0.5")
    walk = np.load(tmp_path / "walk.npy")
    assert walk.shape[0] == 2 and np.isfinite(walk).all()
    cli_ok(capsys, "sample", str(ckpt), "-n", "1", "--npy", str(tmp_path / "one.npy"))
    assert np.load(tmp_path / "one.npy").shape[0] == 1


def _image(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (200, 10, 10)).save(path)


def _flat(root: Path) -> None:
    _image(root / "a.png")
    _image(root / "b.png")


def _hidden_only(root: Path) -> None:
    _image(root / "a.png")
    _image(root / ".cache" / "b.png")


def _files_named_like_folders(root: Path) -> None:
    _image(root / "cats.png")
    (root / "dogs").write_text("not a folder")


def _images_only_at_the_top(root: Path) -> None:
    _image(root / "a.png")
    (root / "empty-class").mkdir()


FOLDER_CASES = [
    # (how the folder is filled, what the message must say)
    (_flat, 'labels = "subfolders", but the folder has no subfolders'),
    (_hidden_only, "has no subfolders (one per class)"),
    (_files_named_like_folders, "has no subfolders"),
    (_images_only_at_the_top, "no image files inside the class subfolders"),
]


@pytest.mark.parametrize("fill, message", FOLDER_CASES)
def test_subfolder_labels_without_subfolders(tmp_path, capsys, fill, message):
    root = tmp_path / "images"
    root.mkdir()
    fill(root)
    before = snapshot(tmp_path)
    with pytest.raises(DataError) as info:
        ImageFolder(root=str(root), image_size=8, labels="subfolders")
    assert message in str(info.value) and str(root) in str(info.value)
    assert 'labels = "none"' in str(info.value)
    assert snapshot(tmp_path) == before
    if "has no subfolders" in message:
        with pytest.raises(DataError, match="has no subfolders"):
            ImageFolder.describe(root=str(root), image_size=8, labels="subfolders")
    recipe = tiny_recipe()
    recipe["data"] = {"type": "folder", "root": str(root), "image_size": 16,
                      "labels": "subfolders"}
    path = write_recipe(tmp_path / "folder.toml", recipe)
    before = snapshot(tmp_path)
    err = cli_error(capsys, "train", str(path), "--out", str(tmp_path / "run"), "-q")
    assert message in err and str(root) in err
    assert snapshot(tmp_path) == before  # no run folder for a run that never started
