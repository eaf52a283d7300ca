"""Bad input to `gancore data prepare` and to `data.type = "prepared"`: one message naming the
file or key, and nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gancore.core.errors import DataError, RecipeError
from gancore.data.prepared import manifest as fmt
from gancore.data.prepared import writer
from gancore.data.prepared.dataset import PreparedImages
from gancore.data.prepared.imaging import Settings
from gancore.data.prepared.sources import open_source
from gancore.data.prepared.standins import write_photos

from .conftest import cli_error, snapshot, tiny_recipe, write_recipe


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANCORE_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def prepared_set(tmp_path) -> Path:
    """Six 16x16 RGB images in two classes, prepared into tmp_path/set."""
    for name in ("a", "b"):
        write_photos(tmp_path / "src" / name, 3, width=24, height=20, prefix=name, seed=len(name))
    src = open_source(str(tmp_path / "src"), labels="subfolders")
    return writer.prepare(src, tmp_path / "set", Settings(16), workers=1).out


def test_cli_option_mistakes_name_the_option(capsys, tmp_path):
    write_photos(tmp_path / "src", 1)
    before = snapshot(tmp_path)
    for args, key in ((["--crop", "1,2,3"], "--crop"), (["--filter", "bicubc"], "--filter"),
                      (["--background", "pink"], "--background"), ([], "--size"),
                      (["--size", "8", "--channels", "2"], "--channels"),
                      (["--size", "8", "--option", "split=test"], "--option"),
                      (["--size", "8", "--labels", "subfolders"], "--labels")):
        msg = cli_error(capsys, "data", "prepare", str(tmp_path / "src"), str(tmp_path / "out"),
                        *args)
        assert f"error: {key}:" in msg or f": {key}:" in msg, (args, msg)
    assert snapshot(tmp_path) == before


def test_cli_sources_and_targets_are_named(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    write_photos(tmp_path / "src", 2)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "mine.txt").write_text("keep")
    before = snapshot(tmp_path)
    msg = cli_error(capsys, "data", "prepare", str(tmp_path / "nowhere"), str(tmp_path / "out"))
    assert f"{tmp_path / 'nowhere'}: source not found" in msg
    msg = cli_error(capsys, "data", "prepare", str(tmp_path / "empty"), str(tmp_path / "out"),
                    "--size", "8")
    assert f"{tmp_path / 'empty'}: no image files" in msg
    msg = cli_error(capsys, "data", "prepare", str(tmp_path / "src"), str(tmp_path / "busy"),
                    "--size", "8")
    assert f"{tmp_path / 'busy'}: the target exists and is not a prepared dataset" in msg
    assert snapshot(tmp_path) == before


def _edit_manifest(folder: Path, **changes) -> None:
    path = folder / fmt.MANIFEST
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_a_truncated_images_file_is_refused_naming_it(prepared_set):
    path = prepared_set / fmt.IMAGES
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match="truncated") as info:
        PreparedImages(root=str(prepared_set))
    assert info.value.source == str(path)


def test_edited_pixels_are_refused_by_the_hash(prepared_set):
    PreparedImages(root=str(prepared_set))  # verified once, remembered
    path = prepared_set / fmt.IMAGES
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="pixels do not match the manifest") as info:
        PreparedImages(root=str(prepared_set))
    assert info.value.source == str(path)
    assert len(PreparedImages(root=str(prepared_set), verify="never")) == 6


def test_edited_labels_and_manifests_are_refused(prepared_set):
    np.save(prepared_set / fmt.LABELS, np.array([0, 0, 0, 1, 1, 0], dtype=np.int64))
    with pytest.raises(DataError, match="labels do not match") as info:
        PreparedImages(root=str(prepared_set))
    assert info.value.source == str(prepared_set / fmt.LABELS)
    _edit_manifest(prepared_set, count=5)
    with pytest.raises(DataError, match="content_hash does not match") as info:
        PreparedImages(root=str(prepared_set))
    assert info.value.source == str(prepared_set / fmt.MANIFEST)


def test_a_newer_format_asks_for_an_upgrade(prepared_set):
    _edit_manifest(prepared_set, format_version=fmt.FORMAT_VERSION + 1)
    with pytest.raises(DataError, match="written by a newer gancore") as info:
        PreparedImages(root=str(prepared_set))
    assert info.value.source == str(prepared_set / fmt.MANIFEST) and "upgrade" in info.value.hint
    (prepared_set / fmt.MANIFEST).write_text("{not json")
    with pytest.raises(DataError, match="manifest cannot be read"):
        PreparedImages(root=str(prepared_set))


def test_missing_unfinished_and_foreign_folders(tmp_path):
    with pytest.raises(DataError, match="prepared dataset not found") as info:
        PreparedImages(root=str(tmp_path / "celeba-64"))
    assert "gancore data prepare" in info.value.hint
    fmt.partial_folder(tmp_path / "celeba-64").mkdir()
    with pytest.raises(DataError, match="prepared dataset not found") as info:
        PreparedImages(root=str(tmp_path / "celeba-64"))
    assert "unfinished preparation" in info.value.hint
    (tmp_path / "photos").mkdir()
    with pytest.raises(DataError, match=r"not a prepared dataset \(no manifest.json\)"):
        PreparedImages(root=str(tmp_path / "photos"))
    with pytest.raises(RecipeError, match="needs root") as info:
        PreparedImages()
    assert info.value.key == "root"


def test_image_size_that_differs_from_the_prepared_size_is_refused(capsys, prepared_set,
                                                                   tmp_path):
    recipe = tiny_recipe()
    recipe["data"] = {"type": "prepared", "root": str(prepared_set), "image_size": 32}
    path = write_recipe(tmp_path / "r.toml", recipe)
    before = snapshot(tmp_path)
    msg = cli_error(capsys, "train", str(path), "--out", str(tmp_path / "run"))
    assert "data.image_size: image_size is 32, but the prepared dataset" in msg
    assert "holds 16x16 images" in msg and "--size 32" in msg
    assert snapshot(tmp_path) == before
    with pytest.raises(RecipeError, match="holds 3-channel images") as info:
        PreparedImages.describe(root=str(prepared_set), channels=1)
    assert info.value.key == "channels"
    with pytest.raises(RecipeError, match="holds 2 classes"):
        PreparedImages.describe(root=str(prepared_set), num_classes=10)
