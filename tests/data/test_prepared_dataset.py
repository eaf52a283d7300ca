"""`data.type = "prepared"`: uint8 batches converted on the device, splits, filters, noise,
augmentations, the verification cache and the statistics cache key."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from gancore.data.filters import inject_noise, select
from gancore.data.prepared import manifest as fmt
from gancore.data.prepared import writer
from gancore.data.prepared.dataset import PreparedImages
from gancore.data.prepared.imaging import Settings
from gancore.data.prepared.sources import open_source
from gancore.data.prepared.standins import write_photos
from gancore.data.transforms import to_signed
from gancore.train.batches import StoredBatches, TensorBatches, make_batches, signed

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANCORE_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def labelled(tmp_path_factory) -> Path:
    """30 images of 16x16 in three class subfolders, prepared."""
    root = tmp_path_factory.mktemp("labelled")
    for k, name in enumerate(("ant", "bee", "cat")):
        write_photos(root / "src" / name, 10, width=24, height=24, prefix=name, seed=k)
    src = open_source(str(root / "src"), labels="subfolders")
    return writer.prepare(src, root / "set", Settings(16), workers=1).out


def test_numpy_conversion_equals_to_signed_for_every_level():
    levels = torch.arange(256, dtype=torch.uint8)
    assert torch.equal(torch.from_numpy(signed(levels.numpy())), to_signed(levels))


def test_dataset_items_labels_and_classes(labelled):
    ds = PreparedImages(root=str(labelled))
    images = np.load(labelled / "images.npy")
    assert len(ds) == 30 and ds.classes == ["ant", "bee", "cat"] and ds.num_classes == 3
    x, y = ds[11]
    assert torch.equal(x, to_signed(torch.from_numpy(images[11]))) and int(y) == 1
    assert PreparedImages.describe(root=str(labelled)).shape == (3, 16, 16)
    assert PreparedImages.describe(root=str(labelled)).num_classes == 3
    assert ds.images.dtype == torch.uint8 and ds.storage().images.data_ptr() == \
        ds.images.data_ptr()  # the memory map itself, not a copy


def test_stored_batches_match_float_batches_with_augmentation(labelled):
    ds = PreparedImages(root=str(labelled), flip=True, rotate=10.0, shift=0.1)
    stored = make_batches(ds, 8, 3, CPU)
    assert isinstance(stored, StoredBatches)
    x, y = ds.as_tensors()
    floats = TensorBatches(x, y, 8, 3, CPU, ds.augment)
    for _ in range(4):
        (xa, ya), (xb, yb) = stored.next(), floats.next()
        assert xa.dtype == torch.float32 and torch.equal(xa, xb) and torch.equal(ya, yb)


def test_splits_limits_and_selections_draw_only_their_rows(labelled):
    from gancore.data.folder import ImageFolder

    train = PreparedImages(root=str(labelled), test_fraction=0.3)
    test = PreparedImages(root=str(labelled), split="test", test_fraction=0.3)
    assert len(train) + len(test) == 30 and len(test) > 0
    rows = set(train.rows.tolist()) | set(test.rows.tolist())
    assert rows == set(range(30))
    folder_test = ImageFolder(str(labelled.parent / "src"), split="test", test_fraction=0.3,
                              labels="subfolders")
    names = sorted(str(p.relative_to(labelled.parent / "src").as_posix())
                   for p in folder_test.files)
    origins = PreparedImages(root=str(labelled)).manifest["origins"]
    assert names == sorted(origins[i] for i in test.rows.tolist())  # folder's hold-out rule
    images = np.load(labelled / "images.npy")
    batches = make_batches(test, 16, 0, CPU)
    wanted = {tuple(images[r].reshape(-1)[:32]) for r in test.rows.tolist()}
    for _ in range(3):
        x, y = batches.next()
        got = ((x + 1) * 127.5).round().to(torch.uint8).reshape(16, -1)[:, :32]
        assert {tuple(row.tolist()) for row in got} <= wanted
    chosen = select(PreparedImages(root=str(labelled)), [3, 3, 25])
    x, y = make_batches(chosen, 32, 0, CPU).next()
    allowed = [to_signed(torch.from_numpy(images[i])) for i in (3, 25)]
    assert all(any(torch.equal(xi, a) for a in allowed) for xi in x)
    assert set(y.tolist()) <= {0, 2}
    assert len(PreparedImages(root=str(labelled), limit=7)) == 7


def test_planted_noise_in_stored_batches_equals_the_float_path(labelled):
    noisy, planted = inject_noise(PreparedImages(root=str(labelled)), 0.2, seed=1)
    stored = noisy.storage()
    x, y = noisy.as_tensors()
    assert torch.equal(to_signed(stored.images), x) and torch.equal(stored.labels, y)
    assert len(planted) == 6 and not torch.equal(x[planted[0]], to_signed(
        PreparedImages(root=str(labelled)).images[planted[0]]))


def test_verification_happens_once_per_state_of_the_files(labelled, monkeypatch):
    calls = []
    real = fmt.hash_array
    monkeypatch.setattr(fmt, "hash_array", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    PreparedImages(root=str(labelled))
    assert len(calls) == 2  # labels and pixels, hashed and remembered
    PreparedImages(root=str(labelled))
    assert len(calls) == 2
    PreparedImages(root=str(labelled), verify="always")
    assert len(calls) == 4


def test_statistics_are_keyed_by_content_not_location(labelled, tmp_path):
    import gancore
    from gancore.evaluation.evaluator import RealData
    from gancore.packs.loader import get_registry

    copy = tmp_path / "elsewhere"
    shutil.copytree(labelled, copy)
    keys, samples = [], []
    for root in (labelled, copy):
        recipe = {"data": {"type": "prepared", "root": str(root)},
                  "generator": {"type": "stack", "latent_dim": 8,
                                "stem": {"type": "dense", "out_channels": 8, "resolution": 4},
                                "blocks": [{"type": "upsample"}, {"type": "upsample"}]},
                  "discriminator": {"type": "stack", "blocks": [{"type": "down"}]}}
        gan = gancore.build(recipe)
        real = RealData(gan, get_registry(), None, n=12, seed=0)
        keys.append(real.cache_params())
        samples.append(real.samples())
    assert keys[0] == keys[1] and "root" not in keys[0]
    assert keys[0]["content_hash"] == PreparedImages(root=str(labelled)).content_hash
    order = torch.randperm(30, generator=torch.Generator().manual_seed(0))[:12]
    x, y = PreparedImages(root=str(labelled)).as_tensors()
    assert torch.equal(samples[0][0], x[order]) and torch.equal(samples[0][1], y[order])


def test_every_augmentation_trains_on_prepared_data(labelled):
    import copy

    from gancore.packs.loader import get_registry
    from gancore.train.trainer import Trainer
    from tests.train.conftest import TINY

    tiny = copy.deepcopy(TINY)
    names = {e.name for e in get_registry().entries("augment")}
    tiny["data"] = {"type": "prepared", "root": str(labelled), "flip": True, "rotate": 5.0,
                    "shift": 0.1}
    tiny["augment"] = [{"type": n} for n in ("flip", "diffaugment", "ada") if n in names]
    tiny["train"].update(steps=2, log_every=1, sample_every=100, checkpoint_every=100)
    result = Trainer(tiny).fit()
    assert result.step == 2 and all(np.isfinite(r["d_loss"]) for r in result.records)
