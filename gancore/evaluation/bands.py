"""Expected bands: whether each compared variant scores inside the band its ``[expect]``
table records (:mod:`gancore.recipe.expect`), and bands recorded from finished runs.

**Checking** (``gancore compare STUDY --check``): a variant's band is its study table's
``[variants.<name>.expect]``; an entry compared from a recipe file uses the recipe's own
``[expect]`` (a study variant never inherits its base recipe's band: it changes that recipe).
The band holds for the mean over seeds of its metric, and only for runs made under the
settings it states: the same steps, the same set of seeds, the same value for each ``data``
key it names (and ``num_samples`` when given). Each variant is then

- ``inside``: the mean lies in ``[low, high]`` (ends included);
- ``outside``: it does not;
- ``not comparable``: the runs were made under other settings, lack the metric, or failed;
- ``no band``: the variant records none.

The check passes when every variant with a band is inside.

**Recording** (``gancore compare STUDY --record-bands``), from 3 finished seeds or more per
variant: the band of a metric whose seed values have mean ``m`` and sample standard deviation
``s`` is ``m ± max(3·s, 0.1·|m|)`` (:data:`SPREAD`, :data:`FLOOR`), clipped to the metric's
range (:func:`gancore.metrics.scores.score_info`: FID and KID at least 0, precision and
recall within [0, 1]...) and
rounded outwards to 4 significant digits. The metric is the variant's existing band's, else its
``published`` metric, else FID, else its first score with a better direction.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gancore.core.errors import GancoreError
from gancore.evaluation.stats import direction
from gancore.metrics.scores import score_info
from gancore.recipe.data_identity import data_identity
from gancore.recipe.expect import Expect

if TYPE_CHECKING:
    from gancore.evaluation.gather import Comparison, EntryResult
    from gancore.evaluation.study import Study

INSIDE, OUTSIDE, NOT_COMPARABLE, NO_BAND = "inside", "outside", "not comparable", "no band"
#: Fewest finished seeds a band is recorded from.
MIN_SEEDS = 3
#: A recorded band's half width: max(SPREAD · sd, FLOOR · |mean|).
SPREAD = 3.0
FLOOR = 0.10


@dataclass
class BandCheck:
    """One variant's band against its runs."""

    variant: str
    status: str
    metric: str | None = None
    mean: float | None = None
    low: float | None = None
    high: float | None = None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def band_of(comparison: Comparison, variant: str, study: Study | None) -> Expect | None:
    """The band ``variant`` records: its study table's, or (an entry compared from a recipe
    file) the recipe's own ``[expect]``."""
    if study is not None:
        entry = next((e for e in study.variants if e.name == variant), None)
        return entry.expect if entry is not None else None
    raw = comparison.recipes.get(variant, {}).get("expect")
    return Expect.model_validate(raw) if raw else None


def _same_type(want: Any, got: Any) -> bool:
    """Data types match with or without an ``origin:`` qualifier."""
    if not isinstance(want, str) or not isinstance(got, str):
        return want == got
    return want == got or (want.rpartition(":")[2] == got.rpartition(":")[2] and (
        ":" not in want or ":" not in got))


def score_key(results: Sequence[EntryResult], metric: str) -> str | None:
    """The score key of ``metric`` in ``results`` (a base name matches ``name/extractor``)."""
    for r in results:
        for key in r.scores:
            if key == metric or key.partition("/")[0] == metric:
                return key
    return None


def _mismatch(band: Expect, results: Sequence[EntryResult], recipe: dict[str, Any]) -> str:
    """Why the runs were not made under the band's settings ('' when they were)."""
    steps = sorted({int(r.evaluation.get("step") or 0) for r in results})
    if steps != [band.steps]:
        return f"band recorded at {band.steps} steps, runs at {', '.join(map(str, steps))}"
    seeds = sorted({r.seed if r.seed is not None else recipe.get("seed") for r in results},
                   key=lambda s: (s is None, s))
    if seeds != sorted(band.seeds):
        return f"band recorded over seeds {sorted(band.seeds)}, runs over seeds {seeds}"
    data = recipe.get("data", {})
    for key, want in band.data.items():
        got = data.get(key)
        if not (_same_type(want, got) if key == "type" else want == got):
            return f"band recorded with data.{key} = {want!r}, runs with {got!r}"
    if band.num_samples is not None:
        counts = sorted({r.evaluation.get("num_samples") for r in results}, key=str)
        if counts != [band.num_samples]:
            return f"band recorded from {band.num_samples} samples, runs scored {counts}"
    return ""


def check_bands(comparison: Comparison, study: Study | None = None) -> list[BandCheck]:
    """Each compared variant (and each banded variant that did not finish) against its band."""
    names = list(comparison.variants)
    if study is not None:
        names += [e.name for e in study.variants if e.name not in names and e.expect]
    checks = []
    for name in names:
        results = [r for r in comparison.results if r.entry.name == name]
        band = band_of(comparison, name, study)
        if band is None:
            checks.append(BandCheck(name, NO_BAND))
            continue
        at = BandCheck(name, NOT_COMPARABLE, band.metric, low=band.low, high=band.high)
        key = score_key(results, band.metric)
        if not results:
            at.detail = "no finished run"
        elif key is None:
            at.detail = f"the runs have no {band.metric} score"
        else:
            at.metric = key
            at.detail = _mismatch(band, results, comparison.recipes.get(name, {}))
            if not at.detail:
                values = [r.scores[key] for r in results]
                at.mean = sum(values) / len(values)
                inside = band.low <= at.mean <= band.high
                at.status = INSIDE if inside else OUTSIDE
                at.detail = (f"mean of {len(values)} seed{'s' * (len(values) > 1)}")
        checks.append(at)
    return checks


