"""The ``autoencoder_outliers`` filter: drop the images a small autoencoder reconstructs worst.

A small convolutional autoencoder is trained on the training images, deterministically (fixed
seed, fixed number of steps, on the CPU in one thread, so any machine gives the same weights),
and each image is scored by its mean squared reconstruction error. Images unlike the rest
(noise, corrupt files, another domain) reconstruct worst; the ``fraction`` with the highest
error are dropped. The trained network and the scores are cached as a safetensors file in
``$GANCORE_CACHE/filters``, keyed by the data itself (a hash of the images), their shape, the
seed, the training settings and the gancore and torch versions, so a second run (and another
``fraction``) does not retrain; a damaged or foreign entry is trained again with a one-line note
(see :mod:`gancore.storage.cache`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import torch
import torch.nn.functional as F
from pydantic import Field, field_validator
from torch import nn

from gancore.core.errors import GancoreError, RecipeError
from gancore.core.params import BatchSize, Channels, LearningRate
from gancore.core.registry import Params
from gancore.data.filters import FilterContext

ARCH_VERSION = "1"
#: Counts autoencoder trainings (a cached run trains none).
TRAININGS = {"count": 0}


class ConvAutoencoder(nn.Module):
    """Two stride-2 convolutions to a ``latent_channels`` map at 1/4 resolution, and back."""

    def __init__(self, channels: int, width: int = 16, latent_channels: int = 4) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, width, 3, 2, 1), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, 2, 1), nn.ReLU(),
            nn.Conv2d(2 * width, latent_channels, 1),
        )
        self.decoder = nn.Sequential(
            nn.Conv2d(latent_channels, 2 * width, 1), nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction of ``x`` (same shape)."""
        out = self.decoder(self.encoder(x))
        return out[..., : x.shape[-2], : x.shape[-1]]


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch's CPU kernels in one thread within the block (the same bits on any machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def train_autoencoder(
    x: torch.Tensor, *, steps: int = 200, batch_size: int = 64, lr: float = 2e-3,
    seed: int = 0, width: int = 16, latent_channels: int = 4,
) -> ConvAutoencoder:
    """Train a :class:`ConvAutoencoder` on images ``x`` in [-1, 1]; deterministic by ``seed``."""
    TRAININGS["count"] += 1
    x = x.detach().cpu().float()
    n = x.shape[0]
    with one_thread(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ConvAutoencoder(x.shape[1], width, latent_channels)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        g = torch.Generator().manual_seed(seed)
        model.train()
        for _ in range(steps):
            batch = x[torch.randint(n, (min(batch_size, n),), generator=g)]
            loss = F.mse_loss(model(batch), batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return model.eval().requires_grad_(False)


@torch.no_grad()
def reconstruction_errors(model: nn.Module, x: torch.Tensor,
                          batch_size: int = 256) -> torch.Tensor:
    """The mean squared reconstruction error of each image ``[N]`` (float32)."""
    out = []
    with one_thread():
        for batch in x.detach().cpu().float().split(batch_size):
            out.append((model(batch) - batch).pow(2).flatten(1).mean(1))
    return torch.cat(out) if out else torch.zeros(0)


def fingerprint(x: torch.Tensor) -> str:
    """A hash of the images' values and shape."""
    digest = hashlib.sha256(str(list(x.shape)).encode())
    digest.update(x.detach().cpu().float().contiguous().numpy().tobytes())
    return digest.hexdigest()[:24]


class AutoencoderOutliersParams(Params):
    """Parameters of ``autoencoder_outliers``."""

    fraction: float = Field(
        0.05, ge=0.0, allow_inf_nan=False,
        description="share of the images dropped, in [0, 1), e.g. 0.05",
    )
    steps: Annotated[int, Field(ge=1, le=100_000, description="training steps (1..100,000)")] \
        = 200
    batch_size: BatchSize = 64
    width: Channels = 16
    latent_channels: Channels = 4
    lr: LearningRate = 2e-3
    cache: bool = Field(True, description="keep the network and scores in $GANCORE_CACHE/filters")

    @field_validator("fraction")
    @classmethod
    def _keeps_some(cls, value: float) -> float:
        if value >= 1.0:
            raise ValueError(f"a fraction of {value:g} would drop every image")
        return value


class AutoencoderOutliers:
    """Drop the ``fraction`` of images a small conv autoencoder reconstructs worst (outliers).

    The network trains on the CPU in one thread for ``steps`` steps from the recipe's seed; it
    and the scores are cached in ``$GANCORE_CACHE/filters`` unless ``cache = false``. After a
    call, ``scores`` holds every image's reconstruction error, ``threshold`` the error above
    which images were dropped and ``from_cache`` whether the cached scores were used.
    """

    Params = AutoencoderOutliersParams
    score_name = "reconstruction error (mean squared)"

    def __init__(self, fraction: float = 0.05, steps: int = 200, batch_size: int = 64,
                 width: int = 16, latent_channels: int = 4, lr: float = 2e-3,
                 cache: bool = True) -> None:
        self.fraction = fraction
        self.steps, self.batch_size, self.lr = steps, batch_size, lr
        self.width, self.latent_channels = width, latent_channels
        self.cache = cache
        self.scores: torch.Tensor | None = None
        self.threshold: float | None = None
        self.from_cache = False
        self.cache_path: Path | None = None

    def __call__(self, dataset: Any, ctx: FilterContext) -> torch.Tensor:
        x, _ = ctx.tensors(dataset)
        if x.dim() != 4:
            raise RecipeError(
                f"autoencoder_outliers scores images, but the dataset holds items of shape "
                f"{list(x.shape[1:])}", key=ctx.key,
                hint=f"remove {ctx.key} for 2D or vector data",
            )
        n = int(x.shape[0])
        drop = round(self.fraction * n)
        if n - drop < ctx.batch_size:
            raise RecipeError(
                f"fraction = {self.fraction:g} would drop {drop} of the {n} images and keep "
                f"{n - drop}, fewer than one batch (train.batch_size = {ctx.batch_size})",
                key=f"{ctx.key}.fraction", hint=self._fix(n, ctx),
            )
        scores = self._scores(x, ctx)
        order = torch.sort(scores, descending=True, stable=True).indices
        keep = torch.ones(n, dtype=torch.bool)
        keep[order[:drop]] = False
        self.scores = scores
        if drop == 0:
            self.threshold = float(scores.max())
        else:
            kept_max = float(scores[keep].max()) if bool(keep.any()) else float(scores.min())
            self.threshold = (kept_max + float(scores[order[drop - 1]])) / 2
        return keep.nonzero().squeeze(1)

    def _fix(self, n: int, ctx: FilterContext) -> str:
        if n <= ctx.batch_size:
            return (f"the dataset holds {n} images: lower train.batch_size below {n}, or use "
                    "more data")
        highest = math.floor((n - ctx.batch_size) / n * 1000) / 1000
        return (f"lower {ctx.key}.fraction to {highest:g} or less (it drops that share of the "
                "images), or lower train.batch_size")

    def _key(self, x: torch.Tensor, ctx: FilterContext) -> dict[str, Any]:
        from gancore.storage.cache import entry_key

        return entry_key(
            filter="autoencoder_outliers", arch=ARCH_VERSION, shape=list(x.shape),
            data=fingerprint(x), seed=ctx.seed, steps=self.steps,
            batch_size=self.batch_size, lr=self.lr, width=self.width,
            latent_channels=self.latent_channels,
        )

    def _scores(self, x: torch.Tensor, ctx: FilterContext) -> torch.Tensor:
        from gancore.storage.cache import fill_lock, key_hash, slug

        key = self._key(x, ctx)
        path = None
        if self.cache and ctx.cache_dir is not None:
            name = f"autoencoder-{slug(ctx.dataset or 'data')}-{key_hash(key)}.safetensors"
            path = Path(ctx.cache_dir) / name
        self.cache_path = path
        if path is None:
            return self._train(x, ctx, None, key)
        with fill_lock(path, what="the filter cache entry"):
            cached = _load(path, key)
            self.from_cache = cached is not None
            if cached is not None:
                return cached
            return self._train(x, ctx, path, key)

    def _train(self, x: torch.Tensor, ctx: FilterContext, path: Path | None,
               key: dict[str, Any]) -> torch.Tensor:
        self.from_cache = False
        ctx.echo(f"{ctx.key}: training an autoencoder on {x.shape[0]} images "
                 f"({self.steps} steps){'; cached afterwards' if path else ''}")
        model = train_autoencoder(x, steps=self.steps, batch_size=self.batch_size, lr=self.lr,
                                  seed=ctx.seed, width=self.width,
                                  latent_channels=self.latent_channels)
        scores = reconstruction_errors(model, x)
        if path is not None:
            from gancore.storage.cache import write_tensors

            tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
            tensors["scores"] = scores
            try:
                write_tensors(path, tensors, key, what="the filter cache file")
            except GancoreError as exc:
                ctx.echo(f"warning: {ctx.key}: the autoencoder could not be cached: "
                         f"{exc.message}")
        return scores


def _load(path: Path, key: dict[str, Any]) -> torch.Tensor | None:
    """The cached scores at ``path`` if the entry is sound and of ``key``, else None (with a
    one-line note when a file is there but cannot be used)."""
    from gancore.storage.cache import read_tensors
    from gancore.storage.lock import note

    found = read_tensors(path, key, what="filter cache entry")
    if found is None:
        return None
    scores = found[0].get("scores")
    if scores is None or scores.dim() != 1 or scores.numel() != key["shape"][0]:
        note(f"the filter cache entry {path} is not used: it holds no scores of these images; "
             "computing it again")
        return None
    return scores
