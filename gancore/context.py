"""The build context handed to networks and blocks.

It carries a network's defaults (``norm``, ``weight_norm``, ``activation``), the class count
for conditional layers and the registry, and makes the small layers (norms, activations) that
blocks are assembled from, so a block never hard-codes a normalization.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

    from gancore.registry import Registry


@dataclass
class BuildContext:
    """Network-level defaults and helpers available to every block factory."""

    registry: Registry
    norm: str = "none"
    weight_norm: str = "none"
    activation: str = "relu"
    num_classes: int = 0
    key: str = ""
    resolution: int | None = None
    image_channels: int = 3
    extra: dict[str, Any] = field(default_factory=dict)

    def child(self, **changes: Any) -> BuildContext:
        """A copy with some fields changed (for one block)."""
        return replace(self, **changes)

    def feature_norm(self, num_features: int, norm: str | None = None, dims: int = 2) -> nn.Module:
        """A feature norm (network default unless ``norm`` is given) for ``num_features``."""
        name = norm or self.norm
        entry = self.registry.get("norm", name, key=f"{self.key}.norm" if self.key else "norm")
        return entry.create(num_features, dims=dims, num_classes=self.num_classes)

    def apply_weight_norm(self, layer: nn.Module, weight_norm: str | None = None) -> nn.Module:
        """Wrap ``layer`` in the weight norm (network default unless given)."""
        name = weight_norm or self.weight_norm
        key = f"{self.key}.weight_norm" if self.key else "weight_norm"
        return self.registry.get("weight_norm", name, key=key).create(layer)

    def act(self, activation: str | None = None, *, inplace: bool = False) -> nn.Module:
        """The activation module (network default unless given).

        ``inplace`` is honoured by activations that support it; use it only where the input
        is a fresh tensor nobody else reads (right after a conv or norm).
        """
        name = activation or self.activation
        key = f"{self.key}.activation" if self.key else "activation"
        entry = self.registry.get("activation", name, key=key)
        if inplace and "inplace" in entry.params_model().model_fields:
            return entry.create(inplace=True)
        return entry.create()

    def uses_norm(self, norm: str | None = None) -> bool:
        return (norm or self.norm) != "none"
