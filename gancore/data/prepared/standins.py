"""Small generated stand-ins with the on-disk layout of the seed data sets.

They let the bundled recipes (``celeba-64``, ``anime-64``, the ``cifar10-*`` family) and the
whole ``gancore data prepare`` path be tried and tested without downloading anything. The
pictures are procedural (a gradient with an ellipse "face" and a few shapes), not real data.

- :func:`write_photos`: ``n`` JPEGs of ``width × height`` (CelebA's aligned images are
  178×218) in one folder, optionally a few in other colour modes and a few broken files;
- :func:`write_celeba`: ``root/celeba/`` as torchvision's ``CelebA`` expects it
  (``img_align_celeba/*.jpg`` and the list files), without the MD5 sums of the real files;
- :func:`write_anime_faces`: a flat folder of 96×96 images;
- :func:`write_cifar10`: ``root/cifar-10-batches-py/`` (pickled batches, the real layout).
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def picture(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A procedural RGB picture: a vertical gradient, an ellipse and a few rectangles."""
    top, bottom = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = np.linspace(0.0, 1.0, height)[:, None, None]
    array = (top * (1 - t) + bottom * t).astype(np.uint8).repeat(width, axis=1)
    image = Image.fromarray(array, "RGB")
    draw = ImageDraw.Draw(image)
    cx, cy = width * rng.uniform(0.35, 0.65), height * rng.uniform(0.4, 0.6)
    rx, ry = width * rng.uniform(0.15, 0.3), height * rng.uniform(0.15, 0.3)
    draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=tuple(rng.integers(0, 256, 3)))
    for _ in range(3):
        x0, y0 = rng.uniform(0, width), rng.uniform(0, height)
        draw.rectangle((x0, y0, x0 + rng.uniform(2, width / 4), y0 + rng.uniform(2, height / 4)),
                       fill=tuple(rng.integers(0, 256, 3)))
    return image


