# pragma version 0.4.3
# pragma evm-version prague
"""
@title LiquidationMoves
@notice The position changes of the liquidation family (`LiquidationSteps.vy` calls
        them: the family's rules and `positions.vy` are more code than one contract
        may hold under EIP-170). `move` is `liquidation.position_to_fund`: the fund's
        position settles, and the account's whole position moves to the insurance
        fund at mark, the account receiving its value less a fee (one number for
        both sides, so value is conserved: Deribit's and dYdX v4's insurance fund
        takes over what the book cannot absorb). `record` is
        `trading.record_trade_totals` (open interest, the pool's dust, fees).
        `cover` is `liquidation.cover_bad_debt` with `socialise`.
@dev    Both take the leaves the executor checked and return the changes; a
        refusal (PositionLimit) is `ok == False`, never a revert.
"""

import steps
import positions

PPM: constant(int256) = 10**6
SIZE_ONE: constant(int256) = 10**8
FUND_MAX_POSITIONS: constant(uint256) = 48  # leaves.FUND_MAX_POSITIONS: its leaf fits MAX_LEAF
INDEX_DENOMINATOR: constant(int256) = 10**20  # SIZE_ONE * INDEX_SCALE
BUY: constant(int256) = 0


@view
@external
def move(
    leaves: DynArray[steps.Leaf, steps.MAX_READS],
    index: uint256,
    instrument: uint256,
    fee_ppm: int256,
    max_positions: uint256,
) -> (bool, DynArray[steps.Change, steps.MAX_WRITES], int256, int256):
    """(ok, changes, open-interest change, moved size) of moving the account's
    position in `instrument` to the fund at mark less `fee_ppm` of its value."""
    nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
    apath: bytes32 = steps.int_key(b"acct", index)
    ppath: bytes32 = positions.position_path(index, instrument)
    fpath: bytes32 = steps.int_key(b"acct", 0)
    fppath: bytes32 = positions.position_path(0, instrument)
    ipath: bytes32 = steps.int_key(b"inst", instrument)
    account0: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, apath)
    position0: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, ppath)
    fund0: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, fpath)
    fposition0: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, fppath)
    inst0: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, ipath)
    assert len(account0) > 0 and len(fund0) > 0 and len(inst0) > 0, "LiquidationMoves: a leaf is missing"
    at: steps.InstrumentAt = steps.instrument_at(inst0)
    size: int256 = positions.size_of(position0)
    fund: Bytes[steps.MAX_LEAF] = empty(Bytes[steps.MAX_LEAF])
    fposition: Bytes[steps.MAX_LEAF] = empty(Bytes[steps.MAX_LEAF])
    inst: Bytes[steps.MAX_LEAF] = empty(Bytes[steps.MAX_LEAF])
    # Settlement changes only the pool: the offsets in `at` stay valid.
    fund, fposition, inst = positions.settle_loaded(fund0, fposition0, inst0, at)
    mark: int256 = steps.int_at(inst, at.mark)
    value: int256 = steps.floor_div(mark * size, SIZE_ONE)  # numeric.value_at_mark
    value -= steps.ceil_div(abs(value) * fee_ppm, PPM)
    ok: bool = False
    account: Bytes[steps.MAX_LEAF] = empty(Bytes[steps.MAX_LEAF])
    position: Bytes[steps.MAX_LEAF] = empty(Bytes[steps.MAX_LEAF])
    a_old: int256 = 0
    a_new: int256 = 0
    ok, account, position, a_old, a_new = positions.change_position(
        account0, position0, inst, at, instrument, -size, mark, value, max_positions
    )
    if not ok:
        return False, nothing, 0, 0
    f_old: int256 = 0
    f_new: int256 = 0
    ok, fund, fposition, f_old, f_new = positions.change_position(
        fund, fposition, inst, at, instrument, size, mark, -value, FUND_MAX_POSITIONS
    )
    if not ok:
        return False, nothing, 0, 0
    changes: DynArray[steps.Change, steps.MAX_WRITES] = [
        steps.change(apath, account0, account),
        steps.change(ppath, position0, position),
        steps.change(fpath, fund0, fund),
        steps.change(fppath, fposition0, fposition),
        steps.change(ipath, inst0, inst),
    ]
    oi_change: int256 = positions.long_open_interest_change(a_old, a_new) + positions.long_open_interest_change(f_old, f_new)
    return True, changes, oi_change, size


@view
@external
def record(
    leaves: DynArray[steps.Leaf, steps.MAX_READS], instrument: uint256, oi_change: int256, fees: int256
) -> (bool, DynArray[steps.Change, steps.MAX_WRITES]):
    """positions.record_trade_totals."""
    return positions.record_trade_totals(leaves, instrument, oi_change, fees)


@view
@external
def cover(
    leaves: DynArray[steps.Leaf, steps.MAX_READS],
    index: uint256,
    instrument: uint256,
    fund_equity: int256,
    bankrupt_side: int256,
) -> DynArray[steps.Change, steps.MAX_WRITES]:
    """liquidation.cover_bad_debt and socialise, for an account that holds nothing
    and owes (else no change): the fund pays up to its equity; the rest is charged
    to the side opposite `bankrupt_side` (0 buy, 1 sell) through its loss index,
    rounded up, and paid now from the pool; with no open interest the fund absorbs
    it all (deleveraging by loss index rather than by closing positions, as dYdX
    v4's deleveraging and Deribit's socialised loss share what the fund cannot)."""
    nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
    apath: bytes32 = steps.int_key(b"acct", index)
    account: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, apath)
    assert len(account) > 0, "LiquidationMoves: the account is missing"
    balance: int256 = steps.int_at(account, steps.ACCOUNT_BALANCE_AT)
    if positions.count_of(account) > 0 or balance >= 0:
        return nothing
    fpath: bytes32 = steps.int_key(b"acct", 0)
    fund: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, fpath)
    assert len(fund) > 0, "LiquidationMoves: the insurance fund is missing"
    ipath: bytes32 = steps.int_key(b"inst", instrument)
    inst: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, ipath)
    assert len(inst) > 0, "LiquidationMoves: the instrument is missing"
    at: steps.InstrumentAt = steps.instrument_at(inst)
    deficit: int256 = -balance
    covered: int256 = min(deficit, max(0, fund_equity))
    uncovered: int256 = deficit - covered
    open_interest: int256 = steps.int_at(inst, at.open_interest)
    if uncovered != 0 and open_interest == 0:
        covered = deficit  # nobody holds the other side: the fund's balance goes negative
        uncovered = 0
    fund_balance: int256 = steps.int_at(fund, steps.ACCOUNT_BALANCE_AT)
    changes: DynArray[steps.Change, steps.MAX_WRITES] = [
        steps.change(fpath, fund, steps.with_int(fund, steps.ACCOUNT_BALANCE_AT, fund_balance - covered)),
        steps.change(apath, account, steps.with_int(account, steps.ACCOUNT_BALANCE_AT, 0)),
    ]
    if uncovered != 0:
        delta: int256 = steps.ceil_div(uncovered * INDEX_DENOMINATOR, open_interest)
        socialised: Bytes[steps.MAX_LEAF] = empty(Bytes[steps.MAX_LEAF])
        if bankrupt_side == BUY:
            socialised = steps.with_int(inst, at.loss_short, steps.int_at(inst, at.loss_short) + delta)
        else:
            socialised = steps.with_int(inst, at.loss_long, steps.int_at(inst, at.loss_long) + delta)
        socialised = steps.with_int(socialised, at.pool, steps.int_at(inst, at.pool) - uncovered)
        changes.append(steps.change(ipath, inst, socialised))
    return changes
