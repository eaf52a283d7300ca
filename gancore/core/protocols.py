"""The protocols every component follows: the author API of each kind.

They are structural (``typing.Protocol``): a plugin's class needs no gancore base class, only
the members below. The framework reads nothing else. Required members are checked on every
object a factory returns (:func:`gancore.core.contract.check_product`); members documented as
*optional* have the default given, and :mod:`gancore.core.contract` reads them with that default.
:data:`gancore.core.kinds.KINDS` says which protocol each kind follows.
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
    """A layer of a stack network, made as ``Factory(in_channels, **params, ctx=ctx)``.

    Required: ``out_channels``, the channel (or feature) count it produces, and
    ``forward(x, cond=None)``. ``cond`` is what the network passes every block: the class
    labels ``y`` (int64 ``[B]``, or ``None`` when unconditional), unless the network sets
    ``ctx.cond_dim``, in which case it is a float ``[B, cond_dim]`` condition (StyleGAN's w).

    Optional: ``scale`` (default 1.0), the spatial factor (2 upsamples, 0.5 downsamples);
    ``out_resolution``, an absolute resolution set by the block (a dense stem; ``None`` for a
    flat vector), which takes precedence over ``scale``; ``required_resolution`` (heads that
    only work at one input resolution); ``cond_dim``, the size of the float condition the
    block expects when used on its own (the testing kit passes one).
    The builder checks the declared sizes against the output once, on the meta device.
    """

    out_channels: int
    scale: float

    def __call__(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor: ...


@runtime_checkable
class Generator(Protocol):
    """``forward(z, y=None) -> samples [B, *data_shape]``; made as ``Factory(**params, ctx=ctx)``.

    ``latent_dim`` is the size of ``z``; ``num_classes`` (optional, default 0) > 0 means it
    needs labels ``y``. Read the data's shape from ``ctx.data_shape``.
    """

    latent_dim: int
    num_classes: int

    def __call__(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor: ...


@runtime_checkable
class Discriminator(Protocol):
    """``forward(x, y=None) -> logits [B]``; made as ``Factory(**params, ctx=ctx)``.

    ``num_classes`` (optional, default 0) > 0 means it needs labels ``y``. ``aux_classes``
    (optional, default 0) > 0 means it has an auxiliary classifier (ACGAN): then
    ``forward(x, y, return_classes=True)`` returns ``(logits [B], class_logits [B,
    aux_classes])`` from the one pass, for losses with ``uses_class_logits``.
    """

    num_classes: int

    def __call__(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor: ...


@runtime_checkable
class Loss(Protocol):
    """An adversarial loss on raw discriminator logits, made as ``Factory(**params)``.

    Both methods return scalar tensors. Optional: ``real_target`` (float), the target for
    real logits, which the trainer lowers for one-sided label smoothing (``train.
    label_smoothing``) when the attribute exists; ``needs_real_for_g`` (default False): the
    trainer passes ``real_logits`` to ``g_loss`` only when it is True; ``uses_class_logits``
    (default False): when True, the discriminator must have ``aux_classes`` and the trainer
    adds ``d_class_loss(real_class_logits, fake_class_logits, y)`` to the D loss and
    ``g_class_loss(fake_class_logits, y)`` to the G loss (``y``: the labels of the real
    batch, which the fakes were generated for); ``decision_threshold`` (float or None,
    default 0.0): the logit above which D's output counts as "real" in the discriminator's
    accuracy and F1, in the training log and in evaluation; ``None`` means no fixed threshold
    (a Wasserstein critic), and the midpoint of the mean real and mean fake logits is used.
    """

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor: ...

    def g_loss(
        self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None
    ) -> torch.Tensor: ...


@runtime_checkable
class FeatureNorm(Protocol):
    """A feature normalization, made as ``Factory(num_features, dims=2, num_classes=0, **params)``.

    ``dims`` is 2 for feature maps ``[B, C, H, W]`` and 1 for vectors ``[B, C]``; the output has
    the input's shape. Optional: ``conditional`` (default False): when True the norm is called
    as ``norm(x, y)`` with the labels (conditional batch norm). A norm that cannot handle
    vectors raises ``ValueError`` for ``dims = 1``.
    """

    def __call__(self, x: torch.Tensor, *args: Any) -> torch.Tensor: ...


@runtime_checkable
class WeightNorm(Protocol):
    """A weight normalization, ``Factory(module, **params) -> module``: wraps a layer (spectral
    norm...) and returns it, computing the same output shape."""

    def __call__(self, module: torch.nn.Module) -> torch.nn.Module: ...


#: The protocol of the ``norm`` kind (feature norms) and ``weight_norm`` kind.
Normalization = FeatureNorm


@runtime_checkable
class Penalty(Protocol):
    """A discriminator regulariser, made as ``Factory(**params)``.

    ``penalty(discriminator, real, fake, y)`` returns a scalar tensor (without the weight);
    the trainer adds ``weight * interval * value`` to the D loss every ``interval`` D steps.
    """

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
    """A map-style dataset of ``(x, y)``: ``x`` float (images in [-1, 1]), ``y`` an int64 label
    (0 if none).

    Required: its class has ``describe(**params) -> DataSpec`` (called with the recipe's
    parameters, without loading anything), and ``x`` has ``describe().shape``. Optional:
    ``as_tensors() -> (x, y)`` for in-memory sets, so the trainer batches without a
    DataLoader, with ``augment(batch)`` applied per batch; ``storage() ->
    gancore.data.common.ImageStorage`` for sets kept as uint8 images (converted to float per
    batch on the device; takes precedence over ``as_tensors``); ``modes()`` for 2D mixtures.
    """

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]: ...


@runtime_checkable
class Filter(Protocol):
    """``Factory(**params) -> callable``: chooses the training images, once before training.

    ``filter(dataset, ctx)`` receives the training dataset (after ``data.inject_noise`` and the
    filters before it) and a :class:`gancore.data.filters.FilterContext` (``ctx.key``,
    ``ctx.seed``, ``ctx.batch_size``, ``ctx.num_classes``, ``ctx.cache_dir``,
    ``ctx.tensors(dataset)``), and returns the indices of the items to keep: a 1-D integer
    tensor (or sequence) into ``dataset``; an index given twice is an item seen twice as often
    (oversampling). The same dataset and seed must give the same indices. Optional, set by the
    call: ``scores`` (one float per item received, higher for items more likely dropped) and
    ``threshold`` (the score above which items were dropped) and ``score_name`` (what the
    score is), which ``gancore data inspect`` plots.
    """

    def __call__(self, dataset: Any, ctx: Any) -> torch.Tensor: ...


@runtime_checkable
class Augment(Protocol):
    """``Factory(**params) -> callable``: a differentiable augmentation ``x -> x`` (same shape),
    applied alike to real and fake discriminator inputs."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class Technique(Protocol):
    """``Factory(**params, run=view) -> object``: a training technique on the step's extension
    points (the table :data:`gancore.core.kinds.POINTS`); ``run`` is passed when the factory
    declares it (the run's read-only :class:`~gancore.train.run.RunView`).

    It implements at least one of ``freeze(networks)``, ``d_targets(loss)``, ``d_input(x)``,
    ``d_pass(forward, real, fake, y)``, ``d_term(batch)``, ``g_select(fake_logits)``,
    ``g_term(batch)``, ``before_step(network, params)`` and ``after_step(network, params)``.

    Optional: ``points``, the names of the points it implements (registering
    ``points=(...)`` lets the registry refuse an unknown name before anything is imported);
    ``requires``, :class:`~gancore.recipe.requirements.Requirement` s on the rest of the
    recipe; ``averaged_generator = True`` with a ``module`` attribute, for a technique that
    keeps an averaged copy of G (sampling, evaluation and the checkpoint's ``ema`` section use
    it); ``state_dict``/``load_state_dict`` (:class:`Stateful`) to keep state across --resume.
    """


@runtime_checkable
class Activation(Protocol):
    """``Factory(**params) -> module``: an elementwise activation (shape kept). Factories that
    take ``inplace`` get ``inplace=True`` where the input is a fresh tensor."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class Init(Protocol):
    """``Factory(network, **params) -> None``: initialises a network's weights in place.

    Skip modules for which :func:`gancore.core.contract.keeps_init` is true (they set the attribute
    :data:`gancore.core.contract.KEEP_INIT`, like a conditional norm's class embeddings).
    """

    def __call__(self, network: torch.nn.Module) -> None: ...


@runtime_checkable
class Optimizer(Protocol):
    """``Factory(params, **hyper) -> torch.optim.Optimizer``."""

    param_groups: list[dict[str, Any]]

    def step(self) -> Any: ...

    def zero_grad(self) -> None: ...


@runtime_checkable
class Schedule(Protocol):
    """``Factory(optimizer, total_steps, **params) -> LRScheduler``, stepped once per G update.

    Its ``state_dict()`` goes into checkpoints, so a resumed run continues the schedule.
    """

    def step(self) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...


@runtime_checkable
class Stateful(Protocol):
    """A component whose state survives ``--resume`` (any kind: a penalty's running averages,
    an augment's adaptive probability, a callback's counters).

    ``state_dict()`` returns a dict of tensors and plain JSON values (numbers, strings, bools,
    None, and lists/dicts of them); the trainer stores the tensors in the checkpoint's
    safetensors and the rest in its JSON metadata (nothing is pickled) and hands the same dict
    back to ``load_state_dict(state)`` on resume. An ``nn.Module`` has both already (its
    parameters and buffers).
    """

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...


@runtime_checkable
class Callback(Protocol):
    """Training events, made as ``Factory(**params)`` (``run=`` the run's view when declared);
    every method is *optional* and gets the run's read-only
    :class:`~gancore.train.run.RunView` first.

    - ``on_run_start(run)``: after set-up (and after a resume restored the state);
    - ``on_step_end(run, step)``: after every generator update. Keep it cheap: the statistics
      (``run.stats.latest("d.real_logits")``...) stay on the device; reading them
      (``float(...)``) syncs with the GPU, so read them every k steps;
    - ``on_log(run, record)``: a ``metrics.jsonl`` record is about to be written (floats; a
      callback may add keys);
    - ``on_step_done(run, step)``: after the step's log record (gancore's writers save here);
    - ``on_samples(run, path)``: a sample grid was written;
    - ``on_checkpoint(run, path)``: a checkpoint was written;
    - ``on_eval(run, scores)``: in-training evaluation scores (``train.eval_every``);
    - ``on_finish(run, reason)``: the run stops (``"end"``, ``"stop"``, ``"interrupt"``);
    - ``on_run_end(run, result)``: the run finished (a :class:`TrainResult`);
    - ``on_failure(run, error)``: the run stops with ``error``.

    ``run.stop(reason)`` (or raising :class:`~gancore.train.events.StopTraining`) ends the run
    after the current step as a normal end.

    ``optional`` (default False): when True (or the recipe's reference says
    ``optional = true``), a callback that raises is disabled with a warning and the run goes
    on; otherwise the run stops (with a checkpoint saved) with one message naming the callback
    and its pack. A callback may be :class:`Stateful`.

    ``wanted(run) -> bool`` (optional): asked once before ``on_run_start``; a callback that
    answers False hears no event of the run, so a pack's default callback with nothing to do in
    a recipe costs nothing per step. A :class:`~gancore.core.errors.RecipeError` raised by
    ``wanted`` or ``on_run_start`` is the user's mistake: it stops the run before it starts, as
    it is, with no checkpoint written.
    """

    optional: bool


@runtime_checkable
class Tracker(Protocol):
    """An experiment tracker, made as ``Factory(out, **params)`` on rank 0 only.

    ``out`` is the run folder (``None`` for a run without one). Required:
    ``log_scalars(values, step)`` (a dict of floats: the losses of every log step, and the
    evaluation scores, keyed ``eval/<metric>/<extractor>``). Optional: ``log_hparams(params)``
    (the resolved recipe, flattened to ``{"train.batch_size": 64, ...}``, at the start),
    ``log_image(name, path, step)`` (each sample grid PNG), ``close()`` (the end of the run,
    whatever its outcome).
    """

    def log_scalars(self, values: dict[str, float], step: int) -> None: ...
