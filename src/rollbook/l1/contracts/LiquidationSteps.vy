# pragma version 0.4.3
# pragma evm-version prague
"""
@title LiquidationSteps
@notice The liquidation family of the one-step executor: the rules of
        `rollbook.exchange.liquidation`, step by step. Sources: dYdX v4
        ("Liquidations on dYdX Chain",
        https://help.dydx.exchange/en/articles/8580691-liquidations-on-dydx-chain:
        below maintenance, a liquidation order against resting liquidity at a
        bounded "fillable price", a penalty of at most 1.5 % to the insurance fund
        that leaves a positive account positive; "Contract Loss Mechanisms",
        https://help.dydx.exchange/en/articles/8581982-contract-loss-mechanisms-on-dydx-chain:
        the bankruptcy price, the insurance fund first, then the opposite side
        pays — dYdX by deleveraging positions, rollbook by a loss index); Deribit
        ("Liquidations",
        https://support.deribit.com/hc/en-us/articles/25944769313309-Liquidations:
        incremental liquidation while maintenance margin exceeds equity;
        "Insurance Fund",
        https://support.deribit.com/hc/en-us/articles/25944777576477-Insurance-Fund:
        the fund covers a bankrupt account's negative equity, and once depleted
        the loss is socialised among the winning side).
        - `Liquidate` (kind 9): the account's health (MarginSteps in health mode)
          hands (equity, IM, MM) to `liq.instrument` (below maintenance, the
          instrument not expired, the price and size on the grid, the price within
          the liquidation band of mark); the maker's order and both sides of the
          fill (`order.maker`, `fill.apply`: TradingSteps, with the fill's carry:
          max positions, the maker's fee rate, 0 for the liquidated side, then each
          side's old size, new size and cash); `liq.book` (open interest, the
          maker's fee); the maker's margin check as a trade's (MarginSteps), which
          returns to `liq.after`; that starts the account's health check again,
          handed to `liq.penalty` (no worse than the bankruptcy price, the fee to
          the fund, a flat account that owes goes to `backstop.debt`). The equity
          before the fill is re-derived there from the fill (the item's price and
          size, the position's size after it, the mark), not carried through the
          trade's steps.
        - `Backstop` (kind 8): the account's health to `backstop.check` (below the
          backstop threshold or negative), then `backstop.mark` (a position, not
          expired, a fresh mark), `.move` (the position to the fund at mark),
          `.book` (open interest), `.flat` (a flat account that owes: the fund's
          health, then `backstop.debt`: the fund covers what its equity allows,
          the rest is socialised on the other side through its loss index).
        - `ForcedClose` (kind 17, from L1 only): `forced_close.auth` (the L1 sender
          owns the account), then `.mark`, `.move` (at mark less the liquidation
          fee), `.book`, `.flat` as a backstop's.
        Carried: a health check's (equity, IM, MM) in words 0-2 and the bankrupt
        side kept in word 14 across the fund's check; the globals' `max_positions`
        into `.mark` and `.move`; (open-interest change, size) into `.book`; the
        size into `.flat`. The position moves, the book-keeping and the bad-debt
        cover run in `LiquidationMoves.vy` (with `positions.vy` they are more code
        than EIP-170 lets one contract hold). Portfolio-margin accounts stop at
        their margin check ("not executable yet", MarginSteps).
@dev    Items: origin u8 | L1 sender 20 | kind | Backstop, ForcedClose: account u32,
        instrument u16; Liquidate: mode u8, account u32, size u64, the maker order
        as the standalone codec writes it (wide: head, account u32, instrument u16,
        price u64, size u64, max fee u32, expiry u64, slot u16, nonce u32, then its
        signature when new).
"""

import steps
import positions

