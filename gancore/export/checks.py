"""Checking an export against gancore's own generator, and naming the parts that fail.

Every exported file is run (onnxruntime for ONNX, the loaded program for ``torch.export``) on
fixed latents at two batch sizes, one with the truncation input in use, and its output is
compared with what gancore's generator makes from the same inputs. Every value must lie within
``atol + rtol * |gancore's value|`` (:class:`Tolerance`); anything else is an
:class:`~gancore.core.errors.ExportError` saying by how much it differs.

When the generator as a whole cannot be exported (or its export does not match), each component
(the ``MadeBy`` records the builder leaves on the modules it makes) is exported on its own, with
the inputs it receives in a forward pass, from the outermost down: the innermost components that
fail are the ones named, with their kind, pack and recipe key.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from gancore.core.errors import ExportError
from gancore.core.registry import MadeBy, made_by
from gancore.export.model import MAX_BATCH, TRACE_BATCH, Signature, reference

#: (batch size, truncation) of the check's cases; the first keeps z as it is.
CASES: tuple[tuple[int, float], ...] = ((1, math.inf), (6, 0.8))
#: Seed of the check's latents (each case adds its batch size).
CHECK_SEED = 1234


@dataclass(frozen=True)
class Tolerance:
    """How close an export must be: ``|export - gancore| <= atol + rtol * |gancore|``."""

    atol: float = 1e-4
    rtol: float = 1e-4

    def describe(self) -> str:
        return f"|export - gancore| <= {self.atol:g} + {self.rtol:g}*|gancore|"

    def to_dict(self) -> dict[str, float]:
        return {"atol": self.atol, "rtol": self.rtol}


class Backend(Protocol):
    """What the pipeline needs from an export format (:mod:`gancore.export.onnx`, ...)."""

    FORMAT: str
    LABEL: str
    FILENAME: str

    def require(self) -> None: ...

    def export(self, module: nn.Module, args: tuple[torch.Tensor, ...], dynamic: Sequence[Any],
               path: Path, *, input_names: Sequence[str] | None = None,
               output_name: str | None = None) -> dict[str, Any]: ...

    def load(self, path: Path) -> Callable[[tuple[torch.Tensor, ...]], list[torch.Tensor]]: ...


def batch_dim() -> Any:
    """The dynamic batch dimension every export declares."""
    return torch.export.Dim("batch", min=1, max=MAX_BATCH)


def dynamic_shapes(args: Sequence[Any], batch: int = TRACE_BATCH) -> tuple[Any, ...]:
    """``{0: batch}`` for each tensor input whose first dimension is the batch, else None."""
    dim = batch_dim()
    return tuple({0: dim} if isinstance(a, torch.Tensor) and a.dim() >= 1
                 and a.shape[0] == batch else None for a in args)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CLASS_PREFIX = re.compile(r"^<class '[\w.]+'>:\s*")


def reason(exc: BaseException) -> str:
    """The line of an exporter's error that says what went wrong (no ANSI colours)."""
    text = _ANSI.sub("", str(exc)).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if "## Exception summary" in lines:
        after = lines[lines.index("## Exception summary") + 1:]
        if after:
            lines = after
    line = _CLASS_PREFIX.sub("", lines[0]) if lines else type(exc).__name__
    return line if len(line) <= 300 else line[:297] + "..."


# -- comparing --------------------------------------------------------------------------------
@dataclass
class Difference:
    """How far one output is from gancore's: the largest difference and the excess over the
    tolerance (> 0 fails), or a structural problem (a shape, NaNs) in ``problem``."""

    max_abs: float
    excess: float
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and self.excess <= 0


def compare(got: torch.Tensor, want: torch.Tensor, tol: Tolerance) -> Difference:
    """How ``got`` differs from ``want`` under ``tol``."""
    got, want = got.detach().float().cpu(), want.detach().float().cpu()
    if tuple(got.shape) != tuple(want.shape):
        return Difference(math.inf, math.inf,
                          f"returns shape {list(got.shape)}, gancore {list(want.shape)}")
    if not torch.isfinite(got).all() and torch.isfinite(want).all():
        return Difference(math.inf, math.inf, "returns NaN or infinite values")
    if got.numel() == 0:
        return Difference(0.0, 0.0)
    delta = (got - want).abs()
    excess = (delta - (tol.atol + tol.rtol * want.abs())).max().item()
    return Difference(delta.max().item(), excess)


def check(run: Callable[[tuple[torch.Tensor, ...]], list[torch.Tensor]], generator: nn.Module,
          signature: Signature, tol: Tolerance, *, label: str) -> dict[str, Any]:
    """Run an export on the check's cases against ``generator``; the record of the check.

    Raises :class:`ExportError` naming the case and the largest difference on a mismatch.
    """
    cases = []
    for batch, truncation in CASES:
        args = signature.example(batch, seed=CHECK_SEED + batch, truncation=truncation)
        want = reference(generator, signature, args)
        where = f"batch of {batch}" + (f", truncation {truncation:g}"
                                       if signature.truncation and math.isfinite(truncation)
                                       else "")
        try:
            got = run(args)
        except Exception as exc:  # the runtime's own errors, whatever their type
            raise ExportError(
                f"the {label} export does not run on a {where}: {reason(exc)}",
                key="--format",
                hint="the exported graph fixed a size or dropped an input it should keep; "
                "export to another format, or report it with the recipe",
            ) from None
        diff = compare(got[0], want, tol) if got else Difference(math.inf, math.inf,
                                                                 "returns nothing")
        if not diff.ok:
            raise mismatch(label, diff, where, tol)
        cases.append({"batch": batch,
                      "truncation": truncation if signature.truncation
                      and math.isfinite(truncation) else None,
                      "max_abs_diff": diff.max_abs})
    return {"cases": cases, "max_abs_diff": max(c["max_abs_diff"] for c in cases),
            "tolerance": tol.to_dict(), "seed": CHECK_SEED}


