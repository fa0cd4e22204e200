# pragma version 0.4.3
# pragma evm-version prague
"""
@title StepExecutor
@notice The one-step executor of the dispute game (#7): from the agreed checkpoint
        before one step and the step's witness, it recomputes the checkpoint after
        it. This is the second implementation of the STF, step by step, differentially
        tested against the first (`rollbook.chain.trace`, which runs the Python STF)
        in tests/l1/test_step_executor.py; the checkpoint and context layouts are
        docs/design/fraud-proofs.md section 2.
@dev    A block's trace occupies positions [0, SPAN] of its span: offset 0 is the
        parent's output root (`block.begin` opens it), then `tx.load`, the STF's own
        steps and `tx.end` per tx, `tx.load` past the last tx, `block.seal` (the
        block's output root) and no-ops. A block's L1 txs are not in its tx root:
        `tx.load` takes them from the `InputQueue` (every entry from an L1 block up to
        the block's origin that the parent did not take, in order), so no witness
        can invent or skip a deposit, a forced tx or a governance change. The witness names nothing it is trusted
        for: the executor computes every leaf path from the keys its rule needs,
        checks every leaf it reads against the pre-root, and computes every value it
        writes. A witness that does not prove its part reverts; a tx the STF refuses
        is a step that fails (the `failed` context), never a revert.
        The executor runs the framing itself (begin, load, end, seal, no-op) and
        sends each STF step to its family's contract (`families[pc / 32]`, EIP-170
        keeps each contract under 24 KB), which returns the leaves the step changes
        and the context after it; the executor checks the reads before and applies
        the writes after. A family not deployed yet reverts "not executable yet"
        (docs/design/fraud-proofs.md, status).
"""

import smt
import steps
import txroot

interface InputQueue:
    def entries(index: uint256) -> (bytes32, uint256, uint256): view
    def due(index: uint256, origin: uint256) -> bool: view

interface BatchInbox:
    def records(index: uint256) -> InboxRecord: view

interface BatchDecoder:
    def standalone(item: Bytes[steps.MAX_ITEM], index: uint256, timestamp: uint256, table: Bytes[MAX_TABLE], named: DynArray[DecoderNamed, MAX_NAMED]) -> (bool, Bytes[MAX_STANDALONE]): view

struct InboxRecord:
    data_hash: bytes32
    head_hash: bytes32
    tx_root: bytes32
    items: uint256
    first_block: uint256
    blocks: uint256
    l1_block: uint256

struct DecoderNamed:
    index: uint256
    item: Bytes[steps.MAX_ITEM]

struct Named:  # an earlier item of the batch a reference names, with its path
    index: uint256
    item: Bytes[steps.MAX_ITEM]
    path: DynArray[bytes32, FRONTIER_DEPTH]

interface Family:
    def begin(ctx: steps.Context, item: Bytes[steps.MAX_ITEM]) -> steps.Context: view
    def rule(
        ctx: steps.Context,
        item: Bytes[steps.MAX_ITEM],
        leaves: DynArray[steps.Leaf, steps.MAX_READS],
        aux: Bytes[steps.MAX_AUX],
    ) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context): view

SPAN: constant(uint256) = 1048576  # 2**20 positions per block
FRONTIER_DEPTH: constant(uint256) = txroot.DEPTH
FAMILIES: constant(uint256) = 16
INPUTS_BYTES: constant(uint256) = 56
HEADER_BYTES: constant(uint256) = 152
ROOT_AT: constant(uint256) = 88  # the state root's offset in a header (then the withdrawals root)
# A batch head (rollbook.codec.batch): version, chain id, first block, the table's count
# at 17, then its entries, the block count and 18-byte block entries.
MAX_HEAD: constant(uint256) = 6914  # 17 + 1 + 255 * 18 + 2 + 128 * 18
MAX_TABLE: constant(uint256) = 4590
MAX_NAMED: constant(uint256) = 2
MAX_STANDALONE: constant(uint256) = 4075  # a tx item's 4,096 less origin and sender (an oracle report at its bound is ~3.6 KB)
COUNTS_AT: constant(uint256) = 17
E_MALFORMED: constant(bytes32) = 0x4d616c666f726d65645478000000000000000000000000000000000000000000  # "MalformedTx"

