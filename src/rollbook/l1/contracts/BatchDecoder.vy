# pragma version 0.4.3
# pragma evm-version prague
"""
@title BatchDecoder
@notice The batch item decoder on-chain: a second implementation of
        `rollbook.codec.batch.decode_item` and `rollbook.codec.txcodec` (the Python
        is the spec; docs/design/batch.md sections 2 and 3 the layout). The one-step
        executor (#7) proves an item under a batch's tx root and asks `standalone`
        what tx it is: the tx's context-free encoding (`encode_standalone`, what a
        block's tx root holds), or that it is unreadable (`Unreadable`, refused in
        its place by the STF).
@dev    An item is read in its context: the batch's time, its first block's
        timestamp (a narrow order's expiry is an offset from it; one time for every
        item, so a named item needs no proof of its own), the batch head's instrument
        table (a narrow
        order's prices in ticks and sizes in lots) and the earlier items its order
        references name. A reference `item << 1 | part` names a *referable* part: a
        new or resumed order that decodes in its own item (for a taker part, after its
        item's maker, itself new or resumed, decodes). So a reference never leads to another, and one item names at most
        two others. Only what a batch may carry decodes: fills, liquidations, signed
        owner txs, settlements, backstops and oracle reports.

        Every check of the Python decoder and of the constructors it builds the tx
        with (`Order`, `Fill`, `Liquidate`, `OracleUpdate`, the owner txs) is made
        here, and nothing else; the answer is a bool, so their order does not matter
        except where it decides whether a part is referable (`_referable`). Nothing
        here reverts on any item bytes: a revert would let a lying party block a
        proof. Only an input the caller guarantees is asserted: the table is whole
        entries (of strictly increasing ids, tick and lot > 0, which is assumed).
"""

import ownertx

struct Named:
    index: uint256  # the batch item index of a referenced item
    item: Bytes[MAX_ITEM]  # its compact bytes

struct Entry:  # an instrument table entry
    found: bool
    instrument: uint256
    tick: uint256
    lot: uint256

struct Order:
    account: uint256
    instrument: uint256
    side: uint256  # 0 buy, 1 sell
    price: uint256
    size: uint256
    max_fee: uint256
    expiry: uint256
    slot: uint256
    nonce: uint256
    flags: uint256
    signed: bool  # false for a resumed or referenced order (NO_SIGNATURE)
    r: bytes32
    vs: bytes32  # EIP-2098: yParity·2^255 + s, as written
    grid: Entry  # its instrument's table entry, if any

MAX_ITEM: constant(uint256) = 4096
WINDOW: constant(uint256) = 128  # at least an order part's longest form: a wide maker and its signature, 105 bytes
PADDED: constant(uint256) = MAX_ITEM + WINDOW
MAX_TABLE: constant(uint256) = 4590  # 255 entries
ENTRY: constant(uint256) = 18  # id u16, tick u64, lot u64
MAX_NAMED: constant(uint256) = 2
U64_MAX: constant(uint256) = 2**64 - 1

FILL_BIT: constant(uint256) = 128
K_SETTLE_ACCOUNT: constant(uint256) = 7
K_BACKSTOP: constant(uint256) = 8
K_LIQUIDATE: constant(uint256) = 9
K_ORACLE: constant(uint256) = 10
LIQUIDATION_MAKER: constant(uint256) = 14  # kind, mode u8, account u32, size u64, then the maker

# Order modes inside a fill or liquidation.
NEW: constant(uint256) = 0
REF: constant(uint256) = 1
RESUMED: constant(uint256) = 2

# A fill's kind byte: 1 MM TT W Z 0.
FILL_WHOLE: constant(uint256) = 4  # the taker's whole size: no size field
FILL_WIDE: constant(uint256) = 2  # the size is a u64, not u24 lots
FILL_RESERVED: constant(uint256) = 1

