# pragma version 0.4.3
# pragma evm-version prague
"""
@title TradingSteps
@notice The trading family of the one-step executor (family 4): a fill between a
        resting maker order and a taker, as `rollbook.exchange.trading.settle_fill`
        settles it (docs/design/consensus.md section 3), step by step. The tx's load
        refuses a self-trade (MalformedTx) and a post-only taker (PostOnlyTaker);
        `fill.instrument` checks the instrument is listed, active and unexpired, the
        price and size are on its tick and lot grid and the maker's price is within
        the taker's limit; `order.maker` and `order.taker` check one order each
        (`consume_order`: the expiry and lifetime bound, the nonce floor, the fee
        bound, the slot — a repeat fill proven by the slot's stored digest and signer,
        a first fill by the EIP-712 `Order` digest and the EIP-2098 signature of one
        of the account's trading keys — and the size left) and write its slot;
        `fill.apply`, once per side (the maker, then the taker), settles the
        position's lazy funding and loss and changes it (`apply_side` with
        `rollbook.exchange.positions`: the account's list of instruments bounded by
        `max_positions`, the reduce-only rule); `fill.book` updates open interest
        (bounded by the instrument's maximum), sweeps the pool's dust to the insurance
        fund when no position is left, and books both fees. The maker's margin check
        (`MarginSteps.vy`, with the risk-reducing rule of dYdX v4) follows, and
        returns into the taker's. Sources: the order's fields and checks are
        docs/design/consensus.md sections 2-3 (the fee bound is dYdX v3's signed
        `limitFee`; reduce-only and post-only as Deribit and dYdX v4 define them);
        the digest is EIP-712 (0x1901, the domain separator, hashStruct(Order):
        `rollbook.exchange.orders.ORDER_TYPE`), the signature EIP-2098's compact
        form recovered with `ecrecover` (`steps.signer`).
@dev    Items: origin u8 | L1 sender 20 | the fill's standalone encoding
        (rollbook.codec.txcodec.encode_fill with no batch tables, docs/design/batch.md):
        kind (0x80 | maker mode << 5 | taker mode << 3 | whole << 2 | wide << 1), the
        maker (head: side, flags << 1, wide; account u32, instrument u16, price u64,
        size u64, max fee u32, expiry u64, slot u16, nonce u32, and a 64-byte
        signature when new), the taker (head: at the maker's price, flags << 1, wide;
        the same fields without the instrument, and without the price when at the
        maker's), then the size u64 unless it is the taker's whole size. A standalone
        order is new (signed) or resumed (no signature: a repeat fill).
        Carried between the steps: (max positions, maker fee ppm, taker fee ppm,
        maker's old size, new size, cash, taker's old size, new size, cash), as far as
        they are known. The position code is the shared module `positions.vy`.
"""

import steps
import positions

FILL_INSTRUMENT: constant(uint256) = 128
ORDER_MAKER: constant(uint256) = 129
ORDER_TAKER: constant(uint256) = 130
FILL_APPLY: constant(uint256) = 131
FILL_BOOK: constant(uint256) = 132
MARGIN_BEGIN: constant(uint256) = 96
# The fill's steps come in one order: fill.instrument, order.maker, order.taker, then
# fill.apply for the maker (the tx's step 3) and for the taker (step 4).
MAKER_APPLY_STEP: constant(uint256) = 3
# A liquidation (kind 9, LiquidationSteps.vy) runs `order.maker` and `fill.apply` for
# the maker, then for the liquidated side, then its own `liq.book`.
K_LIQUIDATE: constant(uint256) = 9
LIQ_BOOK: constant(uint256) = 161

FILL_BIT: constant(uint8) = 128
MODE_NEW: constant(uint256) = 0
MODE_RESUMED: constant(uint256) = 2
HEAD_WIDE: constant(uint256) = 32
POST_ONLY: constant(uint256) = 1
REDUCE_ONLY: constant(uint256) = 2
BUY: constant(uint256) = 0
PERPETUAL: constant(int256) = 1
MAKER_AT: constant(uint256) = 22  # after origin, sender and kind
ORDER_BYTES: constant(uint256) = 41  # a wide order's head and fields
SIGNATURE_BYTES: constant(uint256) = 64

