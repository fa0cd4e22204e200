"""Integer Black-76 against mpmath, exact put-call parity, Greeks by finite differences."""

from __future__ import annotations

import mpmath
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rollbook.exchange.black76 import (
    YEAR,
    call_put,
    greeks,
    log_moneyness,
    priced,
    sigma_root_t,
)
from rollbook.exchange.fixedmath import ONE

mpmath.mp.dps = 50
USD = 10**6

markets = st.tuples(
    st.integers(1_000 * USD, 100_000 * USD),  # forward
    st.integers(50, 200),  # strike as % of forward
    st.integers(5, 300),  # vol in %
    st.integers(3600, 2 * YEAR),  # seconds to expiry
)


def reference(forward: int, strike: int, vol: int, seconds: int) -> tuple[mpmath.mpf, mpmath.mpf]:
    f, k = mpmath.mpf(forward), mpmath.mpf(strike)
    s_rt = mpmath.mpf(vol) / ONE * mpmath.sqrt(mpmath.mpf(seconds) / YEAR)
    d1 = (mpmath.log(f / k) + s_rt * s_rt / 2) / s_rt
    call = f * mpmath.ncdf(d1) - k * mpmath.ncdf(d1 - s_rt)
    return call, call - (f - k)


@settings(max_examples=200, deadline=None)
@given(markets)
def test_prices_within_one_quote_unit_and_parity_exact(market: tuple[int, int, int, int]) -> None:
    forward, strike_pct, vol_pct, seconds = market
    strike = forward * strike_pct // 100
    vol = vol_pct * ONE // 100
    call, put = call_put(forward, strike, vol, seconds)
    ref_call, ref_put = reference(forward, strike, vol, seconds)
    # Rounded to nearest: the fixed-point errors (Φ, ln, σ√T at 2**-64) move the value by
    # far less than 1e-6 quote units here, so within 0.5 + 1e-6 of the exact value.
    bound = mpmath.mpf("0.500001")
    assert abs(call - ref_call) <= bound and abs(put - ref_put) <= bound
    assert call - put == forward - strike
    assert call >= max(forward - strike, 0) - 1 and put >= max(strike - forward, 0) - 1


@settings(max_examples=60, deadline=None)
@given(markets, st.booleans())
@example((1_000_000_000, 111, 5, 9_656_744), False)  # once beyond the vega tolerance
@example((1_762_959_098, 152, 6, 57_167_709), True)  # once beyond vega's and ρ's
@example((1_762_918_173, 150, 6, 57_167_744), True)
def test_greeks_match_finite_differences(market: tuple[int, int, int, int], is_call: bool) -> None:
    forward, strike_pct, vol_pct, seconds = market
    strike = forward * strike_pct // 100
    vol = vol_pct * ONE // 100
    g = greeks(forward, strike, vol, seconds, is_call)
    pick = 0 if is_call else 1

    def price(f: int = forward, v: int = vol, t: int = seconds) -> mpmath.mpf:
        return reference(f, strike, v, t)[pick]

    h = forward // 10**6
    delta = (price(forward + h) - price(forward - h)) / (2 * h)
    assert abs(g.delta / mpmath.mpf(ONE) - delta) < mpmath.mpf("1e-6")
    gamma_per_usd = (price(forward + h) - 2 * price() + price(forward - h)) / (h * h) * USD
    assert abs(g.gamma / mpmath.mpf(ONE) - gamma_per_usd) <= mpmath.mpf("1e-3") * abs(
        gamma_per_usd
    ) + mpmath.mpf("1e-10")
    # A small step: the central difference's truncation error (dv²/6 · vomma) reached
    # 1.1e-4 of vega at dv = 0.01 vol points for a low-vol, far-from-the-money put.
    dv = ONE // 100_000
    vega = (price(v=vol + dv) - price(v=vol - dv)) / 2 * 100_000
    # + 3 quote units: vega's two floored products (forward·φ, then ·√T) each lose up
    # to one unit, and the difference quotient's own error adds a little more.
    assert abs(g.vega - vega) <= mpmath.mpf("1e-4") * abs(vega) + 3
    dt = 60
    theta = -(price(t=seconds + dt) - price(t=seconds - dt)) / (2 * dt) * YEAR
    assert abs(g.theta - theta) <= mpmath.mpf("1e-3") * abs(theta) + 5 * YEAR // dt
    # ρ: Black-76 discounts the payoff by e^(−rT); differentiate at r = 0
    years = mpmath.mpf(seconds) / YEAR
    dr = mpmath.mpf("1e-6")
    rho = (price() * mpmath.exp(-dr * years) - price() * mpmath.exp(dr * years)) / (2 * dr)
    # ρ = −price · T: the price is rounded to the nearest unit (±0.5, scaled by T in
    # years, up to two) and the product floored (one unit).
    assert abs(g.rho - rho) <= 1 + years / 2 + mpmath.mpf("1e-6") * abs(rho)


def test_expired_or_zero_vol_is_intrinsic() -> None:
    assert call_put(3000 * USD, 2500 * USD, ONE // 2, 0) == (500 * USD, 0)
    assert call_put(3000 * USD, 3500 * USD, 0, 86400) == (0, 500 * USD)
    assert greeks(3000 * USD, 2500 * USD, ONE // 2, 0, True).delta == ONE


def test_call_put_is_the_kernel_on_its_own_logarithm_and_root() -> None:
    forward, strike, vol, seconds = 3000 * USD, 3300 * USD, 6 * ONE // 10, 30 * 86_400
    assert call_put(forward, strike, vol, seconds) == priced(
        forward, strike, log_moneyness(forward, strike), sigma_root_t(vol, seconds)
    )
    assert priced(forward, strike, log_moneyness(forward, strike), 0) == (0, 300 * USD)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 10**13),  # forward: from one quote unit to $10M
    st.integers(1, 1000),  # strike as % of forward
    st.integers(0, 10 * ONE),  # vol
    st.integers(0, 3 * YEAR),  # seconds
)
def test_extreme_inputs_keep_parity_and_bounds(
    forward: int, strike_pct: int, vol: int, seconds: int
) -> None:
    strike = max(1, forward * strike_pct // 100)
    call, put = call_put(forward, strike, vol, seconds)
    assert call - put == forward - strike
    assert max(forward - strike, 0) <= call <= forward + 1 and 0 <= put <= strike


def test_rejected_inputs() -> None:
    for args in ((0, 1, 1, 1), (1, 0, 1, 1), (1, 1, -1, 1), (1, 1, 1, -1)):
        with pytest.raises(ValueError):
            call_put(*args)
