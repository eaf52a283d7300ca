"""The ``classifier`` feature extractor: a small CNN gancore trains on the dataset itself.

For data where Inception features mean little (greyscale clothes, digits, toy shapes) or when
the Inception weights are not at hand, gancore trains a small classifier on the labelled
training images, deterministically (fixed seed, CPU), and caches it as a safetensors file in
``$GANCORE_CACHE/classifiers`` keyed by dataset name and parameters, image shape, the training
data, the options, the seed and the gancore and torch versions (checked when read, filled once:
see :mod:`gancore.storage.cache`). Its feature layer gives FID/KID/PR features and its softmax IS
and class-coverage probabilities. Scores carry the name ``classifier:<dataset>``: they are
domain scores, never comparable with Inception ones.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from gancore.core.errors import GancoreError
from gancore.core.params import BatchSize, Channels, Device, Fraction, SampleCount, Seed
from gancore.metrics.base import resolve_device
from gancore.storage.cache import (
    entry_key,
    fill_lock,
    key_hash,
    kind_path,
    read_tensors,
    slug,
    write_tensors,
)

ARCH_VERSION = "1"


class DomainClassifier(nn.Module):
    """Three stride-2 conv layers, a ``feature_dim`` feature layer and a linear classifier."""

    def __init__(self, channels: int, num_classes: int, feature_dim: int = 128,
                 width: int = 32) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, 2, 1), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, 2, 1), nn.ReLU(),
            nn.Conv2d(2 * width, 4 * width, 3, 2, 1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(4), nn.Flatten(),
        )
        self.feature = nn.Linear(4 * width * 16, feature_dim)
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature layer's pre-activation ``[N, feature_dim]``."""
        return self.feature(self.body(x))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(features, logits)``."""
        feats = self.features(x)
        return feats, self.head(F.relu(feats))


def _fingerprint(x: torch.Tensor, y: torch.Tensor) -> str:
    digest = hashlib.sha256()
    digest.update(x.detach().cpu().float().contiguous().numpy().tobytes())
    digest.update(y.detach().cpu().long().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def train_classifier(
    x: torch.Tensor,
    y: torch.Tensor,
    num_classes: int,
    *,
    epochs: int = 2,
    seed: int = 0,
    feature_dim: int = 128,
    batch_size: int = 128,
    lr: float = 2e-3,
) -> DomainClassifier:
    """Train a :class:`DomainClassifier` on CPU; the same inputs and seed give the same weights."""
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DomainClassifier(x.shape[1], num_classes, feature_dim)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    x, y = x.detach().cpu().float(), y.detach().cpu().long()
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(x.shape[0], generator=gen).split(batch_size):
            loss = F.cross_entropy(model(x[idx])[1], y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return model.eval().requires_grad_(False)


class ClassifierExtractor:
    """Feature extractor ``classifier``: a small CNN trained on the dataset (call :meth:`fit`).

    ``fit(x, y, dataset=...)`` loads the cached network or trains and caches it
    (:attr:`from_cache` says which). Of ``max_train`` images drawn with a seeded shuffle, the
    last ``holdout`` share is held out and gives :attr:`accuracy`; the rest train it. Training
    always runs on the CPU; ``device`` (``"auto"``: CUDA when available) runs extraction.
    """

    def __init__(
        self,
        *,
        epochs: Annotated[int, Field(ge=1, le=1000, description="1..1000")] = 2,
        seed: Seed = 0,
        feature_dim: Channels = 128,
        max_train: SampleCount = 10000,
        holdout: Fraction = 0.1,
        batch_size: BatchSize = 512,
        cache: bool = True,
        cache_dir: str | None = None,
        device: Device = "auto",
        ctx: Any = None,
    ) -> None:
        self.epochs = epochs
        self.seed = seed
        self.feature_dim = feature_dim
        self.max_train = max_train
        self.holdout = holdout
        self.batch_size = batch_size
        self.cache = cache
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.device = resolve_device(device)
        self.model: DomainClassifier | None = None
        self.dataset: str | None = None
        self.num_classes = 0
        self.accuracy = float("nan")
        self.cache_path: Path | None = None
        self.from_cache = False

    @property
    def name(self) -> str:
        """``classifier:<dataset>``."""
        return f"classifier:{self.dataset or '?'}"

    def _cache_file(self, key: dict[str, Any]) -> Path:
        root = self.cache_dir or kind_path("classifiers")
        return root / f"{slug(key['dataset'])}-{key_hash(key)}.safetensors"

    def fit(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        dataset: str,
        params: dict[str, Any] | None = None,
        num_classes: int | None = None,
    ) -> ClassifierExtractor:
        """Load or train the classifier for labelled images ``x`` in [-1, 1] ``[N, C, H, W]``."""
        if x.ndim != 4:
            raise GancoreError(f"the classifier extractor needs images [N, C, H, W], got "
                               f"{tuple(x.shape)}", hint="use the mode metrics for 2D data")
        classes = int(num_classes or int(y.max()) + 1)
        if classes < 2:
            raise GancoreError(f"dataset {dataset!r} has no labels to train a classifier on",
                               hint="use the inception extractor for unlabelled data")
        order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(self.seed))
        order = order[: self.max_train]
        n_val = int(len(order) * self.holdout)
        train_idx, val_idx = order[: len(order) - n_val], order[len(order) - n_val :]
        key = entry_key(
            dataset=dataset, params=json.dumps(params or {}, sort_keys=True, default=str),
            shape=list(x.shape[1:]), num_classes=classes, seed=self.seed,
            epochs=self.epochs, feature_dim=self.feature_dim, arch=ARCH_VERSION,
            data=_fingerprint(x[order], y[order]), holdout=self.holdout,
        )
        path = self._cache_file(key)
        self.dataset, self.num_classes = dataset, classes
        self.cache_path = path if self.cache else None
        if not self.cache:
            self._train(x, y, train_idx, val_idx, classes)
            return self
        with fill_lock(path, what="the classifier cache entry"):
            model = self._load(path, key, x.shape[1], classes)
            self.from_cache = model is not None
            if model is None:
                model = self._train(x, y, train_idx, val_idx, classes)
                write_tensors(path, dict(model.state_dict()), key,
                              extra={"accuracy": repr(self.accuracy)},
                              what="the classifier cache file")
        self.model = model.to(self.device)
        return self

    def _train(self, x: torch.Tensor, y: torch.Tensor, train_idx: torch.Tensor,
               val_idx: torch.Tensor, classes: int) -> DomainClassifier:
        model = train_classifier(x[train_idx], y[train_idx], classes, epochs=self.epochs,
                                 seed=self.seed, feature_dim=self.feature_dim)
        self.model = model.to(self.device)
        self.accuracy = self._accuracy(x[val_idx], y[val_idx])
        self.from_cache = False
        return model

    def _load(self, path: Path, key: dict[str, Any], channels: int,
              classes: int) -> DomainClassifier | None:
        found = read_tensors(path, key, what="classifier cache entry")
        if found is None:
            return None
        tensors, meta = found
        model = DomainClassifier(channels, classes, self.feature_dim)
        try:
            model.load_state_dict(tensors)
        except (RuntimeError, KeyError) as exc:  # a sound file that is not this network
            from gancore.storage.lock import note

            note(f"the classifier cache entry {path} is not used: it holds another network "
                 f"({str(exc).splitlines()[0][:100]}); computing it again")
            return None
        try:
            self.accuracy = float(meta.get("accuracy", "nan"))
        except ValueError:
            self.accuracy = float("nan")
        return model.eval().requires_grad_(False)

    def _accuracy(self, x: torch.Tensor, y: torch.Tensor) -> float:
        if x.shape[0] == 0:
            return float("nan")
        return float((self.probs(x).argmax(1) == y.cpu()).float().mean())

    def to(self, device: str | torch.device) -> ClassifierExtractor:
        """Move the network to ``device``."""
        self.device = torch.device(device)
        if self.model is not None:
            self.model.to(self.device)
        return self

    @torch.no_grad()
    def extract(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(features [N, feature_dim], probs [N, classes])`` of images in [-1, 1], on the CPU."""
        if self.model is None:
            raise GancoreError("the classifier extractor has not been fitted",
                               hint="call fit(x, y, dataset=...) with the training data first")
        feats, probs = [], []
        for batch in x.split(self.batch_size):
            f, logits = self.model(batch.to(self.device, torch.float32))
            feats.append(f.cpu())
            probs.append(logits.softmax(1).cpu())
        return torch.cat(feats), torch.cat(probs)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Features ``[N, feature_dim]``."""
        return self.extract(x)[0]

    def probs(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities ``[N, classes]``."""
        return self.extract(x)[1]
