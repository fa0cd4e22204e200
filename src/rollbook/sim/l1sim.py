"""An L1 *input history* for simulations and tests of derivation.

Derivation reads L1 as a list of :class:`~rollbook.chain.l1.L1Block` records. Until
#5 reads them from the Vyper contracts on a real EVM, the devnet session and the tests
write them here: one block every 12 seconds, carrying the deposits, forced txs,
governance txs and batches queued since the last one. Block hashes are keccak of the
block's contents and parent, so a different history (a reorg) has different hashes.
This is test input for a pure function, not a stand-in for the base layer: nothing
here decides anything derivation does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rollbook.chain.derive import (
    ChainConfig,
    InboxCursor,
    InvalidBatch,
    forced_batch,
    inbox_accepts,
)
from rollbook.chain.l1 import L1Block, L1Deposit, L1Forced, L1Governance, L1Input, L1Ref
from rollbook.codec.batch import decode_batch
from rollbook.codec.errors import DecodeError
from rollbook.crypto.keccak import keccak256

L1_BLOCK_TIME = 12


def block_hash(
    number: int,
    parent: bytes,
    timestamp: int,
    inputs: tuple[L1Input, ...],
    batches: tuple[bytes, ...],
    salt: bytes = b"",
) -> bytes:
    """A deterministic hash of a simulated L1 block's contents and parent."""
    body = number.to_bytes(8, "big") + parent + timestamp.to_bytes(8, "big") + salt
    for item in inputs:
        body += keccak256(repr(item).encode())
    for data in batches:
        body += keccak256(data)
    return keccak256(body)


@dataclass
class SimL1:
    """A growing L1 history: queue inputs, then :meth:`mine` blocks up to a time."""

    start: int
    next_deposit: int
    """The id of the next deposit: the L2 genesis's ``next_deposit_id`` (derivation
    refuses a deposit out of sequence, so the two must agree)."""
    genesis: L1Block = field(init=False)
    blocks: list[L1Block] = field(default_factory=list)
    queued_inputs: list[L1Input] = field(default_factory=list)
    queued_batches: list[bytes] = field(default_factory=list)
    salt: bytes = b""
    cfg: ChainConfig | None = None
    """The chain's rules, for forced inclusion (``force_include``): the inbox's cursor
    is followed only when they are given."""
    inbox: InboxCursor = field(default_factory=InboxCursor)
    queued_forced: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        genesis_hash = block_hash(0, bytes(32), self.start, (), ())
        self.genesis = L1Block(0, genesis_hash, bytes(32), self.start)

    @property
    def genesis_ref(self) -> L1Ref:
        return L1Ref.of(self.genesis)

    @property
    def tip(self) -> L1Block:
        return self.blocks[-1] if self.blocks else self.genesis

    def deposit(self, owner: bytes, amount: int) -> L1Deposit:
        item = L1Deposit(self.next_deposit, owner, amount)
        self.next_deposit += 1
        self.queued_inputs.append(item)
        return item

    def force(self, sender: bytes, data: bytes) -> None:
        self.queued_inputs.append(L1Forced(sender, data))

    def govern(self, data: bytes) -> None:
        self.queued_inputs.append(L1Governance(data))

    def post_batch(self, data: bytes) -> None:
        self.queued_batches.append(data)

    def force_include(self, index: int) -> None:
        """Anyone asks the inbox to force input queue entry ``index`` in (rule 4); in
        the next block, after its posts, if the inbox's rules allow it then."""
        self.queued_forced.append(index)

    def entries(self) -> list[tuple[int, int]]:
        """The input queue: (L1 block, L1 time) of each entry, in order."""
        return [(b.number, b.timestamp) for b in self.blocks for _ in b.inputs]

    def inbox_cursor(self) -> InboxCursor:
        return self.inbox

    def _follow(self, number: int, timestamp: int, batches: tuple[bytes, ...]) -> tuple[bytes, ...]:
        """The inbox's cursor through ``batches`` in the block being mined, then the
        forced batches asked for (those the inbox would record) after them."""
        if self.cfg is None:
            return batches
        block = L1Block(number, b"", b"", timestamp)
        for data in batches:
            try:
                batch, _ = decode_batch(data, self.cfg.domain_separator)
                self.inbox = inbox_accepts(self.inbox, batch, block, self.cfg)
            except (DecodeError, InvalidBatch):
                continue  # the inbox would refuse it (derivation skips it)
        forced = []
        entries = self.entries()
        for index in self.queued_forced:
            try:
                data = forced_batch(self.inbox, entries[index], number, timestamp, self.cfg)
            except (IndexError, InvalidBatch):
                continue  # the inbox would refuse it
            batch, _ = decode_batch(data, self.cfg.domain_separator)
            self.inbox = inbox_accepts(self.inbox, batch, block, self.cfg)
            forced.append(data)
        self.queued_forced = []
        return (*batches, *forced)

    def mine(self, now: int) -> list[L1Block]:
        """Mine every block due by ``now``; queued items go into the first of them."""
        mined = []
        while self.tip.timestamp + L1_BLOCK_TIME <= now:
            parent = self.tip
            inputs, batches = tuple(self.queued_inputs), tuple(self.queued_batches)
            self.queued_inputs, self.queued_batches = [], []
            number, timestamp = parent.number + 1, parent.timestamp + L1_BLOCK_TIME
            batches = self._follow(number, timestamp, batches)
            block = L1Block(
                number,
                block_hash(number, parent.hash, timestamp, inputs, batches, self.salt),
                parent.hash,
                timestamp,
                inputs,
                batches,
            )
            self.blocks.append(block)
            mined.append(block)
        return mined