# rollbook.exchange.orders.ORDER_TYPEHASH
ORDER_TYPEHASH: constant(bytes32) = 0xd25d46c19bdcef59d8317a91d3e559d44e5c9bf313de0af24e8043c09a975e13

# Account leaf: the keys (20 bytes at KEYS_AT + 25 i), the nonce floor.
KEYS_AT: constant(uint256) = 69
MAX_KEYS: constant(uint256) = 4
NONCE_FLOOR_AT: constant(uint256) = 165
# Order slot leaf (rollbook.exchange.leaves.OrderSlot): nonce, filled, digest, signer.
SLOT_NONCE_AT: constant(uint256) = 2
SLOT_FILLED_AT: constant(uint256) = 35
SLOT_HASH_AT: constant(uint256) = 72
SLOT_SIGNER_AT: constant(uint256) = 109
G_MAX_POSITIONS: constant(uint256) = 6
G_MAX_ORDER_LIFETIME: constant(uint256) = 7

CODE_INVALID: constant(uint256) = 11029
CODE_UNAUTHORIZED: constant(uint256) = 13009
CODE_UNKNOWN_ACCOUNT: constant(uint256) = 10004
CODE_UNKNOWN_INSTRUMENT: constant(uint256) = 10013
CODE_ORDER: constant(uint256) = 10010  # expired, cancelled, slot conflict, over-fill
CODE_PRICE: constant(uint256) = 10011
CODE_POST_ONLY: constant(uint256) = 11054
CODE_REDUCE_ONLY: constant(uint256) = 11049
E_MALFORMED: constant(bytes32) = 0x4d616c666f726d65645478000000000000000000000000000000000000000000  # "MalformedTx"
E_BAD_SIGNATURE: constant(bytes32) = 0x4261645369676e61747572650000000000000000000000000000000000000000  # "BadSignature"
E_UNKNOWN_ACCOUNT: constant(bytes32) = 0x556e6b6e6f776e4163636f756e74000000000000000000000000000000000000  # "UnknownAccount"
E_UNKNOWN_INSTRUMENT: constant(bytes32) = 0x556e6b6e6f776e496e737472756d656e74000000000000000000000000000000  # "UnknownInstrument"
E_ORDER_EXPIRED: constant(bytes32) = 0x4f72646572457870697265640000000000000000000000000000000000000000  # "OrderExpired"
E_ORDER_CANCELLED: constant(bytes32) = 0x4f7264657243616e63656c6c6564000000000000000000000000000000000000  # "OrderCancelled"
E_SLOT_CONFLICT: constant(bytes32) = 0x536c6f74436f6e666c6963740000000000000000000000000000000000000000  # "SlotConflict"
E_OVER_FILL: constant(bytes32) = 0x4f76657246696c6c000000000000000000000000000000000000000000000000  # "OverFill"
E_FEE_TOO_HIGH: constant(bytes32) = 0x466565546f6f4869676800000000000000000000000000000000000000000000  # "FeeTooHigh"
E_PRICE: constant(bytes32) = 0x50726963654e6f74416c6c6f7765640000000000000000000000000000000000  # "PriceNotAllowed"
E_POST_ONLY: constant(bytes32) = 0x506f73744f6e6c7954616b657200000000000000000000000000000000000000  # "PostOnlyTaker"
E_REDUCE_ONLY: constant(bytes32) = 0x5265647563654f6e6c7956696f6c6174696f6e00000000000000000000000000  # "ReduceOnlyViolation"