def write_photos(folder: str | Path, n: int, *, width: int = 178, height: int = 218,
                 seed: int = 0, mixed_modes: bool = False, broken: int = 0,
                 prefix: str = "") -> list[Path]:
    """Write ``n`` pictures as ``{prefix}{i:06d}.jpg`` (quality 90); returns the paths.

    ``mixed_modes`` writes some of them in other forms, cycling through: greyscale JPEG, CMYK
    JPEG, RGBA PNG with a transparent corner, palette PNG, 16-bit greyscale PNG, and a JPEG
    stored on its side with EXIF orientation 6. ``broken`` adds that many unreadable files
    (truncated JPEG, empty file, text named .jpg) named ``broken-{i}.jpg``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        image = picture(rng, width, height)
        kind = i % 8 if mixed_modes else 0
        path = folder / f"{prefix}{i + 1:06d}.jpg"
        if kind == 1:
            image.convert("L").save(path, quality=90)
        elif kind == 2:
            image.convert("CMYK").save(path, quality=90)
        elif kind == 3:
            path = path.with_suffix(".png")
            rgba = image.convert("RGBA")
            alpha = np.full((height, width), 255, np.uint8)
            alpha[: height // 4, : width // 4] = 0
            rgba.putalpha(Image.fromarray(alpha, "L"))
            rgba.save(path)
        elif kind == 4:
            path = path.with_suffix(".png")
            image.convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(path)
        elif kind == 5:
            path = path.with_suffix(".png")
            grey = np.asarray(image.convert("L"), dtype=np.uint16) * 257
            Image.fromarray(grey).save(path)  # mode I;16
        elif kind == 6:
            exif = Image.Exif()
            exif[0x0112] = 6  # stored rotated: viewers turn it 90 degrees clockwise
            image.transpose(Image.Transpose.ROTATE_90).save(path, quality=90, exif=exif)
        else:
            image.save(path, quality=90)
        paths.append(path)
    for j in range(broken):
        path = folder / f"broken-{j}.jpg"
        if j % 3 == 0:
            buf = io.BytesIO()
            picture(rng, width, height).save(buf, format="JPEG", quality=90)
            path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 3])
        elif j % 3 == 1:
            path.write_bytes(b"")
        else:
            path.write_text("this is not an image\n", encoding="utf-8")
        paths.append(path)
    return paths


def write_celeba(root: str | Path, n: int, *, seed: int = 0) -> Path:
    """``root/celeba`` in torchvision's layout: ``n`` 178×218 JPEGs in ``img_align_celeba``,
    ``list_eval_partition.txt`` (80% train, 10% valid, 10% test) and the other list files.

    torchvision checks the MD5 sums of the real list files; a test that opens this stand-in
    through ``torchvision.datasets.CelebA`` replaces ``CelebA.file_list`` accordingly.
    """
    base = Path(root) / "celeba"
    write_photos(base / "img_align_celeba", n, seed=seed)
    names = [f"{i + 1:06d}.jpg" for i in range(n)]
    parts = ["0" if i < 0.8 * n else "1" if i < 0.9 * n else "2" for i in range(n)]
    (base / "list_eval_partition.txt").write_text(
        "".join(f"{name} {p}\n" for name, p in zip(names, parts, strict=True)), encoding="utf-8")
    (base / "identity_CelebA.txt").write_text(
        "".join(f"{name} {i % 7 + 1}\n" for i, name in enumerate(names)), encoding="utf-8")
    attrs = ["Smiling", "Young"]
    (base / "list_attr_celeba.txt").write_text(
        f"{n}\n{' '.join(attrs)}\n"
        + "".join(f"{name} {1 if i % 2 else -1} {1 if i % 3 else -1}\n"
                  for i, name in enumerate(names)), encoding="utf-8")
    (base / "list_bbox_celeba.txt").write_text(
        f"{n}\nimage_id x_1 y_1 width height\n"
        + "".join(f"{name} 10 20 100 120\n" for name in names), encoding="utf-8")
    (base / "list_landmarks_align_celeba.txt").write_text(
        f"{n}\nlefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y "
        "rightmouth_x rightmouth_y\n"
        + "".join(f"{name} 69 109 106 113 77 142 73 152 108 154\n" for name in names),
        encoding="utf-8")
    return base


def write_anime_faces(folder: str | Path, n: int, *, seed: int = 0) -> Path:
    """A flat folder of ``n`` 96×96 pictures (the layout of the common anime-face sets)."""
    folder = Path(folder)
    write_photos(folder, n, width=96, height=96, seed=seed)
    return folder


def write_cifar10(root: str | Path, n_train: int = 50, n_test: int = 10, *,
                  seed: int = 0) -> Path:
    """``root/cifar-10-batches-py`` in the real layout: five pickled training batches, a test
    batch and ``batches.meta``, with procedural 32×32 pictures and labels ``i % 10``.

    torchvision checks each file's MD5 sum; a test that opens this stand-in through
    ``torchvision.datasets.CIFAR10`` replaces ``train_list``/``test_list`` with the sums of
    these files (:func:`cifar10_checksums`).
    """
    base = Path(root) / "cifar-10-batches-py"
    base.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    def batch(count: int, start: int) -> dict[str, object]:
        pixels = np.stack([np.asarray(picture(rng, 32, 32)).transpose(2, 0, 1).reshape(-1)
                           for _ in range(count)]) if count else np.zeros((0, 3072), np.uint8)
        return {"data": pixels.astype(np.uint8),
                "labels": [(start + i) % 10 for i in range(count)],
                "filenames": [f"standin_{start + i}.png" for i in range(count)]}

    per = [n_train // 5 + (1 if i < n_train % 5 else 0) for i in range(5)]
    start = 0
    for i, count in enumerate(per):
        with open(base / f"data_batch_{i + 1}", "wb") as fh:
            pickle.dump(batch(count, start), fh)
        start += count
    with open(base / "test_batch", "wb") as fh:
        pickle.dump(batch(n_test, 0), fh)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
             "truck"]
    with open(base / "batches.meta", "wb") as fh:
        pickle.dump({"label_names": names, "num_cases_per_batch": max(per)}, fh)
    return base


def cifar10_checksums(root: str | Path) -> dict[str, str]:
    """MD5 of each file of a :func:`write_cifar10` stand-in, by file name."""
    import hashlib

    base = Path(root) / "cifar-10-batches-py"
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in base.iterdir()}
