"""Plugin loading: the built-in plugin, plugin objects, entry-point packs, isolation."""

from __future__ import annotations

import importlib
import json
import sys
import types

import pytest

from gancore.core.errors import AmbiguousComponentError, PluginError
from gancore.packs.hookspecs import hookimpl
from gancore.packs.loader import load_plugins
from gancore.recipe import load_recipe, resolve

from .conftest import make_dist, run_cli

PACK_CODE = '''
from gancore import hookimpl

@hookimpl
def gancore_register_components(registry):
    registry.add("activation", "tiny_act", "torch.nn:Softplus", summary="softplus from a pack")
'''


def _plugin(**components):
    mod = types.ModuleType("inline_plugin")

    @hookimpl
    def gancore_register_components(registry):
        for name, factory in components.items():
            registry.add("activation", name, factory, summary="test")

    mod.gancore_register_components = gancore_register_components
    return mod


def test_builtin_registers_through_the_same_hook():
    loaded = load_plugins(autoload=False)
    builtin = loaded.plugins[0]
    assert builtin.name == "builtin" and builtin.status == "loaded"
    impls = loaded.manager.hook.gancore_register_components.get_hookimpls()
    assert [i.plugin_name for i in impls] == ["builtin"]
    assert ("block", "self_attention") in loaded.registry
    assert "block:upsample" in builtin.components


def test_plugin_object_registered_in_test(register_plugin):
    registry = register_plugin(_plugin(my_softplus="torch.nn:Softplus"), name="inline")
    entry = registry.get("activation", "my_softplus")
    assert entry.origin == "inline"
    import torch

    assert torch.allclose(entry.create()(torch.zeros(1)), torch.log(torch.tensor([2.0])))


def test_plugin_component_usable_in_a_recipe(register_plugin):
    import gancore

    register_plugin(_plugin(my_softplus="torch.nn:Softplus"), name="inline")
    gan = gancore.build("sagan", overrides=["generator.activation=my_softplus"])
    assert any(type(m).__name__ == "Softplus" for m in gan.generator.modules())


def test_a_name_two_packs_register_is_theirs_each_and_a_bare_name_is_an_error():
    def pack(**components):
        return _plugin(**components)

    loaded = load_plugins(autoload=False, warn=False, extra=[
        ("first", pack(dup="torch.nn:ReLU", only_first="torch.nn:ReLU")),
        ("second", pack(dup="torch.nn:Tanh", only_second="torch.nn:Tanh")),
    ])
    status = {p.name: p for p in loaded.plugins}
    assert status["first"].status == "loaded" and status["second"].status == "loaded"
    assert "activation:dup" in status["second"].components and not status["second"].clashes
    registry = loaded.registry
    assert registry.get("activation", "first:dup").load().__name__ == "ReLU"
    assert registry.get("activation", "second:dup").load().__name__ == "Tanh"
    assert registry.get("activation", "only_second").origin == "second"
    with pytest.raises(AmbiguousComponentError) as info:
        registry.get("activation", "dup", key="generator.activation")
    assert info.value.key == "generator.activation"
    assert "write 'first:dup' or 'second:dup'" in info.value.message
    assert status["first"].shared == status["second"].shared == [
        "activation 'dup': first:dup, second:dup (a bare 'dup' is an error: write one of them)"]


def test_a_pack_s_name_gancore_has_too_is_the_pack_s_with_a_warning():
    loaded = load_plugins(autoload=False, warn=False,
                          extra=[("shadow", _plugin(relu="torch.nn:Tanh"))])
    registry = loaded.registry
    assert loaded.plugins[-1].status == "loaded"
    assert registry.get("activation", "relu").origin == "shadow"
    assert registry.get("activation", "builtin:relu").origin == "builtin"
    assert loaded.plugins[-1].shared == [
        "activation 'relu': builtin:relu, shadow:relu (a bare 'relu' means shadow:relu)"]
    recipe = load_recipe("dcgan-32", ['data.type="shapes"', 'generator.activation="relu"'])
    found = [f for f in resolve(recipe, registry).findings if f.level == "warning"]
    assert [f.key for f in found] == ["generator.activation.type"]
    assert "'relu' is registered by shadow and by builtin:relu; the recipe gets shadow:relu" \
        in found[0].message
    assert found[0].fix == "write 'shadow:relu' to keep this one, or 'builtin:relu' for the other"
    pinned = load_recipe("dcgan-32", ['data.type="shapes"', 'generator.activation="builtin:relu"'])
    assert resolve(pinned, registry).findings == []


def test_a_declared_override_replaces_the_builtin_and_is_reported():
    mod = types.ModuleType("overrider")

    @hookimpl
    def gancore_register_components(registry):
        registry.add("activation", "relu", "torch.nn:Tanh", summary="tanh", override=True)

    mod.gancore_register_components = gancore_register_components
    loaded = load_plugins(autoload=False, extra=[("overrider", mod)])
    entry = loaded.registry.get("activation", "relu")
    assert entry.origin == "overrider" and entry.overrides == "builtin"
    assert loaded.plugins[-1].overrides == ["activation:relu (replaces builtin's)"]
    assert not loaded.plugins[-1].clashes


