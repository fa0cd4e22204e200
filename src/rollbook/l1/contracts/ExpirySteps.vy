# pragma version 0.4.3
# pragma evm-version prague
"""
@title ExpirySteps
@notice The expiry family of the one-step executor (`rollbook.exchange.expiry`;
        Deribit's expiry: European, cash-settled against a 30-minute TWAP of the
        index; docs/design/consensus.md section 13).
        In an oracle report, after each `oracle.index` (`record_index`), carrying the
        report's cursor and a phase: `expiry.queue` phase 0 reads the asset's queue of
        pending expiries (none: the report's next entry); one `expiry.fix` per pending
        expiry at or before the report's time writes its `Settlement` (the average of
        the samples, rounded half up, or this index if none) and the queue without it;
        `expiry.queue` phase 1 adds the index to the next expiry's sum if the report
        is a settlement sample (on the minute, in the last 30 minutes), then hands on
        to the report's next entry (`report.vy`).
        `expiry.settle` (`settle_expired`): an expired option's position pays
        `size · payoff / SIZE_ONE` rounded toward −∞ through the instrument's pool and
        leaves the account's list; the pool's rest goes to the insurance fund when no
        long is left. It runs inside a margin check (carrying the check's words:
        account, return step, cursor, sums; then `margin.settle_accumulate` or
        `margin.compare`, or `margin.accumulate` while the price is not fixed) or an
        account's settlement (carrying the cursor; then `settle.position` or
        `expiry.cover`), as `MarginSteps.vy` hands it over.
        `expiry.cover`, the last step of an account's settlement
        (`cover_flat_deficit`): a flat account that owes is set to zero by the
        insurance fund (account 0).
"""

import steps
import report

MARGIN_SETTLE_ACCUMULATE: constant(uint256) = 97
MARGIN_ACCUMULATE: constant(uint256) = 98
MARGIN_COMPARE: constant(uint256) = 99
SETTLE_POSITION: constant(uint256) = 101
EXPIRY_QUEUE: constant(uint256) = 224
EXPIRY_FIX: constant(uint256) = 225
EXPIRY_SETTLE: constant(uint256) = 226
EXPIRY_COVER: constant(uint256) = 227

K_SETTLE_ACCOUNT: constant(uint8) = 7
INSTRUMENTS_AT: constant(uint256) = 231  # the account's u32 count of positions, 33 bytes each
SIZE_ONE: constant(int256) = 10**8
CALL: constant(int256) = 2
SETTLEMENT_WINDOW: constant(uint256) = 1800  # options.SETTLEMENT_WINDOW
BUCKET: constant(uint256) = 60

# ExpiryQueue (rollbook.exchange.leaves): tag 10, the pending expiries (0x05, u32
# count, 33 bytes each), the samples' sum and count. Settlement: tag 11, price, samples.
QUEUE_PENDING_AT: constant(uint256) = 6


# -- leaves ------------------------------------------------------------------------------


@pure
@internal
def _settlement_path(asset: uint256, expiry: uint256) -> bytes32:
    """The path of `settlement_key(asset, expiry)`: ("settle", asset, expiry)."""
    return keccak256(concat(
        b"\x05\x00\x00\x00\x03\x04\x00\x00\x00\x06settle\x02", convert(asset, bytes32), b"\x02", convert(expiry, bytes32)
    ))


@pure
@internal
def _position_path(index: uint256, instrument_id: uint256) -> bytes32:
    return keccak256(concat(
        b"\x05\x00\x00\x00\x03\x04\x00\x00\x00\x03pos\x02", convert(index, bytes32), b"\x02", convert(instrument_id, bytes32)
    ))


@pure
@internal
def _pending(queue: Bytes[steps.MAX_LEAF]) -> uint256:
    return steps.u32(queue, QUEUE_PENDING_AT - 4)


@pure
@internal
def _expiry(queue: Bytes[steps.MAX_LEAF], i: uint256) -> uint256:
    return convert(steps.int_at(queue, QUEUE_PENDING_AT + 33 * i + 1), uint256)


@pure
@internal
def _samples_at(queue: Bytes[steps.MAX_LEAF]) -> uint256:
    """The offset of the samples' sum (its 32 bytes; the count follows 33 bytes on)."""
    return QUEUE_PENDING_AT + 33 * self._pending(queue) + 1


