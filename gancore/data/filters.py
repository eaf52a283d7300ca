"""The training data as training sees it: planted noise (``data.inject_noise``) and filters.

Two ``[data]`` settings change which images training draws from, once, before the first step:

- ``inject_noise = 0.05`` replaces that share of the training images by uniform-noise images
  at indices drawn from the recipe's seed (:func:`planted_noise_indices`), so that a study
  knows exactly where the contamination is;
- ``filters = [...]`` are components of kind ``filter``, run in order: each receives the
  dataset left by the ones before it and a :class:`FilterContext`, and returns the indices of
  the items to keep (an index given twice is an item drawn twice as often).

:func:`prepare_training_data` applies both for the trainer and ``gancore data inspect``; its
:class:`TrainingData` says what was kept, dropped and repeated. Evaluation reads the dataset
as it is, without noise or filters.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch.utils.data import Dataset

from gancore.core.errors import GancoreError, RecipeError

if TYPE_CHECKING:
    from gancore.core.registry import ComponentEntry, Registry
    from gancore.recipe import Recipe

#: Mixed into the recipe seed for the planted noise (so it differs from every other draw).
NOISE_SEED = 0x6E6F697365


def _quiet(text: str) -> None:
    """Print nothing."""


def filter_cache_dir() -> Path:
    """Where filters keep what they computed: ``$GANCORE_CACHE/filters``."""
    from gancore.storage.cache import kind_path

    return kind_path("filters")


@dataclass
class FilterContext:
    """What a filter is told besides the dataset.

    ``key`` is the filter's recipe key (``data.filters[0]``), for errors; ``seed`` the recipe's
    seed; ``batch_size`` the fewest items a filter may keep (one training batch);
    ``num_classes`` the data's class count (0: unlabelled); ``dataset`` the dataset's name;
    ``cache_dir`` a folder where a filter may keep what it computed (``None``: keep nothing).
    """

    key: str = "data.filters[0]"
    seed: int = 0
    batch_size: int = 1
    num_classes: int = 0
    dataset: str = ""
    cache_dir: Path | None = None
    echo: Callable[[str], None] = _quiet

    def tensors(self, dataset: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Every item of ``dataset`` as ``(x [N, ...] float32, y [N] int64)``, unaugmented."""
        return dataset_tensors(dataset)

    def labels(self, dataset: Any) -> torch.Tensor:
        """The labels ``[N]`` (int64) of ``dataset``, without loading its images if it can."""
        return dataset_labels(dataset)


# -- datasets seen through indices -------------------------------------------------------------
class TensorImages(Dataset):
    """Items held as tensors: ``x`` float ``[N, ...]`` and int64 labels ``y`` ``[N]``."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor | None = None) -> None:
        self.x = x
        self.labels = (torch.zeros(x.shape[0], dtype=torch.int64) if y is None
                       else torch.as_tensor(y, dtype=torch.int64))

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[index], self.labels[index]

    def as_tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All items and labels."""
        return self.x, self.labels.clone()


class Selection(Dataset):
    """The items of ``base`` at ``indices``, in that order (an index may repeat)."""

    def __init__(self, base: Any, indices: torch.Tensor) -> None:
        self.base = base
        self.indices = indices
        if hasattr(base, "augmentation"):
            self.augmentation = base.augmentation

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def __getitem__(self, index: int) -> Any:
        return self.base[int(self.indices[index])]

    def __repr__(self) -> str:
        return f"Selection({len(self)} of {self.base!r})"


