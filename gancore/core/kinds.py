"""The table of component kinds: the one place that lists them.

Every kind of component gancore knows is one :class:`Kind` in :data:`KINDS`. The registry, recipe
validation and resolution, the builder, checkpoint metadata, ``gancore schema``, the authoring
reference in ``docs/plugins.md`` and :mod:`gancore.testing` all read this table; adding a kind is
one entry here. Importing this module is cheap (no torch, no pydantic models are built).

Each kind says:

- ``places``: where it appears in a recipe. ``penalty[]`` is a list of references;
  ``<generator>.norm`` is a parameter of the component at ``generator``: any parameter typed
  with a kind's reference type (``NormSpec``, ``BlockSpec``...) is a place of that kind, at
  any depth;
- ``protocol``: the protocol (in :mod:`gancore.core.protocols`) that its factory's products
  follow;
- ``supplied``: the arguments the framework passes to the factory (never written in a recipe);
- ``clauses``: the protocol's members that are checked on every object a factory returns;
- ``check``: the conformance check :mod:`gancore.testing` runs on a default-built component;
- ``example``: a minimal component of the kind, for the authoring reference
  (``docs/plugins.md``, generated from this table; a test registers every example).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Kind:
    """One kind of component and its contract."""

    name: str
    summary: str
    places: tuple[str, ...]
    protocol: str
    supplied: tuple[str, ...] = ()
    #: arguments the framework passes only to factories that declare them (``run``: the run's
    #: read-only view, for components that follow the step)
    offered: tuple[str, ...] = ()
    #: ``(member, what, n_args)``: what every product must have. ``"()"`` is the object itself
    #: (called); ``n_args`` is the positional arguments the member is called with (``None``:
    #: an attribute, not called).
    clauses: tuple[tuple[str, str, int | None], ...] = ()
    check: str = ""
    verifies: str = ""
    example: str = ""
    #: the name the example is registered under in the authoring reference
    example_name: str = ""
    #: how a recipe names the example
    short_example: str = ""
    #: whether resolution writes the defaults into the recipe (metrics take the [eval] seed)
    fill_defaults: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def schema_form(self, names: list[str], tables: list[dict[str, Any]]) -> dict[str, Any]:
        """The JSON-Schema form of a reference: one of ``names``, or one of the ``tables``."""
        choices = sorted({*names, *self.extra.get("names", ())})
        return {
            "oneOf": [{"type": "string", "enum": choices}, *tables],
            "x-gancore-kind": self.name,
            "description": f"a {self.name}: a registered name, or a table with type = name",
        }

    @property
    def framework_args(self) -> tuple[str, ...]:
        """Every argument the framework passes (never a recipe parameter)."""
        return self.supplied + self.offered

    @property
    def spec_name(self) -> str:
        """The name of this kind's reference type, e.g. ``NormSpec``."""
        return "".join(p.title() for p in self.name.split("_")) + "Spec"


_P = "gancore.core.protocols"
_C = "gancore.testing.conformance"

