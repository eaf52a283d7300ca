"""What ``gancore data prepare`` reads: a folder of images, an IDX file, or a registered dataset.

:func:`open_source` turns the SOURCE argument into a :class:`Source`: one origin string, one
label and one item (a file or a uint8 array) per image, in a fixed order. Listing a source
reads no pixels of image files; their decoding happens in the shards (:mod:`.imaging`).
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gancore.core.errors import DataError, suggest

if TYPE_CHECKING:
    from gancore.core.registry import Registry

#: ``--labels`` values other than a file.
LABEL_MODES = ("auto", "none", "subfolders")

_IDX_NAME = re.compile(r"idx\d-ubyte(\.gz)?$")


@dataclass
class Source:
    """The images to prepare, in order: ``origins[i]``, ``labels[i]`` and item ``i``.

    Items are the files ``root / origins[i]`` or the rows of ``arrays`` (uint8 ``N×C×H×W``).
    ``skipped`` lists ``(origin, reason)`` of images left out while listing (no label).
    """

    kind: str
    info: dict[str, Any]
    origins: list[str]
    labels: np.ndarray
    classes: list[str] = field(default_factory=list)
    num_classes: int = 0
    root: Path | None = None
    arrays: np.ndarray | None = None
    native_size: int | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.origins)

    def item(self, i: int) -> Any:
        """Item ``i``: an absolute file path (str) or a uint8 array."""
        if self.arrays is not None:
            return self.arrays[i]
        assert self.root is not None
        return str(self.root / self.origins[i])

    def digest(self) -> str:
        """A hash of what the items are: origins, labels and (files) sizes and times or
        (arrays) the pixels. A resumed preparation reuses shards only when it is unchanged."""
        h = hashlib.sha256()
        h.update("\n".join(self.origins).encode())
        h.update(np.ascontiguousarray(self.labels, dtype=np.int64).tobytes())
        if self.arrays is not None:
            h.update(memoryview(np.ascontiguousarray(self.arrays)).cast("B"))
        elif self.root is not None:
            for origin in self.origins:
                try:
                    st = (self.root / origin).stat()
                    h.update(f"{st.st_size}:{st.st_mtime_ns};".encode())
                except OSError:
                    h.update(b"missing;")
        return h.hexdigest()


def open_source(spec: str, *, labels: str = "auto", options: dict[str, Any] | None = None,
                download: bool = False, registry: Registry | None = None) -> Source:
    """The :class:`Source` that ``SOURCE`` names: an existing folder, an IDX file, or the name
    of a registered image dataset (created with ``options``; ``download`` allows fetching)."""
    options = dict(options or {})
    path = Path(spec).expanduser()
    if path.is_dir():
        _no_options(options, download, "a folder")
        return folder_source(path, labels)
    if path.is_file():
        _no_options(options, download, "an IDX file")
        return idx_source(path, labels)
    if registry is None:
        from gancore.packs.loader import get_registry

        registry = get_registry()
    names = [e.name for e in registry.entries("dataset")]
    if spec in names:
        return dataset_source(spec, registry, labels, options, download)
    looks_like_path = any(sep in spec for sep in ("/", "\\")) or spec.startswith((".", "~"))
    hint = ("give an existing folder of images, an IDX file, or a dataset name: "
            + ", ".join(sorted(names)))
    if looks_like_path:
        raise DataError("source not found: no such folder or file", source=str(path), hint=hint)
    raise DataError(f"source not found: {spec!r} is neither a folder or file here nor a "
                    f"dataset{suggest(spec, names)}", source=spec, hint=hint)


def _no_options(options: dict[str, Any], download: bool, what: str) -> None:
    if options:
        raise DataError(f"--option is for dataset sources; the source is {what}",
                        key="--option", hint="leave --option out")
    if download:
        raise DataError(f"--download is for dataset sources; the source is {what}",
                        key="--download", hint="leave --download out")


# -- folders ------------------------------------------------------------------------------------
def folder_source(root: Path, labels: str = "auto") -> Source:
    """Every image file under ``root`` (recursive), labelled by ``labels``: ``"auto"`` or
    ``"none"`` (all 0), ``"subfolders"`` (the first folder under ``root``) or a labels file."""
    from gancore.data.folder import IMAGE_SUFFIXES, list_images

    files = list_images(root)
    if not files:
        raise DataError(f"no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in the folder "
                        "or its subfolders", source=str(root),
                        hint="give a folder that holds images")
    origins = [p.relative_to(root).as_posix() for p in files]
    info: dict[str, Any] = {"kind": "folder", "path": str(root.resolve()), "labels": labels}
    if labels in ("auto", "none"):
        info["labels"] = "none"
        return Source("folder", info, origins, np.zeros(len(origins), np.int64), root=root)
    if labels == "subfolders":
        return _by_subfolder(root, origins, info)
    return _by_labels_file(root, origins, Path(labels).expanduser(), info)


def _by_subfolder(root: Path, origins: list[str], info: dict[str, Any]) -> Source:
    classes = sorted({o.split("/", 1)[0] for o in origins if "/" in o})
    if not classes:
        raise DataError("--labels subfolders, but the folder has no subfolders (one per class)"
                        ": its images are all at the top level", source=str(root),
                        key="--labels",
                        hint="put each class's images in a subfolder of their own, give a "
                             "labels file (--labels FILE), or leave --labels out")
    index = {name: i for i, name in enumerate(classes)}
    kept, labels, skipped = [], [], []
    for origin in origins:
        if "/" in origin:
            kept.append(origin)
            labels.append(index[origin.split("/", 1)[0]])
        else:
            skipped.append((origin, "not inside a class subfolder (--labels subfolders)"))
    return Source("folder", info, kept, np.asarray(labels, np.int64), classes, len(classes),
                  root=root, skipped=skipped)


def read_labels_file(path: Path) -> dict[str, str]:
    """``relative/path -> label`` from a CSV (``path,label``) or whitespace-separated file.

    Blank lines and lines starting with ``#`` are skipped; so is a first line whose label
    column is ``label``/``class``.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError("labels file not found", source=str(path), key="--labels",
                        hint="give --labels none, subfolders, or an existing labels file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read the labels file: {exc}", source=str(path),
                        key="--labels", hint="give a UTF-8 text file") from None
    out: dict[str, str] = {}
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    for number, line in enumerate(lines, 1):
        if "," in line:
            row = next(csv.reader([line]))
            name, label = ",".join(row[:-1]).strip(), row[-1].strip() if row else ""
        else:
            parts = line.rsplit(None, 1)
            name, label = (parts[0].strip(), parts[1].strip()) if len(parts) == 2 else ("", "")
        if number == 1 and label.lower() in ("label", "class", "labels"):
            continue
        if not name or not label:
            raise DataError(f"line {number} is not 'file,label' or 'file label': {line!r}",
                            source=str(path), key="--labels",
                            hint="write one image path (relative to the folder) and its label "
                                 "per line")
        name = name.replace("\\", "/")
        out[name[2:] if name.startswith("./") else name] = label
    if not out:
        raise DataError("the labels file lists no image", source=str(path), key="--labels",
                        hint="write one 'file,label' line per image")
    return out


