"""The seed data sets' recipes (celeba-64, anime-64, cifar10-*) train a few steps on generated
stand-ins with the real on-disk layout, read through the real code (torchvision's CelebA and
CIFAR10 readers with the stand-ins' checksums, then `gancore data prepare`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gancore.data.prepared import writer
from gancore.data.prepared.imaging import CROP_PRESETS, Settings
from gancore.data.prepared.sources import open_source
from gancore.data.prepared.standins import (
    cifar10_checksums,
    write_anime_faces,
    write_celeba,
    write_cifar10,
)
from gancore.recipe import load_recipe
from gancore.train.trainer import Trainer

#: a few quick steps: small batches, fixed numerics, nothing written between steps
QUICK = ["train.batch_size=2", "train.log_every=1", "train.sample_every=1000",
         "train.checkpoint_every=1000", 'train.precision="fp32"', 'train.channels_last="off"']


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANCORE_CACHE", str(tmp_path / "cache"))


def _train(recipe: str, steps: int = 2, data_root: str | None = None,
           extra: tuple[str, ...] = ()) -> Trainer:
    trainer = Trainer(recipe, steps=steps, overrides=[*QUICK, *extra], data_root=data_root)
    result = trainer.fit()
    assert result.step == steps
    assert all(np.isfinite(r["d_loss"]) and np.isfinite(r["g_loss"]) for r in result.records)
    return trainer


def test_celeba_64_trains_on_the_face_crop_of_a_celeba_stand_in(tmp_path, monkeypatch):
    from torchvision.datasets import CelebA

    write_celeba(tmp_path / "data", 12)
    monkeypatch.setattr(CelebA, "file_list",
                        [(gid, None, name) for gid, _, name in CelebA.file_list])
    src = open_source("celeba", options={"root": str(tmp_path / "data"), "split": "all"})
    assert len(src) == 12 and src.origins[0] == "000001.jpg"
    recipe = load_recipe("celeba-64")
    size = recipe.data.params()["image_size"]
    out = writer.prepare(src, tmp_path / "celeba-64", Settings(size, crop=CROP_PRESETS[
        "celeba-face"]), workers=1).out
    manifest = writer.json.loads((out / "manifest.json").read_text())
    assert manifest["source"]["name"] == "celeba" and manifest["crop"]["preset"] == "celeba-face"
    assert (recipe.train.batch_size, recipe.train.steps) == (64, 79150)
    trainer = _train("celeba-64", data_root=str(out))
    assert trainer.gan.data.shape == (3, 64, 64) and type(trainer.dataset).__name__ == \
        "PreparedImages"


def test_anime_64_trains_on_a_folder_of_96px_faces(tmp_path):
    write_anime_faces(tmp_path / "anime", 10)
    out = writer.prepare(open_source(str(tmp_path / "anime")), tmp_path / "anime-64",
                         Settings(64), workers=1).out
    trainer = _train("anime-64", data_root=str(out))
    assert len(trainer.dataset) == 10 and trainer.gan.data.shape == (3, 64, 64)


@pytest.fixture
def cifar_root(tmp_path, monkeypatch) -> Path:
    from torchvision.datasets import CIFAR10

    write_cifar10(tmp_path / "data", n_train=20, n_test=10)
    sums = cifar10_checksums(tmp_path / "data")
    monkeypatch.setattr(CIFAR10, "train_list", [[n, sums[n]] for n, _ in CIFAR10.train_list])
    monkeypatch.setattr(CIFAR10, "test_list", [[n, sums[n]] for n, _ in CIFAR10.test_list])
    monkeypatch.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": sums["batches.meta"]})
    return tmp_path / "data"


@pytest.mark.parametrize("name", ["cifar10-dcgan", "cifar10-cgan", "cifar10-wgan-gp",
                                  "cifar10-sngan", "cifar10-sagan"])
def test_cifar10_recipes_train_on_a_cifar10_stand_in(name, cifar_root):
    trainer = _train(name, steps=1, data_root=str(cifar_root))
    assert trainer.gan.data.shape == (3, 32, 32) and len(trainer.dataset) == 20
    assert load_recipe(name).eval.num_samples == 10000


def test_cifar10_prepares_to_its_own_pixels(cifar_root, tmp_path):
    from gancore.data.torchvision_sets import CIFAR10

    src = open_source("cifar10", options={"root": str(cifar_root)})
    out = writer.prepare(src, tmp_path / "cifar", Settings(32), workers=1).out
    ref = CIFAR10(root=str(cifar_root))
    assert np.array_equal(np.load(out / "images.npy"), ref.images.numpy())
    assert np.array_equal(np.load(out / "labels.npy"), ref.labels.numpy())
    manifest = writer.json.loads((out / "manifest.json").read_text())
    assert manifest["classes"][:2] == ["airplane", "automobile"] and manifest["num_classes"] == 10
