"""The data path check: measured rates, the message naming the fix, untouched batches, and the
automatic number of DataLoader workers."""

from __future__ import annotations

import torch

from gancore.data.folder import ImageFolder
from gancore.data.prepared.standins import write_photos
from gancore.data.shapes import Shapes
from gancore.train import datapath
from gancore.train.batches import LoaderBatches, TensorBatches, make_batches
from gancore.train.datapath import DataPathCheck, auto_workers, resolve_workers
from gancore.train.trainer import Trainer

CPU = torch.device("cpu")


def test_auto_workers_follow_the_device_and_the_cpus():
    cuda = torch.device("cuda")
    assert [auto_workers(cuda, n) for n in (1, 2, 4, 16, 64)] == [0, 1, 3, 8, 8]
    assert [auto_workers(CPU, n) for n in (1, 2, 8, 16, 64)] == [0, 0, 1, 2, 4]
    assert resolve_workers(3, cuda) == 3 and resolve_workers(0, cuda) == 0
    assert resolve_workers("auto", CPU) == auto_workers(CPU)


def test_the_message_names_the_fix_when_data_is_the_bottleneck():
    slow = DataPathCheck("files decoded by a DataLoader (0 workers)", 860.0, 25_000.0,
                         device="GPU", num_workers=0, cpus=16, overlapped=True)
    assert slow.bottleneck and round(slow.wait_share, 3) == round(1 - 860 / 25_000, 3)
    text = slow.message()
    assert "860 images/s" in text and "25,000" in text and "97% of the time" in text
    assert "gancore data prepare" in text and 'data.type = "prepared"' in text
    assert "train.num_workers (now 0; 16 CPUs here)" in text
    fast = DataPathCheck("uint8 images (held on the device), converted on the device",
                         900_000.0, 25_000.0, device="GPU", overlapped=True)
    assert not fast.bottleneck and fast.message() is None
    assert "36x what the training step consumes" in fast.summary()
    # in one process, data and step take turns: data 10x the step still costs 1/11 of the time
    serial = DataPathCheck("files decoded by a DataLoader (0 workers)", 1000.0, 100.0)
    assert round(serial.wait_share, 4) == round(1 / 11, 4) and not serial.bottleneck
    assert DataPathCheck("x", 500.0, 100.0).bottleneck  # 1/6 of the run waits


def test_measuring_leaves_the_batches_as_they_were(tmp_path):
    ds = Shapes(image_size=8, num_samples=40, flip=True)
    x, y = ds.as_tensors()
    measured = TensorBatches(x, y, 4, 7, CPU, ds.augment)
    assert datapath.measure_batches(measured, seconds=0.01) > 0
    fresh = TensorBatches(x, y, 4, 7, CPU, ds.augment)
    for _ in range(3):
        assert torch.equal(measured.next()[0], fresh.next()[0])

    write_photos(tmp_path / "photos", 12, width=20, height=20)
    folder = ImageFolder(str(tmp_path / "photos"), image_size=8)
    loader = make_batches(folder, 4, 7, CPU, num_workers=0)
    assert isinstance(loader, LoaderBatches)
    check = datapath.check_data_path(loader, 1e9, dataset="folder", seconds=0.01)
    assert check.bottleneck and "gancore data prepare" in check.message()
    again = make_batches(folder, 4, 7, CPU, num_workers=0)
    for _ in range(4):  # across an epoch boundary too
        assert torch.equal(loader.next()[0], again.next()[0])


def test_the_trainer_checks_at_the_start_without_changing_the_run(tiny, tmp_path, monkeypatch):
    write_photos(tmp_path / "photos", 16, width=20, height=20)
    tiny["data"] = {"type": "folder", "root": str(tmp_path / "photos"), "image_size": 16}
    tiny["train"].update(steps=3, num_workers=0, precision="fp32", channels_last="off")
    lines: list[str] = []
    monkeypatch.setattr(datapath, "MIN_RUN_STEPS", 1)
    monkeypatch.setattr(datapath, "step_rate", lambda probe, choice: 1e9)
    checked = Trainer(tiny, echo=lines.append)
    assert checked.data_path is not None and checked.data_path.bottleneck
    warning = [line for line in lines if line.startswith("warning: the data path")]
    assert len(warning) == 1 and "gancore data prepare" in warning[0]
    checked.fit()  # each Trainer seeds the global RNG when it is made: fit before the next
    monkeypatch.setattr(datapath, "MIN_RUN_STEPS", 10**9)
    plain = Trainer(tiny)
    assert plain.data_path is None
    plain.fit()
    for a, b in zip(checked.G.parameters(), plain.G.parameters(), strict=True):
        assert torch.equal(a, b)
