"""Batches for the training loop.

In-memory datasets (those with ``as_tensors()``) are indexed directly with a seeded
``torch.Generator``: every rank draws the same global batch of ``batch_size * world_size``
indices and takes its own slice, which acts as a distributed sampler with no epoch bookkeeping,
and whose whole state is the generator's (saved in checkpoints). Datasets that keep uint8
images (``storage()``, e.g. the memory-mapped ``prepared`` sets) are drawn the same way by
:class:`StoredBatches`, which gathers uint8 rows and converts them to float on the device.
Other datasets go through a ``DataLoader`` (with a ``DistributedSampler`` when distributed).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from gancore.core.errors import DataError

#: A uint8 storage is copied whole to the GPU when it takes at most this share of the free
#: device memory; larger ones are gathered on the host into pinned buffers.
DEVICE_SHARE = 0.25


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
        self._numpy = _as_numpy(self.x, self.y)
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
        if self._numpy is not None:
            # numpy's one-threaded gather: the rows of x[index], without the stalls torch's
            # threads suffer on small tensors when other processes share the cores
            rows = index.numpy()
            x, y = (torch.from_numpy(np.take(a, rows, axis=0)) for a in self._numpy)
        else:
            index = index.to(self.x.device)
            x, y = self.x.index_select(0, index), self.y.index_select(0, index)
        if self.augment is not None:
            x = self.augment(x, self.generator)
        return x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)

    def state(self) -> list[tuple[str, torch.Generator]]:
        return [("batches", self.generator)]


def _as_numpy(*tensors: torch.Tensor) -> tuple[np.ndarray, ...] | None:
    """Numpy views of CPU tensors (None when one has no numpy form: on a device, bf16...)."""
    try:
        return tuple(t.detach().numpy() for t in tensors if t.device.type == "cpu") \
            if all(t.device.type == "cpu" for t in tensors) else None
    except (TypeError, RuntimeError):
        return None


def signed(images: np.ndarray) -> np.ndarray:
    """uint8 images -> float32 in [-1, 1], in numpy: the same values as
    :func:`gancore.data.transforms.to_signed` (both divide by 127.5 and subtract 1 in float32,
    correctly rounded; a test compares all 256 levels)."""
    out = images.astype(np.float32)
    np.divide(out, np.float32(127.5), out=out)
    np.subtract(out, np.float32(1.0), out=out)
    return out


class StoredBatches:
    """Random batches (with replacement across batches) from uint8 images (``ImageStorage``).

    The draw is :class:`TensorBatches`' (same generator use, same distributed slicing). On CUDA
    the images are copied once to the device when they take at most :data:`DEVICE_SHARE` of its
    free memory and gathered there; otherwise each batch is gathered on the host (from the
    memory map) into one of two pinned buffers and copied with ``non_blocking=True``. The uint8
    batch becomes float32 in [-1, 1] on the device (on the CPU, by numpy in one pass), then the
    dataset's augmentation runs there.
    """

    def __init__(
        self,
        storage: Any,
        batch_size: int,
        seed: int,
        device: torch.device,
        augment: Any = None,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if len(storage) == 0:
            raise DataError("the dataset holds no samples", hint="check the data folder")
        self.device = device
        self.images, self.labels, self.rows = storage.images, storage.labels, storage.rows
        self.size = len(storage)
        self.on_device = False
        self._buffers: list[torch.Tensor] = []
        self._events: list[Any] = []
        if device.type == "cuda":
            free = torch.cuda.mem_get_info(device)[0]
            self.labels = self.labels.to(device)
            self.rows = None if self.rows is None else self.rows.to(device)
            if self.images.numel() * self.images.element_size() <= DEVICE_SHARE * free:
                self.images = self.images.to(device)
                self.on_device = True
            else:
                if self.rows is not None:
                    self.rows = self.rows.cpu()
                shape = (batch_size, *self.images.shape[1:])
                self._buffers = [torch.empty(shape, dtype=self.images.dtype).pin_memory()
                                 for _ in range(2)]
                self._events = [None, None]
        self._array = self.images.numpy() if self.images.device.type == "cpu" else None
        self._turn = 0
        self.batch_size = batch_size
        self.rank, self.world_size = rank, world_size
        self.generator = torch.Generator().manual_seed(seed)
        self.augment = augment

    def __len__(self) -> int:
        return self.size

    def _host_gather(self, index: torch.Tensor, out: np.ndarray | None = None) -> np.ndarray:
        """uint8 rows of the (possibly memory-mapped) images, gathered by numpy: one thread,
        so a busy machine's other processes cannot stall it the way they stall torch's
        multi-threaded kernels on small tensors."""
        return np.take(self._array, index.numpy(), axis=0, out=out)

    def _gather(self, index: torch.Tensor) -> torch.Tensor:
        """float32 images in [-1, 1] at ``index`` (rows already applied), on the device."""
        if self.device.type != "cuda":
            return torch.from_numpy(signed(self._host_gather(index)))
        if self.on_device:
            u8 = self.images.index_select(0, index.to(self.images.device))
            return u8.to(torch.float32).div_(127.5).sub_(1.0)
        k = self._turn
        self._turn ^= 1
        if self._events[k] is not None:
            self._events[k].synchronize()  # the copy out of this buffer has finished
        buf = self._buffers[k][: index.shape[0]]
        self._host_gather(index.cpu(), out=buf.numpy())
        u8 = buf.to(self.device, non_blocking=True)
        event = torch.cuda.Event()
        event.record()
        self._events[k] = event
        return u8.to(torch.float32).div_(127.5).sub_(1.0)

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next batch, float32 in [-1, 1], on the training device."""
        n = self.batch_size * self.world_size
        index = torch.randint(self.size, (n,), generator=self.generator)
        index = index[self.rank * self.batch_size : (self.rank + 1) * self.batch_size]
        if self.rows is not None:
            index = self.rows.index_select(0, index.to(self.rows.device))
        y = self.labels.index_select(0, index.to(self.labels.device))
        y = y.to(self.device, non_blocking=True)
        x = self._gather(index)
        if self.augment is not None:
            x = self.augment(x, self.generator)
        return x, y

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
        self._loader_args = dict(
            batch_size=batch_size,
            sampler=sampler,
            num_workers=num_workers,
            drop_last=len(dataset) >= batch_size * world_size,
            pin_memory=device.type == "cuda",
            persistent_workers=num_workers > 0,
        )
        self.loader = DataLoader(dataset, **self._loader_args)
        self._it: Iterator[Any] | None = None

    def __len__(self) -> int:
        return len(self.loader.dataset)  # type: ignore[arg-type]

    def rewind(self, epoch: int) -> None:
        """Start over at ``epoch`` with the next ``next()``, as if nothing had been drawn (the
        generator's state is the caller's): a new DataLoader, so that worker processes start,
        and draw their seeds, where they would have."""
        from torch.utils.data import DataLoader

        self._it = None
        self.epoch = epoch
        if self.loader.num_workers > 0:
            self.loader = DataLoader(self.loader.dataset, **self._loader_args)

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
    num_workers: int | str = 0,
    rank: int = 0,
    world_size: int = 1,
) -> TensorBatches | StoredBatches | LoaderBatches:
    """uint8 batches converted on the device when the dataset offers ``storage()``, fast
    in-memory batches when it offers ``as_tensors()``, else a DataLoader with ``num_workers``
    processes (``"auto"``: :func:`gancore.core.threads.auto_workers`)."""
    augment = getattr(dataset, "augment", None)
    active = getattr(getattr(dataset, "augmentation", None), "active", False)
    storage = getattr(dataset, "storage", None)
    stored = storage() if callable(storage) else None
    if stored is not None:
        return StoredBatches(stored, batch_size, seed, device, augment if active else None,
                             rank, world_size)
    as_tensors = getattr(dataset, "as_tensors", None)
    if as_tensors is not None:
        x, y = as_tensors()
        return TensorBatches(
            x, y, batch_size, seed, device, augment if active else None, rank, world_size
        )
    from gancore.core.threads import resolve_workers

    workers = resolve_workers(num_workers, device)
    return LoaderBatches(dataset, batch_size, seed, device, workers, rank, world_size)
