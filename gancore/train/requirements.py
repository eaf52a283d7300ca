"""What the built-in components need from the rest of a recipe (registered with them).

Each hazard is evidence-backed: the measurements are in ``docs/studies.md`` ("Parts that
fight each other"); bcr also names its deprecated weights here. Importing this module imports
no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gancore.core.requirements import (
    Requirement,
    batch_norm_in,
    output_penalty_on_batch_norm,
    unlabelled_data,
)

if TYPE_CHECKING:
    from gancore.recipe.requirements import RecipeFacts

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


def _old_bcr_weights(facts: RecipeFacts, params: Any) -> bool:
    """bcr written for its meaning before 0.4: real_weight or fake_weight is set."""
    return params.real_weight is not None or params.fake_weight is not None


def _new_bcr_weights(params: Any) -> bool:
    return params.lambda_real is not None or params.lambda_fake is not None


def _old_bcr_message(facts: RecipeFacts, params: Any) -> str:
    from gancore.train.regularisers import bcr_lambdas

    lr, lf = bcr_lambdas(params.weight, None, None, params.real_weight, params.fake_weight)
    new = f"weight = {lr:g}" if lr == lf else f"lambda_real = {lr:g}, lambda_fake = {lf:g}"
    return (f"deprecated: bcr's real_weight and fake_weight are multiplied by weight (here "
            f"λ_real = {lr:g}, λ_fake = {lf:g}); they go away in gancore 0.5, and weight is "
            f"now the paper's λ itself: write {{ type = \"bcr\", {new} }}")


OLD_BCR_WEIGHTS = Requirement(
    key="penalty", when=lambda facts, params: _old_bcr_weights(facts, params)
    and not _new_bcr_weights(params), message=_old_bcr_message,
    fix="replace real_weight and fake_weight by weight (λ for both sides) or by lambda_real "
    "and lambda_fake, as the message says")

MIXED_BCR_WEIGHTS = Requirement(
    key="penalty", level="error",
    when=lambda facts, params: _old_bcr_weights(facts, params) and _new_bcr_weights(params),
    message="bcr sets both real_weight/fake_weight (the deprecated spelling, multiplied by "
    "weight) and lambda_real/lambda_fake (the λs themselves)",
    fix="keep lambda_real and lambda_fake and remove real_weight and fake_weight")


#: (kind, name) -> the requirements registered with that built-in component
BUILT_IN: dict[tuple[str, str], tuple[Requirement, ...]] = {
    ("penalty", "lecam"): (output_penalty_on_batch_norm("LeCam regularisation"),),
    ("penalty", "bcr"): (output_penalty_on_batch_norm("balanced consistency regularisation"),
                         OLD_BCR_WEIGHTS, MIXED_BCR_WEIGHTS),
    ("technique", "zcr"): (output_penalty_on_batch_norm(
        "latent consistency regularisation (zCR)"),),
    ("penalty", "cr"): (output_penalty_on_batch_norm("consistency regularisation"),),
    ("penalty", "gradient_penalty"): (GP_ON_BATCH_NORM,),
    ("loss", "least_squares"): (LSGAN_ON_BATCH_NORM,),
    ("loss", "acgan"): (ACGAN_ON_UNLABELLED,),
}
