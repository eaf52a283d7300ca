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

    [variants.bce]
    set = []

    [variants.lsgan]
    set = ["loss.type=least_squares"]

    [variants.wgan-gp]
    recipe = "wgan-gp"                # a different recipe instead of the base
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gancore.errors import GancoreError, RecipeError

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

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError(f"the seeds must be distinct (got {value})")
        return value


class Variant(BaseModel):
    """``[variants.<name>]``: overrides of the base recipe, or another recipe."""

    model_config = _STRICT
    description: str = ""
    recipe: str | None = None
    set: list[str] = Field(default_factory=list)


class StudyFile(BaseModel):
    """The whole study file."""

    model_config = _STRICT
    study: StudyMeta
    variants: dict[str, Variant] = Field(min_length=1)

    @field_validator("variants")
    @classmethod
    def _names(cls, value: dict[str, Variant]) -> dict[str, Variant]:
        for name in value:
            if not _NAME.match(name):
                raise ValueError(
                    f"variant name {name!r} must start with a letter or digit and hold only "
                    "letters, digits, '.', '_' and '-' (it names the run folder)"
                )
        return value


@dataclass
class Entry:
    """One thing to compare: a recipe with overrides, or an existing run or checkpoint."""

    name: str
    recipe: str | None = None
    overrides: list[str] = field(default_factory=list)
    run: Path | None = None
    description: str = ""


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
    def baseline(self) -> str:
        """The variant the others are tested against: ``baseline``, else the first."""
        return self.meta.baseline or self.entries[0].name

    def recipe(self, variant: str, registry: Any = None, overrides: Any = ()) -> Any:
        """The resolved recipe of ``variant`` (validates its overrides; builds nothing)."""
        from gancore.recipe import load_recipe, resolve

        entry = next((e for e in self.entries if e.name == variant), None)
        if entry is None:
            from gancore.errors import suggest

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
            raise RecipeError(f"{where}{exc.message}", source=str(self.path),
                              key=f"variants.{variant}", hint=exc.hint) from None


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
    from gancore.recipe import find_recipe, read_toml
    from gancore.registry import validation_error

    file = Path(path)
    data = read_toml(file)
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
    entries = []
    for name, variant in parsed.variants.items():
        key = f"variants.{name}.recipe" if variant.recipe else "study.base"
        ref = variant.recipe or meta.base
        if ref is None:
            raise RecipeError("the variant names no recipe and the study has no base",
                              source=str(file), key=f"variants.{name}",
                              hint='add base = "dcgan-32" to [study] or recipe = "..." here')
        try:
            recipe = find_recipe(ref, relative_to=file.parent)
        except GancoreError as exc:
            raise RecipeError(f"recipe {ref!r} not found", source=str(file), key=key,
                              hint=exc.hint) from None
        entries.append(Entry(name, str(recipe), [*meta.set, *variant.set],
                             description=variant.description))
    if meta.baseline is not None and meta.baseline not in parsed.variants:
        from gancore.errors import suggest

        names = list(parsed.variants)
        raise RecipeError(f"the baseline {meta.baseline!r} is not a variant"
                          f"{suggest(meta.baseline, names)}", source=str(file),
                          key="study.baseline", hint="variants: " + ", ".join(names))
    return Study(file, meta, entries)


_SECTION_HINTS = {
    "study": 'add a [study] table with at least base = "<recipe>"',
    "variants": 'add [variants.<name>] tables, each with set = ["key=value", ...]',
}


def _known(loc: tuple[Any, ...]) -> list[str]:
    if not loc:
        return list(StudyFile.model_fields)
    if loc[0] == "study":
        return list(StudyMeta.model_fields)
    if loc[0] == "variants" and len(loc) > 2:
        return list(Variant.model_fields)
    return list(StudyFile.model_fields)
