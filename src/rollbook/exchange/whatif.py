"""What-if: an account's margin, Greeks and liquidation prices after hypothetical trades.

Anchor: Deribit's ``private/pme/simulate`` (margin of a portfolio with added
positions). Traders complain that dYdX's displayed liquidation price cannot be
reproduced; here it is a pure function of the state with a stated algorithm, so
anyone can recompute it bit for bit:

- The hypothetical trades are applied to a *copy* of the state at their prices with
  the instruments' taker fee (no signatures, no open interest limits: it is a
  question, not a tx); then the STF's own :func:`margin.health` values the account.
- Greeks per account (Δ, Γ, ν, Θ, ρ): Σ size · Black-76 Greeks of each option at its stored index,
  vol and time to expiry, plus each perpetual's size as delta (rate 0; units below).
- Liquidation price, per underlying asset and per direction: the index level ``S``
  nearest to the current one at which equity < maintenance margin when every mark
  of that asset moves with the index (a perpetual's mark keeps its ratio to the
  index; options are repriced with Black-76 at unchanged vol; portfolio vectors are
  recomputed). It is searched in 1 % steps out to ±``MAX_MOVE_PCT`` % and then
  bisected to one quote unit; ``None`` means no crossing in that range.

This is a read-only query (the node's API and the SDK serve it); it never changes the
state it is given.
"""

from __future__ import annotations

from typing import NamedTuple

from rollbook.exchange.black76 import greeks
from rollbook.exchange.fixedmath import ONE
from rollbook.exchange.leaves import Instrument, InstrumentKind
from rollbook.exchange.margin import Health, health, requirements, settle_and_price
from rollbook.exchange.numeric import SIZE_ONE, Rounding, notional, ppm_of
from rollbook.exchange.oracle import VOL_TO_ONE
from rollbook.exchange.portfolio_margin import mark_and_vector, perp_vector
from rollbook.exchange.positions import change_position, settle_position
from rollbook.exchange.state import State

MAX_MOVE_PCT = 60
DAY = 86_400


class Trade(NamedTuple):
    """A hypothetical trade: ``size`` base units (signed: + buys) at ``price``."""

    instrument: int
    size: int
    price: int


class AccountGreeks(NamedTuple):
    """An account's Greeks on one underlying asset.

    ``delta`` in base units of the underlying (1e-8), ``gamma`` in base units of delta
    per whole dollar of index move, ``vega`` in quote units per 1 % of volatility,
    ``theta`` in quote units per day, ``rho`` in quote units per 1 % of rate (Deribit's
    display units for vega, theta and rho).
    """

    asset: int
    delta: int
    gamma: int
    vega: int
    theta: int
    rho: int


class WhatIf(NamedTuple):
    """The answer: health before and after, Greeks and liquidation prices after."""

    before: Health
    after: Health
    greeks: tuple[AccountGreeks, ...]
    liquidation: tuple[tuple[int, int | None, int | None], ...]
    """Per asset: ``(asset, index below, index above)`` at which equity < MM."""


def account_greeks(priced: list[tuple[Instrument, int]], now: int) -> tuple[AccountGreeks, ...]:
    """Σ position Greeks per asset (ascending asset id)."""
    totals: dict[int, list[int]] = {}
    for instrument, size in priced:
        acc = totals.setdefault(instrument.asset, [0, 0, 0, 0, 0])
        if not instrument.kind.is_option:
            acc[0] += size
            continue
        g = greeks(
            instrument.mark_index,
            instrument.strike,
            instrument.mark_vol * VOL_TO_ONE,
            max(instrument.expiry - now, 0),
            instrument.kind is InstrumentKind.CALL,
        )
        acc[0] += size * g.delta // ONE
        acc[1] += size * g.gamma // ONE
        acc[2] += size * g.vega // (100 * SIZE_ONE)
        acc[3] += size * g.theta // (365 * SIZE_ONE)
        acc[4] += size * g.rho // (100 * SIZE_ONE)
    return tuple(AccountGreeks(a, *totals[a]) for a in sorted(totals))


def revalued(instrument: Instrument, index: int, now: int) -> Instrument:
    """The instrument as an oracle report at index ``index`` would mark it."""
    if not instrument.kind.is_option:
        mark = instrument.mark * index // instrument.mark_index if instrument.mark_index else index
        return instrument._replace(mark=mark, mark_index=index, vector=perp_vector(mark, mark))
    mark, vector = mark_and_vector(
        index,
        instrument.strike,
        instrument.mark_vol * VOL_TO_ONE,
        max(instrument.expiry - now, 0),
        instrument.kind is InstrumentKind.CALL,
    )
    return instrument._replace(mark=mark, mark_index=index, vector=vector)


def _underwater(
    balance: int,
    portfolio: bool,
    priced: list[tuple[Instrument, int]],
    asset: int,
    index: int,
    now: int,
) -> bool:
    moved = [(revalued(i, index, now) if i.asset == asset else i, size) for i, size in priced]
    value, _, maintenance = requirements(portfolio, moved)
    return balance + value < maintenance


def liquidation_prices(
    balance: int, portfolio: bool, priced: list[tuple[Instrument, int]], now: int
) -> tuple[tuple[int, int | None, int | None], ...]:
    """Per asset, the nearest index below and above the current one where equity < MM."""
    out = []
    for asset in sorted({i.asset for i, _ in priced}):
        spot = next(i.mark_index for i, _ in priced if i.asset == asset)
        found: list[int | None] = []
        for direction in (-1, 1):
            safe, hit = spot, None
            for pct in range(1, MAX_MOVE_PCT + 1):
                level = spot + direction * spot * pct // 100
                if _underwater(balance, portfolio, priced, asset, level, now):
                    hit = level
                    break
                safe = level
            if hit is not None:
                # Bisect between the last safe level and the first underwater one.
                while abs(hit - safe) > 1:
                    middle = (hit + safe) // 2
                    if _underwater(balance, portfolio, priced, asset, middle, now):
                        hit = middle
                    else:
                        safe = middle
            found.append(hit)
        out.append((asset, found[0], found[1]))
    return tuple(out)


def simulate(state: State, index: int, now: int, trades: tuple[Trade, ...] = ()) -> WhatIf:
    """Margin, Greeks and liquidation prices of ``index`` after ``trades``.

    Raises:
        ExchangeError: the account or an instrument is unknown, or a mark is stale.
    """
    scratch = state.copy()
    scratch.begin()
    before = health(scratch, index, now)
    max_positions = scratch.globals().max_positions
    for trade in trades:
        instrument = scratch.instrument(trade.instrument)
        settle_position(scratch, index, trade.instrument)
        fee = ppm_of(abs(notional(trade.price, trade.size)), instrument.taker_fee_ppm, Rounding.UP)
        cash = -notional(trade.price, trade.size) - fee
        change_position(scratch, index, instrument, trade.size, trade.price, cash, max_positions)
    # health() once more, keeping its parts: the priced positions feed the Greeks and
    # the liquidation search.
    balance, priced = settle_and_price(scratch, index, now)
    portfolio = scratch.account(index).portfolio
    value, initial, maintenance = requirements(portfolio, priced)
    after = Health(balance + value, initial, maintenance)
    result = WhatIf(
        before,
        after,
        account_greeks(priced, now),
        liquidation_prices(balance, portfolio, priced, now),
    )
    scratch.rollback()
    return result