class TensorSelection(Selection):
    """A :class:`Selection` of an in-memory dataset: batched from tensors, augmented per batch."""

    def as_tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.base.as_tensors()
        return x[self.indices], y[self.indices]

    def augment(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.base.augment(x, generator) if hasattr(self.base, "augment") else x

    def storage(self) -> Any:
        """The base's uint8 storage seen through the selected indices (None if it has none)."""
        storage = getattr(self.base, "storage", None)
        stored = storage() if callable(storage) else None
        return None if stored is None else stored.select(self.indices)


def select(base: Any, indices: torch.Tensor | Sequence[int]) -> Selection:
    """The items of ``base`` at ``indices`` (a selection of a selection indexes the base)."""
    idx = torch.as_tensor(indices, dtype=torch.int64)
    if isinstance(base, Selection):
        return select(base.base, base.indices[idx])
    cls = TensorSelection if hasattr(base, "as_tensors") else Selection
    return cls(base, idx)


def dataset_tensors(dataset: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Every item of ``dataset`` as ``(x float32, y int64)`` (``as_tensors()`` when offered)."""
    as_tensors = getattr(dataset, "as_tensors", None)
    if as_tensors is not None:
        x, y = as_tensors()
        return x.float(), torch.as_tensor(y).long()
    if len(dataset) == 0:
        raise GancoreError("the dataset holds no samples", hint="check the data folder")
    xs, ys = [], []
    for i in range(len(dataset)):
        x, y = dataset[i]
        xs.append(torch.as_tensor(x, dtype=torch.float32))
        ys.append(int(y))
    return torch.stack(xs), torch.tensor(ys, dtype=torch.int64)


def dataset_labels(dataset: Any) -> torch.Tensor:
    """The labels ``[N]`` of ``dataset`` (its ``labels`` tensor where it has one)."""
    if isinstance(dataset, Selection):
        return dataset_labels(dataset.base)[dataset.indices]
    if isinstance(dataset, NoisyImages):
        return dataset_labels(dataset.base)
    labels = getattr(dataset, "labels", None)
    if isinstance(labels, torch.Tensor) and labels.dim() == 1 and len(labels) == len(dataset):
        return labels.long()
    if hasattr(dataset, "as_tensors"):
        return torch.as_tensor(dataset.as_tensors()[1]).long()
    return torch.tensor([int(dataset[i][1]) for i in range(len(dataset))], dtype=torch.int64)


# -- planted noise ---------------------------------------------------------------------------
def planted_noise_indices(n: int, fraction: float, seed: int) -> torch.Tensor:
    """The sorted indices that ``data.inject_noise = fraction`` replaces among ``n`` items.

    ``round(fraction * n)`` of them (at least one when ``fraction > 0``), drawn from ``seed``.
    """
    if fraction <= 0 or n <= 0:
        return torch.zeros(0, dtype=torch.int64)
    count = min(n, max(1, round(fraction * n)))
    g = torch.Generator().manual_seed(seed ^ NOISE_SEED)
    return torch.randperm(n, generator=g)[:count].sort().values


class NoisyImages(Dataset):
    """``base`` with the images at ``planted`` replaced by uniform noise in [-1, 1].

    The noise images take 256 levels per pixel (like 8-bit images), keep the label of the image
    they replace and are not augmented. Deterministic by ``seed``.
    """

    def __init__(self, base: Any, planted: torch.Tensor, seed: int,
                 shape: tuple[int, ...]) -> None:
        from gancore.data.transforms import to_signed

        self.base = base
        self.planted = planted
        self._where = {int(i): j for j, i in enumerate(planted.tolist())}
        g = torch.Generator().manual_seed(seed ^ (NOISE_SEED + 1))
        levels = torch.randint(0, 256, (len(planted), *shape), generator=g, dtype=torch.uint8)
        self.levels = levels
        self.noise = to_signed(levels)
        if hasattr(base, "augmentation"):
            self.augmentation = base.augmentation

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        j = self._where.get(int(index))
        if j is None:
            return self.base[index]
        return self.noise[j].clone(), torch.as_tensor(self.base[index][1])

    def __repr__(self) -> str:
        return f"NoisyImages({len(self.planted)} noise images in {self.base!r})"


class TensorNoisyImages(NoisyImages):
    """:class:`NoisyImages` of an in-memory dataset."""

    def as_tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.base.as_tensors()
        x = x.clone()
        x[self.planted] = self.noise.to(x.dtype)
        return x, y

    def storage(self) -> Any:
        """The base's uint8 storage with the noise planted (a copy of its rows in memory)."""
        from gancore.data.common import ImageStorage

        storage = getattr(self.base, "storage", None)
        stored = storage() if callable(storage) else None
        if stored is None:
            return None
        rows = torch.arange(len(stored)) if stored.rows is None else stored.rows
        images = stored.images[rows].clone()
        images[self.planted] = self.levels
        return ImageStorage(images, stored.labels[rows])

    def augment(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.base.augment(x, generator) if hasattr(self.base, "augment") else x


def inject_noise(dataset: Any, fraction: float, seed: int,
                 key: str = "data.inject_noise") -> tuple[Any, torch.Tensor]:
    """``dataset`` with ``fraction`` of its images replaced by noise, and the planted indices."""
    n = len(dataset)
    planted = planted_noise_indices(n, fraction, seed)
    if len(planted) == 0:
        return dataset, planted
    shape = tuple(torch.as_tensor(dataset[0][0]).shape)
    if len(shape) != 3:
        raise RecipeError(
            f"plants noise images, but the dataset holds items of shape {list(shape)}, "
            "not images", key=key, hint="remove data.inject_noise for 2D or vector data",
        )
    cls = TensorNoisyImages if hasattr(dataset, "as_tensors") else NoisyImages
    return cls(dataset, planted, seed, shape), planted


# -- running the filters -----------------------------------------------------------------------
def check_indices(entry: ComponentEntry, out: Any, n: int, *, strict: bool = False
                  ) -> torch.Tensor:
    """What a filter returned as int64 indices into its ``n`` items (a ContractError if not).

    ``strict`` (the conformance check) also refuses what is not a tensor (a list)."""
    from gancore.core.contract import broken

    what = f"{type(out).__module__}.{type(out).__qualname__}"
    if strict and not isinstance(out, torch.Tensor):
        raise broken(entry, f"returned a {type(out).__name__}, not a tensor of indices "
                     "(return torch.tensor(indices) or mask.nonzero().squeeze(1))")
    try:
        idx = torch.as_tensor(out)
    except (TypeError, ValueError, RuntimeError):
        raise broken(entry, f"returned {what}, not indices (a 1-D integer tensor)") from None
    if idx.dim() != 1:
        raise broken(entry, f"returned indices of shape {list(idx.shape)}, not a 1-D tensor")
    if idx.is_floating_point() or idx.is_complex() or idx.dtype == torch.bool:
        raise broken(entry, f"returned indices of dtype {idx.dtype}, not integers (use "
                     "mask.nonzero().squeeze(1) for a boolean mask)")
    idx = idx.to(torch.int64)
    if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= n):
        bad = int(idx.min()) if int(idx.min()) < 0 else int(idx.max())
        raise broken(entry, f"returned the index {bad}, outside the {n} items it received")
    return idx


@dataclass
class FilterStep:
    """What one filter did: the items it received, the indices it returned, its scores."""

    key: str
    type: str
    received: int
    #: into the items it received
    indices: torch.Tensor
    scores: torch.Tensor | None = None
    threshold: float | None = None
    from_cache: bool | None = None
    score_name: str = "score"
    #: into :attr:`TrainingData.source`: the items it received
    source_indices: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.int64))

    @property
    def kept(self) -> int:
        """Distinct items kept."""
        return int(self.indices.unique().numel())

    @property
    def dropped(self) -> int:
        """Items received and not kept."""
        return self.received - self.kept

    @property
    def repeats(self) -> int:
        """Extra copies of kept items (oversampling)."""
        return int(self.indices.numel()) - self.kept

    def line(self) -> str:
        """``data.filters[0] (class_balance): kept 64 of 64 images, 12 repeats``."""
        text = f"{self.key} ({self.type}): kept {self.kept} of {self.received} images"
        if self.dropped:
            text += f", dropped {self.dropped}"
        if self.repeats:
            text += f", {self.repeats} repeats"
        if self.threshold is not None:
            text += f" (score threshold {self.threshold:.4g})"
        return text