LIQ_INSTRUMENT: constant(uint256) = 160
LIQ_BOOK: constant(uint256) = 161
LIQ_PENALTY: constant(uint256) = 162
BACKSTOP_CHECK: constant(uint256) = 163
BACKSTOP_MARK: constant(uint256) = 164
BACKSTOP_FLAT: constant(uint256) = 165
BACKSTOP_MOVE: constant(uint256) = 166
BACKSTOP_BOOK: constant(uint256) = 167
BACKSTOP_DEBT: constant(uint256) = 168
FORCED_AUTH: constant(uint256) = 169
FORCED_MARK: constant(uint256) = 170
FORCED_FLAT: constant(uint256) = 171
FORCED_MOVE: constant(uint256) = 172
FORCED_BOOK: constant(uint256) = 173
LIQ_AFTER: constant(uint256) = 174
MARGIN_BEGIN: constant(uint256) = 96
ORDER_MAKER: constant(uint256) = 129
HEALTH_AT: constant(uint256) = 15  # MarginSteps: a health check's mode word
MODE_HEALTH: constant(int256) = 1
KEPT_AT: constant(uint256) = 14  # MarginSteps keeps this word for the step that asked

K_BACKSTOP: constant(uint8) = 8
K_LIQUIDATE: constant(uint8) = 9
K_FORCED_CLOSE: constant(uint8) = 17
HEAD_WIDE: constant(uint8) = 32
BUY: constant(int256) = 0
SELL: constant(int256) = 1

SIZE_ONE: constant(int256) = 10**8
PPM: constant(int256) = 10**6
PERPETUAL: constant(int256) = 1
G_MAX_POSITIONS: constant(uint256) = 6
G_LIQ_BAND: constant(uint256) = 8
G_BACKSTOP: constant(uint256) = 9
OWNER_AT: constant(uint256) = 6
INSTRUMENTS_AT: constant(uint256) = 231

CODE_INVALID: constant(uint256) = 11029
E_NOT_LIQUIDATABLE: constant(bytes32) = 0x4e6f744c6971756964617461626c650000000000000000000000000000000000  # "NotLiquidatable"
E_MALFORMED: constant(bytes32) = 0x4d616c666f726d65645478000000000000000000000000000000000000000000  # "MalformedTx"
CODE_UNKNOWN_INSTRUMENT: constant(uint256) = 10013
E_UNKNOWN_INSTRUMENT: constant(bytes32) = 0x556e6b6e6f776e496e737472756d656e74000000000000000000000000000000  # "UnknownInstrument"
CODE_PRICE: constant(uint256) = 10011
E_PRICE: constant(bytes32) = 0x50726963654e6f74416c6c6f7765640000000000000000000000000000000000  # "PriceNotAllowed"
CODE_ORACLE: constant(uint256) = 11098
E_ORACLE: constant(bytes32) = 0x4f7261636c654572726f72000000000000000000000000000000000000000000  # "OracleError"
CODE_UNKNOWN_ACCOUNT: constant(uint256) = 10004
E_UNKNOWN_ACCOUNT: constant(bytes32) = 0x556e6b6e6f776e4163636f756e74000000000000000000000000000000000000  # "UnknownAccount"
E_UNAUTHORIZED: constant(bytes32) = 0x556e617574686f72697a65640000000000000000000000000000000000000000  # "Unauthorized"

interface Moves:
    def move(
        leaves: DynArray[steps.Leaf, steps.MAX_READS], index: uint256, instrument: uint256, fee_ppm: int256, max_positions: uint256
    ) -> (bool, DynArray[steps.Change, steps.MAX_WRITES], int256, int256): view
    def record(
        leaves: DynArray[steps.Leaf, steps.MAX_READS], instrument: uint256, oi_change: int256, fees: int256
    ) -> (bool, DynArray[steps.Change, steps.MAX_WRITES]): view
    def cover(
        leaves: DynArray[steps.Leaf, steps.MAX_READS], index: uint256, instrument: uint256, fund_equity: int256, bankrupt_side: int256
    ) -> DynArray[steps.Change, steps.MAX_WRITES]: view

