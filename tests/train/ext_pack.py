"""A test pack written against the public API only (``gancore.plugin``): an adaptive augment
driven by a callback from D's outputs (ADA-style), a LeCam-style penalty with running averages,
and a tracker that records what it is given."""

from __future__ import annotations

import json

import torch

from gancore.plugin import hookimpl


class AdaptiveFlip:
    """Flip each image horizontally with probability ``p`` (adapted by ``ada_tune``)."""

    def __init__(self, p: float = 0.0) -> None:
        self.p = p

    def __call__(self, x):
        if self.p <= 0:
            return x
        mask = (torch.rand(x.shape[0], 1, 1, 1, device=x.device) < self.p).to(x.dtype)
        return mask * x.flip(-1) + (1 - mask) * x

    def state_dict(self):
        return {"p": self.p}

    def load_state_dict(self, state):
        self.p = state["p"]


class AdaTune:
    """ADA's heuristic: every ``interval`` steps, move the flip probability by ``speed`` towards
    sign(D(real)) averaging ``target``. Sums on the device; reads them every ``interval`` steps."""

    def __init__(self, target: float = 0.6, interval: int = 2, speed: float = 0.05) -> None:
        self.target, self.interval, self.speed = target, interval, speed
        self.total = torch.zeros(())
        self.count = 0
        self.history: list[float] = []

    def on_step_end(self, trainer, step):
        self.total = self.total.to(trainer.last_real_logits.device)
        self.total += trainer.last_real_logits.sign().mean()
        self.count += 1
        if step % self.interval == 0:
            augment = next(a for a in trainer.augments if isinstance(a, AdaptiveFlip))
            rt = float(self.total) / self.count  # the one host sync, every `interval` steps
            augment.p = min(1.0, max(0.0, augment.p + (self.speed if rt > self.target
                                                       else -self.speed) + 0.01 * rt))
            self.history.append(augment.p)
            self.total = torch.zeros((), device=self.total.device)
            self.count = 0

    def state_dict(self):
        return {"total": self.total, "count": self.count, "history": list(self.history)}

    def load_state_dict(self, state):
        self.total, self.count = state["total"].clone(), state["count"]
        self.history = list(state["history"])


class LeCam:
    """LeCam regularisation (Tseng et al. 2021): D(real) pulled to the running average of
    D(fake) and vice versa; the averages are tensors kept across resumes."""

    def __init__(self, weight: float = 0.3, interval: int = 1, decay: float = 0.9) -> None:
        self.weight, self.interval, self.decay = weight, interval, decay
        self.ema_real = torch.zeros(())
        self.ema_fake = torch.zeros(())
        self.calls = 0

    def __call__(self, discriminator, real, fake, y=None):
        d_real, d_fake = discriminator(real, y), discriminator(fake, y)
        with torch.no_grad():
            self.ema_real = self.decay * self.ema_real.to(d_real) + (1 - self.decay) * d_real.mean()
            self.ema_fake = self.decay * self.ema_fake.to(d_fake) + (1 - self.decay) * d_fake.mean()
        self.calls += 1
        return (d_real - self.ema_fake).pow(2).mean() + (d_fake - self.ema_real).pow(2).mean()

    def state_dict(self):
        return {"ema_real": self.ema_real, "ema_fake": self.ema_fake, "calls": self.calls}

    def load_state_dict(self, state):
        self.ema_real, self.ema_fake = state["ema_real"].clone(), state["ema_fake"].clone()
        self.calls = state["calls"]


class Recorder:
    """A tracker keeping every call in ``<run>/recorder.jsonl``."""

    def __init__(self, out, tag: str = "rec") -> None:
        self.path = None if out is None else out / "recorder.jsonl"
        self.tag = tag

    def _write(self, item):
        if self.path is not None:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(item, default=str) + "\n")

    def log_hparams(self, params):
        self._write({"hparams": params})

    def log_scalars(self, values, step):
        self._write({"scalars": values, "step": step})

    def log_image(self, name, path, step):
        self._write({"image": name, "path": str(path), "step": step})

    def close(self):
        self._write({"closed": True})


class Boom:
    """Raises in on_step_end at step ``at``."""

    def __init__(self, at: int = 2, optional: bool = False) -> None:
        self.at, self.optional = at, optional

    def on_step_end(self, trainer, step):
        if step == self.at:
            raise ValueError(f"boom at {step}")


class Counter:
    """Counts steps (a pack's callback that is on by default)."""

    def __init__(self) -> None:
        self.steps = 0

    def on_step_end(self, trainer, step):
        self.steps += 1

    def state_dict(self):
        return {"steps": self.steps}

    def load_state_dict(self, state):
        self.steps = state["steps"]


@hookimpl
def gancore_register_components(registry):
    registry.add("augment", "adaptive_flip", AdaptiveFlip)
    registry.add("callback", "ada_tune", AdaTune)
    registry.add("penalty", "lecam_avg", LeCam)
    registry.add("tracker", "recorder", Recorder)
    registry.add("callback", "boom", Boom)


class DefaultOn:
    """A second pack whose callback is on by default."""

    @hookimpl
    def gancore_register_components(self, registry):
        registry.add("callback", "counter", Counter, default=True)
