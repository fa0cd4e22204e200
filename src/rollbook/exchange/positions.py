"""Positions: lazy settlement of funding and socialised loss, and applying a trade.

Quote-balance accounting (docs/design/consensus.md section 4): a trade of ``q`` base
units at ``price`` moves ``notional(price, q)`` between the two balances; the position
keeps its size, an entry cost (display only: it never moves money) and the index
snapshots of section 5. Funding and socialised loss are *lazy*: a position pays what
its instrument's indices accrued since its snapshots when its account is touched,
into the instrument's pool, rounding toward the pool.
"""

from __future__ import annotations

from rollbook.exchange.errors import PositionLimit
from rollbook.exchange.leaves import (
    Instrument,
    Position,
    account_key,
    instrument_key,
    position_key,
)
from rollbook.exchange.numeric import INDEX_SCALE, SIZE_ONE, Rounding, div, value_at_mark
from rollbook.exchange.state import State

INDEX_DENOMINATOR = SIZE_ONE * INDEX_SCALE


def loss_index(instrument: Instrument, size: int) -> int:
    """The socialised-loss index of the side a position of ``size`` is on."""
    return instrument.loss_index_long if size > 0 else instrument.loss_index_short


def pending_payment(position: Position, instrument: Instrument) -> int:
    """What the position owes its instrument's pool now (negative: it is owed).

    Funding: ``size · ΔF`` (longs pay when the index rose); loss: ``|size| · ΔL`` of
    its own side. Each rounds up, i.e. toward the pool.
    """
    if position.size == 0:
        return 0
    funding = div(
        position.size * (instrument.funding_index - position.funding_snap),
        INDEX_DENOMINATOR,
        Rounding.UP,
    )
    loss = div(
        abs(position.size) * (loss_index(instrument, position.size) - position.loss_snap),
        INDEX_DENOMINATOR,
        Rounding.UP,
    )
    return funding + loss


def settle_position(state: State, index: int, instrument_id: int) -> int:
    """Apply the position's pending funding and loss; return what it paid.

    Reads and writes: the account, the position and the instrument leaf.
    """
    position = state.position(index, instrument_id)
    if position.size == 0:
        return 0
    return settle_loaded(state, index, position, state.instrument(instrument_id))


def settle_loaded(state: State, index: int, position: Position, instrument: Instrument) -> int:
    """:func:`settle_position` for leaves the caller has just read (``size ≠ 0``).

    Settlement changes only the snapshots, the balance and the pool: the caller's
    ``position.size`` and the instrument's mark and vector stay valid.
    """
    instrument_id = instrument.instrument_id
    side_index = loss_index(instrument, position.size)
    if position.funding_snap == instrument.funding_index and position.loss_snap == side_index:
        return 0
    payment = pending_payment(position, instrument)
    state.put(
        position_key(index, instrument_id),
        position._replace(funding_snap=instrument.funding_index, loss_snap=side_index),
    )
    if payment:
        account = state.account(index)
        state.put(account_key(index), account._replace(balance=account.balance - payment))
        state.put(
            instrument_key(instrument_id), instrument._replace(pool=instrument.pool + payment)
        )
    return payment


def change_position(
    state: State,
    index: int,
    instrument: Instrument,
    delta: int,
    price: int,
    cash: int,
    max_positions: int,
) -> tuple[int, int]:
    """Add ``delta`` base units to the account's position; credit ``cash`` to its balance.

    The position must already be settled (:func:`settle_position`). ``cash`` is the
    signed quote flow of the trade, fees included (a buy of notional ``n`` passes
    ``-n - fee``); ``price`` only sets the entry cost, which is display, not money.
    Keeps the account's list of open instruments; returns ``(old, new)``
    sizes. Raises :class:`PositionLimit` when a new position would exceed the bound.
    """
    key = position_key(index, instrument.instrument_id)
    position = state.position(index, instrument.instrument_id)
    old = position.size
    new = old + delta
    account = state.account(index)
    instruments = account.instruments
    if old == 0 and new != 0:
        if len(instruments) >= max_positions:
            raise PositionLimit(
                f"account {index} already holds {len(instruments)} positions, the maximum",
                account=index,
            )
        instruments = (*instruments, instrument.instrument_id)
    elif old != 0 and new == 0:
        instruments = tuple(i for i in instruments if i != instrument.instrument_id)
    state.put(
        account_key(index),
        account._replace(balance=account.balance + cash, instruments=instruments),
    )
    if new == 0:
        state.delete(key)
        return old, new
    if old == 0 or (old > 0) != (new > 0):
        # Opening or flipping: the cost restarts at this trade's price on the new size,
        # and the loss snapshot moves to the new side's index.
        cost = value_at_mark(price, new)
        state.put(
            key,
            Position(new, cost, instrument.funding_index, loss_index(instrument, new)),
        )
    elif abs(new) > abs(old):
        state.put(
            key, position._replace(size=new, cost=position.cost + value_at_mark(price, delta))
        )
    else:
        # Reducing: the entry cost shrinks pro rata (display only, no money moves).
        state.put(
            key,
            position._replace(
                size=new, cost=div(position.cost * abs(new), abs(old), Rounding.DOWN)
            ),
        )
    return old, new


def long_open_interest_change(old: int, new: int) -> int:
    """How a position change from ``old`` to ``new`` changes the long open interest."""
    return max(new, 0) - max(old, 0)
