"""The FID Inception extractor: offline errors, weight loading and output shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torchvision.models.inception import Inception3

from gancore.errors import GancoreError
from gancore.metrics.inception import (
    ENV_VAR,
    FIDInceptionV3,
    InceptionExtractor,
    load_fid_inception,
    preprocess,
)


def test_missing_weights_explain_where_to_get_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(GancoreError) as info:
        InceptionExtractor()
    text = str(info.value)
    assert "weights-inception-2015-12-05-6726825d.pth" in text
    assert "https://github.com/toshas/torch-fidelity/releases/download/" in text
    assert "--inception-weights" in text and ENV_VAR in text
    assert "never downloads" in text


def test_missing_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nope.pth"))
    with pytest.raises(GancoreError, match=r"nope\.pth.*does not exist"):
        load_fid_inception()


def test_wrong_weights_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(1)}, path)
    with pytest.raises(GancoreError, match="not the FID Inception-v3 weights"):
        load_fid_inception(path)


def test_state_dict_keys_match_the_published_layout() -> None:
    ours = FIDInceptionV3().state_dict()
    reference = Inception3(num_classes=1008, aux_logits=False, init_weights=False).state_dict()
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in reference.items()}


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    state = FIDInceptionV3().state_dict()
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    path = tmp_path_factory.mktemp("inception") / "random-inception.pth"
    torch.save(state, path)
    return path


def test_extract_greyscale_images_from_a_local_file(
    weights_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, str(weights_file))
    extractor = InceptionExtractor(batch_size=1)
    assert extractor.name == "inception"
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    feats, probs = extractor.extract(x)
    assert feats.shape == (2, 2048) and probs.shape == (2, 1008)
    assert feats.dtype == probs.dtype == torch.float32
    assert torch.allclose(probs.sum(1), torch.ones(2), atol=1e-5)
    assert torch.isfinite(feats).all()


def test_safetensors_weights_load_the_same(weights_file: Path, tmp_path: Path) -> None:
    state = torch.load(weights_file, weights_only=True)
    st_path = tmp_path / "w.safetensors"
    save_file(state, str(st_path))
    a, b = load_fid_inception(weights_file), load_fid_inception(st_path)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)


def test_preprocess_greyscale_resize_and_quantization() -> None:
    grey = torch.rand(2, 1, 8, 8) * 2 - 1
    out = preprocess(grey)
    assert out.shape == (2, 3, 299, 299)
    assert torch.equal(out, preprocess(grey.repeat(1, 3, 1, 1)))
    expected = torch.nn.functional.interpolate(
        ((grey + 1) * 127.5).round() / 127.5 - 1, size=(299, 299), mode="bilinear",
        align_corners=False, antialias=False,
    )
    assert torch.allclose(out[:, :1], expected)
    full = torch.rand(1, 3, 299, 299) * 2 - 1
    levels = (preprocess(full) + 1) * 127.5
    assert torch.allclose(levels, levels.round(), atol=1e-4)
    assert torch.equal(preprocess(full, quantize=False), full)
    with pytest.raises(GancoreError, match=r"1\|3"):
        preprocess(torch.zeros(1, 2, 8, 8))
