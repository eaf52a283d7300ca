"""The build context handed to networks and blocks.

It carries what the framework knows when a component is made: the data's shape and classes,
the network's defaults (``norm``, ``weight_norm``, ``activation``), the resolution reached so
far, the condition that blocks receive, and the registry; and it makes the small layers (norms,
weight norms, activations) blocks are assembled from, so a block never hard-codes one. Every
field is typed and documented: this is part of the author API (:mod:`gancore.plugin`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from gancore.core.refs import ComponentSpec

if TYPE_CHECKING:
    from torch import nn

    from gancore.core.registry import Registry

#: A reference to a component: its name, a ``{type = ..., ...}`` table, or a parsed reference.
Ref = str | dict[str, Any] | ComponentSpec

#: 0.1's ``ctx.extra`` keys and the typed fields that replace them.
_EXTRA_FIELDS = {"data_shape": "data_shape", "projection": "projection", "w_dim": "cond_dim"}


@dataclass
class BuildContext:
    """What a network or block factory is given besides its own parameters.

    - ``data_shape``: ``(C, H, W)`` of image data or ``(D,)`` of vectors;
    - ``num_classes``: label count of the data (0 when unlabelled);
    - ``norm`` / ``weight_norm`` / ``activation``: the network's defaults, used by
      :meth:`feature_norm`, :meth:`apply_weight_norm` and :meth:`act` unless a block names its own;
    - ``key``: the recipe path of the component being built (for error messages);
    - ``resolution``: the input resolution of the block being built (``None`` for vectors);
    - ``image_channels``: the data's channel count;
    - ``projection``: the discriminator uses projection conditioning (its logit head adds
      the class-embedding term);
    - ``cond_dim``: what blocks receive as ``cond``. ``None``: the class labels ``y`` (int64
      ``[B]``) or ``None`` when unconditional; an int: a float condition ``[B, cond_dim]``
      that the network computes (StyleGAN's ``w``).
    """

    registry: Registry
    norm: Ref = "none"
    weight_norm: Ref = "none"
    activation: Ref = "relu"
    num_classes: int = 0
    key: str = ""
    resolution: int | None = None
    image_channels: int = 3
    data_shape: tuple[int, ...] = ()
    projection: bool = False
    cond_dim: int | None = None
    _legacy: dict[str, Any] = field(default_factory=dict, repr=False)

    def _take_extra(self, extra: Mapping[str, Any]) -> None:
        warnings.warn(
            "BuildContext(extra=...) is deprecated: use the typed fields data_shape, projection "
            "and cond_dim",
            DeprecationWarning,
            stacklevel=3,
        )
        for name, value in extra.items():
            target = _EXTRA_FIELDS.get(name)
            if target is None:
                self._legacy[name] = value
            else:
                setattr(self, target, tuple(value) if target == "data_shape" else value)

    @property
    def extra(self) -> Mapping[str, Any]:
        """Deprecated: 0.1's string-keyed view of :attr:`data_shape`, :attr:`projection` and
        :attr:`cond_dim` (as ``w_dim``)."""
        warnings.warn(
            "BuildContext.extra is deprecated: read ctx.data_shape, ctx.projection or "
            "ctx.cond_dim instead",
            DeprecationWarning,
            stacklevel=2,
        )
        out: dict[str, Any] = dict(self._legacy)
        out["data_shape"] = self.data_shape
        out["projection"] = self.projection
        if self.cond_dim is not None:
            out["w_dim"] = self.cond_dim
        return out

    def child(self, **changes: Any) -> BuildContext:
        """A copy with some fields changed (for one block)."""
        extra = changes.pop("extra", None)
        out = replace(self, **changes)
        out._legacy = dict(self._legacy)
        if extra is not None:
            out._take_extra(extra)
        return out

    def _sub(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name

    def _create(self, kind: str, ref: Ref, key: str, *args: Any,
                supplied: dict[str, Any] | None = None, **fill: Any) -> Any:
        """Make component ``ref`` of ``kind``: framework ``args``/``supplied`` keywords, its
        validated parameters, and ``fill`` for parameters it has (``inplace``)."""
        return self.registry.make(kind, ref, *args, key=key, fill=fill, **(supplied or {}))

    def feature_norm(self, num_features: int, norm: Ref | None = None, dims: int = 2) -> nn.Module:
        """A feature norm (network default unless ``norm`` is given) for ``num_features``."""
        return self._create(
            "norm", norm or self.norm, self._sub("norm"), num_features,
            supplied={"dims": dims, "num_classes": self.num_classes},
        )

    def apply_weight_norm(self, layer: nn.Module, weight_norm: Ref | None = None) -> nn.Module:
        """Wrap ``layer`` in the weight norm (network default unless given)."""
        return self._create("weight_norm", weight_norm or self.weight_norm,
                            self._sub("weight_norm"), layer)

    def act(self, activation: Ref | None = None, *, inplace: bool = False) -> nn.Module:
        """The activation module (network default unless given).

        ``inplace`` is honoured by activations that take it; use it only where the input is
        a fresh tensor nobody else reads (right after a conv or norm).
        """
        fill = {"inplace": True} if inplace else {}
        return self._create("activation", activation or self.activation,
                            self._sub("activation"), **fill)

    def uses_norm(self, norm: Ref | None = None) -> bool:
        """Whether ``norm`` (or the network default) is a real normalization."""
        return ref_name(norm or self.norm) != "none"


_dataclass_init = BuildContext.__init__


def _init(self: BuildContext, *args: Any, extra: Mapping[str, Any] | None = None,
          **kwargs: Any) -> None:
    _dataclass_init(self, *args, **kwargs)
    if extra:
        self._take_extra(extra)


BuildContext.__init__ = _init  # type: ignore[method-assign]  # accepts 0.1's extra=


def ref_name(ref: Ref) -> str:
    """The component name of a reference."""
    if isinstance(ref, str):
        return ref
    if isinstance(ref, ComponentSpec):
        return ref.type
    return str(ref.get("type", ""))
