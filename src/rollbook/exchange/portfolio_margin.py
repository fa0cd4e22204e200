"""Portfolio margin by scenario vectors (issue #3), with the cost moved to oracle steps.

Portfolio margin values an account under a grid of market scenarios (spot moves ×
volatility moves) and requires its worst loss. Sources: Deribit's portfolio margin
(simulated spot and vol shocks per currency; margin = the worst scenario loss plus
contingencies) and Derive (Lyra v2) PM (23 scenarios, MM = worst loss, IM a multiple).

rollbook's design for a bounded STF (docs/design/consensus.md): each instrument's
*per-unit scenario vector* — the P&L of one long unit in every scenario — is computed
when the oracle updates it and stored in its leaf. An account's check is then a sum
over its (bounded) positions of ``size × vector``, with no pricing at all:

    loss_i = −Σ_j size_j · vector_j[i] / SIZE_ONE        (rounded toward the loss)
    MM     = max(0, max_i loss_i) + contingency · Σ short option notional
    IM     = MM · im_multiple

The default grid has 23 scenarios, like Derive's: spot ±5, ±10, ±15 % and 0 under
volatility ×0.7, ×1 and ×1.3 (21), and spot ±30 % at unchanged volatility (2).

A scenario's option value is Black-76 (:func:`rollbook.exchange.black76.priced`) at the
moved forward ``F·(1 + s)`` and volatility ``σ·(1 + v)``, with log-moneyness written as
``ln(F/K) + ln(1 + s)`` — the same number as ``ln(F(1 + s)/K)``, but it lets one
logarithm serve every scenario, and ``ln(1 + s)`` is a constant of the grid.
:func:`option_vector` prices scenario by scenario and is the specification;
:func:`mark_and_vector` is what the oracle step runs: it computes ``ln(F/K)`` and ``√T``
once, ``σ√T`` once per volatility move, and then only ``d1``, ``d2`` and two Φ per
scenario. Both do the same integer operations, so their results are equal (tested).
"""

from __future__ import annotations

from typing import NamedTuple

from rollbook.exchange.black76 import (
    check_market,
    log_moneyness,
    priced,
    root_t,
    sigma_root_t,
)
from rollbook.exchange.fixedmath import ONE, Q_BITS, ln_ratio_q, normal_cdf_q
from rollbook.exchange.numeric import PPM, SIZE_ONE, Rounding, div, mul_div


class Scenario(NamedTuple):
    """A market move: spot and volatility, each as a ppm change."""

    spot_ppm: int
    vol_ppm: int


def default_grid() -> tuple[Scenario, ...]:
    """The 23 scenarios described in the module docstring."""
    grid = [
        Scenario(spot, vol)
        for vol in (-300_000, 0, 300_000)
        for spot in (-150_000, -100_000, -50_000, 0, 50_000, 100_000, 150_000)
    ]
    grid += [Scenario(-300_000, 0), Scenario(300_000, 0)]
    return tuple(grid)


DEFAULT_GRID = default_grid()


class PMParams(NamedTuple):
    """Portfolio-margin parameters (ppm)."""

    contingency_ppm: int = 5_000
    im_multiple_ppm: int = 1_300_000


def shifted(value: int, change_ppm: int) -> int:
    """``value · (1 + change)``, rounded down."""
    return mul_div(value, PPM + change_ppm, PPM, Rounding.DOWN)


def _log_shift_of(spot_ppm: int) -> int:
    return ln_ratio_q(PPM + spot_ppm, PPM)


_HALF_Q = 1 << (Q_BITS - 1)

# ln(1 + s) for the default grid's spot moves, at 2**-64, built at import.
_LOG_SHIFTS = {s.spot_ppm: _log_shift_of(s.spot_ppm) for s in DEFAULT_GRID}


def log_shift(spot_ppm: int) -> int:
    """``ln(1 + s)`` at 2**-64 for a spot move of ``s`` ppm (``s > −100 %``)."""
    known = _LOG_SHIFTS.get(spot_ppm)
    return known if known is not None else _log_shift_of(spot_ppm)


