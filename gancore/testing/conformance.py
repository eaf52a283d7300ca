"""The conformance checks of every kind: build a component from its defaults and run it on
tiny CPU inputs (shapes, finiteness, gradients, declared sizes, state round trips).

:data:`gancore.core.kinds.KINDS` names each kind's check (``check_<kind>``); ``check_pack``
and :func:`gancore.testing.check_component` run them for plugin authors. The check every
product gets where it is made (:func:`gancore.core.contract.check_product`) is in the core;
these run whole components, so they live above the builder and the trainer they use.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gancore.core.contract import (
    BATCH,
    BLOCK_CHANNELS,
    BLOCK_RESOLUTION,
    DATA_SHAPE,
    _accepts,
    _check_block_output,
    _class_output_problem,
    _describe,
    _finite,
    _finite_scalar,
    aux_classes,
    broken,
    check_factory_member,
    implemented_points,
    is_conditional,
)
from gancore.core.values import is_number

if TYPE_CHECKING:
    import torch
    from torch import nn

    from gancore.core.registry import ComponentEntry, Registry

def check_block(registry: Registry, entry: ComponentEntry, params: dict[str, Any], *,
                example: Any = None, **_: Any) -> Any:
    """Build at 8x8 from 8 channels and run: batch, channels and resolution as declared."""
    import torch

    from gancore.assembly.context import BuildContext

    ctx = BuildContext(
        registry=registry, key=f"block:{entry.name}", resolution=BLOCK_RESOLUTION,
        image_channels=DATA_SHAPE[0], data_shape=(DATA_SHAPE[0], BLOCK_RESOLUTION,
                                                  BLOCK_RESOLUTION),
    )
    x = example
    if x is None:
        x = torch.randn(BATCH, BLOCK_CHANNELS, BLOCK_RESOLUTION, BLOCK_RESOLUTION)
    block = entry.create(int(x.shape[1]), ctx=ctx, **params)
    cond_dim = getattr(block, "cond_dim", None)
    cond = torch.randn(x.shape[0], int(cond_dim)) if cond_dim else None
    out = _finite(entry, block(x, cond), "forward")
    if out.shape[0] != x.shape[0]:
        raise broken(entry, f"changed the batch size from {x.shape[0]} to {out.shape[0]}")
    _check_block_output(entry, block, tuple(x.shape), tuple(out.shape))
    return block


def check_norm(registry: Registry, entry: ComponentEntry, params: dict[str, Any], *,
               example: Any = None, num_classes: int = 0, **_: Any) -> Any:
    """A norm keeps the shape of feature maps and of vectors."""
    import torch

    classes = max(num_classes, 3)
    y = torch.arange(BATCH) % classes
    norm = None
    for dims, shape in ((2, (BATCH, BLOCK_CHANNELS, 4, 4)), (1, (BATCH, BLOCK_CHANNELS))):
        try:
            made = entry.create(BLOCK_CHANNELS, dims=dims, num_classes=classes, **params)
        except ValueError:
            if dims == 1:
                continue  # a norm may refuse vectors with a clear error
            raise
        x = example if (example is not None and dims == 2) else torch.randn(*shape)
        out = made(x, y) if is_conditional(made) else made(x)
        out = _finite(entry, out, f"forward on {list(x.shape)}")
        if tuple(out.shape) != tuple(x.shape):
            raise broken(entry, f"does not keep the shape: made {list(out.shape)} from "
                         f"{list(x.shape)} (dims = {dims})")
        norm = norm or made
    return norm


def check_weight_norm(registry: Registry, entry: ComponentEntry, params: dict[str, Any],
                      **_: Any) -> Any:
    """Applied to a linear layer, the result still maps [2, 4] to [2, 3]."""
    import torch
    from torch import nn

    layer = entry.create(nn.Linear(4, 3), **params)
    if not isinstance(layer, nn.Module):
        raise broken(entry, f"returned {_describe(layer)}, not the wrapped module")
    out = _finite(entry, layer(torch.randn(BATCH, 4)), "the wrapped layer")
    if tuple(out.shape) != (BATCH, 3):
        raise broken(entry, f"changed the layer's output shape to {list(out.shape)}")
    return layer


def check_activation(registry: Registry, entry: ComponentEntry, params: dict[str, Any], *,
                     example: Any = None, **_: Any) -> Any:
    """An activation keeps the shape."""
    import torch

    act = entry.create(**params)
    x = example if example is not None else torch.randn(BATCH, BLOCK_CHANNELS)
    out = _finite(entry, act(x), "forward")
    if out.shape != x.shape:
        raise broken(entry, f"changed the shape from {list(x.shape)} to {list(out.shape)}")
    return act


def check_init(registry: Registry, entry: ComponentEntry, params: dict[str, Any],
               **_: Any) -> Any:
    """Applied to a small network, which stays finite."""
    import torch
    from torch import nn

    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.LazyLinear(2))
    net(torch.randn(BATCH, 3, 6, 6))
    entry.create(net, **params)
    for name, p in net.named_parameters():
        if not torch.isfinite(p).all():
            raise broken(entry, f"left non-finite values in {name}")
    return net


def check_loss(registry: Registry, entry: ComponentEntry, params: dict[str, Any],
               **_: Any) -> Any:
    """d_loss and g_loss are finite scalars that back-propagate to the logits."""
    import torch

    loss = entry.create(**params)
    real = torch.randn(4, requires_grad=True)
    fake = torch.randn(4, requires_grad=True)
    for what, value, wrt in (("d_loss(real, fake)", loss.d_loss(real, fake), fake),
                             ("g_loss(fake, real)", loss.g_loss(fake, real), fake)):
        value = _finite_scalar(entry, value, what)
        if not value.requires_grad:
            raise broken(entry, f"{what} does not depend on the logits (no gradient)")
        (grad,) = torch.autograd.grad(value, wrt, allow_unused=True)
        if grad is None or not torch.isfinite(grad).all():
            raise broken(entry, f"{what} gives no finite gradient for the fake logits")
    threshold = getattr(loss, "decision_threshold", 0.0)
    if threshold is not None and not is_number(threshold, finite=True):
        raise broken(entry, f"decision_threshold is {threshold!r}; give a finite float, or "
                            "None when the logits have no fixed threshold")
    return loss


def _tiny_discriminator() -> nn.Module:
    from torch import nn

    class Tiny(nn.Module):
        num_classes = 0

        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.fc = nn.Linear(4 * 8 * 8, 1)

        def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
            return self.fc(self.conv(x).tanh().flatten(1)).squeeze(1)

    return Tiny()


def check_penalty(registry: Registry, entry: ComponentEntry, params: dict[str, Any],
                  **_: Any) -> Any:
    """A finite scalar that back-propagates to the discriminator's parameters."""
    import torch

    penalty = create_with_run(entry, params)
    for member in ("weight", "interval"):
        value = getattr(penalty, member)
        if not is_number(value) or value < 0:
            raise broken(entry, f"has {member} = {value!r}, not a non-negative number")
    d = _tiny_discriminator()
    real, fake = torch.rand(BATCH, 3, 8, 8) * 2 - 1, torch.rand(BATCH, 3, 8, 8) * 2 - 1
    value = _finite_scalar(entry, penalty(d, real, fake, None), "__call__(D, real, fake, y)")
    if not value.requires_grad:
        raise broken(entry, "__call__ returned a value with no gradient for the discriminator")
    value.backward()
    if all(p.grad is None for p in d.parameters()):
        raise broken(entry, "__call__ returned a value that does not depend on the "
                     "discriminator's parameters")
    check_state_roundtrip(entry, penalty)
    return penalty


