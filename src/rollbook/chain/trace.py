"""The execution trace of an L2 block: step contexts and checkpoints (#7).

docs/design/fraud-proofs.md section 2. The dispute game bisects over *positions*;
the checkpoint at each position is a 32-byte commitment to the execution state there,
and the one-step executor (``l1/contracts/StepExecutor.vy``) recomputes the checkpoint
after any one step from the one before it. This module is the first implementation:
it builds a block's trace by running the Python STF with step witnesses.

A checkpoint inside a block is::

    keccak("rollbook.step" | state_root | withdrawals_root | keccak("rollbook.context" | context))

where the context (:class:`StepContext`, 30 words of 32 bytes) says what runs next:
the block (a hash of its inputs, :class:`BlockInputs`), its timestamp, the tx index,
the L1 input queue's next entry and the next sequenced tx's index, the receipts so
far (the hash of their Merkle frontier, :func:`~rollbook.codec.txroot.frontier_push`),
the tx's hash, the step to run (``pc``), the
steps done in the tx, the tx's pre-state roots, the failure and its receipt fields,
and the values carried between steps (``carry``, sixteen signed words).

The trace of block ``j`` of a disputed range occupies positions
``[j·SPAN, (j+1)·SPAN]``; position ``j·SPAN`` holds the parent's output root and
``(j+1)·SPAN`` the block's. The steps, in order:

- ``block.begin``: from the parent's output root (opened by its preimage) to the first
  context of the block, whose next L1 input is the first queue entry from an L1 block
  after the parent's origin;
- for each tx ``t``: ``tx.load`` (an L1 tx is the input queue's next entry, while one
  from an L1 block up to the block's origin is left; a sequenced tx is the next item
  of the block's batch in the inbox, proven under the inbox's root and decoded from
  the compact codec; the item becomes the tx's context and the first STF step of its
  type is next), the STF's
  own steps (each with a :class:`~rollbook.commitment.witness.StepWitness`), and
  ``tx.end`` (a failed tx's roots go back to its pre-state; its receipt joins the
  frontier);
- ``tx.load`` past the last tx: no queue entry is due and the block's range of its
  batch's items is done, so the seal is next;
- ``block.seal``: the header from the inputs, the receipts root from the frontier,
  and the roots, hashed into the output root;
- no-ops up to the end of the span: the output root stays.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from rollbook.chain.blocks import (
    BatchSource,
    BlockInputs,
    Header,
    L2Block,
    Mode,
    output_root,
    receipt_item,
    tx_item,
)
from rollbook.codec.batch import decode_item, head_entries, table_context
from rollbook.codec.txroot import (
    EMPTY_FRONTIER,
    frontier_push,
    frontier_root,
    merkle_paths,
)
from rollbook.commitment.witness import StepWitness, witness_tx
from rollbook.crypto.keccak import keccak256
from rollbook.exchange.env import TxEnv
from rollbook.exchange.errors import InvariantError
from rollbook.exchange.orders import SignedOrder
from rollbook.exchange.state import State
from rollbook.exchange.steps import (
    BLOCK_BEGIN,
    SEAL,
    STEP_IDS,
    TX_END,
    TX_LOAD,
    step_id,
)
from rollbook.exchange.stf import Block, Receipt, apply_block
from rollbook.exchange.txs import Origin

SPAN_BITS = 20
SPAN = 1 << SPAN_BITS
"""Positions per block in a dispute: a block's trace (at most ``SPAN − 1`` steps,
docs/design/consensus.md section 11) is padded to it with no-ops."""

CARRY_WORDS = 16
ZERO = bytes(32)

STEP_TAG = b"rollbook.step"
CONTEXT_TAG = b"rollbook.context"


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big", signed=value < 0)


def error_word(name: str) -> bytes:
    """A receipt's error name as one word: ASCII, left-aligned, zero-padded."""
    raw = name.encode()
    if len(raw) > 32:
        raise InvariantError(f"error name {name!r} is longer than 32 bytes")
    return raw + bytes(32 - len(raw))