def passed(checks: Sequence[BandCheck]) -> bool:
    """Whether every variant with a band is inside it."""
    return all(c.status in (INSIDE, NO_BAND) for c in checks)


# -- recording --------------------------------------------------------------------------------
def band_rule(values: Sequence[float], metric: str) -> tuple[float, float]:
    """``mean ± max(SPREAD·sd, FLOOR·|mean|)`` of ``values`` (3 or more), clipped to the
    metric's range and rounded outwards to 4 significant digits."""
    if len(values) < MIN_SEEDS:
        raise ValueError(f"a band needs {MIN_SEEDS} values or more (got {len(values)})")
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = max(SPREAD * sd, FLOOR * abs(mean))
    info = score_info(metric)
    low, high = _round(mean - half, math.floor), _round(mean + half, math.ceil)
    return (low if info.low is None else max(info.low, low),
            high if info.high is None else min(info.high, high))


def _round(value: float, how: Any) -> float:
    """``value`` rounded (``how``: floor or ceil) to 4 significant digits, written exactly."""
    if value == 0 or not math.isfinite(value):
        return value
    exponent = math.floor(math.log10(abs(value))) - 3
    return float(f"{how(value / 10.0 ** exponent)}e{exponent}")


def _band_metric(comparison: Comparison, name: str, results: Sequence[EntryResult]) -> str:
    entry = results[0].entry
    for wanted in (entry.expect.metric if entry.expect else None,
                   entry.published.metric if entry.published else None, "fid"):
        if wanted and score_key(results, wanted):
            return wanted
    keys = [k for k in results[0].scores if direction(k) is not None] or list(results[0].scores)
    if not keys:
        raise GancoreError(f"{name}: the runs have no score to record a band of",
                           hint="evaluate with metrics, e.g. metrics = [\"fid\"]")
    return keys[0].partition("/")[0]


def record_bands(comparison: Comparison, study: Study, command: str = "") -> dict[str, Expect]:
    """The band of each compared variant from its finished seeds (see the module docstring);
    refuses a variant with fewer than :data:`MIN_SEEDS`."""
    bands = {}
    short = [v for v in comparison.variants
             if len([r for r in comparison.results if r.entry.name == v]) < MIN_SEEDS]
    if short or not comparison.variants:
        raise GancoreError(
            f"a band is recorded from {MIN_SEEDS} finished seeds or more per variant; "
            + (", ".join(short) + " had fewer" if short else "no variant finished"),
            source=str(study.path), key="study.seeds",
            hint="run the study with seeds = [0, 1, 2] (or --seeds 3) until every run finishes")
    for name in comparison.variants:
        results = [r for r in comparison.results if r.entry.name == name]
        metric = _band_metric(comparison, name, results)
        key = score_key(results, metric)
        assert key is not None
        low, high = band_rule([r.scores[key] for r in results], key)
        recipe = comparison.recipes.get(name, {})
        data = data_identity(recipe)
        if not data:
            raise GancoreError(f"{name}: no recipe to read the data settings from",
                               source=str(study.path), key=f"variants.{name}",
                               hint="record bands of variants trained from recipes")
        steps = {int(r.evaluation.get("step") or 0) for r in results}
        counts = {r.evaluation.get("num_samples") for r in results}
        note = (f"{len(results)} seeds, mean ± max({SPREAD:g}·sd, {FLOOR:g}·|mean|), "
                f"{time.strftime('%Y-%m-%d')}" + (f": {command}" if command else ""))
        bands[name] = Expect(
            metric=metric, interval=(low, high), steps=max(steps),
            seeds=sorted(r.seed if r.seed is not None else int(recipe.get("seed", 0))
                         for r in results),
            data=data,
            num_samples=counts.pop() if len(counts) == 1 and None not in counts else None,
            recorded=note)
    return bands


def write_bands(path: Path, bands: dict[str, Expect]) -> None:
    """Write each variant's band into its ``[variants.<name>.expect]`` table of the study file
    at ``path``, replacing the band it had; the rest of the file (comments, order, layout) is
    kept as written (tomlkit), and the file is replaced atomically."""
    import tomlkit
    from tomlkit.items import Comment, Whitespace

    from gancore.storage.io import atomic_write_text

    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    variants = doc["variants"]
    for name, band in bands.items():
        table = tomlkit.table()
        for key, value in band.to_toml_dict().items():
            if key == "data":
                inline = tomlkit.inline_table()
                inline.update(value)
                table.add(key, inline)
            else:
                table.add(key, value)
        variant = variants[name]  # type: ignore[index]
        # blank lines and comments at the end of a table belong to the next table's header:
        # those of the variant's table (or of the band it had) go below the new band
        had = variant.get("expect")  # type: ignore[union-attr]
        trailing = _take_trailing(had if had is not None else variant, Comment, Whitespace)
        if had is not None:
            del variant["expect"]  # type: ignore[union-attr]
            _take_trailing(variant, Comment, Whitespace)  # the Null a removed table leaves
        for item in trailing or [tomlkit.nl()]:
            table.add(item)
        variant["expect"] = table  # type: ignore[index]
    text = tomlkit.dumps(doc)
    atomic_write_text(path, text if text.endswith("\n") else text + "\n",
                      what="the study file")


def _take_trailing(table: Any, *kinds: type) -> list[Any]:
    """Remove the key-less items (comments, blank lines) at the end of a tomlkit table's
    body and return those of ``kinds``, in order."""
    body = table.value.body
    taken: list[Any] = []
    while body and body[-1][0] is None:
        item = body.pop()[1]
        if isinstance(item, kinds):
            taken.insert(0, item)
    return taken
