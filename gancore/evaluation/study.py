"""Study files: a base recipe and named variants, each a set of overrides, run by ``compare``.

.. code-block:: toml

    [study]
    name = "losses"
    description = "BCE vs least squares on DCGAN-32"
    base = "dcgan-32"                 # bundled recipe name or path (relative to this file)
    steps = 1000                      # training budget of every variant
    metrics = ["fid", "kid", "f1"]
    seeds = [0, 1, 2]                 # every variant under each seed (or --seeds 3)
    baseline = "bce"                  # what the others are tested against (default: first)
    set = ["train.batch_size=64"]     # overrides shared by all variants
    allow_mixed_data = false          # variants on different data are refused (default)
    ema = true                        # score EMA weights where kept (false: raw, as --no-ema)

    [variants.bce]
    set = []

    [variants.lsgan]
    set = ["loss.type=least_squares"]

    [variants.wgan-gp]
    recipe = "wgan-gp"                # a different recipe instead of the base

    [variants.wgan-gp-equal-time]
    recipe = "wgan-gp"
    steps = 200                       # its own budget (5 critic steps: about BCE's wall time)

    [pretrain.shapes]                 # trained first, never evaluated or compared
    set = ['data={ type = "shapes", image_size = 32 }']

    [variants.fine-tuned]
    init_from = "shapes"              # starts from that run's final checkpoint (same seed)

    [variants.self-attention]
    set = ["..."]
    against = "spectral-norm"         # tested against that variant instead of the baseline
    published = { metric = "fid", direction = "better", source = "Zhang et al. 2019, Table 1" }

    [variants.self-attention.expect]  # its band (gancore.recipe.expect), written by
    metric = "fid"                    # `gancore compare STUDY --record-bands`
    interval = [30.0, 45.0]
    steps = 1000
    seeds = [0, 1, 2]
    data = { type = "fashion_mnist" }
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gancore.core.errors import GancoreError, RecipeError
from gancore.recipe.expect import Expect, check_expect

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_STRICT = ConfigDict(extra="forbid")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class StudyMeta(BaseModel):
    """``[study]``: what is compared, the base recipe and the shared settings."""

    model_config = _STRICT
    name: str = ""
    description: str = ""
    base: str | None = Field(None, description="recipe name or path the variants start from")
    steps: int | None = Field(None, gt=0, description="generator updates of every variant")
    metrics: list[str] | None = None
    num_samples: int | None = Field(None, gt=1)
    seed: int | None = Field(None, description="training and evaluation seed (with seeds: "
                             "the evaluation seed only)")
    seeds: list[int] | None = Field(None, min_length=1,
                                    description="train every variant under each of these seeds")
    baseline: str | None = Field(None, description="the variant the others are tested against "
                                 "(default: the first)")
    set: list[str] = Field(default_factory=list, description="overrides of every variant")
    ema: bool = Field(True, description="score the generators' EMA weights where a run keeps "
                      "them (false: the raw weights, as --no-ema)")
    allow_mixed_data: bool = Field(
        False, description="let variants train or be scored on different data (data set, "
        "size, split, limit, sample count); refused otherwise")

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError(f"the seeds must be distinct (got {value})")
        return value


class _RunTable(BaseModel):
    """What a variant and a ``[pretrain]`` run share: overrides of the base recipe, or
    another recipe, and where it starts from."""

    model_config = _STRICT
    description: str = ""
    recipe: str | None = None
    set: list[str] = Field(default_factory=list)
    init_from: str | None = Field(
        None, description="a variant or [pretrain] run whose final checkpoint of the same seed "
        "this one starts from (fine-tuning)")
    steps: int | None = Field(
        None, gt=0, description="its own generator updates in place of the study's steps, e.g. "
        "an equal-wall-time budget for a variant with several critic steps (--steps on the "
        "command line scales it as it scales the study's steps)")


#: Directions a paper may report, relative to the variant a variant is tested against:
#: better or worse on the metric (lower FID is better), or the same.
PUBLISHED_DIRECTIONS = ("better", "worse", "same")


class Published(BaseModel):
    """``published = { metric, direction, source }``: what a paper reports for a variant
    against the variant it is tested against (``against``, else the baseline)."""

    model_config = _STRICT
    metric: str = Field(min_length=1, description='a score name: "fid", "kid", "recall"...')
    direction: str = Field(description="better, worse or same on the metric, relative to "
                           "the variant this one is tested against")
    source: str = Field(min_length=1, description='paper and table, e.g. "Tseng et al. 2021, '
                        'Table 2"')

    @field_validator("direction")
    @classmethod
    def _direction(cls, value: str) -> str:
        if value not in PUBLISHED_DIRECTIONS:
            from gancore.core.errors import suggest

            close = suggest(value, list(PUBLISHED_DIRECTIONS))
            raise ValueError("direction must be better, worse or same (on the metric, against "
                             f"the variant it is tested against){close}")
        return value


class Variant(_RunTable):
    """``[variants.<name>]``: overrides of the base recipe, or another recipe; the variant it
    is tested against, what a paper reports for it and its expected bands."""

    against: str | None = Field(
        None, description="the variant this one is tested against (default: the baseline)")
    published: Published | None = Field(
        None, description="what a paper reports for it: metric, direction and source")
    expect: Expect | None = Field(None, description="its band: what it should score at a "
                                  "stated budget (gancore.recipe.expect)")


class Pretrain(_RunTable):
    """``[pretrain.<name>]``: a run trained before the variants that start from it
    (``init_from``); trained under the same budget and seeds, never evaluated or compared."""


def _check_names(value: dict[str, Any], what: str) -> dict[str, Any]:
    for name in value:
        if not _NAME.match(name):
            raise ValueError(
                f"{what} name {name!r} must start with a letter or digit and hold only "
                "letters, digits, '.', '_' and '-' (it names the run folder)"
            )
    return value


class StudyFile(BaseModel):
    """The whole study file."""

    model_config = _STRICT
    study: StudyMeta
    variants: dict[str, Variant] = Field(min_length=1)
    pretrain: dict[str, Pretrain] = Field(default_factory=dict)

    @field_validator("variants")
    @classmethod
    def _names(cls, value: dict[str, Variant]) -> dict[str, Variant]:
        return _check_names(value, "variant")

    @field_validator("pretrain")
    @classmethod
    def _pretrain_names(cls, value: dict[str, Pretrain]) -> dict[str, Pretrain]:
        return _check_names(value, "pretrain run")


@dataclass
class Entry:
    """One thing to compare: a recipe with overrides, or an existing run or checkpoint.

    ``init_from`` names the entry whose final checkpoint (of the same seed) this one starts
    from; ``train_only`` entries (``[pretrain]``) are trained for that, never evaluated.
    """

    name: str
    recipe: str | None = None
    overrides: list[str] = field(default_factory=list)
    run: Path | None = None
    description: str = ""
    init_from: str | None = None
    train_only: bool = False
    #: the variant this one is tested against (None: the baseline)
    against: str | None = None
    #: what a paper reports for it (:class:`Published`)
    published: Published | None = None
    #: its ``[expect]`` table: the band it should score inside at the stated budget
    expect: Expect | None = None
    #: its own generator updates (None: the study's or the command line's)
    steps: int | None = None


@dataclass
class Study:
    """A loaded study: its settings and one :class:`Entry` per variant."""

    path: Path
    meta: StudyMeta
    entries: list[Entry]

    @property
    def name(self) -> str:
        return self.meta.name or self.path.stem

    @property
    def variants(self) -> list[Entry]:
        """The compared entries (``entries`` less the ``[pretrain]`` runs)."""
        return [e for e in self.entries if not e.train_only]

    @property
    def baseline(self) -> str:
        """The variant the others are tested against: ``baseline``, else the first."""
        return self.meta.baseline or self.variants[0].name

    def against(self, variant: str) -> str:
        """The variant ``variant`` is tested against: its ``against``, else the baseline."""
        entry = next((e for e in self.entries if e.name == variant), None)
        return (entry.against if entry is not None and entry.against else None) or self.baseline

    def recipe(self, variant: str, registry: Any = None, overrides: Any = ()) -> Any:
        """The resolved recipe of ``variant`` (or of a ``[pretrain]`` run; validates its
        overrides; builds nothing)."""
        from gancore.recipe import load_recipe, resolve

        entry = next((e for e in self.entries if e.name == variant), None)
        if entry is None:
            from gancore.core.errors import suggest

            names = [e.name for e in self.entries]
            raise GancoreError(f"no variant {variant!r}{suggest(variant, names)}",
                               source=str(self.path), hint="variants: " + ", ".join(names))
        assert entry.recipe is not None
        try:
            return resolve(load_recipe(entry.recipe, [*entry.overrides, *overrides]), registry)
        except GancoreError as exc:
            where = f"{exc.key}: " if exc.key else ""
            if exc.source == "--set":
                where = f"--set {where}"
            table = "pretrain" if entry.train_only else "variants"
            raise RecipeError(f"{where}{exc.message}", source=str(self.path),
                              key=f"{table}.{variant}", hint=exc.hint) from None


def is_study_file(path: str | Path) -> bool:
    """Whether ``path`` is a TOML file with a ``[study]`` table."""
    p = Path(path)
    if p.suffix != ".toml" or not p.is_file():
        return False
    try:
        return "study" in tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False


def load_study(path: str | Path) -> Study:
    """Read and validate a study file; errors name the file and the offending key."""
    from gancore.core.registry import validation_error
    from gancore.recipe import find_recipe, read_toml

    file = Path(path)
    data = read_toml(file)
    _check_expects(data, str(file))
    try:
        parsed = StudyFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        if err["type"] == "missing" and len(err["loc"]) == 1:
            section = err["loc"][0]
            raise RecipeError(f"missing required table [{section}]", source=str(file),
                              key=str(section), hint=_SECTION_HINTS[str(section)]) from None
        raise validation_error(exc, source=str(file), known=_known(err["loc"])) from None
    meta = parsed.study
    tables = [("pretrain", name, v) for name, v in parsed.pretrain.items()]
    tables += [("variants", name, v) for name, v in parsed.variants.items()]
    entries = []
    for table, name, variant in tables:
        key = f"{table}.{name}.recipe" if variant.recipe else "study.base"
        ref = variant.recipe or meta.base
        if ref is None:
            raise RecipeError(f"the {_WHAT[table]} names no recipe and the study has no base",
                              source=str(file), key=f"{table}.{name}",
                              hint='add base = "dcgan-32" to [study] or recipe = "..." here')
        try:
            recipe = find_recipe(ref, relative_to=file.parent)
        except GancoreError as exc:
            raise RecipeError(f"recipe {ref!r} not found", source=str(file), key=key,
                              hint=exc.hint) from None
        own = variant if isinstance(variant, Variant) else None
        entries.append(Entry(name, str(recipe), [*meta.set, *variant.set],
                             description=variant.description, init_from=variant.init_from,
                             train_only=table == "pretrain",
                             against=own.against if own else None,
                             published=own.published if own else None,
                             expect=own.expect if own else None, steps=variant.steps))
    _check_sources(parsed, file)
    _check_against(parsed, file)
    if meta.baseline is not None and meta.baseline not in parsed.variants:
        from gancore.core.errors import suggest

        names = list(parsed.variants)
        raise RecipeError(f"the baseline {meta.baseline!r} is not a variant"
                          f"{suggest(meta.baseline, names)}", source=str(file),
                          key="study.baseline", hint="variants: " + ", ".join(names))
    return Study(file, meta, entries)


_WHAT = {"variants": "variant", "pretrain": "pretrain run"}


def _check_expects(data: dict[str, Any], source: str) -> None:
    """Each variant's ``[expect]`` table, before the model: errors name the key and the fix."""
    variants = data.get("variants")
    if not isinstance(variants, dict):
        return
    for name, table in variants.items():
        if isinstance(table, dict) and "expect" in table:
            check_expect(table["expect"], source=source, key=f"variants.{name}.expect")


