"""The plugin authoring kit: ``gancore new-plugin`` writes a pack that installs and passes."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

from gancore.core.errors import GancoreError
from gancore.kit.scaffold import PackNames, new_plugin, render

from .conftest import RECIPES, run_cli


def _pip(*args: str, python: str = sys.executable) -> subprocess.CompletedProcess[str]:
    """This environment's pip, installing into ``python``'s environment."""
    return subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, *args,
         "--disable-pip-version-check", "-q"],
        capture_output=True,
        text=True,
        timeout=300,
    )


def private_env(folder: Path) -> str:
    """A virtual environment in ``folder`` that sees this one's packages (gancore, torch) and
    installs into its own: a pack installed there is invisible to the other tests, which may
    run at the same time. Returns its Python."""
    venv.create(folder, with_pip=False, symlinks=True)
    python = folder / "bin" / "python"
    site_dir = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip()
    # an "import" line of a .pth runs at start-up: ours become site dirs (their .pth files too)
    ours = [d for d in sys.path if d.endswith(("site-packages", "dist-packages"))]
    line = "import site; " + "; ".join(f"site.addsitedir({d!r})" for d in ours)
    Path(site_dir, "_parent_env.pth").write_text(line + "\n", encoding="utf-8")
    return str(python)


def test_names():
    names = PackNames.from_name("my-blocks")
    assert (names.dist, names.package, names.block, names.cls, names.recipe) == (
        "gancore-my-blocks",
        "gancore_my_blocks",
        "my_blocks_block",
        "MyBlocksBlock",
        "my-blocks-example",
    )
    assert PackNames.from_name("gancore-demo").dist == "gancore-demo"
    with pytest.raises(GancoreError, match="invalid plugin name"):
        PackNames.from_name("Bad Name")


def test_rendered_files_are_complete_python():
    files = render(PackNames.from_name("demo"))
    assert set(files) == {
        "pyproject.toml",
        "README.md",
        "gancore_demo/__init__.py",
        "gancore_demo/plugin.py",
        "gancore_demo/blocks.py",
        "gancore_demo/recipes/demo-example.toml",
        "tests/test_gancore_demo.py",
    }
    for path, text in files.items():
        assert "$" not in text, path
        if path.endswith(".py"):
            compile(text, path, "exec")


def test_refuses_to_overwrite(tmp_path):
    new_plugin("demo", tmp_path)
    with pytest.raises(GancoreError, match="not empty"):
        new_plugin("demo", tmp_path)
    new_plugin("demo", tmp_path, force=True)


def test_pack_recipe_names_the_pack_to_install(monkeypatch, builtin_registry):
    from importlib import metadata

    from gancore.recipe import load_recipe, resolve

    real_distribution = metadata.distribution

    def distribution(name: str):
        if name == "gancore-stylegan":
            raise metadata.PackageNotFoundError(name)
        return real_distribution(name)

    monkeypatch.setattr(metadata, "distribution", distribution)
    recipe = load_recipe(RECIPES / "stylegan2-lite.toml")
    assert recipe.recipe.requires == ["gancore-stylegan>=0.1"]
    with pytest.raises(GancoreError) as info:
        resolve(recipe, builtin_registry)
    text = info.value.format()
    assert "needs the plugin pack 'gancore-stylegan', which is not installed" in text
    assert "pip install 'gancore-stylegan>=0.1'" in text
    assert "pip install -e " in text and "plugins/gancore-stylegan" in text  # this checkout
    assert info.value.key == "recipe.requires[0]"


@pytest.fixture
def installed_pack(tmp_path):
    name = "kit-check"
    out = run_cli("new-plugin", name, "--dir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    root = tmp_path / name
    names = PackNames.from_name(name)
    python = private_env(tmp_path / "env")
    result = _pip("install", "--no-deps", "--no-build-isolation", "-e", str(root),
                  python=python)
    assert result.returncode == 0, result.stderr
    yield root, names, python


@pytest.mark.slow
def test_new_plugin_installs_passes_its_tests_and_works_from_a_recipe(installed_pack):
    root, names, python = installed_pack
    tests = subprocess.run(
        [python, "-m", "pytest", str(root), "-q", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=300,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "6 passed" in tests.stdout
    plugins = run_cli("plugins", "--json", python=python)
    assert f'"{names.dist}"' in plugins.stdout
    built = run_cli("build", names.recipe, "--json", python=python)
    assert built.returncode == 0, built.stderr
    assert names.block in built.stdout
    shown = run_cli("show", "block", names.block, python=python)
    assert "kernel_size" in shown.stdout
    # this environment never saw the pack
    assert f'"{names.dist}"' not in run_cli("plugins", "--json").stdout
