"""Every user mistake: one message naming the file and key path, exit status 2, no traceback."""

from __future__ import annotations

import json

import pytest

from gancore.cli import main

from .conftest import RECIPES, write


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def fails(capsys, *args: str) -> str:
    code, _, err = run(capsys, *args)
    assert code == 2, err
    assert "Traceback" not in err
    assert err.startswith("error:")
    return " ".join(err.split())  # unwrap rich's line breaks


BASE = f'extends = "{RECIPES / "sagan.toml"}"\n'


def test_malformed_toml_names_file_and_line(tmp_path, capsys):
    path = write(tmp_path / "bad.toml", '[data]\ntype = "shapes"\n[generator\n')
    err = fails(capsys, "build", str(path))
    assert "bad.toml" in err and "invalid TOML" in err and "line 3" in err


def test_unknown_component_type_suggests(tmp_path, capsys):
    path = write(tmp_path / "r.toml", BASE + '[loss]\ntype = "hinj"\n')
    err = fails(capsys, "build", str(path))
    assert "r.toml: loss.type: unknown loss 'hinj'; did you mean 'hinge'?" in err
    assert "available: acgan, bce" in err


def test_unknown_block_in_list_has_indexed_key_path(capsys):
    err = fails(capsys, "build", "sagan", "--set", "generator.blocks[3].type=self_atention")
    assert "generator.blocks[3].type: unknown block 'self_atention'" in err
    assert "did you mean 'self_attention'" in err


def test_unknown_parameter(capsys):
    err = fails(capsys, "build", "sagan", "--set", "generator.laten_dim=3")
    assert "generator.laten_dim: unknown parameter 'laten_dim'" in err
    assert "did you mean 'latent_dim'" in err


def test_mistyped_parameter(capsys):
    err = fails(capsys, "build", "sagan", "--set", 'generator.blocks[0].out_channels="many"')
    assert "generator.blocks[0].out_channels" in err and "'many'" in err


def test_missing_required_section(tmp_path, capsys):
    path = write(tmp_path / "r.toml", '[data]\ntype = "shapes"\n[generator]\ntype = "stack"\n')
    err = fails(capsys, "build", str(path))
    assert "r.toml: discriminator: missing required section [discriminator]" in err


@pytest.mark.parametrize("override, key", [
    ("generator.blocks[0].out_channels=-4", "generator.blocks[0].out_channels"),
    ("generator.latent_dim=0", "generator.latent_dim"),
    ("data.image_size=100000", "data.image_size"),
    ("train.batch_size=-1", "train.batch_size"),
])
def test_negative_or_absurd_sizes(capsys, override, key):
    err = fails(capsys, "build", "sagan", "--set", override)
    assert key in err


def test_absurd_network_refused_before_allocation(capsys):
    err = fails(capsys, "build", "sagan", "--set", "generator.latent_dim=16384", "--set",
                "generator.stem={type=\"dense\", out_channels=16384, resolution=256}",
                "--set", "data.image_size=2048")
    assert "parameters (limit" in err and "generator" in err


def test_shapes_that_cannot_reach_the_image_size(capsys):
    err = fails(capsys, "build", "sagan", "--set", "data.image_size=64")
    assert "generator ends at 32x32, but data.image_size is 64" in err
    assert "add 1 upsampling block" in err
    err = fails(capsys, "build", "dcgan-32", "--set", "data.image_size=64")
    assert "generator ends at 32x32" in err
    err = fails(capsys, "build", "dcgan", "--set", "discriminator.blocks[3].type=conv")
    assert "discriminator.blocks" in err and "needs 4x4" in err
    assert "add 1 downsampling block" in err


def test_extends_cycle_and_missing_file(tmp_path, capsys):
    write(tmp_path / "a.toml", 'extends = "b.toml"\n')
    write(tmp_path / "b.toml", 'extends = "a.toml"\n')
    err = fails(capsys, "build", str(tmp_path / "a.toml"))
    assert "extends" in err and "cycle" in err and "a.toml -> b.toml -> a.toml" in err
    write(tmp_path / "c.toml", 'extends = "nowhere.toml"\n')
    err = fails(capsys, "build", str(tmp_path / "c.toml"))
    assert "c.toml: extends" in err and "nowhere.toml" in err


def test_missing_recipe_file(capsys):
    err = fails(capsys, "build", "sagn")
    assert "recipe file not found; did you mean 'sagan'?" in err


def test_recipe_needing_an_uninstalled_pack(tmp_path, capsys):
    path = write(tmp_path / "r.toml", BASE + '[recipe]\nrequires = ["gancore-nosuchpack>=1"]\n')
    err = fails(capsys, "build", str(path))
    assert "recipe.requires[0]" in err and "gancore-nosuchpack" in err
    assert "pip install 'gancore-nosuchpack>=1'" in err


def test_bad_override_syntax(capsys):
    err = fails(capsys, "build", "sagan", "--set", "train.steps")
    assert "--set" in err and "no '='" in err


def test_corrupt_and_truncated_checkpoints(tmp_path, capsys):
    code, _, err = run(capsys, "build", "dcgan-32", "-o", str(tmp_path / "ok.safetensors"))
    assert code == 0, err
    data = (tmp_path / "ok.safetensors").read_bytes()
    (tmp_path / "trunc.safetensors").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 100)
    import gancore
    from gancore.core.errors import CheckpointError

    for name in ("trunc", "junk"):
        with pytest.raises(CheckpointError, match=r"corrupt or truncated|not a gancore") as exc:
            gancore.load(tmp_path / f"{name}.safetensors")
        assert f"{name}.safetensors" in str(exc.value)


def test_checkpoint_from_a_newer_format(tmp_path):
    import gancore
    from gancore.core.errors import CheckpointError

    gan = gancore.build("dcgan-32")
    path = gancore.save(gan, tmp_path / "new.safetensors", extra_meta={"format_version": "99"})
    with pytest.raises(CheckpointError, match="format 99") as exc:
        gancore.load(path)
    assert "pip install -U gancore" in str(exc.value)


def test_checkpoint_needing_a_missing_pack(tmp_path):
    import gancore
    from gancore.core.errors import CheckpointError

    gan = gancore.build("dcgan-32")
    comps = json.dumps({"generator:stack": "gancore-fancy==0.2"})
    path = gancore.save(gan, tmp_path / "p.safetensors", extra_meta={"components": comps})
    gancore.load(path)  # 'stack' exists, so this loads
    comps = json.dumps({"block:fancy_block": "gancore-fancy==0.2"})
    path = gancore.save(gan, tmp_path / "p.safetensors", extra_meta={"components": comps})
    with pytest.raises(CheckpointError, match="pip install gancore-fancy"):
        gancore.load(path)


def test_debug_shows_the_traceback(capsys):
    from gancore.core.errors import RecipeError

    with pytest.raises(RecipeError):
        main(["--debug", "build", "sagn"])
