"""Liquidation against the book, the insurance-fund backstop, and socialised loss.

Sources: dYdX v4 liquidations (the liquidated subaccount is the taker; the fill price
is bounded around the oracle price; a liquidation fee of at most 1.5 % goes to the
insurance fund and never creates bad debt), Deribit (incremental liquidation against
the book), and docs/design/consensus.md section 7.

1. ``Liquidate``: while ``equity < MM``, the sequencer closes part of a position
   against a resting signed maker order, at a price within ``liq_band_ppm`` of mark
   and not beyond the bankruptcy price (equity may not fall below ``min(0, before)``).
   The penalty ``min(liq_fee · notional, max(0, equity after))`` goes to the fund.
2. ``Backstop``: what the book cannot absorb. While ``equity < MM · backstop_ppm`` (or
   below zero) the position moves to the insurance fund (account 0) at mark. Once the
   account holds nothing and its balance is negative, the fund covers the deficit; the
   rest is socialised on the instrument's opposite side through its loss index, paid
   lazily by each holder pro rata by size.
"""

from __future__ import annotations

from rollbook.exchange.env import TxEnv
from rollbook.exchange.errors import (
    MalformedTx,
    NotLiquidatable,
    PriceNotAllowed,
    Unauthorized,
    UnknownInstrument,
    WrongOrigin,
)
from rollbook.exchange.expiry import is_expired
from rollbook.exchange.leaves import (
    FUND_MAX_POSITIONS,
    GLOBALS_KEY,
    INSURANCE_FUND,
    ORACLE_KEY,
    Instrument,
    account_key,
    instrument_key,
    position_key,
)
from rollbook.exchange.margin import (
    Health,
    handed,
    health,
    require_fresh_mark,
    require_initial_margin,
)
from rollbook.exchange.numeric import PPM, Rounding, div, mul_div, notional, ppm_of, value_at_mark
from rollbook.exchange.positions import (
    INDEX_DENOMINATOR,
    change_position,
    long_open_interest_change,
    settle_position,
)
from rollbook.exchange.state import State
from rollbook.exchange.trading import (
    apply_side,
    consume_order,
    record_trade_totals,
)
from rollbook.exchange.txs import Backstop, ForcedClose, Liquidate, Origin
from rollbook.exchange.types import OrderFlags, Side


