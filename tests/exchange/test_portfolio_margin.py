"""Portfolio margin from stored per-unit vectors equals a brute-force revaluation."""

from __future__ import annotations

import mpmath
from hypothesis import given, settings
from hypothesis import strategies as st

from rollbook.exchange.black76 import YEAR, call_put
from rollbook.exchange.fixedmath import ONE
from rollbook.exchange.numeric import SIZE_ONE
from rollbook.exchange.portfolio_margin import (
    DEFAULT_GRID,
    PMPosition,
    option_vector,
    perp_vector,
    position,
    requirements,
    worst_loss,
    worst_loss_readable,
)

USD = 10**6
F = 3000 * USD
mpmath.mp.dps = 40


def test_grid_has_23_scenarios() -> None:
    assert len(DEFAULT_GRID) == 23 and len(set(DEFAULT_GRID)) == 23


def test_perp_only_worst_case_is_the_30_percent_move() -> None:
    # Long 2 ETH at mark 3,000: the −30 % scenario loses 2 · 900 = 1,800 dollars.
    long = PMPosition(2 * SIZE_ONE, perp_vector(F, F))
    assert worst_loss([long]) == 1_800 * USD
    # A hedged pair (long and short the same) loses nothing.
    short = PMPosition(-2 * SIZE_ONE, perp_vector(F, F))
    assert worst_loss([long, short]) == 0


def test_long_option_loses_at_most_its_premium() -> None:
    seconds, vol = 30 * 86_400, 6 * ONE // 10
    call, _ = call_put(F, 3200 * USD, vol, seconds)
    vector = option_vector(F, 3200 * USD, vol, seconds, True, call)
    loss = worst_loss([PMPosition(SIZE_ONE, vector)])
    assert 0 < loss <= call


def test_covered_call_needs_less_than_its_parts() -> None:
    seconds, vol = 30 * 86_400, 6 * ONE // 10
    call, _ = call_put(F, 3300 * USD, vol, seconds)
    short_call = PMPosition(-SIZE_ONE, option_vector(F, 3300 * USD, vol, seconds, True, call), F)
    long_perp = PMPosition(SIZE_ONE, perp_vector(F, F))
    alone = requirements([short_call])[1] + requirements([long_perp])[1]
    together = requirements([short_call, long_perp])[1]
    assert together < alone


positions = st.lists(
    st.tuples(
        st.integers(-5 * SIZE_ONE, 5 * SIZE_ONE),  # size
        st.integers(70, 140),  # strike % of forward (0 → perpetual below)
        st.booleans(),  # call
        st.integers(20, 150),  # vol %
        st.sampled_from([1, 7, 30, 90]),  # days
        st.booleans(),  # perpetual instead of option
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=40, deadline=None)
@given(positions)
def test_vector_sum_matches_brute_force_revaluation(
    spec: list[tuple[int, int, bool, int, int, bool]],
) -> None:
    portfolio = []
    brute: list[list[mpmath.mpf]] = [[] for _ in DEFAULT_GRID]
    for size, strike_pct, is_call, vol_pct, days, perp in spec:
        if perp:
            portfolio.append(PMPosition(size, perp_vector(F, F)))
            for i, s in enumerate(DEFAULT_GRID):
                brute[i].append(size * (mpmath.mpf(F) * (1 + mpmath.mpf(s.spot_ppm) / 10**6) - F))
            continue
        strike, vol, seconds = F * strike_pct // 100, vol_pct * ONE // 100, days * 86_400
        call, put = call_put(F, strike, vol, seconds)
        mark = call if is_call else put
        portfolio.append(PMPosition(size, option_vector(F, strike, vol, seconds, is_call, mark), F))
        for i, s in enumerate(DEFAULT_GRID):
            f = mpmath.mpf(F) * (1 + mpmath.mpf(s.spot_ppm) / 10**6)
            sig = mpmath.mpf(vol) / ONE * (1 + mpmath.mpf(s.vol_ppm) / 10**6)
            srt = sig * mpmath.sqrt(mpmath.mpf(seconds) / YEAR)
            d1 = (mpmath.log(f / strike) + srt * srt / 2) / srt
            c = f * mpmath.ncdf(d1) - strike * mpmath.ncdf(d1 - srt)
            value = c if is_call else c - (f - strike)
            brute[i].append(size * (value - mark))
    brute_loss = max(mpmath.mpf(0), max(-sum(row) / SIZE_ONE for row in brute))
    # Each per-unit vector entry is within ~2 quote units of the exact value (shifted
    # inputs round down, prices round to a unit); sizes here are ≤ 5 units each.
    tolerance = 2 * sum(abs(p.size) for p in portfolio) / SIZE_ONE + 2
    assert abs(worst_loss(portfolio) - brute_loss) <= tolerance
    # The packed fast path equals the scenario-by-scenario spec exactly.
    packed = [position(p.size, p.vector, p.option_notional) for p in portfolio]
    assert worst_loss(packed) == worst_loss_readable(portfolio) == worst_loss(portfolio)


@given(
    st.lists(
        st.tuples(
            st.integers(-(2**62), 2**62),
            st.lists(st.integers(-(2**63), 2**63), min_size=23, max_size=23),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_packing_is_exact(rows: list[tuple[int, list[int]]]) -> None:
    from rollbook.exchange.portfolio_margin import pack, unpack

    total = sum(size * pack(tuple(vector)) for size, vector in rows)
    expected = [sum(size * vector[i] for size, vector in rows) for i in range(23)]
    assert unpack(total, 23) == expected