# Refusals, by number (`_refusal` gives each its receipt's code and error name).
ACCEPTED: constant(uint256) = 0
R_UNKNOWN_INSTRUMENT: constant(uint256) = 1
R_PRICE: constant(uint256) = 2
R_UNKNOWN_ACCOUNT: constant(uint256) = 3
R_EXPIRED: constant(uint256) = 4
R_CANCELLED: constant(uint256) = 5
R_FEE: constant(uint256) = 6
R_SIGNATURE: constant(uint256) = 7
R_SLOT: constant(uint256) = 8
R_OVER_FILL: constant(uint256) = 9
R_POSITION_LIMIT: constant(uint256) = 10
R_REDUCE_ONLY: constant(uint256) = 11

struct Order:
    account: uint256
    instrument: uint256
    side: uint256  # 0 buy, 1 sell
    price: uint256
    size: uint256
    max_fee_ppm: uint256
    expiry: uint256
    slot: uint256
    nonce: uint256
    flags: uint256
    signed: bool
    r: uint256  # the EIP-2098 signature, when signed
    vs: uint256

struct FillTx:
    maker: Order
    taker: Order
    size: uint256

domain_separator: public(bytes32)


@deploy
def __init__(domain_separator: bytes32):
    self.domain_separator = domain_separator


# -- the item --------------------------------------------------------------------------


@pure
@internal
def _u(item: Bytes[steps.MAX_ITEM], at: uint256, size: uint256) -> uint256:
    """The big-endian unsigned field of `size` (1, 2, 4 or 8) bytes at `at`."""
    if size == 1:
        return convert(slice(item, at, 1), uint256)
    if size == 2:
        return convert(slice(item, at, 2), uint256)
    if size == 4:
        return convert(slice(item, at, 4), uint256)
    return convert(slice(item, at, 8), uint256)


@pure
@internal
def _order(item: Bytes[steps.MAX_ITEM], at: uint256, mode: uint256, maker: Order) -> (Order, uint256):
    """The order written at `at` (the maker's when `maker.size` is 0, else the
    taker's, which inherits the maker's instrument, side and possibly price); returns
    it and the offset after it."""
    head: uint256 = self._u(item, at, 1)
    assert head & HEAD_WIDE != 0, "TradingSteps: a standalone order is written wide"
    o: Order = empty(Order)
    o.flags = (head >> 1) & 15
    o.account = self._u(item, at + 1, 4)
    p: uint256 = at + 5
    if maker.size == 0:
        o.side = head & 1
        o.instrument = self._u(item, p, 2)
        o.price = self._u(item, p + 2, 8)
        p += 10
    else:
        o.side = 1 - maker.side
        o.instrument = maker.instrument
        if head & 1 == 1:
            o.price = maker.price
        else:
            o.price = self._u(item, p, 8)
            p += 8
    o.size = self._u(item, p, 8)
    o.max_fee_ppm = self._u(item, p + 8, 4)
    o.expiry = self._u(item, p + 12, 8)
    o.slot = self._u(item, p + 20, 2)
    o.nonce = self._u(item, p + 22, 4)
    p += 26
    assert mode == MODE_NEW or mode == MODE_RESUMED, "TradingSteps: a standalone order is new or resumed"
    if mode == MODE_NEW:
        o.signed = True
        o.r = convert(slice(item, p, 32), uint256)
        o.vs = convert(slice(item, p + 32, 32), uint256)
        p += SIGNATURE_BYTES
    return o, p


@pure
@internal
def _is_fill(item: Bytes[steps.MAX_ITEM]) -> bool:
    return convert(slice(item, steps.KIND_AT, 1), uint8) & FILL_BIT != 0


@pure
@internal
def _decode(item: Bytes[steps.MAX_ITEM]) -> FillTx:
    kind: uint256 = self._u(item, steps.KIND_AT, 1)
    fill: FillTx = empty(FillTx)
    at: uint256 = 0
    fill.maker, at = self._order(item, MAKER_AT, (kind >> 5) & 3, empty(Order))
    fill.taker, at = self._order(item, at, (kind >> 3) & 3, fill.maker)
    if kind & 4 != 0:
        fill.size = fill.taker.size
    else:
        fill.size = self._u(item, at, 8)
        at += 8
    assert len(item) == at, "TradingSteps: the item is one fill"
    return fill