def _check_against(parsed: StudyFile, file: Path) -> None:
    """Refuse ``against`` naming no variant, the variant itself, or forming a cycle."""
    from gancore.core.errors import suggest

    names = list(parsed.variants)
    against = {n: v.against for n, v in parsed.variants.items()}
    baseline = parsed.study.baseline or names[0]
    if against.get(baseline) is not None:
        raise RecipeError(f"the baseline {baseline!r} is tested against nothing",
                          source=str(file), key=f"variants.{baseline}.against",
                          hint="remove against from the baseline, or make another variant "
                               "the baseline (study.baseline)")
    for name, ref in against.items():
        if ref is None:
            continue
        key = f"variants.{name}.against"
        if ref not in parsed.variants:
            what = " (a [pretrain] run is never compared)" if ref in parsed.pretrain else ""
            raise RecipeError(f"against {ref!r} is not a variant{what}{suggest(ref, names)}",
                              source=str(file), key=key,
                              hint="give the name of a [variants.<name>] table: "
                                   + ", ".join(n for n in names if n != name))
        if ref == name:
            raise RecipeError(f"{name!r} cannot be tested against itself", source=str(file),
                              key=key, hint="name the variant it changes, or leave against out "
                                            "to test it against the baseline")
        chain = _cycle(name, against)
        if chain:
            raise RecipeError("against forms a cycle: " + " -> ".join(chain),
                              source=str(file), key=key,
                              hint="each variant is tested against the one it changes; one of "
                                   "them must be tested against the baseline (no against)")


