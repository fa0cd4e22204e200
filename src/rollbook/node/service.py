"""The sequencer service: numbered inputs, group commit, acknowledgement, recovery.

:class:`Node` owns the deterministic core (:class:`~rollbook.node.core.Sequencer`) and
its write-ahead log (:class:`~rollbook.node.wal.Log`) on one asyncio loop:

1. ``submit(input)`` stamps the input with the next sequence number and the wall clock
   and applies it to the core at once (matching and settlement happen here, in
   arrival order). A refused input returns its error immediately; nothing is logged.
2. The accepted record joins the open commit group. The writer task commits a group in
   a worker thread (one fsync) while the loop goes on accepting the next group.
3. When the group is on disk, every input in it is acknowledged with a signed receipt
   (:mod:`rollbook.node.receipts`) and the group's market events are published: a
   subscriber never sees a book change, a trade or an order update that a crash could
   take back.

Start-up is recovery: the newest snapshot of the core, then the logged inputs after
it, replayed through the same core; the result is the state the acknowledged inputs
imply (a crash before a commit loses only inputs that were never acknowledged).

Ticks (block sealing every ``block_ms``) and L1 blocks (from an :class:`L1Port`) are
inputs like any other, so they are logged and replayed too. The batcher and the
proposer read sealed blocks from the core and post through the port; they keep
their progress in the log's meta table.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import pickle
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rollbook.chain.blocks import L2Block, output_root
from rollbook.chain.derive import ChainConfig
from rollbook.chain.l1 import L1Block, L1Ref
from rollbook.chain.sequencer import next_batch
from rollbook.crypto.secp256k1 import private_key_address
from rollbook.exchange.state import State
from rollbook.exchange.zkmode import unprovable
from rollbook.matching.book import BookDelta
from rollbook.node.core import Outcome, Refused, Sequencer, Trade
from rollbook.node.inputs import Input, ObserveL1, Record, Tick, decode_record, encode_record
from rollbook.node.receipts import Receipt, input_digest, sign_group
from rollbook.node.wal import Log

log = logging.getLogger("rollbook.node")

SNAPSHOT_EVERY_BLOCKS = 600
HASH_EARLY = 256  # dirty leaves that trigger hashing before the block is sealed


def resume_from(on_l1: int, posted: int, posting: int) -> int | None:
    """Where the batcher goes on, given the inbox's count of batch blocks ``on_l1``,
    the last block this node noted as posted and the last it sent: from what L1 holds
    when that is what it posted, what it sent (a crash came between the post and its
    note) or less (its post was lost: post again); None when L1 holds more than this
    node sent (another batch, a forced one, took its place: stop)."""
    if on_l1 in (posted, posting) or on_l1 < posted:
        return on_l1
    return None


class L1Port(Protocol):
    """What the node needs of L1. Calls run in the node's L1 thread, one at a time."""

    def poll(self, after: int, now: int) -> list[L1Block]:
        """L1 blocks numbered above ``after`` that are safe to follow (the port lags
        the tip as it sees fit)."""

    def post_batch(self, data: bytes) -> None: ...

    def propose(self, root: bytes, l2_block: int, l1_origin: int) -> None: ...

    def tip(self) -> int:
        """The number of the newest L1 block."""

    def batched(self) -> int:
        """How many L2 blocks the inbox holds (its count of batch blocks): every block
        after genesis up to this number is posted."""

    def spent(self) -> tuple[int, int]:
        """Gas and wei the batcher and proposer have spent so far."""


@dataclass(frozen=True, slots=True)
class Genesis:
    """A chain's start: its state, configuration, L1 anchor and instrument grid.

    A ZK chain's state must be one its circuits can prove
    (:func:`rollbook.exchange.zkmode.unprovable`; ``stf.genesis(..., zk=True)`` makes
    one): otherwise its first batch could never be proven.
    """

    state: State
    cfg: ChainConfig
    l1_genesis: L1Ref
    grid: dict[int, tuple[int, int]]

    def __post_init__(self) -> None:
        if self.cfg.zk:
            problems = unprovable(self.state)
            if problems:
                raise ValueError(
                    "a ZK chain's genesis must be provable by its circuits: " + "; ".join(problems)
                )


@dataclass
class Ack:
    record: Record
    outcome: Outcome
    receipt: Receipt


@dataclass
class Published:
    """One group's market events, in commit order (for the API's subscriptions)."""

    deltas: list[BookDelta]
    trades: list[Trade]
    orders: list[Any]
    blocks: list[L2Block]


@dataclass
class Costs:
    """What the operator spent on L1 and earned (the P&L the node reports)."""

    batches: int = 0
    batch_bytes: int = 0
    proposals: int = 0
    failures: int = 0
    last_error: str = ""
    gas: int = 0
    cost_wei: int = 0


@dataclass
class _Pending:
    seq: int
    at_ms: int
    body: bytes
    digest: bytes
    future: asyncio.Future[Receipt]


