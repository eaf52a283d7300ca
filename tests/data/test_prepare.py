"""`gancore data prepare`: pixels, colour modes, broken files, resuming, atomic writes."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gancore.core.errors import DataError, WriteError
from gancore.data.prepared import manifest as fmt
from gancore.data.prepared import writer
from gancore.data.prepared.imaging import CROP_PRESETS, Settings
from gancore.data.prepared.sources import open_source
from gancore.data.prepared.standins import picture, write_photos

S64 = Settings(64)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANCORE_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """24 pictures of 178x218 in mixed forms and 3 broken files."""
    folder = tmp_path_factory.mktemp("photos")
    write_photos(folder, 24, mixed_modes=True, broken=3, seed=1)
    return folder


def originals(n: int, seed: int, width: int = 178, height: int = 218) -> list[Image.Image]:
    """The pictures write_photos drew, before they were saved."""
    rng = np.random.default_rng(seed)
    return [picture(rng, width, height) for _ in range(n)]


def prepared(folder: Path) -> tuple[np.ndarray, np.ndarray, dict]:
    manifest = json.loads((folder / "manifest.json").read_text())
    return np.load(folder / "images.npy"), np.load(folder / "labels.npy"), manifest


def test_cli_prepares_mixed_modes_lists_the_broken_files_and_trains(photos, tmp_path, capsys):
    """`gancore data prepare` on 218x178 JPEGs (and PNGs) of mixed modes with broken files,
    then `gancore train` on the result."""
    import copy

    import tomli_w

    from gancore.cli import main
    from tests.train.conftest import TINY

    out = tmp_path / "set"
    with pytest.raises(SystemExit) as info:
        main(["data", "prepare", str(photos), str(out), "--size", "16", "--shard-size", "5",
              "--workers", "1"])
    assert info.value.code == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "skipped 3 image(s)" in printed and "broken-0.jpg" in printed
    images, labels, m = prepared(out)
    assert images.shape == (24, 3, 16, 16) and images.dtype == np.uint8
    assert labels.tolist() == [0] * 24
    assert m["count"] == 24 and m["shape"] == [3, 16, 16]
    assert sorted(s["origin"] for s in m["skipped"]) == ["broken-0.jpg", "broken-1.jpg",
                                                           "broken-2.jpg"]
    assert all(s["reason"] for s in m["skipped"])
    assert m["modes"] == {"CMYK": 3, "I;16": 3, "L": 3, "P": 3, "RGB": 9, "RGBA": 3}
    assert m["exif_rotated"] == 3
    assert m["resize"] == {"filter": "bicubic", "antialias": True,
                           "library": m["resize"]["library"]}
    assert m["crop"] == {"policy": "centre"} and m["source"]["images_listed"] == 27
    assert len(m["origins"]) == 24 and m["origins"][0] == "000001.jpg"
    assert m["content_hash"] == fmt.content_hash(m["images_sha256"], m["labels_sha256"],
                                                 [3, 16, 16], 24)
    assert not fmt.partial_folder(out).exists()

    recipe = copy.deepcopy(TINY)
    recipe["data"] = {"type": "prepared", "root": str(out)}
    recipe["train"].update(steps=2, precision="fp32", channels_last="off")
    path = tmp_path / "prepared.toml"
    path.write_text(tomli_w.dumps(recipe))
    with pytest.raises(SystemExit) as info:
        main(["train", str(path), "--out", str(tmp_path / "run")])
    assert info.value.code == 0, capsys.readouterr().err
    assert (tmp_path / "run" / "last.safetensors").is_file()


def test_pixels_match_an_independent_conversion(photos, tmp_path):
    """Each mode ends as the picture it encodes: the same pixels up to JPEG/palette loss,
    exactly for lossless 16-bit PNG, upright for the EXIF-rotated JPEG."""
    result = writer.prepare(open_source(str(photos)), tmp_path / "set", S64, workers=1)
    images, _, m = prepared(result.out)
    by_origin = dict(zip(m["origins"], images, strict=True))

    def expect(image: Image.Image) -> np.ndarray:
        w, h = image.size
        side = min(w, h)
        left, top = (w - side) / 2, (h - side) / 2
        out = image.resize((64, 64), Image.Resampling.BICUBIC,
                           box=(left, top, left + side, top + side))
        return np.asarray(out, dtype=np.int16).transpose(2, 0, 1)

    for i, original in enumerate(originals(24, seed=1)):
        kind = i % 8
        name = f"{i + 1:06d}." + ("png" if kind in (3, 4, 5) else "jpg")
        got = by_origin[name].astype(np.int16)
        if kind == 5:  # 16-bit greyscale PNG: grey * 257, lossless
            assert np.array_equal(got, expect(original.convert("L").convert("RGB"))), name
        elif kind == 3:  # RGBA: the transparent top-left corner is composited onto white
            assert got[:, 1:10, 1:12].min() >= 250, name
            assert np.abs(got - expect(original))[:, 20:, 20:].mean() < 1.0, name
        elif kind == 1:
            assert np.abs(got - expect(original.convert("L").convert("RGB"))).mean() < 3, name
        else:  # RGB, CMYK and palette images, and the rotated one turned upright
            assert np.abs(got - expect(original)).mean() < 6, name
    rotated = by_origin["000007.jpg"].astype(np.int16)
    sideways = np.asarray(originals(24, seed=1)[6].transpose(Image.Transpose.ROTATE_90))
    assert np.abs(rotated - expect(Image.fromarray(sideways))).mean() > 20


def test_a_fixed_box_and_the_celeba_face_preset(tmp_path):
    src = tmp_path / "src"
    write_photos(src, 3, seed=2)
    box = CROP_PRESETS["celeba-face"]
    assert box == (35, 55, 143, 163) and box[2] - box[0] == box[3] - box[1] == 108
    result = writer.prepare(open_source(str(src)), tmp_path / "out", Settings(32, crop=box),
                            workers=1)
    images, _, m = prepared(result.out)
    assert m["crop"] == {"policy": "box", "box": list(box), "preset": "celeba-face"}
    with Image.open(src / "000002.jpg") as image:
        want = np.asarray(image.convert("RGB").resize((32, 32), Image.Resampling.BICUBIC,
                                                      box=box)).transpose(2, 0, 1)
    assert np.array_equal(images[1], want)
    with pytest.raises(DataError, match=r"none of the 3 images could be read.*does not fit"):
        writer.prepare(open_source(str(src)), tmp_path / "big",
                       Settings(32, crop=(0, 0, 300, 300)), workers=1)


def test_idx_and_in_memory_sources_keep_native_pixels_exactly(tmp_path):
    from gancore.data.idx import write_idx
    from gancore.data.shapes import Shapes

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (10, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", pixels)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(10, dtype=np.uint8) % 4)
    src = open_source(str(tmp_path / "train-images-idx3-ubyte.gz"))
    assert src.native_size == 28 and src.num_classes == 4
    out = writer.prepare(src, tmp_path / "idx", Settings(28, channels=1), workers=1).out
    images, labels, m = prepared(out)
    assert np.array_equal(images[:, 0], pixels) and labels.tolist() == [i % 4 for i in range(10)]
    assert m["num_classes"] == 4 and m["origins"][3] == "train-images-idx3-ubyte.gz[3]"

    shapes = open_source("shapes", options={"num_samples": 12, "image_size": 16})
    out = writer.prepare(shapes, tmp_path / "shapes", Settings(16), workers=1).out
    images, labels, m = prepared(out)
    ref = Shapes(image_size=16, num_samples=12)
    assert np.array_equal(images, ref.images.numpy())
    assert np.array_equal(labels, ref.labels.numpy()) and m["num_classes"] == 4


def test_labels_from_subfolders_or_a_labels_file(tmp_path):
    for name in ("cat", "dog"):
        write_photos(tmp_path / "pets" / name, 3, width=40, height=40, prefix=name)
    src = open_source(str(tmp_path / "pets"), labels="subfolders")
    assert src.classes == ["cat", "dog"] and src.labels.tolist() == [0, 0, 0, 1, 1, 1]
    write_photos(tmp_path / "flat", 4, width=40, height=40)
    (tmp_path / "labels.csv").write_text(
        "file,label\n000001.jpg,b\n000002.jpg,a\n./000003.jpg,b\nmissing.jpg,a\n")
    src = open_source(str(tmp_path / "flat"), labels=str(tmp_path / "labels.csv"))
    assert src.classes == ["a", "b"] and src.labels.tolist() == [1, 0, 1]
    assert src.skipped == [("000004.jpg", "not in the labels file labels.csv")]
    assert src.info["labels_unmatched"] == 1
    out = writer.prepare(src, tmp_path / "out", Settings(8), workers=1).out
    _, labels, m = prepared(out)
    assert labels.tolist() == [1, 0, 1] and m["classes"] == ["a", "b"]
    assert m["skipped"] == [{"origin": "000004.jpg", "reason": "not in the labels file labels.csv"}]


def test_interrupted_prepare_resumes_without_redoing_finished_shards(tmp_path, monkeypatch):
    src_folder = tmp_path / "src"
    write_photos(src_folder, 20, seed=3)
    out = tmp_path / "out"
    real = writer.run_shard
    ran: list[int] = []

    def stop_after_two(task):
        if len(ran) == 2:
            raise KeyboardInterrupt
        ran.append(task.index)
        return real(task)

    monkeypatch.setattr(writer, "run_shard", stop_after_two)
    with pytest.raises(writer.PrepareInterrupted, match="2 of 5 shards are finished"):
        writer.prepare(open_source(str(src_folder)), out, Settings(16), workers=1, shard_size=4)
    partial = fmt.partial_folder(out)
    assert not out.exists()
    done = sorted(p.name for p in partial.glob("shard-*"))
    assert done == ["shard-00000.json", "shard-00000.npy", "shard-00001.json", "shard-00001.npy"]
    stamps = {p.name: p.stat().st_mtime_ns for p in partial.glob("shard-*")}

    ran.clear()
    monkeypatch.setattr(writer, "run_shard", lambda task: (ran.append(task.index), real(task))[1])
    real_merge, at_merge = writer._merge, {}

    def merge(partial_folder, *args):
        if not at_merge:  # the resumed run's merge (not the one-shot run's below)
            at_merge.update({p.name: p.stat().st_mtime_ns
                             for p in partial_folder.glob("shard-*")})
        return real_merge(partial_folder, *args)

    monkeypatch.setattr(writer, "_merge", merge)
    lines: list[str] = []
    result = writer.prepare(open_source(str(src_folder)), out, Settings(16), workers=1,
                            shard_size=4, echo=lines.append)
    assert ran == [2, 3, 4] and (result.shards_reused, result.shards_run) == (2, 3)
    assert any("resuming: 2 of 5 shards" in line for line in lines)
    assert not partial.exists()
    once = writer.prepare(open_source(str(src_folder)), tmp_path / "once", Settings(16),
                          workers=1, shard_size=4)
    assert result.manifest["content_hash"] == once.manifest["content_hash"]
    assert all(at_merge[name] == t for name, t in stamps.items())  # reused, not rewritten


def test_changed_settings_start_over(tmp_path, monkeypatch):
    src_folder = tmp_path / "src"
    write_photos(src_folder, 8, seed=4)
    out = tmp_path / "out"
    real = writer.run_shard
    calls = {"n": 0}

    def stop_after_one(task):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(writer, "run_shard", stop_after_one)
    with pytest.raises(writer.PrepareInterrupted):
        writer.prepare(open_source(str(src_folder)), out, Settings(16), workers=1, shard_size=4)
    monkeypatch.setattr(writer, "run_shard", real)
    lines: list[str] = []
    result = writer.prepare(open_source(str(src_folder)), out, Settings(24), workers=1,
                            shard_size=4, echo=lines.append)
    assert result.shards_reused == 0 and any("starting over" in line for line in lines)
    assert prepared(out)[0].shape == (8, 3, 24, 24)


def test_worker_processes_give_the_same_result(tmp_path):
    src_folder = tmp_path / "src"
    write_photos(src_folder, 12, mixed_modes=True, broken=1, seed=5)
    one = writer.prepare(open_source(str(src_folder)), tmp_path / "one", Settings(16),
                         workers=1, shard_size=3)
    two = writer.prepare(open_source(str(src_folder)), tmp_path / "two", Settings(16),
                         workers=2, shard_size=3)
    assert one.manifest["content_hash"] == two.manifest["content_hash"]
    assert one.skipped == two.skipped and len(one.skipped) == 1


def test_a_full_disk_leaves_nothing_that_looks_complete(tmp_path, monkeypatch):
    from gancore.data.prepared import imaging

    src_folder = tmp_path / "src"
    write_photos(src_folder, 12, seed=6)
    out = tmp_path / "out"
    real = imaging.write_file_atomic
    writes = {"n": 0}

    def full_on_third_shard(path, data, prefix=b""):
        writes["n"] += 1
        if writes["n"] == 5:  # shard 2's pixels (each shard writes .npy then .json)
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data, prefix)

    monkeypatch.setattr(imaging, "write_file_atomic", full_on_third_shard)
    with pytest.raises(WriteError, match="the disk is full") as info:
        writer.prepare(open_source(str(src_folder)), out, Settings(16), workers=1, shard_size=4)
    assert "finished shards" in info.value.hint and "shard-00002.npy" in info.value.source
    partial = fmt.partial_folder(out)
    assert not out.exists() and not list(tmp_path.rglob("manifest.json"))
    assert sorted(p.name for p in partial.iterdir()) == [
        "plan.json", "shard-00000.json", "shard-00000.npy", "shard-00001.json", "shard-00001.npy"]

    def full_on_manifest(path, data, prefix=b""):
        if Path(path).name == "manifest.json":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data, prefix)

    monkeypatch.setattr(imaging, "write_file_atomic", full_on_manifest)
    with pytest.raises(WriteError, match="the disk is full"):
        writer.prepare(open_source(str(src_folder)), out, Settings(16), workers=1, shard_size=4)
    assert not out.exists() and not (partial / "final").exists()
    assert not list(tmp_path.rglob("manifest.json"))
    monkeypatch.setattr(imaging, "write_file_atomic", real)
    result = writer.prepare(open_source(str(src_folder)), out, Settings(16), workers=1,
                            shard_size=4)
    assert result.shards_reused == 3 and result.count == 12


def test_not_enough_space_is_refused_before_any_work(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    write_photos(tmp_path / "src", 4, seed=7)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**6, 10**6 - 100, 100))
    with pytest.raises(WriteError, match="not enough disk space"):
        writer.prepare(open_source(str(tmp_path / "src")), tmp_path / "out", Settings(64),
                       workers=1)
    assert not (tmp_path / "out").exists()


# -- bad input --------------------------------------------------------------------------------
def test_bad_sources_are_refused_naming_them(tmp_path):
    with pytest.raises(DataError, match="source not found") as info:
        open_source(str(tmp_path / "nowhere"))
    assert info.value.source == str(tmp_path / "nowhere")
    with pytest.raises(DataError, match="did you mean 'cifar10'"):
        open_source("cifar1")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no image files") as info:
        open_source(str(tmp_path / "empty"))
    assert info.value.source == str(tmp_path / "empty")
    write_photos(tmp_path / "flat", 2, width=20, height=20)
    with pytest.raises(DataError, match="no subfolders") as info:
        open_source(str(tmp_path / "flat"), labels="subfolders")
    assert info.value.key == "--labels"
    with pytest.raises(DataError, match="labels file not found"):
        open_source(str(tmp_path / "flat"), labels=str(tmp_path / "labels.txt"))
    with pytest.raises(DataError, match="--option is for dataset sources"):
        open_source(str(tmp_path / "flat"), options={"split": "test"})
    with pytest.raises(DataError, match="nothing to download"):
        open_source("shapes", download=True)


def test_a_source_of_unreadable_files_only(tmp_path):
    write_photos(tmp_path / "bad", 0, broken=3)
    with pytest.raises(DataError, match="none of the 3 images could be read"):
        writer.prepare(open_source(str(tmp_path / "bad")), tmp_path / "out", S64, workers=1)
    assert not (tmp_path / "out").exists()
    assert not fmt.partial_folder(tmp_path / "out").exists()


def test_strict_refuses_naming_the_unreadable_file(tmp_path):
    write_photos(tmp_path / "src", 4, broken=1, seed=8)
    with pytest.raises(DataError, match=r"--strict: cannot read broken-0\.jpg") as info:
        writer.prepare(open_source(str(tmp_path / "src")), tmp_path / "out", S64, workers=1,
                       strict=True)
    assert info.value.source.endswith("broken-0.jpg")
    assert not (tmp_path / "out").exists()


def test_targets_that_are_not_prepared_datasets_are_refused(tmp_path):
    write_photos(tmp_path / "src", 2, seed=9)
    src = open_source(str(tmp_path / "src"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(WriteError, match="is a file, not a prepared dataset"):
        writer.prepare(src, tmp_path / "file", S64)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(WriteError, match="not a prepared dataset") as info:
        writer.prepare(src, tmp_path / "busy", S64)
    assert info.value.source == str(tmp_path / "busy")
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"
    (tmp_path / "empty").mkdir()
    first = writer.prepare(src, tmp_path / "empty", S64, workers=1)
    with pytest.raises(WriteError, match="already a prepared dataset") as info:
        writer.prepare(src, tmp_path / "empty", Settings(32), workers=1)
    assert "--overwrite" in info.value.hint
    again = writer.prepare(src, tmp_path / "empty", Settings(32), workers=1, overwrite=True)
    assert first.manifest["shape"] == [3, 64, 64] and again.manifest["shape"] == [3, 32, 32]
    assert prepared(tmp_path / "empty")[0].shape == (2, 3, 32, 32)
