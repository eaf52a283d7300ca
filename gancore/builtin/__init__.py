"""The built-in components, registered by :mod:`gancore.builtin.plugin` like any plugin pack."""
