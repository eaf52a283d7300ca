"""What the built-in components need from the rest of a recipe (registered with them).

Each entry is evidence-backed: the measurements are in ``docs/studies.md`` ("Parts that fight
each other"). Importing this module imports no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gancore.core.requirements import (
    Requirement,
    batch_norm_in,
    output_penalty_on_batch_norm,
    unlabelled_data,
)

if TYPE_CHECKING:
    pass

LSGAN_ON_BATCH_NORM = Requirement(
    key="discriminator.norm", when=batch_norm_in("discriminator"),
    message="least squares with a batch-norm discriminator: D regresses each batch's outputs "
    "towards fixed targets, and batch norm normalises each batch on its own, so real and fake "
    "batches stop being told apart and training collapses (the bundled lsgan recipe has no "
    "batch norm in D for this reason)",
    fix='set discriminator.norm = "none"')

GP_ON_BATCH_NORM = Requirement(
    key="discriminator.norm", when=batch_norm_in("discriminator"),
    message="a gradient penalty with a batch-norm critic: the penalty constrains the gradient "
    "of each input on its own, while batch norm makes every output depend on the whole batch "
    "(Gulrajani et al. 2017, section 4: no batch norm in the critic)",
    fix='set discriminator.norm = "none" or "layer" (the paper uses layer normalisation)')


ACGAN_ON_UNLABELLED = Requirement(
    key="loss.type", when=unlabelled_data(), level="error",
    message=lambda facts, params: f"the {facts.recipe.loss.type!r} loss learns the data's "
    f"classes (ACGAN), but the data ({facts.recipe.data.type!r}) have no class labels",
    fix='train it on labelled data (e.g. data.type = "shapes" with labels = "shape"), or use a '
    'loss without classes (loss.type = "bce") and remove class_head and the class conditioning')

#: (kind, name) -> the requirements registered with that built-in component
BUILT_IN: dict[tuple[str, str], tuple[Requirement, ...]] = {
    ("penalty", "lecam"): (output_penalty_on_batch_norm("LeCam regularisation"),),
    ("penalty", "bcr"): (output_penalty_on_batch_norm("balanced consistency regularisation"),),
    ("penalty", "cr"): (output_penalty_on_batch_norm("consistency regularisation"),),
    ("penalty", "gradient_penalty"): (GP_ON_BATCH_NORM,),
    ("loss", "least_squares"): (LSGAN_ON_BATCH_NORM,),
    ("loss", "acgan"): (ACGAN_ON_UNLABELLED,),
}
