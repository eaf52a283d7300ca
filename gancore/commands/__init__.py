"""The ``gancore`` sub-commands, one module per group; each imports torch only when run."""
