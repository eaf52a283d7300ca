"""Type tests for values read from TOML, JSON and user code, where ``True`` is an ``int``."""

from __future__ import annotations

import math
from typing import TypeGuard


def is_int(value: object) -> TypeGuard[int]:
    """A whole number and not a bool (in Python ``isinstance(True, int)`` holds)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object, *, finite: bool = False) -> TypeGuard[int | float]:
    """An int or a float and not a bool; with ``finite``, neither infinite nor NaN."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return not finite or isinstance(value, int) or math.isfinite(value)
