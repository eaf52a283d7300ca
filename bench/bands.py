"""Expected bands of the bundled recipes and studies: ``gancore compare ... --check`` on each one
that records a band, then one summary (inside / outside / not comparable per variant).

A study is checked at its own budget (``gancore compare studies/x.toml --check``); a recipe with
an ``[expect]`` table at the budget its band states (``--steps``, ``--seed`` or ``--seeds``,
``-n`` and ``--set data.KEY=VALUE`` from the band). Finished runs in the output folders are
reused, so a second run of this script only checks again.

    python bench/bands.py                       # everything that records a band
    python bench/bands.py --list                # what would be checked, and how; trains nothing
    python bench/bands.py --only architectures dcgan-32 --out runs/bands
    python bench/bands.py my-study.toml my-recipe.toml   # other files instead

Exits 1 when a banded variant is not inside its band (or a check could not run), 0 otherwise.
It is a script, not a test: the full budgets take hours on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _toml_value(value: object) -> str:
    """A ``--set`` value: strings quoted, booleans lower case, numbers as they are."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


def targets(files: list[Path]) -> list[tuple[str, list[str]]]:
    """``(name, compare arguments)`` for each bundled study, and each recipe of gancore and
    its installed packs (``recipe_dirs``), recording a band (or each of ``files``, when
    given)."""
    from gancore.evaluation import is_study_file, load_study
    from gancore.recipe import read_toml, recipe_dirs
    from gancore.recipe.expect import check_expect

    studies = [f for f in files if is_study_file(str(f))] if files else sorted(
        (ROOT / "studies").glob("*.toml"))
    recipes = [f for f in files if not is_study_file(str(f))] if files else [
        path for folder in recipe_dirs() for path in sorted(folder.glob("*.toml"))]
    found = []
    for path in studies:
        study = load_study(path)
        if any(e.expect for e in study.variants):
            found.append((f"study:{study.name}", [str(path.resolve())]))
    for path in recipes:
        raw = read_toml(path).get("expect")
        if raw is None:
            continue
        band = check_expect(raw, source=str(path))
        args = [str(path.resolve()), "--steps", str(band.steps)]
        seeds = sorted(band.seeds)
        if len(seeds) == 1:
            args += ["--seed", str(seeds[0])]
        elif seeds == list(range(len(seeds))):
            args += ["--seeds", str(len(seeds))]
        else:
            print(f"{path}: seeds {seeds} are not 0..N-1: checked with --seeds {len(seeds)}, "
                  "so the band will not be comparable", file=sys.stderr)
            args += ["--seeds", str(len(seeds))]
        if band.num_samples is not None:
            args += ["-n", str(band.num_samples)]
        for key, value in band.data.items():  # the type too: a band may hold for other data
            args += ["--set", f"data.{key}={_toml_value(value)}"]
        found.append((f"recipe:{path.stem}", args))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path,
                        help="study or recipe files to check instead of the bundled ones")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="study or recipe names to check (default: all with a band)")
    parser.add_argument("--out", type=Path, default=Path("runs") / "bands",
                        help="folder of the checks' output folders (finished runs reused)")
    parser.add_argument("--list", action="store_true", help="print the commands and exit")
    parser.add_argument("--jobs", "-j", type=int, default=1, help="training runs at once")
    args = parser.parse_args()

    chosen = [(name, cmd) for name, cmd in targets(args.files)
              if not args.only or name.partition(":")[2] in args.only]
    if not chosen:
        print("nothing to check: no bundled study or recipe records a band"
              + (f" among {', '.join(args.only)}" if args.only else ""))
        return 0
    rows: list[tuple[str, str, str, str, str, str]] = []
    failed = False
    for name, cmd in chosen:
        out = args.out / name.replace(":", "-")
        full = [sys.executable, "-m", "gancore", "compare", *cmd, "--check", "--out", str(out),
                "--quiet", "--jobs", str(args.jobs)]
        print("$ python " + " ".join(full[1:]), flush=True)
        if args.list:
            continue
        start = time.perf_counter()
        proc = subprocess.run(full)
        seconds = time.perf_counter() - start
        report = out / "bands.json"
        if proc.returncode not in (0, 1) or not report.is_file():
            rows.append((name, "-", f"did not run (exit {proc.returncode})", "-", "-",
                         f"{seconds:.0f}s"))
            failed = True
            continue
        checks = json.loads(report.read_text(encoding="utf-8"))
        failed |= not checks["passed"]
        for c in checks["variants"]:
            interval = "-" if c["low"] is None else f"[{c['low']:.4g}, {c['high']:.4g}]"
            mean = "-" if c["mean"] is None else f"{c['mean']:.4g}"
            rows.append((name, c["variant"], c["status"], mean, interval,
                         c["detail"] or f"{seconds:.0f}s"))
    if args.list:
        return 0
    headers = ("checked", "variant", "band", "mean", "interval", "detail")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    for row in (headers, *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    banded = [r for r in rows if r[2] != "no band"]
    inside = sum(r[2] == "inside" for r in banded)
    print(f"\n{inside} of {len(banded)} banded variants inside their bands"
          + ("" if not failed else "; CHECK FAILED"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
