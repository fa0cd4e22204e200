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
        block's output root) and no-ops. The witness names nothing it is trusted
        for: the executor computes every leaf path from the keys its rule needs,
        checks every leaf it reads against the pre-root, and computes every value it
        writes. A witness that does not prove its part reverts; a tx the STF refuses
        is a step that fails (the `failed` context), never a revert.
        Steps covered so far: the block and tx framing (begin, load, end, seal, no-op)
        and the deposit family. Other step ids revert "not executable yet"
        (docs/design/fraud-proofs.md, status).
"""

import smt

SPAN: constant(uint256) = 1048576  # 2**20 positions per block
FRONTIER_DEPTH: constant(uint256) = 20
CARRY: constant(uint256) = 8
MAX_WITNESS: constant(uint256) = 65536
MAX_ITEM: constant(uint256) = 4096
MAX_LEAF: constant(uint256) = 2048
MAX_READS: constant(uint256) = 5
MAX_WRITES: constant(uint256) = 5
INPUTS_BYTES: constant(uint256) = 120
HEADER_BYTES: constant(uint256) = 216

STEP_TAG: constant(Bytes[13]) = b"rollbook.step"
CONTEXT_TAG: constant(Bytes[16]) = b"rollbook.context"
BLOCK_TAG: constant(Bytes[14]) = b"rollbook.block"

# Step ids: rollbook.chain.trace.STEP_NAMES, index + 1.
TX_LOAD: constant(uint256) = 1
TX_END: constant(uint256) = 2
SEAL: constant(uint256) = 3
DEPOSIT: constant(uint256) = 5
DEPOSIT_OPEN: constant(uint256) = 6
DEPOSIT_CREDIT: constant(uint256) = 7
DEPOSIT_TOTALS: constant(uint256) = 8

# Tx kinds (rollbook.codec.txcodec) and origins.
K_DEPOSIT: constant(uint8) = 11
ORIGIN_L1: constant(uint8) = 1

# Leaf tags and field offsets (rollbook.exchange.leaves: tag, then each field as
# 0x02 + 32 bytes for an int, 0x03 + u32 length + bytes, 0x05 + u32 count + items).
TAG_ACCOUNT: constant(uint8) = 1
TAG_GLOBALS: constant(uint8) = 7
TAG_OWNER_INDEX: constant(uint8) = 9
G_NEXT_ACCOUNT: constant(uint256) = 0
G_NEXT_DEPOSIT: constant(uint256) = 1
G_TOTAL_DEPOSITS: constant(uint256) = 4
ACCOUNT_BALANCE_AT: constant(uint256) = 27

# Receipts of refused txs: the Deribit code and the error's class name.
CODE_UNAUTHORIZED: constant(uint256) = 13009
CODE_INVALID: constant(uint256) = 11029
E_WRONG_ORIGIN: constant(bytes32) = 0x57726f6e674f726967696e000000000000000000000000000000000000000000  # "WrongOrigin"
E_BAD_NONCE: constant(bytes32) = 0x4261644e6f6e6365000000000000000000000000000000000000000000000000  # "BadNonce"

struct Context:
    block: bytes32
    timestamp: uint256
    tx_index: uint256
    receipts: bytes32
    tx_hash: bytes32
    pc: uint256
    step: uint256
    tx_pre_root: bytes32
    tx_pre_withdrawals: bytes32
    failed: uint256
    code: uint256
    error: bytes32
    carry: int256[CARRY]

struct Read:
    path: bytes32
    leaf: Bytes[MAX_LEAF]  # empty: no leaf at the path
    proof: smt.Proof

struct Witness:
    context: Context
    state_root: bytes32
    withdrawals_root: bytes32
    header: Bytes[HEADER_BYTES]
    inputs: Bytes[INPUTS_BYTES]
    item: Bytes[MAX_ITEM]
    path: DynArray[bytes32, FRONTIER_DEPTH]
    frontier: bytes32[FRONTIER_DEPTH]
    reads: DynArray[Read, MAX_READS]
    writes: DynArray[smt.Proof, MAX_WRITES]
    withdrawal_writes: DynArray[smt.Proof, 1]

struct Leaf:
    path: bytes32
    data: Bytes[MAX_LEAF]  # empty: no leaf at the path

struct Change:
    path: bytes32
    has_old: bool
    old: bytes32
    has_new: bool
    new: bytes32

version: public(uint256)


@deploy
def __init__(version: uint256):
    self.version = version


# -- hashing -------------------------------------------------------------------------


@pure
@internal
def _context_hash(ctx: Context) -> bytes32:
    return keccak256(concat(CONTEXT_TAG, abi_encode(ctx)))


@pure
@internal
def _checkpoint(root: bytes32, wroot: bytes32, ctx: Context) -> bytes32:
    return keccak256(concat(STEP_TAG, root, wroot, self._context_hash(ctx)))


@view
@internal
def _output_root(root: bytes32, wroot: bytes32, block_hash: bytes32) -> bytes32:
    return keccak256(concat(convert(self.version, bytes32), root, wroot, block_hash))


@pure
@internal
def _node(left: bytes32, right: bytes32) -> bytes32:
    return keccak256(concat(b"\x01", left, right))


@pure
@internal
def _fold(start: bytes32, index: uint256, path: DynArray[bytes32, FRONTIER_DEPTH]) -> bytes32:
    node: bytes32 = start
    at: uint256 = index
    for sibling: bytes32 in path:
        if at & 1 == 1:
            node = self._node(sibling, node)
        else:
            node = self._node(node, sibling)
        at = at >> 1
    return node


@pure
@internal
def _has_item(root: bytes32, item: Bytes[MAX_ITEM], index: uint256, path: DynArray[bytes32, FRONTIER_DEPTH]) -> bool:
    """rollbook.codec.txroot.verify_path."""
    if len(item) == 0 or index >= 1 << len(path):
        return False
    return self._fold(keccak256(concat(b"\x00", item)), index, path) == root


@pure
@internal
def _is_end(root: bytes32, count: uint256, item: Bytes[MAX_ITEM], path: DynArray[bytes32, FRONTIER_DEPTH]) -> bool:
    """rollbook.codec.txroot.verify_end: no item at `count`."""
    if count == 0:
        return root == empty(bytes32) and len(item) == 0 and len(path) == 0
    if count == 1 << len(path):
        return self._has_item(root, item, count - 1, path)
    if len(item) != 0 or count > 1 << len(path):
        return False
    return self._fold(empty(bytes32), count, path) == root


@pure
@internal
def _empty_subtree(height: uint256) -> bytes32:
    node: bytes32 = empty(bytes32)
    for i: uint256 in range(FRONTIER_DEPTH):
        if i >= height:
            break
        node = self._node(node, node)
    return node


@pure
@internal
def _push(frontier: bytes32[FRONTIER_DEPTH], count: uint256, item: Bytes[48]) -> bytes32[FRONTIER_DEPTH]:
    """rollbook.codec.txroot.frontier_push."""
    branch: bytes32[FRONTIER_DEPTH] = frontier
    node: bytes32 = keccak256(concat(b"\x00", item))
    size: uint256 = count + 1
    for height: uint256 in range(FRONTIER_DEPTH):
        if size & 1 == 1:
            branch[height] = node
            return branch
        node = self._node(branch[height], node)
        size = size >> 1
    raise "StepExecutor: the receipts frontier is full"


@pure
@internal
def _frontier_root(frontier: bytes32[FRONTIER_DEPTH], count: uint256) -> bytes32:
    """rollbook.codec.txroot.frontier_root."""
    if count == 0:
        return empty(bytes32)
    depth: uint256 = 0
    for i: uint256 in range(FRONTIER_DEPTH + 1):
        if 1 << depth >= count:
            break
        depth += 1
    if count == 1 << depth:
        return frontier[depth]
    node: bytes32 = empty(bytes32)
    size: uint256 = count
    for height: uint256 in range(FRONTIER_DEPTH):
        if height >= depth:
            break
        if size & 1 == 1:
            node = self._node(frontier[height], node)
        else:
            node = self._node(node, self._empty_subtree(height))
        size = size >> 1
    return node


# -- leaves and keys -----------------------------------------------------------------


@pure
@internal
def _int_key(kind: Bytes[8], number: uint256) -> bytes32:
    """The path of a leaf keyed (kind, int): keccak(encode_key)."""
    return keccak256(concat(
        b"\x05\x00\x00\x00\x02\x04",
        convert(convert(len(kind), uint32), bytes4),
        kind,
        b"\x02",
        convert(number, bytes32),
    ))


@pure
@internal
def _globals_path() -> bytes32:
    return keccak256(b"\x05\x00\x00\x00\x01\x04\x00\x00\x00\x06global")


@pure
@internal
def _owner_path(owner: bytes20) -> bytes32:
    return keccak256(concat(b"\x05\x00\x00\x00\x02\x04\x00\x00\x00\x05owner\x03\x00\x00\x00\x14", owner))


@pure
@internal
def _int_at(leaf: Bytes[MAX_LEAF], at: uint256) -> int256:
    return extract32(leaf, at, output_type=int256)


@pure
@internal
def _with_int(leaf: Bytes[MAX_LEAF], at: uint256, number: int256) -> Bytes[MAX_LEAF]:
    """The leaf with the 32-byte int at `at` replaced."""
    return self._fit(concat(slice(leaf, 0, at), convert(number, bytes32), slice(leaf, at + 32, len(leaf) - at - 32)))


@pure
@internal
def _fit(raw: Bytes[2 * MAX_LEAF + 32]) -> Bytes[MAX_LEAF]:
    """`raw` as a leaf (Vyper types a concatenation by the sum of its parts' bounds;
    this checks the real length against the leaf bound)."""
    return abi_decode(abi_encode(raw), Bytes[MAX_LEAF])


@pure
@internal
def _field_at(index: uint256) -> uint256:
    """The offset of the `index`-th int of a leaf whose fields are all ints."""
    return 2 + 33 * index


@pure
@internal
def _new_account(owner: bytes20, balance: int256) -> Bytes[MAX_LEAF]:
    no_key: Bytes[25] = b"\x03\x00\x00\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    return concat(
        b"\x01\x03\x00\x00\x00\x14", owner,
        b"\x02", convert(balance, bytes32),
        b"\x05\x00\x00\x00\x04", no_key, no_key, no_key, no_key,
        b"\x02", empty(bytes32),
        b"\x02", empty(bytes32),
        b"\x05\x00\x00\x00\x00",
        b"\x01\x00",
    )


# -- the witness's reads and the step's writes ---------------------------------------


@pure
@internal
def _verified(root: bytes32, r: Read) -> Leaf:
    """A read checked against the pre-root: inclusion of its leaf, or exclusion."""
    if len(r.leaf) == 0:
        assert smt.excludes(root, r.path, r.proof), "StepExecutor: a read's exclusion proof shows a leaf"
    else:
        assert smt.includes(root, r.path, keccak256(r.leaf), r.proof), "StepExecutor: a read's proof shows another value"
    return Leaf(path=r.path, data=r.leaf)


@pure
@internal
def _leaf(leaves: DynArray[Leaf, MAX_READS], path: bytes32) -> Bytes[MAX_LEAF]:
    """The leaf at `path` before the step (empty if none)."""
    for leaf: Leaf in leaves:
        if leaf.path == path:
            return leaf.data
    raise "StepExecutor: the witness lacks a leaf the step reads"


@pure
@internal
def _change(path: bytes32, old: Bytes[MAX_LEAF], new: Bytes[MAX_LEAF]) -> Change:
    old_hash: bytes32 = empty(bytes32)
    new_hash: bytes32 = empty(bytes32)
    if len(old) > 0:
        old_hash = keccak256(old)
    if len(new) > 0:
        new_hash = keccak256(new)
    return Change(path=path, has_old=len(old) > 0, old=old_hash, has_new=len(new) > 0, new=new_hash)


@pure
@internal
def _sorted(changes: DynArray[Change, MAX_WRITES]) -> DynArray[Change, MAX_WRITES]:
    """The leaves that change, in path order (the witness's write order)."""
    todo: DynArray[Change, MAX_WRITES] = []
    for c: Change in changes:
        if c.has_old != c.has_new or c.old != c.new:
            todo.append(c)
    n: uint256 = len(todo)
    for i: uint256 in range(1, MAX_WRITES):
        if i >= n:
            break
        j: uint256 = i
        for k: uint256 in range(MAX_WRITES):
            if j == 0 or convert(todo[j - 1].path, uint256) <= convert(todo[j].path, uint256):
                break
            swap: Change = todo[j - 1]
            todo[j - 1] = todo[j]
            todo[j] = swap
            j -= 1
    return todo


# -- contexts ------------------------------------------------------------------------


@pure
@internal
def _boundary(blk: bytes32, timestamp: uint256, tx_index: uint256, receipts: bytes32, pc: uint256) -> Context:
    return Context(
        block=blk, timestamp=timestamp, tx_index=tx_index, receipts=receipts,
        tx_hash=empty(bytes32), pc=pc, step=0, tx_pre_root=empty(bytes32),
        tx_pre_withdrawals=empty(bytes32), failed=0, code=0, error=empty(bytes32),
        carry=empty(int256[CARRY]),
    )


@pure
@internal
def _next(ctx: Context, pc: uint256, carry0: int256) -> Context:
    """The context after a step that succeeded: `pc` runs next, carrying `carry0`."""
    out: Context = ctx
    out.pc = pc
    out.step = ctx.step + 1
    out.carry = empty(int256[CARRY])
    out.carry[0] = carry0
    return out


@pure
@internal
def _fail(ctx: Context, code: uint256, error: bytes32) -> Context:
    """The context after a step that refused the tx: only `tx.end` remains."""
    out: Context = ctx
    out.pc = TX_END
    out.step = ctx.step + 1
    out.failed = 1
    out.code = code
    out.error = error
    out.carry = empty(int256[CARRY])
    return out


@pure
@internal
def _refuse(ctx: Context, code: uint256, error: bytes32) -> Context:
    """A tx refused at its load, before its first step."""
    out: Context = self._fail(ctx, code, error)
    out.step = 0
    return out


@pure
@internal
def _receipt(ctx: Context) -> Bytes[48]:
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


@view
@internal
def _begin(pre: bytes32, block_inputs: bytes32, header: Bytes[HEADER_BYTES], inputs: Bytes[INPUTS_BYTES]) -> bytes32:
    """From the parent's output root to the block's first context."""
    assert len(header) == HEADER_BYTES, "StepExecutor: the parent header is missing"
    parent_hash: bytes32 = keccak256(header)
    root: bytes32 = extract32(header, 152)
    wroot: bytes32 = extract32(header, 184)
    assert self._output_root(root, wroot, parent_hash) == pre, "StepExecutor: the header does not open the parent's output root"
    assert len(inputs) == INPUTS_BYTES and keccak256(concat(BLOCK_TAG, inputs)) == block_inputs, "StepExecutor: the inputs are not the block's"
    assert extract32(inputs, 8) == parent_hash, "StepExecutor: the block does not extend the parent"
    number: uint256 = convert(slice(inputs, 0, 8), uint256)
    assert number == convert(slice(header, 0, 8), uint256) + 1, "StepExecutor: the block number does not follow the parent's"
    timestamp: uint256 = convert(slice(inputs, 40, 8), uint256)
    receipts: bytes32 = keccak256(abi_encode(empty(bytes32[FRONTIER_DEPTH])))
    return self._checkpoint(root, wroot, self._boundary(block_inputs, timestamp, 0, receipts, TX_LOAD))


@view
@internal
def _noop(pre: bytes32, header: Bytes[HEADER_BYTES]) -> bytes32:
    """Past the seal the block's output root stays."""
    assert len(header) == HEADER_BYTES, "StepExecutor: the header is missing"
    root: bytes32 = extract32(header, 152)
    wroot: bytes32 = extract32(header, 184)
    assert self._output_root(root, wroot, keccak256(header)) == pre, "StepExecutor: the header does not open the output root"
    return pre


@pure
@internal
def _check_inputs(ctx: Context, inputs: Bytes[INPUTS_BYTES]):
    assert len(inputs) == INPUTS_BYTES and keccak256(concat(BLOCK_TAG, inputs)) == ctx.block, "StepExecutor: the inputs are not the block's"


@pure
@internal
def _load(ctx: Context, root: bytes32, wroot: bytes32, inputs: Bytes[INPUTS_BYTES], item: Bytes[MAX_ITEM], path: DynArray[bytes32, FRONTIER_DEPTH]) -> Context:
    """`tx.load`: the tx at `tx_index` under the block's tx root, or the end of them."""
    self._check_inputs(ctx, inputs)
    tx_root: bytes32 = extract32(inputs, 88)
    if not self._has_item(tx_root, item, ctx.tx_index, path):
        assert self._is_end(tx_root, ctx.tx_index, item, path), "StepExecutor: neither the tx nor the end of the txs is proven"
        out: Context = ctx
        out.pc = SEAL
        return out
    out: Context = ctx
    out.tx_hash = keccak256(item)
    out.tx_pre_root = root
    out.tx_pre_withdrawals = wroot
    out.step = 0
    assert len(item) > 21, "StepExecutor: a tx item is at least its origin, sender and kind"
    origin: uint8 = convert(slice(item, 0, 1), uint8)
    kind: uint8 = convert(slice(item, 21, 1), uint8)
    if kind == K_DEPOSIT:
        if origin != ORIGIN_L1:
            return self._refuse(out, CODE_UNAUTHORIZED, E_WRONG_ORIGIN)
        out.pc = DEPOSIT
        return out
    raise "StepExecutor: this tx kind is not executable yet"


@pure
@internal
def _end(ctx: Context, root: bytes32, wroot: bytes32, frontier: bytes32[FRONTIER_DEPTH]) -> (bytes32, bytes32, Context):
    """`tx.end`: a refused tx's roots return to its pre-state; its receipt joins the
    frontier."""
    assert keccak256(abi_encode(frontier)) == ctx.receipts, "StepExecutor: the frontier is not the context's"
    after: bytes32[FRONTIER_DEPTH] = self._push(frontier, ctx.tx_index, self._receipt(ctx))
    out: Context = self._boundary(ctx.block, ctx.timestamp, ctx.tx_index + 1, keccak256(abi_encode(after)), TX_LOAD)
    if ctx.failed == 1:
        return ctx.tx_pre_root, ctx.tx_pre_withdrawals, out
    return root, wroot, out


@view
@internal
def _seal(ctx: Context, root: bytes32, wroot: bytes32, inputs: Bytes[INPUTS_BYTES], frontier: bytes32[FRONTIER_DEPTH]) -> bytes32:
    """`block.seal`: the header from the inputs, the receipts and the roots."""
    self._check_inputs(ctx, inputs)
    assert keccak256(abi_encode(frontier)) == ctx.receipts, "StepExecutor: the frontier is not the context's"
    receipts_root: bytes32 = self._frontier_root(frontier, ctx.tx_index)
    header: Bytes[HEADER_BYTES] = concat(inputs, receipts_root, root, wroot)
    return self._output_root(root, wroot, keccak256(header))


# -- the deposit family (rollbook.exchange.accounts.credit_deposit) --------------------


struct DepositTx:
    deposit_id: uint256
    owner: bytes20
    amount: uint256


@pure
@internal
def _deposit_tx(item: Bytes[MAX_ITEM]) -> DepositTx:
    assert len(item) == 58, "StepExecutor: a deposit item is 58 bytes"
    return DepositTx(
        deposit_id=convert(slice(item, 22, 8), uint256),
        owner=convert(slice(item, 30, 20), bytes20),
        amount=convert(slice(item, 50, 8), uint256),
    )


@pure
@internal
def _deposit(ctx: Context, d: DepositTx, leaves: DynArray[Leaf, MAX_READS]) -> (DynArray[Change, MAX_WRITES], Context):
    nothing: DynArray[Change, MAX_WRITES] = []
    gpath: bytes32 = self._globals_path()
    glob: Bytes[MAX_LEAF] = self._leaf(leaves, gpath)
    assert len(glob) > 0, "StepExecutor: the globals leaf is missing"
    if d.deposit_id != convert(self._int_at(glob, self._field_at(G_NEXT_DEPOSIT)), uint256):
        return nothing, self._fail(ctx, CODE_INVALID, E_BAD_NONCE)
    opath: bytes32 = self._owner_path(d.owner)
    index_leaf: Bytes[MAX_LEAF] = self._leaf(leaves, opath)
    if len(index_leaf) > 0:
        return nothing, self._next(ctx, DEPOSIT_CREDIT, self._int_at(index_leaf, 2))
    at: uint256 = self._field_at(G_NEXT_ACCOUNT)
    fresh: int256 = self._int_at(glob, at)
    changes: DynArray[Change, MAX_WRITES] = [
        self._change(gpath, glob, self._with_int(glob, at, fresh + 1)),
        self._change(opath, b"", concat(b"\x09\x02", convert(fresh, bytes32))),
    ]
    return changes, self._next(ctx, DEPOSIT_OPEN, fresh)


@pure
@internal
def _deposit_account(ctx: Context, d: DepositTx, leaves: DynArray[Leaf, MAX_READS], opening: bool) -> (DynArray[Change, MAX_WRITES], Context):
    apath: bytes32 = self._int_key(b"acct", convert(ctx.carry[0], uint256))
    old: Bytes[MAX_LEAF] = self._leaf(leaves, apath)
    new: Bytes[MAX_LEAF] = b""
    if opening:
        new = self._new_account(d.owner, convert(d.amount, int256))
    else:
        assert len(old) > 0, "StepExecutor: the account is missing"
        balance: int256 = self._int_at(old, ACCOUNT_BALANCE_AT)
        new = self._with_int(old, ACCOUNT_BALANCE_AT, balance + convert(d.amount, int256))
    return [self._change(apath, old, new)], self._next(ctx, DEPOSIT_TOTALS, 0)


@pure
@internal
def _deposit_totals(ctx: Context, d: DepositTx, leaves: DynArray[Leaf, MAX_READS]) -> (DynArray[Change, MAX_WRITES], Context):
    gpath: bytes32 = self._globals_path()
    glob: Bytes[MAX_LEAF] = self._leaf(leaves, gpath)
    assert len(glob) > 0, "StepExecutor: the globals leaf is missing"
    new: Bytes[MAX_LEAF] = self._with_int(glob, self._field_at(G_NEXT_DEPOSIT), convert(d.deposit_id + 1, int256))
    at: uint256 = self._field_at(G_TOTAL_DEPOSITS)
    new = self._with_int(new, at, self._int_at(glob, at) + convert(d.amount, int256))
    return [self._change(gpath, glob, new)], self._next(ctx, TX_END, 0)


# -- dispatch ------------------------------------------------------------------------


@pure
@internal
def _rule(ctx: Context, item: Bytes[MAX_ITEM], leaves: DynArray[Leaf, MAX_READS]) -> (DynArray[Change, MAX_WRITES], Context):
    """An STF step's rule: the leaves it changes and the context after it."""
    assert keccak256(item) == ctx.tx_hash, "StepExecutor: the item is not the context's tx"
    pc: uint256 = ctx.pc
    if pc >= DEPOSIT and pc <= DEPOSIT_TOTALS:
        d: DepositTx = self._deposit_tx(item)
        if pc == DEPOSIT:
            return self._deposit(ctx, d, leaves)
        if pc == DEPOSIT_TOTALS:
            return self._deposit_totals(ctx, d, leaves)
        return self._deposit_account(ctx, d, leaves, pc == DEPOSIT_OPEN)
    raise "StepExecutor: this step is not executable yet"


@view
@external
def execute(pre: bytes32, offset: uint256, block_inputs: bytes32, w: Witness) -> bytes32:
    """The checkpoint after the step at `offset` of a block whose inputs hash to
    `block_inputs`, from the agreed checkpoint `pre` and the step's witness. Reverts
    on a witness that does not prove its part."""
    assert offset < SPAN, "StepExecutor: the offset is outside a block's span"
    if offset == 0:
        return self._begin(pre, block_inputs, w.header, w.inputs)
    if len(w.header) > 0:
        return self._noop(pre, w.header)
    ctx: Context = w.context
    root: bytes32 = w.state_root
    wroot: bytes32 = w.withdrawals_root
    assert self._checkpoint(root, wroot, ctx) == pre, "StepExecutor: the witness does not open the checkpoint"
    if ctx.pc == SEAL:
        return self._seal(ctx, root, wroot, w.inputs, w.frontier)
    out: Context = empty(Context)
    if ctx.pc == TX_LOAD:
        out = self._load(ctx, root, wroot, w.inputs, w.item, w.path)
    elif ctx.pc == TX_END:
        root, wroot, out = self._end(ctx, root, wroot, w.frontier)
    else:
        leaves: DynArray[Leaf, MAX_READS] = []
        for i: uint256 in range(MAX_READS):
            if i >= len(w.reads):
                break
            leaves.append(self._verified(root, w.reads[i]))
        changes: DynArray[Change, MAX_WRITES] = []
        changes, out = self._rule(ctx, w.item, leaves)
        todo: DynArray[Change, MAX_WRITES] = self._sorted(changes)
        assert len(w.writes) == len(todo), "StepExecutor: one write proof per changed leaf"
        for i: uint256 in range(MAX_WRITES):
            if i >= len(todo):
                break
            c: Change = todo[i]
            root = smt.root_after_update(root, c.path, c.has_old, c.old, c.has_new, c.new, w.writes[i])
    return self._checkpoint(root, wroot, out)
