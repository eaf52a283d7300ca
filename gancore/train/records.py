"""What each step leaves behind: its log record, and the check that its losses are finite."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch

from gancore.train import runstate

if TYPE_CHECKING:
    from gancore.train.run import Run


def log_record(run: Run, images: int, seconds: float) -> dict[str, Any]:
    """The record of a log step: the losses and D's outputs since the last one, the learning
    rates, speed and progress, and the scalars components reported."""
    clock = run.clock
    record: dict[str, Any] = {"step": clock.step}
    record.update(run.log_stats.record())
    run.log_stats.reset()
    record.update(run.report.scalars())
    record["lr_g"] = run.opt_g.param_groups[0]["lr"]
    record["lr_d"] = run.opt_d.param_groups[0]["lr"]
    record["images_per_s"] = images / max(seconds, 1e-9)
    record["images_seen"] = clock.images_seen
    record["elapsed_s"] = round(clock.seconds, 3)
    return record


def check_finite(run: Run, d_loss: torch.Tensor, g_loss: torch.Tensor) -> None:
    """Stop with one message naming the network (D or G loss), the step, the last finite
    losses of both networks and what to try, when a loss is NaN or infinite."""
    d_value, g_value = float(d_loss.detach()), float(g_loss.detach())
    step = run.clock.step
    if math.isfinite(d_value) and math.isfinite(g_value):
        run.report.publish("loop.last_finite", (step, d_value, g_value))
        return
    net, short, value, opt = (
        ("discriminator", "D", d_value, "d_optimizer") if not math.isfinite(d_value)
        else ("generator", "G", g_value, "g_optimizer"))
    both = " (and the generator loss too)" if not any(
        math.isfinite(v) for v in (d_value, g_value)) else ""
    previous = run.report.latest("loop.last_finite", None)
    if previous is None:
        before = "; no finite losses were recorded before it (check the recipe's values)"
    else:
        at, d_last, g_last = previous
        before = f"; the last finite losses were D {d_last:.4g} and G {g_last:.4g} (step {at})"
    last = run.out / runstate.LAST if run.out else None
    kept = f"; the last good checkpoint is {last}" if last is not None and last.exists() else ""
    lr = (run.opt_d if short == "D" else run.opt_g).param_groups[0]["lr"]
    tips = [f"lower the learning rate (train.{opt}.lr is {lr:.3g}; try {lr / 4:.2g})"]
    if not any(p.type in ("gradient_penalty", "r1", "dragan") for p in run.recipe.penalty):
        tips.append('add a gradient penalty ([[penalty]] type = "gradient_penalty" or "r1")')
    if not any(t.type == "grad_clip" for t in run.cfg.techniques):
        tips.append('add gradient clipping (train.techniques = [{ type = "grad_clip", '
                    'max_norm = 10 }])')
    if run.precision != "fp32":
        tips.append('use precision = "fp32"')
    raise runstate.TrainingError(
        f"the {net} loss became {value} at step {step} (the {short} loss){both}{before}{kept}",
        hint="; ".join(tips))
