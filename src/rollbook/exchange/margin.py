"""Cross margin for perpetuals: equity, initial and maintenance requirements.

Sources: dYdX v4 margin docs (per-market initial and maintenance margin fractions;
"net collateral" = USDC balance + Σ position value at the oracle price) and its rule
for undercollateralised subaccounts (a change is allowed only if it does not worsen
the ratio of collateral to maintenance requirement); Derive's perp margin (IM/MM as
fractions of notional at mark). See docs/design/consensus.md section 6.

    equity = balance + Σ value_at_mark(mark_i, size_i)
    IM     = Σ ceil(|value_i| · im_ppm_i / 1e6)
    MM     = Σ ceil(|value_i| · mm_ppm_i / 1e6)

Valuing rounds toward -inf and requirements round up: both err on the safe side.
Computing health settles each position's lazy funding and loss first, one step per
position (the "settle-and-accumulate" step of the step model).
"""

from __future__ import annotations

from dataclasses import dataclass

from rollbook.exchange.errors import NotEnoughFunds, OracleError
from rollbook.exchange.leaves import (
    ORACLE_KEY,
    Instrument,
    account_key,
    instrument_key,
    position_key,
)
from rollbook.exchange.numeric import Rounding, ppm_of, value_at_mark
from rollbook.exchange.positions import settle_position
from rollbook.exchange.state import State

INSURANCE_FUND = 0


@dataclass(frozen=True, slots=True)
class Health:
    """An account's margin picture at mark, after lazy settlement."""

    equity: int
    initial: int
    maintenance: int


def contribution(instrument: Instrument, size: int) -> tuple[int, int, int]:
    """``(value, IM, MM)`` of one position at its instrument's mark."""
    value = value_at_mark(instrument.mark, size)
    gross = abs(value)
    return (
        value,
        ppm_of(gross, instrument.im_ppm, Rounding.UP),
        ppm_of(gross, instrument.mm_ppm, Rounding.UP),
    )


def require_fresh_mark(instrument: Instrument, now: int, staleness: int) -> None:
    """Raise :class:`OracleError` when the instrument's mark is missing or stale."""
    if instrument.mark <= 0:
        raise OracleError(f"{instrument.symbol} has no mark price yet")
    if now - instrument.mark_time > staleness:
        raise OracleError(
            f"{instrument.symbol} mark is stale ({now - instrument.mark_time} s old,"
            f" limit {staleness} s)"
        )


def health(state: State, index: int, now: int) -> Health:
    """Settle the account's positions and value them at mark.

    Raises:
        OracleError: a position's instrument has no fresh mark.
    """
    state.step("margin.begin", account_key(index))
    account = state.account(index)
    equity_positions = 0
    initial = 0
    maintenance = 0
    for instrument_id in account.instruments:
        state.step(
            "margin.settle_accumulate",
            account_key(index),
            position_key(index, instrument_id),
            instrument_key(instrument_id),
            ORACLE_KEY,
        )
        settle_position(state, index, instrument_id)
        instrument = state.instrument(instrument_id)
        require_fresh_mark(instrument, now, state.oracle().staleness)
        value, im, mm = contribution(instrument, state.position(index, instrument_id).size)
        equity_positions += value
        initial += im
        maintenance += mm
    state.step("margin.compare", account_key(index))
    balance = state.account(index).balance
    return Health(balance + equity_positions, initial, maintenance)


def require_initial_margin(
    state: State,
    index: int,
    now: int,
    reduced: tuple[Instrument, int, int, int] | None = None,
) -> Health:
    """Check the account after a change: IM holds, or the change only reduced risk.

    ``reduced`` describes a risk-reducing trade just applied, as
    ``(instrument, old_size, new_size, balance_delta)`` (the trade's cash flow
    including fees); from it the pre-trade equity and MM
    are derived exactly (per-position contributions are additive), and the dYdX v4
    rule is applied: MM must not rise and ``equity/MM`` must not fall.

    Raises:
        NotEnoughFunds: neither holds.
    """
    post = health(state, index, now)
    if post.equity >= post.initial or index == INSURANCE_FUND:
        # The insurance fund is exempt: it must be able to unwind what it took over.
        return post
    if reduced is not None:
        instrument, old, new, balance_delta = reduced
        if old != 0 and abs(new) < abs(old) and (new == 0 or (new > 0) == (old > 0)):
            value_old, _, mm_old = contribution(instrument, old)
            value_new, _, mm_new = contribution(instrument, new)
            pre_equity = post.equity - balance_delta - value_new + value_old
            pre_mm = post.maintenance - mm_new + mm_old
            if post.maintenance <= pre_mm and post.equity * pre_mm >= pre_equity * post.maintenance:
                return post
    raise NotEnoughFunds(
        f"account {index} would have equity {post.equity} below its initial margin {post.initial}",
        account=index,
    )
