# pragma version 0.4.3
"""
@title positions
@notice What changes a position, shared by the step families that trade (the fill's
        `TradingSteps.vy`; liquidation, backstop and forced close later): lazy
        settlement of funding and socialised loss, a position change with the
        account's list of open instruments, the long open-interest change, and a
        trade's book-keeping (open interest, the pool's sweep to the insurance fund,
        fees). The Vyper twin of `rollbook.exchange.positions` (`settle_loaded`,
        `change_position`, `long_open_interest_change`) and
        `rollbook.exchange.trading.record_trade_totals`.
@dev    The leaf functions take leaves as read (encoded bytes) and return them as
        changed, so a step that changes a leaf twice (settle, then trade) still
        writes it once: the caller turns (read, final) pairs into `steps.Change`s.
        An empty position leaf is the empty position (size 0); an empty result
        deletes it. A refusal is returned as `ok == False` (the caller fails the
        step with `CODE_POSITION_LIMIT` / `E_POSITION_LIMIT`), never a revert.
"""

import steps

SIZE_ONE: constant(int256) = 10**8
PPM: constant(int256) = 10**6
INDEX_DENOMINATOR: constant(int256) = 10**20  # SIZE_ONE * INDEX_SCALE
INSURANCE_FUND: constant(uint256) = 0

# Account leaf (rollbook.exchange.leaves.Account): the instruments' u32 count, then
# 33 bytes per instrument (0x02 + the id); the portfolio flag (0x01 + a byte) ends it.
INSTRUMENTS_AT: constant(uint256) = 231
ITEMS_AT: constant(uint256) = 235
# Position leaf: size, cost, funding snapshot, loss snapshot (ints).
SIZE_AT: constant(uint256) = 2
COST_AT: constant(uint256) = 35
FUNDING_SNAP_AT: constant(uint256) = 68
LOSS_SNAP_AT: constant(uint256) = 101

CODE_POSITION_LIMIT: constant(uint256) = 10040
E_POSITION_LIMIT: constant(bytes32) = 0x506f736974696f6e4c696d697400000000000000000000000000000000000000  # "PositionLimit"


@pure
@internal
def position_path(index: uint256, instrument_id: uint256) -> bytes32:
    """The path of the leaf ("pos", account, instrument)."""
    return keccak256(concat(
        b"\x05\x00\x00\x00\x03\x04\x00\x00\x00\x03pos\x02", convert(index, bytes32), b"\x02", convert(instrument_id, bytes32)
    ))


@pure
@internal
def size_of(position: Bytes[steps.MAX_LEAF]) -> int256:
    """A position's size (0 for no leaf)."""
    if len(position) == 0:
        return 0
    return steps.int_at(position, SIZE_AT)


@pure
@internal
def notional(price: int256, size: int256) -> int256:
    """numeric.notional: price · size / SIZE_ONE, toward −∞ (exact on the grid)."""
    return steps.floor_div(price * size, SIZE_ONE)


@pure
@internal
def fee(price: int256, size: int256, rate_ppm: int256) -> int256:
    """A fill's fee: ppm_of(notional(price, size), rate, UP)."""
    return steps.ceil_div(self.notional(price, size) * rate_ppm, PPM)


@pure
@internal
def long_open_interest_change(old: int256, new: int256) -> int256:
    """How a position change from `old` to `new` changes the long open interest."""
    return max(new, 0) - max(old, 0)


@pure
@internal
def _loss_index(inst: Bytes[steps.MAX_LEAF], at: steps.InstrumentAt, size: int256) -> int256:
    if size > 0:
        return steps.int_at(inst, at.loss_long)
    return steps.int_at(inst, at.loss_short)


