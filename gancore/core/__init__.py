"""The core: the table of kinds, the protocols, references, parameters, errors, the registry
and the product checks. It imports nothing else of gancore (and no torch at import)."""