@dataclass
class TrainingData:
    """The training data after ``data.inject_noise`` and ``data.filters``.

    ``dataset`` is what training draws from; ``source`` the dataset with the planted noise and
    before any filter; ``indices`` the items of ``source`` that ``dataset`` holds (in order,
    repeats included); ``planted`` the indices of ``source`` holding noise images.
    """

    dataset: Any
    source: Any
    indices: torch.Tensor
    planted: torch.Tensor
    steps: list[FilterStep] = field(default_factory=list)

    @property
    def dropped(self) -> torch.Tensor:
        """The indices of ``source`` that training never sees (sorted)."""
        keep = torch.zeros(len(self.source), dtype=torch.bool)
        keep[self.indices] = True
        return (~keep).nonzero().squeeze(1)

    @property
    def planted_dropped(self) -> int:
        """How many of the planted noise images were dropped."""
        if len(self.planted) == 0:
            return 0
        return int(torch.isin(self.planted, self.dropped).sum())


def prepare_training_data(
    dataset: Any,
    recipe: Recipe,
    registry: Registry,
    *,
    num_classes: int = 0,
    cache_dir: Path | bool | None = True,
    echo: Callable[[str], None] | None = None,
) -> TrainingData:
    """Apply the recipe's ``data.inject_noise`` and ``data.filters`` to ``dataset``.

    ``recipe`` is resolved. ``cache_dir`` is where filters keep what they computed (``True``:
    :func:`filter_cache_dir`; ``None``/``False``: nowhere). A filter that keeps fewer items
    than one training batch is refused, naming it.
    """
    echo = echo or _quiet
    data = recipe.data
    planted = torch.zeros(0, dtype=torch.int64)
    if data.inject_noise:
        dataset, planted = inject_noise(dataset, data.inject_noise, recipe.seed)
        echo(f"data.inject_noise: {len(planted)} of {len(dataset)} images replaced by noise")
    source = dataset
    indices = torch.arange(len(source))
    result = TrainingData(source, source, indices, planted)
    if not data.filters:
        return result
    folder = filter_cache_dir() if cache_dir is True else (cache_dir or None)
    batch = recipe.train.batch_size
    current: Any = source
    for i, spec in enumerate(data.filters):
        key = f"data.filters[{i}]"
        filt = registry.make("filter", spec, key=key, source=recipe.source)
        ctx = FilterContext(key=key, seed=recipe.seed, batch_size=batch,
                            num_classes=num_classes, dataset=data.type, cache_dir=folder,
                            echo=echo)
        received = len(current)
        try:
            out = filt(current, ctx)
        except GancoreError as exc:
            raise exc.located(source=recipe.source) from None
        chosen = check_indices(registry.get("filter", spec), out, received)
        step = FilterStep(key, spec.type, received, chosen, *_scores(filt, received),
                          source_indices=indices)
        if chosen.numel() < batch:
            raise RecipeError(
                f"the filter {spec.type!r} keeps {chosen.numel()} of {received} images, fewer "
                f"than one batch (train.batch_size = {batch})", source=recipe.source, key=key,
                hint=f"make {key} drop fewer images, or lower train.batch_size",
            )
        indices = indices[chosen]
        current = select(source, indices)
        result.steps.append(step)
        echo(step.line())
    result.dataset, result.indices = current, indices
    return result


