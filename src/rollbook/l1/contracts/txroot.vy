# pragma version 0.4.3
"""
@title txroot
@notice The binary Merkle tree of `rollbook.codec.txroot` (leaf = keccak(0x00 || item),
        node = keccak(0x01 || left || right), leaves padded with zero words to a power
        of two, the root of nothing is zero): paths, the end of a list, and the
        incremental frontier a list's root is built with one leaf at a time. Shared by
        `BatchInbox.vy` (a batch's items) and `StepExecutor.vy` (block tx roots and
        receipts).
"""

DEPTH: constant(uint256) = 20


@pure
@internal
def node(left: bytes32, right: bytes32) -> bytes32:
    return keccak256(concat(b"\x01", left, right))


@pure
@internal
def fold(start: bytes32, index: uint256, path: DynArray[bytes32, DEPTH]) -> bytes32:
    """The root reached from the node `start` at `index` by the siblings `path`."""
    n: bytes32 = start
    at: uint256 = index
    for sibling: bytes32 in path:
        if at & 1 == 1:
            n = self.node(sibling, n)
        else:
            n = self.node(n, sibling)
        at = at >> 1
    return n


@pure
@internal
def empty_subtree(height: uint256) -> bytes32:
    n: bytes32 = empty(bytes32)
    for i: uint256 in range(DEPTH):
        if i >= height:
            break
        n = self.node(n, n)
    return n


@pure
@internal
def push(frontier: bytes32[DEPTH], count: uint256, leaf: bytes32) -> bytes32[DEPTH]:
    """rollbook.codec.txroot.frontier_push, given the item's leaf hash."""
    branch: bytes32[DEPTH] = frontier
    n: bytes32 = leaf
    size: uint256 = count + 1
    for height: uint256 in range(DEPTH):
        if size & 1 == 1:
            branch[height] = n
            return branch
        n = self.node(branch[height], n)
        size = size >> 1
    raise "txroot: the frontier is full"


@pure
@internal
def frontier_root(frontier: bytes32[DEPTH], count: uint256) -> bytes32:
    """rollbook.codec.txroot.frontier_root."""
    if count == 0:
        return empty(bytes32)
    depth: uint256 = 0
    for i: uint256 in range(DEPTH + 1):
        if 1 << depth >= count:
            break
        depth += 1
    if count == 1 << depth:
        return frontier[depth]
    n: bytes32 = empty(bytes32)
    size: uint256 = count
    for height: uint256 in range(DEPTH):
        if height >= depth:
            break
        if size & 1 == 1:
            n = self.node(frontier[height], n)
        else:
            n = self.node(n, self.empty_subtree(height))
        size = size >> 1
    return n
