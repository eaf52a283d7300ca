"""The exported interface: what goes in, what comes out, and the module that is exported.

An exported generator takes

- ``z``: float32 ``[batch, latent_dim]`` latent vectors (standard normal, as gancore draws them);
- ``labels``: int64 ``[batch]`` class labels in ``0..num_classes-1`` (conditional models only);
- ``truncation``: float32 ``[1]``, the threshold ``T`` of the truncation trick (unless exported
  with ``truncation=False``): every latent value is clamped to ``[-T, T]`` before the generator
  runs, and ``inf`` leaves ``z`` unchanged;

and returns ``images``: float32 ``[batch, C, H, W]`` in ``[-1, 1]`` (``[batch, D]`` vectors in
the data's own coordinates for the 2D mixtures). The batch dimension is dynamic.

``gancore sample --truncation T`` draws latents from a normal truncated at ``T`` (values beyond
``±T`` are redrawn); the clamp inside the exported graph is the deterministic part of that trick.
Feed latents drawn the same way and the clamp changes nothing; feed plain normal latents and the
values beyond ``±T`` are pulled onto ``±T`` (less variety, more typical images).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

#: Batch size of the example inputs the graph is traced with (not 0 or 1: those specialise).
TRACE_BATCH = 3
#: The largest batch an exported graph declares (it can be exceeded by runtimes that ignore it).
MAX_BATCH = 65536


@dataclass(frozen=True)
class Signature:
    """The exported generator's interface, recorded in ``export.json`` and the model card."""

    latent_dim: int
    num_classes: int
    output_shape: tuple[int, ...]
    truncation: bool = True

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    @property
    def is_image(self) -> bool:
        return len(self.output_shape) == 3

    @property
    def output_range(self) -> list[float] | None:
        """``[-1, 1]`` for images (the data contract); ``None`` (unbounded) for vectors."""
        return [-1.0, 1.0] if self.is_image else None

    @property
    def input_names(self) -> list[str]:
        names = ["z"]
        if self.conditional:
            names.append("labels")
        if self.truncation:
            names.append("truncation")
        return names

    @property
    def output_name(self) -> str:
        return "images" if self.is_image else "samples"

    def inputs(self) -> list[dict[str, Any]]:
        """Name, dtype, shape (``"batch"`` for the dynamic dimension) and meaning of each input."""
        out: list[dict[str, Any]] = [{
            "name": "z", "dtype": "float32", "shape": ["batch", self.latent_dim],
            "description": "latent vectors, standard normal",
        }]
        if self.conditional:
            out.append({
                "name": "labels", "dtype": "int64", "shape": ["batch"],
                "description": f"class labels 0..{self.num_classes - 1}",
            })
        if self.truncation:
            out.append({
                "name": "truncation", "dtype": "float32", "shape": [1],
                "description": "latent values are clamped to [-T, T]; inf: no truncation",
            })
        return out

    def outputs(self) -> list[dict[str, Any]]:
        what = ("images in [-1, 1]" if self.is_image
                else "samples in the data's coordinates")
        return [{"name": self.output_name, "dtype": "float32",
                 "shape": ["batch", *self.output_shape], "description": what}]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["output_shape"] = list(self.output_shape)
        data["output_range"] = self.output_range
        return data

    def example(self, batch: int, *, seed: int = 0,
                truncation: float = math.inf) -> tuple[torch.Tensor, ...]:
        """Inputs for ``batch`` samples: seeded latents, cycling labels, the truncation."""
        gen = torch.Generator().manual_seed(seed)
        args: list[torch.Tensor] = [torch.randn(batch, self.latent_dim, generator=gen)]
        if self.conditional:
            args.append(torch.arange(batch, dtype=torch.int64) % self.num_classes)
        if self.truncation:
            args.append(torch.tensor([truncation], dtype=torch.float32))
        return tuple(args)


def truncate(z: torch.Tensor, truncation: torch.Tensor) -> torch.Tensor:
    """``z`` clamped to ``[-T, T]`` (as element-wise max/min, which every runtime has)."""
    return torch.minimum(torch.maximum(z, -truncation), truncation)


class _Exported(nn.Module):
    """The generator behind the exported interface (subclasses fix the inputs)."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator


class _Z(_Exported):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z, None)


class _ZT(_Exported):
    def forward(self, z: torch.Tensor, truncation: torch.Tensor) -> torch.Tensor:
        return self.generator(truncate(z, truncation), None)


class _ZY(_Exported):
    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.generator(z, labels)


class _ZYT(_Exported):
    def forward(self, z: torch.Tensor, labels: torch.Tensor,
                truncation: torch.Tensor) -> torch.Tensor:
        return self.generator(truncate(z, truncation), labels)


def signature_of(gan: Any, *, truncation: bool = True) -> Signature:
    """The interface of ``gan``'s generator."""
    return Signature(int(gan.latent_dim), int(gan.num_classes), tuple(gan.data.shape),
                     truncation)


def wrap(generator: nn.Module, signature: Signature) -> nn.Module:
    """``generator`` behind the exported interface, in eval mode (shares its weights)."""
    cls = {(False, False): _Z, (False, True): _ZT, (True, False): _ZY,
           (True, True): _ZYT}[(signature.conditional, signature.truncation)]
    return cls(generator).eval()


def frozen_copy(gan: Any, registry: Any) -> nn.Module:
    """A new copy of ``gan``'s generator in eval mode with its weight parametrizations baked in.

    Spectral and weight norm are parametrizations: in eval mode they compute a fixed weight
    from stored tensors. Baking them gives the exporters plain weights (a smaller graph); the
    exported model is checked against the original generator, so the baking is checked too.
    The copy is built afresh from the recipe (a deep copy would share the parametrized
    classes with the original, and baking would change the original too).
    """
    from torch.nn.utils import parametrize

    from gancore.assembly.build import build_network

    with torch.random.fork_rng(devices=[]):
        g = build_network("generator", gan.recipe.generator, gan.data, registry)
    g.load_state_dict(gan.generator.state_dict())
    g.eval()
    with torch.no_grad():
        for module in list(g.modules()):
            if parametrize.is_parametrized(module):
                for name in list(module.parametrizations.keys()):
                    parametrize.remove_parametrizations(module, name, leave_parametrized=True)
    for p in g.parameters():
        p.requires_grad_(False)
    return g


def reference(generator: nn.Module, signature: Signature,
              args: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """gancore's own output for exported-interface inputs: the generator run as
    :func:`gancore.train.sample.generate` runs it, on the truncated latents."""
    from types import SimpleNamespace

    from gancore.train.sample import generate

    z = args[0]
    labels = args[1] if signature.conditional else None
    if signature.truncation:
        z = truncate(z, args[-1])
    return generate(SimpleNamespace(generator=generator), z, labels)


from gancore.assembly.checkpoint import NoDiscriminator  # noqa: E402,F401
