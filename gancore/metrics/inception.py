"""The FID Inception-v3 feature extractor (``pt_inception-2015-12-05`` weights, local file only).

The network is torch-fidelity's ``FeatureExtractorInceptionV3`` when that package is installed
(``pip install 'gancore[fid]'``), else gancore's own port of it: torchvision's Inception-v3 with
the pooling changes that reproduce the 2015 TensorFlow graph FID was defined on (average pools
that ignore padding; a max pool in the last block). Both take the same input, so they give the
same features: images in [-1, 1] become 8-bit levels, are resized to 299×299 the way TensorFlow
1.x resized them (as torch-fidelity does), and are scaled by ``(v - 128) / 128``.

The weights are never downloaded, by gancore or by torch-fidelity: pass a file (``weights=`` /
``--inception-weights``) or set ``$GANCORE_INCEPTION_WEIGHTS``. Features are the 2048-d pool
activations; class probabilities (for IS) are the softmax of the bias-free 1008-way logits.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.inception import Inception3, InceptionA, InceptionC, InceptionE

from gancore.core.errors import GancoreError
from gancore.core.params import BatchSize, Device
from gancore.metrics.base import resolve_device

ENV_VAR = "GANCORE_INCEPTION_WEIGHTS"
WEIGHTS_URLS = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
    "weights-inception-2015-12-05-6726825d.pth",
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
    "pt_inception-2015-12-05-6726825d.pth",
)
INPUT_SIZE = 299
#: The name the torch-fidelity network is made under (its registry name for this network).
LIBRARY_NAME = "inception-v3-compat"
Backend = Literal["auto", "torch-fidelity", "gancore"]


def library_available() -> bool:
    """Whether torch-fidelity (which ships the FID Inception network) is installed."""
    return importlib.util.find_spec("torch_fidelity") is not None


def _tf_avg_pool(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class _FIDInceptionA(InceptionA):
    def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return [self.branch1x1(x), b5, b3, self.branch_pool(_tf_avg_pool(x))]


class _FIDInceptionC(InceptionC):
    def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = x
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3,
                      self.branch7x7dbl_4, self.branch7x7dbl_5):
            bd = layer(bd)
        return [self.branch1x1(x), b7, bd, self.branch_pool(_tf_avg_pool(x))]


class _FIDInceptionE(InceptionE):
    def __init__(self, in_channels: int, max_pool: bool) -> None:
        super().__init__(in_channels)
        self.max_pool = max_pool

    def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        pooled = (F.max_pool2d(x, kernel_size=3, stride=1, padding=1) if self.max_pool
                  else _tf_avg_pool(x))
        return [self.branch1x1(x), b3, bd, self.branch_pool(pooled)]


_LAYERS = (
    "Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1",
    "Conv2d_4a_3x3", "maxpool2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a",
    "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c",
)


class FIDInceptionV3(nn.Module):
    """gancore's port of the FID Inception-v3, with torchvision's layer names (so the published
    state dicts load as they are). ``forward(x)`` takes the output of :func:`preprocess` and
    returns ``(pool features [N, 2048], bias-free logits [N, 1008])``."""

    def __init__(self) -> None:
        super().__init__()
        net = Inception3(num_classes=1008, aux_logits=False, init_weights=False)
        net.Mixed_5b = _FIDInceptionA(192, pool_features=32)
        net.Mixed_5c = _FIDInceptionA(256, pool_features=64)
        net.Mixed_5d = _FIDInceptionA(288, pool_features=64)
        net.Mixed_6b = _FIDInceptionC(768, channels_7x7=128)
        net.Mixed_6c = _FIDInceptionC(768, channels_7x7=160)
        net.Mixed_6d = _FIDInceptionC(768, channels_7x7=160)
        net.Mixed_6e = _FIDInceptionC(768, channels_7x7=192)
        net.Mixed_7b = _FIDInceptionE(1280, max_pool=False)
        net.Mixed_7c = _FIDInceptionE(2048, max_pool=True)
        for name in _LAYERS:
            self.add_module(name, getattr(net, name))
        self.fc = net.fc

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for name in _LAYERS:
            x = getattr(self, name)(x)
        pool = x.mean((2, 3))
        return pool, pool @ self.fc.weight.T


def missing_weights_error(detail: str) -> GancoreError:
    """The error raised when the FID Inception weights are not available locally."""
    return GancoreError(
        f"the FID Inception-v3 weights are needed but {detail}; gancore never downloads them",
        hint="download weights-inception-2015-12-05-6726825d.pth from "
        f"{WEIGHTS_URLS[0]} (pytorch-fid publishes the same weights as {WEIGHTS_URLS[1]}), "
        f"then pass --inception-weights FILE or set {ENV_VAR}=FILE; without it, use the "
        "`classifier` feature extractor (domain FID, reported under its own name)",
    )


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise GancoreError(f"{path} does not hold a state dict")
    return state


def _with_bn_counters(state: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """Add BatchNorm ``num_batches_tracked`` entries that older files lack (unused in eval)."""
    out = dict(state)
    for key in model.state_dict():
        if key.endswith("num_batches_tracked") and key not in out:
            out[key] = torch.tensor(0, dtype=torch.long)
    return out


def weights_file(weights: str | os.PathLike[str] | None = None) -> Path:
    """The local weights file: ``weights``, else ``$GANCORE_INCEPTION_WEIGHTS``; it must exist."""
    source = weights if weights is not None else os.environ.get(ENV_VAR)
    if not source:
        raise missing_weights_error(f"no weights file was given and ${ENV_VAR} is not set")
    path = Path(source).expanduser()
    if not path.is_file():
        raise missing_weights_error(f"the file {str(path)!r} does not exist")
    return path


def _not_the_weights(path: Path, exc: Exception) -> GancoreError:
    return GancoreError(
        f"{path} is not the FID Inception-v3 weights file: {exc}".splitlines()[0],
        hint=f"use weights-inception-2015-12-05-6726825d.pth from {WEIGHTS_URLS[0]}",
    )


def load_fid_inception(weights: str | os.PathLike[str] | None = None) -> FIDInceptionV3:
    """gancore's port with weights from ``weights`` or ``$GANCORE_INCEPTION_WEIGHTS``.

    Accepts the published ``.pth`` file (read with ``weights_only=True``) or a ``.safetensors``
    file with the same keys.
    """
    path = weights_file(weights)
    model = FIDInceptionV3()
    try:
        model.load_state_dict(_with_bn_counters(_read_state_dict(path), model), strict=True)
    except GancoreError:
        raise
    except Exception as exc:
        raise _not_the_weights(path, exc) from exc
    return model.eval().requires_grad_(False)


def load_library_inception(weights: str | os.PathLike[str] | None = None) -> nn.Module:
    """torch-fidelity's ``FeatureExtractorInceptionV3`` with weights from a local file.

    The file is found as by :func:`load_fid_inception` and first read safely here (so a file
    holding code is refused before torch-fidelity unpickles it); torch-fidelity is always given
    a local path, never ``None`` (which would make it download). A ``.safetensors`` file is
    handed over as a temporary ``.pth`` copy. The network returns ``(pool features [N, 2048],
    bias-free logits [N, 1008])`` of uint8 images ``[N, 3, H, W]``.
    """
    path = weights_file(weights)
    if not library_available():
        raise backend_missing_error()
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    with tempfile.TemporaryDirectory(prefix="gancore-inception-") as tmp:
        try:
            state = _read_state_dict(path)
            local = path
            if path.suffix == ".safetensors":
                local = Path(tmp) / "weights.pth"
                torch.save(state, local)
            del state
            model = FeatureExtractorInceptionV3(
                LIBRARY_NAME, ["2048", "logits_unbiased"],
                feature_extractor_weights_path=str(local),
            )
        except GancoreError:
            raise
        except Exception as exc:
            raise _not_the_weights(path, exc) from exc
    return model.eval().requires_grad_(False)


def backend_missing_error() -> GancoreError:
    """The error raised when ``backend = "torch-fidelity"`` but the package is not installed."""
    return GancoreError(
        "the inception extractor's backend 'torch-fidelity' needs the torch-fidelity package, "
        "which is not installed",
        key="backend",
        hint="pip install 'gancore[fid]' (or torch-fidelity), or use backend = \"auto\" to fall "
        "back to gancore's port (same features)",
    )


def choose_backend(backend: str = "auto", quantize: bool = True) -> str:
    """``"torch-fidelity"`` or ``"gancore"`` for the extractor's ``backend`` and ``quantize``.

    ``"auto"`` is torch-fidelity when installed, except with ``quantize = false``: its network
    only takes 8-bit images, so unrounded ones go through gancore's port.
    """
    if backend == "gancore":
        return backend
    if backend == "torch-fidelity":
        if not library_available():
            raise backend_missing_error()
        if not quantize:
            raise GancoreError(
                "torch-fidelity's Inception network takes 8-bit images, so it cannot run with "
                "quantize = false",
                key="quantize",
                hint='set quantize = true, or backend = "gancore" (or "auto") for unrounded input',
            )
        return backend
    if backend == "auto":
        return "torch-fidelity" if quantize and library_available() else "gancore"
    raise GancoreError(f"unknown inception backend {backend!r}", key="backend",
                       hint='use "auto", "torch-fidelity" or "gancore"')


def to_levels(x: torch.Tensor, quantize: bool = True) -> torch.Tensor:
    """Images in [-1, 1] ``[N, 1|3, H, W]`` -> RGB float32 8-bit levels in [0, 255].

    Greyscale is repeated to RGB; ``quantize`` rounds to whole levels, as a saved PNG would be
    (and as gancore's datasets were read: ``v / 127.5 - 1`` comes back exactly).
    """
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise GancoreError(f"the Inception extractor needs [N, 1|3, H, W] images, got "
                           f"{tuple(x.shape)}")
    x = (x.float().clamp(-1, 1) + 1) * 127.5
    if quantize:
        x = x.round()
    if x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)
    return x


def _tf1_taps(n_in: int, n_out: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    pos = torch.arange(n_out, dtype=torch.float32, device=device) * (n_in / n_out)
    lo = pos.floor().long()
    return lo, (lo + 1).clamp(max=n_in - 1), pos - lo


def resize_like_tf1(x: torch.Tensor, size: int = INPUT_SIZE) -> torch.Tensor:
    """Bilinear resize of ``[N, C, H, W]`` to ``size``×``size`` as TensorFlow 1.x did it.

    Output pixel ``i`` samples the input at ``i * in / out`` (no half-pixel offset, no
    antialiasing), the resize FID was defined with and torch-fidelity reproduces.
    """
    if x.shape[-2:] == (size, size):
        return x
    y_lo, y_hi, y_w = _tf1_taps(x.shape[-2], size, x.device)
    x_lo, x_hi, x_w = _tf1_taps(x.shape[-1], size, x.device)
    left, right = x[..., x_lo], x[..., x_hi]
    rows = left + (right - left) * x_w
    top, bottom = rows[..., y_lo, :], rows[..., y_hi, :]
    return top + (bottom - top) * y_w[:, None]


def preprocess(x: torch.Tensor, quantize: bool = True) -> torch.Tensor:
    """Images in [-1, 1] ``[N, 1|3, H, W]`` -> the port's 299×299 RGB input.

    :func:`to_levels`, then :func:`resize_like_tf1`, then ``(v - 128) / 128``: the steps
    torch-fidelity's network takes on its uint8 input.
    """
    return (resize_like_tf1(to_levels(x, quantize)) - 128) / 128


class InceptionExtractor:
    """Feature extractor ``inception``: 2048-d FID features and 1008-class probabilities.

    ``weights`` is a local weights file (else ``$GANCORE_INCEPTION_WEIGHTS``); a missing file is
    an error that says where to get it, and nothing is ever downloaded. ``backend`` ``"auto"``
    runs torch-fidelity's network when it is installed (``gancore[fid]``), else gancore's port,
    which gives the same features; ``quantize = false`` (unrounded levels) always uses the port.
    Images in [-1, 1] become 8-bit levels resized to 299×299 as TensorFlow 1.x (and
    torch-fidelity) resize. ``device`` ``"auto"`` picks CUDA when available.
    """

    name = "inception"
    feature_dim = 2048
    num_classes = 1008

    def __init__(
        self,
        *,
        weights: str | None = None,
        batch_size: BatchSize = 64,
        quantize: bool = True,
        backend: Backend = "auto",
        device: Device = "auto",
        ctx: Any = None,
    ) -> None:
        self.backend = choose_backend(backend, quantize)
        self.device = resolve_device(device)
        load = load_library_inception if self.backend == "torch-fidelity" else load_fid_inception
        self.model = load(weights).to(self.device)
        self.batch_size = batch_size
        self.quantize = quantize
        resolved = weights_file(weights)
        #: what the cached real features depend on: the network, its weights and its input
        self.cache_id = (f"inception-v2/{self.backend}/{'q' if quantize else 'f'}/"
                         f"{resolved.name}:{resolved.stat().st_size}")

    def to(self, device: str | torch.device) -> InceptionExtractor:
        """Move the network to ``device``."""
        self.device = torch.device(device)
        self.model.to(self.device)
        return self

    @torch.no_grad()
    def extract(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(features [N, 2048], probs [N, 1008])`` of images in [-1, 1], on the CPU."""
        feats, probs = [], []
        for batch in x.split(self.batch_size):
            batch = batch.to(self.device)
            if self.backend == "torch-fidelity":
                pool, logits = self.model(to_levels(batch).to(torch.uint8))
            else:
                pool, logits = self.model(preprocess(batch, self.quantize))
            feats.append(pool.float().cpu())
            probs.append(logits.float().softmax(1).cpu())
        return torch.cat(feats), torch.cat(probs)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pool features ``[N, 2048]``."""
        return self.extract(x)[0]

    def probs(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities ``[N, 1008]``."""
        return self.extract(x)[1]