@pure
@internal
def _due(queue: Bytes[steps.MAX_LEAF], timestamp: uint256) -> bool:
    """Whether the nearest pending expiry is at or before `timestamp`."""
    return self._pending(queue) > 0 and self._expiry(queue, 0) <= timestamp


@pure
@internal
def _changed(changes: DynArray[steps.Change, steps.MAX_WRITES], path: bytes32, old: Bytes[steps.MAX_LEAF], new: Bytes[steps.MAX_LEAF]) -> DynArray[steps.Change, steps.MAX_WRITES]:
    """`changes` with the leaf at `path` written, if its value changes (the trace
    records a write only then)."""
    out: DynArray[steps.Change, steps.MAX_WRITES] = changes
    if len(old) != len(new) or keccak256(old) != keccak256(new):
        out.append(steps.change(path, old, new))
    return out


# -- the queue (steps of an oracle report) -----------------------------------------------


@pure
@internal
def _after_queue(ctx: steps.Context, cursor: int256, queue: Bytes[steps.MAX_LEAF], timestamp: uint256) -> steps.Context:
    """The next expiry to fix, else the sampling phase."""
    carry: int256[steps.CARRY] = empty(int256[steps.CARRY])
    carry[0] = cursor
    if self._due(queue, timestamp):
        return steps.next_step(ctx, EXPIRY_FIX, carry)
    carry[1] = 1
    return steps.next_step(ctx, EXPIRY_QUEUE, carry)


@pure
@internal
def _queue(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    """`record_index`'s first and last steps (phase 0 and 1)."""
    nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
    r: report.Report = report.parse(item)
    cursor: uint256 = convert(ctx.carry[0], uint256)
    assert cursor < r.indices, "ExpirySteps: the cursor is not at an index price"
    asset: uint256 = 0
    price: uint256 = 0
    asset, price = report.entry(item, r, cursor)
    path: bytes32 = steps.int_key(b"expiries", asset)
    queue: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, path)
    if ctx.carry[1] == 0:
        if len(queue) == 0:
            return nothing, report.after(ctx, r, cursor + 1)
        return nothing, self._after_queue(ctx, ctx.carry[0], queue, r.timestamp)
    assert ctx.carry[1] == 1, "ExpirySteps: the queue's step has two phases"
    assert len(queue) > 0, "ExpirySteps: the queue is missing"
    if self._pending(queue) > 0:
        expiry: uint256 = self._expiry(queue, 0)
        # options.is_settlement_sample: on the minute, in [expiry − 30 min, expiry).
        if expiry <= r.timestamp + SETTLEMENT_WINDOW and r.timestamp < expiry and r.timestamp % BUCKET == 0:
            at: uint256 = self._samples_at(queue)
            new: Bytes[steps.MAX_LEAF] = steps.with_int(queue, at, steps.int_at(queue, at) + convert(price, int256))
            new = steps.with_int(new, at + 33, steps.int_at(queue, at + 33) + 1)
            return [steps.change(path, queue, new)], report.after(ctx, r, cursor + 1)
    return nothing, report.after(ctx, r, cursor + 1)


@pure
@internal
def _fix(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    """One pending expiry at or before the report fixes its price
    (`Settlement(average(sum, count), count)`, or the index with no sample) and
    leaves the queue, whose samples start again for the next expiry."""
    r: report.Report = report.parse(item)
    cursor: uint256 = convert(ctx.carry[0], uint256)
    assert cursor < r.indices, "ExpirySteps: the cursor is not at an index price"
    asset: uint256 = 0
    price: uint256 = 0
    asset, price = report.entry(item, r, cursor)
    qpath: bytes32 = steps.int_key(b"expiries", asset)
    queue: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, qpath)
    assert len(queue) > 0 and self._due(queue, r.timestamp), "ExpirySteps: no expiry is due"
    count: uint256 = self._pending(queue)
    at: uint256 = self._samples_at(queue)
    total: int256 = steps.int_at(queue, at)
    samples: int256 = steps.int_at(queue, at + 33)
    fixed: int256 = convert(price, int256)
    if samples != 0:
        # options.average: half up, (2·total + count) // (2·count).
        fixed = steps.floor_div(2 * total + samples, 2 * samples)
    spath: bytes32 = self._settlement_path(asset, self._expiry(queue, 0))
    old: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, spath)
    settled: Bytes[steps.MAX_LEAF] = concat(b"\x0b\x02", convert(fixed, bytes32), b"\x02", convert(samples, bytes32))
    rest: Bytes[steps.MAX_LEAF] = steps.fit(concat(
        b"\x0a\x05",
        convert(convert(count - 1, uint32), bytes4),
        slice(queue, QUEUE_PENDING_AT + 33, 33 * (count - 1)),
        b"\x02", empty(bytes32),
        b"\x02", empty(bytes32),
    ))
    changes: DynArray[steps.Change, steps.MAX_WRITES] = []
    changes = self._changed(changes, spath, old, settled)
    changes.append(steps.change(qpath, queue, rest))
    return changes, self._after_queue(ctx, ctx.carry[0], rest, r.timestamp)