KINDS: dict[str, Kind] = {
    k.name: k
    for k in [
        Kind(
            "generator",
            "whole generator networks: forward(z, y=None) -> samples",
            ("generator",),
            f"{_P}:Generator",
            supplied=("ctx",),
            clauses=(("latent_dim", "an int latent_dim", None), ("()", "a forward(z, y=None)", 2)),
            check=f"{_C}:check_generator",
            verifies="builds for the data shape from its defaults; G(z, y) has shape "
            "[B, *data_shape] and finite values",
            example='''class TinyG(nn.Module):
    """A linear generator."""

    def __init__(self, latent_dim: int = 16, *, ctx: BuildContext) -> None:
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, 0
        self.shape = ctx.data_shape
        self.fc = nn.Linear(latent_dim, math.prod(self.shape))

    def forward(self, z, y=None):
        return torch.tanh(self.fc(z)).view(-1, *self.shape)''',
            example_name="tiny",
            short_example='[generator]\ntype = "tiny"\nlatent_dim = 32',
        ),
        Kind(
            "discriminator",
            "whole discriminator networks: forward(x, y=None) -> logits[B]",
            ("discriminator",),
            f"{_P}:Discriminator",
            supplied=("ctx",),
            clauses=(("()", "a forward(x, y=None)", 2),),
            check=f"{_C}:check_discriminator",
            verifies="builds for the data shape from its defaults; D(x, y) has shape [B] "
            "and finite values; with aux_classes > 0, D(x, y, return_classes=True) gives "
            "logits [B] and class logits [B, aux_classes]",
            example='''class TinyD(nn.Module):
    """A linear critic."""

    def __init__(self, *, ctx: BuildContext) -> None:
        super().__init__()
        self.num_classes = 0
        self.fc = nn.Linear(math.prod(ctx.data_shape), 1)

    def forward(self, x, y=None):
        return self.fc(x.flatten(1)).squeeze(1)''',
            example_name="tiny",
            short_example='discriminator = "tiny"',
        ),
        Kind(
            "block",
            "layers a stack network is assembled from: Factory(in_channels, **params)",
            (
                "<generator>.stem", "<generator>.blocks[]", "<generator>.head",
                "<discriminator>.stem", "<discriminator>.blocks[]", "<discriminator>.head",
                "<component>.<any BlockSpec parameter>",
            ),
            f"{_P}:Block",
            supplied=("in_channels", "ctx"),
            clauses=(
                ("out_channels", "an int out_channels", None),
                ("()", "a forward(x, cond=None)", 2),
            ),
            check=f"{_C}:check_block",
            verifies="built with in_channels = 8 at 8x8 and run on [2, 8, 8, 8]: batch kept, "
            "values finite, channels equal out_channels, resolution follows scale / "
            "out_resolution",
            example='''class Gate(nn.Module):
    """x * sigmoid(conv(x)): keeps channels and resolution."""

    def __init__(self, in_channels: int, kernel_size: Kernel = 3, *, ctx: BuildContext):
        super().__init__()
        self.out_channels, self.scale = in_channels, 1.0
        self.conv = ctx.apply_weight_norm(
            nn.Conv2d(in_channels, in_channels, kernel_size, padding=kernel_size // 2))

    def forward(self, x, cond=None):
        return x * torch.sigmoid(self.conv(x))''',
            example_name="gate",
            short_example='[[generator.blocks]]\ntype = "gate"\nkernel_size = 5',
        ),
        Kind(
            "norm",
            "feature normalizations made from num_features (batch, instance, group, ...)",
            ("<generator>.norm", "<discriminator>.norm", "<block>.norm"),
            f"{_P}:FeatureNorm",
            supplied=("num_features", "dims", "num_classes"),
            clauses=(("()", "a forward(x) (forward(x, y) when conditional)", 1),),
            check=f"{_C}:check_norm",
            extra={"conditional_takes_y": True},
            verifies="made for 8 features; keeps the shape of [2, 8, 4, 4] feature maps "
            "(dims = 2) and of [2, 8] vectors (dims = 1, unless it refuses vectors with an "
            "error), values finite",
            example='''class RMSNorm(nn.Module):
    """RMS normalization over channels, with a learned gain per channel."""

    def __init__(self, num_features: int, dims: int = 2, num_classes: int = 0,
                 eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.gain = nn.Parameter(torch.ones(num_features))

    def forward(self, x):
        shape = (1, -1) + (1,) * (x.dim() - 2)
        rms = x.pow(2).mean(dim=1, keepdim=True).add(self.eps).sqrt()
        return x / rms * self.gain.view(shape)''',
            example_name="rms",
            short_example='[generator]\nnorm = { type = "rms", eps = 1e-5 }',
        ),
        Kind(
            "weight_norm",
            "weight normalizations applied to a layer (spectral, weight, none)",
            ("<generator>.weight_norm", "<discriminator>.weight_norm", "<block>.weight_norm"),
            f"{_P}:WeightNorm",
            supplied=("module",),
            clauses=(("()", "the wrapped layer (a module)", 1),),
            check=f"{_C}:check_weight_norm",
            verifies="applied to nn.Linear(4, 3): returns a module with the same output shape",
            example='''def orthogonal_weight(module: nn.Module) -> nn.Module:
    """Keep the layer's weight orthogonal."""
    return nn.utils.parametrizations.orthogonal(module)''',
            example_name="orthogonal_weight",
            short_example='[discriminator]\nweight_norm = "orthogonal_weight"',
        ),
        Kind(
            "activation",
            "activation functions",
            ("<generator>.activation", "<discriminator>.activation", "<block>.activation"),
            f"{_P}:Activation",
            clauses=(("()", "a forward(x)", 1),),
            check=f"{_C}:check_activation",
            verifies="keeps the shape of a [2, 8] tensor",
            example='''def mish(inplace: bool = False) -> nn.Module:
    """Mish (Misra 2019)."""
    return nn.Mish(inplace=inplace)''',
            example_name="mish",
            short_example='[generator]\nactivation = "mish"',
        ),
        Kind(
            "init",
            "weight initialisation schemes applied to a whole network",
            ("<generator>.init", "<discriminator>.init"),
            f"{_P}:Init",
            supplied=("network",),
            check=f"{_C}:check_init",
            verifies="applied to a small conv network without error; leaves it finite",
            example='''def kaiming(network: nn.Module, a: float = 0.2) -> None:
    """Kaiming-normal weights, zero biases."""
    for m in network.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)) and not keeps_init(m):
            nn.init.kaiming_normal_(m.weight, a=a)
            if m.bias is not None:
                nn.init.zeros_(m.bias)''',
            example_name="kaiming",
            short_example='[discriminator]\ninit = { type = "kaiming", a = 0.0 }',
        ),
        Kind(
            "loss",
            "adversarial losses: d_loss(real, fake), g_loss(fake, real)",
            ("loss",),
            f"{_P}:Loss",
            clauses=(("d_loss", "a d_loss(real_logits, fake_logits) method", 2),
                     ("g_loss", "a g_loss(fake_logits, real_logits=None) method", 2)),
            check=f"{_C}:check_loss",
            verifies="d_loss and g_loss on random [4] logits are finite scalars that "
            "back-propagate to the logits; decision_threshold, where given, is a finite "
            "float or None",
            example='''class Softplus:
    """The non-saturating loss written with softplus."""

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def d_loss(self, real_logits, fake_logits):
        return self.scale * (F.softplus(-real_logits) + F.softplus(fake_logits)).mean()

    def g_loss(self, fake_logits, real_logits=None):
        return self.scale * F.softplus(-fake_logits).mean()''',
            example_name="softplus",
            short_example='loss = { type = "softplus", scale = 2.0 }',
        ),
        Kind(
            "penalty",
            "discriminator regularisers (gradient penalty, R1, ...)",
            ("penalty[]",),
            f"{_P}:Penalty",
            offered=("run",),
            clauses=(("weight", "a float weight", None), ("interval", "an int interval", None),
                     ("()", "a __call__(discriminator, real, fake, y=None)", 4)),
            check=f"{_C}:check_penalty",
            verifies="called on a tiny discriminator with [2, 3, 8, 8] real and fake batches: "
            "a finite scalar that back-propagates to the discriminator",
            example='''class ZeroCentred:
    """|grad D(real)|^2 on real data (R1 without the 1/2)."""

    def __init__(self, weight: float = 1.0, interval: int = 1) -> None:
        self.weight, self.interval = weight, interval

    def __call__(self, discriminator, real, fake, y=None):
        real = real.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(discriminator(real, y).sum(), real, create_graph=True)
        return g.flatten(1).pow(2).sum(1).mean()''',
            example_name="zero_centred",
            short_example='penalty = [{ type = "zero_centred", weight = 5.0 }]',
        ),
        Kind(
            "augment",
            "differentiable augmentations applied to the discriminator's inputs",
            ("augment[]",),
            f"{_P}:Augment",
            offered=("run",),
            clauses=(("()", "a __call__(x)", 1),),
            check=f"{_C}:check_augment",
            verifies="applied to [2, 3, 16, 16]: keeps the shape and passes finite gradients",
            example='''def noise(std: float = 0.05):
    """Add Gaussian noise to the discriminator's inputs."""
    return lambda x: x + std * torch.randn_like(x)''',
            example_name="noise",
            short_example='augment = [{ type = "noise", std = 0.1 }]',
        ),
        Kind(
            "technique",
            "training techniques on the step's extension points (EMA, top-k, FreezeD, ...)",
            ("train.techniques[]",),
            f"{_P}:Technique",
            offered=("run",),
            check=f"{_C}:check_technique",
            verifies="made from its defaults (with a run view of tiny networks when it "
            "declares run); implements at least one extension point, every one it declares; "
            "each implemented point is called on tiny inputs and returns what the point "
            "expects (see the table of extension points)",
            example='''class DecayingNoise:
    """Gaussian noise on D's inputs, fading out linearly over the run."""

    points = ("d_input",)

    def __init__(self, std: float = 0.1, *, run: RunView) -> None:
        self.std, self.run = std, run

    def d_input(self, x):
        sigma = self.std * (1.0 - self.run.progress)
        return x + sigma * torch.randn_like(x) if sigma > 0 else x''',
            example_name="decaying_noise",
            short_example='[train]\ntechniques = [{ type = "decaying_noise", std = 0.2 }, "ema"]',
        ),
        Kind(
            "optimizer",
            "optimizers made from parameters",
            ("train.g_optimizer", "train.d_optimizer"),
            f"{_P}:Optimizer",
            supplied=("params",),
            clauses=(("step", "a step() method", 0), ("zero_grad", "a zero_grad() method", 0),
                     ("param_groups", "param_groups", None)),
            check=f"{_C}:check_optimizer",
            verifies="made for one parameter; one step on a quadratic changes it",
            example='''def nadam(params, lr: float = 2e-4,
          betas: tuple[float, float] = (0.5, 0.999)) -> torch.optim.Optimizer:
    """Adam with Nesterov momentum."""
    return torch.optim.NAdam(params, lr=lr, betas=betas)''',
            example_name="nadam",
            short_example='[train]\ng_optimizer = { type = "nadam", lr = 1e-4 }',
        ),
        Kind(
            "schedule",
            "learning-rate schedules stepped once per generator update",
            ("train.g_schedule", "train.d_schedule"),
            f"{_P}:Schedule",
            supplied=("optimizer", "total_steps"),
            clauses=(("step", "a step() method", 0), ("state_dict", "a state_dict() method", 0)),
            check=f"{_C}:check_schedule",
            verifies="made for an SGD optimizer and 10 steps; stepping keeps a finite, "
            "non-negative learning rate",
            example='''def step_decay(optimizer, total_steps: int, factor: float = 0.5):
    """Halve the learning rate half-way."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: factor if step >= total_steps // 2 else 1.0)''',
            example_name="step_decay",
            short_example='[train]\ng_schedule = { type = "step_decay", factor = 0.1 }',
        ),
        Kind(
            "dataset",
            "training data",
            ("data",),
            f"{_P}:Dataset",
            clauses=(("describe", "a describe(**params) -> DataSpec classmethod", None),
                     ("__len__", "a __len__()", 0), ("__getitem__", "a __getitem__(index)", 1)),
            check=f"{_C}:check_dataset",
            verifies="describe() gives a DataSpec; the dataset built from its defaults has "
            "items of that shape, finite float values (in [-1, 1] for images), one int label "
            "below num_classes",
            example='''class Stripes(torch.utils.data.Dataset):
    """Greyscale vertical stripes."""

    def __init__(self, image_size: int = 16, size: int = 64) -> None:
        self.image_size, self.size = image_size, size

    @classmethod
    def describe(cls, image_size: int = 16, size: int = 64) -> DataSpec:
        return DataSpec((1, image_size, image_size), num_classes=0)

    def __len__(self):
        return self.size

    def __getitem__(self, i):
        x = torch.linspace(-1, 1, self.image_size).roll(i).expand(1, self.image_size, -1)
        return x.clone(), torch.tensor(0)''',
            example_name="stripes",
            short_example='[data]\ntype = "stripes"\nimage_size = 16',
        ),
        Kind(
            "filter",
            "training-data filters run once before training: filter(dataset, ctx) -> indices",
            ("data.filters[]",),
            f"{_P}:Filter",
            clauses=(("()", "a __call__(dataset, ctx) -> indices", 2),),
            check=f"{_C}:check_filter",
            verifies="called twice on 32 labelled [3, 8, 8] images (4 classes): a non-empty "
            "1-D tensor of integer indices into the dataset, the same both times; scores "
            "(if set) are one finite float per image",
            example='''def drop_dark(below: float = -0.95):
    """Drop nearly black images (mean value below `below`)."""

    def keep(dataset, ctx):
        x, _ = ctx.tensors(dataset)
        return (x.flatten(1).mean(1) >= below).nonzero().squeeze(1)

    return keep''',
            example_name="drop_dark",
            short_example='[data]\ntype = "shapes"\n'
            'filters = ["drop_dark", { type = "autoencoder_outliers", fraction = 0.02 }]',
        ),
        Kind(
            "metric",
            "evaluation metrics",
            ("eval.metrics[]",),
            "gancore.metrics.base:Metric",
            clauses=(("needs", "a needs set of EvalInputs fields", None),
                     ("compute", "a compute(inputs) -> dict[str, float] method", 1)),
            check=f"{_C}:check_metric",
            fill_defaults=False,
            verifies="compute() on random EvalInputs (features [64, 8], probabilities, "
            "logits, samples) returns a dict of finite floats",
            example='''class MeanGap:
    """Distance between the feature means (lower is better)."""

    needs = {"real_features", "fake_features"}

    def __init__(self, p: float = 2.0) -> None:
        self.p = p

    def compute(self, inputs: EvalInputs) -> dict[str, float]:
        gap = inputs.real_features.mean(0) - inputs.fake_features.mean(0)
        return {metric_key("mean_gap", inputs.extractor_name): float(gap.norm(self.p))}''',
            example_name="mean_gap",
            short_example='[eval]\nmetrics = ["fid", { type = "mean_gap", p = 1.0 }]',
        ),
        Kind(
            "feature_extractor",
            "networks mapping images to features for FID/KID/PR",
            ("eval.extractor",),
            "gancore.metrics.base:FeatureExtractor",
            supplied=("ctx",),
            clauses=(
                ("name", "a str name", None),
                ("extract", "an extract(x) -> (features, probs)", 1),
            ),
            check=f"{_C}:check_feature_extractor",
            verifies="validated from its defaults (extractors often need weights or data, so "
            "they are not run)",
            extra={"names": ["auto"]},
        ),
        Kind(
            "callback",
            "training events: on_step_end, on_log, on_checkpoint, on_eval, ... (all optional)",
            ("train.callbacks[]",),
            f"{_P}:Callback",
            offered=("run",),
            check=f"{_C}:check_callback",
            verifies="made from its defaults; every on_* method is a known event taking the "
            "event's arguments; optional is a bool; state_dict() (if any) survives the "
            "checkpoint encoding and load_state_dict()",
            extra={"events": (
                ("on_run_start", 1), ("on_step_end", 2), ("on_log", 2), ("on_step_done", 2),
                ("on_samples", 2), ("on_checkpoint", 2), ("on_eval", 2), ("on_finish", 2),
                ("on_run_end", 2), ("on_failure", 2),
            )},
            example='''class WinRate:
    """Log how often D wins on real data, from the logits of the last step."""

    optional = True  # a failure disables it with a warning instead of stopping the run

    def __init__(self, every: int = 10) -> None:
        self.every, self.wins, self.count = every, 0.0, 0

    def on_step_end(self, run, step):
        if step % self.every == 0:  # reading a device value syncs: do it every k steps
            real = run.stats.latest("d.real_logits")
            self.wins += float((real > (run.decision_threshold or 0.0)).float().mean())
            self.count += 1

    def on_log(self, run, record):
        record["win_rate"] = self.wins / max(self.count, 1)

    def state_dict(self):
        return {"wins": self.wins, "count": self.count}

    def load_state_dict(self, state):
        self.wins, self.count = state["wins"], state["count"]''',
            example_name="win_rate",
            short_example='[train]\ncallbacks = [{ type = "win_rate", every = 50 }]',
        ),
        Kind(
            "tracker",
            "experiment trackers receiving scalars, sample grids, hyperparameters and scores",
            ("train.trackers[]",),
            f"{_P}:Tracker",
            supplied=("out",),
            clauses=(("log_scalars", "a log_scalars(values, step) method", 2),),
            check=f"{_C}:check_tracker",
            verifies="made for a temporary run folder; log_hparams, log_scalars, log_image "
            "(a small PNG) and close run without error",
            example='''class CsvTracker:
    """Append every scalar to <run>/scalars.csv as step,key,value."""

    def __init__(self, out, filename: str = "scalars.csv") -> None:
        self.path = None if out is None else out / filename

    def log_scalars(self, values, step):
        if self.path is not None:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.writelines(f"{step},{key},{value}\\n" for key, value in values.items())''',
            example_name="csv",
            short_example='[train]\ntrackers = ["csv"]  # or: gancore train ... --tracker csv',
        ),
    ]
}