@dataclass
class Node:
    """The sequencer service (see the module docstring)."""

    log: Log
    key: bytes
    genesis: Genesis
    core: Sequencer
    block_ms: int = 1000
    clock: Callable[[], float] = time.time
    """The chain's clock: block times and L1 slots (a devnet may run it fast)."""
    wall: Callable[[], float] = time.time
    """The wall clock: acceptance times in receipts and cancel-all freshness."""
    l1: L1Port | None = None
    subscribers: list[Callable[[Published], None]] = field(default_factory=list)
    costs: Costs = field(default_factory=Costs)
    posted: int = 0
    posting: int = 0
    """The last block of the batch this node sent last (noted before it is sent)."""
    proposed: int = 0
    _queue: list[_Pending] = field(default_factory=list)
    _wake: asyncio.Event | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _io: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "wal"))
    _l1_io: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "l1"))
    _blocks_at_snapshot: int = 0
    snapshot_every: int = SNAPSHOT_EVERY_BLOCKS
    _batched_at: int = -1
    stopping: bool = False

    # -- creation and recovery ---------------------------------------------------------------

    @staticmethod
    def init(path: Path, genesis: Genesis, key: bytes) -> None:
        """Create a node's data directory with its genesis and sequencer key."""
        log = Log(path / "node.db")
        try:
            if log.get_meta("genesis") is not None:
                raise FileExistsError(f"{path} already holds a node")
            log.put_meta("genesis", genesis)
            log.put_meta("key", key)
        finally:
            log.close()

    @classmethod
    def open(cls, path: Path, **options: Any) -> Node:
        """Recover the node in ``path``: newest snapshot, then the log after it."""
        log = Log(path / "node.db")
        genesis = log.get_meta("genesis")
        if not isinstance(genesis, Genesis):
            log.close()
            raise FileNotFoundError(f"{path} holds no node (run `rollbook node init`)")
        snapshot = log.latest_snapshot()
        if snapshot is None:
            core = Sequencer(genesis.state, genesis.cfg, genesis.l1_genesis)
        else:
            core = pickle.loads(snapshot[1])
        for seq, body in log.records_after(core.seq):
            record = decode_record(body)
            if record.seq != seq:
                raise ValueError(f"log record {seq} says it is {record.seq}")
            core.apply(record)  # a logged input was accepted once; it is accepted again
        core.drain()
        node = cls(log, log.get_meta("key"), genesis, core, **options)
        node.posted = log.get_meta("posted") or 0
        node.posting = log.get_meta("posting") or node.posted
        node.proposed = log.get_meta("proposed") or 0
        node._blocks_at_snapshot = len(core.builder.blocks)
        return node

    @property
    def address(self) -> bytes:
        return private_key_address(self.key)

    # -- accepting inputs ---------------------------------------------------------------------

    async def submit(self, inp: Input) -> Ack:
        """Apply, log and acknowledge one input; raises :class:`Refused`."""
        if self.stopping:
            raise Refused(13028, "temporarily_unavailable", "the node is shutting down")
        record = Record(self.core.seq + 1, int(self.wall() * 1000), inp)
        try:
            outcome = self.core.apply(record)
        except Refused:
            raise
        except Exception:
            # Not a refusal: the core may be half-way through an input, which the log
            # cannot reproduce. Stop taking inputs; a restart recovers from the log.
            self.stopping = True
            log.critical(
                "the sequencer core failed on input %d; stopping", record.seq, exc_info=True
            )
            raise
        if outcome.sealed is None and self.core.state.dirty_count >= HASH_EARLY:
            # Hash the state tree as the block fills (a root is a pure function of the
            # leaves, so this changes no outcome): the seal then hashes only the rest
            # instead of stalling the loop for the whole block.
            self.core.state.root()
        future: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
        digest = input_digest(inp, self.genesis.cfg.domain_separator)
        self._queue.append(
            _Pending(record.seq, record.at_ms, encode_record(record), digest, future)
        )
        if self._wake is not None:
            self._wake.set()
        receipt = await future
        return Ack(record, outcome, receipt)

    async def _writer(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._queue:
                if self.stopping:
                    return
                continue
            group, self._queue = self._queue, []
            published = self._take_events()
            snapshot = self._maybe_snapshot()
            rows = [(p.seq, p.body) for p in group]
            try:
                await loop.run_in_executor(self._io, self.log.append, rows, snapshot)
            except BaseException as exc:
                # The core already applied these inputs; without the log it cannot go on
                # truthfully. Fail them and stop accepting (a restart recovers).
                self.stopping = True
                for p in group:
                    if not p.future.done():
                        p.future.set_exception(RuntimeError(f"the log write failed: {exc}"))
                raise
            receipts = sign_group(
                self.key,
                self.genesis.cfg.domain_separator,
                [(p.seq, p.at_ms, p.digest) for p in group],
            )
            for p, receipt in zip(group, receipts, strict=True):
                if not p.future.done():
                    p.future.set_result(receipt)
            for subscriber in self.subscribers:
                subscriber(published)

    def _take_events(self) -> Published:
        events = self.core.drain()
        deltas = [
            self.core.engine.delta(i)
            for i in sorted(events.books)
            if i in self.core.engine.instruments()
        ]
        return Published(deltas, events.trades, events.orders, events.blocks)

    def _maybe_snapshot(self) -> tuple[int, bytes] | None:
        blocks = len(self.core.builder.blocks)
        if blocks - self._blocks_at_snapshot < self.snapshot_every:
            return None
        self._blocks_at_snapshot = blocks
        self.core.cache.clear()  # memoised pure functions: no need to keep them
        return self.core.seq, pickle.dumps(self.core, protocol=5)

    # -- the clock, L1, batches and proposals ----------------------------------------------------

    async def read_record(self, seq: int) -> bytes | None:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._io, self.log.record, seq)

    async def _ticker(self) -> None:
        if self.block_ms <= 0:  # blocks are sealed by hand: open the first one only
            if not self.core.open:
                await self.submit(Tick(int(self.clock())))
            return
        while not self.stopping:
            try:
                await self.submit(Tick(int(self.clock())))
            except Refused as exc:  # L1 stalled: no block until it moves again
                self.costs.last_error = exc.message
            await asyncio.sleep(self.block_ms / 1000)

    async def _l1_loop(self, every: float) -> None:
        port = self.l1
        assert port is not None
        loop = asyncio.get_running_loop()
        while not self.stopping:
            try:
                after = self.core.builder.l1[-1].number
                blocks = await loop.run_in_executor(
                    self._l1_io, port.poll, after, int(self.clock())
                )
                for block in blocks:
                    await self.submit(ObserveL1(block))
                await self._post(port, loop)
            except Exception as exc:  # L1 trouble: report, retry next round
                self.costs.failures += 1
                self.costs.last_error = f"{type(exc).__name__}: {exc}"
            await asyncio.sleep(every)

    async def _post(self, port: L1Port, loop: asyncio.AbstractEventLoop) -> None:
        """The batcher and the proposer: post ready blocks, propose the last one."""
        tip = await loop.run_in_executor(self._l1_io, port.tip)
        if tip <= self._batched_at:
            return  # at most one batch per L1 block: later blocks join the next one
        blocks = self.core.builder.blocks
        # The inbox refuses a batch that does not continue its count. What it holds is
        # what this node posted, or its last post landed before its note in the log (a
        # crash), or that post was lost (post again) — or another batch took this
        # node's place (a forced batch, rule 4): its blocks are no longer the chain's,
        # and posting them would propose wrong roots. It stops until it is rebuilt on
        # the derived chain.
        on_l1 = await loop.run_in_executor(self._l1_io, port.batched)
        resume = resume_from(on_l1, self.posted, self.posting)
        if resume is None:
            self.costs.failures += 1
            self.costs.last_error = (
                f"the inbox holds {on_l1} batch blocks, this node posted {self.posted}: "
                "another batch (a forced one) took its place; the batcher stops"
            )
            return
        self.posted = resume
        ready = next_batch(blocks, self.posted, tip + 1, self.genesis.cfg, self.genesis.grid)
        if ready is None:
            return
        data, last = ready
        self.posting = last
        await loop.run_in_executor(self._io, self.log.put_meta, "posting", last)
        await loop.run_in_executor(self._l1_io, port.post_batch, data)
        self.posted = last
        self._batched_at = tip
        self.costs.batches += 1
        self.costs.batch_bytes += len(data)
        await loop.run_in_executor(self._io, self.log.put_meta, "posted", last)
        block = blocks[last]
        header = block.header
        root = output_root(
            self.genesis.cfg.mode, header.state_root, header.withdrawals_root, block.hash
        )
        await loop.run_in_executor(self._l1_io, port.propose, root, block.number, header.l1_origin)
        self.proposed = last
        self.costs.proposals += 1
        self.costs.gas, self.costs.cost_wei = await loop.run_in_executor(self._l1_io, port.spent)
        await loop.run_in_executor(self._io, self.log.put_meta, "proposed", last)

    # -- life ----------------------------------------------------------------------------------

    async def start(self, ticks: bool = True, l1_every: float = 1.0) -> None:
        # The recovered state is long-lived: keep the cyclic collector off it, and let
        # young garbage pile up longer between collections (fewer, cheaper pauses).
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 50, 1000)
        self._wake = asyncio.Event()
        self._tasks.append(asyncio.create_task(self._writer()))
        if self.l1 is not None:
            self._tasks.append(asyncio.create_task(self._l1_loop(l1_every)))
        if ticks:
            self._tasks.append(asyncio.create_task(self._ticker()))

    async def stop(self) -> None:
        """Finish the open commit group, then stop the tasks and close the log."""
        self.stopping = True
        for task in self._tasks[1:]:
            task.cancel()
        if self._wake is not None:
            self._wake.set()
        if self._tasks:
            await self._tasks[0]  # the writer commits what is queued, then returns
        self._tasks = []
        self._io.shutdown()
        self._l1_io.shutdown()
        self.log.close()