@pure
@internal
def _liquidation(item: Bytes[steps.MAX_ITEM]) -> FillTx:
    """A Liquidate item (kind 9 | mode u8 | account u32 | size u64 | the maker order)
    as a fill: the maker, and the liquidated side as a reduce-only taker on the other
    side at the maker's price (its fee rate, 0, is carried)."""
    assert self._u(item, steps.KIND_AT, 1) == K_LIQUIDATE, "TradingSteps: not a fill or a liquidation"
    fill: FillTx = empty(FillTx)
    at: uint256 = 0
    fill.maker, at = self._order(item, 35, self._u(item, 22, 1), empty(Order))
    assert len(item) == at, "TradingSteps: the item is one liquidation"
    fill.size = self._u(item, 27, 8)
    fill.taker.account = self._u(item, 23, 4)
    fill.taker.instrument = fill.maker.instrument
    fill.taker.side = 1 - fill.maker.side
    fill.taker.price = fill.maker.price
    fill.taker.flags = REDUCE_ONLY
    return fill


@pure
@internal
def _struct_hash(o: Order) -> bytes32:
    """orders.Order.struct_hash: the type hash, then one word per field."""
    return keccak256(concat(
        ORDER_TYPEHASH,
        convert(o.account, bytes32),
        convert(o.instrument, bytes32),
        convert(o.side, bytes32),
        convert(o.price, bytes32),
        convert(o.size, bytes32),
        convert(o.max_fee_ppm, bytes32),
        convert(o.expiry, bytes32),
        convert(o.slot, bytes32),
        convert(o.nonce, bytes32),
        convert(o.flags, bytes32),
    ))


@pure
@internal
def _i(number: uint256) -> int256:
    return convert(number, int256)


@pure
@internal
def _fail(ctx: steps.Context, why: uint256) -> steps.Context:
    """The context after a refusal, with its receipt's code and error name."""
    code: uint256 = CODE_REDUCE_ONLY
    error: bytes32 = E_REDUCE_ONLY
    if why == R_UNKNOWN_INSTRUMENT:
        code = CODE_UNKNOWN_INSTRUMENT
        error = E_UNKNOWN_INSTRUMENT
    elif why == R_PRICE:
        code = CODE_PRICE
        error = E_PRICE
    elif why == R_UNKNOWN_ACCOUNT:
        code = CODE_UNKNOWN_ACCOUNT
        error = E_UNKNOWN_ACCOUNT
    elif why == R_EXPIRED:
        code = CODE_ORDER
        error = E_ORDER_EXPIRED
    elif why == R_CANCELLED:
        code = CODE_ORDER
        error = E_ORDER_CANCELLED
    elif why == R_FEE:
        code = CODE_INVALID
        error = E_FEE_TOO_HIGH
    elif why == R_SIGNATURE:
        code = CODE_UNAUTHORIZED
        error = E_BAD_SIGNATURE
    elif why == R_SLOT:
        code = CODE_ORDER
        error = E_SLOT_CONFLICT
    elif why == R_OVER_FILL:
        code = CODE_ORDER
        error = E_OVER_FILL
    elif why == R_POSITION_LIMIT:
        code = positions.CODE_POSITION_LIMIT
        error = positions.E_POSITION_LIMIT
    return steps.fail(ctx, code, error)


# -- the steps -------------------------------------------------------------------------


@pure
@external
def begin(ctx: steps.Context, item: Bytes[steps.MAX_ITEM]) -> steps.Context:
    """A fill's load: the refusals `settle_fill` makes before its first step (the
    codec already gives a taker the maker's instrument and the other side)."""
    fill: FillTx = self._decode(item)
    if fill.maker.account == fill.taker.account:
        return steps.refuse(ctx, CODE_INVALID, E_MALFORMED)
    if fill.taker.flags & POST_ONLY != 0:
        return steps.refuse(ctx, CODE_POST_ONLY, E_POST_ONLY)
    out: steps.Context = ctx
    out.pc = FILL_INSTRUMENT
    return out


