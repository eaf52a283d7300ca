"""Batches for the training loop.

In-memory datasets (those with ``as_tensors()``) are indexed directly with a seeded
``torch.Generator``: every rank draws the same global batch of ``batch_size * world_size``
indices and takes its own slice, which acts as a distributed sampler with no epoch bookkeeping,
and whose whole state is the generator's (saved in checkpoints). Other datasets go through a
``DataLoader`` (with a ``DistributedSampler`` when distributed).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from gancore.errors import DataError


def joint_batch(
    real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor | None, channels_last: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``cat(real, fake)`` (fake in real's dtype) and its labels ``cat(y, y)``: one D pass for
    both batches (``train.joint_d_pass``); D's outputs split at ``len(real)``."""
    both = torch.cat([real, fake.to(real.dtype)])
    if channels_last and both.dim() == 4:
        both = both.contiguous(memory_format=torch.channels_last)
    return both, None if y is None else torch.cat([y, y])


class TensorBatches:
    """Random batches (with replacement across batches) from tensors held in memory."""

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        seed: int,
        device: torch.device,
        augment: Any = None,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if x.shape[0] == 0:
            raise DataError("the dataset holds no samples", hint="check the data folder")
        self.device = device
        self.x, self.y = x, y
        if device.type == "cuda":
            small = x.numel() * x.element_size() < 2**31
            self.x = x.to(device) if small else x.pin_memory()
            self.y = y.to(device) if small else y.pin_memory()
        self.batch_size = batch_size
        self.rank, self.world_size = rank, world_size
        self.generator = torch.Generator().manual_seed(seed)
        self.augment = augment

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next batch, on the training device."""
        n = self.batch_size * self.world_size
        index = torch.randint(len(self), (n,), generator=self.generator)
        index = index[self.rank * self.batch_size : (self.rank + 1) * self.batch_size]
        if self.x.device != index.device:
            index = index.to(self.x.device)
        x, y = self.x[index], self.y[index]
        if self.augment is not None:
            x = self.augment(x, self.generator)
        return x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)

    def state(self) -> list[tuple[str, torch.Generator]]:
        return [("batches", self.generator)]


class LoaderBatches:
    """Batches from a ``DataLoader`` over any map-style dataset, restarted at each epoch."""

    def __init__(
        self,
        dataset: Any,
        batch_size: int,
        seed: int,
        device: torch.device,
        num_workers: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

        if len(dataset) == 0:
            raise DataError("the dataset holds no samples", hint="check the data folder")
        self.device = device
        self.generator = torch.Generator().manual_seed(seed)
        if world_size > 1:
            sampler: Any = DistributedSampler(
                dataset, num_replicas=world_size, rank=rank, seed=seed, drop_last=True
            )
        else:
            sampler = RandomSampler(dataset, generator=self.generator)
        self.sampler = sampler
        self.epoch = 0
        self.loader = DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=sampler,
            num_workers=num_workers,
            drop_last=len(dataset) >= batch_size * world_size,
            pin_memory=device.type == "cuda",
            persistent_workers=num_workers > 0,
        )
        self._it: Iterator[Any] | None = None

    def __len__(self) -> int:
        return len(self.loader.dataset)  # type: ignore[arg-type]

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        for _ in range(2):
            if self._it is None:
                if hasattr(self.sampler, "set_epoch"):
                    self.sampler.set_epoch(self.epoch)
                self._it = iter(self.loader)
            try:
                x, y = next(self._it)
                return x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
            except StopIteration:
                self._it = None
                self.epoch += 1
        raise DataError("the data loader yields no batches", hint="use a smaller batch_size")

    def state(self) -> list[tuple[str, torch.Generator]]:
        return [("batches", self.generator)]


def make_batches(
    dataset: Any,
    batch_size: int,
    seed: int,
    device: torch.device,
    *,
    num_workers: int = 0,
    rank: int = 0,
    world_size: int = 1,
) -> TensorBatches | LoaderBatches:
    """Fast in-memory batches when the dataset offers ``as_tensors()``, else a DataLoader."""
    as_tensors = getattr(dataset, "as_tensors", None)
    if as_tensors is not None:
        x, y = as_tensors()
        augment = getattr(dataset, "augment", None)
        active = getattr(getattr(dataset, "augmentation", None), "active", False)
        return TensorBatches(
            x, y, batch_size, seed, device, augment if active else None, rank, world_size
        )
    return LoaderBatches(dataset, batch_size, seed, device, num_workers, rank, world_size)
