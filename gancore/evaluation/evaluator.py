"""Score a trained generator against real data with registered metrics.

The real data is the recipe's dataset, built through the registry, on its test split when it has
one (else the training split). Features come from one extractor, chosen by ``extractor``:

- ``inception``: the FID Inception-v3 from a local weights file (``--inception-weights`` or
  ``$GANCORE_INCEPTION_WEIGHTS``);
- ``classifier``: a small CNN gancore trains (deterministically, cached) on the labelled
  training data;
- ``raw``: the samples themselves, flattened (the natural features of the 2D mixtures);
- ``auto``: ``raw`` for vector data, else ``inception`` when weights are given, else
  ``classifier`` for labelled images; unlabelled images without weights are an error.

Only the :class:`~gancore.metrics.EvalInputs` fields the chosen metrics need are computed. Real
features are kept in the statistics cache, keyed by dataset, split, extractor and sample count.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from gancore.core.errors import GancoreError, RecipeError

if TYPE_CHECKING:
    from gancore.assembly.build import GAN
    from gancore.core.refs import ComponentSpec
    from gancore.core.registry import Registry

#: Default metrics for vector data (the 2D mixtures), used when the recipe keeps the default list.
VECTOR_METRICS: tuple[str, ...] = ("modes", "f1", "fid")
#: Training images a classifier is fitted on for procedural datasets (``num_samples`` raised).
CLASSIFIER_TRAIN = 10000
#: Result keys that describe the evaluation rather than score it.
META_KEYS: tuple[str, ...] = (
    "checkpoint", "step", "ema", "weights", "weights_note", "ema_updates", "recipe", "dataset",
    "split", "held_out", "extractor", "extractor_accuracy", "num_samples", "num_real", "seed",
    "metrics", "notes", "reference", "reference_set",
)
_FEATURE_FIELDS = {"real_features", "fake_features", "real_stats", "real_probs", "fake_probs"}
_MODE_FIELDS = {"fake_samples", "modes", "mode_std"}


@dataclass
class EvalSettings:
    """How to evaluate; ``None`` values fall back to the recipe's ``[eval]`` section.

    ``metric_options`` maps a metric name to its parameters (``{"kid": {"subsets": 10}}``);
    ``extractor_options`` are parameters of a registered extractor (``{"max_train": 2000}``).
    ``ema`` False scores a checkpoint's raw generator weights even when it holds an EMA (see
    :mod:`gancore.evaluation.weights`).
    """

    metrics: Sequence[str] | None = None
    num_samples: int | None = None
    extractor: str | None = None
    inception_weights: str | None = None
    seed: int | None = None
    data_root: str | None = None
    metric_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    extractor_options: dict[str, Any] = field(default_factory=dict)
    batch_size: int = 256
    cache: bool = True
    cache_dir: str | None = None
    device: str = "auto"
    progress: bool = False
    ema: bool = True


class RawFeatures:
    """Feature extractor ``raw``: the samples themselves, flattened; no class probabilities."""

    name = "raw"
    num_classes = 0

    def extract(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        return x.detach().float().cpu().flatten(1), None


def score_keys(result: dict[str, Any]) -> list[str]:
    """The score keys of an evaluation result (everything but :data:`META_KEYS`)."""
    return [k for k in result if k not in META_KEYS]


def checkpoint_path(path: str | os.PathLike[str], *, best: bool = False) -> Path:
    """A checkpoint file, or a run folder's ``last.safetensors`` (``best``: the
    ``best.safetensors`` that ``train.keep_best`` kept)."""
    p = Path(path)
    if best:
        if not p.is_dir():
            raise GancoreError("--best takes a run folder, not a checkpoint file", source=str(p),
                               hint=f"give the run folder ({p.parent}), or the file without "
                                    "--best")
        kept = p / "best.safetensors"
        if not kept.is_file():
            raise GancoreError(
                "the run kept no best.safetensors", source=str(p),
                hint='train with train.keep_best = "fid" (or another score) and '
                     "train.eval_every set, or leave out --best for last.safetensors")
        return kept
    if p.is_dir():
        last = p / "last.safetensors"
        if not last.is_file():
            raise GancoreError(
                "the folder holds no last.safetensors", source=str(p),
                hint="give a .safetensors checkpoint or a run folder written by gancore train",
            )
        return last
    return p


def evaluate_checkpoint(
    path: str | os.PathLike[str],
    settings: EvalSettings | None = None,
    *,
    registry: Registry | None = None,
    best: bool = False,
) -> dict[str, Any]:
    """Evaluate a checkpoint (or run folder; ``best``: its ``best.safetensors``) with its EMA
    generator weights when present and warm, else (or with ``settings.ema`` False) its raw
    weights; the result says which (``weights``, ``weights_note``:
    :mod:`gancore.evaluation.weights`)."""
    from gancore.evaluation.weights import load_for_scoring
    from gancore.packs.loader import get_registry

    registry = registry or get_registry()
    file = checkpoint_path(path, best=best)
    gan, weights = load_for_scoring(file, ema=(settings or EvalSettings()).ema,
                                    registry=registry)
    result = evaluate_gan(gan, settings, registry=registry)
    head = {"checkpoint": str(file), "step": int(getattr(gan, "step", 0)), **weights.as_dict()}
    return {**head, **result}


def evaluate_gan(
    gan: GAN, settings: EvalSettings | None = None, *, registry: Registry | None = None
) -> dict[str, Any]:
    """Score ``gan``'s generator against its recipe's real data; see the module docstring."""
    from gancore.metrics import EvalInputs, evaluate, required_fields
    from gancore.metrics.base import resolve_device
    from gancore.packs.loader import get_registry

    s = settings or EvalSettings()
    registry = registry or get_registry()
    cfg = gan.recipe.eval
    n = cfg.num_samples if s.num_samples is None else s.num_samples
    if n < 2:
        raise GancoreError(f"-n must be at least 2 (got {n})", key="--num-samples")
    seed = cfg.seed if s.seed is None else s.seed
    specs = metric_names(s.metrics, cfg.metrics, gan.data.is_image)
    names = [spec.type for spec in specs]
    metrics = {
        spec.type: make_metric(registry, spec, seed, s.metric_options.get(spec.type))
        for spec in specs
    }
    needs = required_fields(metrics.values())
    real = RealData(gan, registry, s.data_root, n, seed)
    _check_needs(metrics, real, gan)
    from gancore.core.refs import as_spec

    ext = as_spec("feature_extractor", s.extractor) if s.extractor else cfg.extractor
    extractor = None
    if needs & _FEATURE_FIELDS:
        opts = replace(s, extractor_options={**ext.params(), **s.extractor_options})
        extractor = choose_extractor(ext.type, real, opts, registry)
        _check_probs(metrics, extractor)
    device = resolve_device(s.device)
    gan = gan.to(device).eval()

    from gancore.metrics.classification import decision_threshold

    inputs = EvalInputs(extractor_name=getattr(extractor, "name", None),
                        d_threshold=decision_threshold(getattr(gan, "loss", None)))
    with _progress(s.progress) as progress:
        _fill_real(inputs, needs, real, extractor, gan, s, progress)
        _fill_fake(inputs, needs, gan, extractor, n, seed, s, progress)
    if needs & _MODE_FIELDS:
        inputs.modes, inputs.mode_std = real.modes()
    if "num_classes" in needs:
        inputs.num_classes = int(getattr(extractor, "num_classes", 0)) or None
    scores = evaluate(metrics, inputs)
    notes = [note for m in metrics.values() for note in getattr(m, "notes", None) or []]
    reference, reference_set = _reference(metrics, inputs, real, extractor, s, progress)
    result: dict[str, Any] = {
        "recipe": gan.recipe.recipe.name,
        "dataset": gan.recipe.data.type,
        "split": real.split,
        "held_out": real.split != "train",
        "extractor": inputs.extractor_name,
        "num_samples": n,
        "num_real": real.count,
        "seed": seed,
        "metrics": list(names),
        "notes": notes,
        "reference": reference,
        "reference_set": reference_set,
    }
    accuracy = getattr(extractor, "accuracy", None)
    if isinstance(accuracy, float):
        result["extractor_accuracy"] = accuracy
    result.update(scores)
    return result


# -- choosing metrics and features --------------------------------------------------------------
def metric_names(
    requested: Sequence[Any] | None, recipe_default: Sequence[Any], is_image: bool
) -> list[ComponentSpec]:
    """The metrics to run as references: the requested ones, else the recipe's ``[eval]
    metrics`` (vector data with the default list: modes, f1, fid). One per metric name."""
    from gancore.core.refs import as_spec
    from gancore.recipe import EvalSection

    def refs(items: Sequence[Any]) -> list[ComponentSpec]:
        return [as_spec("metric", m.strip() if isinstance(m, str) else m)
                for m in items if not isinstance(m, str) or m.strip()]

    default = [m.type for m in EvalSection().metrics]
    if requested:
        specs = refs(requested)
    elif not is_image and [as_spec("metric", m).type for m in recipe_default] == default:
        specs = refs(VECTOR_METRICS)
    else:
        specs = refs(recipe_default)
    if not specs:
        raise GancoreError("no metrics to compute", key="--metrics", hint="e.g. --metrics fid,kid")
    first: dict[str, ComponentSpec] = {}
    for spec in specs:  # one per metric name: the first, in the order given
        first.setdefault(spec.type, spec)
    return list(first.values())


def make_metric(
    registry: Registry, spec: ComponentSpec | str, seed: int,
    options: dict[str, Any] | None = None,
) -> Any:
    """Create the metric ``spec`` names, its parameters updated by ``options``; a ``seed``
    parameter the reference leaves out gets the evaluation seed."""
    from gancore.core.refs import as_spec

    spec = as_spec("metric", spec)
    entry = registry.get("metric", spec, key="eval.metrics")
    params = {**spec.params(), **(options or {})}
    if "seed" in entry.params_model().model_fields:
        params.setdefault("seed", seed)
    return registry.create("metric", spec.type, key=f"metric {spec.type!r}", **params)


def _check_needs(metrics: dict[str, Any], real: RealData, gan: GAN) -> None:
    for name, metric in metrics.items():
        needs = {n.split("|")[0] for n in getattr(metric, "needs", set())}
        if needs & _MODE_FIELDS and real.modes_source() is None:
            raise GancoreError(
                f"metric {name!r} needs a 2D Gaussian mixture, but the data is "
                f"{gan.recipe.data.type!r}",
                key="--metrics", hint="use it with the ring or grid datasets",
            )
        if "real_labels" in needs and not real.labelled:
            raise GancoreError(
                f"metric {name!r} needs labelled data, but {gan.recipe.data.type!r} has no labels",
                key="--metrics", hint="leave it out of --metrics",
            )


def _inception(weights: str | None, settings: EvalSettings, registry: Registry, *,
               picked: bool) -> Any:
    """The Inception extractor with the ``[eval.extractor]`` options (``backend``,
    ``quantize``, ``batch_size``, ``weights``) validated; when ``auto`` picked it, options
    meant for another extractor (``max_train`` of the classifier, say) are left out."""
    entry = registry.get("feature_extractor", "inception", key="eval.extractor")
    options = dict(settings.extractor_options)
    if picked:
        known = entry.params_model().model_fields
        options = {k: v for k, v in options.items() if k in known}
    options.setdefault("weights", weights)
    options.setdefault("device", settings.device)
    return registry.create("feature_extractor", "inception", key="eval.extractor", **options)


def _check_probs(metrics: dict[str, Any], extractor: Any) -> None:
    if extractor.num_classes:
        return
    for name, metric in metrics.items():
        if {"fake_probs", "real_probs"} & set(getattr(metric, "needs", set())):
            raise GancoreError(
                f"metric {name!r} needs class probabilities, which the {extractor.name!r} "
                "extractor does not give",
                key="--metrics",
                hint="use --extractor classifier (labelled data) or inception, or drop it",
            )


def choose_extractor(
    name: str, real: RealData, settings: EvalSettings, registry: Registry
) -> Any:
    """The feature extractor ``name`` (``auto``, ``inception``, ``classifier``, ``raw``, ...)."""
    from gancore.metrics.inception import ENV_VAR, missing_weights_error

    weights = settings.inception_weights or os.environ.get(ENV_VAR)
    picked = name == "auto"
    if name == "auto":
        if not real.is_image:
            name = "raw"
        elif weights:
            name = "inception"
        elif real.labelled:
            name = "classifier"
        else:
            raise missing_weights_error(
                f"the data {real.type!r} has no labels to train a domain classifier on, "
                f"no --inception-weights file was given and ${ENV_VAR} is not set"
            )
    if name == "raw":
        return RawFeatures()
    if name == "inception":
        if not real.is_image:
            raise GancoreError("the inception extractor needs image data", key="--extractor",
                               hint="use --extractor raw for vector data")
        return _inception(weights, settings, registry, picked=picked)
    entry = registry.get("feature_extractor", name, key="--extractor")
    params: dict[str, Any] = {"device": settings.device}
    if name == "classifier":
        params.update(cache=settings.cache, cache_dir=_sub(settings.cache_dir, "classifiers"))
    known = entry.params_model().model_fields
    params = {k: v for k, v in params.items() if k in known}
    extractor = registry.create("feature_extractor", name, key="--extractor",
                                **{**params, **settings.extractor_options})
    if hasattr(extractor, "fit"):
        if not real.labelled:
            raise GancoreError(
                f"the {name!r} extractor trains on labels, but {real.type!r} has none",
                key="--extractor", hint="pass --inception-weights FILE and --extractor inception",
            )
        x, y, params_key = real.training_data()
        extractor.fit(x, y, dataset=real.type, params=params_key, num_classes=real.num_classes)
    return extractor


def _draw(dataset: Any, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The samples and labels of ``dataset`` at ``idx``."""
    stored = _storage(dataset)
    if stored is not None:  # gather only the rows drawn (a memory map stays on disk)
        return _stored_rows(stored, idx)
    if hasattr(dataset, "as_tensors"):
        x, y = dataset.as_tensors()
        return x[idx], y[idx]
    items = [dataset[int(i)] for i in idx]
    return (torch.stack([torch.as_tensor(it[0]) for it in items]).float(),
            torch.stack([torch.as_tensor(it[1]) for it in items]).long())