def _cycle(name: str, links: dict[str, str | None]) -> list[str]:
    """The cycle ``name -> ... -> name`` that following ``links`` from ``name`` closes, or []
    (the walk ends at a name without a link, or at a cycle not through ``name``)."""
    chain = [name]
    step = links[name]
    while step is not None and step not in chain:
        chain.append(step)
        step = links[step]
    return [*chain, name] if step == name else []


def _check_sources(parsed: StudyFile, file: Path) -> None:
    """Refuse names used twice, ``init_from`` naming nothing or itself, and cycles."""
    from gancore.core.errors import suggest

    for name in parsed.pretrain:
        if name in parsed.variants:
            raise RecipeError(f"{name!r} names both a pretrain run and a variant",
                              source=str(file), key=f"pretrain.{name}",
                              hint="rename one of them (each names a run folder)")
    table = {**{n: "pretrain" for n in parsed.pretrain}, **{n: "variants" for n in parsed.variants}}
    source = {n: v.init_from for n, v in [*parsed.pretrain.items(), *parsed.variants.items()]}
    for name, src in source.items():
        if src is None:
            continue
        key = f"{table[name]}.{name}.init_from"
        if src not in table:
            names = list(table)
            raise RecipeError(f"init_from {src!r} is not a variant or pretrain run"
                              f"{suggest(src, names)}", source=str(file), key=key,
                              hint="give the name of a [variants.<name>] or [pretrain.<name>] "
                                   "table: " + ", ".join(names))
        if src == name:
            raise RecipeError(f"{name!r} cannot start from its own checkpoint", source=str(file),
                              key=key, hint="name another variant or a [pretrain] run")
        chain = _cycle(name, source)
        if chain:
            raise RecipeError("init_from forms a cycle: " + " -> ".join(chain),
                              source=str(file), key=key,
                              hint="every run must start from one trained before it; break the "
                                   "cycle (a [pretrain] run with no init_from starts fresh)")


_SECTION_HINTS = {
    "study": 'add a [study] table with at least base = "<recipe>"',
    "variants": 'add [variants.<name>] tables, each with set = ["key=value", ...]',
}


def _known(loc: tuple[Any, ...]) -> list[str]:
    if not loc:
        return list(StudyFile.model_fields)
    if loc[0] == "study":
        return list(StudyMeta.model_fields)
    if loc[0] == "variants" and len(loc) > 3 and loc[2] == "published":
        return list(Published.model_fields)
    if loc[0] == "variants" and len(loc) > 2:
        return list(Variant.model_fields)
    if loc[0] == "pretrain" and len(loc) > 2:
        return list(Pretrain.model_fields)
    return list(StudyFile.model_fields)