@dataclass(frozen=True, slots=True)
class StepContext:
    """What runs next inside a block (module docstring)."""

    block: bytes
    timestamp: int
    tx_index: int = 0
    next_input: int = 0
    """The L1 input queue's entry the block takes next (``InputQueue.vy``)."""
    next_sequenced: int = 0
    """The batch item of the block's next sequenced tx."""
    sequenced_end: int = 0
    """The batch item after the block's last sequenced tx."""
    batch: int = 0
    """The inbox record of the block's batch."""
    batch_table: bytes = ZERO
    """``keccak(table || time u64)`` of the batch: what an item is decoded in."""
    receipts: bytes = ZERO
    tx_hash: bytes = ZERO
    pc: int = STEP_IDS[TX_LOAD]
    step: int = 0
    tx_pre_root: bytes = ZERO
    tx_pre_withdrawals: bytes = ZERO
    failed: bool = False
    code: int = 0
    error: bytes = ZERO
    carry: tuple[int, ...] = ()

    def encode(self) -> bytes:
        if len(self.carry) > CARRY_WORDS:
            raise InvariantError(f"a step carries at most {CARRY_WORDS} values")
        carry = self.carry + (0,) * (CARRY_WORDS - len(self.carry))
        words = [
            self.block,
            _word(self.timestamp),
            _word(self.tx_index),
            _word(self.next_input),
            _word(self.next_sequenced),
            _word(self.sequenced_end),
            _word(self.batch),
            self.batch_table,
            self.receipts,
            self.tx_hash,
            _word(self.pc),
            _word(self.step),
            self.tx_pre_root,
            self.tx_pre_withdrawals,
            _word(int(self.failed)),
            _word(self.code),
            self.error,
            *(_word(v) for v in carry),
        ]
        return b"".join(words)

    def hash(self) -> bytes:
        return keccak256(CONTEXT_TAG + self.encode())


def checkpoint(state_root: bytes, withdrawals_root: bytes, context: StepContext) -> bytes:
    return keccak256(STEP_TAG + state_root + withdrawals_root + context.hash())


def frontier_hash(frontier: tuple[bytes, ...]) -> bytes:
    """What a context holds of the receipts so far: the hash of their frontier."""
    return keccak256(b"".join(frontier))


@dataclass(frozen=True, slots=True)
class Point:
    """The execution state at one position: roots and a context, or an output root
    (``context`` None) with its preimage."""

    state_root: bytes
    withdrawals_root: bytes
    context: StepContext | None = None
    header: Header | None = None
    mode: Mode = Mode.OPTIMISTIC

    @property
    def checkpoint(self) -> bytes:
        if self.context is None:
            if self.header is None:
                raise InvariantError("an output point needs its header")
            return output_root(
                self.mode, self.state_root, self.withdrawals_root, self.header.hash()
            )
        return checkpoint(self.state_root, self.withdrawals_root, self.context)


@dataclass(frozen=True, slots=True)
class NamedItem:
    """An earlier batch item a sequenced tx's references name, with its path."""

    index: int
    item: bytes
    path: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class BatchLoad:
    """What ``tx.load`` of a sequenced tx proves and decodes: the batch item with its
    path under the inbox's root, the batch's table and time, the items it names."""

    item: bytes
    path: tuple[bytes, ...]
    table: bytes
    time: int
    named: tuple[NamedItem, ...]


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One step of a block trace and what its executor needs beyond the pre-point."""

    name: str
    pre: Point
    post: Point
    witness: StepWitness | None = None
    item: bytes = b""
    """The tx item of a tx's steps: origin, L1 sender or zeros, standalone encoding."""
    frontier: tuple[bytes, ...] = ()
    """``tx.end`` and ``block.seal``: the receipts' frontier before the step."""
    receipt: bytes = b""
    """``tx.end``: the receipt item the step appends."""
    batch: BatchLoad | None = None
    """``tx.load`` of a sequenced tx: its batch item and what decoding it needs."""


