"""The on-chain batch item decoder (BatchDecoder.vy) against the codec.

``BatchDecoder.standalone`` is a second implementation of
:func:`rollbook.codec.batch.decode_item` (docs/design/batch.md sections 2 and 3): for
an item in its context (index, block timestamp, the head's instrument table and the
earlier items its references name) it returns the tx's standalone encoding, or that
the item is unreadable. The Python decoder is the spec; every test here asks both
and compares:

1. every item of real batches (the session's, and a batch of every catalogue tx);
2. a Hypothesis property over mutated items, random bytes after each known kind and
   mutated named items;
3. one targeted case (at least) per refusal rule of the codec and the constructors;
4. the gas of a few typical items.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from rollbook.chain.trace import AskedParts
from rollbook.codec.batch import (
    Batch,
    BatchBlock,
    decode_batch,
    decode_item,
    encode_batch,
    table_context,
)
from rollbook.codec.txcodec import (
    FILL_BIT,
    NO_SIGNATURE,
    REF,
    RESUMED,
    SECP256K1_HALF_N,
    decode_standalone,
    encode_standalone,
    encode_tx,
)
from rollbook.codec.wire import uint
from rollbook.crypto.keccak import keccak256
from rollbook.exchange.orders import Order, SignedOrder
from rollbook.exchange.txs import Fill, Liquidate, Tx, Unreadable
from rollbook.exchange.types import Side
from rollbook.sim.world import GENESIS_TIME
from tests.codec.helpers import (
    AT_MAKER_PRICE,
    NARROW_MAKER,
    NARROW_TAKER_AT_PRICE,
    PERP,
    PERP_LOT,
    PERP_TICK,
    SIGNATURE,
    WIDE_MAKER,
    catalogue,
    session,
    session_bytes,
    strip_repeats,
)
from tests.codec.test_fuzz import mutations
from tests.l1.conftest import load

SEP = session().separator
CAT = catalogue()
assert CAT.separator == SEP

Table = tuple[tuple[int, int, int], ...]


@pytest.fixture(scope="module")
def decoder() -> Any:
    """Deployed once for the module (outside each test's snapshot): it holds no state."""
    return load("BatchDecoder")


# -- the two decoders ------------------------------------------------------------------


@dataclass(frozen=True)
class Named:
    """An earlier item a reference names: its index and its bytes (it is read in the
    batch's time, as every item is)."""

    index: int
    item: bytes


def table_bytes(table: Table) -> bytes:
    return b"".join(uint(i, 2) + uint(tick, 8) + uint(lot, 8) for i, tick, lot in table)


def expected(tx: Tx) -> tuple[bool, bytes]:
    """What the contract must answer for an item the codec decodes to ``tx``."""
    if isinstance(tx, Unreadable):
        return False, b""
    return True, encode_standalone(tx, SEP)


def python_decode(
    item: bytes, index: int, timestamp: int, table: Table, named: Sequence[Named]
) -> Tx:
    """``decode_item`` as ``decode_batch`` calls it, with only ``named`` before it
    (decoded first, in the batch's time, to register their parts)."""
    ctx = table_context(SEP, table)
    for earlier in sorted(named, key=lambda n: n.index):
        ctx.item, ctx.timestamp = earlier.index, timestamp
        decode_item(earlier.item, ctx)
    ctx.item, ctx.timestamp = index, timestamp
    return decode_item(item, ctx)


def on_chain(
    decoder: Any, item: bytes, index: int, timestamp: int, table: Table, named: Sequence[Named]
) -> tuple[bool, bytes]:
    ok, out = decoder.standalone(
        item,
        index,
        timestamp,
        table_bytes(table),
        [(n.index, n.item) for n in named],
    )
    return ok, bytes(out)


def agree(
    decoder: Any,
    item: bytes,
    index: int = 2,
    timestamp: int = 0,
    table: Table = (),
    named: Sequence[Named] = (),
) -> bool:
    """Both decoders give the same answer for ``item``; returns whether it decodes."""
    want = expected(python_decode(item, index, timestamp, table, named))
    assert on_chain(decoder, item, index, timestamp, table, named) == want, item.hex()
    return want[0]


@dataclass(frozen=True)
class DecodedBatch:
    """A batch's items with the time each is read in (the batch's: its first block's
    timestamp) and its table."""

    items: tuple[bytes, ...]
    timestamps: tuple[int, ...]
    table: Table
    txs: tuple[Tx, ...]


def decoded(data: bytes) -> DecodedBatch:
    batch, items = decode_batch(data, SEP)
    timestamps = tuple(batch.blocks[0].timestamp for b in batch.blocks for _ in b.txs)
    txs = tuple(tx for b in batch.blocks for tx in b.txs)
    return DecodedBatch(items, timestamps, batch.instruments, txs)


def decode_in_batch(batch: DecodedBatch, index: int) -> tuple[Tx, list[Named]]:
    """Item ``index`` decoded as ``decode_batch`` does (every earlier item first), and
    the earlier items its references look up."""
    ctx = table_context(SEP, batch.table)
    parts = AskedParts()
    ctx.parts = parts
    for i in range(index):
        ctx.item, ctx.timestamp = i, batch.timestamps[index]
        decode_item(batch.items[i], ctx)
    parts.asked.clear()
    ctx.item, ctx.timestamp = index, batch.timestamps[index]
    tx = decode_item(batch.items[index], ctx)
    named: dict[int, Named] = {}
    for ref in parts.asked:
        i = ref >> 1
        named.setdefault(i, Named(i, batch.items[i]))
    return tx, list(named.values())


# -- 1. real batches -------------------------------------------------------------------


@functools.cache
def kitchen_sink() -> bytes:
    """A batch of every catalogue tx (a maker used again goes by reference), orders
    narrow on the table: the kinds a batch may not carry are unreadable items."""
    txs = strip_repeats(tx for _, tx in CAT.txs)
    block = BatchBlock(CAT.now, 5, txs)
    return encode_batch(Batch(9, 3, (block,), ((PERP, PERP_TICK, PERP_LOT),)), SEP).data


def real_batches() -> list[bytes]:
    return [*session_bytes(), kitchen_sink()]


@functools.cache
def real_decoded() -> tuple[DecodedBatch, ...]:
    return tuple(decoded(data) for data in real_batches())


@pytest.mark.parametrize("which", range(len(real_batches())))
def test_every_item_of_a_real_batch(decoder: Any, which: int) -> None:
    """Each item's answer is its tx's standalone encoding (or unreadable), with the
    items its references name, their timestamps and the batch's table."""
    batch = real_decoded()[which]
    readable = 0
    for index, tx in enumerate(batch.txs):
        again, named = decode_in_batch(batch, index)
        assert again == tx
        item, timestamp = batch.items[index], batch.timestamps[index]
        got = on_chain(decoder, item, index, timestamp, batch.table, named)
        assert got == expected(tx), (index, tx)
        readable += got[0]
    assert readable > 0


NOT_SEQUENCED = {
    "deposit",
    "forced-close",
    "list-instrument",
    "list-option-chain",
    "set-instrument-params",
    "set-oracle",
    "set-oracle-empty",
    "set-risk-params",
}


def test_every_catalogue_tx_standalone(decoder: Any) -> None:
    """Each catalogue tx's standalone encoding as an item of a batch with no table:
    what a batch may carry decodes to itself, the rest (deposits, governance, forced
    closes, unsigned owner txs) is unreadable."""
    for name, tx in CAT.txs:
        item = encode_standalone(tx, SEP)
        readable = agree(decoder, item, 0, CAT.now)
        assert readable == (not name.endswith("-forced") and name not in NOT_SEQUENCED), name


# -- 2. mutated items in a batch context -----------------------------------------------


def item_sources() -> list[bytes]:
    """Every item of the real batches and every catalogue tx's standalone encoding."""
    items = [item for batch in real_decoded() for item in batch.items]
    return items + [encode_standalone(tx, SEP) for _, tx in CAT.txs]


KINDS = sorted(
    {item[0] for item in item_sources()}
    | {0x09, 0x41, 0x46, 0x80, 0x88, 0x90, 0xA0, 0xA4, 0xAC, 0xB0, 0xC0, 0xC4, 0xE0}
)


@functools.cache
def naming_items() -> list[tuple[DecodedBatch, int]]:
    """The items of the real batches whose references name earlier items."""
    return [
        (batch, index)
        for batch in real_decoded()
        for index in range(len(batch.items))
        if decode_in_batch(batch, index)[1]
    ]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[DecodedBatch, int, bytes, int]:
    """(earlier items in context, the item's index, the item, its timestamp): an
    item of a real batch with one byte changed or mutated more, or random bytes after
    a known kind (sometimes with a reference to an earlier item first), or an item
    whose named items are mutated; at a place in a real batch, after its earlier
    items."""
    source = draw(st.sampled_from(real_decoded()))
    index = draw(st.integers(0, len(source.items)))
    items = list(source.items[:index])
    timestamps = list(source.timestamps[:index])
    timestamp = source.timestamps[min(index, len(source.items) - 1)]
    how = draw(
        st.sampled_from(["one byte", "mutated", "kind", "kind and reference", "named mutated"])
    )
    if how == "one byte":
        # an item in its place, its length kept: it often still decodes, to other values
        index = draw(st.integers(0, len(source.items) - 1))
        items, timestamps = list(source.items[:index]), list(source.timestamps[:index])
        timestamp = source.timestamps[index]
        edited = bytearray(source.items[index])
        edited[draw(st.integers(0, len(edited) - 1))] = draw(st.integers(0, 255))
        item = bytes(edited)
    elif how == "mutated":
        item = draw(mutations(item_sources()))
    elif how == "kind":
        item = bytes([draw(st.sampled_from(KINDS))]) + draw(st.binary(max_size=200))
    elif how == "kind and reference":
        kind = draw(st.sampled_from([k for k in KINDS if k & 0x80 and (k >> 5) & 3 == 1]))
        ref = draw(st.integers(0, 2 * index + 1))
        item = bytes([kind]) + uint(ref, 2) + draw(st.binary(max_size=120))
    else:
        # an item that names earlier items, with one of those mutated
        source, index = draw(st.sampled_from(naming_items()))
        item, timestamp = source.items[index], source.timestamps[index]
        items, timestamps = list(source.items[:index]), list(source.timestamps[:index])
        victim = draw(st.sampled_from(decode_in_batch(source, index)[1])).index
        items[victim] = draw(mutations([items[victim]]))
    if draw(st.booleans()):
        timestamp += draw(st.integers(-3, 3))  # narrow expiries move with it
    context = DecodedBatch(tuple(items), tuple(timestamps), source.table, ())
    event(how)
    return context, index, item, max(timestamp, 0)


@settings(max_examples=600, deadline=None)
@given(scenarios(), st.booleans())
def test_mutated_items_decode_alike(
    decoder: Any, scenario: tuple[DecodedBatch, int, bytes, int], decoy: bool
) -> None:
    """The contract accepts exactly the items the codec accepts, with the same
    standalone encoding; an extra named item (a decoy) changes nothing."""
    context, index, item, timestamp = scenario
    batch = replace(
        context,
        items=(*context.items, item),
        timestamps=(*context.timestamps, timestamp),
    )
    tx, named = decode_in_batch(batch, index)
    if decoy and len(named) < 2 and index > 0:
        unnamed = [i for i in range(index) if i not in {n.index for n in named}]
        if unnamed:
            i = unnamed[0]
            named.append(Named(i, batch.items[i]))
    want = expected(tx)
    event(f"{type(tx).__name__}, {len(named)} named")
    assert on_chain(decoder, item, index, timestamp, batch.table, named) == want


# -- 3. one case per rule --------------------------------------------------------------

T = GENESIS_TIME + 3_600  # the block time of the crafted items
OTHER = 7  # a second instrument in the table
OFF_TABLE = 99  # an instrument not in it
TABLE: Table = ((PERP, PERP_TICK, PERP_LOT), (OTHER, 1_000, 1_000))
SIG = keccak256(b"r") + uint(12_345, 32) + b"\x1c"  # not verified here: any low-s form
MAKER = Order(5, PERP, Side.SELL, 60_000 * PERP_TICK, 20 * PERP_LOT, 1_000, T + 3_600, 1, 1)
TAKER = Order(6, PERP, Side.BUY, MAKER.price, 10 * PERP_LOT, 1_000, T + 60, 2, 7)


def signed(order: Order, signature: bytes = SIG) -> SignedOrder:
    return SignedOrder(order, signature, order.digest(SEP))


def repeat(order: Order) -> SignedOrder:
    return SignedOrder(order, NO_SIGNATURE, order.digest(SEP))


def fill(
    maker: Order = MAKER, taker: Order = TAKER, size: int | None = None, *, new: bool = True
) -> Fill:
    wrap = signed if new else repeat
    return Fill(wrap(maker), wrap(taker), taker.size if size is None else size)


@dataclass(frozen=True)
class Crafted:
    """Items written by the encoder in one context (each at its index, in a block at
    ``timestamps``), the last one the item under test."""

    items: tuple[bytes, ...]
    timestamps: tuple[int, ...]
    table: Table = TABLE

    @property
    def last(self) -> bytes:
        return self.items[-1]

    def with_last(self, item: bytes) -> Crafted:
        return replace(self, items=(*self.items[:-1], item))


def craft(*txs: Tx, table: Table = TABLE, timestamps: Sequence[int] = ()) -> Crafted:
    ctx = table_context(SEP, table)
    items = []
    times = tuple(timestamps) or (T,) * len(txs)
    for index, tx in enumerate(txs):
        ctx.item, ctx.timestamp = index, times[index]
        items.append(encode_tx(tx, ctx))
    return Crafted(tuple(items), times, table)


def patched(item: bytes, at: int, new: bytes) -> bytes:
    return item[:at] + new + item[at + len(new) :]


def verdict(decoder: Any, case: Crafted, named: Sequence[int] | None = None) -> bool:
    """Whether the last item decodes, both decoders agreeing; ``named`` (indices of
    earlier items) defaults to the items its references look up."""
    index = len(case.items) - 1
    if named is None:
        batch = DecodedBatch(case.items, case.timestamps, case.table, ())
        refs = decode_in_batch(batch, index)[1]
    else:
        refs = [Named(i, case.items[i]) for i in named]
    return agree(decoder, case.last, index, case.timestamps[-1], case.table, refs)


# A fill of two new narrow orders, the taker at the maker's price: where its fields are.
M_HEAD, M_INDEX, M_TICKS, M_LOTS, M_EXPIRY, M_SIG = 1, 5, 6, 10, 15, 1 + NARROW_MAKER
T_HEAD = M_SIG + SIGNATURE
T_SIG = T_HEAD + NARROW_TAKER_AT_PRICE
PARTIAL = 4 * PERP_LOT  # a fill size below the taker's


def kind_with(item: bytes, maker: int | None = None, taker: int | None = None) -> bytes:
    """``item`` with its fill kind's maker or taker mode changed."""
    kind = item[0]
    if maker is not None:
        kind = kind & ~0x60 | maker << 5
    if taker is not None:
        kind = kind & ~0x18 | taker << 3
    return bytes([kind]) + item[1:]


def test_a_crafted_fill_is_where_its_fields_are(decoder: Any) -> None:
    case = craft(fill())
    assert len(case.last) == T_SIG + SIGNATURE and case.last[0] == FILL_BIT | 0x04
    assert case.last[M_INDEX] == 0 and case.last[T_HEAD] == AT_MAKER_PRICE
    assert case.last[M_TICKS : M_TICKS + 4] == uint(60_000, 4)
    assert verdict(decoder, case)


@pytest.mark.parametrize(
    "edit",
    [
        lambda item: bytes([item[0] | 0x01]) + item[1:],  # reserved kind bit
        lambda item: bytes([item[0] | 0x02]) + item[1:],  # whole and wide size
        lambda item: kind_with(item, maker=3),  # no mode 3
        lambda item: kind_with(item, taker=3),
        lambda item: patched(item, M_HEAD, bytes([item[M_HEAD] | 0x40])),  # reserved head bits
        lambda item: patched(item, M_HEAD, bytes([item[M_HEAD] | 0x80])),
        lambda item: patched(item, T_HEAD, bytes([item[T_HEAD] | 0x40])),
        lambda item: patched(item, M_INDEX, bytes([len(TABLE)])),  # outside the table
        lambda item: patched(item, M_INDEX, b"\xff"),
        lambda item: patched(item, M_TICKS, bytes(4)),  # price 0
        lambda item: patched(item, M_LOTS, bytes(3)),  # size 0
        lambda item: patched(item, M_HEAD, bytes([item[M_HEAD] | 0x18])),  # IOC and FOK
        lambda item: patched(item, M_HEAD, bytes([item[M_HEAD] | 0x0A])),  # post-only, IOC
        lambda item: patched(item, M_HEAD, bytes([item[M_HEAD] | 0x12])),  # post-only, FOK
        lambda item: patched(item, T_HEAD, bytes([item[T_HEAD] | 0x18])),
        lambda item: patched(item, M_SIG, bytes(64)),  # a new order with the empty signature
        lambda item: patched(item, M_SIG, bytes(32) + b"\x80" + bytes(31)),  # ... yParity 1
        lambda item: patched(item, T_SIG, bytes(64)),
        lambda item: patched(item, M_SIG + 32, uint(SECP256K1_HALF_N + 1, 32)),  # high s
        lambda item: patched(item, T_SIG + 32, uint(SECP256K1_HALF_N + 2 | 1 << 255, 32)),
        lambda item: item + b"\x00",  # trailing bytes
        lambda item: item[:-1],  # truncated
        lambda item: item[:T_HEAD],
        lambda item: item[:1],
    ],
)
def test_a_fill_refused(decoder: Any, edit: Any) -> None:
    """Reserved bits, modes, the table index, the constructors' checks (price, size,
    flags), signatures (empty on a new order, high s), the item's length."""
    case = craft(fill())
    assert not verdict(decoder, case.with_last(edit(case.last)))


@pytest.mark.parametrize(
    "edit",
    [
        lambda item: patched(item, M_SIG, bytes(32) + uint(1, 32)),  # r = 0 but s = 1: signed
        lambda item: patched(item, M_SIG + 32, uint(SECP256K1_HALF_N | 1 << 255, 32)),
        lambda item: patched(item, M_HEAD, bytes([item[M_HEAD] | 0x14])),  # reduce-only, FOK
        lambda item: patched(item, M_INDEX, b"\x01"),  # the other instrument, on its grid
        lambda item: kind_with(item, maker=2)[:M_SIG] + item[T_HEAD:],  # the maker resumed
        lambda item: kind_with(item, taker=2)[:T_SIG],  # the taker resumed
    ],
)
def test_a_fill_still_decodes(decoder: Any, edit: Any) -> None:
    case = craft(fill())
    assert verdict(decoder, case.with_last(edit(case.last)))


# -- narrow exactly when it fits -------------------------------------------------------

TOO_WIDE: dict[str, dict[str, Any]] = {
    "account": dict(account=1 << 24),
    "nonce": dict(nonce=1 << 24),
    "max fee": dict(max_fee_ppm=1 << 16),
    "expired before the block": dict(expiry=T - 1),
    "expiry too far": dict(expiry=T + (1 << 24)),
    "price off the tick": dict(price=MAKER.price + 1),
    "size off the lot": dict(size=MAKER.size + 1),
    "too many ticks": dict(price=(1 << 32) * PERP_TICK),
    "too many lots": dict(size=(1 << 24) * PERP_LOT),
    "off the table": dict(instrument=OFF_TABLE),
}
JUST_NARROW: dict[str, dict[str, Any]] = {
    "account": dict(account=(1 << 24) - 1),
    "nonce": dict(nonce=(1 << 24) - 1),
    "max fee": dict(max_fee_ppm=(1 << 16) - 1),
    "expiring with the block": dict(expiry=T),
    "expiry": dict(expiry=T + (1 << 24) - 1),
    "ticks": dict(price=((1 << 32) - 1) * PERP_TICK),
    "lots": dict(size=((1 << 24) - 1) * PERP_LOT),
}


@pytest.mark.parametrize("name", TOO_WIDE)
def test_an_order_that_does_not_fit_narrow_is_wide(decoder: Any, name: str) -> None:
    """Each narrow limit broken alone makes the maker (and the taker, for its own
    fields) wide, and wide it decodes; the same order written narrow cannot be."""
    changes: dict[str, Any] = TOO_WIDE[name]
    maker = replace(MAKER, **changes)
    taker = replace(TAKER, instrument=maker.instrument, price=maker.price)
    case = craft(fill(maker, taker))
    assert case.last[M_HEAD] & 0x20
    assert verdict(decoder, case)
    if "instrument" not in changes and "price" not in changes:
        lone = replace(TAKER, **changes)
        case = craft(fill(MAKER, lone, PARTIAL if lone.size > PARTIAL else None))
        assert case.last[T_HEAD] & 0x20 and verdict(decoder, case)


@pytest.mark.parametrize("name", JUST_NARROW)
def test_an_order_at_the_narrow_limits_is_narrow(decoder: Any, name: str) -> None:
    maker = replace(MAKER, **JUST_NARROW[name])
    case = craft(fill(maker, replace(TAKER, price=maker.price, size=min(TAKER.size, maker.size))))
    assert not case.last[M_HEAD] & 0x20
    assert verdict(decoder, case)


def test_a_wide_order_that_fits_narrow_is_refused(decoder: Any) -> None:
    """The standalone (wide) form of a fill is no item where the table makes it
    narrow; with no table it is one."""
    item = encode_standalone(fill(), SEP)
    assert not agree(decoder, item, 3, T, TABLE)
    assert agree(decoder, item, 3, T, ())
    assert agree(decoder, item, 3, T, ((OTHER, 1_000, 1_000),))  # its instrument is not in it


def narrow_taker_at_price(order: Order, lots: int, offset: int) -> bytes:
    """A narrow taker part at the maker's price, written by hand (the encoder
    would not): head, account u24, lots u24, fee u16, expiry offset u24, slot u16,
    nonce u24, signature."""
    return (
        bytes([int(order.flags) << 1 | AT_MAKER_PRICE])
        + uint(order.account, 3)
        + uint(lots, 3)
        + uint(order.max_fee_ppm, 2)
        + uint(offset, 3)
        + uint(order.slot, 2)
        + uint(order.nonce, 3)
        + SIG[:32]
        + uint(12_345, 32)
    )


def test_a_narrow_order_that_does_not_fit_is_refused(decoder: Any) -> None:
    """A taker written narrow at a maker's price that is off the tick (the maker is
    wide), or on an instrument that is not in the table."""
    for maker in (replace(MAKER, price=MAKER.price + 1), replace(MAKER, instrument=OFF_TABLE)):
        taker = replace(TAKER, instrument=maker.instrument, price=maker.price)
        case = craft(fill(maker, taker))
        wide_maker = 1 + WIDE_MAKER + SIGNATURE
        assert verdict(decoder, case) and case.last[wide_maker] & 0x20
        hand = case.last[:wide_maker] + narrow_taker_at_price(taker, 100, 60)
        assert not verdict(decoder, case.with_last(hand))


def test_a_taker_at_the_makers_price_sets_the_flag(decoder: Any) -> None:
    """A taker whose written price is the maker's must have said so with the flag."""
    through = replace(TAKER, price=MAKER.price + 2 * PERP_TICK)
    case = craft(fill(MAKER, through))
    assert verdict(decoder, case) and not case.last[T_HEAD] & AT_MAKER_PRICE
    assert not verdict(decoder, case.with_last(patched(case.last, T_HEAD + 4, uint(60_000, 4))))
    wide = replace(TAKER, account=1 << 24, price=MAKER.price + 1)
    case = craft(fill(MAKER, wide))
    price_at = 1 + NARROW_MAKER + SIGNATURE + 1 + 4
    assert verdict(decoder, case) and case.last[price_at : price_at + 8] == uint(wide.price, 8)
    assert not verdict(decoder, case.with_last(patched(case.last, price_at, uint(MAKER.price, 8))))


# -- fill sizes ------------------------------------------------------------------------


def test_fill_sizes(decoder: Any) -> None:
    """The whole flag exactly when the size is the taker's; u24 lots whenever the
    table allows, u64 otherwise; never 0 or beyond a u64."""
    case = craft(fill(size=PARTIAL))
    item = case.last
    assert item[0] & 0x06 == 0 and item[-3:] == uint(4, 3) and verdict(decoder, case)
    assert not verdict(decoder, case.with_last(patched(item, len(item) - 3, uint(10, 3))))
    assert not verdict(decoder, case.with_last(patched(item, len(item) - 3, bytes(3))))
    # written wide although it fits u24 lots
    wide = bytes([item[0] | 0x02]) + item[1:-3] + uint(PARTIAL, 8)
    assert not verdict(decoder, case.with_last(wide))
    # off the lot: wide, and fine
    case = craft(fill(size=PARTIAL + 1))
    assert case.last[0] & 0x02 and verdict(decoder, case)
    # the maker off the table: a size in lots has no lot
    off = replace(MAKER, instrument=OFF_TABLE)
    case = craft(fill(off, replace(TAKER, instrument=OFF_TABLE), PARTIAL))
    item = case.last
    assert item[0] & 0x02 and verdict(decoder, case)
    assert not verdict(decoder, case.with_last(bytes([item[0] & ~0x02]) + item[1:-8] + uint(4, 3)))
    assert not verdict(decoder, case.with_last(patched(item, len(item) - 8, bytes(8))))
    # lots of a huge lot: beyond a u64
    table: Table = ((PERP, 1, 1 << 41),)
    maker = replace(MAKER, price=7, size=1 << 41)
    case = craft(fill(maker, replace(TAKER, price=7, size=1 << 41), 1 << 41), table=table)
    assert verdict(decoder, case)
    partial = craft(fill(maker, replace(TAKER, price=7, size=2 << 41), 1 << 41), table=table)
    item = partial.last
    assert verdict(decoder, partial)
    assert not verdict(decoder, partial.with_last(patched(item, len(item) - 3, b"\xff\xff\xff")))


def test_grid_values_beyond_a_u64_are_refused(decoder: Any) -> None:
    """Ticks times the tick, lots times the lot, the block time plus the expiry
    offset: each must stay a u64 (`Order`'s ranges)."""
    table: Table = ((PERP, 1 << 62, 1 << 62),)
    maker = replace(MAKER, price=1 << 62, size=1 << 62)
    case = craft(fill(maker, replace(TAKER, price=1 << 62, size=1 << 62)), table=table)
    assert verdict(decoder, case)
    assert verdict(decoder, case.with_last(patched(case.last, M_TICKS, uint(3, 4))))
    assert not verdict(decoder, case.with_last(patched(case.last, M_TICKS, uint(4, 4))))
    assert not verdict(decoder, case.with_last(patched(case.last, M_LOTS, uint(4, 3))))
    late = (1 << 64) - 11
    maker = replace(MAKER, expiry=late + 5)
    taker = replace(TAKER, expiry=late + 5)
    case = craft(fill(maker, taker), timestamps=(late,))
    assert verdict(decoder, case)
    assert verdict(decoder, case.with_last(patched(case.last, M_EXPIRY, uint(10, 3))))
    assert not verdict(decoder, case.with_last(patched(case.last, M_EXPIRY, uint(11, 3))))
    # a block time beyond a u64 (the caller's to prove): a narrow order cannot be
    # read in it, a wide one can
    beyond = replace(case, timestamps=(1 << 64,))
    assert not verdict(decoder, beyond)
    assert verdict(decoder, replace(beyond, items=(encode_standalone(fill(), SEP),), table=()))


# -- references ------------------------------------------------------------------------

SELLER = replace(MAKER, account=8, slot=3, nonce=4)  # another maker, on the taker's other side
SELLER_TAKER = replace(TAKER, account=9, slot=4, nonce=5)  # another taker, on the maker's
CAT_TX = dict(CAT.txs)


def test_a_reference_names_an_earlier_item_passed_in_named(decoder: Any) -> None:
    """A maker filled again is a reference to the part that wrote it; the item reads
    only with that item among ``named`` (another one, or none, will not do)."""
    case = craft(fill(size=PARTIAL), Fill(repeat(MAKER), signed(SELLER_TAKER), PARTIAL))
    item = case.last
    assert item[0] >> 5 & 3 == REF and item[1:3] == uint(0 << 1 | 0, 2)
    assert verdict(decoder, case) and verdict(decoder, case, named=[0])
    assert not verdict(decoder, case, named=[])
    other = Crafted((case.items[0], craft(fill(size=PARTIAL)).last, item), (T, T, T))
    assert verdict(decoder, other) and verdict(decoder, other, named=[0, 1])
    assert not verdict(decoder, other, named=[1])  # item 1 is no help


def test_a_reference_to_itself_or_a_later_item_is_refused(decoder: Any) -> None:
    """``ref >> 1 < index``: the item itself and later items are not earlier, even
    when passed in ``named``."""
    case = craft(fill(size=PARTIAL), Fill(repeat(MAKER), signed(SELLER_TAKER), PARTIAL))
    first, second = case.items
    for index, ref in ((1, 1 << 1), (1, 2 << 1), (1, 2 << 1 | 1), (0, 0), (0, 1 << 1)):
        item = patched(second, 1, uint(ref, 2))
        # the item named is a copy of the first, whose maker would be referable
        named = [Named(0, first), Named(ref >> 1, first)] if ref >> 1 else [Named(0, first)]
        assert not agree(decoder, item, index, T, TABLE, named), (index, ref)
    assert agree(decoder, second, 1, T, TABLE, [Named(0, first)])


def test_what_is_referable(decoder: Any) -> None:
    """A new or resumed maker part that decodes, even if the rest of its item does
    not; a taker part only after such a maker (not after a reference); a
    liquidation's maker; nothing else."""
    # the taker of item 0 (maker new): referable, on the maker's other side
    base = craft(fill(size=PARTIAL), Fill(signed(SELLER), repeat(TAKER), PARTIAL))
    assert base.last[0] >> 3 & 3 == REF and verdict(decoder, base)
    taker_ref = base.last
    # a taker whose maker is a reference: not referable (written by hand, the
    # encoder would write it resumed)
    second = replace(TAKER, slot=9, nonce=99)
    chain = craft(
        fill(size=PARTIAL),
        Fill(repeat(MAKER), signed(second), PARTIAL),
        Fill(signed(SELLER), repeat(second), PARTIAL),
    )
    assert chain.last[0] >> 3 & 3 == RESUMED and verdict(decoder, chain)
    by_hand = patched(taker_ref, 1 + NARROW_MAKER + SIGNATURE, uint(1 << 1 | 1, 2))
    assert not verdict(decoder, replace(chain, items=(*chain.items[:2], by_hand)))
    assert verdict(decoder, replace(chain, items=(*chain.items[:2], taker_ref)))
    # the named item does not decode: its maker is still referable, its bad taker not
    first = base.items[0]
    bad_taker = patched(first, T_HEAD, bytes([first[T_HEAD] | 0x18]))
    for broken, maker_ok in (
        (bad_taker, True),
        (first + b"\x00", True),
        (bytes([first[0] | 0x01]) + first[1:], False),  # reserved kind bits: nothing
        (patched(first, M_HEAD, b"\x80"), False),  # the maker itself does not decode
        (kind_with(first, maker=3), False),
    ):
        assert not verdict(decoder, replace(base, items=(broken,)), named=[])
        maker_ref = craft(fill(size=PARTIAL), Fill(repeat(MAKER), signed(SELLER_TAKER), PARTIAL))
        assert verdict(decoder, replace(maker_ref, items=(broken, maker_ref.last))) == maker_ok
        taker_ok = maker_ok and broken is not bad_taker
        assert verdict(decoder, replace(base, items=(broken, taker_ref))) == taker_ok
    # a liquidation's maker, not a part 1; no other kind
    liquidation = Liquidate(3, signed(MAKER), PARTIAL)
    case = craft(liquidation, Fill(repeat(MAKER), signed(SELLER_TAKER), PARTIAL))
    assert verdict(decoder, case)
    assert not verdict(decoder, case.with_last(patched(case.last, 1, uint(1, 2))))
    withdraw = CAT_TX["withdraw"]
    assert not verdict(decoder, replace(case, items=(encode_standalone(withdraw, SEP), case.last)))


def test_a_referenced_taker_trades_the_makers_instrument_on_the_other_side(
    decoder: Any,
) -> None:
    case = craft(fill(size=PARTIAL), Fill(signed(SELLER), repeat(TAKER), PARTIAL))
    assert verdict(decoder, case)
    same_side = patched(case.last, 1 + NARROW_MAKER + SIGNATURE, uint(0 << 1 | 0, 2))
    assert not verdict(decoder, case.with_last(same_side))
    buyer = replace(TAKER, instrument=OTHER, price=1_000, size=5_000)
    other = craft(
        fill(replace(MAKER, instrument=OTHER, price=1_000, size=10_000), buyer, 4_000),
        Fill(signed(SELLER), repeat(buyer), 4_000),
    )
    assert other.last[0] >> 3 & 3 == REF
    assert not verdict(decoder, other)


def test_a_referenced_order_is_read_in_the_batch_time(decoder: Any) -> None:
    """A narrow maker's expiry is an offset from the batch's time (its first block's
    timestamp), for the item that wrote it and the one that names it: the standalone
    encoding keeps the signed expiry, whichever block each item is in."""
    case = craft(
        fill(size=PARTIAL),
        Fill(repeat(MAKER), signed(replace(SELLER_TAKER, expiry=T + 900)), PARTIAL),
    )
    assert verdict(decoder, case)
    ok, out = on_chain(decoder, case.last, 1, T, TABLE, [Named(0, case.items[0])])
    tx = decode_standalone(out, SEP)
    assert ok and isinstance(tx, Fill) and tx.maker.order == MAKER
    assert tx.maker.signature == NO_SIGNATURE
    # read in another time, both orders move with it (the executor gives the batch's)
    moved = on_chain(decoder, case.last, 1, T + 1, TABLE, [Named(0, case.items[0])])
    assert moved[0] and moved[1] != out


def test_a_reference_cut_short(decoder: Any) -> None:
    case = craft(fill(size=PARTIAL), Fill(repeat(MAKER), signed(SELLER_TAKER), PARTIAL))
    for cut in (case.last[:2], case.last[:1], case.last[:3]):
        assert not verdict(decoder, case.with_last(cut), named=[0])


# -- liquidations ----------------------------------------------------------------------


def test_liquidations(decoder: Any) -> None:
    """mode u8 (not 3 or more), account u32, size u64 (not 0), then the maker part."""
    case = craft(Liquidate(3, signed(MAKER), PARTIAL))
    item = case.last
    assert item[0] == 0x09 and verdict(decoder, case)
    for edit in (
        patched(item, 1, b"\x03"),
        patched(item, 1, b"\xff"),
        patched(item, 6, bytes(8)),
        item + b"\x00",
        item[:-1],
        item[:14],
        item[:2],
    ):
        assert not verdict(decoder, case.with_last(edit))
    resumed = craft(Liquidate(3, repeat(MAKER), PARTIAL))
    assert resumed.last[1] == RESUMED and verdict(decoder, resumed)
    by_ref = craft(fill(size=PARTIAL), Liquidate(3, repeat(MAKER), PARTIAL))
    assert by_ref.last[1] == REF and verdict(decoder, by_ref)
    assert not verdict(decoder, by_ref, named=[])


# -- owner txs, settlements, backstops, oracle reports, other kinds -------------------


def owner_item(name: str, **changes: Any) -> bytes:
    tx = CAT_TX[name]
    return encode_standalone(replace(tx, **changes) if changes else tx, SEP)


def test_owner_txs(decoder: Any) -> None:
    """Signed only; each constructor's checks; a low-s signature; exact length."""
    for name in ("withdraw", "transfer", "register-key", "revoke-key", "nonce-floor"):
        item = owner_item(name)
        assert agree(decoder, item)
        assert not agree(decoder, item + b"\x00") and not agree(decoder, item[:-1])
        assert not agree(decoder, item[:-32] + uint(SECP256K1_HALF_N + 1, 32))
        assert agree(decoder, item[:-32] + uint(SECP256K1_HALF_N | 1 << 255, 32))
        assert not agree(decoder, bytes([item[0] | 0x40]) + item[1:-64])  # from L1 only
        assert not agree(decoder, bytes([item[0] | 0x40]) + item[1:])
    withdraw = owner_item("withdraw")
    assert not agree(decoder, patched(withdraw, 5, bytes(8)))  # amount 0
    transfer = owner_item("transfer")
    assert not agree(decoder, patched(transfer, 5, transfer[1:5]))  # to itself
    assert not agree(decoder, patched(transfer, 9, bytes(8)))  # amount 0
    register = owner_item("register-key")
    assert not agree(decoder, patched(register, 6, bytes(20)))  # the zero address
    margin = owner_item("margin-mode")
    assert agree(decoder, margin) and agree(decoder, patched(margin, 5, b"\x00"))
    assert not agree(decoder, patched(margin, 5, b"\x02"))


def test_settlements_and_backstops(decoder: Any) -> None:
    for name in ("settle-account", "backstop"):
        item = owner_item(name)
        assert agree(decoder, item)
        assert not agree(decoder, item + b"\x00") and not agree(decoder, item[:-1])


@pytest.mark.parametrize(
    "kind", [0x00, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x12, 0x3F, 0x47, 0x49, 0x4A, 0x7F]
)
def test_kinds_a_batch_may_not_carry(decoder: Any, kind: int) -> None:
    """Deposits, governance, forced closes and unknown kinds are unreadable, whatever
    follows (the catalogue's own bytes included)."""
    tails = [b"", bytes(40), owner_item("settle-account")[1:]]
    tails += [encode_standalone(tx, SEP)[1:] for tx in CAT_TX.values()]
    for tail in tails:
        assert not agree(decoder, bytes([kind]) + tail)


def oracle_item(
    index: Sequence[tuple[int, int]] = ((1, 3_000_000_000),),
    marks: Sequence[tuple[int, int]] = ((PERP, 3_001_000_000),),
    vols: Sequence[tuple[int, int]] = ((OTHER, 800_000),),
    signatures: int = 2,
    counts: tuple[int, int, int] | None = None,
) -> bytes:
    """An oracle report's bytes, written by hand (the constructor would refuse the
    bad ones): timestamp, counts, entries, signer count, signatures."""
    n = counts or (len(index), len(marks), len(vols))
    return (
        b"\x0a"
        + uint(T, 8)
        + b"".join(uint(c, 2) for c in n)
        + b"".join(uint(i, 2) + uint(p, 8) for i, p in index)
        + b"".join(uint(i, 2) + uint(p, 8) for i, p in marks)
        + b"".join(uint(i, 2) + uint(v, 4) for i, v in vols)
        + bytes([signatures])
        + (SIG[:32] + uint(12_345 + 1, 32)) * signatures
    )


def test_oracle_reports(decoder: Any) -> None:
    """1..256 entries, each list's ids strictly increasing, prices positive, vols in
    [1 %, 500 %], at least one signature, each low-s, nothing after them."""
    assert agree(decoder, oracle_item())
    assert agree(decoder, oracle_item(marks=(), vols=()))
    assert agree(decoder, oracle_item(index=(), marks=(), vols=((1, 10_000), (2, 5_000_000))))
    assert agree(decoder, oracle_item(index=[(i, 1) for i in range(256)], marks=(), vols=()))
    refused = [
        oracle_item(index=(), marks=(), vols=()),
        oracle_item(index=[(i, 1) for i in range(257)], marks=(), vols=()),
        oracle_item(index=[(i, 1) for i in range(200)], marks=[(i, 1) for i in range(57)]),
        oracle_item(index=((2, 1), (2, 1))),
        oracle_item(index=((2, 1), (1, 1))),
        oracle_item(marks=((5, 1), (4, 1))),
        oracle_item(vols=((5, 20_000), (5, 20_000))),
        oracle_item(index=((1, 0),)),
        oracle_item(marks=((1, 0),)),
        oracle_item(vols=((1, 9_999),)),
        oracle_item(vols=((1, 5_000_001),)),
        oracle_item(signatures=0),
        oracle_item(counts=(2, 1, 1)),
        oracle_item(counts=(1, 1, 0)),
        oracle_item() + b"\x00",
        oracle_item()[:-1],
        oracle_item()[:14],
        oracle_item()[:-64] + SIG[:32] + uint(SECP256K1_HALF_N + 1, 32),
    ]
    for item in refused:
        assert not agree(decoder, item), item.hex()
    # ids need only increase within a list
    assert agree(decoder, oracle_item(index=((9, 1),), marks=((1, 1),), vols=((0, 10_000),)))


# -- 4. gas ----------------------------------------------------------------------------


def calldata_gas(data: bytes) -> int:
    """EIP-2028: 16 gas per non-zero calldata byte, 4 per zero byte."""
    return sum(16 if byte else 4 for byte in data)


def gas_cases() -> dict[str, tuple[Crafted, int]]:
    """Typical items (the last of each case) and the execution gas each stays under."""
    buyer = replace(TAKER, account=11, slot=6, nonce=8)
    two_refs = craft(
        fill(size=PARTIAL),
        Fill(signed(SELLER), signed(buyer), PARTIAL),
        Fill(repeat(MAKER), repeat(buyer), PARTIAL),
    )
    assert two_refs.last[0] >> 5 & 3 == REF and two_refs.last[0] >> 3 & 3 == REF
    report = oracle_item(
        index=[(i, 3_000_000_000 + i) for i in range(5)],
        marks=[(i, 3_000_000_000 + i) for i in range(5)],
        vols=[(i, 800_000) for i in range(10)],
    )
    return {
        "narrow fill, new maker and taker": (craft(fill()), 40_000),
        "fill of two references": (two_refs, 60_000),
        "oracle report, 20 entries, 2 signatures": (Crafted((report,), (T,)), 40_000),
        "signed withdraw": (Crafted((owner_item("withdraw"),), (T,)), 20_000),
    }


@pytest.mark.parametrize("name", list(gas_cases()))
def test_gas(decoder: Any, name: str) -> None:
    """The execution gas of ``standalone`` (without the call's 21,000 and calldata,
    which ``calldata_gas`` counts) stays under a bound; docs report the figures."""
    case, bound = gas_cases()[name]
    assert verdict(decoder, case)
    index = len(case.items) - 1
    named = decode_in_batch(DecodedBatch(case.items, case.timestamps, case.table, ()), index)[1]
    args = (
        case.last,
        index,
        case.timestamps[-1],
        table_bytes(case.table),
        [(n.index, n.item) for n in named],
    )
    decoder.standalone(*args)
    used = decoder._computation.get_gas_used()
    calldata = decoder.standalone.prepare_calldata(*args)
    print(f"{name}: {used} gas, calldata {len(calldata)} bytes, {calldata_gas(calldata)} gas")
    assert used <= bound