STEP_TAG: constant(Bytes[13]) = b"rollbook.step"
CONTEXT_TAG: constant(Bytes[16]) = b"rollbook.context"
BLOCK_TAG: constant(Bytes[14]) = b"rollbook.block"

# Tx kinds (rollbook.codec.txcodec) and their families (rollbook.chain.trace.FAMILIES).
FILL_BIT: constant(uint8) = 128
BASE_MASK: constant(uint8) = 191  # the kind without UNSIGNED_BIT (64)
F_DEPOSIT: constant(uint256) = 1
F_ACCOUNTS: constant(uint256) = 2
F_MARGIN: constant(uint256) = 3
F_TRADING: constant(uint256) = 4
F_LIQUIDATION: constant(uint256) = 5
F_ORACLE: constant(uint256) = 6
F_GOVERNANCE: constant(uint256) = 8

struct Read:
    path: bytes32
    leaf: Bytes[steps.MAX_LEAF]  # empty: no leaf at the path
    proof: smt.Proof

struct Witness:
    context: steps.Context
    state_root: bytes32
    withdrawals_root: bytes32
    header: Bytes[HEADER_BYTES]
    inputs: Bytes[INPUTS_BYTES]
    item: Bytes[steps.MAX_ITEM]
    path: DynArray[bytes32, FRONTIER_DEPTH]
    frontier: bytes32[FRONTIER_DEPTH]
    reads: DynArray[Read, steps.MAX_READS]
    writes: DynArray[smt.Proof, steps.MAX_WRITES]
    withdrawal_writes: DynArray[smt.Proof, steps.MAX_WRITES]
    aux: Bytes[steps.MAX_AUX]
    head: Bytes[MAX_HEAD]  # begin: the batch's head
    table: Bytes[MAX_TABLE]  # tx.load of a sequenced tx: the batch's table (its time in `aux`)
    named: DynArray[Named, MAX_NAMED]

version: public(uint256)
families: public(address[FAMILIES])
queue: public(InputQueue)
inbox: public(BatchInbox)
decoder: public(BatchDecoder)


@deploy
def __init__(version: uint256, families: address[FAMILIES], queue: InputQueue, inbox: BatchInbox, decoder: BatchDecoder):
    self.version = version
    self.families = families
    self.queue = queue
    self.inbox = inbox
    self.decoder = decoder


# -- hashing -------------------------------------------------------------------------


@pure
@internal
def _context_hash(ctx: steps.Context) -> bytes32:
    return keccak256(concat(CONTEXT_TAG, abi_encode(ctx)))


@pure
@internal
def _checkpoint(root: bytes32, wroot: bytes32, ctx: steps.Context) -> bytes32:
    return keccak256(concat(STEP_TAG, root, wroot, self._context_hash(ctx)))


@view
@internal
def _output_root(root: bytes32, wroot: bytes32, block_hash: bytes32) -> bytes32:
    return keccak256(concat(convert(self.version, bytes32), root, wroot, block_hash))


@pure
@internal
def _has_item(root: bytes32, item: Bytes[steps.MAX_ITEM], index: uint256, path: DynArray[bytes32, FRONTIER_DEPTH]) -> bool:
    """rollbook.codec.txroot.verify_path."""
    if len(item) == 0 or index >= 1 << len(path):
        return False
    return txroot.fold(keccak256(concat(b"\x00", item)), index, path) == root


@pure
@internal
def _verified(root: bytes32, r: Read) -> steps.Leaf:
    """A read checked against the pre-root: inclusion of its leaf, or exclusion."""
    if len(r.leaf) == 0:
        assert smt.excludes(root, r.path, r.proof), "StepExecutor: a read's exclusion proof shows a leaf"
    else:
        assert smt.includes(root, r.path, keccak256(r.leaf), r.proof), "StepExecutor: a read's proof shows another value"
    return steps.Leaf(path=r.path, data=r.leaf)


