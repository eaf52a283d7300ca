"""Take a trained generator elsewhere: ONNX, ``torch.export`` and safetensors, with a model card.

>>> gancore.export.export("runs/x/last.safetensors", "export/x", formats=["onnx", "torch-export"])

Modules: :mod:`~gancore.export.model` (the exported interface), :mod:`~gancore.export.onnx` and
:mod:`~gancore.export.torch_export` (one per format), :mod:`~gancore.export.checks` (running an
export against gancore's generator, naming the components that fail),
:mod:`~gancore.export.card` (the model card), :mod:`~gancore.export.folder` (the folder and its
manifest) and :mod:`~gancore.export.pipeline` (all of it in order).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gancore.core.lazy import lazy_attributes

_LAZY = {
    "export": "gancore.export.pipeline:export",
    "ExportResult": "gancore.export.pipeline:ExportResult",
    "FORMATS": "gancore.export.pipeline:FORMATS",
    "Tolerance": "gancore.export.checks:Tolerance",
    "Signature": "gancore.export.model:Signature",
    "read_manifest": "gancore.export.folder:read_manifest",
}

__all__ = ["FORMATS", "ExportResult", "Signature", "Tolerance", "export", "read_manifest"]

if TYPE_CHECKING:
    from gancore.export.checks import Tolerance
    from gancore.export.folder import read_manifest
    from gancore.export.model import Signature
    from gancore.export.pipeline import FORMATS, ExportResult, export

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
