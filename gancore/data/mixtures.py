"""``ring`` and ``grid``: 2D Gaussian mixtures for measuring mode collapse (PacGAN's setup)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Annotated, Any, Generic, Literal, TypeVar

import torch
from pydantic import Field
from torch.utils.data import Dataset

from gancore.core.errors import RecipeError
from gancore.core.params import SampleCount, Scale, Seed, Spread
from gancore.core.protocols import DataSpec
from gancore.data.common import check_choice, check_positive, resolve_params, split_seed

R = TypeVar("R")


class params_method(Generic[R]):
    """A classmethod taking dataset parameters that, called on an instance, uses its parameters.

    ``Ring.modes(radius=2.0)`` and ``Ring(radius=2.0).modes()`` give the same centres.
    """

    def __init__(self, func: Callable[..., R]) -> None:
        self.func = func
        functools.update_wrapper(self, func)  # type: ignore[arg-type]

    def __get__(self, obj: Any, cls: type) -> Callable[..., R]:
        if obj is None:
            return functools.partial(self.func, cls)
        return lambda **params: self.func(cls, **{**obj.params, **params})


class GaussianMixture2D(Dataset):
    """Points drawn from isotropic Gaussians of equal weight around fixed 2D mode centres.

    Items are ``(x, y)`` with ``x`` the raw coordinates (float32, shape ``(2,)``, not scaled) and
    ``y`` the index of the mode it was drawn from. The data is unconditional
    (``num_classes = 0``) unless ``conditional = true``. ``centers`` (K×2) and ``std`` hold the
    mixture; the class-level helpers ``modes(**params)`` and ``mode_std(**params)`` give them
    without sampling.
    """

    params: dict[str, Any]

    @classmethod
    def _centers(cls, p: dict[str, Any]) -> torch.Tensor:
        raise NotImplementedError

    def _setup(self, params: dict[str, Any]) -> None:
        p = resolve_params(type(self), params)
        check_positive(p["num_samples"], "num_samples")
        check_choice(p["split"], ("train", "test"), "split")
        if not p["std"] > 0:
            raise RecipeError(f"std must be positive (got {p['std']})", key="std",
                              hint="use e.g. the default std")
        self.params = p
        self.centers = self._centers(p)
        self.std = float(p["std"])
        self.conditional = bool(p["conditional"])
        g = torch.Generator().manual_seed(split_seed(p["seed"], p["split"]))
        n = p["num_samples"]
        self.labels = torch.randint(self.centers.shape[0], (n,), generator=g)
        noise = torch.randn((n, 2), generator=g, dtype=torch.float64)
        self.points = (self.centers.double()[self.labels] + self.std * noise).to(torch.float32)

    @params_method
    def modes(cls, **params: Any) -> torch.Tensor:
        """The mode centres, float32 ``K×2``."""
        return cls._centers(resolve_params(cls, params))

    @params_method
    def mode_std(cls, **params: Any) -> float:
        """The standard deviation of every mode."""
        return float(resolve_params(cls, params)["std"])

    @classmethod
    def describe(cls, **params: Any) -> DataSpec:
        """``(2,)``, and the mode count as classes when ``conditional``."""
        p = resolve_params(cls, params)
        return DataSpec((2,), cls._centers(p).shape[0] if p["conditional"] else 0)

    def __len__(self) -> int:
        return self.points.shape[0]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.points[index], self.labels[index]

    def as_tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All points float32 ``N×2`` and their mode indices int64 ``N``."""
        return self.points.clone(), self.labels.clone()

    def augment(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Points are never augmented: returns ``x``."""
        return x

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(n={len(self)}, modes={self.centers.shape[0]}, "
                f"std={self.std})")


class Ring(GaussianMixture2D):
    """``num_modes`` Gaussians evenly spaced on a circle (default: 8, radius 1, std 0.01)."""

    def __init__(
        self,
        num_samples: SampleCount = 100000,
        seed: Seed = 0,
        num_modes: Annotated[int, Field(ge=1, le=10000, description="1..10000")] = 8,
        radius: Scale = 1.0,
        std: Spread = 0.01,
        conditional: bool = False,
        split: Literal["train", "test"] = "train",
    ) -> None:
        check_positive(num_modes, "num_modes")
        self._setup(dict(num_samples=num_samples, seed=seed, num_modes=num_modes, radius=radius,
                         std=std, conditional=conditional, split=split))

    @classmethod
    def _centers(cls, p: dict[str, Any]) -> torch.Tensor:
        k = p["num_modes"]
        angles = torch.arange(k, dtype=torch.float64) * (2 * math.pi / k)
        return (p["radius"] * torch.stack([angles.cos(), angles.sin()], dim=1)).to(torch.float32)


class Grid(GaussianMixture2D):
    """``side²`` Gaussians on a square lattice centred at 0.

    The default is PacGAN's: 5×5 modes at {-4, -2, 0, 2, 4}², std 0.05.
    """

    def __init__(
        self,
        num_samples: SampleCount = 100000,
        seed: Seed = 0,
        side: Annotated[int, Field(ge=1, le=100, description="1..100 (side² modes)")] = 5,
        spacing: Scale = 2.0,
        std: Spread = 0.05,
        conditional: bool = False,
        split: Literal["train", "test"] = "train",
    ) -> None:
        check_positive(side, "side")
        self._setup(dict(num_samples=num_samples, seed=seed, side=side, spacing=spacing,
                         std=std, conditional=conditional, split=split))

    @classmethod
    def _centers(cls, p: dict[str, Any]) -> torch.Tensor:
        side = p["side"]
        axis = (torch.arange(side, dtype=torch.float64) - (side - 1) / 2) * p["spacing"]
        gx, gy = torch.meshgrid(axis, axis, indexing="ij")
        return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1).to(torch.float32)