# An order's head byte: side (maker) or at the maker's price (taker), flags, wide.
HEAD_SIDE: constant(uint256) = 1
HEAD_AT_MAKER_PRICE: constant(uint256) = 1
HEAD_WIDE: constant(uint256) = 32
HEAD_RESERVED: constant(uint256) = 192
POST_ONLY: constant(uint256) = 1
IOC: constant(uint256) = 4
FOK: constant(uint256) = 8

# OracleUpdate
MAX_ORACLE_ENTRIES: constant(uint256) = 256
MIN_VOL_PPM: constant(uint256) = 10000
MAX_VOL_PPM: constant(uint256) = 5000000


@view
@external
def standalone(item: Bytes[MAX_ITEM], index: uint256, timestamp: uint256, table: Bytes[MAX_TABLE], named: DynArray[Named, MAX_NAMED]) -> (bool, Bytes[MAX_ITEM]):
    """The tx batch item `item` (number `index` of its batch, whose time is
    `timestamp`) decodes to, in its context-free encoding: `(True, encoding)`, or
    `(False, b"")` when the item is unreadable. `table` is the batch head's
    instrument table; `named` holds the earlier items the item's references name
    (others are ignored; a reference to an item not among them makes the item
    unreadable)."""
    assert len(table) % ENTRY == 0, "BatchDecoder: the table is whole entries"
    n: uint256 = len(item)
    if n == 0:
        return False, b""
    kind: uint256 = convert(slice(item, 0, 1), uint256)
    if kind & FILL_BIT == 0 and kind != K_LIQUIDATE:
        # The other kinds are written in their standalone encoding already.
        if self._plain(item, kind):
            return True, item
        return False, b""

    # A fill: its maker and taker parts, then its size unless it is the taker's
    # whole size; or a liquidation: mode, account, size, then its maker part.
    # (Everything is read here, so the item, the table and `named` are copied
    # into one frame only: memory is paid for by its high-water mark.)
    data: Bytes[PADDED] = self._padded(item)
    modes: uint256[2] = [(kind >> 5) & 3, (kind >> 3) & 3]
    parts: uint256 = 2
    at: uint256 = 1
    if kind == K_LIQUIDATE:
        if n < LIQUIDATION_MAKER:
            return False, b""
        modes[0] = self._uint(extract32(data, 1), 1)
        if modes[0] > RESUMED:
            return False, b""
        parts = 1
        at = LIQUIDATION_MAKER
    elif kind & FILL_RESERVED != 0 or (kind & FILL_WHOLE != 0 and kind & FILL_WIDE != 0):
        return False, b""
    orders: Order[2] = empty(Order[2])
    for p: uint256 in range(2):
        if p == parts:
            break
        taker: bool = p == 1
        ok: bool = False
        o: Order = empty(Order)
        if modes[p] == REF:
            # A reference to a referable part of an earlier item among `named`: that
            # order without its signature. As a taker it must trade the maker's
            # instrument on the other side.
            if at + 2 > n:
                return False, b""
            ref: uint256 = self._uint(extract32(data, at), 2)
            at += 2
            for i: uint256 in range(MAX_NAMED):
                if i < len(named) and named[i].index == ref >> 1 and ref >> 1 < index:
                    ok, o = self._referable(self._padded(named[i].item), len(named[i].item), timestamp, ref & 1, table)
                    break
            if not ok or (taker and (o.instrument != orders[0].instrument or o.side == orders[0].side)):
                return False, b""
        else:
            length: uint256 = 0
            ok, length, o = self._written(slice(data, at, WINDOW), n - at, modes[p], timestamp, table, orders[0], taker)
            if not ok:
                return False, b""
            at += length
        orders[p] = o

    if kind == K_LIQUIDATE:
        size: uint256 = self._uint(extract32(data, 6), 8)
        if at != n or size == 0:
            return False, b""
        return True, concat(
            convert(convert(K_LIQUIDATE, uint8), bytes1),
            convert(convert(self._mode(orders[0]), uint8), bytes1),
            slice(item, 2, 12),  # account u32, size u64
            self._encode_order(orders[0], empty(Order), False),
        )
    return self._fill(data, n, at, kind, orders[0], orders[1])