def _scores(filt: Any, n: int) -> tuple[torch.Tensor | None, float | None, bool | None, str]:
    scores = getattr(filt, "scores", None)
    if scores is not None:
        scores = torch.as_tensor(scores, dtype=torch.float32).flatten()
        if scores.numel() != n:
            scores = None
    threshold = getattr(filt, "threshold", None)
    threshold = float(threshold) if isinstance(threshold, int | float) and math.isfinite(
        threshold) else None
    from_cache = getattr(filt, "from_cache", None)
    name = getattr(filt, "score_name", None)
    return (scores, threshold, from_cache if isinstance(from_cache, bool) else None,
            name if isinstance(name, str) and name else "score")


# -- built-in filters --------------------------------------------------------------------------
class ClassBalance:
    """Oversample the rarer classes so every class appears as often as the most common one.

    Each class with ``n`` items out of a largest class of ``m`` keeps all its items
    ``m // n`` times plus ``m % n`` of them drawn from the recipe's seed, so every class present
    appears exactly ``m`` times. Nothing is dropped; classes with no item stay absent.
    Needs labelled data.
    """

    def __call__(self, dataset: Any, ctx: FilterContext) -> torch.Tensor:
        if ctx.num_classes < 2:
            raise RecipeError(
                f"class_balance balances classes, but the dataset {ctx.dataset!r} is "
                "unlabelled (it has no classes)", key=ctx.key,
                hint=f"remove {ctx.key}, or use labelled data (e.g. shapes with "
                'labels = "shape")',
            )
        y = ctx.labels(dataset)
        return balanced_indices(y, ctx.seed)


def balanced_indices(labels: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Indices into ``labels`` in which every class present appears equally often (sorted)."""
    g = torch.Generator().manual_seed(seed)
    counts = torch.bincount(labels)
    target = int(counts.max()) if counts.numel() else 0
    parts = []
    for c in counts.nonzero().squeeze(1).tolist():
        members = (labels == c).nonzero().squeeze(1)
        repeats, rest = divmod(target, members.numel())
        parts += [members.repeat(repeats),
                  members[torch.randperm(members.numel(), generator=g)[:rest]]]
    if not parts:
        return torch.zeros(0, dtype=torch.int64)
    return torch.cat(parts).sort().values