@pure
@internal
def _instrument(ctx: steps.Context, fill: FillTx, leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> (uint256, int256[steps.CARRY]):
    """`fill.instrument` (trading.active_instrument and the grid and limit checks):
    a refusal, or the carry of the order checks."""
    carry: int256[steps.CARRY] = empty(int256[steps.CARRY])
    inst: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, steps.int_key(b"inst", fill.maker.instrument))
    if len(inst) == 0:
        return R_UNKNOWN_INSTRUMENT, carry
    at: steps.InstrumentAt = steps.instrument_at(inst)
    active: bool = convert(slice(inst, at.active + 1, 1), uint256) == 1
    expired: bool = steps.int_at(inst, at.kind) != PERPETUAL and self._i(ctx.timestamp) >= steps.int_at(inst, at.expiry)
    if not active or expired:
        return R_UNKNOWN_INSTRUMENT, carry
    price: int256 = self._i(fill.maker.price)
    if price % steps.int_at(inst, at.tick) != 0 or self._i(fill.size) % steps.int_at(inst, at.lot) != 0:
        return R_PRICE, carry
    if (fill.taker.side == BUY and fill.maker.price > fill.taker.price) or (
        fill.taker.side != BUY and fill.maker.price < fill.taker.price
    ):
        return R_PRICE, carry
    glob: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, steps.globals_path())
    assert len(glob) > 0, "TradingSteps: the globals are missing"
    carry[0] = steps.int_at(glob, steps.field_at(G_MAX_POSITIONS))
    carry[1] = steps.int_at(inst, at.maker_fee_ppm)
    carry[2] = steps.int_at(inst, at.taker_fee_ppm)
    return ACCEPTED, carry


@pure
@internal
def _has_key(account: Bytes[steps.MAX_LEAF], signer: address) -> bool:
    for i: uint256 in range(MAX_KEYS):
        if convert(slice(account, KEYS_AT + 25 * i, 20), address) == signer:
            return True
    return False


@pure
@internal
def _slot_path(o: Order) -> bytes32:
    return keccak256(concat(
        b"\x05\x00\x00\x00\x03\x04\x00\x00\x00\x04slot\x02", convert(o.account, bytes32), b"\x02", convert(o.slot, bytes32)
    ))


@view
@internal
def _consume(ctx: steps.Context, o: Order, size: uint256, fee_ppm: int256, leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> (uint256, Bytes[steps.MAX_LEAF]):
    """`order.maker` / `order.taker` (trading._consume_order), in its order of
    checks and reads — the account, the globals' lifetime bound, then the slot: a
    refusal, or the slot after the fill."""
    account: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, steps.int_key(b"acct", o.account))
    if len(account) == 0:
        return R_UNKNOWN_ACCOUNT, b""
    glob: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, steps.globals_path())
    assert len(glob) > 0, "TradingSteps: the globals are missing"
    lifetime: int256 = steps.int_at(glob, steps.field_at(G_MAX_ORDER_LIFETIME))
    now: int256 = self._i(ctx.timestamp)
    if self._i(o.expiry) < now or self._i(o.expiry) > now + lifetime:
        return R_EXPIRED, b""
    if self._i(o.nonce) < steps.int_at(account, NONCE_FLOOR_AT):
        return R_CANCELLED, b""
    if fee_ppm > self._i(o.max_fee_ppm):
        return R_FEE, b""
    digest: bytes32 = steps.typed_digest(self.domain_separator, self._struct_hash(o))
    slot: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, self._slot_path(o))
    slot_nonce: int256 = 0
    slot_hash: bytes32 = empty(bytes32)
    filled: int256 = 0
    if len(slot) > 0:
        slot_nonce = steps.int_at(slot, SLOT_NONCE_AT)
        slot_hash = extract32(slot, SLOT_HASH_AT)
    nonce: int256 = self._i(o.nonce)
    if nonce < slot_nonce:
        return R_CANCELLED, b""
    signer: address = empty(address)
    if nonce == slot_nonce and slot_hash == digest:
        # A repeat fill: proven by the slot's digest and signer, if the key still is.
        signer = convert(slice(slot, SLOT_SIGNER_AT, 20), address)
        if not self._has_key(account, signer):
            return R_SIGNATURE, b""
        filled = steps.int_at(slot, SLOT_FILLED_AT)
    elif nonce == slot_nonce and slot_hash != empty(bytes32):
        return R_SLOT, b""
    else:
        # A first fill: one of the account's trading keys signed it (a resumed order
        # carries no signature and cannot be one).
        if o.signed:
            signer = steps.signer(digest, o.r, o.vs)
        if signer == empty(address) or not self._has_key(account, signer):
            return R_SIGNATURE, b""
    filled += self._i(size)
    if filled > self._i(o.size):
        return R_OVER_FILL, b""
    return ACCEPTED, concat(
        b"\x03",
        b"\x02", convert(o.nonce, bytes32),
        b"\x02", convert(filled, bytes32),
        b"\x03\x00\x00\x00\x20", digest,
        b"\x03\x00\x00\x00\x14", convert(signer, bytes20),
    )