# -- an expired option's payout ----------------------------------------------------------


@pure
@internal
def _without(account: Bytes[steps.MAX_LEAF], cursor: uint256) -> Bytes[steps.MAX_LEAF]:
    """The account leaf with the `cursor`-th instrument of its list removed."""
    count: uint256 = steps.u32(account, INSTRUMENTS_AT)
    item_at: uint256 = INSTRUMENTS_AT + 4 + 33 * cursor
    head: Bytes[steps.MAX_LEAF] = steps.fit(concat(
        slice(account, 0, INSTRUMENTS_AT),
        convert(convert(count - 1, uint32), bytes4),
        slice(account, INSTRUMENTS_AT + 4, 33 * cursor),
    ))
    return steps.fit(concat(head, slice(account, item_at + 33, len(account) - item_at - 33)))


@pure
@internal
def _settle(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    """`settle_expired`: the position in an expired option pays out once its expiry's
    price is fixed; the step after it is its caller's (module notice)."""
    in_settlement: bool = len(item) > steps.KIND_AT and convert(slice(item, steps.KIND_AT, 1), uint8) == K_SETTLE_ACCOUNT
    index: uint256 = 0
    cursor: uint256 = 0
    if in_settlement:
        assert len(item) == 26, "ExpirySteps: a settlement item is 26 bytes"
        index = convert(slice(item, 22, 4), uint256)
        cursor = convert(ctx.carry[0], uint256)
    else:
        index = convert(ctx.carry[0], uint256)
        cursor = convert(ctx.carry[2], uint256)
    apath: bytes32 = steps.int_key(b"acct", index)
    account: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, apath)
    assert len(account) > 0, "ExpirySteps: the account is missing"
    count: uint256 = steps.u32(account, INSTRUMENTS_AT)
    assert cursor < count, "ExpirySteps: the cursor is past the positions"
    instrument_id: uint256 = convert(steps.int_at(account, INSTRUMENTS_AT + 4 + 33 * cursor + 1), uint256)
    ipath: bytes32 = steps.int_key(b"inst", instrument_id)
    inst: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, ipath)
    assert len(inst) > 0, "ExpirySteps: the instrument is missing"
    at: steps.InstrumentAt = steps.instrument_at(inst)
    ppath: bytes32 = self._position_path(index, instrument_id)
    position: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, ppath)
    fixed: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, self._settlement_path(
        convert(steps.int_at(inst, at.asset), uint256), convert(steps.int_at(inst, at.expiry), uint256)
    ))
    changes: DynArray[steps.Change, steps.MAX_WRITES] = []
    if len(fixed) == 0:
        # Not fixed yet: the position stays and is valued (margin) or passed over.
        if in_settlement:
            if cursor + 1 < count:
                return changes, steps.next1(ctx, SETTLE_POSITION, convert(cursor + 1, int256))
            return changes, steps.next_step(ctx, EXPIRY_COVER, empty(int256[steps.CARRY]))
        return changes, steps.next_step(ctx, MARGIN_ACCUMULATE, ctx.carry)
    size: int256 = 0
    if len(position) > 0:
        size = steps.int_at(position, steps.field_at(0))
    assert size != 0, "ExpirySteps: a listed position has a size"
    price: int256 = steps.int_at(fixed, steps.field_at(0))
    strike: int256 = steps.int_at(inst, at.strike)
    payoff: int256 = max(strike - price, 0)
    if steps.int_at(inst, at.kind) == CALL:
        payoff = max(price - strike, 0)
    # Toward −∞: a long's credit down, a short's debit up; the pool keeps the rest.
    credit: int256 = steps.floor_div(size * payoff, SIZE_ONE)
    balance: int256 = steps.int_at(account, steps.ACCOUNT_BALANCE_AT) + credit
    changes.append(steps.change(ppath, position, b""))
    open_interest: int256 = steps.int_at(inst, at.open_interest) - max(size, 0)
    pool: int256 = steps.int_at(inst, at.pool) - credit
    if open_interest == 0 and pool > 0:
        # No long left to pay: what the pool holds is the fund's (one write if the
        # fund is the account settled: it may hold positions it took over).
        if index == 0:
            balance += pool
        else:
            fpath: bytes32 = steps.int_key(b"acct", 0)
            fund: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, fpath)
            assert len(fund) > 0, "ExpirySteps: the insurance fund is missing"
            changes.append(steps.change(fpath, fund, steps.with_int(fund, steps.ACCOUNT_BALANCE_AT, steps.int_at(fund, steps.ACCOUNT_BALANCE_AT) + pool)))
        pool = 0
    changes.append(steps.change(apath, account, self._without(steps.with_int(account, steps.ACCOUNT_BALANCE_AT, balance), cursor)))
    new: Bytes[steps.MAX_LEAF] = steps.with_int(inst, at.open_interest, open_interest)
    changes = self._changed(changes, ipath, inst, steps.with_int(new, at.pool, pool))
    if in_settlement:
        if cursor + 1 < count:
            return changes, steps.next1(ctx, SETTLE_POSITION, convert(cursor, int256))
        return changes, steps.next_step(ctx, EXPIRY_COVER, empty(int256[steps.CARRY]))
    if cursor + 1 < count:
        return changes, steps.next_step(ctx, MARGIN_SETTLE_ACCUMULATE, ctx.carry)
    return changes, steps.next_step(ctx, MARGIN_COMPARE, ctx.carry)


