"""Tracker ``tensorboard``: event files in ``<run>/tensorboard`` (extra ``gancore[tensorboard]``).

Read them with ``tensorboard --logdir runs`` or TensorBoard's ``EventAccumulator``: scalars
under their record names (``d_loss``, ``eval/fid/classifier``...), each sample grid as the image
``samples``, the recipe as the text ``recipe`` and as hyperparameters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gancore.tracking import require


class TensorBoardTracker:
    """Write TensorBoard event files (``log_dir``, default ``<run>/tensorboard``)."""

    def __init__(self, out: Path | None, log_dir: str | None = None,
                 flush_secs: int = 30) -> None:
        require("tensorboard", "tensorboard", "tensorboard")
        from torch.utils.tensorboard import SummaryWriter

        folder = Path(log_dir) if log_dir else (out / "tensorboard" if out else None)
        self.writer = SummaryWriter(log_dir=str(folder) if folder else None,
                                    flush_secs=flush_secs)
        self.log_dir = Path(self.writer.log_dir)

    def log_scalars(self, values: dict[str, float], step: int) -> None:
        for key, value in values.items():
            self.writer.add_scalar(key, value, step)

    def log_image(self, name: str, path: Path, step: int) -> None:
        import numpy as np
        from PIL import Image

        with Image.open(path) as im:
            array = np.asarray(im.convert("RGB"))
        self.writer.add_image(name, array, step, dataformats="HWC")

    def log_hparams(self, params: dict[str, Any]) -> None:
        from torch.utils.tensorboard.summary import hparams

        values = {k: v if isinstance(v, int | float | str | bool) else str(v)
                  for k, v in params.items() if v is not None}
        for summary in hparams(values, {}):
            self.writer.file_writer.add_summary(summary)
        text = "\n".join(f"    {k} = {v!r}" for k, v in sorted(values.items()))
        self.writer.add_text("recipe", text, 0)

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()