def mismatch(label: str, diff: Difference, where: str, tol: Tolerance,
             culprits: str = "") -> ExportError:
    """The error for an export whose output is not gancore's."""
    what = diff.problem or (f"differs by up to {diff.max_abs:.3g} "
                            f"({tol.describe()} allowed)")
    return ExportError(
        f"the {label} export does not match gancore's generator: on a {where} it {what}"
        + culprits,
        key="--format",
        hint="a component computes something else when exported (random noise, Python-side "
        "state, a branch on torch.compiler.is_exporting()); --tolerance ATOL accepts a "
        "larger difference",
    )


# -- naming the components at fault ------------------------------------------------------------
@dataclass
class Fault:
    """A component that fails on its own: who made it, where it sits, and why."""

    made: MadeBy
    path: str
    key: str | None
    why: str

    def describe(self) -> str:
        if self.made.key:
            where = f" ({self.made.key})"
        else:
            where = f" (in {self.key})" if self.key else ""
        return f"{self.made.kind} {self.made.name!r} from {self.made.origin}{where}: {self.why}"


class _Call(nn.Module):
    """A module called with the inputs it received in the forward pass: the tensors are the
    positional inputs, everything else is fixed."""

    def __init__(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        super().__init__()
        self.module = module
        self.slots = [(i, None) for i, a in enumerate(args) if isinstance(a, torch.Tensor)]
        self.slots += [(None, k) for k, v in kwargs.items() if isinstance(v, torch.Tensor)]
        self.args, self.kwargs = list(args), dict(kwargs)

    def inputs(self) -> tuple[torch.Tensor, ...]:
        return tuple(self.args[i] if i is not None else self.kwargs[k] for i, k in self.slots)

    def forward(self, *tensors: torch.Tensor) -> Any:
        args, kwargs = list(self.args), dict(self.kwargs)
        for (i, k), t in zip(self.slots, tensors, strict=True):
            if i is not None:
                args[i] = t
            else:
                kwargs[k] = t
        return self.module(*args, **kwargs)


def _leaves(out: Any) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, tuple | list):
        return [t for item in out for t in _leaves(item)]
    if isinstance(out, dict):
        return [t for item in out.values() for t in _leaves(item)]
    return []


def attempt(backend: Backend, call: _Call, tol: Tolerance, folder: Path) -> str | None:
    """Why ``call`` cannot be exported with ``backend`` on its own (None when it can)."""
    args = call.inputs()
    path = folder / f"part{len(list(folder.iterdir()))}{Path(backend.FILENAME).suffix}"
    try:
        # forward(*tensors) is one parameter: its shapes are one tuple
        backend.export(call, args, [dynamic_shapes(args)], path)
        got = backend.load(path)(args)
    except Exception as exc:  # the exporter's own errors, whatever their type
        return reason(exc)
    with torch.no_grad():
        want = _leaves(call(*args))
    for g, w in zip(got, want, strict=False):
        diff = compare(g, w, tol)
        if not diff.ok:
            return diff.problem or f"its export differs from it by up to {diff.max_abs:.3g}"
    return None


def find_faults(backend: Backend, wrapper: nn.Module, args: tuple[torch.Tensor, ...],
                tol: Tolerance, whole: str) -> list[Fault]:
    """The innermost components of ``wrapper.generator`` that fail alone (``whole``: why the
    generator as a whole failed, given to the generator itself when no part fails alone)."""
    generator = wrapper.generator
    tagged = {name: m for name, m in generator.named_modules() if made_by(m) is not None}
    seen: dict[int, tuple[tuple[Any, ...], dict[str, Any]]] = {}

    def capture(module: nn.Module, a: tuple[Any, ...], kw: dict[str, Any]) -> None:
        seen.setdefault(id(module), (a, kw))

    hooks = [m.register_forward_pre_hook(capture, with_kwargs=True) for m in tagged.values()]
    try:
        with torch.no_grad():
            wrapper(*args)
    except Exception as exc:  # the forward pass itself fails: the generator is at fault
        whole = reason(exc)
    finally:
        for h in hooks:
            h.remove()

    def parent(name: str) -> str | None:
        parts = name.split(".")
        for i in range(len(parts) - 1, -1, -1):
            candidate = ".".join(parts[:i])
            if candidate in tagged and candidate != name:
                return candidate
        return None

    children: dict[str | None, list[str]] = defaultdict(list)
    for name in tagged:
        if name:
            children[parent(name)].append(name)

    def key_of(name: str | None) -> str | None:
        while name is not None:
            made = made_by(tagged[name])
            if made is not None and made.key:
                return made.key
            name = parent(name)
        return None

    def search(name: str, folder: Path) -> list[Fault]:
        faults: list[Fault] = []
        for child in children.get(name, []):
            module = tagged[child]
            if id(module) not in seen:
                continue
            why = attempt(backend, _Call(module, *seen[id(module)]), tol, folder)
            if why is not None:
                made = made_by(module)
                assert made is not None
                faults.extend(search(child, folder) or [Fault(made, child, key_of(child), why)])
        return faults

    with tempfile.TemporaryDirectory(prefix="gancore-export-parts-") as tmp:
        faults = search("", Path(tmp))
    if faults:
        return faults
    root = made_by(generator)
    if root is None:
        return []
    return [Fault(root, "", root.key, whole)]


def describe_faults(faults: list[Fault]) -> str:
    """``block 'x' from pack (generator.blocks[1]): why; ...`` (the first three)."""
    shown = "; ".join(f.describe() for f in faults[:3])
    return shown + (f" (+{len(faults) - 3} more)" if len(faults) > 3 else "")
