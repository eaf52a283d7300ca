"""The component contract, enforced.

Two levels, both driven by :data:`gancore.core.kinds.KINDS`:

- :func:`check_product` runs on every object a factory returns, where it is made: the kind's
  protocol members are present and callable with the arguments the framework passes. It costs
  a few attribute look-ups, once per component built; the forward pass is never touched.
- :func:`check_network_shapes` runs a network once at build time on the meta device: its
  output and every block's declared sizes.

The conformance checks of each kind (building a component from its defaults and running it)
are in :mod:`gancore.testing.conformance`.

Every violation is a :class:`~gancore.core.errors.ContractError` naming the kind, the component, its
pack and the clause broken.
"""

from __future__ import annotations

import inspect
import math
from typing import TYPE_CHECKING, Any

from gancore.core.errors import ContractError
from gancore.core.kinds import get_kind

if TYPE_CHECKING:
    import torch
    from torch import nn

    from gancore.core.registry import ComponentEntry

BATCH = 2
#: Input channels and resolution of the feature maps blocks are checked on.
BLOCK_CHANNELS = 8
BLOCK_RESOLUTION = 8
#: Shape (C, H, W) of the data networks are checked for.
DATA_SHAPE: tuple[int, int, int] = (3, 16, 16)


def who(entry: ComponentEntry) -> str:
    """``norm 'rms' from gancore-foo``."""
    return f"{entry.kind} {entry.name!r} from {entry.origin}"


def broken(entry: ComponentEntry, clause: str, hint: str | None = None) -> ContractError:
    """The error for ``entry`` breaking ``clause``."""
    return ContractError(
        f"{who(entry)} {clause}",
        hint=hint or f"see the {entry.kind} reference in docs/plugins.md; "
        f"`gancore show {entry.kind} {entry.name}` shows where it comes from",
    )


def _describe(obj: Any) -> str:
    if obj is None:
        return "None"
    return f"a {type(obj).__module__}.{type(obj).__qualname__}"