@pure
@internal
def settle_loaded(
    account: Bytes[steps.MAX_LEAF],
    position: Bytes[steps.MAX_LEAF],
    inst: Bytes[steps.MAX_LEAF],
    at: steps.InstrumentAt,
) -> (Bytes[steps.MAX_LEAF], Bytes[steps.MAX_LEAF], Bytes[steps.MAX_LEAF]):
    """positions.settle_position: the position (size ≠ 0, else nothing changes) pays
    what its instrument's funding and loss indices accrued since its snapshots into
    the pool, each part rounded up (toward the pool); the snapshots move to the
    indices. Returns (account, position, instrument)."""
    size: int256 = self.size_of(position)
    if size == 0:
        return account, position, inst
    funding: int256 = steps.int_at(inst, at.funding_index)
    side: int256 = self._loss_index(inst, at, size)
    funding_snap: int256 = steps.int_at(position, FUNDING_SNAP_AT)
    loss_snap: int256 = steps.int_at(position, LOSS_SNAP_AT)
    if funding_snap == funding and loss_snap == side:
        return account, position, inst
    payment: int256 = steps.ceil_div(size * (funding - funding_snap), INDEX_DENOMINATOR)
    payment += steps.ceil_div(abs(size) * (side - loss_snap), INDEX_DENOMINATOR)
    settled: Bytes[steps.MAX_LEAF] = steps.with_int(position, FUNDING_SNAP_AT, funding)
    settled = steps.with_int(settled, LOSS_SNAP_AT, side)
    if payment == 0:
        return account, settled, inst
    balance: int256 = steps.int_at(account, steps.ACCOUNT_BALANCE_AT)
    pool: int256 = steps.int_at(inst, at.pool)
    return (
        steps.with_int(account, steps.ACCOUNT_BALANCE_AT, balance - payment),
        settled,
        steps.with_int(inst, at.pool, pool + payment),
    )


@pure
@internal
def _position(size: int256, cost: int256, funding_snap: int256, loss_snap: int256) -> Bytes[steps.MAX_LEAF]:
    return concat(
        b"\x02",
        b"\x02", convert(size, bytes32),
        b"\x02", convert(cost, bytes32),
        b"\x02", convert(funding_snap, bytes32),
        b"\x02", convert(loss_snap, bytes32),
    )


@pure
@internal
def count_of(account: Bytes[steps.MAX_LEAF]) -> uint256:
    """How many instruments the account holds a position in."""
    return steps.u32(account, INSTRUMENTS_AT)


@pure
@internal
def _with_instrument(account: Bytes[steps.MAX_LEAF], instrument_id: uint256) -> Bytes[steps.MAX_LEAF]:
    """The account with `instrument_id` appended to its list."""
    count: uint256 = self.count_of(account)
    end: uint256 = ITEMS_AT + 33 * count
    return steps.fit(concat(
        slice(account, 0, INSTRUMENTS_AT),
        convert(convert(count + 1, uint32), bytes4),
        slice(account, ITEMS_AT, end - ITEMS_AT),
        b"\x02",
        convert(instrument_id, bytes32),
        slice(account, end, 2),  # the portfolio flag
    ))


@pure
@internal
def _without_instrument(account: Bytes[steps.MAX_LEAF], instrument_id: uint256) -> Bytes[steps.MAX_LEAF]:
    """The account with `instrument_id` removed from its list (it is there once)."""
    count: uint256 = self.count_of(account)
    found: uint256 = count
    for i: uint256 in range(64):
        if i >= count:
            break
        if convert(steps.int_at(account, ITEMS_AT + 33 * i + 1), uint256) == instrument_id:
            found = i
            break
    assert found < count, "positions: the account's list lacks the instrument"
    cut: uint256 = ITEMS_AT + 33 * found
    head: Bytes[steps.MAX_LEAF] = steps.fit(concat(
        slice(account, 0, INSTRUMENTS_AT),
        convert(convert(count - 1, uint32), bytes4),
        slice(account, ITEMS_AT, cut - ITEMS_AT),
    ))
    return steps.fit(concat(head, slice(account, cut + 33, len(account) - cut - 33)))


