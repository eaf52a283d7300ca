"""The model card: ``README.md`` in the Hugging Face model-card format, and the scores it shows.

The YAML header carries ``library_name``, ``license``, ``tags``, ``pipeline_tag`` and, when the
checkpoint was scored by ``gancore eval --json``, a ``model-index`` whose metrics name their
evaluation protocol (features, sample counts, split, seed). The body shows the interface, a
sample grid, the checks, the scores, code that uses the export without gancore, and the
resolved recipe.

``gancore eval`` writes its scores only where ``--json`` says; the exporter takes them from
``--scores FILE`` or finds them beside the checkpoint as ``<checkpoint stem>.eval.json`` or
``eval.json``. Scores of another step or of the other weights (EMA or raw) are not used.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from gancore.core.errors import ExportError

#: How each metric of ``gancore eval`` is called in the card.
METRIC_NAMES = {
    "fid": "FID", "kid_mean": "KID", "kid_std": "KID (std over subsets)",
    "is_mean": "Inception Score", "is_std": "Inception Score (std over splits)",
    "precision": "precision", "recall": "recall", "density": "density",
    "coverage": "coverage", "f1": "F1 (precision/recall)", "modes": "modes captured",
    "high_quality_pct": "% high-quality samples", "class_coverage": "class coverage",
}


def _score_items(result: dict[str, Any]) -> dict[str, float]:
    """The finite numeric scores of a ``gancore eval --json`` result (its
    :func:`~gancore.evaluation.evaluator.score_keys`, the evaluation's own fields left out)."""
    from gancore.evaluation.evaluator import score_keys

    return {k: float(result[k]) for k in score_keys(result)
            if isinstance(result[k], int | float) and not isinstance(result[k], bool)
            and math.isfinite(float(result[k]))}


def candidates(checkpoint: Path) -> list[Path]:
    """Where the scores of ``checkpoint`` are looked for when ``--scores`` is not given."""
    return [checkpoint.with_name(checkpoint.stem + ".eval.json"), checkpoint.parent / "eval.json"]


def read_scores(path: Path, *, step: int, ema: bool, explicit: bool,
                ) -> tuple[dict[str, Any] | None, str | None]:
    """The ``gancore eval --json`` result in ``path`` when it scores these weights.

    Returns ``(result, None)``, or ``(None, note)`` when a found file does not fit; a file given
    with ``--scores`` that does not fit (or cannot be read) raises :class:`ExportError`.
    """
    def refuse(why: str) -> tuple[None, str]:
        if explicit:
            raise ExportError(f"cannot use these scores: {why}", source=str(path),
                              key="--scores", hint="give the --json file of `gancore eval` run "
                              "on this checkpoint with the same weights (leave --no-ema off "
                              "for EMA), or leave --scores out")
        return None, f"{path} ignored: {why}"

    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return refuse("the file does not exist")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return refuse(f"not readable JSON ({exc})")
    if not isinstance(result, dict) or not {"step", "ema", "metrics"} <= set(result):
        return refuse("not a `gancore eval --json` file (no step, ema and metrics)")
    if result["step"] != step:
        return refuse(f"it scores step {result['step']}, the checkpoint is at step {step}")
    if bool(result["ema"]) != ema:
        have, want = ("EMA", "raw") if result["ema"] else ("raw", "EMA")
        return refuse(f"it scores the {have} weights, the export holds the {want} weights")
    if not _score_items(result):
        return refuse("it holds no scores")
    return result, None


def find_scores(checkpoint: Path, given: Path | None, *, step: int, ema: bool,
                ) -> tuple[dict[str, Any] | None, list[str]]:
    """Scores from ``--scores`` or beside the checkpoint, and notes on files passed over."""
    if given is not None:
        return read_scores(given, step=step, ema=ema, explicit=True)[0], []
    notes = []
    for path in candidates(checkpoint):
        if path.is_file():
            result, note = read_scores(path, step=step, ema=ema, explicit=False)
            if result is not None:
                return result, notes
            notes.append(note or "")
    return None, notes


def _protocol(result: dict[str, Any], extractor: str | None) -> str:
    held = "held-out " if result.get("held_out") else ""
    feats = f"{extractor} features" if extractor else "raw samples"
    return (f"{result.get('num_samples', '?')} generated vs {result.get('num_real', '?')} "
            f"{held}real samples of {result.get('dataset', '?')} ({result.get('split', '?')} "
            f"split), {feats}, seed {result.get('seed', '?')}")


def metric_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per score: metric, its display name, value, features and protocol."""
    rows = []
    for key, value in _score_items(result).items():
        metric, _, features = key.partition("/")
        features = features or None
        rows.append({"type": metric, "name": METRIC_NAMES.get(metric, metric),
                     "value": value, "features": features,
                     "protocol": _protocol(result, features)})
    return rows


def front_matter(manifest: dict[str, Any], recipe: dict[str, Any],
                 scores: dict[str, Any] | None, license: str) -> dict[str, Any]:
    """The model card's YAML header as data."""
    sig = manifest["signature"]
    name = manifest["name"]
    is_image = len(sig["output_shape"]) == 3
    tags = ["gancore", "gan", "generative-adversarial-network", name]
    if is_image:
        tags.append("image-generation")
    if sig["num_classes"]:
        tags.append("class-conditional")
    tags += [{"onnx": "onnx", "torch-export": "torch-export"}[f] for f in manifest["formats"]
             if f != "safetensors"]
    tags.append("safetensors")
    header: dict[str, Any] = {"library_name": "gancore", "license": license, "tags": tags}
    if is_image:
        header["pipeline_tag"] = "unconditional-image-generation"
    data = recipe.get("data", {})
    if scores is not None:
        task = ("class-conditional image generation" if sig["num_classes"]
                else "unconditional image generation") if is_image else "sample generation"
        metrics = []
        for row in metric_rows(scores):
            features = f" ({row['features']} features)" if row["features"] else ""
            metrics.append({
                "type": row["type"],
                "name": row["name"] + features,
                "value": float(f"{row['value']:.6g}"),
                "args": {"features": row["features"] or "raw samples",
                         "num_samples": scores.get("num_samples"),
                         "num_real": scores.get("num_real"),
                         "dataset": scores.get("dataset"),
                         "split": scores.get("split"),
                         "seed": scores.get("seed"),
                         "weights": "ema" if scores.get("ema") else "raw",
                         "step": scores.get("step")},
                "verified": False,
            })
        header["model-index"] = [{
            "name": name,
            "results": [{
                "task": {"type": "unconditional-image-generation" if is_image
                         else "other", "name": task},
                "dataset": {"type": str(data.get("type", scores.get("dataset", "?"))),
                            "name": str(scores.get("dataset", data.get("type", "?"))),
                            "split": str(scores.get("split", "?"))},
                "metrics": metrics,
            }],
        }]
    return header


def _yaml(data: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"
              for row in rows]
    return "\n".join(lines)


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def snippets(manifest: dict[str, Any]) -> str:
    """Code that uses the export without gancore, one block per exported format."""
    sig = manifest["signature"]
    n, dim, k = 16, sig["latent_dim"], sig["num_classes"]
    files = manifest["files"]
    out = []
    if "onnx" in files:
        feeds = ['"z": z']
        if k:
            feeds.append(f'"labels": (np.arange({n}) % {k}).astype(np.int64)')
        if sig["truncation"]:
            feeds.append('"truncation": np.array([np.inf], np.float32)  # e.g. 0.7 to truncate')
        body = ",\n    ".join(feeds)
        out.append(f"""### ONNX (onnxruntime, numpy)

```python
import numpy as np
import onnxruntime as ort

session = ort.InferenceSession("{files['onnx']}")
z = np.random.default_rng(0).standard_normal(({n}, {dim})).astype(np.float32)
feeds = {{
    {body}
}}
{_output_var(sig)} = session.run(None, feeds)[0]  # {_output_note(sig, n)}
```""")
    if "torch-export" in files:
        args = ["z"]
        if k:
            args.append(f"torch.arange({n}) % {k}")
        if sig["truncation"]:
            args.append('torch.tensor([float("inf")])')
        out.append(f"""### torch.export (PyTorch only)

```python
import torch

generator = torch.export.load("{files['torch-export']}").module()
torch.manual_seed(0)
z = torch.randn({n}, {dim})
with torch.no_grad():
    {_output_var(sig)} = generator({", ".join(args)})  # {_output_note(sig, n)}
```""")
    out.append(f"""### safetensors (the weights)

```python
from safetensors.torch import load_file

state = load_file("{files['weights']}")  # the generator's state_dict, keys "generator.*"
generator_state = {{k.removeprefix("generator."): v for k, v in state.items()}}
```

The weights fit the network `recipe.toml` describes. gancore rebuilds it from the file alone
(`gancore.load("this folder")`); without gancore, load them into your own module of the same
layer names.""")
    return "\n\n".join(out)


def _output_var(sig: dict[str, Any]) -> str:
    return "images" if len(sig["output_shape"]) == 3 else "samples"


def _output_note(sig: dict[str, Any], n: int) -> str:
    shape = ", ".join(str(s) for s in (n, *sig["output_shape"]))
    return f"({shape}) in [-1, 1]" if len(sig["output_shape"]) == 3 else f"({shape})"


def model_card(manifest: dict[str, Any], recipe: dict[str, Any], recipe_toml: str,
               scores: dict[str, Any] | None, *, license: str) -> str:
    """The text of ``README.md``."""
    sig = manifest["signature"]
    src = manifest["source"]
    name = manifest["name"]
    desc = recipe.get("recipe", {}).get("description") or ""
    weights = "EMA" if src["weights"] == "ema" else "raw (not EMA)"
    parts = ["---\n" + _yaml(front_matter(manifest, recipe, scores, license)) + "---"]
    parts.append(f"# {name}" + (f": {desc}" if desc else ""))
    parts.append(
        f"A generator built from the gancore recipe `{name}` and trained for {src['step']:,} "
        f"generator steps, exported with its {weights} weights by gancore "
        f"{manifest['gancore_version']} (PyTorch {manifest['torch_version']})."
    )
    parts.append("## Files")
    what = {"weights": "the generator's weights (a gancore checkpoint: recipe in the metadata)",
            "onnx": "ONNX graph (dynamic batch), checked with onnxruntime",
            "torch-export": "`torch.export` program (dynamic batch), checked after loading",
            "samples": "sample grid", "recipe": "the resolved recipe",
            "manifest": "what this folder holds, the interface and the checks"}
    parts.append(_table(["file", "what"], [[f"`{f}`", what.get(k, k)]
                                           for k, f in manifest["files"].items() if k in what]))
    parts.append("## Inputs and outputs")
    rows = [[f"`{i['name']}`", i["dtype"], str(i["shape"]).replace("'", ""), i["description"]]
            for i in manifest["inputs"] + manifest["outputs"]]
    parts.append(_table(["name", "dtype", "shape", "meaning"], rows))
    notes = ["`batch` is dynamic: any batch size from 1 works."]
    if sig["truncation"]:
        notes.append(
            "`truncation` is the truncation trick's threshold T: each latent value is clamped to "
            "[-T, T] before the generator runs (`inf` changes nothing). `gancore sample "
            "--truncation T` draws latents from a normal truncated at T; latents drawn that way "
            "pass the clamp unchanged.")
    if len(sig["output_shape"]) == 3:
        notes.append("Images are in [-1, 1], channels first: `(x + 1) * 127.5` gives 8-bit "
                     "levels.")
    parts.append(" ".join(notes))
    if "samples" in manifest["files"]:
        parts.append("## Samples")
        parts.append(f"![samples drawn with seed 0]({manifest['files']['samples']})")
    parts.append("## Use without gancore")
    parts.append(snippets(manifest))
    parts.append("With gancore: `gan = gancore.load(\"this folder\")` rebuilds the network "
                 "from the recipe; `gan.generator(z, labels)` is an ordinary `nn.Module`.")
    parts.append("## Checks")
    checks = manifest.get("checks", {})
    if checks:
        rows = []
        for fmt, record in checks.items():
            cases = ", ".join(f"batch {c['batch']}" + (
                f" (T={c['truncation']:g})" if c.get("truncation") is not None else "")
                for c in record["cases"])
            tol = record["tolerance"]
            rows.append([fmt, cases, _fmt(record["max_abs_diff"]),
                         f"{tol['atol']:g} + {tol['rtol']:g}·|gancore|"])
        parts.append("Each exported file was run on fixed latents and compared with the images "
                     "gancore's own generator makes from the same inputs:")
        parts.append(_table(["format", "cases", "largest difference", "allowed"], rows))
    else:
        parts.append("Only the weights were exported; no graph to check.")
    parts.append("## Evaluation")
    if scores is not None:
        rows = [[r["name"], _fmt(r["value"]), r["features"] or "-"]
                for r in metric_rows(scores)]
        parts.append(_table(["metric", "value", "features"], rows))
        parts.append(f"Protocol (`gancore eval`, step {scores.get('step')}, "
                     f"{'EMA' if scores.get('ema') else 'raw'} weights): "
                     f"{_protocol(scores, scores.get('extractor'))}. Scores are comparable only "
                     "under the same protocol (FID depends on the sample count and features).")
    else:
        parts.append("Not evaluated. `gancore eval CHECKPOINT --json CHECKPOINT_STEM.eval.json` "
                     "before exporting puts the scores here.")
    parts.append("## Recipe")
    parts.append("```toml\n" + recipe_toml.rstrip() + "\n```")
    packs = manifest.get("packs") or []
    if packs:
        parts.append("Components from plugin packs: " + ", ".join(f"`{p}`" for p in packs)
                     + " (install them to rebuild the network with gancore).")
    return "\n\n".join(parts) + "\n"