@pure
@internal
def _sorted(changes: DynArray[steps.Change, steps.MAX_WRITES]) -> DynArray[steps.Change, steps.MAX_WRITES]:
    """The leaves that change, in path order (the witness's write order)."""
    todo: DynArray[steps.Change, steps.MAX_WRITES] = []
    for c: steps.Change in changes:
        if c.has_old != c.has_new or c.old != c.new:
            todo.append(c)
    n: uint256 = len(todo)
    for i: uint256 in range(1, steps.MAX_WRITES):
        if i >= n:
            break
        j: uint256 = i
        for k: uint256 in range(steps.MAX_WRITES):
            if j == 0 or convert(todo[j - 1].path, uint256) <= convert(todo[j].path, uint256):
                break
            swap: steps.Change = todo[j - 1]
            todo[j - 1] = todo[j]
            todo[j] = swap
            j -= 1
    return todo


# -- contexts ------------------------------------------------------------------------


@pure
@internal
def _boundary(blk: steps.Context, tx_index: uint256, next_input: uint256, next_sequenced: uint256, receipts: bytes32) -> steps.Context:
    """A context between txs: `blk`'s block fields (inputs, time, its batch), the
    counters given, nothing of a tx, `tx.load` next."""
    return steps.Context(
        block=blk.block, timestamp=blk.timestamp, tx_index=tx_index,
        next_input=next_input, next_sequenced=next_sequenced,
        sequenced_end=blk.sequenced_end, batch=blk.batch, batch_table=blk.batch_table,
        receipts=receipts, tx_hash=empty(bytes32), pc=steps.TX_LOAD, step=0,
        tx_pre_root=empty(bytes32), tx_pre_withdrawals=empty(bytes32), failed=0, code=0,
        error=empty(bytes32), carry=empty(int256[steps.CARRY]),
    )


@pure
@internal
def _receipt(ctx: steps.Context) -> Bytes[48]:
    """rollbook.chain.blocks.receipt_item: ok u8, code u32, error name (u8 length)."""
    if ctx.failed == 0:
        return b"\x01\x00\x00\x00\x00\x00"
    size: uint256 = 0
    for i: uint256 in range(32):
        if slice(ctx.error, i, 1) == b"\x00":
            break
        size += 1
    return concat(
        b"\x00",
        convert(convert(ctx.code, uint32), bytes4),
        convert(convert(size, uint8), bytes1),
        slice(ctx.error, 0, size),
    )


# -- the steps -----------------------------------------------------------------------


@pure
@internal
def _field(word: bytes32, width: uint256) -> uint256:
    """The big-endian `width`-byte integer a word starts with."""
    return convert(word, uint256) >> (256 - 8 * width)