def scenario_value(
    forward: int, strike: int, vol: int, seconds: int, is_call: bool, scenario: Scenario
) -> int:
    """Value of one long option after the scenario's move, quote units.

    Black-76 at the forward ``F·(1 + s)`` (rounded down to a quote unit) and volatility
    ``σ·(1 + v)``, with log-moneyness ``ln(F/K) + ln(1 + s)``.
    """
    call, put = priced(
        shifted(forward, scenario.spot_ppm),
        strike,
        log_moneyness(forward, strike) + log_shift(scenario.spot_ppm),
        sigma_root_t(shifted(vol, scenario.vol_ppm), seconds),
    )
    return call if is_call else put


def option_vector(
    forward: int,
    strike: int,
    vol: int,
    seconds: int,
    is_call: bool,
    mark: int,
    grid: tuple[Scenario, ...] = DEFAULT_GRID,
) -> tuple[int, ...]:
    """P&L of one long option on one whole underlying in each scenario, quote units.

    The specification, scenario by scenario: ``scenario_value − mark``. The oracle step
    uses :func:`mark_and_vector`, which gives the same integers faster.

    Raises:
        ValueError: a non-positive forward or strike, or a negative vol or time.
    """
    check_market(forward, strike, vol, seconds)
    return tuple(
        scenario_value(forward, strike, vol, seconds, is_call, scenario) - mark for scenario in grid
    )