struct Liq:
    account: uint256
    size: int256
    maker: uint256
    instrument: uint256
    maker_side: int256  # BUY or SELL
    price: int256


moves: public(Moves)  # storage, not immutable: the deployed code is the compiled code


@deploy
def __init__(helper: Moves):
    self.moves = helper


# -- items ---------------------------------------------------------------------------


@pure
@internal
def _kind(item: Bytes[steps.MAX_ITEM]) -> uint8:
    return convert(slice(item, steps.KIND_AT, 1), uint8)


@pure
@internal
def _liq(item: Bytes[steps.MAX_ITEM]) -> Liq:
    """A Liquidate item's fields (its maker order is written wide standalone)."""
    assert self._kind(item) == K_LIQUIDATE, "LiquidationSteps: not a liquidation"
    assert convert(slice(item, 35, 1), uint8) & HEAD_WIDE != 0, "LiquidationSteps: the maker order is not wide"
    return Liq(
        account=convert(slice(item, 23, 4), uint256),
        size=convert(convert(slice(item, 27, 8), uint256), int256),
        maker=convert(slice(item, 36, 4), uint256),
        instrument=convert(slice(item, 40, 2), uint256),
        maker_side=convert(convert(slice(item, 35, 1), uint8) & 1, int256),
        price=convert(convert(slice(item, 42, 8), uint256), int256),
    )


@pure
@internal
def _target(item: Bytes[steps.MAX_ITEM]) -> (uint256, uint256):
    """(account, instrument) of a backstop, forced close or liquidation."""
    kind: uint8 = self._kind(item)
    if kind == K_LIQUIDATE:
        liq: Liq = self._liq(item)
        return liq.account, liq.instrument
    assert kind == K_BACKSTOP or kind == K_FORCED_CLOSE, "LiquidationSteps: not a liquidation-family tx"
    assert len(item) == 28, "LiquidationSteps: a backstop or forced close is 28 bytes"
    return convert(slice(item, 22, 4), uint256), convert(slice(item, 26, 2), uint256)


# -- leaves --------------------------------------------------------------------------


@pure
@internal
def _balance(account: Bytes[steps.MAX_LEAF]) -> int256:
    return steps.int_at(account, steps.ACCOUNT_BALANCE_AT)


@pure
@internal
def _with_balance(account: Bytes[steps.MAX_LEAF], balance: int256) -> Bytes[steps.MAX_LEAF]:
    return steps.with_int(account, steps.ACCOUNT_BALANCE_AT, balance)


@pure
@internal
def _oracle_path() -> bytes32:
    return keccak256(b"\x05\x00\x00\x00\x01\x04\x00\x00\x00\x06oracle")


@pure
@internal
def _staleness(oracle: Bytes[steps.MAX_LEAF]) -> int256:
    """OracleConfig: the signers (0x05, u32 count, 25 bytes each), threshold, last
    timestamp, staleness."""
    return steps.int_at(oracle, 1 + 5 + 25 * steps.u32(oracle, 2) + 33 * 2 + 1)


@pure
@internal
def _expired(inst: Bytes[steps.MAX_LEAF], at: steps.InstrumentAt, now: uint256) -> bool:
    """expiry.is_expired: an option at or past its expiry."""
    return steps.int_at(inst, at.kind) != PERPETUAL and convert(now, int256) >= steps.int_at(inst, at.expiry)


@pure
@internal
def _value_at_mark(mark: int256, size: int256) -> int256:
    """numeric.value_at_mark (and numeric.notional): toward −∞."""
    return steps.floor_div(mark * size, SIZE_ONE)


# -- contexts ------------------------------------------------------------------------


@pure
@internal
def _health(ctx: steps.Context, index: uint256, ret: uint256, side: int256) -> steps.Context:
    """The context of the account's health check (MarginSteps, health mode) that
    hands (equity, IM, MM) to step `ret`, keeping `side` in word 14."""
    carry: int256[steps.CARRY] = empty(int256[steps.CARRY])
    carry[0] = convert(index, int256)
    carry[1] = convert(ret, int256)
    carry[HEALTH_AT] = MODE_HEALTH
    carry[KEPT_AT] = side
    return steps.next_step(ctx, MARGIN_BEGIN, carry)


