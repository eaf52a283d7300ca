"""Files that several gancore processes share: one-writer locks and caches.

- :mod:`gancore.storage.lock`: the exclusive lock of a run folder (and of any file several
  processes update), an OS file lock the kernel drops when its holder dies.
- :mod:`gancore.storage.cache`: gancore's cache folder (``$GANCORE_CACHE``), its kinds, and
  entries keyed by everything that changes them, written atomically and checked when read.

Both sit below ``train``, ``metrics``, ``data`` and ``evaluation``: they import only
:mod:`gancore.storage.io` and :mod:`gancore.core.errors` (and torch lazily, for tensor entries).
"""