# -- fields ----------------------------------------------------------------------------


@pure
@internal
def _uint(word: bytes32, width: uint256) -> uint256:
    """The `width`-byte big-endian integer a word read by `extract32` starts with (a
    field at an offset the caller checked is inside the item; the item is padded with
    zeros, so the word is always there)."""
    return convert(word, uint256) >> (256 - 8 * width)


@pure
@internal
def _padded(item: Bytes[MAX_ITEM]) -> Bytes[PADDED]:
    """`item` and a window of zeros: a field or a window read at an offset inside
    the item never passes the end."""
    return concat(item, empty(bytes32), empty(bytes32), empty(bytes32), empty(bytes32))


# -- orders ----------------------------------------------------------------------------


@pure
@internal
def _written(window: Bytes[WINDOW], avail: uint256, mode: uint256, timestamp: uint256, table: Bytes[MAX_TABLE], maker: Order, taker: bool) -> (bool, uint256, Order):
    """A new or resumed order part (txcodec `decode_order_part` but references) at
    the start of `window`, of which `avail` bytes are the item's: its instrument's
    table entry looked up, then the order read. A new one carries a signature, which
    may not be the empty one. Returns (decodes, its length, the order)."""
    if mode != NEW and mode != RESUMED:
        return False, 0, empty(Order)
    # The instrument: a taker's is its maker's; a maker's is written, as a table
    # index (narrow, after the head and a u24 account) or an id (wide, after the head
    # and a u32 account).
    head: uint256 = self._uint(extract32(window, 0), 1)
    by_index: bool = False
    key: uint256 = maker.instrument
    if not taker:
        by_index = head & HEAD_WIDE == 0
        if by_index:
            key = self._uint(extract32(window, 4), 1)
        else:
            key = self._uint(extract32(window, 5), 2)
    count: uint256 = len(table) // ENTRY
    k: uint256 = count  # the entry's place, if found
    if by_index:
        k = min(key, count)
    else:
        # a binary search of the table's strictly increasing ids (255 entries: 8 halvings)
        low: uint256 = 0
        high: uint256 = count
        for _: uint256 in range(9):
            if low >= high:
                break
            mid: uint256 = (low + high) // 2
            found: uint256 = convert(slice(table, ENTRY * mid, 2), uint256)
            if found == key:
                k = mid
                break
            if found < key:
                low = mid + 1
            else:
                high = mid
    entry: Entry = empty(Entry)
    if k < count:
        entry = Entry(
            found=True,
            instrument=convert(slice(table, ENTRY * k, 2), uint256),
            tick=convert(slice(table, ENTRY * k + 2, 8), uint256),
            lot=convert(slice(table, ENTRY * k + 10, 8), uint256),
        )
    ok: bool = False
    length: uint256 = 0
    o: Order = empty(Order)
    ok, length, o = self._order(window, avail, timestamp, entry, maker, taker, mode == NEW)
    if ok and mode == NEW and o.r == empty(bytes32) and convert(o.vs, uint256) & ownertx.S_MASK == 0:
        return False, 0, empty(Order)
    return ok, length, o


@pure
@internal
def _fits(o: Order, timestamp: uint256, entry: Entry) -> bool:
    """Whether `o` fits the narrow layout (txcodec `_narrow`): its instrument in the
    table, price and size on its grid, every other value within its narrow width."""
    if not entry.found:
        return False
    if o.account >= 2**24 or o.nonce >= 2**24 or o.max_fee >= 2**16:
        return False
    if o.expiry < timestamp or o.expiry - timestamp >= 2**24:
        return False
    if o.price % entry.tick != 0 or o.size % entry.lot != 0:
        return False
    return o.price // entry.tick < 2**32 and o.size // entry.lot < 2**24


