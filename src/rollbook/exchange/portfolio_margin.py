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


class PMPosition(NamedTuple):
    """What the check needs of one position: size, its vector, and short-option notional."""

    size: int
    vector: tuple[int, ...]
    option_notional: int = 0
    """Forward value of the position if it is an option (0 for perpetuals)."""


def worst_loss(positions: list[PMPosition]) -> int:
    """The largest scenario loss of the positions (0 if every scenario gains)."""
    if not positions:
        return 0
    scenarios = len(positions[0].vector)
    worst = 0
    for i in range(scenarios):
        pnl_scaled = 0
        for position in positions:
            pnl_scaled += position.size * position.vector[i]
        # The P&L rounds toward −inf, so the loss rounds up.
        loss = -div(pnl_scaled, SIZE_ONE, Rounding.DOWN)
        worst = max(worst, loss)
    return worst


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