@view
@internal
def _begin(pre: bytes32, block_inputs: bytes32, header: Bytes[HEADER_BYTES], inputs: Bytes[INPUTS_BYTES], aux: Bytes[steps.MAX_AUX], head: Bytes[MAX_HEAD]) -> bytes32:
    """From the parent's output root to the block's first context. `aux` names the
    block's first L1 input (the first queue entry from an L1 block after the
    parent's origin: the parent took every one up to it) and the inbox record of its
    batch, whose head is `head`: block `n` is the inbox's batch block `n − 1`, and
    its time and origin are that block's entry's, raised to the parent's if lower
    (rollbook.chain.derive, rule 2). Its sequenced txs are the batch's items from
    the entry's first; the context keeps their range, the record and the table."""
    assert len(header) == HEADER_BYTES, "StepExecutor: the parent header is missing"
    parent_hash: bytes32 = keccak256(header)
    root: bytes32 = extract32(header, ROOT_AT)
    wroot: bytes32 = extract32(header, ROOT_AT + 32)
    assert self._output_root(root, wroot, parent_hash) == pre, "StepExecutor: the header does not open the parent's output root"
    assert len(inputs) == INPUTS_BYTES and keccak256(concat(BLOCK_TAG, inputs)) == block_inputs, "StepExecutor: the inputs are not the block's"
    assert extract32(inputs, 8) == parent_hash, "StepExecutor: the block does not extend the parent"
    number: uint256 = convert(slice(inputs, 0, 8), uint256)
    assert number == convert(slice(header, 0, 8), uint256) + 1, "StepExecutor: the block number does not follow the parent's"
    parent_origin: uint256 = convert(slice(header, 48, 8), uint256)
    assert len(aux) == 64, "StepExecutor: begin needs the block's first L1 input and its batch"
    first: uint256 = convert(slice(aux, 0, 32), uint256)
    assert not staticcall self.queue.due(first, parent_origin), "StepExecutor: the parent left an L1 input behind"
    assert first == 0 or staticcall self.queue.due(first - 1, parent_origin), "StepExecutor: the first L1 input is not the parent's next"
    # The batch: the record holds batch block n - 1, the head is the record's.
    record: uint256 = convert(slice(aux, 32, 32), uint256)
    rec: InboxRecord = staticcall self.inbox.records(record)
    assert keccak256(head) == rec.head_hash, "StepExecutor: the head is not the record's"
    assert rec.first_block < number and number <= rec.first_block + rec.blocks, "StepExecutor: the record does not hold the block"
    j: uint256 = number - 1 - rec.first_block
    padded: Bytes[MAX_HEAD + 32] = concat(head, empty(bytes32))  # (read in this frame: no copies)
    table: uint256 = 18 * self._field(extract32(padded, COUNTS_AT), 1)
    entries: uint256 = COUNTS_AT + 1 + table + 2
    sequenced: uint256 = 0
    for i: uint256 in range(128):
        if i == j:
            break
        sequenced += self._field(extract32(padded, entries + 18 * i + 16), 2)
    at: uint256 = entries + 18 * j
    timestamp: uint256 = max(self._field(extract32(padded, at), 8), convert(slice(header, 40, 8), uint256))
    origin: uint256 = max(self._field(extract32(padded, at + 8), 8), parent_origin)
    assert convert(slice(inputs, 40, 8), uint256) == timestamp, "StepExecutor: the block's time is not its batch's"
    assert convert(slice(inputs, 48, 8), uint256) == origin, "StepExecutor: the block's L1 origin is not its batch's"
    ctx: steps.Context = empty(steps.Context)
    ctx.block = block_inputs
    ctx.timestamp = timestamp
    ctx.sequenced_end = sequenced + self._field(extract32(padded, at + 16), 2)
    ctx.batch = record
    ctx.batch_table = keccak256(concat(slice(head, COUNTS_AT + 1, table), slice(head, entries, 8)))
    receipts: bytes32 = keccak256(abi_encode(empty(bytes32[FRONTIER_DEPTH])))
    return self._checkpoint(root, wroot, self._boundary(ctx, 0, first, sequenced, receipts))


@view
@internal
def _noop(pre: bytes32, header: Bytes[HEADER_BYTES]) -> bytes32:
    """Past the seal the block's output root stays."""
    assert len(header) == HEADER_BYTES, "StepExecutor: the header is missing"
    root: bytes32 = extract32(header, ROOT_AT)
    wroot: bytes32 = extract32(header, ROOT_AT + 32)
    assert self._output_root(root, wroot, keccak256(header)) == pre, "StepExecutor: the header does not open the output root"
    return pre


@pure
@internal
def _check_inputs(ctx: steps.Context, inputs: Bytes[INPUTS_BYTES]):
    assert len(inputs) == INPUTS_BYTES and keccak256(concat(BLOCK_TAG, inputs)) == ctx.block, "StepExecutor: the inputs are not the block's"


@pure
@internal
def _end(ctx: steps.Context, root: bytes32, wroot: bytes32, frontier: bytes32[FRONTIER_DEPTH]) -> (bytes32, bytes32, steps.Context):
    """`tx.end`: a refused tx's roots return to its pre-state; its receipt joins the
    frontier."""
    assert keccak256(abi_encode(frontier)) == ctx.receipts, "StepExecutor: the frontier is not the context's"
    after: bytes32[FRONTIER_DEPTH] = txroot.push(frontier, ctx.tx_index, keccak256(concat(b"\x00", self._receipt(ctx))))
    out: steps.Context = self._boundary(ctx, ctx.tx_index + 1, ctx.next_input, ctx.next_sequenced, keccak256(abi_encode(after)))
    if ctx.failed == 1:
        return ctx.tx_pre_root, ctx.tx_pre_withdrawals, out
    return root, wroot, out


@view
@internal
def _seal(ctx: steps.Context, root: bytes32, wroot: bytes32, inputs: Bytes[INPUTS_BYTES], frontier: bytes32[FRONTIER_DEPTH]) -> bytes32:
    """`block.seal`: the header from the inputs, the receipts and the roots."""
    self._check_inputs(ctx, inputs)
    assert keccak256(abi_encode(frontier)) == ctx.receipts, "StepExecutor: the frontier is not the context's"
    receipts_root: bytes32 = txroot.frontier_root(frontier, ctx.tx_index)
    header: Bytes[HEADER_BYTES] = concat(inputs, receipts_root, root, wroot)
    return self._output_root(root, wroot, keccak256(header))


