"""The FID Inception extractor: offline errors, weight loading, and features equal to
torch-fidelity's network on the same (random) weights file."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torchvision.models.inception import Inception3

from gancore.core.errors import GancoreError
from gancore.metrics import inception
from gancore.metrics.inception import (
    ENV_VAR,
    FIDInceptionV3,
    InceptionExtractor,
    choose_backend,
    load_fid_inception,
    load_library_inception,
    preprocess,
    resize_like_tf1,
    to_levels,
)

NO_LIBRARY = "torch-fidelity is not installed (pip install 'gancore[fid]')"


def test_missing_weights_explain_where_to_get_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(GancoreError) as info:
        InceptionExtractor()
    text = str(info.value)
    assert "weights-inception-2015-12-05-6726825d.pth" in text
    assert "https://github.com/toshas/torch-fidelity/releases/download/" in text
    assert "--inception-weights" in text and ENV_VAR in text
    assert "never downloads" in text


@pytest.mark.parametrize("backend", ["auto", "torch-fidelity"])
def test_torch_fidelity_is_never_asked_to_download(
    backend: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    module = pytest.importorskip("torch_fidelity.feature_extractor_inceptionv3",
                                 reason=NO_LIBRARY)

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch-fidelity was asked to download the weights")

    monkeypatch.setattr(module, "load_state_dict_from_url", no_download)
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(GancoreError, match="never downloads") as info:
        InceptionExtractor(backend=backend)
    assert "--inception-weights FILE or set GANCORE_INCEPTION_WEIGHTS=FILE" in str(info.value)
    with pytest.raises(GancoreError, match=r"nope\.pth.*does not exist"):
        InceptionExtractor(weights=str(tmp_path / "nope.pth"), backend=backend)


def test_missing_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nope.pth"))
    with pytest.raises(GancoreError, match=r"nope\.pth.*does not exist"):
        load_fid_inception()


@pytest.mark.parametrize("load", [load_fid_inception, load_library_inception])
def test_wrong_weights_file_is_rejected(load, tmp_path: Path) -> None:
    if load is load_library_inception:
        pytest.importorskip("torch_fidelity", reason=NO_LIBRARY)
    path = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(1)}, path)
    with pytest.raises(GancoreError, match="not the FID Inception-v3 weights"):
        load(path)


RAN: list[str] = []


def _ran() -> None:
    RAN.append("unpickled")


class _Payload:
    def __reduce__(self):  # unpickling calls _ran: a stand-in for code hidden in a file
        return (_ran, ())


def test_file_holding_code_is_refused_before_torch_fidelity_reads_it(tmp_path: Path) -> None:
    pytest.importorskip("torch_fidelity", reason=NO_LIBRARY)
    path = tmp_path / "code.pth"
    torch.save({"fc.weight": _Payload()}, path)
    RAN.clear()
    with pytest.raises(GancoreError, match="not the FID Inception-v3 weights"):
        load_library_inception(path)
    assert RAN == []


def test_backend_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inception, "library_available", lambda: True)
    assert choose_backend("auto") == "torch-fidelity"
    assert choose_backend("auto", quantize=False) == "gancore"
    assert choose_backend("gancore") == "gancore"
    with pytest.raises(GancoreError, match="quantize = false") as info:
        choose_backend("torch-fidelity", quantize=False)
    assert info.value.key == "quantize"
    monkeypatch.setattr(inception, "library_available", lambda: False)
    assert choose_backend("auto") == "gancore"
    with pytest.raises(GancoreError) as info:
        choose_backend("torch-fidelity")
    assert info.value.key == "backend"
    assert "torch-fidelity package, which is not installed" in info.value.message
    assert "gancore[fid]" in str(info.value)


def test_state_dict_keys_match_the_published_layout() -> None:
    ours = FIDInceptionV3().state_dict()
    reference = Inception3(num_classes=1008, aux_logits=False, init_weights=False).state_dict()
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in reference.items()}


def random_inception_state(seed: int) -> dict[str, torch.Tensor]:
    """A state dict in the published file's layout (torchvision's names, no BN counters), with
    He-scaled convolutions and non-trivial BatchNorm statistics so that activations stay O(1)
    through the whole network."""
    gen = torch.Generator().manual_seed(seed)
    layout = Inception3(num_classes=1008, aux_logits=False, init_weights=False).state_dict()
    state = {}
    for key, value in layout.items():
        if key.endswith("num_batches_tracked"):
            continue
        shape = value.shape
        if key.endswith("conv.weight"):
            fan_in = math.prod(shape[1:])
            value = torch.randn(shape, generator=gen) * math.sqrt(2 / fan_in)
        elif key.endswith(("bn.weight", "running_var")):
            value = torch.rand(shape, generator=gen) + 0.5
        elif key.endswith(("bn.bias", "running_mean")):
            value = torch.randn(shape, generator=gen) * 0.1
        else:  # fc.weight, fc.bias
            value = torch.randn(shape, generator=gen) * 0.02
        state[key] = value
    return state


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inception") / "random-inception.pth"
    torch.save(random_inception_state(0), path)
    return path


def test_features_equal_torch_fidelity_on_the_same_weights(
    weights_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fidelity = pytest.importorskip("torch_fidelity.feature_extractor_inceptionv3",
                                   reason=NO_LIBRARY)
    images = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1
    monkeypatch.setenv(ENV_VAR, str(weights_file))
    ours = InceptionExtractor(batch_size=2, device="cpu")
    assert ours.name == "inception" and ours.backend == "torch-fidelity"
    feats, probs = ours.extract(images)
    assert feats.shape == (3, 2048) and probs.shape == (3, 1008)
    assert feats.dtype == probs.dtype == torch.float32

    library = fidelity.FeatureExtractorInceptionV3(
        "inception-v3-compat", ["2048", "logits_unbiased"],
        feature_extractor_weights_path=str(weights_file),
    )
    as_uint8 = ((images + 1) * 127.5).round().to(torch.uint8).repeat(1, 3, 1, 1)
    ref_feats, ref_logits = library(as_uint8)
    assert ref_feats.std() > 0.5  # the random network is not degenerate
    scale = ref_feats.abs().max()
    assert torch.allclose(feats, ref_feats, rtol=1e-5, atol=1e-5 * scale)
    assert torch.allclose(probs, ref_logits.softmax(1), rtol=1e-5, atol=1e-7)

    port = InceptionExtractor(weights=str(weights_file), backend="gancore", device="cpu")
    port_feats, port_probs = port.extract(images)
    assert torch.allclose(port_feats, ref_feats, rtol=1e-5, atol=1e-5 * scale)
    assert torch.allclose(port_probs, ref_logits.softmax(1), rtol=1e-5, atol=1e-7)

    # the comparison sees the resize: PyTorch's half-pixel bilinear gives other features
    torch_resized = F.interpolate(as_uint8.float(), size=(299, 299), mode="bilinear",
                                  align_corners=False, antialias=False)
    other, _ = port.model((torch_resized - 128) / 128)
    assert not torch.allclose(other, ref_feats, rtol=1e-3, atol=1e-3 * scale)


def test_safetensors_weights_load_the_same(weights_file: Path, tmp_path: Path) -> None:
    state = torch.load(weights_file, weights_only=True)
    st_path = tmp_path / "w.safetensors"
    save_file(state, str(st_path))
    a, b = load_fid_inception(weights_file), load_fid_inception(st_path)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)


def test_safetensors_weights_reach_torch_fidelity(weights_file: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch_fidelity", reason=NO_LIBRARY)
    state = torch.load(weights_file, weights_only=True)
    st_path = tmp_path / "w.safetensors"
    save_file(state, str(st_path))
    lib = load_library_inception(st_path).state_dict()
    assert all(torch.equal(lib[k], v) for k, v in state.items())


def test_unrounded_input_runs_through_the_port(weights_file: Path) -> None:
    extractor = InceptionExtractor(weights=str(weights_file), quantize=False, device="cpu")
    assert extractor.backend == "gancore"
    x = torch.rand(2, 3, 299, 299) * 2 - 1
    feats, probs = extractor.extract(x)
    expected, _ = extractor.model(((x + 1) * 127.5 - 128) / 128)
    assert torch.allclose(feats, expected, rtol=1e-5, atol=1e-5)
    assert torch.allclose(probs.sum(1), torch.ones(2), atol=1e-5)


def tf1_resize_reference(img: list[list[float]], size: int) -> list[list[float]]:
    """TensorFlow 1.x bilinear (align_corners=False), one output pixel at a time."""
    h, w = len(img), len(img[0])
    out = []
    for i in range(size):
        y = i * h / size
        y0, dy = int(y), y - int(y)
        y1 = min(y0 + 1, h - 1)
        row = []
        for j in range(size):
            x = j * w / size
            x0, dx = int(x), x - int(x)
            x1 = min(x0 + 1, w - 1)
            top = img[y0][x0] + (img[y0][x1] - img[y0][x0]) * dx
            bottom = img[y1][x0] + (img[y1][x1] - img[y1][x0]) * dx
            row.append(top + (bottom - top) * dy)
        out.append(row)
    return out


def test_resize_matches_tensorflow_1x() -> None:
    img = torch.rand(1, 1, 5, 7) * 255
    got = resize_like_tf1(img, size=11)
    expected = torch.tensor(tf1_resize_reference(img[0, 0].tolist(), 11))
    assert torch.allclose(got[0, 0], expected, atol=1e-4)
    big = torch.rand(2, 3, 28, 32) * 255
    assert torch.equal(resize_like_tf1(big[..., :4, :4], size=4), big[..., :4, :4])
    try:
        from torch_fidelity.interpolate_compat_tensorflow import (
            interpolate_bilinear_2d_like_tensorflow1x,
        )
    except ImportError:
        return
    theirs = interpolate_bilinear_2d_like_tensorflow1x(big, size=(299, 299), align_corners=False)
    assert torch.allclose(resize_like_tf1(big), theirs, atol=1e-4)


def test_preprocess_greyscale_levels_and_scale() -> None:
    grey = torch.rand(2, 1, 8, 8) * 2 - 1
    out = preprocess(grey)
    assert out.shape == (2, 3, 299, 299)
    assert torch.equal(out, preprocess(grey.repeat(1, 3, 1, 1)))
    levels = ((grey + 1) * 127.5).round()
    assert torch.equal(to_levels(grey)[:, :1], levels)
    expected = (torch.tensor(tf1_resize_reference(levels[0, 0].tolist(), 299)) - 128) / 128
    assert torch.allclose(out[0, 0], expected, atol=1e-5)
    full = torch.rand(1, 3, 299, 299) * 2 - 1
    scaled = preprocess(full) * 128 + 128
    assert torch.allclose(scaled, scaled.round(), atol=1e-4)
    assert torch.allclose(preprocess(full, quantize=False), ((full + 1) * 127.5 - 128) / 128)
    with pytest.raises(GancoreError, match=r"1\|3"):
        preprocess(torch.zeros(1, 2, 8, 8))


def test_extractor_options_reach_the_inception_extractor(weights_file: Path) -> None:
    from types import SimpleNamespace

    from gancore.evaluation.evaluator import EvalSettings, choose_extractor
    from gancore.packs.loader import get_registry

    registry = get_registry()
    images = SimpleNamespace(is_image=True, labelled=True, type="fashion_mnist")

    def make(name: str, **options: object) -> InceptionExtractor:
        settings = EvalSettings(inception_weights=str(weights_file), device="cpu",
                                extractor_options=options)
        return choose_extractor(name, images, settings, registry)

    chosen = make("inception", backend="gancore", quantize=False, batch_size=3)
    assert (chosen.backend, chosen.quantize, chosen.batch_size) == ("gancore", False, 3)
    assert make("inception").batch_size == 64 and make("inception").quantize is True
    with pytest.raises(GancoreError) as info:
        make("inception", backend="tensorflow")
    assert info.value.key.startswith("eval.extractor") and "backend" in info.value.format()
    with pytest.raises(GancoreError) as info:
        make("inception", max_train=500)
    assert "max_train" in info.value.format()
    # `auto` picks inception when weights are given: the classifier's options are left out
    picked = make("auto", max_train=500, batch_size=5)
    assert isinstance(picked, InceptionExtractor) and picked.batch_size == 5
