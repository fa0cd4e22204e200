"""Derivation: the L2 chain as a pure function of the L1 history.

The rollup rule (ARCHITECTURE section 4): a node that reads only L1 reaches the
sequencer's blocks and state root, bit for bit. The rules, in the order they apply
to each L1 block ``B`` (number ``n``, time ``T``):

1. **Inputs wait in a queue.** ``B``'s deposits, forced txs and governance txs join
   the pending queue, each tagged with ``n`` and ``T``.
2. **Batches build blocks.** Each batch in ``B`` is decoded (:mod:`rollbook.codec`,
   item by item: an item that does not decode is an ``Unreadable`` tx in its place)
   and its head checked by the **inbox's rules** (``BatchInbox.vy`` refuses on L1 a
   batch that breaks them, so on L1 nothing is ever skipped; a simulated L1 takes
   anything, and derivation skips such a batch whole): the chain id; ``first_block``
   is the number of batch blocks before it (no batch posted twice, none missing);
   each block's L1 origin never goes back and is at depth ≥ ``k`` from ``B``
   (``origin ≤ n − k``); timestamps never go back and stay within ``max_drift`` of
   ``B``'s time. Every L2 block after genesis is a batch block (rule 4's too), so
   the inbox's last block is the L2 head; a block's timestamp and origin are its
   batch's, raised to its parent's if lower (which only the genesis, built on the
   deployment's L1 block after the inbox's start, can be). A valid batch's blocks
   are built in order.
3. **Origins carry the L1 txs.** A block whose origin advances from ``o`` to ``o'``
   starts with every queued input from L1 blocks ``(o, o']``, in L1 order: deposits
   as ``Deposit`` txs, forced and governance txs decoded from their bytes (a forced tx
   must be one of the owner actions, a governance tx one of the governance kinds;
   anything else keeps its place as an :class:`~rollbook.exchange.txs.Unreadable`
   tx, which the STF refuses, with a note). Then come the batch's own txs. The L1
   inputs are the ``InputQueue`` contract's entries, one tx each, in its order; a
   block's tx root covers only its sequenced txs (the one-step executor loads the
   L1 txs from the queue itself: docs/design/fraud-proofs.md section 2).
4. **Forced inclusion** (Arbitrum's ``forceInclusion``). Once a queued input has
   waited its window (``L1 time + inclusion_window ≤ T``) and no batch block's origin
   has taken it, anyone may have the inbox record a *forced batch*: one block with no
   sequenced txs, origin ``max(last origin, n − k)`` (which must reach the input's L1
   block) and timestamp ``max(last timestamp, T)`` (:func:`forced_batch`,
   ``BatchInbox.force_include``). It is a batch like any other — every L2 block comes
   from the inbox — and every input up to its origin goes in at once, whatever the
   sequencer posted, with no per-item throttle (the anti-example is a FIFO where
   item ``i`` waits ``i ×`` window).

A rejected tx inside a block is a no-op with a rejection receipt (the STF's rule), not
a reason to skip anything. The sequencer builds its blocks with the same
:func:`build_block`, so the two cannot drift apart.

Heads: *safe* = the last block derived from L1 so far; *final* = the last block
derived from L1 blocks at depth ≥ ``finality_depth``. When L1 reorganises below the
processed tip, :meth:`Deriver.update` rewinds to the snapshot taken after the last
common L1 block and derives the new history from there — the same result as deriving
the new history from genesis, which the tests check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from rollbook.chain.blocks import (
    GENESIS_PARENT,
    BatchSource,
    Header,
    L2Block,
    Mode,
    receipts_root,
)
from rollbook.chain.l1 import L1Block, L1Deposit, L1Forced, L1Input, L1Ref
from rollbook.codec.batch import Batch, BatchBlock, decode_batch, encode_batch, items_start
from rollbook.codec.errors import DecodeError
from rollbook.codec.txcodec import decode_standalone, encode_standalone
from rollbook.codec.wire import uint
from rollbook.exchange.env import SignatureCache
from rollbook.exchange.errors import ExchangeError
from rollbook.exchange.state import State
from rollbook.exchange.stf import Block, BlockTx, Receipt, apply_block
from rollbook.exchange.txs import (
    Deposit,
    ForcedClose,
    ListInstrument,
    ListOptionChain,
    NonceFloor,
    Origin,
    RegisterKey,
    RevokeKey,
    SetInstrumentParams,
    SetMarginMode,
    SetOracle,
    SetRiskParams,
    Transfer,
    Tx,
    Unreadable,
    Withdraw,
)

FORCED_KINDS = (
    Withdraw,
    Transfer,
    NonceFloor,
    RegisterKey,
    RevokeKey,
    SetMarginMode,
    ForcedClose,
)
"""Owner actions anyone may force from L1 (authorised by the L1 sender)."""
GOVERNANCE_KINDS = (ListInstrument, ListOptionChain, SetInstrumentParams, SetOracle, SetRiskParams)


@dataclass(frozen=True, slots=True)
class ChainConfig:
    """A deployment's derivation parameters (fixed at genesis).

    ``inclusion_window`` is in seconds of L1 time (goal ≤ 30 minutes; Taiko 576 s,
    Arbitrum up to 24 h). ``max_drift`` bounds the distance of a batch block's
    timestamp from the time of the L1 block that includes its batch, either way (the
    inbox's rule, Arbitrum's ``maxTimeVariation``).
    """

    chain_id: int
    domain_separator: bytes
    mode: Mode = Mode.OPTIMISTIC
    confirmation_depth: int = 4
    max_drift: int = 1800
    inclusion_window: int = 600
    finality_depth: int = 64

    @property
    def zk(self) -> bool:
        """ZK mode: orders are signed by Baby Jubjub trading keys (exchange.env)."""
        return self.mode is Mode.ZK


class InvalidBatch(ExchangeError):
    """A batch decodes but breaks a chain rule; it is skipped whole."""


class ReorgTooDeep(ExchangeError):
    """A reorg needs L1 blocks derived again that the caller did not pass."""


@dataclass(frozen=True, slots=True)
class Pending:
    """An L1 input waiting for an L2 block whose origin reaches its L1 block."""

    l1_number: int
    l1_time: int
    item: L1Input


def l1_tx(item: L1Input, cfg: ChainConfig) -> BlockTx:
    """An L1 input as a block tx: the tx its bytes encode if its source may send it,
    else :class:`Unreadable` (refused by the STF in its place: the block's L1 txs are
    the input queue's entries, one for one)."""
    if isinstance(item, L1Deposit):
        # The portal refuses such deposits (#5); if one reaches L2 anyway it is refused
        # (never credited) and the escape hatch refunds it, rather than halting L2.
        try:
            return BlockTx(Deposit(item.deposit_id, item.owner, item.amount), Origin.L1)
        except ExchangeError:
            low = (1 << 64) - 1  # the portal's bounds; masked only so this cannot raise
            raw = b"\x0b" + uint(item.deposit_id & low, 8) + item.owner + uint(item.amount & low, 8)
            return BlockTx(Unreadable(raw), Origin.L1)
    sender = item.sender if isinstance(item, L1Forced) else None
    allowed = FORCED_KINDS if isinstance(item, L1Forced) else GOVERNANCE_KINDS
    try:
        tx: Tx = decode_standalone(item.data, cfg.domain_separator, cfg.zk)
    except DecodeError:
        return BlockTx(Unreadable(item.data), Origin.L1, sender)
    # The codec is canonical; this keeps a block's tx root computable whatever L1 holds.
    if encode_standalone(tx, cfg.domain_separator, cfg.zk) != item.data or not isinstance(
        tx, allowed
    ):
        return BlockTx(Unreadable(item.data), Origin.L1, sender)
    return BlockTx(tx, Origin.L1, sender)


def build_block(
    state: State,
    parent: Header,
    origin: L1Ref,
    timestamp: int,
    l1_txs: Sequence[BlockTx],
    sequenced: Sequence[Tx],
    cfg: ChainConfig,
    cache: SignatureCache | None = None,
) -> L2Block:
    """Apply one block to ``state`` and return it sealed (what derivation does)."""
    txs = tuple(l1_txs) + tuple(BlockTx(tx) for tx in sequenced)
    block = Block(parent.number + 1, timestamp, txs)
    receipts = apply_block(state, block, cfg.domain_separator, cache, zk=cfg.zk)
    return seal_block(state, parent, origin, timestamp, txs, receipts, len(sequenced), cfg)


def build_batched_block(
    state: State,
    parent: Header,
    origin: L1Ref,
    timestamp: int,
    l1_txs: Sequence[BlockTx],
    sequenced: Sequence[Tx],
    cfg: ChainConfig,
    record: int = 0,
) -> L2Block:
    """:func:`build_block` of a block whose sequenced txs L1 holds as a batch of its
    own, the inbox's record ``record`` (its batch block ``parent.number``): the block
    runs what the batch decodes to (an L2 tx a batch may not carry is an unreadable
    item), and knows its source. For tests and vectors that build blocks directly."""
    body = BatchBlock(timestamp, origin.number, tuple(sequenced))
    data = encode_batch(
        Batch(cfg.chain_id, parent.number, (body,)), cfg.domain_separator, cfg.zk
    ).data
    batch, items = decode_batch(data, cfg.domain_separator, cfg.zk)
    block = build_block(state, parent, origin, timestamp, l1_txs, batch.blocks[0].txs, cfg)
    return replace(block, source=BatchSource(record, 0, data[: items_start(data)], items))


def seal_block(
    state: State,
    parent: Header,
    origin: L1Ref,
    timestamp: int,
    txs: Sequence[BlockTx],
    receipts: Sequence[Receipt],
    sequenced: int,
    cfg: ChainConfig,
) -> L2Block:
    """The block of ``txs`` already applied to ``state`` (the sequencer applies as it
    matches, then seals; derivation applies the whole block, then seals)."""
    header = Header(
        parent.number + 1,
        parent.hash(),
        timestamp,
        origin.number,
        receipts_root(tuple(receipts)),
        state.root(),
        state.withdrawals_root(),
    )
    return L2Block(header, tuple(txs), tuple(receipts), sequenced)


def take_due(
    pending: Sequence[Pending], origin: int, cfg: ChainConfig
) -> tuple[list[BlockTx], list[Pending], list[str]]:
    """Rule 3: split ``pending`` into the block txs from L1 blocks up to ``origin`` and
    the inputs still waiting, with notes on inputs that are no allowed tx (refused in
    their place)."""
    txs: list[BlockTx] = []
    notes: list[str] = []
    for p in pending:
        if p.l1_number > origin:
            continue
        tx = l1_tx(p.item, cfg)
        if isinstance(tx.tx, Unreadable):
            notes.append(f"L1 block {p.l1_number}: an input that is no allowed tx is refused")
        txs.append(tx)
    return txs, [p for p in pending if p.l1_number > origin], notes


def genesis_block(state: State, origin: L1Ref) -> L2Block:
    """Block 0: no txs; the genesis state's roots, anchored at the deployment block."""
    header = Header(
        0,
        GENESIS_PARENT,
        origin.timestamp,
        origin.number,
        receipts_root(()),
        state.root(),
        state.withdrawals_root(),
    )
    return L2Block(header, (), (), 0)


@dataclass(frozen=True, slots=True)
class Heads:
    unsafe: int
    safe: int
    final: int


@dataclass(frozen=True, slots=True)
class InboxCursor:
    """What the inbox knows of the batches so far (``BatchInbox.vy``'s state): how many
    batch blocks, the last one's timestamp and L1 origin, and how many records."""

    blocks: int = 0
    timestamp: int = 0
    origin: int = 0
    records: int = 0


@dataclass
class _Snapshot:
    """The derivation state right after an L1 block was processed."""

    l1: L1Ref
    state: State
    blocks: int
    pending: tuple[Pending, ...]
    inbox: InboxCursor


@dataclass
class Deriver:
    """Derives the L2 chain from L1 blocks, follows reorgs, and tracks the heads."""

    cfg: ChainConfig
    genesis_state: State
    l1_genesis: L1Ref
    cache: SignatureCache | None = None
    state: State = field(init=False)
    blocks: list[L2Block] = field(init=False)
    derived_from: list[int] = field(init=False)
    pending: list[Pending] = field(default_factory=list)
    l1: list[L1Ref] = field(default_factory=list)
    snapshots: list[_Snapshot] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    inbox: InboxCursor = field(default_factory=InboxCursor)

    def __post_init__(self) -> None:
        self.state = self.genesis_state.copy()
        self.blocks = [genesis_block(self.state, self.l1_genesis)]
        self.derived_from = [self.l1_genesis.number]
        self.l1 = [self.l1_genesis]

    # -- heads ---------------------------------------------------------------------

    @property
    def head(self) -> L2Block:
        return self.blocks[-1]

    def heads(self) -> Heads:
        tip = self.l1[-1].number
        final = 0
        for number, source in enumerate(self.derived_from):
            if source + self.cfg.finality_depth <= tip:
                final = number
        safe = len(self.blocks) - 1
        return Heads(safe, safe, final)

    # -- following L1 --------------------------------------------------------------

    def update(self, chain: Sequence[L1Block]) -> int:
        """Follow ``chain`` (consecutive L1 blocks, possibly a new fork).

        Returns the number of L1 blocks rolled back (0 without a reorg). Raises
        :class:`ReorgTooDeep` if ``chain`` lacks L1 blocks that must be derived again
        (a reorg below the oldest snapshot needs the history from there, or genesis).
        """
        known = {ref.number: ref.hash for ref in self.l1}
        fork = next(
            (
                i
                for i, block in enumerate(chain)
                if known.get(block.number, block.hash) != block.hash
            ),
            None,
        )
        rolled = 0
        if fork is not None:
            rolled = self._rewind(chain[fork].number)
        for block in chain:
            if block.number <= self.l1[-1].number:
                continue
            if block.number != self.l1[-1].number + 1:
                raise ReorgTooDeep(
                    f"L1 block {self.l1[-1].number + 1} must be derived (again) but the "
                    f"given history starts at {block.number}"
                )
            self.process(block)
        return rolled

    def _rewind(self, first_bad: int) -> int:
        """Go back to the snapshot after the last L1 block before ``first_bad``.

        Snapshots below the final depth are pruned; if the one needed is gone, the
        derivation restarts from genesis (and :meth:`update` then needs the history
        from L1 block 1).
        """
        keep = [s for s in self.snapshots if s.l1.number < first_bad]
        rolled = self.l1[-1].number - first_bad + 1
        self.snapshots = keep
        if keep:
            self._restore(keep[-1])
        else:
            self._reset()
        self.notes.append(f"L1 reorg: rolled back {rolled} L1 blocks from {first_bad}")
        return rolled

    def _reset(self) -> None:
        """Back to genesis: no L2 block but block 0, no L1 block but the genesis."""
        self.state = self.genesis_state.copy()
        del self.blocks[1:]
        del self.derived_from[1:]
        self.pending = []
        self.l1 = self.l1[:1]
        self.inbox = InboxCursor()

    def _restore(self, snap: _Snapshot) -> None:
        """Make the derivation state what it was right after ``snap.l1``."""
        self.state = snap.state.copy()
        del self.blocks[snap.blocks :]
        del self.derived_from[snap.blocks :]
        self.pending = list(snap.pending)
        self.l1 = [ref for ref in self.l1 if ref.number <= snap.l1.number]
        self.inbox = snap.inbox

    def process(self, block: L1Block) -> None:
        """Derive from the next L1 block (rules 1-4 of the module docstring).

        All or nothing: if anything unexpected is raised (a bug: inputs are refused
        with notes, not exceptions), the derivation state goes back to what it was
        before ``block`` and the exception propagates, so a restarted node derives
        the block again instead of continuing from half of it.
        """
        tip = self.l1[-1]
        if block.number != tip.number + 1 or block.parent_hash != tip.hash:
            raise InvalidBatch(
                f"L1 block {block.number} does not extend {tip.number} ({tip.hash.hex()[:8]})"
            )
        try:
            self._process(block)
        except BaseException:
            # The snapshot after the previous L1 block is the state before this one.
            if self.snapshots and self.snapshots[-1].l1 == tip:
                self._restore(self.snapshots[-1])
            else:
                self._reset()
            raise

    def _process(self, block: L1Block) -> None:
        self.l1.append(L1Ref.of(block))
        self.pending.extend(Pending(block.number, block.timestamp, i) for i in block.inputs)
        for index, data in enumerate(block.batches):
            try:
                batch, items = decode_batch(data, self.cfg.domain_separator, self.cfg.zk)
                record = self.inbox.records
                self.inbox = inbox_accepts(self.inbox, batch, block, self.cfg)
            except (DecodeError, InvalidBatch) as exc:
                self.notes.append(
                    f"L1 block {block.number} batch {index} skipped: "
                    f"{type(exc).__name__}: {exc.message}"
                )
                continue
            batch_head = data[: items_start(data)]
            for j, b in enumerate(batch.blocks):
                head = self.head.header
                origin = self._ref(max(b.l1_origin, head.l1_origin))
                source = BatchSource(record, j, batch_head, items)
                self._append(origin, max(b.timestamp, head.timestamp), b.txs, block.number, source)
        self.snapshots.append(
            _Snapshot(
                self.l1[-1], self.state.copy(), len(self.blocks), tuple(self.pending), self.inbox
            )
        )
        self._prune()

    def _prune(self) -> None:
        """Drop snapshots below the last one at final depth (no reorg reaches them)."""
        tip = self.l1[-1].number
        depth = self.cfg.finality_depth
        final = [i for i, s in enumerate(self.snapshots) if s.l1.number + depth <= tip]
        if len(final) > 1:
            del self.snapshots[: final[-1]]

    def _ref(self, number: int) -> L1Ref:
        index = number - self.l1[0].number
        if not 0 <= index < len(self.l1):
            raise InvalidBatch(f"L1 origin {number} is not a known L1 block")
        return self.l1[index]

    def _append(
        self,
        origin: L1Ref,
        timestamp: int,
        sequenced: Sequence[Tx],
        l1_number: int,
        source: BatchSource,
    ) -> None:
        """Build the next block from batch ``source``, derived at L1 block ``l1_number``."""
        l1_txs, self.pending, notes = take_due(self.pending, origin.number, self.cfg)
        self.notes.extend(notes)
        block = build_block(
            self.state, self.head.header, origin, timestamp, l1_txs, sequenced, self.cfg, self.cache
        )
        self.blocks.append(replace(block, source=source))
        self.derived_from.append(l1_number)


def inbox_accepts(
    cursor: InboxCursor, batch: Batch, block: L1Block, cfg: ChainConfig
) -> InboxCursor:
    """Rule 2, the inbox's rules (``BatchInbox.vy``, tested against this): the cursor
    after ``batch``, included in L1 block ``block``; raises :class:`InvalidBatch` if
    the inbox would refuse it."""
    if batch.chain_id != cfg.chain_id:
        raise InvalidBatch(f"batch for chain {batch.chain_id}, this is {cfg.chain_id}")
    if batch.first_block != cursor.blocks:
        raise InvalidBatch(
            f"the batch starts at batch block {batch.first_block}; the inbox has "
            f"{cursor.blocks} (posted twice, or one is missing)"
        )
    timestamp, origin = cursor.timestamp, cursor.origin
    for b in batch.blocks:
        if b.l1_origin < origin:
            raise InvalidBatch(f"L1 origin {b.l1_origin} goes back from {origin}")
        if b.l1_origin + cfg.confirmation_depth > block.number:
            raise InvalidBatch(
                f"L1 origin {b.l1_origin} is not {cfg.confirmation_depth} blocks deep at "
                f"L1 block {block.number}"
            )
        if b.timestamp < timestamp:
            raise InvalidBatch(f"timestamp {b.timestamp} goes back from {timestamp}")
        if abs(b.timestamp - block.timestamp) > cfg.max_drift:
            raise InvalidBatch(
                f"timestamp {b.timestamp} is more than {cfg.max_drift} s from L1 block "
                f"{block.number}'s {block.timestamp}"
            )
        timestamp, origin = b.timestamp, b.l1_origin
    return InboxCursor(cursor.blocks + len(batch.blocks), timestamp, origin, cursor.records + 1)


def due_input(
    entries: Sequence[tuple[int, int]],
    cursor: InboxCursor,
    l1_number: int,
    l1_time: int,
    cfg: ChainConfig,
) -> int | None:
    """The first input queue entry (``(L1 block, L1 time)`` each, in queue order) that a
    forced batch may take in L1 block ``l1_number`` at ``l1_time``: past its window,
    taken by no batch block's origin, and ``k`` deep. None if there is none."""
    for index, (number, time) in enumerate(entries):
        if number <= cursor.origin:
            continue
        deep = max(cursor.origin, l1_number - cfg.confirmation_depth) >= number
        if time + cfg.inclusion_window <= l1_time and deep:
            return index
        return None
    return None


def forced_batch(
    cursor: InboxCursor, entry: tuple[int, int], l1_number: int, l1_time: int, cfg: ChainConfig
) -> bytes:
    """Rule 4: the head ``BatchInbox.force_include`` records for the queue entry
    ``entry`` (its L1 block and time) in L1 block ``l1_number`` at ``l1_time``: one
    block, no txs. Raises :class:`InvalidBatch` where the inbox would refuse."""
    number, time = entry
    if number <= cursor.origin:
        raise InvalidBatch("a batch block has taken the input already")
    if time + cfg.inclusion_window > l1_time:
        raise InvalidBatch("the input is within its window")
    origin = max(cursor.origin, l1_number - cfg.confirmation_depth)
    if origin < number:
        raise InvalidBatch("the input is not deep enough yet")
    block = BatchBlock(max(cursor.timestamp, l1_time), origin, ())
    return encode_batch(
        Batch(cfg.chain_id, cursor.blocks, (block,)), cfg.domain_separator, cfg.zk
    ).data


def derive(
    cfg: ChainConfig, genesis_state: State, l1_genesis: L1Ref, chain: Sequence[L1Block]
) -> Deriver:
    """Derive the whole L2 chain from ``chain`` (the pure function, from genesis)."""
    deriver = Deriver(cfg, genesis_state, l1_genesis)
    deriver.update(chain)
    return deriver