def check_augment(registry: Registry, entry: ComponentEntry, params: dict[str, Any], *,
                  example: Any = None, **_: Any) -> Any:
    """Keeps the shape and passes finite gradients."""
    import torch

    augment = create_with_run(entry, params)
    x = example if example is not None else torch.randn(BATCH, *DATA_SHAPE)
    x = x.detach().clone().requires_grad_(True)
    out = _finite(entry, augment(x), "__call__")
    if out.shape != x.shape:
        raise broken(entry, f"changed the shape from {list(x.shape)} to {list(out.shape)}")
    out.square().sum().backward()
    if x.grad is None or not torch.isfinite(x.grad).all():
        raise broken(entry, "is not differentiable (no finite gradient reaches its input)")
    check_state_roundtrip(entry, augment)
    return augment


def check_optimizer(registry: Registry, entry: ComponentEntry, params: dict[str, Any],
                    **_: Any) -> Any:
    """One step on a quadratic changes the parameter."""
    import torch

    w = torch.nn.Parameter(torch.ones(3))
    opt = entry.create([w], **params)
    before = w.detach().clone()
    opt.zero_grad()
    w.square().sum().backward()
    opt.step()
    if not torch.isfinite(w).all():
        raise broken(entry, "made the parameter non-finite in one step")
    if torch.equal(before, w.detach()):
        raise broken(entry, "did not change the parameter in one step")
    return opt