@dataclass
class BlockTrace:
    """A block's steps; ``points[k]`` is the state before step ``k``."""

    inputs: BlockInputs
    first_input: int = 0
    """The L1 input queue's entry the block's first L1 tx is (the witness of
    ``block.begin`` names it; the executor checks it against the queue)."""
    source: BatchSource | None = None
    """The block's batch in the inbox (``block.begin`` reads its head)."""
    steps: list[TraceStep] = field(default_factory=list)

    @property
    def points(self) -> list[Point]:
        return [self.steps[0].pre] + [s.post for s in self.steps]

    def checkpoint_at(self, offset: int) -> bytes:
        """The checkpoint at ``offset`` in ``[0, SPAN]`` of the block's span."""
        if not 0 <= offset <= SPAN:
            raise IndexError(f"offset {offset} is outside a block's span")
        if offset >= len(self.steps):
            return self.steps[-1].post.checkpoint
        return self.steps[offset].pre.checkpoint

    def step_at(self, offset: int) -> TraceStep | None:
        """The step from ``offset`` to ``offset + 1`` (None: a no-op past the seal)."""
        return self.steps[offset] if offset < len(self.steps) else None


class AskedParts(dict[int, SignedOrder]):
    """``TxContext.parts`` that records the references a decoder looks up (the items
    the one-step executor must then be given as ``named``)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[int] = []

    def get(self, key: int, default: Any = None) -> Any:
        self.asked.append(key)
        return super().get(key, default)


def batch_loads(source: BatchSource, first: int, count: int, separator: bytes) -> list[BatchLoad]:
    """What ``tx.load`` proves for batch items ``first`` .. ``first + count − 1``: each
    item with its path, the batch's table and time, and the earlier items its
    references name (found by decoding the batch up to it, as derivation does)."""
    table, instruments, entries = head_entries(source.head)
    time = entries[0][0]
    ctx = table_context(separator, instruments)
    ctx.timestamp = time
    parts = AskedParts()
    ctx.parts = parts
    _, paths = merkle_paths(list(source.items))
    loads = []
    for index in range(first + count):
        ctx.item = index
        parts.asked.clear()
        decode_item(source.items[index], ctx)
        if index >= first:
            named = sorted({ref >> 1 for ref in parts.asked if ref >> 1 < index})
            loads.append(
                BatchLoad(
                    source.items[index],
                    tuple(paths[index]),
                    table,
                    time,
                    tuple(NamedItem(i, source.items[i], tuple(paths[i])) for i in named),
                )
            )
    return loads


def trace_block(
    state: State,
    parent: Header,
    block: L2Block,
    domain_separator: bytes,
    mode: Mode = Mode.OPTIMISTIC,
    first_input: int = 0,
) -> BlockTrace:
    """Apply ``block`` to ``state`` (the parent's post-state) step by step and return
    its trace; ``first_input`` is the input queue's entry of the block's first L1 tx
    (the number of L1 txs in the blocks before it). The block must know its batch in
    the inbox (``block.source``: a derived block does). Raises
    :class:`InvariantError` if the result is not ``block``."""
    source = block.source
    if source is None:
        raise InvariantError(f"block {block.number} has no batch on L1 to trace it from")
    inputs = block.header.inputs()
    trace = BlockTrace(inputs, first_input, source)
    steps = trace.steps
    parent_point = Point(state.root(), state.withdrawals_root(), header=parent, mode=mode)
    if parent_point.checkpoint != output_root(
        mode, parent.state_root, parent.withdrawals_root, parent.hash()
    ):
        raise InvariantError("the state is not the parent's post-state")
    table, _, entries = head_entries(source.head)
    first = sum(n for _, _, n in entries[: source.block])
    count = entries[source.block][2]
    loads = batch_loads(source, first, count, domain_separator)
    frontier = EMPTY_FRONTIER
    boundary = StepContext(
        inputs.hash(),
        inputs.timestamp,
        next_input=first_input,
        next_sequenced=first,
        sequenced_end=first + count,
        batch=source.record,
        batch_table=keccak256(table + entries[0][0].to_bytes(8, "big")),
        receipts=frontier_hash(frontier),
    )
    point = Point(state.root(), state.withdrawals_root(), boundary)
    steps.append(TraceStep(BLOCK_BEGIN, parent_point, point))
    items = [tx_item(t, domain_separator) for t in block.txs]
    receipts: list[Receipt] = []
    for index, (item, block_tx) in enumerate(zip(items, block.txs, strict=True)):
        env = TxEnv(inputs.timestamp, domain_separator, block_tx.origin, block_tx.l1_sender)
        pre_root, pre_wd = point.state_root, point.withdrawals_root
        load: BatchLoad | None = None
        if block_tx.origin is Origin.L1:
            loaded = replace(boundary, next_input=boundary.next_input + 1)
        else:
            load = loads[boundary.next_sequenced - first]
            loaded = replace(boundary, next_sequenced=boundary.next_sequenced + 1)
        tx_context = replace(
            loaded,
            tx_index=index,
            tx_hash=keccak256(item),
            tx_pre_root=pre_root,
            tx_pre_withdrawals=pre_wd,
        )
        receipt, witnesses = witness_tx(state, block_tx.tx, env)
        receipts.append(receipt)
        contexts = [
            replace(tx_context, pc=step_id(w.name), step=k, carry=w.carry)
            for k, w in enumerate(witnesses)
        ]
        end = replace(tx_context, pc=step_id(TX_END), step=len(witnesses))
        if not receipt.ok:
            end = replace(end, failed=True, code=receipt.code, error=error_word(receipt.error))
        contexts.append(end)
        steps.append(
            TraceStep(TX_LOAD, point, Point(pre_root, pre_wd, contexts[0]), item=item, batch=load)
        )
        for k, w in enumerate(witnesses):
            if w.failed != (k == len(witnesses) - 1 and not receipt.ok):
                raise InvariantError(f"step {w.name} failed but the tx went on")
            pre = Point(w.pre_root, w.pre_withdrawals, contexts[k])
            post = Point(w.post_root, w.post_withdrawals, contexts[k + 1])
            steps.append(TraceStep(w.name, pre, post, witness=w, item=item))
        last = steps[-1].post
        receipt_bytes = receipt_item(receipt)
        before, frontier = frontier, frontier_push(frontier, index, receipt_bytes)
        boundary = replace(loaded, tx_index=index + 1, receipts=frontier_hash(frontier))
        if receipt.ok:
            point = Point(last.state_root, last.withdrawals_root, boundary)
        else:
            point = Point(pre_root, pre_wd, boundary)
        steps.append(TraceStep(TX_END, last, point, frontier=before, receipt=receipt_bytes))
    if point.state_root != state.root() or point.withdrawals_root != state.withdrawals_root():
        raise InvariantError("the trace's roots are not the state's")
    if boundary.next_sequenced != first + count:
        raise InvariantError(f"block {block.number} is not its batch block's txs")
    sealing = Point(point.state_root, point.withdrawals_root, replace(boundary, pc=step_id(SEAL)))
    steps.append(TraceStep(TX_LOAD, point, sealing))
    header = inputs.header(
        frontier_root(frontier, len(receipts)), point.state_root, point.withdrawals_root
    )
    if header != block.header or tuple(receipts) != block.receipts:
        raise InvariantError(f"block {block.number}: the trace does not rebuild the block")
    final = Point(point.state_root, point.withdrawals_root, header=header, mode=mode)
    steps.append(TraceStep(SEAL, sealing, final, frontier=frontier))
    return trace


@dataclass
class OutputTrace:
    """The trace a dispute of one output root bisects (docs/design/fraud-proofs.md
    section 3): the blocks after the anchor output, block ``j`` at positions
    ``[j·SPAN, (j+1)·SPAN]``, padded to a power-of-two number of blocks whose
    checkpoints all equal the last output root. ``trace[p]`` is the checkpoint at
    position ``p``."""

    blocks: list[BlockTrace]

    @property
    def length(self) -> int:
        padded = 1
        while padded < len(self.blocks):
            padded *= 2
        return padded << SPAN_BITS

    def __len__(self) -> int:
        return self.length + 1

    def __getitem__(self, position: int) -> bytes:
        j, offset = divmod(position, SPAN)
        if j >= len(self.blocks):
            return self.blocks[-1].checkpoint_at(SPAN)
        return self.blocks[j].checkpoint_at(offset)

    def header_at(self, position: int) -> bytes:
        """The header that opens the output root at a block boundary (b"" elsewhere
        and in the padding)."""
        j, offset = divmod(position, SPAN)
        if offset or not 1 <= j <= len(self.blocks):
            return b""
        header = self.blocks[j - 1].steps[-1].post.header
        if header is None:
            raise InvariantError("a block trace ends without its header")
        return header.encode()

    def block_at(self, position: int) -> tuple[BlockTrace, int] | None:
        """The block trace and offset of the step from ``position`` (None: a no-op in
        the padding)."""
        j, offset = divmod(position, SPAN)
        return None if j >= len(self.blocks) else (self.blocks[j], offset)


def trace_output(
    genesis: State,
    blocks: list[L2Block],
    first: int,
    last: int,
    domain_separator: bytes,
    mode: Mode = Mode.OPTIMISTIC,
) -> OutputTrace:
    """The trace of the output of block ``last`` against the output of block ``first``
    (``blocks[n]`` is block ``n``, ``blocks[0]`` the genesis): the blocks up to
    ``first`` are replayed, those after it traced."""
    state = genesis.copy()
    for block in blocks[1 : first + 1]:
        h = block.header
        apply_block(state, Block(h.number, h.timestamp, block.txs), domain_separator)
    traces = []
    next_input = sum(l1_tx_count(block) for block in blocks[: first + 1])
    for parent, block in zip(blocks[first:last], blocks[first + 1 : last + 1], strict=True):
        traces.append(trace_block(state, parent.header, block, domain_separator, mode, next_input))
        next_input += l1_tx_count(block)
    return OutputTrace(traces)


def l1_tx_count(block: L2Block) -> int:
    """How many L1 txs the block holds: derivation takes every input queue entry, one
    tx each, in order, so the blocks before one sum to its first L1 tx's entry."""
    return sum(1 for t in block.txs if t.origin is Origin.L1)


ROOT_AT = 88
"""A header's state root's offset (then the withdrawals root): ``Header.encode``."""


def header_roots(header: bytes) -> tuple[bytes, bytes]:
    """The state and withdrawals roots of an encoded header."""
    return header[ROOT_AT : ROOT_AT + 32], header[ROOT_AT + 32 : ROOT_AT + 64]


def forge_header(header: bytes, position: int, salt: bytes = b"rollbook.fault") -> bytes:
    """A header with its state root replaced by ``keccak(salt | position)`` (a fault's
    claim at a block boundary)."""
    return header[:ROOT_AT] + keccak256(salt + position.to_bytes(8, "big")) + header[ROOT_AT + 32 :]


def forged_root(header: bytes, position: int, mode: Mode = Mode.OPTIMISTIC) -> bytes:
    """The output root of :func:`forge_header`: what a proposer lying about the last
    block's state claims (``LyingTrace(honest, position).root()``)."""
    forged = forge_header(header, position)
    return output_root(mode, *header_roots(forged), keccak256(forged))


@dataclass
class LyingTrace:
    """A trace that agrees with ``honest`` up to position ``lie_from`` and claims other
    checkpoints from there: at block boundaries, output roots of headers whose state
    root is replaced by ``keccak(salt | position)``; elsewhere, other hashes. This is
    how a faulty proposer of ``rollbook devnet --fault`` defends its root, and how the
    tests make one."""

    honest: OutputTrace
    lie_from: int
    mode: Mode = Mode.OPTIMISTIC
    salt: bytes = b"rollbook.fault"

    @property
    def length(self) -> int:
        return self.honest.length

    def header_at(self, position: int) -> bytes:
        header = self.honest.header_at(position)
        if position < self.lie_from or not header:
            return header
        return forge_header(header, position, self.salt)

    def __getitem__(self, position: int) -> bytes:
        position = min(position, len(self.honest.blocks) * SPAN)
        if position < self.lie_from:
            return self.honest[position]
        if position % SPAN == 0:
            header = self.header_at(position)
            return output_root(self.mode, *header_roots(header), keccak256(header))
        return keccak256(self.salt + b".step" + position.to_bytes(8, "big"))

    def root(self) -> bytes:
        """The output root the liar claims."""
        return self[self.length]