@pure
@internal
def _apply(ctx: steps.Context, fill: FillTx, leaves: DynArray[steps.Leaf, steps.MAX_READS], is_maker: bool) -> (uint256, DynArray[steps.Change, steps.MAX_WRITES], int256[steps.CARRY]):
    """`fill.apply` (trading.apply_side) for the maker (the tx's step 3) or the
    taker: settle the position, then trade it, then the reduce-only rule; a refusal,
    or the changes and the carry with this side's (old, new, cash)."""
    changes: DynArray[steps.Change, steps.MAX_WRITES] = []
    o: Order = fill.taker
    fee_ppm: int256 = ctx.carry[2]
    at_carry: uint256 = 6
    if is_maker:
        o = fill.maker
        fee_ppm = ctx.carry[1]
        at_carry = 3
    apath: bytes32 = steps.int_key(b"acct", o.account)
    ppath: bytes32 = positions.position_path(o.account, o.instrument)
    ipath: bytes32 = steps.int_key(b"inst", o.instrument)
    account0: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, apath)
    position0: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, ppath)
    inst0: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, ipath)
    assert len(account0) > 0 and len(inst0) > 0, "TradingSteps: a leaf is missing"
    at: steps.InstrumentAt = steps.instrument_at(inst0)
    account: Bytes[steps.MAX_LEAF] = empty(Bytes[steps.MAX_LEAF])
    position: Bytes[steps.MAX_LEAF] = empty(Bytes[steps.MAX_LEAF])
    inst: Bytes[steps.MAX_LEAF] = empty(Bytes[steps.MAX_LEAF])
    account, position, inst = positions.settle_loaded(account0, position0, inst0, at)
    price: int256 = self._i(fill.maker.price)
    size: int256 = self._i(fill.size)
    delta: int256 = size
    if o.side != BUY:
        delta = -size
    cash: int256 = -positions.notional(price, delta) - positions.fee(price, size, fee_ppm)
    ok: bool = False
    old: int256 = 0
    new: int256 = 0
    ok, account, position, old, new = positions.change_position(
        account, position, inst, at, o.instrument, delta, price, cash, convert(ctx.carry[0], uint256)
    )
    carry: int256[steps.CARRY] = ctx.carry
    if not ok:
        return R_POSITION_LIMIT, changes, carry
    if o.flags & REDUCE_ONLY != 0 and (abs(new) >= abs(old) or (new != 0 and (new > 0) != (old > 0))):
        return R_REDUCE_ONLY, changes, carry
    changes = [
        steps.change(apath, account0, account),
        steps.change(ppath, position0, position),
        steps.change(ipath, inst0, inst),
    ]
    carry[at_carry] = old
    carry[at_carry + 1] = new
    carry[at_carry + 2] = cash
    return ACCEPTED, changes, carry


