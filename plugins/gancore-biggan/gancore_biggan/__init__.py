"""gancore-biggan: BigGAN (Brock et al. 2019) as gancore components.

Components (registered through the ``gancore`` entry point):

- generator ``biggan``: shared class embedding, hierarchical latent (z split into one chunk for
  the linear stem and one per residual up-block), conditional batch norm whose gains and biases
  are linear in ``[shared embedding, z chunk]``, optional non-local attention, orthogonal init;
- discriminator ``biggan``: residual down-blocks with spectral norm, optional non-local
  attention, projection head (sum-pooled features, linear + ⟨embed(y), h⟩);
- optimizer ``ortho_adam``: Adam that first adds the gradient of the orthogonal regulariser
  ``strength * ‖W Wᵀ ⊙ (1 − I)‖²_F`` to every weight of two or more dimensions.

Both networks are class-conditional: they need a labelled dataset.
"""

__version__ = "0.1.0"
