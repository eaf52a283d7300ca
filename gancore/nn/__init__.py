"""The built-in network components: stack networks, blocks, heads, norms, activations, inits.

They are registered by :mod:`gancore.packs.builtin`, through the same hook as any plugin pack.
"""
