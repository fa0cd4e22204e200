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
"""

from __future__ import annotations

from typing import NamedTuple

from rollbook.exchange.black76 import call_put
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


def option_vector(
    forward: int,
    strike: int,
    vol: int,
    seconds: int,
    is_call: bool,
    mark: int,
    grid: tuple[Scenario, ...] = DEFAULT_GRID,
) -> tuple[int, ...]:
    """P&L of one long option on one whole underlying in each scenario, quote units."""
    out = []
    for scenario in grid:
        call, put = call_put(
            shifted(forward, scenario.spot_ppm), strike, shifted(vol, scenario.vol_ppm), seconds
        )
        out.append((call if is_call else put) - mark)
    return tuple(out)


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
    return PMPosition(size, vector, option_notional, pack(vector))


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
        total += p.size * (p.packed if p.packed else pack(p.vector))
    sums = unpack(total, len(positions[0].vector))
    return max(0, -div(min(sums), SIZE_ONE, Rounding.DOWN))


DEFAULT_PM = PMParams()


def requirements(positions: list[PMPosition], params: PMParams = DEFAULT_PM) -> tuple[int, int]:
    """``(IM, MM)`` of a portfolio-margin account."""
    short_notional = sum(
        abs(p.size) * p.option_notional // SIZE_ONE for p in positions if p.size < 0
    )
    maintenance = worst_loss(positions) + mul_div(
        short_notional, params.contingency_ppm, PPM, Rounding.UP
    )
    initial = mul_div(maintenance, params.im_multiple_ppm, PPM, Rounding.UP)
    return initial, maintenance
