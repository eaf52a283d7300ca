"""gancore-stylegan: a StyleGAN2-style generator and its blocks for gancore.

Components (registered through the ``gancore`` entry point):

- generator ``stylegan2``: mapping network, constant input, style blocks, skip to-RGB outputs,
  noise inputs and style mixing;
- block ``style_block``: modulated 3x3 conv + noise + bias + leaky ReLU;
- block ``modulated_conv``: a bare modulated (and demodulated) convolution;
- block ``to_rgb``: 1x1 modulated conv to image channels, no demodulation.

The blocks take their style vector ``w`` as the ``cond`` argument of ``forward(x, cond)``;
the ``stylegan2`` generator passes it. They are listed in its ``blocks``.
"""

__version__ = "0.1.0"
