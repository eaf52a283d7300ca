"""Registration of the sweep's callback (lazy: imports neither optuna nor torch)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gancore.core.registry import Registry


def register(registry: Registry) -> None:
    """Add ``sweep_trial`` to ``registry``."""
    registry.add("callback", "sweep_trial", "gancore.sweep.callback:SweepTrial",
                 summary="reports in-training scores to a gancore sweep's Optuna trial and "
                         "stops the run when it is pruned (added by gancore sweep; "
                         "gancore[sweep])")