def _by_labels_file(root: Path, origins: list[str], path: Path,
                    info: dict[str, Any]) -> Source:
    table = read_labels_file(path)
    info["labels"] = "file"
    info["labels_file"] = str(path.resolve())
    values = list(table.values())
    numeric = all(re.fullmatch(r"\d+", v) for v in values)
    classes = (sorted(set(values), key=int) if numeric else sorted(set(values)))
    index = ({v: int(v) for v in classes} if numeric
             else {name: i for i, name in enumerate(classes)})
    num_classes = (max(index.values()) + 1) if index else 0
    names = [str(i) for i in range(num_classes)] if numeric else classes
    by_name = {Path(k).name: v for k, v in table.items()}
    unique_names = len(by_name) == len(table)
    kept, labels, skipped, matched = [], [], [], set()
    for origin in origins:
        key = origin if origin in table else (Path(origin).name if unique_names else None)
        label = table.get(origin) if origin in table else by_name.get(key) if key else None
        if label is None:
            skipped.append((origin, f"not in the labels file {path.name}"))
            continue
        matched.add(origin if origin in table else key)
        kept.append(origin)
        labels.append(index[label])
    if not kept:
        raise DataError(f"no image of the folder is named in the labels file (it names "
                        f"{len(table):,} files, e.g. {next(iter(table))!r})", source=str(path),
                        key="--labels", hint="name the images by their path relative to "
                        f"{root}, e.g. {origins[0]!r}")
    info["labels_unmatched"] = len(table) - len(matched)
    return Source("folder", info, kept, np.asarray(labels, np.int64), names, num_classes,
                  root=root, skipped=skipped)