def test_a_failed_pack_warns_in_the_python_api():
    mod = types.ModuleType("boomer")

    @hookimpl
    def gancore_register_components(registry):
        raise RuntimeError("kaboom")

    mod.gancore_register_components = gancore_register_components
    with pytest.warns(UserWarning,
                      match="'boomer' failed to load and is skipped: RuntimeError: kaboom"):
        load_plugins(autoload=False, extra=[("boomer", mod)])


def test_a_pack_registering_an_unknown_kind_fails_naming_it():
    mod = types.ModuleType("oddkind")

    @hookimpl
    def gancore_register_components(registry):
        registry.add("normalisation", "x", "torch.nn:ReLU")

    mod.gancore_register_components = gancore_register_components
    loaded = load_plugins(autoload=False, warn=False, extra=[("oddkind", mod)])
    info = loaded.plugins[-1]
    assert info.status == "failed"
    assert "unknown component kind 'normalisation'" in info.error


def test_failing_hook_is_isolated_and_rolled_back():
    mod = types.ModuleType("half")

    @hookimpl
    def gancore_register_components(registry):
        registry.add("activation", "half_done", "torch.nn:ReLU")
        raise RuntimeError("boom")

    mod.gancore_register_components = gancore_register_components
    loaded = load_plugins(autoload=False, warn=False, extra=[("half", mod)])
    assert loaded.plugins[-1].status == "failed" and "boom" in loaded.plugins[-1].error
    assert ("activation", "half_done") not in loaded.registry  # partial work rolled back
    assert ("block", "dense") in loaded.registry
    with pytest.raises(PluginError, match="boom"):
        load_plugins(autoload=False, strict=True, extra=[("half", mod)])


def test_misspelt_hook_is_reported_with_suggestion():
    mod = types.ModuleType("typo")
    mod.gancore_register_component = hookimpl(lambda registry: None)
    loaded = load_plugins(autoload=False, warn=False, extra=[("typo", mod)])
    info = loaded.plugins[-1]
    assert info.status == "failed"
    assert "gancore_register_components" in info.error


