"""The sequencer's side of the chain: open a block, apply as you match, seal it.

The sequencer builds the same blocks derivation will rebuild from L1
(:mod:`rollbook.chain.derive`), with the same pieces: it follows L1 like derivation
(inputs queue per L1 block), picks each block's origin as the newest L1 block that is
``k`` deep and not later than the block's time, puts the due L1 inputs first
(:func:`~rollbook.chain.derive.take_due`), then the txs its matching engine settles,
and seals with :func:`~rollbook.chain.derive.seal_block`. Its batches
(:func:`batch_of`) carry the sequenced part of each block, which is all derivation
needs besides L1 itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rollbook.chain.blocks import L2Block
from rollbook.chain.derive import ChainConfig, Pending, genesis_block, seal_block, take_due
from rollbook.chain.l1 import L1Block, L1Ref
from rollbook.codec.batch import Batch, BatchBlock, encode_batch, instrument_table
from rollbook.codec.errors import Oversized
from rollbook.codec.txcodec import NO_SIGNATURE
from rollbook.exchange.env import TxEnv
from rollbook.exchange.errors import InvariantError
from rollbook.exchange.orders import SignedOrder
from rollbook.exchange.state import State
from rollbook.exchange.stf import BlockTx, Receipt, apply_tx
from rollbook.exchange.txs import Fill, Liquidate, Tx


@dataclass
class _Open:
    origin: L1Ref
    timestamp: int
    l1_txs: list[BlockTx]
    receipts: list[Receipt]


@dataclass
class BlockBuilder:
    """Builds L2 blocks on ``state`` (which the caller's matching engine also writes)."""

    cfg: ChainConfig
    state: State
    l1_genesis: L1Ref
    blocks: list[L2Block] = field(init=False)
    l1: list[L1Ref] = field(init=False)
    pending: list[Pending] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _open: _Open | None = None

    def __post_init__(self) -> None:
        self.blocks = [genesis_block(self.state, self.l1_genesis)]
        self.l1 = [self.l1_genesis]

    def observe(self, block: L1Block) -> None:
        """Follow L1: queue the block's inputs (derivation's rule 1)."""
        if block.number != self.l1[-1].number + 1 or block.parent_hash != self.l1[-1].hash:
            raise InvariantError(f"L1 block {block.number} does not extend the sequencer's view")
        self.l1.append(L1Ref.of(block))
        self.pending.extend(Pending(block.number, block.timestamp, i) for i in block.inputs)

    def origin_for(self, timestamp: int) -> L1Ref:
        """The newest L1 block ``k`` deep with a time not after ``timestamp`` (never
        behind the origin of the newest block, open or sealed)."""
        floor = self._open.origin.number if self._open else self.blocks[-1].header.l1_origin
        deepest = self.l1[-1].number - self.cfg.confirmation_depth
        best = self.l1[floor - self.l1[0].number]
        for ref in self.l1:
            if floor <= ref.number <= deepest and ref.timestamp <= timestamp:
                best = ref
        return best

    def next_block_time(self, timestamp: int) -> tuple[L1Ref, int]:
        """The origin and time of the block that would open at ``timestamp`` next
        (after the open one, if any, is sealed).

        Raises:
            InvariantError: the time drifts past the origin by more than the limit (L1
                is stalled, or the sequencer's L1 view is); nothing changes.
        """
        newest = self._open.timestamp if self._open else self.blocks[-1].header.timestamp
        origin = self.origin_for(timestamp)
        timestamp = max(timestamp, newest, origin.timestamp)
        if timestamp > origin.timestamp + self.cfg.max_drift:
            raise InvariantError(
                f"block time {timestamp} drifts past origin {origin.number}: L1 is stalled"
            )
        return origin, timestamp

    def open_block(self, timestamp: int) -> list[BlockTx]:
        """Start the next block at ``timestamp``: apply the due L1 txs; returns them."""
        if self._open is not None:
            raise InvariantError("open_block() while a block is open")
        origin, timestamp = self.next_block_time(timestamp)
        l1_txs, self.pending, notes = take_due(self.pending, origin.number, self.cfg)
        self.notes.extend(notes)
        env = TxEnv(timestamp, self.cfg.domain_separator, zk=self.cfg.zk)
        receipts = []
        for item in l1_txs:
            env.origin, env.l1_sender = item.origin, item.l1_sender
            receipts.append(apply_tx(self.state, item.tx, env))
        self._open = _Open(origin, timestamp, l1_txs, receipts)
        return l1_txs

    @property
    def timestamp(self) -> int:
        if self._open is None:
            raise InvariantError("no block is open")
        return self._open.timestamp

    def seal(self, sequenced: Sequence[Tx], receipts: Sequence[Receipt]) -> L2Block:
        """Seal the open block with the txs the engine applied (and their receipts)."""
        current = self._open
        if current is None:
            raise InvariantError("seal() without open_block()")
        self._open = None
        txs = (*current.l1_txs, *(BlockTx(tx) for tx in sequenced))
        block = seal_block(
            self.state,
            self.blocks[-1].header,
            current.origin,
            current.timestamp,
            txs,
            (*current.receipts, *receipts),
            len(sequenced),
            self.cfg,
        )
        self.blocks.append(block)
        return block


def batch_of(
    blocks: Sequence[L2Block],
    parent: L2Block,
    cfg: ChainConfig,
    grid: Mapping[int, tuple[int, int]],
) -> Batch:
    """The batch that posts ``blocks`` (consecutive, after ``parent``) to L1.

    ``grid`` maps instrument id -> (tick, lot): the batch's instrument table. Every
    block after genesis in the sequencer's chain is a batch block, so the first one's
    index among batch blocks (the inbox's count) is ``parent.number``.
    """
    body = tuple(
        BatchBlock(
            b.header.timestamp,
            b.header.l1_origin,
            tuple(t.tx for t in b.txs[len(b.txs) - b.sequenced :]),
        )
        for b in blocks
    )
    return Batch(cfg.chain_id, parent.number, body, instrument_table(body, grid))


def postable(blocks: Sequence[L2Block], next_l1_block: int, cfg: ChainConfig) -> int:
    """How many of ``blocks`` (in order) a batch included in L1 block ``next_l1_block``
    may carry: those whose origin will be ``k`` deep there (derivation's rule 2)."""
    count = 0
    for block in blocks:
        if block.header.l1_origin + cfg.confirmation_depth > next_l1_block:
            break
        count += 1
    return count


def strip_repeats(state: State, tx: Tx) -> Tx:
    """``tx`` as the sequencer records it: orders whose slot already holds them (repeat
    fills) carry :data:`~rollbook.codec.txcodec.NO_SIGNATURE`.

    Call it on the state *before* the tx. The STF settles a repeat from the slot's
    stored hash and signer and never reads its signature, so the receipt is the same;
    the batch then writes the repeat as a 2-byte reference or, across batches,
    without its 64 signature bytes.
    """
    if isinstance(tx, Fill):
        maker, taker = _strip(state, tx.maker), _strip(state, tx.taker)
        if maker is not tx.maker or taker is not tx.taker:
            return Fill(maker, taker, tx.size)
    elif isinstance(tx, Liquidate):
        maker = _strip(state, tx.maker)
        if maker is not tx.maker:
            return Liquidate(tx.account, maker, tx.size)
    return tx


def _strip(state: State, signed: SignedOrder) -> SignedOrder:
    order = signed.order
    if signed.signature == NO_SIGNATURE or not state.has_account(order.account):
        return signed
    slot = state.slot(order.account, order.slot)
    if slot.nonce == order.nonce and slot.order_hash == signed.digest:
        return SignedOrder(order, NO_SIGNATURE, signed.digest)
    return signed


def next_batch(
    blocks: Sequence[L2Block],
    posted: int,
    next_l1_block: int,
    cfg: ChainConfig,
    grid: Mapping[int, tuple[int, int]],
) -> tuple[bytes, int] | None:
    """The batcher's next post: the encoded batch of the blocks after block ``posted``
    whose origins will be deep enough in L1 block ``next_l1_block``, halved until it
    fits the inbox's size limit; and the number of the last block it carries. None
    when no block is ready.

    Raises:
        InvariantError: one block alone exceeds the batch size limit.
    """
    waiting = blocks[posted + 1 :]
    count = postable(waiting, next_l1_block, cfg)
    while count:
        batch = batch_of(waiting[:count], blocks[posted], cfg, grid)
        try:
            return encode_batch(batch, cfg.domain_separator, cfg.zk).data, posted + count
        except Oversized:
            if count == 1:
                raise InvariantError(
                    f"block {posted + 1} alone exceeds the batch size limit"
                ) from None
            count //= 2
    return None
