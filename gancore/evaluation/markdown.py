"""``comparison.md``: a :class:`~gancore.evaluation.gather.Comparison` as Markdown."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gancore.evaluation.tables import (
    describe_budget,
    describe_settings,
    published_table,
    ranking_lines,
    reference_line,
    units_line,
    verdict_lines,
)

if TYPE_CHECKING:
    from gancore.evaluation.gather import Comparison


def _md_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def markdown(comparison: Comparison) -> str:
    """The comparison as a Markdown document."""
    headers, rows = comparison.table()
    s = comparison.settings
    lines = [f"# {comparison.name}", ""]
    lines.append(f"{describe_budget(comparison)} {describe_settings(comparison)}")
    if s["extractor"] and s["extractor"] != "inception":
        lines.append("")
        lines.append(f"Scores marked `/{s['extractor']}` use that extractor's features; they are "
                     "not comparable with Inception-based values.")
    for extra in (reference_line(comparison), units_line(comparison)):
        if extra:
            lines += ["", extra]
    if comparison.stats is not None:
        lines += ["", comparison.stats.method()]
    ranking = ranking_lines(comparison)
    if ranking:
        lines += ["", "Ranking, best first (`<`: the seeds back the step, Welch, Holm-adjusted "
                  "p < 0.05; `≈`: they do not):", "", *[f"- {line}" for line in ranking]]
    if comparison.multi_seed:
        lines += ["", "## Over seeds", ""]
        lines += _md_table(*comparison.stats_table())
        verdicts = verdict_lines(comparison)
        if verdicts:
            lines += ["", "Verdicts (adjusted p < 0.05 counts):", "", *verdicts]
    headers_p, rows_p = published_table(comparison)
    if rows_p:
        lines += ["", "## Published directions", "",
                  "Each variant's published direction beside the measured verdict of the same "
                  "metric against the same variant: reproduced, not reproduced at this budget "
                  "(no significant difference) or contradicted (a significant difference the "
                  "other way).", ""]
        lines += _md_table(headers_p, rows_p)
    lines += ["", "## Runs", ""] if comparison.multi_seed or rows_p else [""]
    lines += _md_table(headers, rows)
    if comparison.failed:
        lines += ["", "Failed runs (not in the tables):", ""]
        lines += [f"- `{f['id']}`: {str(f.get('error')).splitlines()[0]}"
                  for f in comparison.failed]
    lines += ["", "Variants:", ""]
    for r in comparison.first_runs():
        what = r.entry.recipe or str(r.entry.run)
        sets = f" with `{'`, `'.join(r.entry.overrides)}`" if r.entry.overrides else ""
        note = f" — {r.entry.description}" if r.entry.description else ""
        lines.append(f"- **{r.entry.name}**: `{what}`{sets}{note} (run: `{r.run}`)")
        diff = comparison.diffs.get(r.entry.name)
        if diff:
            ref = comparison.stats.reference(r.entry.name) if comparison.stats \
                else s.get("baseline")
            lines.append(f"  - differs from `{ref}` in: "
                         + "; ".join(f"`{d}`" for d in diff))
    lines += ["", "![samples](samples.png)", "", "![losses](losses.png)", "",
              "All of it, with the sample grids of every seed: [report.html](report.html)", ""]
    return "\n".join(lines)


# -- pictures ---------------------------------------------------------------------------------