@pure
@external
def begin(ctx: steps.Context, item: Bytes[steps.MAX_ITEM]) -> steps.Context:
    """The refusals before any step (liquidation.py), then the first step: the
    account's health for a liquidation or a backstop, the owner for a forced
    close."""
    kind: uint8 = self._kind(item)
    index: uint256 = 0
    instrument: uint256 = 0
    index, instrument = self._target(item)
    if kind == K_LIQUIDATE and index == self._liq(item).maker:
        return steps.refuse(ctx, CODE_INVALID, E_MALFORMED)
    if kind == K_FORCED_CLOSE and convert(slice(item, 0, 1), uint8) != steps.ORIGIN_L1:
        return steps.refuse(ctx, steps.CODE_UNAUTHORIZED, steps.E_WRONG_ORIGIN)
    if index == 0:
        return steps.refuse(ctx, CODE_INVALID, E_NOT_LIQUIDATABLE)
    out: steps.Context = ctx
    if kind == K_FORCED_CLOSE:
        out.pc = FORCED_AUTH
        return out
    ret: uint256 = BACKSTOP_CHECK
    if kind == K_LIQUIDATE:
        ret = LIQ_INSTRUMENT
    out = self._health(ctx, index, ret, 0)
    out.step = ctx.step
    return out


# -- liquidation ---------------------------------------------------------------------


@pure
@internal
def _liq_instrument(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> steps.Context:
    """Below maintenance (the health check's words); the instrument listed and not
    expired (a delisted one may still be liquidated: closing reduces risk); the
    price and size on its grid; the price within the band around mark."""
    if ctx.carry[0] >= ctx.carry[2]:
        return steps.fail(ctx, CODE_INVALID, E_NOT_LIQUIDATABLE)
    liq: Liq = self._liq(item)
    inst: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, steps.int_key(b"inst", liq.instrument))
    if len(inst) == 0:
        return steps.fail(ctx, CODE_UNKNOWN_INSTRUMENT, E_UNKNOWN_INSTRUMENT)
    at: steps.InstrumentAt = steps.instrument_at(inst)
    if self._expired(inst, at, ctx.timestamp):
        return steps.fail(ctx, CODE_UNKNOWN_INSTRUMENT, E_UNKNOWN_INSTRUMENT)
    glob: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, steps.globals_path())
    assert len(glob) > 0, "LiquidationSteps: the globals are missing"
    if liq.price % steps.int_at(inst, at.tick) != 0 or liq.size % steps.int_at(inst, at.lot) != 0:
        return steps.fail(ctx, CODE_PRICE, E_PRICE)
    mark: int256 = steps.int_at(inst, at.mark)
    band: int256 = steps.int_at(glob, steps.field_at(G_LIQ_BAND))
    if liq.maker_side == BUY and liq.price < steps.ceil_div(mark * (PPM - band), PPM):
        return steps.fail(ctx, CODE_PRICE, E_PRICE)  # the liquidated side sells below the band
    if liq.maker_side == SELL and liq.price > steps.floor_div(mark * (PPM + band), PPM):
        return steps.fail(ctx, CODE_PRICE, E_PRICE)  # the liquidated side buys above the band
    # The fill's carry (TradingSteps): max positions, the maker's fee rate, the
    # liquidated side's (none).
    carry: int256[steps.CARRY] = empty(int256[steps.CARRY])
    carry[0] = steps.int_at(glob, steps.field_at(G_MAX_POSITIONS))
    carry[1] = steps.int_at(inst, at.maker_fee_ppm)
    return steps.next_step(ctx, ORDER_MAKER, carry)