@pure
@internal
def _order(window: Bytes[WINDOW], avail: uint256, timestamp: uint256, entry: Entry, maker: Order, taker: bool, signature: bool) -> (bool, uint256, Order):
    """Read an order's fields at the start of `window` (txcodec `decode_order`), and
    its signature if `signature`. `entry` is its instrument's table entry, if any; a
    taker (`taker`) inherits `maker`'s instrument and the other side."""
    failed: Order = empty(Order)
    if avail == 0:
        return False, 0, failed
    head: uint256 = self._uint(extract32(window, 0), 1)
    if head & HEAD_RESERVED != 0:
        return False, 0, failed
    wide: bool = head & HEAD_WIDE != 0
    at_maker_price: bool = taker and head & HEAD_AT_MAKER_PRICE != 0
    # The part's length, from the head: every read below is inside the item.
    length: uint256 = 22  # narrow: head, account 3, index 1, ticks 4, lots 3, fee 2, expiry 3, slot 2, nonce 3
    if wide:
        length = 41  # head, account 4, instrument 2, price 8, size 8, fee 4, expiry 8, slot 2, nonce 4
    if taker:
        length -= 2 if wide else 1
    if at_maker_price:
        length -= 8 if wide else 4
    if signature:
        length += ownertx.SIGNATURE_BYTES
    if length > avail:
        return False, 0, failed

    o: Order = empty(Order)
    o.flags = (head >> 1) & 15
    o.grid = entry
    at: uint256 = 1
    if wide:
        o.account = self._uint(extract32(window, at), 4)
        at += 4
        if taker:
            o.instrument = maker.instrument
        else:
            o.instrument = self._uint(extract32(window, at), 2)
            at += 2
        if at_maker_price:
            o.price = maker.price
        else:
            o.price = self._uint(extract32(window, at), 8)
            at += 8
        o.size = self._uint(extract32(window, at), 8)
        o.max_fee = self._uint(extract32(window, at + 8), 4)
        o.expiry = self._uint(extract32(window, at + 12), 8)
        at += 20
    else:
        if not entry.found:
            return False, 0, failed  # a narrow order's instrument is in the table
        o.account = self._uint(extract32(window, at), 3)
        at += 3
        o.instrument = entry.instrument
        if not taker:
            at += 1  # the table index
        if at_maker_price:
            o.price = maker.price
        else:
            o.price = self._uint(extract32(window, at), 4) * entry.tick
            at += 4
        o.size = self._uint(extract32(window, at), 3) * entry.lot
        o.max_fee = self._uint(extract32(window, at + 3), 2)
        if timestamp > U64_MAX:
            return False, 0, failed  # the expiry would be beyond a u64 (and the sum could overflow)
        o.expiry = timestamp + self._uint(extract32(window, at + 5), 3)
        at += 8
    o.slot = self._uint(extract32(window, at), 2)
    at += 2
    if wide:
        o.nonce = self._uint(extract32(window, at), 4)
        at += 4
    else:
        o.nonce = self._uint(extract32(window, at), 3)
        at += 3
    if taker:
        o.side = 1 - maker.side
    else:
        o.side = head & HEAD_SIDE

    # `Order`'s constructor (the other fields fit their wire widths by construction).
    if o.price == 0 or o.price > U64_MAX or o.size == 0 or o.size > U64_MAX or o.expiry > U64_MAX:
        return False, 0, failed
    if o.flags & IOC != 0 and o.flags & FOK != 0:
        return False, 0, failed
    if o.flags & POST_ONLY != 0 and o.flags & (IOC | FOK) != 0:
        return False, 0, failed
    # Canonical: narrow exactly when it fits; a taker at the maker's price says so.
    if wide == self._fits(o, timestamp, entry):
        return False, 0, failed
    if taker and not at_maker_price and o.price == maker.price:
        return False, 0, failed

    if signature:
        o.r = extract32(window, at)
        o.vs = extract32(window, at + 32)
        if not ownertx.low_s(o.vs):
            return False, 0, failed
        o.signed = True
    return True, length, o