def check_schedule(registry: Registry, entry: ComponentEntry, params: dict[str, Any],
                   **_: Any) -> Any:
    """Stepping keeps a finite, non-negative learning rate."""
    import torch

    opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1)
    sched = entry.create(opt, 10, **params)
    for _step in range(10):
        opt.step()
        sched.step()
        lr = opt.param_groups[0]["lr"]
        if not math.isfinite(lr) or lr < 0:
            raise broken(entry, f"set the learning rate to {lr}")
    return sched


def check_dataset(registry: Registry, entry: ComponentEntry, params: dict[str, Any],
                  **_: Any) -> Any:
    """describe() matches the items: shape, image values in [-1, 1], labels below num_classes."""
    import torch

    from gancore.core.protocols import DataSpec

    describe = check_factory_member(entry, "describe", "a describe(**params) -> DataSpec "
                                    "classmethod")
    spec = describe(**params)
    if not isinstance(spec, DataSpec):
        raise broken(entry, f"describe() returned {_describe(spec)}, not a DataSpec")
    data = entry.create(**params)
    n = len(data)
    if n < 1:
        raise broken(entry, "has no items (len() is 0)")
    for i in sorted({0, n // 2, n - 1}):
        item = data[i]
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise broken(entry, f"item {i} is {_describe(item)}, not an (x, y) pair")
        x, y = item
        if not isinstance(x, torch.Tensor) or tuple(x.shape) != tuple(spec.shape):
            got = list(x.shape) if isinstance(x, torch.Tensor) else _describe(x)
            raise broken(entry, f"item {i} has x of shape {got}, but describe() says "
                         f"{list(spec.shape)}")
        if not x.is_floating_point() or not torch.isfinite(x).all():
            raise broken(entry, f"item {i} has x that is not finite floats")
        lo, hi = float(x.min()), float(x.max())
        if spec.is_image and (lo < -1.0 - 1e-5 or hi > 1.0 + 1e-5):
            raise broken(entry, f"item {i} has values in [{lo:.3g}, {hi:.3g}], outside [-1, 1]")
        label = int(y) if not isinstance(y, torch.Tensor) or y.numel() == 1 else None
        if label is None:
            raise broken(entry, f"item {i} has a label of shape {list(y.shape)}, not one int")
        if spec.num_classes and not 0 <= label < spec.num_classes:
            raise broken(entry, f"item {i} has label {label}, outside [0, {spec.num_classes})")
    return data


def check_filter(registry: Registry, entry: ComponentEntry, params: dict[str, Any], *,
                 example: Any = None, **_: Any) -> Any:
    """Called twice on 32 labelled images: the same valid, non-empty indices both times."""
    import torch

    from gancore.data.filters import FilterContext, TensorImages, check_indices

    data = example
    if data is None:
        g = torch.Generator().manual_seed(0)
        data = TensorImages(torch.rand(32, 3, 8, 8, generator=g) * 2 - 1, torch.arange(32) % 4)
    ctx = FilterContext(key=f"filter:{entry.name}", seed=0, batch_size=1, num_classes=4,
                        dataset="check", cache_dir=None)
    first = entry.create(**params)
    kept = check_indices(entry, first(data, ctx), len(data), strict=True)
    if kept.numel() == 0:
        raise broken(entry, f"kept none of the {len(data)} items")
    again = check_indices(entry, entry.create(**params)(data, ctx), len(data))
    if not torch.equal(kept, again):
        raise broken(entry, "returned other indices on a second call with the same data and "
                     "seed (a filter must be deterministic given ctx.seed)")
    scores = getattr(first, "scores", None)
    if scores is not None:
        if not isinstance(scores, torch.Tensor) or tuple(scores.shape) != (len(data),):
            shape = list(scores.shape) if isinstance(scores, torch.Tensor) else _describe(scores)
            raise broken(entry, f"set scores of shape {shape}, not one per item "
                         f"([{len(data)}])")
        if not torch.isfinite(scores).all():
            raise broken(entry, "set scores that are not finite")
    return first


def check_metric(registry: Registry, entry: ComponentEntry, params: dict[str, Any],
                 **_: Any) -> Any:
    """compute() on random inputs returns a dict of finite floats."""
    import torch

    from gancore.metrics.base import FIELDS, EvalInputs

    metric = entry.create(**params)
    needs = metric.needs
    if not isinstance(needs, set | frozenset | tuple | list) or not all(
        any(n in FIELDS for n in need.split("|")) for need in needs
    ):
        raise broken(entry, f"declares needs = {needs!r}; each must name EvalInputs fields "
                     f"({', '.join(FIELDS)})")
    g = torch.Generator().manual_seed(0)
    n, d, k = 64, 8, 10
    probs = torch.softmax(torch.randn(n, k, generator=g), 1)
    inputs = EvalInputs(
        real_features=torch.randn(n, d, generator=g), fake_features=torch.randn(n, d, generator=g),
        real_probs=probs, fake_probs=torch.softmax(torch.randn(n, k, generator=g), 1),
        real_logits=torch.randn(n, generator=g), fake_logits=torch.randn(n, generator=g),
        fake_samples=torch.randn(n, 2, generator=g), modes=torch.randn(8, 2, generator=g),
        mode_std=0.1, num_classes=k, real_labels=torch.arange(n) % k, extractor_name="check",
    )
    scores = metric.compute(inputs)
    if not isinstance(scores, dict) or not scores:
        raise broken(entry, f"compute() returned {_describe(scores)}, not a dict of scores")
    for key, value in scores.items():
        if not isinstance(key, str):
            raise broken(entry, f"compute() returned the key {key!r}, not a str")
        if not is_number(value):
            raise broken(entry, f"compute() returned {key} = {value!r}, not a float")
        if not math.isfinite(float(value)):
            raise broken(entry, f"compute() returned {key} = {value}, not finite")
    return metric


def check_feature_extractor(registry: Registry, entry: ComponentEntry, params: dict[str, Any],
                            **_: Any) -> Any:
    """Parameters validated from the defaults (extractors need weights or data to run)."""
    return entry


def _check_network(kind: str) -> Callable[..., Any]:
    def check(registry: Registry, entry: ComponentEntry, params: dict[str, Any], *,
              data_shape: tuple[int, ...] = DATA_SHAPE, num_classes: int = 0,
              example: Any = None, **_: Any) -> Any:
        import torch

        from gancore.assembly.build import build_network

        data = {"shape": data_shape, "num_classes": num_classes}
        net = build_network(kind, {"type": entry.qualified, **params}, data, registry)
        classes = int(getattr(net, "num_classes", 0))
        y = torch.arange(BATCH) % classes if classes else None
        if kind == "generator":
            z = example if example is not None else torch.randn(BATCH, int(net.latent_dim))
            out = _finite(entry, net(z, y), "G(z, y)")
            want: tuple[int, ...] = (z.shape[0], *data_shape)
        else:
            x = example if example is not None else torch.randn(BATCH, *data_shape)
            out = _finite(entry, net(x, y), "D(x, y)")
            want = (x.shape[0],)
        if tuple(out.shape) != want:
            what = "samples" if kind == "generator" else "one logit per sample"
            raise broken(entry, f"made shape {list(out.shape)}, expected {list(want)} ({what})")
        if kind == "discriminator" and aux_classes(net):
            pair = net(x, y, return_classes=True)
            problem = _class_output_problem(pair, x.shape[0], aux_classes(net))
            if problem:
                raise broken(entry, f"D(x, y, return_classes=True) {problem}")
            _finite(entry, pair[1], "D(x, y, return_classes=True)")
        return net

    check.__doc__ = f"The {kind} builds for the data shape and gives the right output shape."
    return check


check_generator = _check_network("generator")
check_discriminator = _check_network("discriminator")


# -- callbacks, trackers and component state -------------------------------------------------
def check_state_roundtrip(entry: ComponentEntry, obj: Any) -> None:
    """A stateful component's ``state_dict()`` survives the checkpoint encoding (tensors to
    safetensors, the rest to JSON) and ``load_state_dict()`` takes it back unchanged."""
    import json

    import torch

    from gancore.train.component_state import decode, encode, is_stateful

    if not is_stateful(obj):
        return
    state = obj.state_dict()
    if not isinstance(state, dict):
        raise broken(entry, f"state_dict() returned {_describe(state)}, not a dict")
    tensors: dict[str, torch.Tensor] = {}
    try:
        data = json.loads(json.dumps(encode(dict(state), "x", tensors)))
    except TypeError as exc:
        raise broken(entry, f"state_dict() holds {exc}, which a checkpoint cannot store "
                     "without pickling") from None
    try:
        obj.load_state_dict(decode(data, tensors, None))
    except Exception as exc:
        raise broken(entry, f"load_state_dict() refused its own state_dict(): "
                     f"{type(exc).__name__}: {exc}") from None
    again: dict[str, torch.Tensor] = {}
    if json.loads(json.dumps(encode(dict(obj.state_dict()), "x", again))) != data or any(
        not torch.equal(again[k], tensors[k]) for k in tensors
    ):
        raise broken(entry, "state_dict() after load_state_dict(state_dict()) differs "
                     "from the state it was given")


def create_with_run(entry: ComponentEntry, params: dict[str, Any], view: Any = None) -> Any:
    """``entry``'s product from ``params``, given a tiny run's view when it declares ``run``."""
    from gancore.train.setup import accepts

    if accepts(entry.load(), "run"):
        if view is None:
            from gancore.train.probe import tiny_view

            view = tiny_view()
        return entry.create(**params, run=view)
    return entry.create(**params)


def check_technique(registry: Registry, entry: ComponentEntry, params: dict[str, Any],
                    **_: Any) -> Any:
    """Each extension point the technique implements, called on a tiny run's inputs."""
    import torch

    from gancore.train.probe import tiny_run
    from gancore.train.techniques import DBatch, GBatch

    run = tiny_run(registry)
    view = run.view
    technique = create_with_run(entry, params, view)
    points = implemented_points(entry, technique)
    G, D = run.G, run.D
    x = torch.rand(BATCH, 3, 8, 8) * 2 - 1
    for point in points:
        fn = getattr(technique, point)
        what = f"{point}() on the tiny run"
        if point == "freeze":
            params_ = list(fn(view))
            own = {id(p) for p in (*G.parameters(), *D.parameters())}
            if any(not isinstance(p, torch.nn.Parameter) or id(p) not in own for p in params_):
                raise broken(entry, "freeze() returned something that is not a parameter of "
                             "networks.generator or networks.discriminator")
        elif point == "d_targets":
            fn(run.loss)
        elif point == "d_input":
            xi = x.clone().requires_grad_(True)
            out = _finite(entry, fn(xi), what)
            if out.shape != xi.shape:
                raise broken(entry, f"d_input changed the shape from {list(xi.shape)} to "
                             f"{list(out.shape)}")
            out.square().sum().backward()
            if xi.grad is None:
                raise broken(entry, "d_input is not differentiable (the G phase needs "
                             "gradients through it)")
        elif point == "d_pass":
            out = fn(lambda xx, yy: (D(xx, yy), None), x, -x, None)
            try:
                (r, _), (f, _) = out
            except (TypeError, ValueError):
                raise broken(entry, "d_pass must return ((real_logits, real_classes), "
                             "(fake_logits, fake_classes))") from None
            for name, t in (("real", r), ("fake", f)):
                if _finite(entry, t, what).shape != (BATCH,):
                    raise broken(entry, f"d_pass gave {name} logits of shape "
                                 f"{list(t.shape)}, not [{BATCH}]")
        elif point in ("d_term", "g_term"):
            logits = D(x)
            batch = (DBatch(x, -x, None, logits, -logits, D) if point == "d_term" else
                     GBatch(torch.randn(BATCH, 4), None, G(torch.randn(BATCH, 4)), logits, x,
                            logits, G, D))
            value = fn(batch)
            if value is not None:
                _finite_scalar(entry, value, what)
        elif point == "g_select":
            logits = torch.randn(4)
            chosen = fn(logits)
            if chosen is not None:
                if not isinstance(chosen, torch.Tensor) or chosen.dim() != 1 or \
                        chosen.dtype not in (torch.int64, torch.int32) or len(chosen) == 0 or \
                        int(chosen.min()) < 0 or int(chosen.max()) >= 4:
                    raise broken(entry, "g_select must return None or a non-empty 1-D tensor "
                                 f"of indices into the batch (got {_describe(chosen)})")
        elif point in ("before_step", "after_step"):
            for network, module in (("discriminator", D), ("generator", G)):
                module.zero_grad()
                (module(x) if network == "discriminator" else module(torch.randn(BATCH, 4))
                 ).float().square().mean().backward()
                fn(network, list(module.parameters()))
    check_state_roundtrip(entry, technique)
    return technique


def check_callback(registry: Registry, entry: ComponentEntry, params: dict[str, Any],
                   **_: Any) -> Any:
    """Every ``on_*`` method is a known event taking its arguments; ``optional`` is a bool."""
    from gancore.core.errors import suggest
    from gancore.core.kinds import KINDS

    events = dict(KINDS["callback"].extra["events"])
    callback = create_with_run(entry, params)
    for name in dir(callback):
        if not name.startswith("on_"):
            continue
        member = getattr(callback, name)
        if name not in events:
            raise broken(entry, f"has a method {name!r}, which is no training event"
                         f"{suggest(name, list(events))}",
                         hint="events: " + ", ".join(events))
        if not callable(member):
            raise broken(entry, f"has {name} = {_describe(member)}, not a method")
        if not _accepts(member, events[name]):
            args = "trainer" + ("" if events[name] == 1 else ", ...")
            raise broken(entry, f"{name} cannot be called with {events[name]} argument(s) "
                         f"({args})")
    optional = getattr(callback, "optional", False)
    if not isinstance(optional, bool):
        raise broken(entry, f"has optional = {optional!r}, not a bool")
    check_state_roundtrip(entry, callback)
    return callback


def check_tracker(registry: Registry, entry: ComponentEntry, params: dict[str, Any],
                  **_: Any) -> Any:
    """Made for a temporary run folder, it takes hyperparameters, scalars and an image."""
    import tempfile
    from pathlib import Path

    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        out.mkdir()
        tracker = entry.create(out, **params)
        png = out / "grid.png"
        Image.new("RGB", (8, 8), (128, 64, 32)).save(png)
        calls = (("log_hparams", ({"train.steps": 2, "loss.type": "bce"},)),
                 ("log_scalars", ({"d_loss": 0.5, "g_loss": 1.5}, 1)),
                 ("log_image", ("samples", png, 1)), ("close", ()))
        for method, args in calls:
            fn = getattr(tracker, method, None)
            if fn is None:
                continue
            try:
                fn(*args)
            except Exception as exc:
                raise broken(entry, f"raised {type(exc).__name__} in {method}: {exc}") from exc
    return tracker