@pure
@internal
def _book(ctx: steps.Context, fill: FillTx, leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    """`fill.book` (trading.record_trade_totals), then the maker's margin check,
    which carries the taker's after it (MarginSteps: account, return step, cursor,
    sums, then the traded instrument, old, new, cash, then the next check's account,
    old, new, cash)."""
    c: int256[steps.CARRY] = ctx.carry
    price: int256 = self._i(fill.maker.price)
    size: int256 = self._i(fill.size)
    oi_change: int256 = positions.long_open_interest_change(c[3], c[4]) + positions.long_open_interest_change(c[6], c[7])
    fees: int256 = positions.fee(price, size, c[1]) + positions.fee(price, size, c[2])
    ok: bool = False
    changes: DynArray[steps.Change, steps.MAX_WRITES] = []
    ok, changes = positions.record_trade_totals(leaves, fill.maker.instrument, oi_change, fees)
    if not ok:
        return changes, self._fail(ctx, R_POSITION_LIMIT)
    check: int256[steps.CARRY] = empty(int256[steps.CARRY])
    check[0] = self._i(fill.maker.account)
    check[1] = self._i(MARGIN_BEGIN)
    check[6] = self._i(fill.maker.instrument)
    check[7] = c[3]
    check[8] = c[4]
    check[9] = c[5]
    check[10] = self._i(fill.taker.account)
    check[11] = c[6]
    check[12] = c[7]
    check[13] = c[8]
    return changes, steps.next_step(ctx, MARGIN_BEGIN, check)


@view
@external
def rule(
    ctx: steps.Context,
    item: Bytes[steps.MAX_ITEM],
    leaves: DynArray[steps.Leaf, steps.MAX_READS],
    aux: Bytes[steps.MAX_AUX],
) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    liquidation: bool = not self._is_fill(item)
    fill: FillTx = empty(FillTx)
    if liquidation:
        fill = self._liquidation(item)
    else:
        fill = self._decode(item)
    pc: uint256 = ctx.pc
    nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
    why: uint256 = ACCEPTED
    if pc == FILL_INSTRUMENT:
        carry: int256[steps.CARRY] = empty(int256[steps.CARRY])
        why, carry = self._instrument(ctx, fill, leaves)
        if why != ACCEPTED:
            return nothing, self._fail(ctx, why)
        return nothing, steps.next_step(ctx, ORDER_MAKER, carry)
    if pc == ORDER_MAKER or pc == ORDER_TAKER:
        o: Order = fill.maker
        fee_ppm: int256 = ctx.carry[1]
        after: uint256 = ORDER_TAKER
        if liquidation:
            after = FILL_APPLY
        if pc == ORDER_TAKER:
            o = fill.taker
            fee_ppm = ctx.carry[2]
            after = FILL_APPLY
        slot: Bytes[steps.MAX_LEAF] = b""
        why, slot = self._consume(ctx, o, fill.size, fee_ppm, leaves)
        if why != ACCEPTED:
            return nothing, self._fail(ctx, why)
        spath: bytes32 = self._slot_path(o)
        return [steps.change(spath, steps.leaf(leaves, spath), slot)], steps.next_step(ctx, after, ctx.carry)
    if pc == FILL_APPLY:
        changes: DynArray[steps.Change, steps.MAX_WRITES] = []
        carried: int256[steps.CARRY] = empty(int256[steps.CARRY])
        # The maker's side comes first: a fill's step 3; in a liquidation (whose
        # health check comes first) the one before any side's sizes are carried.
        is_maker: bool = ctx.step == MAKER_APPLY_STEP
        after_apply: uint256 = FILL_BOOK
        if liquidation:
            is_maker = ctx.carry[3] == 0 and ctx.carry[4] == 0
            after_apply = LIQ_BOOK
        why, changes, carried = self._apply(ctx, fill, leaves, is_maker)
        if why != ACCEPTED:
            return nothing, self._fail(ctx, why)
        if is_maker:
            after_apply = FILL_APPLY
        return changes, steps.next_step(ctx, after_apply, carried)
    if pc == FILL_BOOK and not liquidation:
        return self._book(ctx, fill, leaves)
    raise "TradingSteps: not a trading step"
