"""The shared type tests for values read from TOML, JSON and user code."""

from __future__ import annotations

import math

import pytest

from gancore.core.values import is_int, is_number


@pytest.mark.parametrize("value, whole, number", [
    (3, True, True), (0, True, True), (-2, True, True), (2.5, False, True), (3.0, False, True),
    (True, False, False), (False, False, False), ("1", False, False), (None, False, False),
    ([1], False, False),
])
def test_bools_are_neither_whole_numbers_nor_numbers(value, whole, number):
    assert is_int(value) is whole
    assert is_number(value) is number


def test_finite_refuses_inf_and_nan_but_not_a_huge_int():
    assert is_number(math.inf) and is_number(math.nan)
    assert not is_number(math.inf, finite=True) and not is_number(-math.inf, finite=True)
    assert not is_number(math.nan, finite=True)
    assert is_number(10**400, finite=True)  # float(10**400) would overflow
    assert not is_number(True, finite=True)
