"""The batch envelope: a run of L2 blocks as the batcher posts them to L1.

Layout (docs/design/batch.md has the table and the reasoning)::

    version u8 = 1 | chain_id u64 | tx_root 32 | parent_hash 32 | first_block u64
    | origin_hash 32 (the hash of the last block's L1 origin)
    n_instruments u8, then (id u16, tick u64, lot u64) with strictly increasing ids
    n_blocks u16, then per block (timestamp u64, l1_origin u64, n_txs u16)
    the txs of block 0, then of block 1, ...

``tx_root`` sits at a fixed offset so the inbox contract can record it without
parsing; it is the Merkle root (:mod:`rollbook.codec.txroot`) of the batch's tx
encodings in order, and derivation recomputes it: a batch whose root does not match is
invalid. Blocks are in order: timestamps and L1 origins never decrease. ``origin_hash``
pins the L1 fork the batch was built on (OP's ``l1_origin_check``): after an L1
reorg, a batch built on the old fork no longer matches and is skipped.

:func:`decode_batch` raises only :class:`DecodeError`; derivation skips such a batch
whole (the deterministic rule of ARCHITECTURE section 4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise

from rollbook.codec.errors import EncodeError, NonCanonical, OutOfOrder, Oversized, UnknownKind
from rollbook.codec.txcodec import TxContext, decode_tx, encode_tx
from rollbook.codec.txroot import merkle_root
from rollbook.codec.wire import Reader, uint
from rollbook.crypto.keccak import keccak256
from rollbook.exchange.txs import Fill, Liquidate, Tx

VERSION = 1
MAX_BATCH_BYTES = 120_000
"""Below the 128 KiB a node relays for one L1 tx and a blob's 131,072 bytes."""
MAX_BLOCKS = 1024
TX_ROOT_OFFSET = 9


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
    parent_hash: bytes
    first_block: int
    blocks: tuple[BatchBlock, ...]
    instruments: tuple[tuple[int, int, int], ...] = ()
    tx_root: bytes = bytes(32)
    origin_hash: bytes = bytes(32)

    @property
    def tx_count(self) -> int:
        return sum(len(b.txs) for b in self.blocks)


@dataclass(frozen=True, slots=True)
class EncodedBatch:
    """A batch's bytes, with its tx encodings (the tx root's leaves) and hashes."""

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


def _context(domain_separator: bytes, table: tuple[tuple[int, int, int], ...]) -> TxContext:
    ctx = TxContext(domain_separator)
    for index, (instrument, tick, lot) in enumerate(table):
        ctx.instruments[instrument] = (index, tick, lot)
        ctx.table.append(instrument)
    return ctx


def encode_batch(batch: Batch, domain_separator: bytes) -> EncodedBatch:
    """Encode ``batch`` (its ``tx_root`` field is ignored and recomputed)."""
    if not 0 < len(batch.blocks) <= MAX_BLOCKS:
        raise EncodeError(f"a batch holds 1..{MAX_BLOCKS} blocks")
    if len(batch.instruments) > MAX_INSTRUMENTS:
        raise EncodeError(f"a batch's instrument table holds at most {MAX_INSTRUMENTS} entries")
    _check_encodable(batch)
    ctx = _context(domain_separator, batch.instruments)
    tx_bytes: list[bytes] = []
    headers = b""
    for block in batch.blocks:
        ctx.timestamp = block.timestamp
        try:
            headers += uint(block.timestamp, 8) + uint(block.l1_origin, 8) + uint(len(block.txs), 2)
        except OverflowError as exc:
            raise EncodeError(f"a block header does not fit its fields ({exc})") from exc
        tx_bytes.extend(encode_tx(tx, ctx) for tx in block.txs)
    tx_root = merkle_root(tx_bytes)
    try:
        table = b"".join(uint(i, 2) + uint(t, 8) + uint(lot, 8) for i, t, lot in batch.instruments)
    except OverflowError as exc:
        raise EncodeError(f"an instrument table entry does not fit its fields ({exc})") from exc
    data = b"".join(
        (
            bytes([VERSION]),
            uint(batch.chain_id, 8),
            tx_root,
            batch.parent_hash,
            uint(batch.first_block, 8),
            batch.origin_hash,
            bytes([len(batch.instruments)]),
            table,
            uint(len(batch.blocks), 2),
            headers,
            *tx_bytes,
        )
    )
    if len(data) > MAX_BATCH_BYTES:
        raise Oversized(f"the batch is {len(data)} bytes, more than {MAX_BATCH_BYTES}")
    return EncodedBatch(data, tuple(tx_bytes), tx_root)


def _check_encodable(batch: Batch) -> None:
    """Refuse what the decoder would refuse, so a batcher's bug fails here, loudly."""
    if len(batch.parent_hash) != 32 or len(batch.origin_hash) != 32:
        raise EncodeError("parent and origin hashes must be 32 bytes")
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


def decode_batch(data: bytes, domain_separator: bytes) -> tuple[Batch, tuple[bytes, ...]]:
    """Decode a batch and return it with its tx encodings; raises only DecodeError."""
    if len(data) > MAX_BATCH_BYTES:
        raise Oversized(f"the batch is {len(data)} bytes, more than {MAX_BATCH_BYTES}")
    reader = Reader(data)
    version = reader.uint(1, "version")
    if version != VERSION:
        raise UnknownKind(f"batch version {version} is unknown (this node reads {VERSION})")
    chain_id = reader.uint(8, "chain id")
    tx_root = reader.raw(32, "tx root")
    parent_hash = reader.raw(32, "parent hash")
    first_block = reader.uint(8, "first block")
    origin_hash = reader.raw(32, "origin hash")
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
    ctx = _context(domain_separator, tuple(table))
    blocks = []
    tx_bytes: list[bytes] = []
    for timestamp, origin, n_txs in headers:
        ctx.timestamp = timestamp
        txs = []
        for _ in range(n_txs):
            start = reader.pos
            txs.append(decode_tx(reader, ctx))
            tx_bytes.append(data[start : reader.pos])
        blocks.append(BatchBlock(timestamp, origin, tuple(txs)))
    reader.finish("batch")
    if merkle_root(tx_bytes) != tx_root:
        raise NonCanonical("the batch's tx root does not match its txs")
    batch = Batch(
        chain_id, parent_hash, first_block, tuple(blocks), tuple(table), tx_root, origin_hash
    )
    return batch, tuple(tx_bytes)