# -- IDX ----------------------------------------------------------------------------------------
def idx_source(path: Path, labels: str = "auto") -> Source:
    """The images of an IDX file (``N×H×W`` greyscale or ``N×H×W×3``/``N×3×H×W``) and labels
    from ``labels``: ``"auto"`` (the sibling ``*-labels-idx1-ubyte[.gz]`` if present),
    ``"none"`` or an IDX labels file."""
    from gancore.data.idx import read_idx

    if labels == "subfolders":
        raise DataError("--labels subfolders is for folders; the source is an IDX file",
                        source=str(path), key="--labels",
                        hint="leave --labels out (the sibling labels file is used) or give "
                             "the IDX labels file")
    images = read_idx(path)
    if images.dtype != np.uint8:
        raise DataError(f"IDX images are {images.dtype}, not 8-bit", source=str(path),
                        hint="give an IDX file of unsigned bytes (type code 0x08)")
    if images.ndim == 3:
        arrays = images[:, None]
    elif images.ndim == 4 and images.shape[-1] in (1, 3):
        arrays = images.transpose(0, 3, 1, 2)
    elif images.ndim == 4 and images.shape[1] in (1, 3):
        arrays = images
    else:
        raise DataError(f"IDX file holds shape {list(images.shape)}, not images (N×H×W, "
                        "N×H×W×C or N×C×H×W with C = 1 or 3)", source=str(path),
                        hint="give the images file (idx3), not the labels file (idx1)")
    if arrays.shape[0] == 0:
        raise DataError("the IDX file holds no images", source=str(path),
                        hint="give a file with images")
    info: dict[str, Any] = {"kind": "idx", "path": str(path.resolve())}
    label_path = None
    if labels == "auto":
        name = path.name.replace("images-idx3", "labels-idx1")
        for candidate in (path.with_name(name), path.with_name(name.removesuffix(".gz")),
                          path.with_name(name + ".gz")):
            if candidate != path and candidate.is_file():
                label_path = candidate
                break
    elif labels != "none":
        label_path = Path(labels).expanduser()
    y = np.zeros(arrays.shape[0], np.int64)
    num_classes = 0
    if label_path is not None:
        raw = read_idx(label_path)
        if raw.ndim != 1 or raw.shape[0] != arrays.shape[0]:
            raise DataError(f"the labels file holds shape {list(raw.shape)} for "
                            f"{arrays.shape[0]:,} images", source=str(label_path),
                            key="--labels", hint="give the labels file of the same split")
        y = raw.astype(np.int64)
        if y.min(initial=0) < 0:
            raise DataError("negative labels", source=str(label_path), key="--labels",
                            hint="give the original labels file")
        num_classes = int(y.max(initial=-1)) + 1
        info["labels_file"] = str(label_path.resolve())
    origins = [f"{path.name}[{i}]" for i in range(arrays.shape[0])]
    return Source("idx", info, origins, y, [str(i) for i in range(num_classes)], num_classes,
                  arrays=np.ascontiguousarray(arrays), native_size=int(arrays.shape[-1]))


# -- registered datasets ------------------------------------------------------------------------
def dataset_source(name: str, registry: Registry, labels: str, options: dict[str, Any],
                   download: bool) -> Source:
    """The images of the registered dataset ``name`` created with ``options``: its files
    (lazily read sets such as ``celeba``) or its uint8 pixels (in-memory sets)."""
    from gancore.core.errors import GancoreError
    from gancore.data.folder import ImageFiles

    entry = registry.get("dataset", name, key="SOURCE")
    fields = entry.params_model().model_fields
    if download:
        if "download" not in fields:
            raise DataError(f"the dataset {name!r} has nothing to download", key="--download",
                            hint="leave --download out")
        options["download"] = True
    if labels == "subfolders" or labels not in LABEL_MODES:
        raise DataError(f"--labels {labels} is for folders and IDX files; the dataset "
                        f"{name!r} brings its own labels", key="--labels",
                        hint="leave --labels out, or give --labels none")
    try:
        dataset = registry.create("dataset", name, key="--option", **options)
        spec = entry.load().describe(**options)
    except GancoreError as exc:
        raise exc.located(source=name) from None
    info: dict[str, Any] = {"kind": "dataset", "name": name, "options": options}
    num_classes = int(spec.num_classes) if labels != "none" else 0
    classes = [str(c) for c in getattr(dataset, "classes", None) or []]
    if num_classes and len(classes) != num_classes:
        classes = [str(i) for i in range(num_classes)]
    if isinstance(dataset, ImageFiles):
        files = [Path(f) for f in dataset.files]
        root = _common_folder(files)
        origins = [f.relative_to(root).as_posix() for f in files]
        y = dataset.labels.numpy().astype(np.int64) if num_classes else np.zeros(len(files),
                                                                                  np.int64)
        info["path"] = str(root)
        return Source("dataset", info, origins, y, classes if num_classes else [],
                      num_classes, root=root)
    arrays = _uint8_images(dataset, name)
    y = (np.asarray(getattr(dataset, "labels", np.zeros(len(arrays))), dtype=np.int64)
         if num_classes else np.zeros(len(arrays), np.int64))
    origins = [f"{name}[{i}]" for i in range(len(arrays))]
    return Source("dataset", info, origins, y, classes if num_classes else [], num_classes,
                  arrays=arrays, native_size=int(arrays.shape[-1]))


def _common_folder(files: list[Path]) -> Path:
    import os

    if not files:
        raise DataError("the dataset lists no image files", hint="check its files")
    return Path(os.path.commonpath([str(f.parent) for f in files]))


def _uint8_images(dataset: Any, name: str) -> np.ndarray:
    images = getattr(dataset, "images", None)
    if images is not None and getattr(images, "dtype", None) is not None and \
            str(images.dtype) in ("torch.uint8", "uint8") and images.ndim == 4:
        return np.ascontiguousarray(np.asarray(images))
    as_tensors = getattr(dataset, "as_tensors", None)
    if as_tensors is None:
        raise DataError(f"the dataset {name!r} holds neither image files nor images in memory",
                        source=name, hint="prepare a folder of images or an IDX file instead")
    x, _ = as_tensors()
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise DataError(f"the dataset {name!r} holds items of shape {list(x.shape[1:])}, not "
                        "images", source=name, hint="prepare an image dataset")
    values = ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(dtype=_torch_uint8())
    return np.ascontiguousarray(values.numpy())


def _torch_uint8() -> Any:
    import torch

    return torch.uint8