# -- dispatch ------------------------------------------------------------------------


@pure
@internal
def _family_of_kind(kind: uint8) -> uint256:
    if kind & FILL_BIT != 0:
        return F_TRADING
    base: uint8 = kind & BASE_MASK
    if base == 11:
        return F_DEPOSIT
    if base >= 1 and base <= 6:
        return F_ACCOUNTS
    if base == 7:
        return F_MARGIN  # settle-account: the positions' lazy settlement
    if base == 8 or base == 9 or base == 17:
        return F_LIQUIDATION
    if base == 10:
        return F_ORACLE
    if base >= 12 and base <= 16:
        return F_GOVERNANCE
    raise "StepExecutor: not a tx kind"


@pure
@internal
def _from_l1_allowed(kind: uint8) -> bool:
    """rollbook.exchange.stf.FROM_L1: the owner actions, deposits, forced closes and
    governance; never a fill, a liquidation, a backstop, a settlement or the oracle."""
    if kind & FILL_BIT != 0:
        return False
    base: uint8 = kind & BASE_MASK
    return base != 7 and base != 8 and base != 9 and base != 10


@view
@internal
def _family(index: uint256) -> Family:
    family: address = self.families[index]
    if family == empty(address):
        raise "StepExecutor: this step is not executable yet"
    return Family(family)


@view
@internal
def _sequenced(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], path: DynArray[bytes32, FRONTIER_DEPTH], table: Bytes[MAX_TABLE], time: Bytes[steps.MAX_AUX], named: DynArray[Named, MAX_NAMED]) -> (bool, Bytes[MAX_STANDALONE]):
    """The block's next sequenced tx: batch item `ctx.next_sequenced` of the record,
    proven under its root with the earlier items its references name, decoded
    on-chain in the batch's table and time (8 bytes; both against the context): its
    standalone encoding, or False for an unreadable item (refused in its place)."""
    tx_root: bytes32 = (staticcall self.inbox.records(ctx.batch)).tx_root
    assert self._has_item(tx_root, item, ctx.next_sequenced, path), "StepExecutor: the item is not the batch's next"
    assert len(time) == 8 and keccak256(concat(table, time)) == ctx.batch_table, "StepExecutor: the table is not the batch's"
    given: DynArray[DecoderNamed, MAX_NAMED] = []
    for n: Named in named:
        assert n.index < ctx.next_sequenced and self._has_item(tx_root, n.item, n.index, n.path), "StepExecutor: a named item is not the batch's"
        given.append(DecoderNamed(index=n.index, item=n.item))
    return staticcall self.decoder.standalone(item, ctx.next_sequenced, convert(slice(time, 0, 8), uint256), table, given)


