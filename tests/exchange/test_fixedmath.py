"""Integer ln, exp, sqrt, Φ and φ against mpmath at 60 digits (issue #3's pricing base).

Bounds asserted here are those stated in :mod:`rollbook.exchange.fixedmath`; issue #3
asks for Φ within 1e-12 (10**6 units of 1e-18), these hold it within one unit.
"""

from __future__ import annotations

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollbook.exchange.fixedmath import ONE, exp, ln, normal_cdf, normal_pdf, sqrt

mpmath.mp.dps = 60


def real(x: int) -> mpmath.mpf:
    return mpmath.mpf(x) / ONE


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**30))
def test_ln_within_one_unit(x: int) -> None:
    assert abs(ln(x) - mpmath.log(real(x)) * ONE) <= 1


@settings(max_examples=300, deadline=None)
@given(st.integers(-41 * ONE, 130 * ONE))
def test_exp_within_one_unit_or_2e18_relative(x: int) -> None:
    reference = mpmath.exp(real(x)) * ONE
    assert abs(exp(x) - reference) <= max(1, reference * mpmath.mpf("2e-18"))


@settings(max_examples=300, deadline=None)
@given(st.integers(-45 * ONE, 45 * ONE))
def test_normal_cdf_within_one_unit(x: int) -> None:
    assert abs(normal_cdf(x) - mpmath.ncdf(real(x)) * ONE) <= 1


@pytest.mark.parametrize(
    "x", [0, 1, -1, 85 * ONE // 10, 85 * ONE // 10 - 1, 9 * ONE, -9 * ONE, 40 * ONE]
)
def test_normal_cdf_at_the_seams(x: int) -> None:
    assert abs(normal_cdf(x) - mpmath.ncdf(real(x)) * ONE) <= 1


@settings(max_examples=200, deadline=None)
@given(st.integers(-40 * ONE, 40 * ONE))
def test_normal_cdf_symmetry_and_pdf(x: int) -> None:
    assert normal_cdf(x) + normal_cdf(-x) in (ONE - 1, ONE, ONE + 1)
    assert abs(normal_pdf(x) - mpmath.npdf(real(x)) * ONE) <= 1


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**40))
def test_sqrt_is_the_exact_floor(x: int) -> None:
    root = sqrt(x)
    assert root * root <= x * ONE < (root + 1) * (root + 1)


def test_domain_errors() -> None:
    with pytest.raises(ValueError):
        ln(0)
    with pytest.raises(ValueError):
        sqrt(-1)


@settings(max_examples=400, deadline=None)
@given(st.integers(-9 * ONE, 9 * ONE))
def test_tabled_cdf_equals_the_series(x: int) -> None:
    """The Taylor-table fast path gives the series' result, unit for unit."""
    from rollbook.exchange.fixedmath import normal_cdf_series

    assert normal_cdf(x) == normal_cdf_series(x)