@pure
@internal
def _referable(data: Bytes[PADDED], n: uint256, timestamp: uint256, part: uint256, table: Bytes[MAX_TABLE]) -> (bool, Order):
    """The order part `part` of an item (`n` bytes, padded, in a block at
    `timestamp`) wrote, if it is referable: what decoding the item registers
    (txcodec `decode_fill` and `decode_liquidate`: a new or resumed maker once it
    decodes, and a new or resumed taker once it decodes after such a maker), whether
    or not the rest of the item decodes. It decodes as a repeat: no signature."""
    if n == 0:
        return False, empty(Order)
    kind: uint256 = self._uint(extract32(data, 0), 1)
    ok: bool = False
    length: uint256 = 0
    o: Order = empty(Order)
    if kind & FILL_BIT != 0:
        # The reserved bits are checked before either part is read.
        if kind & FILL_RESERVED != 0 or (kind & FILL_WHOLE != 0 and kind & FILL_WIDE != 0):
            return False, empty(Order)
        ok, length, o = self._written(slice(data, 1, WINDOW), n - 1, (kind >> 5) & 3, timestamp, table, empty(Order), False)
        if ok and part == 1:
            ok, length, o = self._written(slice(data, 1 + length, WINDOW), n - 1 - length, (kind >> 3) & 3, timestamp, table, o, True)
    elif kind == K_LIQUIDATE and part == 0 and n >= LIQUIDATION_MAKER:
        mode: uint256 = self._uint(extract32(data, 1), 1)
        ok, length, o = self._written(slice(data, LIQUIDATION_MAKER, WINDOW), n - LIQUIDATION_MAKER, mode, timestamp, table, empty(Order), False)
    if not ok:
        return False, empty(Order)
    o.signed = False
    o.r = empty(bytes32)
    o.vs = empty(bytes32)
    return True, o


@pure
@internal
def _encode_order(o: Order, maker: Order, taker: bool) -> Bytes[105]:
    """An order's standalone encoding (txcodec `encode_order_part` in an empty
    context): wide, and its signature if it carries one. Every value fits its field:
    it was read from one at least as wide, or checked against `U64_MAX`."""
    head: uint256 = o.flags << 1 | HEAD_WIDE
    at_maker_price: bool = taker and o.price == maker.price
    if not taker:
        head |= o.side
    elif at_maker_price:
        head |= HEAD_AT_MAKER_PRICE
    account: bytes4 = convert(convert(o.account, uint32), bytes4)
    price: bytes8 = convert(convert(o.price, uint64), bytes8)
    rest: Bytes[26] = concat(
        convert(convert(o.size, uint64), bytes8),
        convert(convert(o.max_fee, uint32), bytes4),
        convert(convert(o.expiry, uint64), bytes8),
        convert(convert(o.slot, uint16), bytes2),
        convert(convert(o.nonce, uint32), bytes4),
    )
    fields: Bytes[40] = b""
    if not taker:
        fields = concat(account, convert(convert(o.instrument, uint16), bytes2), price, rest)
    elif at_maker_price:
        fields = concat(account, rest)
    else:
        fields = concat(account, price, rest)
    if o.signed:
        return concat(convert(convert(head, uint8), bytes1), fields, o.r, o.vs)
    return concat(convert(convert(head, uint8), bytes1), fields)


@pure
@internal
def _mode(o: Order) -> uint256:
    """An order part's mode in a standalone encoding: nothing is a reference."""
    if o.signed:
        return NEW
    return RESUMED


# -- fills -----------------------------------------------------------------------------


