"""The layers of docs/architecture.md, held against the code: no import cycle between files
(imports inside functions counted, ``if TYPE_CHECKING:`` blocks not), and no import from a
lower layer up to a higher one; the top of the package holds only its public faces."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "gancore"

#: The layers, bottom first: a module may import its own layer and those below. Each entry is
#: a module prefix (``gancore.train`` covers ``gancore.train.*``).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("core", ("gancore.core",)),
    ("packs", ("gancore.packs",)),
    ("storage", ("gancore.storage",)),
    ("recipe", ("gancore.recipe",)),
    ("assembly", ("gancore.assembly",)),
    ("components", ("gancore.nn", "gancore.data", "gancore.metrics", "gancore.tracking",
                    "gancore.plotting")),
    ("train", ("gancore.train",)),
    ("evaluation", ("gancore.evaluation",)),
    ("applications", ("gancore.sweep", "gancore.export")),
    ("authoring", ("gancore.testing", "gancore.kit")),
    ("interface", ("gancore.commands", "gancore.cli", "gancore.plugin", "gancore.compat",
                   "gancore.__main__", "gancore")),
]
#: Files allowed at the top of the package (its public faces and the compatibility module).
TOP_LEVEL = {"__init__.py", "__main__.py", "cli.py", "plugin.py", "compat.py"}


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, module: str) -> set[str]:
    """Every module ``path`` imports (at any depth, TYPE_CHECKING blocks left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for sub in node.body for n in ast.walk(sub))
    out: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".") if is_package else module.split(".")[:-1]
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    return out


def import_graph(root: Path) -> dict[str, set[str]]:
    """File-level graph: module -> the package's modules it imports."""
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        deps = set()
        for name in imports_of(path, module):
            while name and name not in files:
                name = name.rpartition(".")[0]
            if name and name != module:
                deps.add(name)
        graph[module] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one file (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        out.append(sorted(group))
    return out


def layer_of(module: str, layers: list[tuple[str, tuple[str, ...]]] = LAYERS) -> int:
    """The index of the layer whose longest prefix matches ``module``."""
    best, best_len = -1, -1
    for i, (_, prefixes) in enumerate(layers):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = i, len(prefix)
    return best


def upward(graph: dict[str, set[str]],
           layers: list[tuple[str, tuple[str, ...]]] = LAYERS) -> list[str]:
    """``a (layer) -> b (higher layer)`` for every import from a lower layer up."""
    out = []
    for module, deps in sorted(graph.items()):
        mine = layer_of(module, layers)
        for dep in sorted(deps):
            theirs = layer_of(dep, layers)
            if theirs > mine:
                out.append(f"{module} ({layers[mine][0]}) -> {dep} ({layers[theirs][0]})")
    return out


# -- the package --------------------------------------------------------------------------------
def test_every_module_has_a_layer():
    missing = [m for m in import_graph(PACKAGE) if layer_of(m) < 0]
    assert not missing, f"modules in no layer of docs/architecture.md: {missing}"


def test_no_import_cycle_between_files():
    found = cycles(import_graph(PACKAGE))
    assert not found, "import cycles: " + "; ".join(" -> ".join(c) for c in found)


def test_no_import_from_a_lower_layer_up():
    bad = upward(import_graph(PACKAGE))
    assert not bad, "imports that go up across the layers:\n" + "\n".join(bad)


def test_the_top_of_the_package_holds_only_its_faces():
    files = {p.name for p in PACKAGE.glob("*.py")}
    assert files == TOP_LEVEL, f"top-level files besides the public faces: {files - TOP_LEVEL}"


def test_the_architecture_page_lists_these_layers():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\| (\d+) \| `?([a-z]+)`? \|", text, re.M)
    assert [name for _, name in listed] == [name for name, _ in LAYERS]
    for _, prefixes in LAYERS:
        for prefix in prefixes:
            assert f"`{prefix.removeprefix('gancore.') if prefix != 'gancore' else prefix}" \
                in text, f"docs/architecture.md does not place {prefix}"


# -- the checker itself, on a package with planted mistakes ---------------------------------------
@pytest.fixture
def planted(tmp_path: Path) -> Path:
    pkg = tmp_path / "pkg"
    for name, text in {
        "__init__.py": "",
        "low/__init__.py": "",
        "low/a.py": "def f():\n    from pkg.low import b\n",  # a cycle through a function
        "low/b.py": "from pkg.low.a import f\n",
        "high/__init__.py": "",
        "high/c.py": "from pkg.low import a\n",
        "low/d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.high.c\n",
        "low/e.py": "def g():\n    import pkg.high.c\n",  # up, inside a function
    }.items():
        path = pkg / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return pkg


def test_the_checker_finds_a_planted_cycle_and_an_upward_import(planted: Path):
    layers = [("low", ("pkg.low",)), ("high", ("pkg.high", "pkg"))]
    graph = import_graph(planted)
    assert cycles(graph) == [["pkg.low.a", "pkg.low.b"]]
    assert upward(graph, layers) == ["pkg.low.e (low) -> pkg.high.c (high)"]
