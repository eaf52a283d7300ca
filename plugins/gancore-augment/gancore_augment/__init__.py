"""gancore-augment: differentiable augmentations of the discriminator's inputs.

Components (kind ``augment``, registered through the ``gancore`` entry point):

- ``diffaugment``: DiffAugment (Zhao et al. 2020), a ``policy`` of ``color``, ``translation``
  and ``cutout`` applied in that order (as mit-han-lab/data-efficient-gans
  ``DiffAugment_pytorch.py``);
- ``color``, ``translation``, ``cutout``: one operation each;
- ``ada``: adaptive discriminator augmentation (Karras et al. 2020): NVlabs/stylegan2-ada-pytorch's
  pipeline (``training/augment.py``, :mod:`gancore_augment.pipeline`) at a probability ``p``
  that the augment adapts from D's outputs on every real batch (``training/training_loop.py``);
  the ``ada`` callback (kind ``callback``, on by default) logs ``p``.

The trainer applies every ``[[augment]]`` of a recipe to real and fake batches alike, so
gradients reach the generator through the augmentation.
"""

__version__ = "0.1.0"