# -- a flat account that owes ------------------------------------------------------------


@pure
@internal
def _cover(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    # The settled account: a SettleAccount item (origin, sender, kind 7, account u32).
    assert len(item) == 26, "ExpirySteps: a settlement item is 26 bytes"
    index: uint256 = convert(slice(item, 22, 4), uint256)
    nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
    apath: bytes32 = steps.int_key(b"acct", index)
    account: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, apath)
    assert len(account) > 0, "ExpirySteps: the account is missing"
    balance: int256 = steps.int_at(account, steps.ACCOUNT_BALANCE_AT)
    if index == 0 or steps.u32(account, INSTRUMENTS_AT) > 0 or balance >= 0:
        return nothing, steps.next1(ctx, steps.TX_END, 0)
    fpath: bytes32 = steps.int_key(b"acct", 0)
    fund: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, fpath)
    assert len(fund) > 0, "ExpirySteps: the insurance fund is missing"
    fund_balance: int256 = steps.int_at(fund, steps.ACCOUNT_BALANCE_AT)
    changes: DynArray[steps.Change, steps.MAX_WRITES] = [
        steps.change(apath, account, steps.with_int(account, steps.ACCOUNT_BALANCE_AT, 0)),
        steps.change(fpath, fund, steps.with_int(fund, steps.ACCOUNT_BALANCE_AT, fund_balance + balance)),
    ]
    return changes, steps.next1(ctx, steps.TX_END, 0)


@pure
@external
def begin(ctx: steps.Context, item: Bytes[steps.MAX_ITEM]) -> steps.Context:
    raise "ExpirySteps: no tx starts with an expiry step"


@pure
@external
def rule(
    ctx: steps.Context,
    item: Bytes[steps.MAX_ITEM],
    leaves: DynArray[steps.Leaf, steps.MAX_READS],
    aux: Bytes[steps.MAX_AUX],
) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    if ctx.pc == EXPIRY_QUEUE:
        return self._queue(ctx, item, leaves)
    if ctx.pc == EXPIRY_FIX:
        return self._fix(ctx, item, leaves)
    if ctx.pc == EXPIRY_SETTLE:
        return self._settle(ctx, item, leaves)
    if ctx.pc == EXPIRY_COVER:
        return self._cover(ctx, item, leaves)
    raise "ExpirySteps: not an expiry step"
