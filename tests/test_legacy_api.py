"""0.1's plugin API keeps working, each old spelling with a DeprecationWarning naming the new."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

from .conftest import ROOT

LEGACY = ROOT / "tests" / "fixtures" / "legacy_pack"


def test_a_pack_made_by_0_1_new_plugin_passes_its_own_tests(tmp_path):
    """``tests/fixtures/legacy_pack`` is exactly what 0.1's ``gancore new-plugin legacy`` wrote;
    it is "installed" here by a .dist-info folder declaring its entry point."""
    import os

    info = tmp_path / "gancore_legacy-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gancore-legacy\n"
                                   "Version: 0.1.0\n")
    (info / "entry_points.txt").write_text("[gancore]\ngancore-legacy = gancore_legacy.plugin\n")
    env_path = os.pathsep.join([str(LEGACY), str(tmp_path)])
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         "-W", "always::DeprecationWarning", str(LEGACY / "tests"), "--rootdir", str(LEGACY)],
        capture_output=True, text=True, cwd=LEGACY, timeout=600,
        env={**os.environ, "PYTHONPATH": env_path},
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "5 passed" in res.stdout
    assert "gancore.context.BuildContext is deprecated: import it from" in res.stdout


@pytest.mark.parametrize(("module", "name", "new"), [
    ("gancore.context", "BuildContext", "gancore.assembly.context"),
    ("gancore.spec", "BlockSpec", "gancore.core.refs"),
    ("gancore.assemble", "assemble", "gancore.assembly.sequence"),
    ("gancore.builder", "build_network", "gancore.assembly.build"),
    ("gancore.builder", "summarize", "gancore.assembly.summary"),
    ("gancore.registry", "KINDS", "gancore.core.kinds.KINDS"),
    ("gancore.registry", "BUILDER_ARGS", "gancore.core.kinds.KINDS"),
])
def test_old_module_paths_warn_naming_the_new_one(module, name, new):
    import importlib

    mod = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        value = getattr(mod, name)
    assert value is not None


def test_old_names_still_mean_the_same():
    import gancore.kinds

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from gancore.registry import BUILDER_ARGS, KINDS
        from gancore.spec import BlockSpec
    assert list(KINDS) == list(gancore.kinds.KINDS)
    assert BUILDER_ARGS["block"] == ("in_channels", "ctx")
    from gancore.plugin import BlockSpec as NewBlockSpec

    assert BlockSpec is NewBlockSpec


def test_ctx_extra_maps_to_the_typed_fields(builtin_registry):
    from gancore.plugin import BuildContext

    with pytest.warns(DeprecationWarning, match="typed fields"):
        ctx = BuildContext(builtin_registry, extra={"data_shape": [3, 8, 8], "w_dim": 16,
                                                    "mine": 1})
    assert ctx.data_shape == (3, 8, 8) and ctx.cond_dim == 16
    with pytest.warns(DeprecationWarning, match="ctx.data_shape"):
        extra = ctx.extra
    assert extra["data_shape"] == (3, 8, 8) and extra["w_dim"] == 16 and extra["mine"] == 1
    with pytest.warns(DeprecationWarning):
        child = ctx.child(key="x", extra={"projection": True})
    assert child.projection and child.data_shape == (3, 8, 8) and child.key == "x"
    assert not ctx.projection


def test_the_bundled_packs_import_only_the_author_api():
    """A pack's modules import only gancore.plugin and gancore.testing (either import form);
    its tests may also build models with ``gancore.build``, as docs/plugins.md says."""
    import re

    author = {"gancore.plugin", "gancore.testing"}
    user = {"gancore"}
    checked = 0
    for path in (ROOT / "plugins").rglob("*.py"):
        if "/build/" in str(path):
            continue
        allowed = author | user if "tests" in path.relative_to(ROOT).parts else author
        for line in path.read_text(encoding="utf-8").splitlines():
            m = re.match(r"\s*(?:from (gancore[\w.]*) import|import (gancore[\w.]*))", line)
            if m:
                name = m.group(1) or m.group(2)
                if name.startswith("gancore_"):  # the pack's own package
                    continue
                checked += 1
                assert name in allowed, f"{path}: {line}"
    assert checked > 20  # the packs' imports were seen