@view
@internal
def _load(ctx: steps.Context, root: bytes32, wroot: bytes32, inputs: Bytes[INPUTS_BYTES], item: Bytes[steps.MAX_ITEM], path: DynArray[bytes32, FRONTIER_DEPTH], table: Bytes[MAX_TABLE], time: Bytes[steps.MAX_AUX], named: DynArray[Named, MAX_NAMED]) -> steps.Context:
    """`tx.load`: while an L1 input up to the block's origin is left in the queue, the
    next one (the item must be the entry's); then the block's next batch item, decoded
    on-chain (`_sequenced`), until its range ends."""
    self._check_inputs(ctx, inputs)
    out: steps.Context = ctx
    origin: uint256 = convert(slice(inputs, 48, 8), uint256)
    loaded: Bytes[steps.MAX_ITEM] = item
    if staticcall self.queue.due(ctx.next_input, origin):
        entry_hash: bytes32 = empty(bytes32)
        entry_block: uint256 = 0
        entry_time: uint256 = 0
        entry_hash, entry_block, entry_time = staticcall self.queue.entries(ctx.next_input)
        assert keccak256(item) == entry_hash, "StepExecutor: the item is not the L1 input queue's next entry"
        out.next_input = ctx.next_input + 1
    elif ctx.next_sequenced == ctx.sequenced_end:
        out.pc = steps.SEAL
        return out
    else:
        readable: bool = False
        encoding: Bytes[MAX_STANDALONE] = b""
        readable, encoding = self._sequenced(ctx, item, path, table, time, named)
        out.next_sequenced = ctx.next_sequenced + 1
        if not readable:  # its block tx item is its own bytes (rollbook.chain.blocks.tx_item)
            out.tx_hash = keccak256(concat(empty(bytes21), item))
            out.tx_pre_root = root
            out.tx_pre_withdrawals = wroot
            out.step = 0
            return steps.refuse(out, steps.CODE_INVALID, E_MALFORMED)
        loaded = concat(empty(bytes21), encoding)
    out.tx_hash = keccak256(loaded)
    out.tx_pre_root = root
    out.tx_pre_withdrawals = wroot
    out.step = 0
    assert len(loaded) > steps.KIND_AT, "StepExecutor: a tx item is at least its origin, sender and kind"
    kind: uint8 = convert(slice(loaded, steps.KIND_AT, 1), uint8)
    family: uint256 = self._family_of_kind(kind)
    if convert(slice(loaded, 0, 1), uint8) == steps.ORIGIN_L1 and not self._from_l1_allowed(kind):
        return steps.refuse(out, steps.CODE_UNAUTHORIZED, steps.E_WRONG_ORIGIN)
    return staticcall self._family(family).begin(out, loaded)


@view
@external
def execute(pre: bytes32, offset: uint256, block_inputs: bytes32, w: Witness) -> bytes32:
    """The checkpoint after the step at `offset` of a block whose inputs hash to
    `block_inputs`, from the agreed checkpoint `pre` and the step's witness. Reverts
    on a witness that does not prove its part."""
    assert offset < SPAN, "StepExecutor: the offset is outside a block's span"
    if offset == 0:
        return self._begin(pre, block_inputs, w.header, w.inputs, w.aux, w.head)
    if len(w.header) > 0:
        return self._noop(pre, w.header)
    ctx: steps.Context = w.context
    root: bytes32 = w.state_root
    wroot: bytes32 = w.withdrawals_root
    assert self._checkpoint(root, wroot, ctx) == pre, "StepExecutor: the witness does not open the checkpoint"
    if ctx.pc == steps.SEAL:
        return self._seal(ctx, root, wroot, w.inputs, w.frontier)
    out: steps.Context = empty(steps.Context)
    if ctx.pc == steps.TX_LOAD:
        out = self._load(ctx, root, wroot, w.inputs, w.item, w.path, w.table, w.aux, w.named)
    elif ctx.pc == steps.TX_END:
        root, wroot, out = self._end(ctx, root, wroot, w.frontier)
    else:
        assert keccak256(w.item) == ctx.tx_hash, "StepExecutor: the item is not the context's tx"
        leaves: DynArray[steps.Leaf, steps.MAX_READS] = []
        for i: uint256 in range(steps.MAX_READS):
            if i >= len(w.reads):
                break
            leaves.append(self._verified(root, w.reads[i]))
        changes: DynArray[steps.Change, steps.MAX_WRITES] = []
        changes, out = staticcall self._family(ctx.pc // steps.FAMILY_SIZE).rule(ctx, w.item, leaves, w.aux)
        todo: DynArray[steps.Change, steps.MAX_WRITES] = self._sorted(changes)
        assert len(w.writes) == len(todo), "StepExecutor: one write proof per changed leaf"
        drawn: uint256 = 0
        for i: uint256 in range(steps.MAX_WRITES):
            if i >= len(todo):
                break
            c: steps.Change = todo[i]
            root = smt.root_after_update(root, c.path, c.has_old, c.old, c.has_new, c.new, w.writes[i])
            if c.withdrawal:
                assert drawn < len(w.withdrawal_writes), "StepExecutor: a withdrawal write lacks its proof"
                wroot = smt.root_after_update(wroot, c.path, c.has_old, c.old, c.has_new, c.new, w.withdrawal_writes[drawn])
                drawn += 1
        assert drawn == len(w.withdrawal_writes), "StepExecutor: one withdrawals-tree proof per withdrawal written"
    return self._checkpoint(root, wroot, out)