@pytest.fixture
def installed_pack(tmp_path, monkeypatch):
    """A tiny pack on sys.path with a gancore entry point, plus a broken one."""
    make_dist(tmp_path, "tinypack", "0.3.1", "tinypack_plugin", PACK_CODE)
    make_dist(tmp_path, "brokenpack", "1.0", "brokenpack_plugin",
              "raise ImportError('this pack is broken')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield tmp_path
    for name in ("tinypack_plugin", "brokenpack_plugin"):
        sys.modules.pop(name, None)


def test_entry_point_pack_loads_in_isolation(installed_pack):
    loaded = load_plugins()
    status = {p.name: p for p in loaded.plugins}
    assert status["tinypack_plugin"].status == "loaded"
    assert status["tinypack_plugin"].version == "0.3.1"
    assert status["tinypack_plugin"].dist == "tinypack"
    assert status["brokenpack_plugin"].status == "failed"
    assert "this pack is broken" in status["brokenpack_plugin"].error
    assert loaded.registry.get("activation", "tiny_act").origin == "tinypack_plugin"
    with pytest.raises(PluginError, match="brokenpack_plugin"):
        load_plugins(strict=True)


def test_autoload_can_be_disabled_and_packs_blocked(installed_pack, monkeypatch):
    monkeypatch.setenv("GANCORE_DISABLE_PLUGIN_AUTOLOAD", "1")
    names = [p.name for p in load_plugins().plugins]
    assert names == ["builtin"]
    monkeypatch.delenv("GANCORE_DISABLE_PLUGIN_AUTOLOAD")
    monkeypatch.setenv("GANCORE_BLOCK_PLUGINS", "brokenpack_plugin")
    status = {p.name: p.status for p in load_plugins(strict=True).plugins}
    assert status["brokenpack_plugin"] == "blocked"
    assert status["tinypack_plugin"] == "loaded"


def test_cli_lists_packs_and_builds_despite_a_broken_one(installed_pack):
    env = {"PYTHONPATH": str(installed_pack)}
    res = run_cli("plugins", "--json", env=env)
    assert res.returncode == 0, res.stderr
    rows = {r["name"]: r for r in json.loads(res.stdout)}
    assert rows["tinypack_plugin"]["version"] == "0.3.1"
    assert rows["brokenpack_plugin"]["status"] == "failed"
    res = run_cli("build", "dcgan-32", "--json", env=env)
    assert res.returncode == 0, res.stderr
    assert "brokenpack_plugin" in res.stderr  # a one-line warning, not a failure
    assert "Traceback" not in res.stderr
    res = run_cli("--strict-plugins", "build", "dcgan-32", env=env)
    assert res.returncode == 2
    assert "this pack is broken" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("--block-plugin", "brokenpack_plugin", "--strict-plugins", "list",
                  "activation", env=env)
    assert res.returncode == 0, res.stderr
    assert "tiny_act" in res.stdout


def test_help_does_not_import_torch():
    code = ("import sys\nfrom gancore.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules, 'torch imported'\nprint('ok')")
    import subprocess

    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().endswith("ok")


def _clash_pack(name: str, factory: str) -> str:
    return (
        "from gancore.plugin import hookimpl\n\n@hookimpl\n"
        "def gancore_register_components(registry):\n"
        f"    registry.add('activation', 'shared_act', '{factory}')\n"
        f"    registry.add('activation', '{name}_own', '{factory}')\n"
    )


def test_cli_shows_a_name_two_installed_packs_register(tmp_path):
    make_dist(tmp_path, "gancore-alpha", "1.0", "alpha_plugin",
              _clash_pack("alpha", "torch.nn:ReLU"))
    make_dist(tmp_path, "gancore-beta", "2.0", "beta_plugin", _clash_pack("beta", "torch.nn:Tanh"))
    env = {"PYTHONPATH": str(tmp_path)}
    res = run_cli("plugins", "--json", env=env)
    assert res.returncode == 0, res.stderr
    rows = {r["name"]: r for r in json.loads(res.stdout)}
    assert rows["alpha_plugin"]["status"] == rows["beta_plugin"]["status"] == "loaded"
    assert {"activation:beta_own", "activation:shared_act"} <= set(
        rows["beta_plugin"]["components"])
    line = ("activation 'shared_act': alpha_plugin:shared_act, beta_plugin:shared_act "
            "(a bare 'shared_act' is an error: write one of them)")
    assert rows["beta_plugin"]["shared"] == rows["alpha_plugin"]["shared"] == [line]
    table = run_cli("plugins", env={**env, "COLUMNS": "250"})
    assert "shared name: activation 'shared_act': alpha_plugin:shared_act" in table.stdout
    listed = run_cli("list", "activation", "*:shared_act", "--json", env=env)
    assert [r["origin"] for r in json.loads(listed.stdout)] == ["alpha_plugin", "beta_plugin"]
    shown = run_cli("show", "activation", "beta_plugin:shared_act", "--json", env=env)
    assert shown.returncode == 0 and json.loads(shown.stdout)["origin"] == "beta_plugin"
    res = run_cli("build", "dcgan-32", "--set", 'generator.activation="shared_act"', env=env)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "write 'alpha_plugin:shared_act' or 'beta_plugin:shared_act'" in res.stderr


def test_an_installed_pack_that_failed_is_never_called_missing(tmp_path):
    from gancore.core.registry import Registry
    from gancore.recipe import load_recipe, resolve

    make_dist(tmp_path, "gancore-brittle", "0.2", "brittle_plugin",
              "raise RuntimeError('brittle pack exploded')\n")
    sys.path.insert(0, str(tmp_path))
    importlib.invalidate_caches()
    try:
        loaded = load_plugins(warn=False)
        recipe = load_recipe("dcgan-32", ['recipe.requires=["gancore-brittle>=0.1"]'])
        with pytest.raises(Exception) as info:
            resolve(recipe, loaded.registry)
        text = str(info.value)
        assert "needs the plugin pack 'gancore-brittle', which is installed (0.2) but failed " \
               "to load: import failed: RuntimeError: brittle pack exploded" in text
        assert "not installed" not in text
        assert isinstance(loaded.registry, Registry)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("brittle_plugin", None)


def test_plugins_and_show_report_a_declared_override(tmp_path):
    code = (
        "from gancore.plugin import hookimpl\n\n@hookimpl\n"
        "def gancore_register_components(registry):\n"
        "    registry.add('activation', 'tanh', 'torch.nn:Hardtanh', summary='hard tanh',\n"
        "                 override=True)\n"
    )
    make_dist(tmp_path, "gancore-hard", "1.0", "hard_plugin", code)
    env = {"PYTHONPATH": str(tmp_path), "COLUMNS": "250"}
    rows = {r["name"]: r for r in json.loads(run_cli("plugins", "--json", env=env).stdout)}
    assert rows["hard_plugin"]["overrides"] == ["activation:tanh (replaces builtin's)"]
    shown = run_cli("show", "activation", "tanh", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "from hard_plugin, overriding builtin's" in shown.stdout
    assert json.loads(run_cli("show", "activation", "tanh", "--json", env=env).stdout)[
        "overrides"] == "builtin"
    assert "override: activation:tanh (replaces builtin's)" in run_cli("plugins", env=env).stdout