@dataclass(frozen=True)
class Point:
    """One extension point of the training step: a method a technique may implement."""

    name: str
    #: the part of the step it belongs to (what a technique may change)
    group: str
    call: str
    summary: str
    returns: str
    built_in: tuple[str, ...] = ()
    example: str = ""


#: The extension points of the training step, in the order the step reaches them. A
#: technique (kind ``technique``) implements one or more of them; ``augment[]`` components
#: are D-input techniques and ``penalty[]`` components extra D terms with their own interval.
POINTS: dict[str, Point] = {
    p.name: p
    for p in [
        Point("freeze", "which parameters train", "freeze(networks)",
              "once, before the optimizers are made: parameters of networks.generator or "
              "networks.discriminator to keep fixed (no gradient, no optimizer state)",
              "an iterable of parameters", ("freeze_d",),
              "def freeze(self, networks):\n    return list(networks.discriminator.parameters())"
              "[:2]"),
        Point("d_targets", "D's inputs", "d_targets(loss)",
              "once, when the run starts: adjust the targets of the loss (its real_target)",
              "None", ("label_smoothing",),
              "def d_targets(self, loss):\n    loss.real_target = 0.9"),
        Point("d_input", "D's inputs", "d_input(x)",
              "every batch D sees, real and fake, in the D and G phases, after the recipe's "
              "augment[] list (keep gradients flowing: the G phase back-propagates through it)",
              "a tensor of x's shape", ("instance_noise",),
              "def d_input(self, x):\n    return x + 0.05 * torch.randn_like(x)"),
        Point("d_pass", "how D sees real and fake", "d_pass(forward, real, fake, y)",
              "instead of D's two passes: forward(x, y) -> (logits, class_logits or None)",
              "((real_logits, real_classes), (fake_logits, fake_classes))", ("joint_d_pass",),
              "def d_pass(self, forward, real, fake, y):\n"
              "    return forward(real, y), forward(fake, y)"),
        Point("d_term", "extra D terms", "d_term(batch)",
              "every D step: a term added to D's loss (batch: real, fake, y, real_logits, "
              "fake_logits, discriminator, z, y_g: the latents and labels the fakes came "
              "from; the weight is the technique's own)",
              "a scalar tensor, or None to skip this step", ("zcr",),
              "def d_term(self, batch):\n    return 1e-3 * batch.real_logits.pow(2).mean()"),
        Point("g_select", "G's loss terms", "g_select(fake_logits)",
              "every G step: which fakes count in G's loss (one technique per run)",
              "indices into the batch, or None for all of them", ("top_k",),
              "def g_select(self, fake_logits):\n"
              "    return fake_logits.topk(len(fake_logits) // 2).indices"),
        Point("g_term", "G's loss terms", "g_term(batch)",
              "every G step: a term added to G's loss (batch: z, y, fake, fake_logits, real, "
              "real_logits, generator, discriminator)",
              "a scalar tensor, or None to skip this step", ("zcr",),
              "def g_term(self, batch):\n    return 0.1 * batch.fake.abs().mean()"),
        Point("before_step", "around each optimizer step", "before_step(network, params)",
              "after backward, before each optimizer step; network is \"generator\" or "
              "\"discriminator\", params its trainable parameters (gradients set)",
              "None", ("grad_clip",),
              "def before_step(self, network, params):\n"
              "    torch.nn.utils.clip_grad_value_(params, 1.0)"),
        Point("after_step", "around each optimizer step", "after_step(network, params)",
              "after each optimizer step (for the generator the step count has advanced)",
              "None", ("clip_weights", "ema"),
              "@torch.no_grad()\ndef after_step(self, network, params):\n"
              "    if network == \"discriminator\":\n"
              "        for p in params:\n            p.clamp_(-0.01, 0.01)"),
    ]
}


def get_kind(name: str) -> Kind:
    """The :class:`Kind` called ``name``; an unknown kind is a :class:`GancoreError`."""
    try:
        return KINDS[name]
    except KeyError:
        from gancore.core.errors import GancoreError, suggest

        raise GancoreError(
            f"unknown component kind {name!r}{suggest(name, KINDS)}",
            hint="kinds: " + ", ".join(KINDS),
        ) from None


def top_places() -> Iterator[tuple[str, str, bool]]:
    """``(kind, dotted recipe path, is_list)`` of every fixed recipe place of a reference."""
    for kind in KINDS.values():
        for place in kind.places:
            if "<" in place:
                continue
            yield kind.name, place.removesuffix("[]"), place.endswith("[]")


def load_object(target: str) -> Any:
    """Import ``"module:attribute"``."""
    import importlib

    module, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj
