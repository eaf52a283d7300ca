"""Discriminator regularisers of the recent literature (kind ``penalty``) and zCR (a technique).

Each penalty is called as ``penalty(discriminator, real, fake, y) -> scalar`` (without its
weight) and has ``weight`` and ``interval``: the trainer adds ``weight * interval * value`` to
the discriminator's loss every ``interval`` discriminator steps (see
:mod:`gancore.train.penalties`).

- ``lecam``: LeCam regularisation (Tseng et al. 2021), the reference code's one-sided form with
  its start step, anchors kept as state;
- ``cr``: consistency regularisation (Zhang et al. 2020), real images only;
- ``bcr``: balanced consistency regularisation (Zhao et al. 2021), real and generated images;
- ``zero_gp``: zero-centred gradient penalty at interpolates (Thanh-Tung et al. 2019);
- ``max_gp``: the largest ``(|∇D(x̂)| − target)²`` of the batch at interpolates;
- ``zcr`` (kind ``technique``, extension points ``d_term`` and ``g_term``): latent consistency
  regularisation (Zhao et al. 2021), which needs the generator and the latents of the step.

CR, bCR and zCR share one meaning of ``weight``: the paper's λ of D's consistency term (CR's λ,
bCR's λ_real = λ_fake, zCR's λ_dis).

The consistency terms use :func:`translate_flip`, a differentiable augmentation written with
torch ops (a random horizontal flip, then a random translation by up to ``translation`` of the
size), as the reference code's ``apply_cr_aug`` (POSTECH-CVLab/PyTorch-StudioGAN
``src/utils/cr.py``); it is the ``augment`` attribute of the penalty, so any ``x -> x`` callable
can replace it. The pixels a shift uncovers are filled by reflection by default, as the
reference does (``fill = "reflect"``); ``"edge"`` repeats the border pixel, and ``"zeros"``
(DiffAugment's convention) fills with 0, which is mid-grey in images scaled to [-1, 1], a border
that dark-background data never has.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

import torch
from pydantic import Field
from torch import nn

from gancore.core.errors import RecipeError

#: The weight of a penalty in the discriminator's loss.
Weight = Annotated[
    float, Field(ge=0.0, le=1e6, allow_inf_nan=False, description="weight in [0, 1e6]")
]
#: Every how many discriminator steps a penalty is applied (lazy regularisation).
Interval = Annotated[
    int, Field(ge=1, le=1000, description="apply every this many D steps (1..1000)")
]
#: The largest shift of :func:`translate_flip`, as a fraction of the image size.
Translation = Annotated[
    float,
    Field(ge=0.0, le=0.5, allow_inf_nan=False,
          description="largest random shift, as a fraction of the size (0..0.5)"),
]
Flip = Annotated[bool, Field(description="also flip images horizontally at random")]
#: What :func:`translate_flip` puts in the pixels a shift uncovers.
Fill = Annotated[
    Literal["reflect", "edge", "zeros"],
    Field(description='"reflect" mirrors the image at its border (the reference\'s); '
                      '"edge" repeats the border pixels; "zeros" fills with 0 (mid-grey in '
                      "[-1, 1])"),
]
def _optional_weight(description: str) -> Any:
    """A λ in [0, 1e6] that may be left unset."""
    return Annotated[float | None, Field(ge=0.0, le=1e6, allow_inf_nan=False,
                                         description=description)]


BcrLambda = _optional_weight("λ of both sides, the paper's λ (unset: 10)")
SideLambda = _optional_weight("this side's λ (unset: weight)")
#: The first step at which a scheduled term is applied.
StartStep = Annotated[
    int, Field(ge=0, le=10**9, description="the term is off through this step and on after "
               "it, while the anchors track (0..10**9)")
]
#: The standard deviation of zCR's latent perturbation.
LatentNoise = Annotated[
    float, Field(gt=0.0, le=10.0, allow_inf_nan=False,
                 description="standard deviation of the latent perturbation (0..10]")
]

#: bCR's λ_real and λ_fake when neither is given (Zhao et al. 2021 use 10 for both).
BCR_LAMBDA = 10.0
#: The defaults of bCR's deprecated ``real_weight`` / ``fake_weight`` (and of its ``weight``).
OLD_BCR_SIDE_WEIGHT, OLD_BCR_WEIGHT = 10.0, 1.0


def _interpolates(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Random points on the segments between real and fake samples (one α per sample)."""
    real = real.detach()
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    alpha = torch.rand(shape, device=real.device, dtype=real.dtype)
    return torch.lerp(real, fake.detach().to(real.dtype), alpha)