def _accepts(fn: Any, n: int) -> bool:
    """Whether ``fn`` can be called with ``n`` positional arguments."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins without a signature: trust them
        return True
    try:
        sig.bind(*range(n))
    except TypeError:
        return False
    return True


def check_product(entry: ComponentEntry, obj: Any) -> Any:
    """Check what ``entry``'s factory returned against its kind's protocol; return it."""
    kind = get_kind(entry.kind)
    for member, what, n_args in kind.clauses:
        if member == "()":
            target = obj
            if not callable(obj):
                raise broken(entry, f"returned {_describe(obj)}, which is not callable ({what})")
        else:
            if not hasattr(obj, member):
                raise broken(entry, f"returned {_describe(obj)} without {member} ({what})")
            target = getattr(obj, member)
        if n_args is not None:
            if member == "()" and kind.extra.get("conditional_takes_y") and is_conditional(obj):
                n_args += 1
            fn = target.forward if hasattr(target, "forward") else target
            if not callable(fn) or not _accepts(fn, n_args):
                call = member.strip("()") or "call"
                raise broken(entry, f"returned {_describe(obj)} whose {call} cannot take "
                             f"{n_args} argument{'s' if n_args != 1 else ''} ({what})")
    if entry.kind == "block":
        _check_block_sizes(entry, obj)
    if entry.kind == "technique":
        implemented_points(entry, obj)
    return obj


def implemented_points(entry: ComponentEntry, obj: Any) -> list[str]:
    """The extension points ``obj`` implements; it must implement one at least, and each
    it declares (``points`` registered or on the object)."""
    from gancore.core.kinds import POINTS

    found = [p for p in POINTS if callable(getattr(obj, p, None))]
    declared = entry.meta.get("points") or getattr(obj, "points", None) or ()
    if isinstance(declared, str):
        declared = (declared,)
    missing = [p for p in declared if p in POINTS and p not in found]
    unknown = [p for p in declared if p not in POINTS]
    if unknown:
        from gancore.core.errors import suggest

        raise broken(entry, f"declares the unknown extension point {unknown[0]!r}"
                     f"{suggest(str(unknown[0]), list(POINTS))}",
                     hint="extension points: " + ", ".join(POINTS))
    if missing:
        raise broken(entry, f"declares the extension point {missing[0]!r} but has no "
                     f"{missing[0]} method ({POINTS[missing[0]].call})")
    if not found:
        raise broken(entry, f"returned {_describe(obj)}, which implements no extension point",
                     hint="implement one of: " + ", ".join(p.call for p in POINTS.values()))
    return found


def _check_block_sizes(entry: ComponentEntry, block: Any) -> None:
    out = block.out_channels
    if not isinstance(out, int) or isinstance(out, bool) or out < 1:
        raise broken(entry, f"declares out_channels = {out!r}, not a positive int")
    scale = getattr(block, "scale", 1.0)
    if not isinstance(scale, int | float) or not math.isfinite(scale) or scale <= 0:
        raise broken(entry, f"declares scale = {scale!r}, not a positive number")
    res = getattr(block, "out_resolution", None)
    if res is not None and (not isinstance(res, int) or res < 1):
        raise broken(entry, f"declares out_resolution = {res!r}, not a positive int or None")


def check_factory_member(entry: ComponentEntry, member: str, what: str) -> Any:
    """A member the framework reads from the factory itself (a dataset's ``describe``)."""
    factory = entry.load()
    value = getattr(factory, member, None)
    if value is None:
        raise broken(entry, f"has no {member} ({what})")
    return value


# -- protocol members with defaults ----------------------------------------------------------
def block_scale(block: Any) -> float:
    """A block's spatial factor: its ``scale`` (1 when not declared)."""
    return float(getattr(block, "scale", 1.0))


def block_out_resolution(block: Any, resolution: int | None) -> tuple[bool, int | None]:
    """``(sets_resolution, value)``: a block that declares ``out_resolution`` sets it."""
    if hasattr(block, "out_resolution"):
        return True, block.out_resolution
    return False, resolution


def aux_classes(discriminator: Any) -> int:
    """A discriminator's auxiliary class count (``aux_classes``, 0 when not declared): when
    above 0, ``forward(x, y, return_classes=True)`` gives ``(logits, class_logits)``."""
    return int(getattr(discriminator, "aux_classes", 0) or 0)


def _class_output_problem(out: Any, batch: int, classes: int) -> str | None:
    """What is wrong with ``D(x, y, return_classes=True)``'s result, or ``None``."""
    import torch

    if not (isinstance(out, tuple) and len(out) == 2
            and all(isinstance(t, torch.Tensor) for t in out)):
        return "does not return a (logits, class_logits) pair of tensors"
    logits, class_logits = out
    if tuple(logits.shape) != (batch,) or tuple(class_logits.shape) != (batch, classes):
        return (f"returns shapes {list(logits.shape)} and {list(class_logits.shape)}, expected "
                f"[{batch}] and [{batch}, {classes}] (aux_classes = {classes})")
    return None


def is_conditional(module: Any) -> bool:
    """A norm (or layer) that declares ``conditional = True`` takes ``(x, y)``."""
    return bool(getattr(module, "conditional", False))


#: Modules with this attribute set to True keep their own initialisation (init schemes skip
#: them), e.g. a conditional norm's (1, 0) class embeddings.
KEEP_INIT = "gancore_keep_init"


def keeps_init(module: Any) -> bool:
    """Whether ``module`` asked init schemes to leave it alone."""
    return bool(getattr(module, KEEP_INIT, False) or getattr(module, "_gancore_keep_init", False))


# -- conformance checks (gancore.testing) ----------------------------------------------------
def _finite_scalar(entry: ComponentEntry, value: Any, what: str) -> torch.Tensor:
    import torch

    if not isinstance(value, torch.Tensor):
        raise broken(entry, f"{what} returned {_describe(value)}, not a scalar tensor")
    if value.dim() != 0:
        raise broken(entry, f"{what} returned shape {list(value.shape)}, not a scalar")
    if not torch.isfinite(value):
        raise broken(entry, f"{what} returned {value.item()}, not finite")
    return value


def _finite(entry: ComponentEntry, out: Any, what: str) -> torch.Tensor:
    import torch

    if not isinstance(out, torch.Tensor):
        raise broken(entry, f"{what} returned {_describe(out)}, not a tensor")
    if not torch.isfinite(out).all():
        raise broken(entry, f"{what} produced non-finite values")
    return out


def _check_block_output(entry: ComponentEntry | None, block: Any, x_shape: tuple[int, ...],
                        out_shape: tuple[int, ...], key: str = "") -> None:
    def fail(clause: str) -> ContractError:
        if entry is not None:
            return broken(entry, clause)
        return ContractError(f"{key}: block {type(block).__name__} {clause}",
                             hint="the block's declared sizes must match what it computes")

    if len(out_shape) >= 2 and out_shape[1] != block.out_channels:
        raise fail(f"declares out_channels = {block.out_channels} but made "
                   f"{out_shape[1]} channels")
    if len(x_shape) == 4 and len(out_shape) == 4:
        sets, res = block_out_resolution(block, None)
        if not sets:
            res = x_shape[-1] * block_scale(block)
        if res is not None and out_shape[-1] != res:
            raise fail(f"should make {res:g}x{res:g} maps (scale / out_resolution) but made "
                       f"{out_shape[-2]}x{out_shape[-1]}")


def check_network_shapes(net: nn.Module, kind: str, data_shape: tuple[int, ...],
                         num_classes: int, key: str) -> None:
    """Run ``net`` once on the meta device: its output and every block's declared sizes.

    Runs at build time on a network built on the meta device (nothing is computed). An
    operation the meta device cannot run skips the check; the first real forward has it.
    """
    import torch

    hooks = []

    def hook(module: Any, args: tuple[Any, ...], out: Any, name: str = "") -> None:
        if args and isinstance(args[0], torch.Tensor) and isinstance(out, torch.Tensor):
            _check_block_output(None, module, tuple(args[0].shape), tuple(out.shape),
                                key=f"{key}.{name}")

    for name, module in net.named_modules():
        if name and hasattr(module, "out_channels") and isinstance(module.out_channels, int) \
                and not isinstance(module, torch.nn.modules.conv._ConvNd):
            label = name.replace(".", "[", 1) + "]" if name.startswith("blocks.") else name
            hooks.append(module.register_forward_hook(
                lambda m, a, o, label=label: hook(m, a, o, label)))
    classes = int(getattr(net, "num_classes", 0) or 0)
    y = (torch.arange(BATCH, device="meta") % classes) if classes else None
    try:
        if kind == "generator":
            out = net(torch.empty(BATCH, int(net.latent_dim), device="meta"), y)
            want: tuple[int, ...] = (BATCH, *data_shape)
        else:
            out = net(torch.empty(BATCH, *data_shape, device="meta"), y)
            want = (BATCH,)
    except ContractError:
        raise
    except Exception:  # an op without a meta kernel: the first real forward checks
        return
    finally:
        for h in hooks:
            h.remove()
    if isinstance(out, torch.Tensor) and tuple(out.shape) != want:
        what = "samples" if kind == "generator" else "one logit per sample"
        raise ContractError(
            f"the {kind} makes shape {list(out.shape)}, expected {list(want)} ({what})",
            key=key,
            hint="end a discriminator with a logit head (conv_logit or linear_logit)"
            if kind == "discriminator" else "end the generator with a head that makes the data",
        )
    if kind == "discriminator" and aux_classes(net):
        try:
            inspect.signature(net.forward).bind(None, None, return_classes=True)
        except TypeError:
            raise ContractError(
                f"the {kind} declares aux_classes = {aux_classes(net)} but its forward takes no "
                "return_classes argument", key=key,
                hint="add forward(x, y=None, return_classes=False) returning (logits, "
                "class_logits) when asked, or leave aux_classes at 0",
            ) from None
        except ValueError:  # no signature to read: the call below tells
            pass
        try:
            pair = net(torch.empty(BATCH, *data_shape, device="meta"), y, return_classes=True)
        except ContractError:
            raise
        except Exception:  # as above: the first real forward checks
            return
        problem = _class_output_problem(pair, BATCH, aux_classes(net))
        if problem:
            raise ContractError(f"the {kind}'s class head {problem}", key=key,
                                hint="the class head must give one logit per data class")
