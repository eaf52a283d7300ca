"""The protocols every component follows.

They are structural (``typing.Protocol``): a plugin's class needs no gancore base class, only
the attributes and methods below. The builder and trainer rely on nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class DataSpec:
    """What a dataset yields, known without loading it.

    ``shape`` is ``(C, H, W)`` for images or ``(D,)`` for vectors (the 2D ``ring``/``grid``);
    ``num_classes`` is 0 for unlabelled data.
    """

    shape: tuple[int, ...]
    num_classes: int = 0

    @property
    def is_image(self) -> bool:
        return len(self.shape) == 3

    @property
    def channels(self) -> int:
        return self.shape[0]

    @property
    def image_size(self) -> int | None:
        return self.shape[-1] if self.is_image else None


@runtime_checkable
class Block(Protocol):
    """A layer of a stack network, made as ``Factory(in_channels, **params)``.

    ``out_channels`` is the channel (or feature) count it produces; ``scale`` its spatial factor
    (2 upsamples, 0.5 downsamples, 1 keeps). A block that sets an absolute resolution (a dense
    stem, a logit head) exposes ``out_resolution`` instead (``None`` for a flat vector).
    """

    out_channels: int
    scale: float

    def __call__(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor: ...


@runtime_checkable
class Generator(Protocol):
    """``forward(z, y=None) -> images``; ``latent_dim`` and ``num_classes`` describe its input."""

    latent_dim: int
    num_classes: int

    def __call__(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor: ...


@runtime_checkable
class Discriminator(Protocol):
    """``forward(x, y=None) -> logits`` of shape ``[B]``."""

    num_classes: int

    def __call__(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor: ...


@runtime_checkable
class Loss(Protocol):
    """An adversarial loss on raw discriminator logits."""

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor: ...

    def g_loss(
        self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None
    ) -> torch.Tensor: ...


@runtime_checkable
class FeatureNorm(Protocol):
    """A feature normalization module made from ``num_features``; conditional norms take ``y``."""

    conditional: bool

    def __call__(self, x: torch.Tensor, *args: Any) -> torch.Tensor: ...


@runtime_checkable
class WeightNorm(Protocol):
    """A weight normalization: a callable that wraps a layer and returns it."""

    def __call__(self, module: torch.nn.Module) -> torch.nn.Module: ...


#: The protocol of the ``norm`` kind (feature norms) and ``weight_norm`` kind.
Normalization = FeatureNorm


@runtime_checkable
class Penalty(Protocol):
    """A discriminator regulariser, added to the D loss every ``interval`` steps."""

    weight: float
    interval: int

    def __call__(
        self,
        discriminator: torch.nn.Module,
        real: torch.Tensor,
        fake: torch.Tensor,
        y: torch.Tensor | None = None,
    ) -> torch.Tensor: ...


@runtime_checkable
class Dataset(Protocol):
    """A map-style dataset of ``(x, y)``: ``x`` float in [-1, 1], ``y`` an int64 label (0 if none).

    Its class has ``describe(**params) -> DataSpec``; in-memory datasets also offer
    ``as_tensors() -> (x, y)`` so the trainer can batch without a DataLoader.
    """

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]: ...


@runtime_checkable
class Augment(Protocol):
    """A differentiable augmentation applied alike to real and fake discriminator inputs."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...
