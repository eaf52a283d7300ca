"""The maths of one training step, in phases.

A step is ``n_critic`` discriminator phases, then one generator phase:

- **D phase**: a real batch and a fresh fake batch; D's inputs (the recipe's ``augment[]``,
  then the techniques' ``d_input``); D's outputs on both (two passes, or a technique's
  ``d_pass``); the adversarial D loss (+ the loss's class term, ACGAN); then the
  **regularisation phase**: every penalty whose interval has come (lazy regularisation:
  ``weight * interval * value``) and the techniques' ``d_term``; the optimizer step between
  the techniques' ``before_step`` and ``after_step``.
- **G phase**: D's outputs on the last D phase's fakes (kept with their graph, as in the DCGAN
  reference loop, which saves a generator pass), the fakes that count (``g_select``), G's
  loss (+ class term, + the techniques' ``g_term``), the optimizer step; then the step count
  advances and the ``after_step`` hooks of the generator run (EMA).
- The schedules step once per generator update.

Every statistic goes to the run's report channel (``d.real_logits``, ``g.loss``...), read by
callbacks and techniques. Nothing here reads a value from the device.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from gancore.train import acgan
from gancore.train.techniques import DBatch, GBatch

if TYPE_CHECKING:
    from gancore.train.run import Run

Outputs = tuple[torch.Tensor, torch.Tensor | None]


class GanUpdate:
    """One generator update after ``n_critic`` discriminator updates, on a :class:`Run`."""

    def __init__(self, run: Run) -> None:
        self.run = run
        cfg = run.cfg
        self.n_critic = cfg.n_critic
        self.compiled = cfg.compile
        techniques = run.techniques
        self.d_inputs = [*run.augments, *techniques.d_input]
        self.d_terms = techniques.d_term
        self.g_terms = techniques.g_term
        self.g_select = techniques.g_select
        self.d_pass = techniques.d_pass
        self.before_step = techniques.before_step
        self.after_step = techniques.after_step
        self.needs_real_for_g = bool(getattr(run.loss, "needs_real_for_g", False))

    # -- pieces ---------------------------------------------------------------------------------
    def d_input(self, x: torch.Tensor) -> torch.Tensor:
        """What D sees of a batch: the augmentations, then the techniques' ``d_input``."""
        for fn in self.d_inputs:
            x = fn(x)
        return x

    def forward(self, d: Any, x: torch.Tensor, y: torch.Tensor | None) -> Outputs:
        """D's logits (fp32) and, for a loss with class logits (ACGAN), its class logits."""
        with self.run.autocast():
            if self.run.class_loss:
                return acgan.forward_with_classes(d, x, y)
            return d(x, y).float(), None

    def outputs(self, d: Any, real: torch.Tensor, fake: torch.Tensor,
                y: torch.Tensor | None) -> tuple[Outputs, Outputs]:
        """D's outputs on the real and the fake batch (two passes unless a ``d_pass``)."""
        if self.d_pass is None:
            return self.forward(d, real, y), self.forward(d, fake, y)
        return self.d_pass(lambda x, yy: self.forward(d, x, yy), real, fake, y)

    def optimizer_step(self, loss: torch.Tensor, opt: torch.optim.Optimizer,
                       params: list[torch.nn.Parameter], network: str) -> None:
        """Backward, the ``before_step`` hooks (on unscaled gradients), the optimizer step."""
        scaler = self.run.scaler
        if scaler is not None:
            scaler.scale(loss).backward()
            if self.before_step:
                scaler.unscale_(opt)
                for fn in self.before_step:
                    fn(network, params)
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            for fn in self.before_step:
                fn(network, params)
            opt.step()

    def regularise(self, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor | None,
                   real_logits: torch.Tensor, fake_logits: torch.Tensor,
                   z: torch.Tensor | None = None,
                   y_g: torch.Tensor | None = None) -> torch.Tensor | None:
        """The due penalties (``weight * interval * value``) and the techniques' D terms
        (``z``, ``y_g``: the latents and labels of the fakes, for the D terms)."""
        run = self.run
        total = None
        d_updates = run.clock.d_updates
        for pen in run.penalties:
            if d_updates % pen.interval == 0:
                with run.autocast():
                    value = pen(run.D, real, fake, y)
                term = (pen.weight * pen.interval) * value.float()
                total = term if total is None else total + term
        if self.d_terms:
            batch = DBatch(real, fake, y, real_logits, fake_logits, run.D, z, y_g)
            for fn in self.d_terms:
                term = fn(batch)
                if term is not None:
                    total = term.float() if total is None else total + term.float()
        return total

    # -- phases ---------------------------------------------------------------------------------
    def d_phase(self, keep_graph: bool) -> tuple[torch.Tensor, Any, torch.Tensor, Any]:
        """One discriminator update; returns ``(real, fake, d_loss, y)``.

        ``keep_graph``: the fakes keep their generator graph (the last D phase's fakes are
        the G phase's).
        """
        run = self.run
        real, y = run.batches.next()
        if run.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        y_g = y if run.g_conditional else None
        y_d = y if run.d_conditional else None
        with torch.set_grad_enabled(keep_graph), run.autocast():
            z = torch.randn(real.shape[0], run.gan.latent_dim, device=run.device)
            fake = run.G_train(z, y_g)
        real_in = self.d_input(real)
        fake_in = self.d_input(fake.detach())
        (real_logits, real_cls), (fake_logits, fake_cls) = self.outputs(
            run.D_train, real_in, fake_in, y_d)
        d_loss = run.loss.d_loss(real_logits, fake_logits)
        if run.class_loss:
            d_loss = d_loss + run.loss.d_class_loss(real_cls, fake_cls, y)
        run.clock.d_updates += 1
        penalty = self.regularise(real_in, fake_in, y_d, real_logits, fake_logits, z, y_g)
        total = d_loss if penalty is None else d_loss + penalty
        run.opt_d.zero_grad(set_to_none=True)
        self.optimizer_step(total, run.opt_d, run.d_params, "discriminator")
        for fn in self.after_step:
            fn("discriminator", run.d_params)
        run.log_stats.add_d(d_loss, penalty, real_logits, fake_logits)
        report = run.report
        report.publish("d.loss", d_loss)
        report.publish("d.penalty", penalty)
        report.publish("d.fake_logits", fake_logits.detach())
        report.publish("d.real_logits", real_logits.detach())
        self._last_z = z
        return real, fake, d_loss, y

    def g_phase(self, real: torch.Tensor, fake: torch.Tensor, y: Any) -> torch.Tensor:
        """One generator update on the last D phase's fakes; advances the step count."""
        run = self.run
        y_d = y if run.d_conditional else None
        run.D.requires_grad_(False)  # no discriminator weight gradients in the G step
        d = run.D_train if self.compiled else run.D
        try:
            real_logits = None
            if self.needs_real_for_g and self.d_pass is not None:  # relativistic losses
                (real_logits, _), (fake_logits, fake_cls) = self.outputs(
                    d, self.d_input(real), self.d_input(fake), y_d)
            else:
                fake_logits, fake_cls = self.forward(d, self.d_input(fake), y_d)
                if self.needs_real_for_g:
                    with run.autocast():
                        real_logits = d(self.d_input(real), y_d).float()
            top = None if self.g_select is None else self.g_select(fake_logits)
            g_loss = run.loss.g_loss(fake_logits if top is None else fake_logits[top],
                                     real_logits)
            if run.class_loss:
                g_loss = g_loss + run.loss.g_class_loss(
                    *((fake_cls, y) if top is None else (fake_cls[top], y[top])))
            if self.g_terms:
                batch = GBatch(self._last_z, y, fake, fake_logits, real, real_logits, run.G, d)
                for fn in self.g_terms:
                    term = fn(batch)
                    if term is not None:
                        g_loss = g_loss + term
            run.opt_g.zero_grad(set_to_none=True)
            self.optimizer_step(g_loss, run.opt_g, run.g_params, "generator")
        finally:
            run.D.requires_grad_(True)
            for p in run.d_frozen:  # frozen blocks stay without gradients
                p.requires_grad_(False)
        run.log_stats.add_g(g_loss)
        run.report.publish("g.loss", g_loss)
        run.report.publish("g.fake_logits", fake_logits.detach())
        run.clock.step += 1
        for fn in self.after_step:
            fn("generator", run.g_params)
        return g_loss

    def step(self) -> tuple[torch.Tensor, torch.Tensor]:
        """One generator update after ``n_critic`` discriminator updates; the last D loss
        and the G loss (on the device)."""
        run = self.run
        real = fake = y = None
        d_loss = None
        for i in range(self.n_critic):
            real, fake, d_loss, y = self.d_phase(keep_graph=i == self.n_critic - 1)
        assert real is not None and fake is not None and d_loss is not None
        g_loss = self.g_phase(real, fake, y)
        run.sched_g.step()
        run.sched_d.step()
        run.clock.images_seen += self.n_critic * real.shape[0] * run.dist.world_size
        return d_loss, g_loss
