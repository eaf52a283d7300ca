"""``report.html``: the whole comparison in one self-contained page.

Everything is inline: the style sheet, a few lines of script, and every image as a base64
``data:`` URI, so the file opens from disk (or as a mail attachment) with no network and no other
file. The page shows the settings, each variant's resolved-recipe differences from the
baseline, the table over seeds (intervals, tests, verdicts), the published directions beside
the measured verdicts, the per-run table, the sample grid
of every run with a seed picker, and the loss curves with a band over seeds. Without script
the first seed's grids show; the script only switches seeds.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gancore.evaluation.figures import loss_bands_png, sample_png
from gancore.evaluation.tables import (
    describe_budget,
    describe_settings,
    published_table,
    ranking_lines,
    reference_line,
    units_line,
)

if TYPE_CHECKING:
    from gancore.evaluation.gather import Comparison

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 78rem; padding: 0 1rem; color: #1d1d1f; line-height: 1.45; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .9rem; max-width: 100%; }
th, td { border: 1px solid #d0d0d0; padding: .25rem .55rem; text-align: right; }
th { overflow-wrap: anywhere; }  /* headers wrap; numbers never; names only after a "/" */
.nw { white-space: nowrap; }
.fit { max-width: 100%; overflow-x: auto; }
th { background: #f4f4f6; }
td:first-child, th:first-child, #stats td:nth-child(2) { text-align: left; }
table.settings td { text-align: left; }
td.better { background: #e3f6e3; font-weight: 600; }
td.worse { background: #fbe4e4; font-weight: 600; }
code { background: #f4f4f6; padding: 0 .2rem; border-radius: 3px; }
.grids { display: flex; flex-wrap: wrap; gap: 1rem; }
figure { margin: 0; text-align: center; }
figure img { image-rendering: pixelated; width: 272px; border: 1px solid #ccc; }
img.wide { max-width: 100%; }
fieldset { border: 1px solid #ccc; display: inline-block; }
.note { color: #555; max-width: 60rem; }
.failed { color: #a00; }
"""

SCRIPT = """
(function () {
  var imgs = Array.prototype.slice.call(document.querySelectorAll("img.sample"));
  function show(seed) {
    imgs.forEach(function (img) { img.hidden = img.getAttribute("data-seed") !== seed; });
    var label = document.getElementById("seed-shown");
    if (label) { label.textContent = seed; }
  }
  var radios = document.querySelectorAll("input[name=seed]");
  Array.prototype.forEach.call(radios, function (radio) {
    radio.addEventListener("change", function () { if (radio.checked) { show(radio.value); } });
  });
  var checked = document.querySelector("input[name=seed]:checked");
  if (checked) { show(checked.value); }
  document.body.setAttribute("data-ready", "1");
  window.addEventListener("load", function () {
    var ok = Array.prototype.filter.call(document.images, function (img) {
      return img.complete && img.naturalWidth > 0;
    }).length;
    document.body.setAttribute("data-images-ok", String(ok) + "/" + document.images.length);
  });
})();
"""


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _name(value: Any) -> str:
    """A row's name (``dcgan-32/seed-0``): may wrap after a ``/``, never inside a part."""
    parts = str(value).split("/")
    if len(parts) == 1:
        return _e(value)
    return "/<wbr>".join(f'<span class="nw">{_e(p)}</span>' for p in parts)