@view
@internal
def _liq_book(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    """trading.record_trade_totals for the fill (the maker's fee only), then the
    maker's margin check as a trade's (MarginSteps: the traded instrument, old, new,
    cash in words 6-9), returning to `liq.after`. Carried in: the fill's (max
    positions, maker fee ppm, 0, maker's old, new, cash, liquidated old, new, cash)."""
    liq: Liq = self._liq(item)
    c: int256[steps.CARRY] = ctx.carry
    oi_change: int256 = positions.long_open_interest_change(c[3], c[4]) + positions.long_open_interest_change(c[6], c[7])
    ok: bool = False
    changes: DynArray[steps.Change, steps.MAX_WRITES] = []
    ok, changes = staticcall self.moves.record(leaves, liq.instrument, oi_change, positions.fee(liq.price, liq.size, c[1]))
    if not ok:
        return changes, steps.fail(ctx, positions.CODE_POSITION_LIMIT, positions.E_POSITION_LIMIT)
    check: int256[steps.CARRY] = empty(int256[steps.CARRY])
    check[0] = convert(liq.maker, int256)
    check[1] = convert(LIQ_AFTER, int256)
    check[6] = convert(liq.instrument, int256)
    check[7] = c[3]
    check[8] = c[4]
    check[9] = c[5]
    return changes, steps.next_step(ctx, MARGIN_BEGIN, check)


@pure
@internal
def _liq_penalty(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    """liquidation.charge_penalty. The equity before the fill is the handed equity
    less what the fill moved: its cash flow and the change of the position's value
    at mark (the position's old size is its new size less the fill)."""
    nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
    liq: Liq = self._liq(item)
    # The leaves in the order the STF reads them: a witness holds only those read
    # before a refusal.
    inst: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, steps.int_key(b"inst", liq.instrument))
    assert len(inst) > 0, "LiquidationSteps: the instrument is missing"
    at: steps.InstrumentAt = steps.instrument_at(inst)
    mark: int256 = steps.int_at(inst, at.mark)
    delta: int256 = liq.size  # the liquidated side buys when the maker sells
    if liq.maker_side == BUY:
        delta = -liq.size
    new: int256 = positions.size_of(steps.leaf(leaves, positions.position_path(liq.account, liq.instrument)))
    moved: int256 = -positions.notional(liq.price, delta) + self._value_at_mark(mark, new) - self._value_at_mark(mark, new - delta)
    after: int256 = ctx.carry[0]
    if after < min(0, after - moved):
        return nothing, steps.fail(ctx, CODE_PRICE, E_PRICE)  # beyond the bankruptcy price
    penalty: int256 = min(positions.fee(liq.price, liq.size, steps.int_at(inst, at.liq_fee_ppm)), max(0, after))
    apath: bytes32 = steps.int_key(b"acct", liq.account)
    account: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, apath)
    assert len(account) > 0, "LiquidationSteps: the account is missing"
    balance: int256 = self._balance(account) - penalty
    changes: DynArray[steps.Change, steps.MAX_WRITES] = []
    if penalty != 0:
        fpath: bytes32 = steps.int_key(b"acct", 0)
        fund: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, fpath)
        assert len(fund) > 0, "LiquidationSteps: the insurance fund is missing"
        changes.append(steps.change(apath, account, self._with_balance(account, balance)))
        changes.append(steps.change(fpath, fund, self._with_balance(fund, self._balance(fund) + penalty)))
    if steps.u32(account, INSTRUMENTS_AT) == 0 and balance < 0:
        return changes, self._health(ctx, 0, BACKSTOP_DEBT, liq.maker_side)
    return changes, steps.next1(ctx, steps.TX_END, 0)


# -- backstop and forced close -------------------------------------------------------


