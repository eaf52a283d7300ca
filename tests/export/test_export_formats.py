"""The bundled networks exported to ONNX and torch.export, run, and matched with gancore's images.

Each recipe is trained for two steps (so the EMA weights differ from the raw ones and the batch
norm statistics are not their initial values), exported to both formats, and the exported files
are run here, independently of the exporter's own check: onnxruntime for ONNX, the loaded program
for torch.export, at two batch sizes none of which the graph was traced with, against the images
gancore's generator (rebuilt from the training checkpoint with its EMA weights) makes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

import gancore
from gancore.export import export
from tests.export.pack import NO_ONNX, ONNX_MISSING, train_checkpoint

#: What an export must match gancore's images within (images are in [-1, 1]).
ATOL = 1e-4


@dataclass
class Exported:
    name: str
    ckpt: Path
    folder: Path
    gan: gancore.GAN  # rebuilt from the training checkpoint with its EMA weights


def _export(recipe: str, root: Path) -> Exported:
    """``recipe`` trained for two steps and exported to both formats (torch.export alone
    without the export extra)."""
    ckpt = train_checkpoint(recipe, root / "run")
    formats = ["torch-export"] if ONNX_MISSING else ["onnx", "torch-export"]
    export(ckpt, root / "export", formats=formats)
    return Exported(recipe, ckpt, root / "export", gancore.load(ckpt, ema=True))


@pytest.mark.parametrize("recipe", ["dcgan-32", "cgan", "sagan"])
def test_bundled_recipe_exports_and_matches_gancore(recipe, tmp_path):
    """One test per recipe (its export is made once, on one worker), checked part by part."""
    exported = _export(recipe, tmp_path)
    check_the_folder_and_its_manifest(exported)
    for batch in (2, 5):
        check_torch_export_program_matches_gancore(exported, batch)
    check_truncation_clamps_the_latents_and_labels_steer_the_class(exported)
    check_gancore_load_reads_the_folder(exported)
    check_model_card_header_parses(exported)
    if ONNX_MISSING:
        pytest.skip(f"the ONNX checks did not run ({NO_ONNX}); the others passed")
    for batch in (2, 5):
        check_onnx_graph_matches_gancore_in_onnxruntime(exported, batch)


def _gancore_images(gan: gancore.GAN, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    gan.generator.eval()
    with torch.no_grad():
        return gan.generator(z, y)


def _inputs(gan: gancore.GAN, batch: int, seed: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(batch, gan.latent_dim, generator=gen)
    y = torch.randint(0, gan.num_classes, (batch,), generator=gen) if gan.num_classes else None
    return z, y


def _images_are_informative(images: torch.Tensor) -> None:
    """The comparison means something: the images vary and are not saturated at +-1."""
    assert images.std() > 1e-3
    assert (images.abs() < 0.99).float().mean() > 0.5


def _assert_matches(got: torch.Tensor, want: torch.Tensor) -> None:
    """Within the exporter's stated tolerance, and far closer than the images' own scale."""
    _images_are_informative(want)
    torch.testing.assert_close(got, want, atol=ATOL, rtol=0)
    assert (got - want).abs().max() <= 1e-2 * want.abs().max()


def check_the_folder_and_its_manifest(exported: Exported) -> None:
    name, folder, gan = exported.name, exported.folder, exported.gan
    manifest = json.loads((folder / "export.json").read_text())
    assert manifest["format"] == "gancore-export" and manifest["name"] == name
    assert manifest["signature"]["latent_dim"] == gan.latent_dim
    assert manifest["signature"]["num_classes"] == gan.num_classes
    assert manifest["signature"]["output_shape"] == [3, 32, 32]
    assert manifest["signature"]["output_range"] == [-1.0, 1.0]
    assert manifest["source"] == {"checkpoint": "last.safetensors", "step": 2, "weights": "ema"}
    names = [i["name"] for i in manifest["inputs"]]
    assert names == (["z", "labels", "truncation"] if name == "cgan" else ["z", "truncation"])
    for fmt, record in manifest["checks"].items():
        assert [c["batch"] for c in record["cases"]] == [1, 6], fmt
        assert 0 <= record["max_abs_diff"] <= ATOL, fmt
    for file in manifest["files"].values():
        assert (folder / file).is_file(), file


def check_torch_export_program_matches_gancore(exported: Exported, batch: int) -> None:
    folder, gan = exported.folder, exported.gan
    program = torch.export.load(str(folder / "generator.pt2")).module()
    z, y = _inputs(gan, batch, seed=batch)
    no_truncation = torch.tensor([float("inf")])
    got = program(z, y, no_truncation) if y is not None else program(z, no_truncation)
    assert got.shape == (batch, 3, 32, 32)
    _assert_matches(got, _gancore_images(gan, z, y))


def check_onnx_graph_matches_gancore_in_onnxruntime(exported: Exported, batch: int) -> None:
    import onnxruntime as ort

    folder, gan = exported.folder, exported.gan
    session = ort.InferenceSession(str(folder / "generator.onnx"),
                                   providers=["CPUExecutionProvider"])
    inputs = {i.name: i for i in session.get_inputs()}
    assert inputs["z"].shape == ["batch", gan.latent_dim]  # the batch dimension is symbolic
    z, y = _inputs(gan, batch, seed=10 + batch)
    feeds = {"z": z.numpy(), "truncation": np.array([np.inf], np.float32)}
    if y is not None:
        feeds["labels"] = y.numpy()
    got = torch.from_numpy(session.run(None, feeds)[0])
    _assert_matches(got, _gancore_images(gan, z, y))


def check_truncation_clamps_the_latents_and_labels_steer_the_class(exported: Exported) -> None:
    name, folder, gan = exported.name, exported.folder, exported.gan
    program = torch.export.load(str(folder / "generator.pt2")).module()
    z, y = _inputs(gan, 8, seed=7)
    z = z * 2  # many values beyond the threshold
    t = 0.5
    extra = (y,) if y is not None else ()
    truncated = program(z, *extra, torch.tensor([t]))
    torch.testing.assert_close(truncated, _gancore_images(gan, z.clamp(-t, t), y),
                               atol=ATOL, rtol=0)
    assert (truncated - program(z, *extra, torch.tensor([float("inf")]))).abs().max() > 1e-3
    if name == "cgan":  # the labels are an input the graph uses
        other = (y + 1) % gan.num_classes
        want = _gancore_images(gan, z.clamp(-t, t), other)
        # the other labels change gancore's images by more than the tolerance, so matching
        # them proves the export does not ignore its labels
        assert (want - truncated).abs().max() > 3 * ATOL
        torch.testing.assert_close(program(z, other, torch.tensor([t])), want,
                                   atol=ATOL, rtol=0)


def check_gancore_load_reads_the_folder(exported: Exported) -> None:
    folder, original = exported.folder, exported.gan
    raw = gancore.load(exported.ckpt, ema=False)
    loaded = gancore.load(folder)
    assert loaded.recipe.to_dict() == original.recipe.to_dict()
    assert loaded.step == 2
    z, y = _inputs(original, 3, seed=1)
    ema_images = _gancore_images(original, z, y)
    assert torch.equal(_gancore_images(loaded, z, y), ema_images)  # the EMA weights, exactly
    assert (_gancore_images(raw, z, y) - ema_images).abs().max() > 1e-4
    with pytest.raises(gancore.GancoreError, match="no discriminator"):
        loaded.discriminator(ema_images, y)


def check_model_card_header_parses(exported: Exported) -> None:
    import yaml
    name, folder = exported.name, exported.folder
    text = (folder / "README.md").read_text()
    assert text.startswith("---\n")
    header = yaml.safe_load(text.split("---\n")[1])
    assert header["library_name"] == "gancore"
    assert header["license"] == "unknown"
    assert name in header["tags"] and "torch-export" in header["tags"]
    assert ("class-conditional" in header["tags"]) == (name == "cgan")
    assert "model-index" not in header  # not evaluated
    assert "![samples drawn with seed 0](samples.png)" in text
    assert "```toml\n" in text and f'name = "{name}"' in text


def test_without_the_truncation_input(tiny_ckpt, tmp_path):
    export(tiny_ckpt, tmp_path / "ex", formats=["torch-export"], truncation=False)
    manifest = gancore.export.read_manifest(tmp_path / "ex")
    assert [i["name"] for i in manifest["inputs"]] == ["z"]
    assert manifest["checks"]["torch-export"]["cases"][1]["truncation"] is None
    program = torch.export.load(str(tmp_path / "ex" / "generator.pt2")).module()
    gan = gancore.load(tiny_ckpt, ema=True)
    z, _ = _inputs(gan, 4, seed=3)
    torch.testing.assert_close(program(z), _gancore_images(gan, z, None), atol=ATOL, rtol=0)
    with pytest.raises(ValueError, match="same number and type of args"):
        program(z, torch.tensor([1.0]))  # no second input