@pure
@internal
def _fill(data: Bytes[PADDED], n: uint256, start: uint256, kind: uint256, maker: Order, taker: Order) -> (bool, Bytes[MAX_ITEM]):
    """A fill's size after its two parts at `start` (txcodec `decode_fill` and
    `decode_size`, then `Fill`'s constructor), and its standalone encoding."""
    at: uint256 = start
    size: uint256 = taker.size
    whole: bool = kind & FILL_WHOLE != 0
    if not whole:
        entry: Entry = maker.grid
        if kind & FILL_WIDE != 0:
            if at + 8 > n:
                return False, b""
            size = self._uint(extract32(data, at), 8)
            at += 8
            # txcodec `encode_size`: u24 lots whenever the table allows
            if entry.found and size % entry.lot == 0 and size // entry.lot < 2**24:
                return False, b""
        else:
            if not entry.found or at + 3 > n:
                return False, b""
            size = self._uint(extract32(data, at), 3) * entry.lot
            at += 3
        if size == taker.size:
            return False, b""  # the whole flag says so
    if at != n or size == 0 or size > U64_MAX:
        return False, b""
    # Standalone, there is no table: a size that is not the whole one is wide.
    out_kind: uint256 = FILL_BIT | self._mode(maker) << 5 | self._mode(taker) << 3
    parts: Bytes[210] = concat(self._encode_order(maker, empty(Order), False), self._encode_order(taker, maker, True))
    if whole:
        return True, concat(convert(convert(out_kind | FILL_WHOLE, uint8), bytes1), parts)
    return True, concat(convert(convert(out_kind | FILL_WIDE, uint8), bytes1), parts, convert(convert(size, uint64), bytes8))


# -- owner txs, settlements, backstops and oracle reports -------------------------------


@pure
@internal
def _plain(item: Bytes[MAX_ITEM], kind: uint256) -> bool:
    """Whether an item of a kind with no order parts decodes: a signed owner tx, a
    settlement, a backstop or an oracle report (what else a batch may carry)."""
    if kind == K_ORACLE:
        return self._oracle(self._padded(item), len(item))
    if kind == K_SETTLE_ACCOUNT:
        return len(item) == 5  # account u32
    if kind == K_BACKSTOP:
        return len(item) == 7  # account u32, instrument u16
    # A signed owner tx: an unsigned one (with `UNSIGNED_BIT`) comes from L1 only.
    body: uint256 = ownertx.body_length(kind)
    if body == 0 or len(item) != 1 + body + ownertx.SIGNATURE_BYTES:
        return False
    if ownertx.field_problem(item, kind) != ownertx.FIELDS_OK:
        return False
    return ownertx.low_s(extract32(item, 1 + body + 32))


@pure
@internal
def _oracle(data: Bytes[PADDED], n: uint256) -> bool:
    """txcodec `decode_oracle` and `OracleUpdate`'s constructor: 1..256 entries in
    all, each list's ids strictly increasing, prices positive, vols in range, at
    least one signature, each low-s, nothing after them."""
    if n < 15:  # kind, timestamp u64, three u16 counts
        return False
    counts: uint256[3] = [self._uint(extract32(data, 9), 2), self._uint(extract32(data, 11), 2), self._uint(extract32(data, 13), 2)]
    entries: uint256 = counts[0] + counts[1] + counts[2]
    if entries == 0 or entries > MAX_ORACLE_ENTRIES:
        return False
    signers_at: uint256 = 15 + 10 * counts[0] + 10 * counts[1] + 6 * counts[2]
    if signers_at >= n:
        return False
    signers: uint256 = self._uint(extract32(data, signers_at), 1)
    if signers == 0 or n != signers_at + 1 + ownertx.SIGNATURE_BYTES * signers:
        return False
    # index prices (u16, u64), marks (u16, u64), vols (u16, u32)
    at: uint256 = 15
    for k: uint256 in range(3):
        width: uint256 = 8
        low: uint256 = 1
        high: uint256 = U64_MAX
        if k == 2:
            width = 4
            low = MIN_VOL_PPM
            high = MAX_VOL_PPM
        previous: uint256 = 0
        for e: uint256 in range(MAX_ORACLE_ENTRIES):
            if e == counts[k]:
                break
            id: uint256 = self._uint(extract32(data, at), 2)
            value: uint256 = self._uint(extract32(data, at + 2), width)
            at += 2 + width
            if (e > 0 and id <= previous) or value < low or value > high:
                return False
            previous = id
    at += 1
    for s: uint256 in range(255):
        if s == signers:
            break
        if not ownertx.low_s(extract32(data, at + 32)):
            return False
        at += ownertx.SIGNATURE_BYTES
    return True