@pure
@internal
def _backstop_check(ctx: steps.Context, leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> steps.Context:
    """Below the backstop threshold (a fraction of MM) or negative."""
    glob: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, steps.globals_path())
    assert len(glob) > 0, "LiquidationSteps: the globals are missing"
    equity: int256 = ctx.carry[0]
    threshold: int256 = steps.floor_div(ctx.carry[2] * steps.int_at(glob, steps.field_at(G_BACKSTOP)), PPM)
    if equity >= threshold and equity >= 0:
        return steps.fail(ctx, CODE_INVALID, E_NOT_LIQUIDATABLE)
    return steps.next1(ctx, BACKSTOP_MARK, steps.int_at(glob, steps.field_at(G_MAX_POSITIONS)))


@pure
@internal
def _forced_auth(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> steps.Context:
    """The L1 sender owns the account."""
    index: uint256 = 0
    instrument: uint256 = 0
    index, instrument = self._target(item)
    account: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, steps.int_key(b"acct", index))
    if len(account) == 0:
        return steps.fail(ctx, CODE_UNKNOWN_ACCOUNT, E_UNKNOWN_ACCOUNT)
    if slice(item, 1, 20) != slice(account, OWNER_AT, 20):
        return steps.fail(ctx, steps.CODE_UNAUTHORIZED, E_UNAUTHORIZED)
    glob: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, steps.globals_path())
    assert len(glob) > 0, "LiquidationSteps: the globals are missing"
    return steps.next1(ctx, FORCED_MARK, steps.int_at(glob, steps.field_at(G_MAX_POSITIONS)))


@pure
@internal
def _mark(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], leaves: DynArray[steps.Leaf, steps.MAX_READS], move: uint256) -> steps.Context:
    """liquidation.close_to_fund's checks: a position, a listed instrument not
    expired, a fresh mark."""
    index: uint256 = 0
    instrument: uint256 = 0
    index, instrument = self._target(item)
    if positions.size_of(steps.leaf(leaves, positions.position_path(index, instrument))) == 0:
        return steps.fail(ctx, CODE_INVALID, E_MALFORMED)
    inst: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, steps.int_key(b"inst", instrument))
    if len(inst) == 0:
        return steps.fail(ctx, CODE_UNKNOWN_INSTRUMENT, E_UNKNOWN_INSTRUMENT)
    at: steps.InstrumentAt = steps.instrument_at(inst)
    if self._expired(inst, at, ctx.timestamp):
        return steps.fail(ctx, CODE_UNKNOWN_INSTRUMENT, E_UNKNOWN_INSTRUMENT)
    oracle: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, self._oracle_path())
    assert len(oracle) > 0, "LiquidationSteps: the oracle config is missing"
    mark_time: int256 = steps.int_at(inst, at.mark_time)
    if mark_time == 0 or convert(ctx.timestamp, int256) - mark_time > self._staleness(oracle):
        return steps.fail(ctx, CODE_ORACLE, E_ORACLE)
    return steps.next1(ctx, move, ctx.carry[0])


@view
@internal
def _move(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], leaves: DynArray[steps.Leaf, steps.MAX_READS], penalised: bool, book: uint256) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    """liquidation.position_to_fund (LiquidationMoves.move), the account paying the
    liquidation fee when `penalised` (a forced close). Carried in: max positions;
    out: (open-interest change, size) to `.book`."""
    index: uint256 = 0
    instrument: uint256 = 0
    index, instrument = self._target(item)
    fee_ppm: int256 = 0
    if penalised:
        inst: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, steps.int_key(b"inst", instrument))
        assert len(inst) > 0, "LiquidationSteps: the instrument is missing"
        fee_ppm = steps.int_at(inst, steps.instrument_at(inst).liq_fee_ppm)
    ok: bool = False
    changes: DynArray[steps.Change, steps.MAX_WRITES] = []
    carry: int256[steps.CARRY] = empty(int256[steps.CARRY])
    ok, changes, carry[0], carry[1] = staticcall self.moves.move(leaves, index, instrument, fee_ppm, convert(ctx.carry[0], uint256))
    if not ok:
        return changes, steps.fail(ctx, positions.CODE_POSITION_LIMIT, positions.E_POSITION_LIMIT)
    return changes, steps.next_step(ctx, book, carry)