@pure
@internal
def change_position(
    account: Bytes[steps.MAX_LEAF],
    position: Bytes[steps.MAX_LEAF],
    inst: Bytes[steps.MAX_LEAF],
    at: steps.InstrumentAt,
    instrument_id: uint256,
    delta: int256,
    price: int256,
    cash: int256,
    max_positions: uint256,
) -> (bool, Bytes[steps.MAX_LEAF], Bytes[steps.MAX_LEAF], int256, int256):
    """positions.change_position on a settled position: add `delta` base units,
    credit `cash` (the trade's signed quote flow, fees included) to the balance, keep
    the account's list of open instruments (at most `max_positions`). Returns (ok,
    account, position — empty when closed, old size, new size); not ok: a new
    position beyond `max_positions` (PositionLimit)."""
    old: int256 = self.size_of(position)
    new: int256 = old + delta
    changed: Bytes[steps.MAX_LEAF] = account
    if old == 0 and new != 0:
        if self.count_of(account) >= max_positions:
            return False, account, position, old, new
        changed = self._with_instrument(account, instrument_id)
    elif old != 0 and new == 0:
        changed = self._without_instrument(account, instrument_id)
    balance: int256 = steps.int_at(changed, steps.ACCOUNT_BALANCE_AT)
    changed = steps.with_int(changed, steps.ACCOUNT_BALANCE_AT, balance + cash)
    if new == 0:
        return True, changed, b"", old, new
    if old == 0 or (old > 0) != (new > 0):
        # Opening or flipping: the cost restarts at this trade's price on the new
        # size, and the loss snapshot moves to the new side's index.
        moved: Bytes[steps.MAX_LEAF] = self._position(
            new, self.notional(price, new), steps.int_at(inst, at.funding_index), self._loss_index(inst, at, new)
        )
        return True, changed, moved, old, new
    cost: int256 = steps.int_at(position, COST_AT)
    if abs(new) > abs(old):
        cost += self.notional(price, delta)
    else:
        # Reducing: the entry cost shrinks pro rata (display only, no money moves).
        cost = steps.floor_div(cost * abs(new), abs(old))
    grown: Bytes[steps.MAX_LEAF] = steps.with_int(position, SIZE_AT, new)
    return True, changed, steps.with_int(grown, COST_AT, cost), old, new


@pure
@internal
def record_trade_totals(
    leaves: DynArray[steps.Leaf, steps.MAX_READS], instrument_id: uint256, oi_change: int256, fees: int256
) -> (bool, DynArray[steps.Change, steps.MAX_WRITES]):
    """trading.record_trade_totals: the instrument's open interest (refused above its
    maximum when it grows: PositionLimit), the pool swept to the insurance fund when
    no position is left (it holds only rounding dust), the fees to the globals.
    Reads the instrument, then the globals, then the fund only when it sweeps."""
    changes: DynArray[steps.Change, steps.MAX_WRITES] = []
    ipath: bytes32 = steps.int_key(b"inst", instrument_id)
    inst: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, ipath)
    assert len(inst) > 0, "positions: the instrument is missing"
    at: steps.InstrumentAt = steps.instrument_at(inst)
    open_interest: int256 = steps.int_at(inst, at.open_interest) + oi_change
    if oi_change > 0 and open_interest > steps.int_at(inst, at.max_open_interest):
        return False, changes
    gpath: bytes32 = steps.globals_path()
    glob: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, gpath)
    assert len(glob) > 0, "positions: the globals are missing"
    pool: int256 = steps.int_at(inst, at.pool)
    if open_interest == 0 and pool != 0:
        fpath: bytes32 = steps.int_key(b"acct", INSURANCE_FUND)
        fund: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, fpath)
        assert len(fund) > 0, "positions: the insurance fund is missing"
        balance: int256 = steps.int_at(fund, steps.ACCOUNT_BALANCE_AT)
        changes.append(steps.change(fpath, fund, steps.with_int(fund, steps.ACCOUNT_BALANCE_AT, balance + pool)))
        pool = 0
    booked: Bytes[steps.MAX_LEAF] = steps.with_int(inst, at.open_interest, open_interest)
    changes.append(steps.change(ipath, inst, steps.with_int(booked, at.pool, pool)))
    if fees != 0:
        at_fees: uint256 = steps.field_at(steps.G_FEES)
        changes.append(steps.change(gpath, glob, steps.with_int(glob, at_fees, steps.int_at(glob, at_fees) + fees)))
    return True, changes
