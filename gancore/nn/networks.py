"""The generic ``stack`` generator and discriminator: stem + blocks + head."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from gancore.assembly.context import BuildContext, ref_name
from gancore.assembly.sequence import assemble, make_block, next_resolution, resolution_hint
from gancore.core.errors import RecipeError
from gancore.core.params import Channels, EmbedDim
from gancore.core.refs import ActivationSpec, BlockSpec, InitSpec, NormSpec, WeightNormSpec
from gancore.nn.class_head import ClassHead, ClassHeadType


def _apply_init(ctx: BuildContext, network: nn.Module, init: InitSpec | str, key: str) -> None:
    if any(p.is_meta for p in network.parameters()):
        return  # a size check on the meta device: nothing to initialise
    ctx._create("init", init, f"{key}.init", network)


def _label_width(num_classes: int, embed_dim: int) -> int:
    return embed_dim if embed_dim > 0 else num_classes


class StackGenerator(nn.Module):
    """Generator assembled from a stem, blocks and a head; ``forward(z, y=None)``.

    ``conditioning``: ``concat`` joins a label embedding (one-hot when ``embed_dim = 0``) to
    z; ``cbn`` makes every batch norm class-conditional.
    """

    def __init__(
        self,
        latent_dim: Channels = 128,
        stem: BlockSpec = BlockSpec(type="dense"),
        blocks: list[BlockSpec] = [],  # noqa: B006 (never mutated)
        head: BlockSpec = BlockSpec(type="to_image"),
        norm: NormSpec = "batch",
        weight_norm: WeightNormSpec = "none",
        activation: ActivationSpec = "relu",
        conditioning: Literal["none", "concat", "cbn"] = "none",
        embed_dim: EmbedDim = 0,
        init: InitSpec = "default",
        *,
        ctx: BuildContext,
    ) -> None:
        super().__init__()
        key = ctx.key or "generator"
        spec_shape = ctx.data_shape
        self.latent_dim = latent_dim
        self.num_classes = ctx.num_classes if conditioning != "none" else 0
        self.conditioning = conditioning
        if conditioning != "none" and ctx.num_classes <= 0:
            raise RecipeError(
                "class conditioning needs labelled data, but the dataset has no classes",
                key=f"{key}.conditioning",
                hint='set conditioning = "none" or use a labelled dataset',
            )
        if conditioning == "cbn":
            if ref_name(norm) == "none":
                raise RecipeError(
                    'conditioning = "cbn" replaces batch norms, but norm = "none"',
                    key=f"{key}.norm",
                    hint='set norm = "batch"',
                )
            norm = "conditional_batch"
        ctx = ctx.child(norm=norm, weight_norm=weight_norm, activation=activation, key=key)
        self.embed: nn.Module | None = None
        in_dim = latent_dim
        if conditioning == "concat":
            if embed_dim > 0:
                self.embed = nn.Embedding(ctx.num_classes, embed_dim)
            in_dim += _label_width(ctx.num_classes, embed_dim)
        self.stem = make_block(ctx.child(resolution=None), stem, in_dim, f"{key}.stem")
        res = next_resolution(self.stem, None, f"{key}.stem", stem.type)
        self.blocks, ch, res = assemble(
            ctx, blocks, int(self.stem.out_channels), res, f"{key}.blocks"
        )
        self.head = make_block(
            ctx.child(resolution=res), head, ch, f"{key}.head", out_channels=spec_shape[0]
        )
        res = next_resolution(self.head, res, f"{key}.head", head.type)
        self._check_output(key, int(self.head.out_channels), res, spec_shape)
        _apply_init(ctx, self, init, key)

    @staticmethod
    def _check_output(key: str, channels: int, res: int | None, shape: tuple[int, ...]) -> None:
        if len(shape) == 1:
            if res is not None or channels != shape[0]:
                raise RecipeError(
                    f"generator ends at {channels} features"
                    f"{'' if res is None else f' x {res}x{res}'}, but the data "
                    f"are vectors of {shape[0]}",
                    key=f"{key}.head",
                    hint='end vector generators with head = { type = "to_vector" }',
                )
            return
        c, h, _ = shape
        if res is None:
            raise RecipeError(
                "generator ends with a flat vector, but the data are images",
                key=f"{key}.head",
                hint='use head = { type = "to_image" }',
            )
        if res != h:
            raise RecipeError(
                f"generator ends at {res}x{res}, but data.image_size is {h}",
                key=f"{key}.blocks",
                hint=resolution_hint(res, h, up=True),
            )
        if channels != c:
            raise RecipeError(
                f"generator ends with {channels} channels, but the data have {c}",
                key=f"{key}.head.out_channels",
                hint="leave out_channels out of the head: it follows the data",
            )

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            if y is None:
                raise ValueError("this generator is class-conditional: pass labels y")
            if self.conditioning == "concat":
                label = (
                    self.embed(y)
                    if self.embed is not None
                    else F.one_hot(y, self.num_classes).to(z.dtype)
                )
                z = torch.cat([z, label], dim=1)
        h = self.stem(z, y)
        for block in self.blocks:
            h = block(h, y)
        return self.head(h, y)


class StackDiscriminator(nn.Module):
    """Discriminator assembled from an optional stem, blocks and a logit head; ``-> logits[B]``.

    ``conditioning``: ``concat`` joins label maps to the input (one-hot when ``embed_dim = 0``);
    ``projection`` adds the projection term in a ``linear_logit`` head.

    ``class_head`` (ACGAN): ``linear`` or ``pooled`` adds an auxiliary classifier on the
    features the logit head reads (:class:`~gancore.nn.class_head.ClassHead`); then
    ``aux_classes`` is the data's class count and ``forward(x, y, return_classes=True)``
    returns ``(logits [B], class_logits [B, aux_classes])`` from the one pass.
    """

    def __init__(
        self,
        blocks: list[BlockSpec] = [],  # noqa: B006 (never mutated)
        stem: BlockSpec | None = None,
        head: BlockSpec = BlockSpec(type="linear_logit"),
        norm: NormSpec = "none",
        weight_norm: WeightNormSpec = "none",
        activation: ActivationSpec = "leaky_relu",
        conditioning: Literal["none", "concat", "projection"] = "none",
        embed_dim: EmbedDim = 0,
        init: InitSpec = "default",
        class_head: ClassHeadType = "none",
        *,
        ctx: BuildContext,
    ) -> None:
        super().__init__()
        key = ctx.key or "discriminator"
        shape = ctx.data_shape
        self.num_classes = ctx.num_classes if conditioning != "none" else 0
        self.conditioning = conditioning
        if conditioning != "none" and ctx.num_classes <= 0:
            raise RecipeError(
                "class conditioning needs labelled data, but the dataset has no classes",
                key=f"{key}.conditioning",
                hint='set conditioning = "none" or use a labelled dataset',
            )
        if conditioning == "projection" and head.type != "linear_logit":
            raise RecipeError(
                'projection conditioning needs head = { type = "linear_logit" }',
                key=f"{key}.head.type",
                hint="change the head or the conditioning",
            )
        ctx = ctx.child(
            norm=norm,
            weight_norm=weight_norm,
            activation=activation,
            key=key,
            projection=conditioning == "projection",
        )
        self.embed: nn.Module | None = None
        ch = shape[0]
        res = shape[-1] if len(shape) == 3 else None
        if conditioning == "concat":
            if embed_dim > 0:
                self.embed = nn.Embedding(ctx.num_classes, embed_dim)
            ch += _label_width(ctx.num_classes, embed_dim)
        self.stem: nn.Module = nn.Identity()
        if stem is not None:
            self.stem = make_block(ctx.child(resolution=res), stem, ch, f"{key}.stem")
            res = next_resolution(self.stem, res, f"{key}.stem", stem.type)
            ch = int(self.stem.out_channels)
        self.blocks, ch, res = assemble(ctx, blocks, ch, res, f"{key}.blocks")
        self.head = make_block(ctx.child(resolution=res), head, ch, f"{key}.head")
        self.class_head = self._class_head(ctx, class_head, ch, res, key)
        self.aux_classes = 0 if self.class_head is None else ctx.num_classes
        need = getattr(self.head, "required_resolution", None)
        if need is not None and res != need:
            if res is None:
                raise RecipeError(
                    f"head {head.type!r} needs a feature map",
                    key=f"{key}.head",
                    hint='use head = { type = "linear_logit" }',
                )
            raise RecipeError(
                f"the discriminator reaches its head at {res}x{res}, but head {head.type!r} "
                f"needs {need}x{need}",
                key=f"{key}.blocks",
                hint=resolution_hint(res, need, up=False) + f", or set head.kernel_size = {res}",
            )
        _apply_init(ctx, self, init, key)

    @staticmethod
    def _class_head(
        ctx: BuildContext, kind: ClassHeadType, ch: int, res: int | None, key: str
    ) -> ClassHead | None:
        if kind == "none":
            return None
        if ctx.num_classes <= 0:
            raise RecipeError(
                "the class head predicts the data's classes (ACGAN), but the data have no "
                "class labels",
                key=f"{key}.class_head",
                hint='use labelled data, or set class_head = "none" and a loss without '
                'classes (loss.type = "bce")',
            )
        return ClassHead(ch, res, ctx.num_classes, kind, ctx=ctx.child(key=f"{key}.class_head"))

    def forward(
        self, x: torch.Tensor, y: torch.Tensor | None = None, return_classes: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if self.num_classes:
            if y is None:
                raise ValueError("this discriminator is class-conditional: pass labels y")
            if self.conditioning == "concat":
                label = (
                    self.embed(y)
                    if self.embed is not None
                    else F.one_hot(y, self.num_classes).to(x.dtype)
                )
                if x.dim() == 4:
                    label = label[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
                x = torch.cat([x, label], dim=1)
        h = self.stem(x, y) if not isinstance(self.stem, nn.Identity) else x
        for block in self.blocks:
            h = block(h, y)
        if not return_classes:
            return self.head(h, y)
        if self.class_head is None:
            raise ValueError("this discriminator has no class head (set class_head)")
        return self.head(h, y), self.class_head(h)
