"""Plugin packs: the hook specifications, the loader that builds a registry from the installed
packs (each in isolation) and gancore's own built-in pack, registered the same way."""
