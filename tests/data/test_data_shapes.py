import pytest
import torch

from gancore.core.errors import RecipeError
from gancore.data.shapes import AREA_FACTORS, COLORS, SHAPES, Shapes


@pytest.fixture(scope="module")
def shapes() -> Shapes:
    return Shapes(num_samples=800, seed=1)


def test_deterministic_by_seed() -> None:
    a, b = Shapes(num_samples=64, seed=3), Shapes(num_samples=64, seed=3)
    c = Shapes(num_samples=64, seed=4)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.images, c.images)


def test_test_split_differs_from_train() -> None:
    train, test = Shapes(num_samples=32), Shapes(num_samples=32, split="test")
    assert not torch.equal(train.images, test.images)


def test_items_range_dtype_and_describe(shapes: Shapes) -> None:
    x, y = shapes[5]
    assert x.dtype == torch.float32 and y.dtype == torch.int64 and y.ndim == 0
    assert tuple(x.shape) == Shapes.describe().shape == (3, 32, 32)
    assert Shapes.describe().num_classes == len(SHAPES) == 4
    xs, ys = shapes.as_tensors()
    assert xs.shape == (800, 3, 32, 32) and xs.dtype == torch.float32
    assert xs.min() >= -1 and xs.max() <= 1
    assert xs.min() == -1 or xs.max() > 0.5
    assert torch.equal(xs[5], x) and torch.equal(ys, shapes.labels)
    assert set(ys.tolist()) == set(range(len(SHAPES)))


def test_image_size_and_describe_agree() -> None:
    ds = Shapes(image_size=48, num_samples=4, labels="shape_color")
    spec = Shapes.describe(image_size=48, labels="shape_color")
    assert tuple(ds[0][0].shape) == spec.shape == (3, 48, 48)
    assert spec.num_classes == len(SHAPES) * len(COLORS)


def test_label_variants(shapes: Shapes) -> None:
    combo = Shapes(num_samples=800, seed=1, labels="shape_color")
    assert torch.equal(combo.labels, shapes.meta["shape"] * len(COLORS) + shapes.meta["color"])
    assert int(combo.labels.max()) < Shapes.describe(labels="shape_color").num_classes
    none = Shapes(num_samples=16, labels="none")
    assert int(none.labels.abs().sum()) == 0 and Shapes.describe(labels="none").num_classes == 0


def test_shape_centre_has_its_colour(shapes: Shapes) -> None:
    size = shapes.image_size
    col = ((shapes.meta["center"][:, 0] + 1) * size / 2).long().clamp(0, size - 1)
    row = ((shapes.meta["center"][:, 1] + 1) * size / 2).long().clamp(0, size - 1)
    idx = torch.arange(len(shapes))
    pixel = shapes.images[idx, :, row, col].float() / 255
    assert torch.allclose(pixel, shapes.meta["rgb"], atol=0.02)


def test_drawn_area_matches_shape_label(shapes: Shapes) -> None:
    bg = shapes.meta["background"].view(-1, 1, 1, 1)
    fg = shapes.meta["rgb"].view(-1, 3, 1, 1)
    img = shapes.images.float() / 255
    coverage = ((img - bg) / (fg - bg)).mean(1).clamp(0, 1)
    size = shapes.image_size
    area = coverage.sum((1, 2)) * (2 / size) ** 2
    ratio = area / shapes.meta["radius"] ** 2
    for k, name in enumerate(SHAPES):
        mean = ratio[shapes.labels == k].mean().item()
        assert mean == pytest.approx(AREA_FACTORS[name], rel=0.06), name
    corners = shapes.images[:, :, [0, 0, -1, -1], [0, -1, 0, -1]].float() / 255
    assert torch.allclose(corners, shapes.meta["background"].view(-1, 1, 1).expand_as(corners),
                          atol=0.01)


def test_augmented_items_stay_in_range() -> None:
    ds = Shapes(num_samples=16, flip=True, rotate=20.0, shift=0.1)
    xs = torch.stack([ds[i][0] for i in range(16)])
    assert xs.shape == (16, 3, 32, 32) and xs.min() >= -1 and xs.max() <= 1
    assert ds.augment(ds.as_tensors()[0]).shape == (16, 3, 32, 32)


def test_bad_parameters_are_recipe_errors() -> None:
    with pytest.raises(RecipeError, match="labels"):
        Shapes(num_samples=4, labels="colour")  # type: ignore[arg-type]
    with pytest.raises(RecipeError, match="num_samples"):
        Shapes(num_samples=0)
    with pytest.raises(RecipeError, match="did you mean 'image_size'"):
        Shapes.describe(image_sise=32)


def test_default_dataset_builds() -> None:
    ds = Shapes()
    assert len(ds) == 20000 and ds.images.dtype == torch.uint8
