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
    Scenario,
    mark_and_vector,
    option_vector,
    pack,
    packed,
    perp_vector,
    position,
    requirements,
    shifted,
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
        mark, vector = mark_and_vector(F, strike, vol, seconds, is_call)
        portfolio.append(PMPosition(size, vector, F))
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


# -- the oracle step's fast path equals the scenario-by-scenario specification ------------

markets = st.tuples(
    st.integers(10**6, 10**12),  # forward: $1 to $1M
    st.integers(5, 400),  # strike as % of forward
    st.one_of(st.integers(0, 5 * ONE), st.integers(0, 10**6)),  # vol, incl. ~0
    st.one_of(st.integers(0, 3 * YEAR), st.integers(0, 60)),  # seconds, incl. expiry
    st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(markets)
def test_mark_and_vector_equals_call_put_and_option_vector(
    market: tuple[int, int, int, int, bool],
) -> None:
    forward, strike_pct, vol, seconds, is_call = market
    strike = max(1, forward * strike_pct // 100)
    mark, vector = mark_and_vector(forward, strike, vol, seconds, is_call)
    call, put = call_put(forward, strike, vol, seconds)
    assert mark == (call if is_call else put)
    assert vector == option_vector(forward, strike, vol, seconds, is_call, mark)
    assert all(type(v) is int for v in vector) and len(vector) == 23


@settings(max_examples=50, deadline=None)
@given(
    markets,
    st.lists(
        st.builds(Scenario, st.integers(-900_000, 2_000_000), st.integers(-1_000_000, 2_000_000)),
        min_size=1,
        max_size=30,
    ),
)
def test_mark_and_vector_equals_option_vector_on_any_grid(
    market: tuple[int, int, int, int, bool], grid: list[Scenario]
) -> None:
    forward, strike_pct, vol, seconds, is_call = market
    strike = max(1, forward * strike_pct // 100)
    mark, vector = mark_and_vector(forward, strike, vol, seconds, is_call, tuple(grid))
    assert vector == option_vector(forward, strike, vol, seconds, is_call, mark, tuple(grid))


def test_at_expiry_every_scenario_is_intrinsic() -> None:
    mark, vector = mark_and_vector(F, 3300 * USD, 6 * ONE // 10, 0, False)
    assert mark == 300 * USD
    assert vector == tuple(max(3300 * USD - shifted(F, s.spot_ppm), 0) - mark for s in DEFAULT_GRID)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1_000 * USD, 100_000 * USD),
    st.integers(50, 200),
    st.integers(5, 300),
    st.integers(3600, 2 * YEAR),
    st.booleans(),
)
def test_scenario_values_against_mpmath_and_the_per_scenario_call_put(
    forward: int, strike_pct: int, vol_pct: int, seconds: int, is_call: bool
) -> None:
    """Each scenario value is Black-76 at the moved forward and vol, to 0.5 + 1e-6 units.

    It differs from ``call_put`` at the moved inputs (which takes the logarithm of the
    rounded forward) by at most one quote unit.
    """
    strike, vol = forward * strike_pct // 100, vol_pct * ONE // 100
    mark, vector = mark_and_vector(forward, strike, vol, seconds, is_call)
    for scenario, pnl in zip(DEFAULT_GRID, vector, strict=True):
        moved, moved_vol = shifted(forward, scenario.spot_ppm), shifted(vol, scenario.vol_ppm)
        f = mpmath.mpf(moved)
        srt = mpmath.mpf(moved_vol) / ONE * mpmath.sqrt(mpmath.mpf(seconds) / YEAR)
        d1 = (mpmath.log(f / strike) + srt * srt / 2) / srt
        exact = f * mpmath.ncdf(d1) - strike * mpmath.ncdf(d1 - srt)
        if not is_call:
            exact -= moved - strike
        assert abs(mark + pnl - exact) <= mpmath.mpf("0.500001")
        call, put = call_put(moved, strike, moved_vol, seconds)
        assert abs(mark + pnl - (call if is_call else put)) <= 1


def test_packed_is_pack_and_its_memo_stays_bounded() -> None:
    from rollbook.exchange import portfolio_margin

    vector = tuple(range(-11, 12))
    assert packed(vector) == pack(vector) == packed(vector)
    for i in range(portfolio_margin._PACKED_LIMIT + 10):
        assert packed((i, -i)) == pack((i, -i))
    assert len(portfolio_margin._PACKED) <= portfolio_margin._PACKED_LIMIT
    # A position built without its packed field gets it from the memo in the check.
    bare = PMPosition(-SIZE_ONE, perp_vector(F, F))
    assert worst_loss([bare]) == worst_loss_readable([bare]) == 900 * USD