def liquidate(state: State, env: TxEnv, tx: Liquidate) -> None:
    """Close ``tx.size`` of a below-maintenance account's position against a maker.

    Steps (the one-step executor runs each alone): the account's health (a margin check
    in health mode) hands its equity and MM to ``liq.instrument``; the maker's order and
    both sides of the fill (a fill's steps and carry, :mod:`rollbook.exchange.trading`,
    the liquidated side's fee rate 0); ``liq.book``; the maker's margin check, which
    returns to ``liq.after``; that starts the account's health check again, handed to
    ``liq.penalty``, which re-derives the equity before the fill from the fill itself
    (the item's price and size, the position and the mark) rather than carrying it
    through the trade's steps.
    """
    maker = tx.maker.order
    if tx.account == maker.account:
        raise MalformedTx("an account cannot be liquidated against its own order")
    if tx.account == INSURANCE_FUND:
        raise NotLiquidatable("the insurance fund is not liquidated")
    before = health(state, tx.account, env.timestamp, then="liq.instrument")
    state.step(
        "liq.instrument", instrument_key(maker.instrument), GLOBALS_KEY, carry=handed(before)
    )
    if before.equity >= before.maintenance:
        raise NotLiquidatable(
            f"account {tx.account} has equity {before.equity} at or above maintenance"
            f" {before.maintenance}"
        )
    # A delisted instrument can still be liquidated: closing reduces risk. An expired
    # option cannot: its positions settle at the expiry price instead.
    instrument = state.instrument(maker.instrument)
    if is_expired(instrument, env.timestamp):
        raise UnknownInstrument(f"{instrument.symbol} has expired; it settles, not trades")
    glob = state.globals()
    price = maker.price
    side = maker.side.opposite
    if price % instrument.tick or tx.size % instrument.lot:
        raise PriceNotAllowed(f"price or size is off the {instrument.symbol} tick/lot grid")
    band = glob.liq_band_ppm
    if side is Side.SELL and price < mul_div(instrument.mark, PPM - band, PPM, Rounding.UP):
        raise PriceNotAllowed(f"liquidation sell at {price} is below mark {instrument.mark} − band")
    if side is Side.BUY and price > mul_div(instrument.mark, PPM + band, PPM, Rounding.DOWN):
        raise PriceNotAllowed(f"liquidation buy at {price} is above mark {instrument.mark} + band")
    value = notional(price, tx.size)
    maker_fee = ppm_of(value, instrument.maker_fee_ppm, Rounding.UP)
    carry = (glob.max_positions, instrument.maker_fee_ppm, 0)
    consume_order(state, env, tx.maker, tx.size, instrument.maker_fee_ppm, "maker", carry)
    m_old, m_new, m_cash = apply_side(
        state,
        maker.account,
        instrument,
        maker.side,
        tx.size,
        price,
        maker_fee,
        bool(maker.flags & OrderFlags.REDUCE_ONLY),
        glob.max_positions,
        carry,
    )
    # The liquidated side must only reduce: apply_side's reduce-only rule enforces it.
    l_old, l_new, l_cash = apply_side(
        state,
        tx.account,
        instrument,
        side,
        tx.size,
        price,
        0,
        True,
        glob.max_positions,
        (*carry, m_old, m_new, m_cash),
    )
    state.step(
        "liq.book",
        instrument_key(maker.instrument),
        GLOBALS_KEY,
        account_key(0),
        carry=(*carry, m_old, m_new, m_cash, l_old, l_new, l_cash),
    )
    record_trade_totals(
        state,
        instrument.instrument_id,
        long_open_interest_change(m_old, m_new) + long_open_interest_change(l_old, l_new),
        maker_fee,
    )
    instrument = state.instrument(instrument.instrument_id)
    require_initial_margin(
        state,
        maker.account,
        env.timestamp,
        (instrument, m_old, m_new, m_cash),
        then="liq.after",
    )
    state.step("liq.after")
    after = health(state, tx.account, env.timestamp, then="liq.penalty")
    charge_penalty(state, env, tx, after)


def charge_penalty(state: State, env: TxEnv, tx: Liquidate, after: Health) -> None:
    """``liq.penalty``: refuse a fill beyond the bankruptcy price, move the liquidation
    fee to the fund, and cover an account left flat and owing.

    The equity before the fill is the equity after it less what the fill moved: its
    cash flow (no fee on the liquidated side) and the change of the position's value
    at mark (nothing else of the account changed since its first health check: its
    positions were settled then, and the mark does not move inside a tx).
    """
    maker = tx.maker.order
    side = maker.side.opposite
    state.step(
        "liq.penalty",
        account_key(tx.account),
        account_key(INSURANCE_FUND),
        position_key(tx.account, maker.instrument),
        instrument_key(maker.instrument),
        carry=handed(after),
    )
    instrument = state.instrument(maker.instrument)
    delta = tx.size * side.sign
    new = state.position(tx.account, maker.instrument).size
    moved = (
        -notional(maker.price, delta)
        + value_at_mark(instrument.mark, new)
        - value_at_mark(instrument.mark, new - delta)
    )
    before_equity = after.equity - moved
    if after.equity < min(0, before_equity):
        # Beyond the bankruptcy price (dYdX v4 bounds the fillable price by it): the
        # fill would create or deepen bad debt that the maker pockets. Backstop instead.
        raise PriceNotAllowed(
            f"liquidation at {maker.price} is beyond account {tx.account}'s bankruptcy price"
            f" (equity {before_equity} would become {after.equity})"
        )
    value = notional(maker.price, tx.size)
    penalty = min(ppm_of(value, instrument.liq_fee_ppm, Rounding.UP), max(0, after.equity))
    if penalty:
        account = state.account(tx.account)
        state.put(account_key(tx.account), account._replace(balance=account.balance - penalty))
        fund = state.account(INSURANCE_FUND)
        state.put(account_key(INSURANCE_FUND), fund._replace(balance=fund.balance + penalty))
    account = state.account(tx.account)
    if not account.instruments and account.balance < 0:
        # Already bankrupt before the fill (equity < 0, closed no worse than that): the
        # remaining debt is covered at once like a backstop's, so no flat account owes.
        cover_bad_debt(state, env, tx.account, maker.instrument, maker.side)