@view
@internal
def _book(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], leaves: DynArray[steps.Leaf, steps.MAX_READS], flat: uint256) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    """trading.record_trade_totals of the move (no fee); the size on to `.flat`."""
    index: uint256 = 0
    instrument: uint256 = 0
    index, instrument = self._target(item)
    ok: bool = False
    changes: DynArray[steps.Change, steps.MAX_WRITES] = []
    ok, changes = staticcall self.moves.record(leaves, instrument, ctx.carry[0], 0)
    if not ok:
        return changes, steps.fail(ctx, positions.CODE_POSITION_LIMIT, positions.E_POSITION_LIMIT)
    return changes, steps.next1(ctx, flat, ctx.carry[1])


@pure
@internal
def _flat(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> steps.Context:
    """A flat account that owes: the fund's health, handed to `backstop.debt` with
    the bankrupt side (the moved size's)."""
    index: uint256 = 0
    instrument: uint256 = 0
    index, instrument = self._target(item)
    account: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, steps.int_key(b"acct", index))
    assert len(account) > 0, "LiquidationSteps: the account is missing"
    if steps.u32(account, INSTRUMENTS_AT) == 0 and self._balance(account) < 0:
        side: int256 = SELL
        if ctx.carry[0] > 0:
            side = BUY
        return self._health(ctx, 0, BACKSTOP_DEBT, side)
    return steps.next1(ctx, steps.TX_END, 0)


@view
@internal
def _debt(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    """liquidation.cover_bad_debt (LiquidationMoves.cover), with the fund's equity
    handed in word 0 and the bankrupt side kept in word 14."""
    index: uint256 = 0
    instrument: uint256 = 0
    index, instrument = self._target(item)
    changes: DynArray[steps.Change, steps.MAX_WRITES] = staticcall self.moves.cover(leaves, index, instrument, ctx.carry[0], ctx.carry[KEPT_AT])
    return changes, steps.next1(ctx, steps.TX_END, 0)


@view
@external
def rule(
    ctx: steps.Context,
    item: Bytes[steps.MAX_ITEM],
    leaves: DynArray[steps.Leaf, steps.MAX_READS],
    aux: Bytes[steps.MAX_AUX],
) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
    pc: uint256 = ctx.pc
    if pc == LIQ_INSTRUMENT:
        return nothing, self._liq_instrument(ctx, item, leaves)
    if pc == LIQ_PENALTY:
        return self._liq_penalty(ctx, item, leaves)
    if pc == BACKSTOP_CHECK:
        return nothing, self._backstop_check(ctx, leaves)
    if pc == FORCED_AUTH:
        return nothing, self._forced_auth(ctx, item, leaves)
    if pc == BACKSTOP_MARK:
        return nothing, self._mark(ctx, item, leaves, BACKSTOP_MOVE)
    if pc == FORCED_MARK:
        return nothing, self._mark(ctx, item, leaves, FORCED_MOVE)
    if pc == BACKSTOP_FLAT or pc == FORCED_FLAT:
        return nothing, self._flat(ctx, item, leaves)
    if pc == BACKSTOP_DEBT:
        return self._debt(ctx, item, leaves)
    if pc == BACKSTOP_MOVE:
        return self._move(ctx, item, leaves, False, BACKSTOP_BOOK)
    if pc == FORCED_MOVE:
        return self._move(ctx, item, leaves, True, FORCED_BOOK)
    if pc == BACKSTOP_BOOK:
        return self._book(ctx, item, leaves, BACKSTOP_FLAT)
    if pc == FORCED_BOOK:
        return self._book(ctx, item, leaves, FORCED_FLAT)
    if pc == LIQ_BOOK:
        return self._liq_book(ctx, item, leaves)
    if pc == LIQ_AFTER:
        return nothing, self._health(ctx, self._liq(item).account, LIQ_PENALTY, 0)
    raise "LiquidationSteps: this liquidation step is not executable yet"
