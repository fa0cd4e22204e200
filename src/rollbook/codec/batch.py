"""The batch envelope: a run of L2 blocks as the batcher posts them to L1.

Layout (docs/design/batch.md has the table and the reasoning)::

    version u8 = 2 | chain_id u64 | first_block u64 (the index of its first block among
    all batches' blocks, which the inbox checks: no batch is posted twice or skipped)
    n_instruments u8, then (id u16, tick u64, lot u64) with strictly increasing ids
    n_blocks u16, then per block (timestamp u64, l1_origin u64, n_txs u16)
    the *items*: the txs of block 0, then of block 1, ..., each framed by its length
    (u8 below 255, else 0xFF then u16)

Everything before the items is the batch's *head*. The L1 inbox (``BatchInbox.vy``)
reads the head's two counts to find the items, walks their frames, and records the
Merkle root (:mod:`rollbook.codec.txroot`) of the items and the hash of the head: the
batch's tx root is computed by L1, never claimed by the batcher, so a one-step proof
(#7) can show an item under it and decode it on-chain. A batch whose frames do not
end exactly at its end is refused by the inbox and never recorded.

Each item decodes on its own (the batch's time — its first block's timestamp, from
which every narrow expiry is an offset —, the head's instrument table and the earlier
items its order references name, :mod:`rollbook.codec.txcodec`): an item
that does not decode, or is a tx only L1 may send (a deposit, a governance tx, a
forced close, an unsigned owner tx), is kept as an
:class:`~rollbook.exchange.txs.Unreadable` tx,
which the STF refuses, and the rest of the batch stands. Only a head that does not
decode, or block tx counts that do not add up to the items, make the batch invalid
here; the chain's rules on a head (``rollbook.chain.derive``) are the inbox's, so on
L1 a batch that breaks them is never recorded. Blocks are in order: timestamps and L1
origins never decrease.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise

from rollbook.codec.errors import (
    BadReference,
    DecodeError,
    EncodeError,
    NonCanonical,
    OutOfOrder,
    Oversized,
    UnknownKind,
)
from rollbook.codec.txcodec import TxContext, decode_tx, encode_tx
from rollbook.codec.txroot import merkle_root
from rollbook.codec.wire import Reader, uint
from rollbook.crypto.keccak import keccak256
from rollbook.exchange.txs import (
    Backstop,
    Fill,
    Liquidate,
    NonceFloor,
    OracleUpdate,
    RegisterKey,
    RevokeKey,
    SetMarginMode,
    SettleAccount,
    Transfer,
    Tx,
    Unreadable,
    Withdraw,
)

VERSION = 2
MAX_BATCH_BYTES = 120_000
"""Below the 128 KiB a node relays for one L1 tx and a blob's 131,072 bytes."""
MAX_BLOCKS = 128
"""Blocks per batch: a batcher posting every L1 block at 4 blocks a second posts ~48;
the one-step executor reads a batch's head whole at a block's start (#7), and every
step's witness is sized for the largest."""
MAX_ITEM_BYTES = 4096
"""An item's frame holds up to 65,535 bytes, but no tx is longer than this (an oracle
report at its bound of 256 entries and 16 signatures is ~3.6 KB)."""
COUNTS_OFFSET = 17
"""The instrument count's offset: the head's fixed fields end here."""
LONG_FRAME = 0xFF


@dataclass(frozen=True, slots=True)
class BatchBlock:
    """One L2 block's sequenced part: its time, its L1 origin and its batch txs."""

    timestamp: int
    l1_origin: int
    txs: tuple[Tx, ...]


@dataclass(frozen=True, slots=True)
class Batch:
    """A decoded batch. ``instruments`` maps id -> (tick, lot) for narrow orders."""

    chain_id: int
    first_block: int
    blocks: tuple[BatchBlock, ...]
    instruments: tuple[tuple[int, int, int], ...] = ()
    tx_root: bytes = bytes(32)

    @property
    def tx_count(self) -> int:
        return sum(len(b.txs) for b in self.blocks)


@dataclass(frozen=True, slots=True)
class EncodedBatch:
    """A batch's bytes, with its items (the tx root's leaves) and their root."""

    data: bytes
    tx_bytes: tuple[bytes, ...]
    tx_root: bytes

    @property
    def data_hash(self) -> bytes:
        return keccak256(self.data)


MAX_INSTRUMENTS = 255


def instrument_table(
    blocks: tuple[BatchBlock, ...], grid: Mapping[int, tuple[int, int]]
) -> tuple[tuple[int, int, int], ...]:
    """The table of the instruments the batch's orders trade, from ``grid`` (id ->
    (tick, lot)): the 255 most traded (ties by id); orders on any other go wide."""
    used: dict[int, int] = {}
    for block in blocks:
        for tx in block.txs:
            if isinstance(tx, Fill | Liquidate):
                instrument = tx.maker.order.instrument
                if instrument in grid:
                    used[instrument] = used.get(instrument, 0) + 1
    top = sorted(used, key=lambda i: (-used[i], i))[:MAX_INSTRUMENTS]
    return tuple((i, *grid[i]) for i in sorted(top))