def backstop(state: State, env: TxEnv, tx: Backstop) -> None:
    """Move a deeply underwater position to the insurance fund at mark; cover the deficit."""
    if tx.account == INSURANCE_FUND:
        raise NotLiquidatable("the insurance fund cannot backstop itself")
    before = health(state, tx.account, env.timestamp, then="backstop.check")
    state.step("backstop.check", GLOBALS_KEY, carry=handed(before))
    glob = state.globals()
    threshold = ppm_of(before.maintenance, glob.backstop_ppm, Rounding.DOWN)
    if before.equity >= threshold and before.equity >= 0:
        raise NotLiquidatable(
            f"account {tx.account} equity {before.equity} is not below the backstop"
            f" threshold {threshold}"
        )
    close_to_fund(state, env, tx.account, tx.instrument, False, glob.max_positions, "backstop")


def close_to_fund(
    state: State,
    env: TxEnv,
    index: int,
    instrument_id: int,
    penalised: bool,
    max_positions: int,
    step: str,
) -> None:
    """Move the account's position in ``instrument_id`` to the insurance fund at mark
    (less the liquidation fee if ``penalised``); cover the account if it is left flat
    and negative. Refuses a missing position, an expired option or a stale mark.

    Carried: ``max_positions`` (read by the step before) into ``.mark`` and ``.move``;
    the moved size (its sign is the bankrupt side) from ``.move`` to ``.flat``.
    """
    state.step(
        f"{step}.mark",
        position_key(index, instrument_id),
        instrument_key(instrument_id),
        ORACLE_KEY,
        carry=(max_positions,),
    )
    if state.position(index, instrument_id).size == 0:
        raise MalformedTx(f"account {index} holds no position in instrument {instrument_id}")
    instrument = state.instrument(instrument_id)
    if is_expired(instrument, env.timestamp):
        raise UnknownInstrument(f"instrument {instrument_id} has expired; it settles instead")
    require_fresh_mark(instrument, env.timestamp, state.oracle().staleness)
    penalty = instrument.liq_fee_ppm if penalised else 0
    size = position_to_fund(state, index, instrument_id, penalty, max_positions, step)
    state.step(f"{step}.flat", account_key(index), carry=(size,))
    if not state.account(index).instruments and state.account(index).balance < 0:
        cover_bad_debt(state, env, index, instrument_id, Side.BUY if size > 0 else Side.SELL)


def position_to_fund(
    state: State,
    index: int,
    instrument_id: int,
    penalty_ppm: int,
    max_positions: int,
    step: str,
) -> int:
    """Move the account's whole position in ``instrument_id`` to the insurance fund at
    mark, the account paying ``penalty_ppm`` of its value to the fund; returns the size.

    The caller has checked the position exists, is not expired and has a fresh mark.
    Carried: ``max_positions`` into ``.move``; the open-interest change and the size
    from ``.move`` to ``.book``.
    """
    state.step(
        f"{step}.move",
        account_key(index),
        position_key(index, instrument_id),
        account_key(INSURANCE_FUND),
        position_key(INSURANCE_FUND, instrument_id),
        instrument_key(instrument_id),
        carry=(max_positions,),
    )
    size = state.position(index, instrument_id).size
    settle_position(state, INSURANCE_FUND, instrument_id)
    instrument = state.instrument(instrument_id)
    # One number for both sides, so the transfer conserves value exactly: the account
    # receives the position's value at mark less the penalty, the fund pays it.
    value = value_at_mark(instrument.mark, size)
    value -= ppm_of(abs(value), penalty_ppm, Rounding.UP)
    a_old, a_new = change_position(
        state, index, instrument, -size, instrument.mark, value, max_positions
    )
    f_old, f_new = change_position(
        state, INSURANCE_FUND, instrument, size, instrument.mark, -value, FUND_MAX_POSITIONS
    )
    oi_change = long_open_interest_change(a_old, a_new) + long_open_interest_change(f_old, f_new)
    state.step(
        f"{step}.book",
        instrument_key(instrument_id),
        GLOBALS_KEY,
        account_key(0),
        carry=(oi_change, size),
    )
    record_trade_totals(state, instrument_id, oi_change, 0)
    return size


