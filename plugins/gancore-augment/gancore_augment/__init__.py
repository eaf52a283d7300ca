"""gancore-augment: differentiable augmentations of the discriminator's inputs.

Components (kind ``augment``, registered through the ``gancore`` entry point):

- ``diffaugment``: DiffAugment (Zhao et al. 2020), a ``policy`` of ``color``, ``translation``
  and ``cutout`` applied in that order;
- ``color``, ``translation``, ``cutout``: one operation each.

The trainer applies every ``[[augment]]`` of a recipe to real and fake batches alike, so
gradients reach the generator through the augmentation.
"""

__version__ = "0.1.0"
