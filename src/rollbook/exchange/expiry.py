"""Option expiry: the settlement TWAP in oracle steps, and lazy settlement of positions.

Sources: Deribit's expiry rules (European, cash-settled at 08:00 UTC against a
30-minute average of the index) and ARCHITECTURE section 4 (expiry settlement is a
price stored in state, applied to an account when it is next touched — never by
iterating holders). See docs/design/consensus.md section 13.

1. Samples. Each oracle report's index of an asset is offered to the asset's
   :class:`ExpiryQueue`: a report on the minute inside the nearest pending expiry's
   last 30 minutes adds its index to the running sum (:func:`options.is_settlement_sample`).
2. Settlement. The first report at or after an expiry fixes its price — the average
   of the samples, or that report's index if none — in a :class:`Settlement` leaf,
   and the queue moves on to the next expiry.
3. Positions. When an account with a position in an expired, settled option is
   touched, the position pays out ``size · payoff / SIZE_ONE`` rounded toward −∞
   (a long receives the floor, a short pays the ceiling) through the instrument's
   pool and disappears; open interest shrinks by the long size. Long and short open
   interest are equal, so the payoffs sum to zero up to rounding, which stays in the
   pool and is swept to the insurance fund when the last position settles.
4. Holders settle in any order, so the pool may be negative while longs have been
   paid and shorts have not: it is swept only when no long remains *and* it is
   positive (shorts still to pay then refill it, and each refill is swept).
5. A short whose payout leaves its account flat with a negative balance is bankrupt
   at expiry. Any tx that touches it then fails its margin check (equity < 0), so no
   withdrawal, transfer or trade can lean on the deficit; ``SettleAccount`` — which
   moves no other money — hands the deficit to the insurance fund
   (:func:`cover_flat_deficit`; its balance may go below zero, governance
   recapitalises it). It cannot be socialised on the expired option: its longs may
   already have been paid.
"""

from __future__ import annotations

from typing import cast

from rollbook.exchange.leaves import (
    INSURANCE_FUND,
    ExpiryQueue,
    Instrument,
    InstrumentKind,
    Settlement,
    account_key,
    expiries_key,
    instrument_key,
    position_key,
    settlement_key,
)
from rollbook.exchange.numeric import SIZE_ONE
from rollbook.exchange.options import average, is_settlement_sample
from rollbook.exchange.positions import long_open_interest_change
from rollbook.exchange.state import State


def payoff(kind: InstrumentKind, strike: int, settlement: int) -> int:
    """Cash value of one whole option at expiry, in quote units."""
    if kind is InstrumentKind.CALL:
        return max(settlement - strike, 0)
    return max(strike - settlement, 0)


def is_expired(instrument: Instrument, now: int) -> bool:
    """Whether ``instrument`` is an option at or past its expiry."""
    return instrument.kind is not InstrumentKind.PERPETUAL and now >= instrument.expiry


def record_index(state: State, asset: int, timestamp: int, price: int, cursor: int = 0) -> None:
    """Offer an oracle report's index to the asset's expiry queue (docstring, 1–2).

    Steps, each carrying ``cursor`` (the oracle step's place in its report, so that
    the step after the queue's is known) and a phase: ``expiry.queue`` (phase 0)
    reads the queue; one ``expiry.fix`` per pending expiry at or before ``timestamp``
    fixes its price and writes the queue without it; ``expiry.queue`` (phase 1)
    counts the report as a sample of the next expiry if it is one. Every step
    re-reads the queue, so that the one-step executor can run it alone.
    """
    key = expiries_key(asset)
    state.step("expiry.queue", key, carry=(cursor, 0))
    queue = cast(ExpiryQueue | None, state.get(key))
    if queue is None:
        return
    while queue.pending and queue.pending[0] <= timestamp:
        expiry = queue.pending[0]
        state.step("expiry.fix", key, settlement_key(asset, expiry), carry=(cursor,))
        queue = cast(ExpiryQueue, state.get(key))
        if queue.sample_count:
            fixed = Settlement(average(queue.sample_sum, queue.sample_count), queue.sample_count)
        else:
            fixed = Settlement(price, 0)
        state.put(settlement_key(asset, expiry), fixed)
        queue = ExpiryQueue(queue.pending[1:])
        state.put(key, queue)
    state.step("expiry.queue", key, carry=(cursor, 1))
    queue = cast(ExpiryQueue, state.get(key))
    if queue.pending and is_settlement_sample(timestamp, queue.pending[0]):
        queue = queue._replace(
            sample_sum=queue.sample_sum + price, sample_count=queue.sample_count + 1
        )
        state.put(key, queue)


def settlement(state: State, instrument: Instrument) -> Settlement | None:
    """The settlement of an option's expiry, if it is fixed yet."""
    return cast(Settlement | None, state.get(settlement_key(instrument.asset, instrument.expiry)))


def settle_expired(
    state: State, index: int, instrument_id: int, carry: tuple[int, ...] = ()
) -> bool:
    """Pay out the account's position in an expired option once its price is fixed.

    The caller has settled the position's lazy funding and loss. Returns whether the
    position is gone (``False``: the expiry's price is not fixed yet).
    One step, ``expiry.settle``, carrying ``carry`` (the caller's: the margin check's
    sums and cursor, or the account settlement's cursor, so that the step after it is
    known). It reads the account, the position, the instrument and the settlement,
    and writes them and the insurance fund (for the pool's dust when the last
    position settles).
    """
    instrument = state.instrument(instrument_id)
    state.step(
        "expiry.settle",
        account_key(index),
        position_key(index, instrument_id),
        instrument_key(instrument_id),
        settlement_key(instrument.asset, instrument.expiry),
        account_key(INSURANCE_FUND),
        carry=carry,
    )
    # Re-read in this step: the one-step executor runs it alone from its leaves.
    account = state.account(index)
    instrument = state.instrument(instrument_id)
    position = state.position(index, instrument_id)
    fixed = settlement(state, instrument)
    if fixed is None:
        return False
    size = position.size
    if size == 0:
        return True
    # Rounds toward −∞: a long's credit down, a short's debit up; the pool keeps the rest.
    credit = size * payoff(instrument.kind, instrument.strike, fixed.price) // SIZE_ONE
    state.put(
        account_key(index),
        account._replace(
            balance=account.balance + credit,
            instruments=tuple(i for i in account.instruments if i != instrument_id),
        ),
    )
    state.delete(position_key(index, instrument_id))
    open_interest = instrument.open_interest + long_open_interest_change(size, 0)
    pool = instrument.pool - credit
    if open_interest == 0 and pool > 0:
        # No long left to pay: what the pool holds is the fund's (docstring, 4).
        fund = state.account(INSURANCE_FUND)
        state.put(account_key(INSURANCE_FUND), fund._replace(balance=fund.balance + pool))
        pool = 0
    state.put(
        instrument_key(instrument_id),
        instrument._replace(open_interest=open_interest, pool=pool),
    )
    return True


def cover_flat_deficit(state: State, index: int) -> int:
    """A flat account that owes (bankrupt at expiry) is set to zero by the fund.

    Returns the amount the fund paid. Only ``SettleAccount`` calls it (docstring, 5).
    """
    state.step("expiry.cover", account_key(index), account_key(INSURANCE_FUND))
    account = state.account(index)
    if index == INSURANCE_FUND or account.instruments or account.balance >= 0:
        return 0
    deficit = -account.balance
    state.put(account_key(index), account._replace(balance=0))
    fund = state.account(INSURANCE_FUND)
    state.put(account_key(INSURANCE_FUND), fund._replace(balance=fund.balance - deficit))
    return deficit
