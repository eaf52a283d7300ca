"""gancore-augment: differentiable augmentations of the discriminator's inputs.

Components (kind ``augment``, registered through the ``gancore`` entry point):

- ``diffaugment``: DiffAugment (Zhao et al. 2020), a ``policy`` of ``color``, ``translation``
  and ``cutout`` applied in that order;
- ``color``, ``translation``, ``cutout``: one operation each;
- ``ada``: adaptive discriminator augmentation (Karras et al. 2020), a pipeline applied with a
  probability ``p`` that the ``ada`` callback (kind ``callback``, on by default) adapts from
  the discriminator's outputs on real images.

The trainer applies every ``[[augment]]`` of a recipe to real and fake batches alike, so
gradients reach the generator through the augmentation.
"""

__version__ = "0.1.0"
