"""The report channel: named statistics of the training step, published and read by name.

The update publishes what every step produces (D's outputs on real and fake images, the losses,
the penalty); techniques and callbacks publish their own (``grad_norm.d``, ADA's ``ada.p``) and
read any of them, without reaching into the trainer::

    run.stats.latest("d.real_logits")                  # the last D step's outputs on reals
    run.stats.subscribe("d.real_logits", fn)           # fn(value) at every publication
    run.stats.scalar("my.rate", value)                 # averaged into the next log record

Publishing keeps a reference (no copy, no device sync); values stay on the device until a
reader converts them. :data:`STATS` lists the statistics gancore publishes, with their type.
A name outside it is allowed when it has a dot (``pack.quantity``), so packs never collide
with gancore's names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from gancore.metrics.classification import threshold_of

#: name -> (type, meaning) of every statistic gancore publishes.
STATS: dict[str, tuple[str, str]] = {
    "d.real_logits": ("Tensor[B]", "D's outputs on the (augmented) real batch of a D step"),
    "d.fake_logits": ("Tensor[B]", "D's outputs on the (augmented) fake batch of a D step"),
    "d.loss": ("Tensor[]", "the adversarial D loss of a D step (penalties excluded)"),
    "d.penalty": ("Tensor[] | None", "the weighted sum of the penalties applied in a D step"),
    "g.fake_logits": ("Tensor[B]", "D's outputs on the fakes of the G step"),
    "g.loss": ("Tensor[]", "the G loss of the G step"),
    "grad_norm.d": ("Tensor[]", "D's gradient norm before clipping (published by grad_clip)"),
    "grad_norm.g": ("Tensor[]", "G's gradient norm before clipping (published by grad_clip)"),
}


class UnknownStatisticError(KeyError):
    """A statistic was read that nobody published (yet)."""


class Report:
    """Latest value per statistic, subscribers per statistic, and scalars for the log."""

    def __init__(self) -> None:
        self._latest: dict[str, Any] = {}
        self._subscribers: dict[str, list[Callable[[Any], None]]] = {}
        self._sums: dict[str, tuple[Any, int]] = {}

    # -- publishing ---------------------------------------------------------------------------
    def publish(self, name: str, value: Any) -> None:
        """Make ``value`` the latest ``name`` and hand it to the subscribers of ``name``."""
        self._latest[name] = value
        subscribers = self._subscribers.get(name)
        if subscribers:
            for fn in subscribers:
                fn(value)

    def scalar(self, name: str, value: float | torch.Tensor) -> None:
        """Add ``value`` to the mean of ``name`` that the next log record shows."""
        if isinstance(value, torch.Tensor):
            value = value.detach().float()
        total, count = self._sums.get(name, (0.0, 0))
        self._sums[name] = (total + value, count + 1)

    # -- reading ------------------------------------------------------------------------------
    def latest(self, name: str, default: Any = ...) -> Any:
        """The last published ``name``; ``default`` (else :class:`UnknownStatisticError`)."""
        try:
            return self._latest[name]
        except KeyError:
            if default is not ...:
                return default
            raise UnknownStatisticError(
                f"no statistic {name!r} was published yet (known: {', '.join(sorted(STATS))})"
            ) from None

    def subscribe(self, name: str, fn: Callable[[Any], None]) -> None:
        """Call ``fn(value)`` at every publication of ``name``."""
        if not name or ("." not in name and name not in STATS):
            raise ValueError(f"a statistic name has a dot, e.g. 'mypack.{name or 'value'}'")
        self._subscribers.setdefault(name, []).append(fn)

    def names(self) -> list[str]:
        """The statistics published so far."""
        return sorted(self._latest)

    def scalars(self) -> dict[str, float]:
        """The means of the scalars reported since the last call (and reset them)."""
        out = {}
        for name, (total, count) in self._sums.items():
            out[name] = float(total) / max(count, 1)
        self._sums.clear()
        return out


class LogStats:
    """Loss and D-output sums on the device between two log records (one sync per record)."""

    KEYS = ("d_loss", "g_loss", "penalty", "d_real", "d_fake", "tp", "fp", "fn", "tn",
            "d_real_logit", "d_fake_logit")

    def __init__(self, device: torch.device, threshold: float | None = 0.0) -> None:
        self.device = device
        self.threshold = threshold  # the loss's decision threshold (None: midpoint of means)
        self.reset()

    def reset(self) -> None:
        self.sums = torch.zeros(len(self.KEYS), device=self.device)
        self.d_count = 0
        self.g_count = 0

    def add_d(self, loss: torch.Tensor, penalty: torch.Tensor | None, real: torch.Tensor,
              fake: torch.Tensor) -> None:
        real, fake = real.detach().float(), fake.detach().float()
        cut = threshold_of(real, fake, self.threshold)
        pos_r, pos_f = (real > cut).float(), (fake > cut).float()
        zero = torch.zeros((), device=self.device)
        values = torch.stack([
            loss.detach().float(), zero,
            zero if penalty is None else penalty.detach().float(),
            torch.sigmoid(real).mean(), torch.sigmoid(fake).mean(),
            pos_r.sum(), pos_f.sum(), (1 - pos_r).sum(), (1 - pos_f).sum(),
            real.mean(), fake.mean(),
        ])
        self.sums += values
        self.d_count += 1

    def add_g(self, loss: torch.Tensor) -> None:
        self.sums[1] += loss.detach().float()
        self.g_count += 1

    def record(self) -> dict[str, float]:
        s = dict(zip(self.KEYS, self.sums.tolist(), strict=True))
        d, g = max(self.d_count, 1), max(self.g_count, 1)
        tp, fp, fn, tn = s["tp"], s["fp"], s["fn"], s["tn"]
        total = max(tp + fp + fn + tn, 1.0)
        return {
            "d_loss": s["d_loss"] / d,
            "g_loss": s["g_loss"] / g,
            "penalty": s["penalty"] / d,
            "d_real": s["d_real"] / d,
            "d_fake": s["d_fake"] / d,
            "d_real_logit": s["d_real_logit"] / d,  # D's raw outputs (a critic's scale)
            "d_fake_logit": s["d_fake_logit"] / d,
            "d_accuracy": (tp + tn) / total,
            "d_f1": 2 * tp / max(2 * tp + fp + fn, 1.0),
        }


@dataclass(frozen=True)
class StatInfo:
    """One entry of :data:`STATS`, for the docs."""

    name: str
    type: str
    meaning: str


def stat_infos() -> list[StatInfo]:
    return [StatInfo(k, t, m) for k, (t, m) in STATS.items()]