def mark_and_vector(
    forward: int,
    strike: int,
    vol: int,
    seconds: int,
    is_call: bool,
    grid: tuple[Scenario, ...] = DEFAULT_GRID,
) -> tuple[int, tuple[int, ...]]:
    """``(mark, vector)``: the option's Black-76 value and its scenario P&L vector.

    Equal to ``call_put(forward, strike, vol, seconds)`` (the side ``is_call`` picks) and
    ``option_vector(forward, strike, vol, seconds, is_call, mark, grid)``; the shared
    work — ``ln(F/K)``, ``√T``, ``σ√T`` per volatility move — is done once.

    Raises:
        ValueError: a non-positive forward or strike, or a negative vol or time.
    """
    check_market(forward, strike, vol, seconds)
    moneyness = log_moneyness(forward, strike)
    root = root_t(seconds)
    call, put = priced(forward, strike, moneyness, vol * root // ONE)
    mark = call if is_call else put
    srt_by_move: dict[int, int] = {}
    out = []
    for spot_ppm, vol_ppm in grid:
        # σ√T once per volatility move; shifted() and sigma_root_t() as in the spec.
        srt = srt_by_move.get(vol_ppm)
        if srt is None:
            srt = srt_by_move[vol_ppm] = vol * (PPM + vol_ppm) // PPM * root // ONE
        moved = forward * (PPM + spot_ppm) // PPM
        parity = moved - strike
        # The body of black76.priced, inlined (a call per scenario is a fifth of the cost).
        if srt == 0:
            call = parity if parity > 0 else 0
        else:
            d1 = (((moneyness + log_shift(spot_ppm)) << Q_BITS) + (srt * srt >> 1)) // srt
            call = (moved * normal_cdf_q(d1) - strike * normal_cdf_q(d1 - srt) + _HALF_Q) >> Q_BITS
            if strike >= moved:
                call = max(call, 0)
            else:
                call = max(call, parity)  # the put, call − parity, floored at 0
        out.append((call if is_call else call - parity) - mark)
    return mark, tuple(out)


def perp_vector(
    forward: int, mark: int, grid: tuple[Scenario, ...] = DEFAULT_GRID
) -> tuple[int, ...]:
    """P&L of one long perpetual unit in each scenario (volatility does not matter)."""
    return tuple(shifted(forward, scenario.spot_ppm) - mark for scenario in grid)


LANE_BITS = 192
_LANE = 1 << LANE_BITS
_HALF_LANE = 1 << (LANE_BITS - 1)


def pack(vector: tuple[int, ...]) -> int:
    """One integer holding the vector in 192-bit lanes: ``Σ v_i · 2^(192 i)``.

    Integer arithmetic is exact, so ``Σ_j size_j · pack(v_j)`` equals
    ``pack(Σ_j size_j · v_j)`` lane for lane, and one big multiply per position replaces
    one multiply per scenario. Lanes are wide enough for any |sum| < 2^191 (sizes
    < 2^63, per-unit values < 2^64, up to 2^63 positions).
    """
    packed = 0
    for value in reversed(vector):
        packed = (packed << LANE_BITS) + value
    return packed


def unpack(packed: int, lanes: int) -> list[int]:
    """The lanes of a packed sum, lowest first (each a signed value)."""
    out = []
    for _ in range(lanes):
        lane = packed & (_LANE - 1)
        if lane >= _HALF_LANE:
            lane -= _LANE
        out.append(lane)
        packed = (packed - lane) >> LANE_BITS
    return out


# pack() memoised: an account's check sums the packed vectors of the instruments it
# holds, and those change only at oracle updates. A pure function's memo cannot change
# a result; the dict is emptied when it grows past the bound, so memory stays bounded.
_PACKED: dict[tuple[int, ...], int] = {}
_PACKED_LIMIT = 8192


def packed(vector: tuple[int, ...]) -> int:
    """``pack(vector)``, remembered for the next check that holds the same vector."""
    value = _PACKED.get(vector)
    if value is None:
        if len(_PACKED) >= _PACKED_LIMIT:
            _PACKED.clear()
        value = _PACKED[vector] = pack(vector)
    return value


class PMPosition(NamedTuple):
    """What the check needs of one position: size, its vector, and short-option notional."""

    size: int
    vector: tuple[int, ...]
    option_notional: int = 0
    """Forward value of the position if it is an option (0 for perpetuals)."""
    packed: int = 0
    """``pack(vector)``; computed once when the vector is stored (see :func:`position`)."""


def position(size: int, vector: tuple[int, ...], option_notional: int = 0) -> PMPosition:
    """A :class:`PMPosition` with its packed vector."""
    return PMPosition(size, vector, option_notional, packed(vector))


def worst_loss_readable(positions: list[PMPosition]) -> int:
    """The largest scenario loss, scenario by scenario (the spec of :func:`worst_loss`).

    A scenario's P&L rounds toward −inf, so its loss rounds up.
    """
    if not positions:
        return 0
    worst = 0
    for i in range(len(positions[0].vector)):
        pnl = sum(p.size * p.vector[i] for p in positions)
        worst = max(worst, -div(pnl, SIZE_ONE, Rounding.DOWN))
    return worst


def worst_loss(positions: list[PMPosition]) -> int:
    """The largest scenario loss (0 if every scenario gains), via packed vectors.

    One big-integer multiply-add per position, then the lanes are read back; since
    flooring is monotonic the worst loss is ``−floor(min_i pnl_i / SIZE_ONE)``.
    Equal to :func:`worst_loss_readable` (tested).
    """
    if not positions:
        return 0
    total = 0
    for p in positions:
        total += p.size * (p.packed if p.packed else packed(p.vector))
    return worst_loss_of_sum(total, len(positions[0].vector))


DEFAULT_PM = PMParams()


def requirements(positions: list[PMPosition], params: PMParams = DEFAULT_PM) -> tuple[int, int]:
    """``(IM, MM)`` of a portfolio-margin account."""
    short_notional = sum(
        abs(p.size) * p.option_notional // SIZE_ONE for p in positions if p.size < 0
    )
    return requirements_of(worst_loss(positions), short_notional, params)


def requirements_of(
    loss: int, short_option_notional: int, params: PMParams = DEFAULT_PM
) -> tuple[int, int]:
    """``(IM, MM)`` from the worst scenario loss and the short options' notional."""
    maintenance = loss + mul_div(short_option_notional, params.contingency_ppm, PPM, Rounding.UP)
    initial = mul_div(maintenance, params.im_multiple_ppm, PPM, Rounding.UP)
    return initial, maintenance


def worst_loss_of_sum(total: int, lanes: int) -> int:
    """The worst loss read from ``Σ size · packed(vector)`` (as :func:`worst_loss`)."""
    if lanes == 0:
        return 0
    return max(0, -div(min(unpack(total, lanes)), SIZE_ONE, Rounding.DOWN))