def table_context(
    domain_separator: bytes, table: tuple[tuple[int, int, int], ...], zk: bool = False
) -> TxContext:
    """A batch's decoding context before its first item: its instrument table (``zk``:
    a ZK deployment's, whose fills may carry ZK orders)."""
    ctx = TxContext(domain_separator, zk=zk)
    for index, (instrument, tick, lot) in enumerate(table):
        ctx.instruments[instrument] = (index, tick, lot)
        ctx.table.append(instrument)
    return ctx


def frame(item: bytes) -> bytes:
    """An item with its length in front (u8, or 0xFF and u16 from 255 bytes on)."""
    if not 0 < len(item) <= MAX_ITEM_BYTES:
        raise EncodeError(f"an item is 1..{MAX_ITEM_BYTES} bytes, not {len(item)}")
    if len(item) < LONG_FRAME:
        return bytes([len(item)]) + item
    return bytes([LONG_FRAME]) + uint(len(item), 2) + item


def items_start(data: bytes) -> int:
    """Where the items begin: after the head's fixed fields, instrument table and block
    headers, found from its two counts (what the inbox does on-chain)."""
    reader = Reader(data, COUNTS_OFFSET)
    reader.raw(18 * reader.uint(1, "instrument count"), "instrument table")
    reader.raw(18 * reader.uint(2, "block count"), "block headers")
    return reader.pos


def head_entries(
    head: bytes,
) -> tuple[bytes, tuple[tuple[int, int, int], ...], tuple[tuple[int, int, int], ...]]:
    """A head's instrument table (its bytes, and its ``(id, tick, lot)`` entries) and its
    blocks' ``(timestamp, origin, txs)`` entries, as the one-step executor reads them
    (the head is the inbox's)."""
    reader = Reader(head, COUNTS_OFFSET)
    start = reader.pos + 1
    instruments = tuple(
        (reader.uint(2, "instrument"), reader.uint(8, "tick"), reader.uint(8, "lot"))
        for _ in range(reader.uint(1, "instrument count"))
    )
    table = head[start : reader.pos]
    entries = tuple(
        (reader.uint(8, "timestamp"), reader.uint(8, "l1 origin"), reader.uint(2, "tx count"))
        for _ in range(reader.uint(2, "block count"))
    )
    return table, instruments, entries


def unframe(data: bytes) -> tuple[bytes, ...]:
    """The items of a batch, by their frames; raises :class:`DecodeError` unless the
    frames end exactly at the end of the data (the inbox's check)."""
    reader = Reader(data, items_start(data))
    items = []
    while reader.left():
        n = reader.uint(1, "item length")
        if n == LONG_FRAME:
            n = reader.uint(2, "item length")
            if n < LONG_FRAME:
                raise NonCanonical(f"an item of {n} bytes has a one-byte frame")
        if not 0 < n <= MAX_ITEM_BYTES:
            raise Oversized(f"an item is 1..{MAX_ITEM_BYTES} bytes, not {n}")
        items.append(reader.raw(n, "item"))
    return tuple(items)


def encode_batch(batch: Batch, domain_separator: bytes, zk: bool = False) -> EncodedBatch:
    """Encode ``batch`` (its ``tx_root`` field is ignored and recomputed)."""
    if not 0 < len(batch.blocks) <= MAX_BLOCKS:
        raise EncodeError(f"a batch holds 1..{MAX_BLOCKS} blocks")
    if len(batch.instruments) > MAX_INSTRUMENTS:
        raise EncodeError(f"a batch's instrument table holds at most {MAX_INSTRUMENTS} entries")
    _check_encodable(batch)
    ctx = table_context(domain_separator, batch.instruments, zk)
    ctx.timestamp = batch.blocks[0].timestamp
    tx_bytes: list[bytes] = []
    headers = b""
    for block in batch.blocks:
        try:
            headers += uint(block.timestamp, 8) + uint(block.l1_origin, 8) + uint(len(block.txs), 2)
        except OverflowError as exc:
            raise EncodeError(f"a block header does not fit its fields ({exc})") from exc
        for tx in block.txs:
            ctx.item = len(tx_bytes)
            tx_bytes.append(encode_tx(tx, ctx))
    try:
        table = b"".join(uint(i, 2) + uint(t, 8) + uint(lot, 8) for i, t, lot in batch.instruments)
    except OverflowError as exc:
        raise EncodeError(f"an instrument table entry does not fit its fields ({exc})") from exc
    data = b"".join(
        (
            bytes([VERSION]),
            uint(batch.chain_id, 8),
            uint(batch.first_block, 8),
            bytes([len(batch.instruments)]),
            table,
            uint(len(batch.blocks), 2),
            headers,
            *(frame(item) for item in tx_bytes),
        )
    )
    if len(data) > MAX_BATCH_BYTES:
        raise Oversized(f"the batch is {len(data)} bytes, more than {MAX_BATCH_BYTES}")
    return EncodedBatch(data, tuple(tx_bytes), merkle_root(tx_bytes))