def _reference(metrics: dict[str, Any], inputs: Any, real: RealData, extractor: Any,
               s: EvalSettings, progress: _Progress) -> tuple[dict[str, float], str | None]:
    """The real-vs-real scores of the feature metrics (:mod:`gancore.evaluation.reference`)."""
    from gancore.evaluation.reference import cache_file, compute_reference, reference_metrics
    from gancore.metrics import evaluate
    from gancore.storage.cache import kind_path

    chosen = reference_metrics(metrics)
    if not chosen or extractor is None or inputs.real_features is None:
        return {}, None
    other = real.reference_samples()
    if other is None:
        return {}, None
    x, what = other
    folder = (_sub(s.cache_dir, "reference") or str(kind_path("reference"))) if s.cache else None
    identity = {"dataset": real.type, "split": real.split, "params": real.cache_params(),
                "reference": what, "extractor": _extractor_id(extractor), "n": x.shape[0],
                "seed": real.seed}
    advance = progress.track(f"real-vs-real reference ({extractor.name})", x.shape[0])
    scores = compute_reference(chosen, inputs, x, extractor, s.batch_size, evaluate,
                               cache_file(folder, identity, chosen))
    advance(x.shape[0])
    return scores, what


def _sub(root: str | None, name: str) -> str | None:
    return str(Path(root) / name) if root else None


