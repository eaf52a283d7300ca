"""ONNX: the generator exported by ``torch.onnx.export(..., dynamo=True)``, run by onnxruntime.

``dynamo=True`` is PyTorch's current ONNX path: the module is captured with ``torch.export``
(falling back to stricter capture when that fails), translated op by op with onnxscript and
optimised. The batch dimension stays symbolic (``batch``). The file is validated by
``onnx.checker`` and checked by running it in onnxruntime. Needs the ``export`` extra:
``pip install 'gancore[export]'``.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gancore.core.errors import ExportError

FORMAT = "onnx"
LABEL = "ONNX"
FILENAME = "generator.onnx"
#: The packages ``--format onnx`` needs (the ``export`` extra).
PACKAGES = ("onnx", "onnxruntime", "onnxscript")


def require() -> None:
    """Raise one :class:`ExportError` naming the extra when a needed package is missing."""
    missing = []
    for name in PACKAGES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        are = "is" if len(missing) == 1 else "are"
        raise ExportError(
            f"--format onnx needs {', '.join(missing)}, which {are} not installed",
            key="--format",
            hint="pip install 'gancore[export]' (or leave onnx out of --format)",
        )


def export(module: nn.Module, args: tuple[torch.Tensor, ...], dynamic: Sequence[Any],
           path: Path, *, input_names: Sequence[str] | None = None,
           output_name: str | None = None) -> dict[str, Any]:
    """Export ``module`` traced on ``args`` to the ONNX file ``path``; returns facts to record."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            module, args, dynamo=True, dynamic_shapes=tuple(dynamic), verbose=False,
            input_names=list(input_names) if input_names else None,
            output_names=[output_name] if output_name else None,
        )
        if program is None:  # pragma: no cover - only the TorchScript path returns None
            raise RuntimeError("torch.onnx.export returned no program")
        program.save(str(path))
    import onnx

    onnx.checker.check_model(str(path), full_check=True)  # the ONNX spec, shapes included
    opset = program.model.opset_imports.get("", None)
    return {"opset": opset, "onnx_version": onnx.__version__}


def load(path: Path) -> Callable[[tuple[torch.Tensor, ...]], list[torch.Tensor]]:
    """An onnxruntime session (CPU) for ``path``: inputs in, the output tensors out."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, torch.get_num_threads())
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]

    def run(args: tuple[torch.Tensor, ...]) -> list[torch.Tensor]:
        if len(args) != len(names):
            raise RuntimeError(f"the ONNX graph takes {len(names)} inputs, {len(args)} given "
                               "(an input the graph does not use was dropped)")
        feeds = {name: a.detach().cpu().numpy() for name, a in zip(names, args, strict=True)}
        return [torch.from_numpy(o) for o in session.run(None, feeds)]

    return run