def _check_encodable(batch: Batch) -> None:
    """Refuse what the decoder would refuse, so a batcher's bug fails here, loudly."""
    if not 0 <= batch.chain_id < 1 << 64:
        raise EncodeError("the chain id must be a u64")
    if not 0 <= batch.first_block < 1 << 64:
        raise EncodeError("first block must be a u64")
    ids = [i for i, _, _ in batch.instruments]
    if ids != sorted(set(ids)) or any(t <= 0 or lot <= 0 for _, t, lot in batch.instruments):
        raise EncodeError("the instrument table needs increasing ids and positive tick and lot")
    for a, b in pairwise(batch.blocks):
        if b.timestamp < a.timestamp or b.l1_origin < a.l1_origin:
            raise EncodeError("block timestamps and L1 origins must not decrease")


SEQUENCED = (Fill, Liquidate, Backstop, SettleAccount, OracleUpdate)
"""The kinds a batch carries besides owner txs; the rest (deposits, governance, forced
closes) come only from L1, and an owner tx in a batch must be signed."""
SIGNED = (Withdraw, Transfer, RegisterKey, RevokeKey, NonceFloor, SetMarginMode)


def sequenceable(tx: Tx) -> bool:
    """Whether ``tx`` is one a batch may carry (a signed owner tx, a fill, a
    liquidation, a backstop, a settlement, an oracle report)."""
    if isinstance(tx, SIGNED):
        return tx.signature is not None
    return isinstance(tx, SEQUENCED)


def decode_item(item: bytes, ctx: TxContext) -> Tx:
    """One item in its batch's context (``ctx.item`` is its index): the tx, or an
    :class:`Unreadable` of its bytes when it does not decode or is no tx a batch may
    carry (:func:`sequenceable`). Its referable order parts are registered either way
    (a part is referable when it decodes)."""
    reader = Reader(item)
    try:
        tx = decode_tx(reader, ctx)
        reader.finish("item")
    except DecodeError:
        return Unreadable(item)
    return tx if sequenceable(tx) else Unreadable(item)


def decode_batch(
    data: bytes, domain_separator: bytes, zk: bool = False
) -> tuple[Batch, tuple[bytes, ...]]:
    """Decode a batch and return it with its items. Raises only DecodeError, for a
    batch that is invalid whole (its head, its frames, or tx counts that do not add up
    to its items); an item that does not decode is an Unreadable tx in its block."""
    if len(data) > MAX_BATCH_BYTES:
        raise Oversized(f"the batch is {len(data)} bytes, more than {MAX_BATCH_BYTES}")
    reader = Reader(data)
    version = reader.uint(1, "version")
    if version != VERSION:
        raise UnknownKind(f"batch version {version} is unknown (this node reads {VERSION})")
    chain_id = reader.uint(8, "chain id")
    first_block = reader.uint(8, "first block")
    table = []
    previous = -1
    for _ in range(reader.uint(1, "instrument count")):
        entry = (reader.uint(2, "instrument"), reader.uint(8, "tick"), reader.uint(8, "lot"))
        if entry[0] <= previous:
            raise OutOfOrder("instrument table ids must be strictly increasing")
        if entry[1] == 0 or entry[2] == 0:
            raise NonCanonical(f"instrument {entry[0]}: tick and lot must be positive")
        previous = entry[0]
        table.append(entry)
    n_blocks = reader.uint(2, "block count")
    if not 0 < n_blocks <= MAX_BLOCKS:
        raise OutOfOrder(f"a batch holds 1..{MAX_BLOCKS} blocks, not {n_blocks}")
    headers = [
        (reader.uint(8, "timestamp"), reader.uint(8, "l1 origin"), reader.uint(2, "tx count"))
        for _ in range(n_blocks)
    ]
    for (t0, o0, _), (t1, o1, _) in pairwise(headers):
        if t1 < t0 or o1 < o0:
            raise OutOfOrder("block timestamps and L1 origins must not decrease")
    items = unframe(data)
    if sum(n for _, _, n in headers) != len(items):
        raise BadReference(
            f"the blocks count {sum(n for _, _, n in headers)} txs, the batch has "
            f"{len(items)} items"
        )
    ctx = table_context(domain_separator, tuple(table), zk)
    ctx.timestamp = headers[0][0]
    blocks = []
    for timestamp, origin, n_txs in headers:
        txs = []
        for _ in range(n_txs):
            txs.append(decode_item(items[ctx.item], ctx))
            ctx.item += 1
        blocks.append(BatchBlock(timestamp, origin, tuple(txs)))
    batch = Batch(chain_id, first_block, tuple(blocks), tuple(table), merkle_root(items))
    return batch, items