def input_gradients(d: nn.Module, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    """``∇ₓ D(x)`` per sample, flattened ``[B, numel]`` (float32), kept in the graph."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(d(x, y).float().sum(), x, create_graph=True)
    return grad.float().flatten(1)


def _reflect(index: torch.Tensor, size: int) -> torch.Tensor:
    """Indices outside ``[0, size)`` mirrored at the border (``torch.nn.functional.pad``'s
    ``"reflect"``: the border pixel is not repeated), clamped when a shift exceeds the size."""
    index = torch.where(index < 0, -index, index)
    index = torch.where(index > size - 1, 2 * (size - 1) - index, index)
    return index.clamp(0, size - 1)


def translate_flip(x: torch.Tensor, translation: float = 0.125, flip: bool = True,
                   fill: str = "reflect") -> torch.Tensor:
    """Flip each image horizontally with probability 1/2, then shift it by up to
    ``translation`` of its size (uniform integer shifts); differentiable. Uncovered pixels
    mirror the image at its border (``fill="reflect"``), repeat the nearest edge pixel
    (``"edge"``) or are 0 (``"zeros"``). Non-image tensors pass unchanged."""
    if fill not in ("reflect", "edge", "zeros"):
        raise ValueError(f'fill must be "reflect", "edge" or "zeros", not {fill!r}')
    if x.dim() != 4:
        return x
    b, _, h, w = x.shape
    if flip:
        mask = torch.rand(b, 1, 1, 1, device=x.device) < 0.5
        x = torch.where(mask, x.flip(-1), x)
    sh, sw = int(h * translation + 0.5), int(w * translation + 0.5)
    if sh == 0 and sw == 0:
        return x
    dy = torch.randint(-sh, sh + 1, (b, 1, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (b, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1) + dy  # source row of each pixel
    cols = torch.arange(w, device=x.device).view(1, 1, w) + dx
    if fill == "reflect":
        rows, cols = _reflect(rows, h), _reflect(cols, w)
    index = (rows.clamp(0, h - 1) * w + cols.clamp(0, w - 1)).flatten(1)  # [B, H*W]
    flat = x.flatten(2)  # [B, C, H*W]
    moved = flat.gather(2, index.unsqueeze(1).expand(-1, x.shape[1], -1)).view_as(x)
    if fill != "zeros":
        return moved
    inside = ((rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)).unsqueeze(1)
    return moved * inside.to(x.dtype)


class _Regulariser:
    def __init__(self, weight: float, interval: int) -> None:
        if interval < 1:
            raise ValueError("interval must be 1 or more")
        self.weight, self.interval = float(weight), int(interval)


# -- LeCam --------------------------------------------------------------------------------------
class LeCam(nn.Module):
    """LeCam regularisation (Tseng et al. 2021), as the reference code computes it.

    ``E[relu(D(x) − α_F)²] + E[relu(α_R − D(G(z)))²]`` (the one-sided form of google/lecam-gan
    ``biggan_cifar/losses.py`` ``lecam_reg`` and of POSTECH-CVLab/PyTorch-StudioGAN
    ``src/utils/losses.py`` ``lecam_reg``); ``hinged = false`` takes the paper's two-sided form
    ``E[(D(x) − α_F)²] + E[(D(G(z)) − α_R)²]`` (equation 3).

    The anchors ``α_R`` and ``α_F`` follow D's mean outputs on real and fake batches: at each
    call they are updated with this batch's means before the penalty is computed, the first
    call sets them to those means, and while the step is below ``start`` they are the latest
    means (decay 0), then an exponential moving average ``α ← decay·α + (1 − decay)·mean``.
    The term is off up to and including step ``start`` and on after it (the reference's
    ``itr > start_itr``; google/lecam-gan ``third_party/train_fns.py`` and
    ``third_party/utils.py`` ``ema_losses``, StudioGAN ``src/worker.py`` and ``src/utils/ops.py``
    ``LeCamEMA``); while off its value is 0 (D is still called, so the anchors track). The step
    is the run's (``run.step``; without a run, the calls made); the schedule is in steps, so it
    does not stretch when a run is resumed with a larger ``--steps``. The anchors (buffers
    ``ema_real``, ``ema_fake``) and the count of updates are saved in checkpoints and restored
    on ``--resume``.

    The weight depends on the loss and the network: 0.3 for hinge-loss BigGAN and SNGAN on
    CIFAR (google/lecam-gan ``biggan_cifar/scripts/lc-biggan-cifar10*.sh`` ``--LC 0.3``;
    StudioGAN ``src/configs/CIFAR10/BigGAN-LeCam.yaml``), 0.01 for BigGAN at 256x256 (StudioGAN
    ``src/configs/AFHQv2/BigGAN-256Res-LeCam.yaml``), 1e-6 to 3e-7 for StyleGAN2's logistic
    loss (google/lecam-gan ``stylegan2/scripts/run_train_cifar.sh`` 1e-6,
    ``run_train_ffhq.sh`` 3e-7; StudioGAN ``src/configs/AFHQv2/StyleGAN2-256Res-LeCam.yaml``
    3e-7). ``decay`` is 0.99 as in StudioGAN's configs and the reference's StyleGAN2 code
    (``stylegan2/lecam_loss.py``); its BigGAN code uses 0.9. Every reference regularises a
    discriminator without batch norm.
    """

    def __init__(
        self,
        weight: Weight = 0.3,
        interval: Interval = 1,
        decay: Annotated[
            float, Field(ge=0.0, lt=1.0, allow_inf_nan=False,
                         description="EMA decay of the anchors in [0, 1)")
        ] = 0.99,
        hinged: Annotated[bool, Field(
            description="the reference code's one-sided (relu) form; false: the paper's "
                        "two-sided form")] = True,
        start: StartStep = 1000,
        *,
        run: Any = None,
    ) -> None:
        super().__init__()
        if interval < 1:
            raise ValueError("interval must be 1 or more")
        self.weight, self.interval, self.decay, self.hinged = float(weight), interval, decay, hinged
        self.start = int(start)
        self._run = run
        self._calls = 0  # the step without a run
        self.register_buffer("ema_real", torch.zeros(()))
        self.register_buffer("ema_fake", torch.zeros(()))
        #: anchor updates made (0: the next batch sets the anchors)
        self.register_buffer("updates", torch.zeros((), dtype=torch.int64))

    @property
    def step(self) -> int:
        """The step the schedule reads: the run's, else the number of calls made."""
        return self._run.step if self._run is not None else self._calls

    @torch.no_grad()
    def update(self, real_mean: torch.Tensor, fake_mean: torch.Tensor, step: int) -> None:
        """``α ← decay·α + (1 − decay)·mean`` for both anchors (decay 0 before ``start``; the
        first update sets them to the means)."""
        if self.ema_real.device != real_mean.device:
            self.to(real_mean.device)
        decay = self.decay if step >= self.start else 0.0
        first = self.updates == 0
        for anchor, mean in ((self.ema_real, real_mean), (self.ema_fake, fake_mean)):
            mean = mean.detach().float()
            anchor.copy_(torch.where(first, mean, anchor * decay + mean * (1.0 - decay)))
        self.updates += 1

    def regularise(self, real_out: torch.Tensor, fake_out: torch.Tensor,
                   step: int | None = None) -> torch.Tensor:
        """Update the anchors with these outputs, then the penalty on them (0 up to ``start``).

        ``step`` defaults to :attr:`step`."""
        step = self.step if step is None else step
        real_out, fake_out = real_out.float(), fake_out.float()
        self.update(real_out.mean(), fake_out.mean(), step)
        if step <= self.start:
            # off: a zero that keeps D in the graph (a penalty's value back-propagates to D)
            return (real_out.sum() + fake_out.sum()) * 0.0
        a = real_out - self.ema_fake
        b = fake_out - self.ema_real
        if self.hinged:
            a, b = torch.relu(a), torch.relu(-b)
        return a.pow(2).mean() + b.pow(2).mean()

    def forward(self, d: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                y: torch.Tensor | None = None) -> torch.Tensor:
        value = self.regularise(d(real.detach(), y), d(fake.detach(), y))
        self._calls += 1
        return value

    def get_extra_state(self) -> dict[str, Any]:
        return {"calls": self._calls}

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        """The state of :meth:`state_dict`; a state saved before the update count and the
        call count existed (gancore 0.3) counts as anchors already set."""
        state = dict(state_dict)
        if "ema_real" in state and "updates" not in state:
            state["updates"] = torch.ones((), dtype=torch.int64)
        state.setdefault("_extra_state", {"calls": 0})
        return super().load_state_dict(state, strict, assign)

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self._calls = int(state.get("calls", 0))

    def extra_repr(self) -> str:
        form = "one-sided" if self.hinged else "two-sided"
        return f"weight={self.weight:g}, decay={self.decay:g}, {form}, start={self.start}"


# -- consistency regularisation -------------------------------------------------------------
def _consistency(d: nn.Module, x: torch.Tensor, y: torch.Tensor | None,
                 augment: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """``E[(D(x) − D(T(x)))²]`` (StudioGAN's ``l2_loss``: the mean over the batch)."""
    x = x.detach()
    return (d(x, y).float() - d(augment(x), y).float()).pow(2).mean()


def _translate_flip(translation: float, flip: bool, fill: str) -> Callable[[torch.Tensor],
                                                                           torch.Tensor]:
    return lambda x: translate_flip(x, translation, flip, fill)


class CR(_Regulariser):
    """Consistency regularisation (Zhang et al. 2020): ``λ E[(D(x) − D(T(x)))²]`` on real
    images, ``weight`` being λ (the paper's 10).

    ``T`` is :func:`translate_flip` (the ``augment`` attribute): a flip with probability 1/2
    and a shift by up to 1/8 of the size, filled by reflection, as POSTECH-CVLab/PyTorch-StudioGAN
    ``src/utils/cr.py`` ``apply_cr_aug``; the term is StudioGAN ``src/worker.py``'s
    ``cr_lambda * l2_loss(D(x), D(T(x)))`` (``src/configs/CIFAR10/BigGAN-CR.yaml``:
    ``cr_lambda = 10``).
    """

    def __init__(
        self,
        weight: Weight = 10.0,
        interval: Interval = 1,
        translation: Translation = 0.125,
        flip: Flip = True,
        fill: Fill = "reflect",
    ) -> None:
        super().__init__(weight, interval)
        self.augment: Callable[[torch.Tensor], torch.Tensor] = _translate_flip(
            translation, flip, fill)

    def consistency(self, d: nn.Module, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """``E[(D(x) − D(T(x)))²]`` over the batch ``x``."""
        return _consistency(d, x, y, self.augment)

    def __call__(self, d: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                 y: torch.Tensor | None = None) -> torch.Tensor:
        return self.consistency(d, real, y)


def bcr_lambdas(weight: float | None, lambda_real: float | None, lambda_fake: float | None,
                real_weight: float | None, fake_weight: float | None) -> tuple[float, float]:
    """bCR's ``(λ_real, λ_fake)`` from its parameters.

    ``weight`` is λ for both sides (unset: 10), ``lambda_real`` and ``lambda_fake`` override a
    side. A recipe that sets ``real_weight`` or ``fake_weight`` is written for the meaning of
    gancore 0.3 and earlier, where ``weight`` (default 1) multiplied them (default 10 each):
    λ_real = weight × real_weight, λ_fake = weight × fake_weight. Mixing the two spellings is a
    :class:`~gancore.errors.RecipeError`.
    """
    if real_weight is not None or fake_weight is not None:
        if lambda_real is not None or lambda_fake is not None:
            raise RecipeError(
                "bcr: real_weight/fake_weight (the deprecated spelling, multiplied by weight) "
                "and lambda_real/lambda_fake (the paper's λ) are both set",
                hint="keep lambda_real and lambda_fake (the λs themselves) and remove "
                     "real_weight and fake_weight")
        scale = OLD_BCR_WEIGHT if weight is None else weight
        rw = OLD_BCR_SIDE_WEIGHT if real_weight is None else real_weight
        fw = OLD_BCR_SIDE_WEIGHT if fake_weight is None else fake_weight
        return scale * rw, scale * fw
    both = BCR_LAMBDA if weight is None else weight
    return (both if lambda_real is None else lambda_real,
            both if lambda_fake is None else lambda_fake)


class BCR:
    """Balanced consistency regularisation (Zhao et al. 2021, "Improved consistency
    regularization for GANs"): ``λ_real E[(D(x) − D(T(x)))²] + λ_fake E[(D(G(z)) −
    D(T(G(z))))²]``.

    ``weight`` is the paper's λ for both sides (λ_real = λ_fake = 10 when unset, as
    POSTECH-CVLab/PyTorch-StudioGAN ``src/configs/CIFAR10/BigGAN-ICR.yaml``'s ``real_lambda``
    and ``fake_lambda``); ``lambda_real`` and ``lambda_fake`` set one side. The term is
    StudioGAN ``src/worker.py``'s ``real_lambda * l2_loss(...) + fake_lambda * l2_loss(...)``,
    with ``T`` :func:`translate_flip` as in ``src/utils/cr.py`` (the ``augment`` attribute).

    Deprecated (gancore 0.3 and earlier): ``real_weight`` and ``fake_weight`` multiplied by
    ``weight``. A recipe that sets either keeps that meaning (λ_real = weight × real_weight,
    with weight 1 and the other side 10 when unset) with a deprecation warning; they go away in
    gancore 0.5. ``{ type = "bcr", weight = 10 }`` meant λ = 100 then and means λ = 10 now.

    The λs are part of the value: ``bcr`` carries ``weight = 1`` for the update's multiplier
    (``weight * interval * value``), and ``lambda_real`` / ``lambda_fake`` are the λs used.
    """

    def __init__(
        self,
        weight: BcrLambda = None,
        interval: Interval = 1,
        lambda_real: SideLambda = None,
        lambda_fake: SideLambda = None,
        translation: Translation = 0.125,
        flip: Flip = True,
        fill: Fill = "reflect",
        real_weight: _optional_weight("deprecated: λ_real / weight (use lambda_real)") = None,
        fake_weight: _optional_weight("deprecated: λ_fake / weight (use lambda_fake)") = None,
    ) -> None:
        if interval < 1:
            raise ValueError("interval must be 1 or more")
        self.lambda_real, self.lambda_fake = bcr_lambdas(
            weight, lambda_real, lambda_fake, real_weight, fake_weight)
        self.weight, self.interval = 1.0, int(interval)
        self.augment: Callable[[torch.Tensor], torch.Tensor] = _translate_flip(
            translation, flip, fill)

    def consistency(self, d: nn.Module, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """``E[(D(x) − D(T(x)))²]`` over the batch ``x``."""
        return _consistency(d, x, y, self.augment)

    def __call__(self, d: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                 y: torch.Tensor | None = None) -> torch.Tensor:
        return (self.lambda_real * self.consistency(d, real, y)
                + self.lambda_fake * self.consistency(d, fake, y))


class ZCR:
    """Latent consistency regularisation (zCR, Zhao et al. 2021, "Improved consistency
    regularization for GANs"), a technique on the ``d_term`` and ``g_term`` points.

    With ``T(z) = z + Δz``, ``Δz ~ N(0, sigma² I)``, D is pulled towards the same output on
    G(z) and G(T(z)) and G is pushed to tell them apart:

    - D: ``λ_dis E[(D(G(z)) − D(G(T(z))))²]``, ``weight`` being λ_dis; ``D(G(z))`` are D's
      outputs on the step's fakes (those of its adversarial loss), ``G(T(z))`` is made from the
      same latents and labels without a gradient to G;
    - G: ``−λ_gen E[(G(z) − G(T(z)))²]``, ``g_weight`` being λ_gen, on the G step's fakes.

    As POSTECH-CVLab/PyTorch-StudioGAN ``src/worker.py`` (``apply_zcr``: ``d_lambda`` and
    ``g_lambda`` times ``l2_loss``, the mean over the batch and, for images, every pixel) and
    ``src/utils/sample.py`` (``zs + radius * N(0, I)``); the defaults are its
    ``src/configs/CIFAR10/BigGAN-ICR.yaml``: ``d_lambda = 20``, ``g_lambda = 0.5``,
    ``radius = 0.05``. Its D term needs the step's latents, which the update gives every
    ``d_term`` (``batch.z``); without them (a batch that has none) it is skipped.
    """

    points = ("d_term", "g_term")

    def __init__(
        self,
        weight: Annotated[float, Field(ge=0.0, le=1e6, allow_inf_nan=False,
                                       description="λ_dis, D's consistency weight")] = 20.0,
        g_weight: Annotated[float, Field(ge=0.0, le=1e6, allow_inf_nan=False,
                                         description="λ_gen, G's diversity weight")] = 0.5,
        sigma: LatentNoise = 0.05,
        *,
        run: Any = None,
    ) -> None:
        self.weight, self.g_weight, self.sigma = float(weight), float(g_weight), float(sigma)
        self._run = run

    def _perturbed(self, z: torch.Tensor) -> torch.Tensor:
        return z + self.sigma * torch.randn_like(z)

    def _generator_labels(self, y: torch.Tensor | None) -> torch.Tensor | None:
        if self._run is None:
            return y
        return y if self._run.num_classes > 0 else None

    def d_term(self, batch: Any) -> torch.Tensor | None:
        z = getattr(batch, "z", None)
        if z is None or self.weight == 0.0:
            return None
        generator = self._run.generator if self._run is not None else None
        if generator is None:
            return None
        y_g = getattr(batch, "y_g", None)
        with torch.no_grad():
            moved = generator(self._perturbed(z), y_g)
        out = batch.discriminator(moved, batch.y).float()
        return self.weight * (batch.fake_logits.float() - out).pow(2).mean()

    def g_term(self, batch: Any) -> torch.Tensor | None:
        if self.g_weight == 0.0:
            return None
        moved = batch.generator(self._perturbed(batch.z), self._generator_labels(batch.y))
        return -self.g_weight * (batch.fake.float() - moved.float()).pow(2).mean()


# -- gradient penalties at interpolates ---------------------------------------------------------
class ZeroGP(_Regulariser):
    """Zero-centred gradient penalty (Thanh-Tung et al. 2019): ``E[|∇D(x̂)|²]`` at random
    interpolates ``x̂`` between real and fake samples."""

    def __init__(self, weight: Weight = 10.0, interval: Interval = 1) -> None:
        super().__init__(weight, interval)

    def __call__(self, d: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                 y: torch.Tensor | None = None) -> torch.Tensor:
        return input_gradients(d, _interpolates(real, fake), y).pow(2).sum(1).mean()


class MaxGP(_Regulariser):
    """Maximum gradient penalty: ``max over the batch of (|∇D(x̂)| − target)²`` at random
    interpolates (the worst sample only, as in Lipschitz GANs, Zhou et al. 2019)."""

    def __init__(
        self,
        weight: Weight = 10.0,
        interval: Interval = 1,
        target: Annotated[
            float, Field(ge=0.0, le=1e3, allow_inf_nan=False,
                         description="the gradient norm aimed at (0..1000)")
        ] = 1.0,
    ) -> None:
        super().__init__(weight, interval)
        self.target = target

    def __call__(self, d: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                 y: torch.Tensor | None = None) -> torch.Tensor:
        grad = input_gradients(d, _interpolates(real, fake), y)
        norm = (grad.pow(2).sum(1) + 1e-12).sqrt()
        return (norm - self.target).pow(2).max()
