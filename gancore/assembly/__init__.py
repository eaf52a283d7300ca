"""Assembly: a resolved recipe becomes plain ``nn.Module`` networks.

:mod:`~gancore.assembly.context` (what factories are given), :mod:`~gancore.assembly.sequence`
(channels and resolution threaded through a list of blocks), :mod:`~gancore.assembly.build`
(the GAN, with the contract checked once on the meta device) and
:mod:`~gancore.assembly.summary` (per-layer shapes for ``gancore build``).
"""