# -- real data ----------------------------------------------------------------------------------
class RealData:
    """The recipe's dataset on its evaluation split: ``n`` samples drawn with ``seed``."""

    def __init__(
        self, gan: GAN, registry: Registry, data_root: str | None, n: int, seed: int
    ) -> None:
        self.registry = registry
        self.type = gan.recipe.data.type
        self.entry = registry.get("dataset", self, key="data.type")
        self.fields = self.entry.params_model().model_fields
        self.base = gan.recipe.data.params()
        if data_root is not None and "root" in self.fields:
            self.base["root"] = data_root
        self.is_image = gan.data.is_image
        self.num_classes = int(gan.data.num_classes)
        self.labelled = self.num_classes > 1
        self.n, self.seed = n, seed
        self.dataset, self.split, self.params = self._open_eval_split()
        self.count = min(n, len(self.dataset))
        self._x: torch.Tensor | None = None
        self._y: torch.Tensor | None = None

    def _create(self, params: dict[str, Any]) -> Any:
        from gancore.core.registry import params_to_kwargs, validate_params

        validated = validate_params(self.entry, params, key="data")
        try:
            return self.entry.create(**params_to_kwargs(validated))
        except OSError as exc:
            from gancore.core.errors import DataError

            raise DataError(f"cannot read the dataset: {exc}", key="data") from None

    def _open_eval_split(self) -> tuple[Any, str, dict[str, Any]]:
        params = dict(self.base)
        if "num_samples" in self.fields:
            params["num_samples"] = max(int(params.get("num_samples") or 0), self.n)
        if "split" in self.fields:
            try:
                test = {**params, "split": "test"}
                return self._create(test), "test", test
            except GancoreError:
                pass
        return self._create(params), str(params.get("split", "train")), params

    def cache_params(self) -> dict[str, Any]:
        """The dataset parameters that identify the data (no file locations); a dataset with a
        ``cache_identity()`` (a prepared one: its content hash) is identified by that instead
        of its location."""
        identity = getattr(self.dataset, "cache_identity", None)
        if callable(identity):
            kept = {k: v for k, v in self.params.items()
                    if k not in ("root", "name", "verify", "flip", "rotate", "shift")}
            return {**kept, **identity()}
        return {k: v for k, v in self.params.items() if k != "root"}

    def training_data(self) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
        """Labelled training images for a domain classifier, and their identifying parameters."""
        params = dict(self.base)
        if "split" in self.fields:
            params["split"] = "train"
        if "num_samples" in self.fields:
            params["num_samples"] = max(int(params.get("num_samples") or 0), CLASSIFIER_TRAIN)
        x, y = _all_tensors(self._create(params))
        return x, y, {k: v for k, v in params.items() if k != "root"}

    def samples(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``count`` samples and labels, drawn without replacement with the evaluation seed."""
        if self._x is None:
            order = torch.randperm(len(self.dataset),
                                   generator=torch.Generator().manual_seed(self.seed))
            self._x, self._y = _draw(self.dataset, order[: self.count])
        assert self._y is not None
        return self._x, self._y

    def reference_samples(self) -> tuple[torch.Tensor, str] | None:
        """Real samples disjoint from :meth:`samples`, as many: drawn from the training split
        when the evaluation uses another split, else the next ones of the same draw (None when
        the split is too small)."""
        if self.split != "train" and "split" in self.fields:
            params = {**self.base, "split": "train"}
            if "num_samples" in self.fields:
                params["num_samples"] = max(int(params.get("num_samples") or 0), self.n)
            dataset = self._create(params)
            if len(dataset) < self.count:
                return None
            order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(self.seed))
            return _draw(dataset, order[: self.count])[0], "train split"
        if len(self.dataset) < 2 * self.count:
            return None
        order = torch.randperm(len(self.dataset),
                               generator=torch.Generator().manual_seed(self.seed))
        return (_draw(self.dataset, order[self.count : 2 * self.count])[0],
                f"other {self.split}-split images")

    def modes_source(self) -> Any:
        """Where the mixture's centres come from, or ``None`` for data that is no mixture."""
        if self.is_image:
            return None
        if callable(getattr(self.dataset, "modes", None)):
            return self.dataset
        return self.type if self.type in ("ring", "grid") else None

    def modes(self) -> tuple[torch.Tensor, float]:
        """The mixture's mode centres and standard deviation."""
        from gancore.metrics import mode_spec

        source = self.modes_source()
        if isinstance(source, str):
            return mode_spec(source)
        return source.modes(), float(source.mode_std())


def _storage(dataset: Any) -> Any:
    storage = getattr(dataset, "storage", None)
    return storage() if callable(storage) else None


def _stored_rows(stored: Any, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Float images in [-1, 1] and labels of items ``idx`` of a uint8 ``ImageStorage``."""
    from gancore.data.transforms import to_signed

    rows = idx if stored.rows is None else stored.rows[idx]
    return to_signed(stored.images[rows]), stored.labels[rows].long()


def _all_tensors(dataset: Any) -> tuple[torch.Tensor, torch.Tensor]:
    stored = _storage(dataset)
    if stored is not None:
        return _stored_rows(stored, torch.arange(min(len(stored), CLASSIFIER_TRAIN)))
    if hasattr(dataset, "as_tensors"):
        return dataset.as_tensors()
    items = [dataset[i] for i in range(min(len(dataset), CLASSIFIER_TRAIN))]
    return (torch.stack([torch.as_tensor(it[0]) for it in items]).float(),
            torch.stack([torch.as_tensor(it[1]) for it in items]).long())


# -- filling the inputs ------------------------------------------------------------------------
class _Progress:
    """A rich progress bar on stderr (or nothing): ``track(label, total)`` gives an advance."""

    def __init__(self, progress: Any) -> None:
        self.progress = progress

    def track(self, label: str, total: int) -> Callable[[int], None]:
        if self.progress is None:
            return lambda k: None
        task = self.progress.add_task(label, total=total)
        return lambda k: self.progress.advance(task, k)


@contextmanager
def _progress(enabled: bool) -> Iterator[_Progress]:
    if not enabled:
        yield _Progress(None)
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=Console(stderr=True), transient=True)
    with bar:
        yield _Progress(bar)


def _d_labels(gan: GAN, y: torch.Tensor | None, count: int, start: int) -> torch.Tensor | None:
    k = int(getattr(gan.discriminator, "num_classes", 0) or 0)
    if k <= 0:
        return None
    if y is not None:
        return y
    return (torch.arange(start, start + count) % k).long()


def _batch_norms(module: torch.nn.Module) -> list[torch.nn.modules.batchnorm._BatchNorm]:
    return [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


@contextmanager
def batch_statistics(module: torch.nn.Module) -> Iterator[bool]:
    """Run ``module``'s batch-norm layers on the statistics of each batch, as in training,
    without changing their running statistics (momentum 0, the batch count restored); other
    layers stay as they are (eval mode: no dropout, no power iteration). Yields whether the
    module has a batch-norm layer."""
    norms = _batch_norms(module)
    saved = [(m.training, m.momentum, None if m.num_batches_tracked is None
              else m.num_batches_tracked.clone()) for m in norms]
    try:
        for m in norms:
            m.train()
            m.momentum = 0.0
        yield bool(norms)
    finally:
        for m, (training, momentum, count) in zip(norms, saved, strict=True):
            m.train(training)
            m.momentum = momentum
            if count is not None:
                m.num_batches_tracked.copy_(count)


@torch.no_grad()
def _logits(gan: GAN, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    """D's logits of ``x``; a batch-norm D sees it in batches of its training batch size, each
    normalised by its own statistics (see :mod:`gancore.metrics.classification`)."""
    d = gan.discriminator
    device = next(d.parameters()).device
    if not _batch_norms(d):
        out = d(x.to(device), None if y is None else y.to(device))
        return out.reshape(-1).float().cpu()
    size = int(gan.recipe.train.batch_size)
    chunks = max(1, x.shape[0] // size)  # the last, short batch joins the one before
    out = []
    with batch_statistics(d):
        for xb, yb in zip(x.tensor_split(chunks),
                          [None] * chunks if y is None else y.tensor_split(chunks), strict=True):
            logits = d(xb.to(device), None if yb is None else yb.to(device))
            out.append(logits.reshape(-1).float().cpu())
    return torch.cat(out)


def _fill_real(inputs: Any, needs: set[str], real: RealData, extractor: Any, gan: GAN,
               s: EvalSettings, progress: _Progress) -> None:
    from gancore.metrics.stats_cache import StatsCache

    want_features = bool({"real_features", "real_stats"} & needs)
    want_probs = "real_probs" in needs
    if not (want_features or want_probs or {"real_logits", "real_labels"} & needs):
        return
    x, y = real.samples()
    if "real_labels" in needs:
        inputs.real_labels = y
    if "real_logits" in needs:
        advance = progress.track("discriminator on real data", x.shape[0])
        chunks = []
        for start in range(0, x.shape[0], s.batch_size):
            xb = x[start : start + s.batch_size]
            yb = y[start : start + s.batch_size] if real.labelled else None
            chunks.append(_logits(gan, xb, _d_labels(gan, yb, xb.shape[0], start)))
            advance(xb.shape[0])
        inputs.real_logits = torch.cat(chunks)
    if not (want_features or want_probs):
        return
    cache = StatsCache(_sub(s.cache_dir, "stats")) if s.cache else None
    if cache is None:
        _extract_real(inputs, x, extractor, s, progress, want_probs)
        return
    from gancore.storage.cache import device_id, fingerprint

    key = {"dataset": real.type, "split": real.split, "extractor": extractor.name,
           "params": {**real.cache_params(), "_seed": real.seed,
                      "_extractor": _extractor_id(extractor), "_data": fingerprint(x),
                      "_device": device_id(getattr(extractor, "device", None))}}
    if want_probs:  # computed anyway: the features are saved for the next evaluation
        _extract_real(inputs, x, extractor, s, progress, want_probs)
        cache.save_features(inputs.real_features, **key)
        return
    with cache.filling("features", num_samples=x.shape[0], **key):
        cached = cache.load_features(num_samples=x.shape[0], **key)
        if cached is not None:
            inputs.real_features = cached
            return
        _extract_real(inputs, x, extractor, s, progress, want_probs)
        cache.save_features(inputs.real_features, **key)


def _extract_real(inputs: Any, x: torch.Tensor, extractor: Any, s: EvalSettings,
                  progress: _Progress, want_probs: bool) -> None:
    """The real samples' features (and class probabilities) into ``inputs``."""
    advance = progress.track(f"real features ({extractor.name})", x.shape[0])
    feats, probs = [], []
    for batch in x.split(s.batch_size):
        f, p = extractor.extract(batch)
        feats.append(f.float().cpu())
        if p is not None:
            probs.append(p.float().cpu())
        advance(batch.shape[0])
    inputs.real_features = torch.cat(feats)
    if want_probs and probs:
        inputs.real_probs = torch.cat(probs)


def _extractor_id(extractor: Any) -> str:
    cache_id = getattr(extractor, "cache_id", None)
    if isinstance(cache_id, str):
        return cache_id
    path = getattr(extractor, "cache_path", None)
    if path is not None:
        return Path(path).name
    return type(extractor).__name__


def _fill_fake(inputs: Any, needs: set[str], gan: GAN, extractor: Any, n: int, seed: int,
               s: EvalSettings, progress: _Progress) -> None:
    from gancore.train.sample import class_labels

    want_features = "fake_features" in needs
    want_probs = "fake_probs" in needs
    want_logits = "fake_logits" in needs
    want_samples = "fake_samples" in needs
    if not (want_features or want_probs or want_logits or want_samples):
        return
    gen = torch.Generator().manual_seed(seed + 1)
    z = torch.randn(n, gan.latent_dim, generator=gen)
    y = class_labels(gan, n, None)
    device = next(gan.generator.parameters()).device
    feats, probs, logits, samples = [], [], [], []
    advance = progress.track("generating", n)
    with torch.no_grad():
        for start in range(0, n, s.batch_size):
            zb = z[start : start + s.batch_size].to(device)
            yb = None if y is None else y[start : start + s.batch_size]
            x = gan.generator(zb, None if yb is None else yb.to(device)).float()
            if want_features or want_probs:
                f, p = extractor.extract(x)
                feats.append(f.float().cpu())
                if p is not None:
                    probs.append(p.float().cpu())
            if want_logits:
                logits.append(_logits(gan, x, _d_labels(gan, yb, x.shape[0], start)))
            if want_samples:
                samples.append(x.cpu())
            advance(x.shape[0])
    if want_features:
        inputs.fake_features = torch.cat(feats)
    if want_probs and probs:
        inputs.fake_probs = torch.cat(probs)
    if want_logits:
        inputs.fake_logits = torch.cat(logits)
    if want_samples:
        inputs.fake_samples = torch.cat(samples)


def parse_metrics(text: str | None) -> list[str] | None:
    """``"fid,kid"`` -> ``["fid", "kid"]``; ``None`` or empty -> ``None``."""
    if not text:
        return None
    names = [m.strip() for m in text.split(",") if m.strip()]
    if not names:
        raise RecipeError("--metrics lists no metric", key="--metrics", hint="e.g. fid,kid,pr")
    return names