def _table(headers: list[str], rows: list[list[str]], table_id: str,
           classes: list[list[str]] | None = None) -> str:
    head = "".join(f"<th>{_e(h).replace('/', '/<wbr>')}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cells = []
        for j, cell in enumerate(row):
            cls = classes[i][j] if classes else ""
            text = _name(cell) if j == 0 else _e(cell)
            cells.append(f'<td class="{cls}">{text}</td>' if cls else f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="fit"><table id="{table_id}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def render(comparison: Comparison, registry: object = None,
           losses_png: bytes | None = None) -> str:
    """The report page as a string (from ``comparison`` alone; ``registry`` is unused)."""
    s = comparison.settings
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(comparison.name)} — gancore comparison</title>",
        f"<style>{STYLE}</style></head>",
        '<body data-report="gancore">',
        f"<h1>{_e(comparison.name)}</h1>",
    ]
    if s.get("description"):
        parts.append(f'<p class="note">{_e(s["description"])}</p>')

    # settings
    rows = [
        ("study file", s.get("study") or "-"),
        ("budget", describe_budget(comparison).replace("`", "")),
        ("seeds", ", ".join(map(str, s["seeds"])) if s.get("seeds") else
         (str(s["seed"]) if s.get("seed") is not None else "the recipes' own")),
        ("baseline", s.get("baseline")),
        ("shared overrides", ", ".join(s.get("overrides") or []) or "-"),
        ("evaluation", describe_settings(comparison).replace("`", "")),
        ("created", s.get("created")),
    ]
    parts.append("<h2>Settings</h2>")
    parts.append('<table class="settings" id="settings"><tbody>' + "".join(
        f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows) + "</tbody></table>")

    # variants and their differences from the variant each is tested against
    parts.append("<h2>Variants</h2><ul id=\"variants\">")
    for r in comparison.first_runs():
        name = r.entry.name
        what = r.entry.recipe or str(r.entry.run)
        desc = f" — {_e(r.entry.description)}" if r.entry.description else ""
        item = f"<li><strong>{_e(name)}</strong>: <code>{_e(what)}</code>{desc}"
        if name == s.get("baseline"):
            item += " <em>(baseline)</em>"
        elif name in comparison.diffs:
            diff = comparison.diffs[name]
            ref = comparison.stats.reference(name) if comparison.stats else "the baseline"
            ref = "the baseline" if ref == s.get("baseline") else ref
            item += (f"<br>differs from {_e(ref)} in {len(diff)} setting(s):<ul>"
                     + "".join(f"<li><code>{_e(d)}</code></li>" for d in diff) + "</ul>")
        parts.append(item + "</li>")
    parts.append("</ul>")

    # the tables
    parts.append("<h2>Results</h2>")
    if comparison.stats is not None:
        method = comparison.stats.method().replace("`", "")
        parts.append(f'<p class="note" id="method">{_e(method)}</p>')
    ranking = ranking_lines(comparison)
    if ranking:
        parts.append('<p class="note">Ranking, best first (&lt;: the seeds back the step; '
                     '≈: they do not):</p><ul id="ranking">'
                     + "".join(f"<li>{_e(line)}</li>" for line in ranking) + "</ul>")
    for ident, extra in (("reference", reference_line(comparison)),
                         ("units", units_line(comparison))):
        if extra:
            parts.append(f'<p class="note" id="{ident}">{_e(extra)}</p>')
    if comparison.multi_seed:
        headers, srows = comparison.stats_table()
        classes = [["" for _ in row] for row in srows]
        for i, row in enumerate(srows):
            if row[-1] in ("better", "worse"):
                classes[i][-1] = row[-1]
        parts.append("<h3>Over seeds</h3>")
        parts.append(_table(headers, srows, "stats", classes))
    headers, prows = published_table(comparison)
    if prows:
        marks = {"reproduced": "better", "contradicted": "worse"}
        pclasses = [["" for _ in row[:-1]] + [marks.get(row[-1], "")] for row in prows]
        parts.append("<h3>Published directions</h3>")
        parts.append(_table(headers, prows, "published", pclasses))
    headers, rrows = comparison.table()
    parts.append("<h3>Runs</h3>")
    parts.append(_table(headers, rrows, "runs"))
    if comparison.failed:
        parts.append('<h3 class="failed">Failed runs</h3><ul class="failed">' + "".join(
            f"<li><code>{_e(f['id'])}</code>: {_e(str(f.get('error')).splitlines()[0])}</li>"
            for f in comparison.failed) + "</ul>")

    # samples, with a seed picker
    seeds = list(dict.fromkeys(r.seed for r in comparison.results))
    parts.append("<h2>Samples</h2>")
    if len(seeds) > 1:
        radios = "".join(
            f'<label><input type="radio" name="seed" value="{_e(seed)}"'
            f'{" checked" if i == 0 else ""}> seed {_e(seed)}</label> '
            for i, seed in enumerate(seeds))
        parts.append(f'<fieldset id="seed-picker"><legend>seed shown: <span id="seed-shown">'
                     f"{_e(seeds[0])}</span></legend>{radios}</fieldset>")
    parts.append('<div class="grids">')
    for name in comparison.variants:
        runs = [r for r in comparison.results if r.entry.name == name]
        imgs = []
        for r in runs:
            hidden = "" if r.seed == seeds[0] or len(seeds) == 1 else " hidden"
            imgs.append(f'<img class="sample" data-seed="{_e(r.seed)}"{hidden} '
                        f'alt="samples of {_e(r.id)}" src="{data_uri(sample_png(r))}">')
        parts.append(f'<figure data-variant="{_e(name)}"><figcaption>{_e(name)} (step '
                     f'{_e(runs[0].evaluation.get("step"))})</figcaption>{"".join(imgs)}'
                     "</figure>")
    parts.append("</div>")

    # loss curves
    png = losses_png if losses_png is not None else loss_bands_png(comparison.results)
    parts.append("<h2>Losses</h2>")
    parts.append(f'<img class="wide" id="losses" alt="loss curves" src="{data_uri(png)}">')
    parts.append(f"<script>{SCRIPT}</script>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(comparison: Comparison, path: Path, *, registry: object = None,
                 losses_png: bytes | None = None) -> Path:
    """Write ``report.html`` atomically (from ``comparison`` alone)."""
    from gancore.storage.io import atomic_write_text

    return atomic_write_text(path, render(comparison, losses_png=losses_png),
                             what="the HTML report")
