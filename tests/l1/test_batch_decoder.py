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
from hypothesis import given, settings
from hypothesis import strategies as st

from rollbook.codec.batch import (
    Batch,
    BatchBlock,
    _context,
    decode_batch,
    decode_item,
    encode_batch,
)
from rollbook.codec.txcodec import (
    NO_SIGNATURE,
    SECP256K1_HALF_N,
    TxContext,
    encode_standalone,
    encode_tx,
)
from rollbook.codec.wire import uint
from rollbook.crypto.secp256k1 import SECP256K1_N
from rollbook.exchange.orders import Order, SignedOrder
from rollbook.exchange.txs import (
    Fill,
    Liquidate,
    OracleUpdate,
    Tx,
    Unreadable,
)
from rollbook.exchange.types import OrderFlags, Side
from tests.codec.helpers import (
    PERP,
    PERP_LOT,
    PERP_TICK,
    catalogue,
    session,
    session_bytes,
    strip_repeats,
)
from tests.l1.conftest import load
from tests.l1.test_step_executor import calldata_gas

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
    """An earlier item a reference names: its index, its block's timestamp, its bytes."""

    index: int
    timestamp: int
    item: bytes


class AskedParts(dict[int, SignedOrder]):
    """``TxContext.parts`` that records the references a decoder looks up (the items
    the one-step executor must then pass as ``named``)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[int] = []

    def get(self, key: int, default: Any = None) -> Any:
        self.asked.append(key)
        return super().get(key, default)


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
    (decoded first, in their own blocks' time, to register their parts)."""
    ctx = _context(SEP, table)
    for earlier in sorted(named, key=lambda n: n.index):
        ctx.item, ctx.timestamp = earlier.index, earlier.timestamp
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
        [(n.index, n.timestamp, n.item) for n in named],
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
    """A batch's items with their blocks' timestamps and its table."""

    items: tuple[bytes, ...]
    timestamps: tuple[int, ...]
    table: Table
    txs: tuple[Tx, ...]


def decoded(data: bytes) -> DecodedBatch:
    batch, items = decode_batch(data, SEP)
    timestamps = tuple(b.timestamp for b in batch.blocks for _ in b.txs)
    txs = tuple(tx for b in batch.blocks for tx in b.txs)
    return DecodedBatch(items, timestamps, batch.instruments, txs)


def decode_in_batch(batch: DecodedBatch, index: int) -> tuple[Tx, list[Named]]:
    """Item ``index`` decoded as ``decode_batch`` does (every earlier item first), and
    the earlier items its references look up."""
    ctx = _context(SEP, batch.table)
    parts = AskedParts()
    ctx.parts = parts
    for i in range(index):
        ctx.item, ctx.timestamp = i, batch.timestamps[i]
        decode_item(batch.items[i], ctx)
    parts.asked.clear()
    ctx.item, ctx.timestamp = index, batch.timestamps[index]
    tx = decode_item(batch.items[index], ctx)
    named: dict[int, Named] = {}
    for ref in parts.asked:
        i = ref >> 1
        named.setdefault(i, Named(i, batch.timestamps[i], batch.items[i]))
    return tx, list(named.values())


# -- 1. real batches -------------------------------------------------------------------


@functools.cache
def kitchen_sink() -> bytes:
    """A batch of every catalogue tx (a maker used again goes by reference), orders
    narrow on the table: the kinds a batch may not carry are unreadable items."""
    txs = strip_repeats(tx for _, tx in CAT.txs)
    block = BatchBlock(CAT.now, 5, txs)
    return encode_batch(Batch(9, bytes(32), 3, (block,), ((PERP, PERP_TICK, PERP_LOT),)), SEP).data


def real_batches() -> list[bytes]:
    return [*session_bytes(), kitchen_sink()]


@pytest.mark.parametrize("which", range(len(real_batches())))
def test_every_item_of_a_real_batch(decoder: Any, which: int) -> None:
    """Each item's answer is its tx's standalone encoding (or unreadable), with the
    items its references name, their timestamps and the batch's table."""
    batch = decoded(real_batches()[which])
    readable = 0
    for index, tx in enumerate(batch.txs):
        again, named = decode_in_batch(batch, index)
        assert again == tx
        got = on_chain(
            decoder, batch.items[index], index, batch.timestamps[index], batch.table, named
        )
        assert got == expected(tx), (index, tx)
        readable += got[0]
    assert readable > 0


def test_every_catalogue_tx_standalone(decoder: Any) -> None:
    """Each catalogue tx's standalone encoding as an item of a batch with no table:
    what a batch may carry decodes to itself, the rest (deposits, governance, forced
    closes, unsigned owner txs) is unreadable."""
    for name, tx in CAT.txs:
        item = encode_standalone(tx, SEP)
        readable = agree(decoder, item, 0, CAT.now)
        assert readable == (not name.endswith("-forced") and name not in NOT_SEQUENCED), name


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