def forced_close(state: State, env: TxEnv, tx: ForcedClose) -> None:
    """The owner, from L1, closes a position against the insurance fund at mark ∓ the
    liquidation fee. Like a forced withdrawal it needs no sequencer and a fresh mark;
    the account's margin is not checked (closing reduces its risk), and an account left
    flat and negative is covered like a backstop's."""
    if env.origin is not Origin.L1:
        raise WrongOrigin("a forced close comes from L1 only")
    if tx.account == INSURANCE_FUND:
        raise NotLiquidatable("the insurance fund cannot close against itself")
    state.step("forced_close.auth", account_key(tx.account), GLOBALS_KEY)
    if env.l1_sender != state.account(tx.account).owner:
        raise Unauthorized(f"L1 sender is not the owner of account {tx.account}")
    glob = state.globals()
    close_to_fund(state, env, tx.account, tx.instrument, True, glob.max_positions, "forced_close")


def cover_bad_debt(
    state: State, env: TxEnv, index: int, instrument_id: int, bankrupt_side: Side
) -> int:
    """The account holds nothing and owes: the fund pays up to its equity; the rest is
    socialised.

    The fund's health is a margin check that hands its equity to ``backstop.debt``,
    which keeps the bankrupt side (a word the check keeps for it).
    Returns the uncovered amount socialised on ``instrument_id`` (0 if none).
    """
    kept = int(bankrupt_side)
    fund_health = health(state, INSURANCE_FUND, env.timestamp, then="backstop.debt", kept=kept)
    state.step(
        "backstop.debt",
        account_key(index),
        account_key(INSURANCE_FUND),
        instrument_key(instrument_id),
        carry=handed(fund_health, kept),
    )
    fund_equity = fund_health.equity
    account = state.account(index)
    if account.instruments or account.balance >= 0:
        return 0
    deficit = -account.balance
    fund = state.account(INSURANCE_FUND)
    covered = min(deficit, max(0, fund_equity))
    uncovered = deficit - covered
    instrument = state.instrument(instrument_id)
    if uncovered and instrument.open_interest == 0:
        # Nobody holds the other side: the fund absorbs it (its balance goes negative).
        covered, uncovered = deficit, 0
    state.put(account_key(INSURANCE_FUND), fund._replace(balance=fund.balance - covered))
    state.put(account_key(index), account._replace(balance=0))
    if uncovered:
        state.put(instrument_key(instrument_id), socialise(instrument, uncovered, bankrupt_side))
    return uncovered


def socialise(instrument: Instrument, amount: int, bankrupt_side: Side) -> Instrument:
    """Charge ``amount`` to the side opposite the bankrupt position, via its loss index.

    The pool pays ``amount`` now (to zero the bankrupt balance); holders refill it as
    they settle, each paying ``ceil(|size| · ΔL / (SIZE_ONE · INDEX_SCALE))``. ``ΔL``
    rounds up, so together they pay at least ``amount``.
    """
    delta = div(amount * INDEX_DENOMINATOR, instrument.open_interest, Rounding.UP)
    if bankrupt_side is Side.BUY:
        instrument = instrument._replace(loss_index_short=instrument.loss_index_short + delta)
    else:
        instrument = instrument._replace(loss_index_long=instrument.loss_index_long + delta)
    return instrument._replace(pool=instrument.pool - amount)
