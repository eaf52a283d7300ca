"""``python -m gancore`` (also what ``torchrun ... -m gancore train`` runs)."""

from gancore.cli import main

main()
