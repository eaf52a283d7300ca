"""``gancore new-plugin``: write a working plugin pack from :mod:`gancore.kit.templates`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from gancore.core.errors import GancoreError
from gancore.kit import templates

_NAME = re.compile(r"^[a-z][a-z0-9]*([-_][a-z0-9]+)*$")


@dataclass(frozen=True)
class PackNames:
    """The names a pack called ``NAME`` gets."""

    folder: str
    dist: str
    package: str
    slug: str
    block: str
    cls: str
    recipe: str

    @classmethod
    def from_name(cls, name: str) -> PackNames:
        """``demo`` -> dist ``gancore-demo``, package ``gancore_demo``, block ``demo_block``."""
        if not _NAME.match(name):
            raise GancoreError(
                f"invalid plugin name {name!r}",
                hint="use lower-case letters, digits and dashes, starting with a letter "
                "(e.g. my-blocks)",
            )
        slug = name.removeprefix("gancore-").replace("-", "_") or name
        dist = f"gancore-{slug.replace('_', '-')}"
        return cls(
            folder=name,
            dist=dist,
            package=dist.replace("-", "_"),
            slug=slug,
            block=f"{slug}_block",
            cls="".join(part.title() for part in slug.split("_")) + "Block",
            recipe=f"{slug.replace('_', '-')}-example",
        )


def render(names: PackNames) -> dict[str, str]:
    """Relative path -> file content of the new pack."""
    from gancore.core.version import __version__

    major_minor = ".".join(__version__.split(".")[:2])
    values = {**vars(names), "gancore_version": major_minor}
    return {
        Template(path).substitute(values): Template(text).substitute(values)
        for path, text in templates.FILES.items()
    }


def new_plugin(name: str, directory: Path | str = ".", *, force: bool = False) -> Path:
    """Write the pack ``NAME`` into ``directory/NAME``; return its folder.

    Refuses to write into a folder that exists and is not empty unless ``force``. A new pack is
    written into a temporary folder renamed into place at the end, so a failure (a full disk,
    say) leaves nothing behind; with ``force`` each file is replaced atomically.
    """
    from gancore.storage.io import atomic_write_text, check_writable_dir, staged_folder

    names = PackNames.from_name(name)
    root = Path(directory) / names.folder
    check_writable_dir(root, what="the plugin pack folder")
    if root.exists() and any(root.iterdir()) and not force:
        raise GancoreError(
            f"{root} already exists and is not empty",
            hint="choose another name or --dir, or pass --force to overwrite",
        )
    files = render(names)
    if root.exists() and any(root.iterdir()):
        for rel, text in files.items():
            atomic_write_text(root / rel, text, what="a plugin pack file")
        return root
    with staged_folder(root, what="the plugin pack folder") as tmp:
        for rel, text in files.items():
            atomic_write_text(tmp / rel, text, what="a plugin pack file")
    return root
