"""``ema``: an exponential moving average of the generator's weights (extension point
``after_step``).

After every generator update the averaged copy moves towards G:
``ema = decay * ema + (1 - decay) * G`` (buffers such as batch-norm statistics are copied), as
in Karras et al. 2018 (progressive GAN) and Yazıcı et al. 2019 ("The unusual effectiveness of
averaging in GAN training"); before ``start`` updates the copy follows G exactly. Samples,
in-training evaluation and checkpoints (section ``ema``) use the averaged copy; a checkpoint
records how many averaging updates it has seen (``trainer.ema.updates``).

An average of ``decay`` spans about ``1 / (1 - decay)`` updates (1,000 at 0.999): before that
it still leans on the initial weights, and ``gancore eval``/``compare`` score the raw weights
instead, with a note. ``rampup`` (default off, the behaviour of earlier versions) warms the
decay up as stylegan2-ada-pytorch does (``training/training_loop.py``, ``ema_rampup``; 0.05 in
its ``auto`` and ``cifar`` configurations): the average's half-life is at most ``rampup`` times
the updates done, so a short run's average is usable from the start.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from gancore.core.params import Steps
from gancore.train.ema import EMA

Decay = Annotated[
    float, Field(ge=0.0, lt=1.0, allow_inf_nan=False, description="decay per update, in [0, 1)")
]
Rampup = Annotated[
    float | None,
    Field(gt=0.0, le=1.0, allow_inf_nan=False,
          description="warm the decay up: half-life at most rampup x updates so far, in (0, 1] "
          "(stylegan2-ada's ema_rampup, e.g. 0.05); None: off"),
]


class ExponentialAverage(EMA):
    """An EMA of G's weights, updated after each generator update."""

    #: sampling, evaluation and checkpoints use :attr:`module`
    averaged_generator = True
    points = ("after_step",)

    def __init__(self, decay: Decay = 0.999, start: Steps = 0, rampup: Rampup = None, *,
                 run: Any) -> None:
        super().__init__(run.generator, decay, start, rampup)
        self._run = run

    def after_step(self, network: str, params: Any) -> None:
        if network == "generator":
            self.update(self._run.generator, self._run.step)

    def restart(self) -> None:
        """Copy G afresh (after its weights were replaced, e.g. by ``--init-from``)."""
        EMA.__init__(self, self._run.generator, self.decay, self.start, self.rampup)
