# pragma version 0.4.3
"""
@title smt
@notice The sparse Merkle tree's proofs on-chain: the Vyper twin of
        `rollbook.commitment.proofs` (`_problem`, `_fold`, `root_after_update`), line
        for line, for the one-step executor (#7) and anything else that reads or
        writes the state tree from a proof. Differentially tested against the Python
        on random trees and writes (tests/l1/test_smt_proofs.py).
@dev    leaf(path, value_hash) = keccak(0x00 || path || value_hash),
        node(left, right) = keccak(0x01 || left || right), an empty subtree is 32 zero
        bytes (docs/design/batch.md and `commitment/hashing.py`). A proof is the walk's
        siblings top-down, the terminal leaf (or none) and the opening of the deepest
        sibling (a leaf, or a branch's two halves).
"""

MAX_DEPTH: constant(uint256) = 256

NO_OPENING: constant(uint8) = 0
LEAF_OPENING: constant(uint8) = 1
BRANCH_OPENING: constant(uint8) = 2

struct Proof:
    siblings: DynArray[bytes32, MAX_DEPTH]
    has_terminal: bool
    terminal_path: bytes32
    terminal_value: bytes32
    opening: uint8
    open_a: bytes32  # the leaf opening's path, or the branch opening's left half
    open_b: bytes32  # the leaf opening's value hash, or the branch opening's right half


@internal
@pure
def leaf_hash(path: bytes32, value_hash: bytes32) -> bytes32:
    return keccak256(concat(b"\x00", path, value_hash))


@internal
@pure
def node_hash(left: bytes32, right: bytes32) -> bytes32:
    return keccak256(concat(b"\x01", left, right))


@internal
@pure
def _bit(key: uint256, depth: uint256) -> uint256:
    return (key >> (255 - depth)) & 1


@internal
@pure
def _shares_prefix(a: uint256, b: uint256, bits: uint256) -> bool:
    if bits == 0:
        return True
    return (a ^ b) >> (256 - bits) == 0


@internal
@pure
def _leading_zeros(x: uint256) -> uint256:
    """Zero bits before the first one bit of a non-zero word (the common prefix of two
    different paths is the leading zeros of their xor)."""
    n: uint256 = 0
    y: uint256 = x
    if y >> 128 == 0:
        n += 128
        y = y << 128
    if y >> 192 == 0:
        n += 64
        y = y << 64
    if y >> 224 == 0:
        n += 32
        y = y << 32
    if y >> 240 == 0:
        n += 16
        y = y << 16
    if y >> 248 == 0:
        n += 8
        y = y << 8
    if y >> 252 == 0:
        n += 4
        y = y << 4
    if y >> 254 == 0:
        n += 2
        y = y << 2
    if y >> 255 == 0:
        n += 1
    return n


@internal
@pure
def _fold(start: bytes32, key: uint256, siblings: DynArray[bytes32, MAX_DEPTH], depth: uint256) -> bytes32:
    """Hash `start`, the subtree at `depth` along `key`, up to the root."""
    node: bytes32 = start
    for i: uint256 in range(MAX_DEPTH):
        if i >= depth:
            break
        level: uint256 = depth - 1 - i
        if self._bit(key, level) == 1:
            node = self.node_hash(siblings[level], node)
        else:
            node = self.node_hash(node, siblings[level])
    return node


@internal
@pure
def check(root: bytes32, path: bytes32, proof: Proof):
    """Revert unless `proof` is a valid walk of `path` in the tree `root`."""
    key: uint256 = convert(path, uint256)
    depth: uint256 = len(proof.siblings)
    if proof.has_terminal:
        assert self._shares_prefix(convert(proof.terminal_path, uint256), key, depth), "smt: the terminal leaf is not under the path"
    if depth == 0:
        assert proof.opening == NO_OPENING, "smt: an opening without siblings"
    else:
        assert proof.opening != NO_OPENING, "smt: the deepest sibling is not opened"
        deepest: bytes32 = proof.siblings[depth - 1]
        if proof.opening == LEAF_OPENING:
            okey: uint256 = convert(proof.open_a, uint256)
            sibling_side: uint256 = 1 - self._bit(key, depth - 1)
            assert self._shares_prefix(okey, key, depth - 1) and self._bit(okey, depth - 1) == sibling_side, "smt: the leaf opening is not under the deepest sibling"
            assert self.leaf_hash(proof.open_a, proof.open_b) == deepest, "smt: the leaf opening does not hash to the deepest sibling"
        else:
            assert proof.opening == BRANCH_OPENING, "smt: unknown opening"
            assert self.node_hash(proof.open_a, proof.open_b) == deepest, "smt: the branch opening does not hash to the deepest sibling"
    start: bytes32 = empty(bytes32)
    if proof.has_terminal:
        start = self.leaf_hash(proof.terminal_path, proof.terminal_value)
    assert self._fold(start, key, proof.siblings, depth) == root, "smt: the proof does not hash to the root"


@internal
@pure
def includes(root: bytes32, path: bytes32, value_hash: bytes32, proof: Proof) -> bool:
    """Whether the tree `root` holds the leaf (path, value_hash); reverts on a bad proof."""
    self.check(root, path, proof)
    return proof.has_terminal and proof.terminal_path == path and proof.terminal_value == value_hash


@internal
@pure
def excludes(root: bytes32, path: bytes32, proof: Proof) -> bool:
    """Whether the tree `root` holds no leaf at `path`; reverts on a bad proof."""
    self.check(root, path, proof)
    return not proof.has_terminal or proof.terminal_path != path


@internal
@pure
def root_after_update(
    root: bytes32,
    path: bytes32,
    has_old: bool,
    old_value: bytes32,
    has_new: bool,
    new_value: bytes32,
    proof: Proof,
) -> bytes32:
    """The root after writing one leaf (`has_new` false deletes), from the old root and
    a proof alone; reverts unless the proof shows the old value (or its absence)."""
    self.check(root, path, proof)
    at_path: bool = proof.has_terminal and proof.terminal_path == path
    if has_old:
        assert at_path, "smt: the proof shows no leaf at the path, but an old value is given"
        assert proof.terminal_value == old_value, "smt: the proof shows another value at the path"
    else:
        assert not at_path, "smt: the proof shows a leaf at the path, but the old value is none"
    if has_old == has_new and (not has_new or old_value == new_value):
        return root
    key: uint256 = convert(path, uint256)
    depth: uint256 = len(proof.siblings)
    if has_new:
        node: bytes32 = self.leaf_hash(path, new_value)
        if proof.has_terminal and not at_path:
            # Split: the two leaves part at bit `common`; each level from `common - 1`
            # up to `depth` has an empty half.
            other: bytes32 = self.leaf_hash(proof.terminal_path, proof.terminal_value)
            common: uint256 = self._leading_zeros(key ^ convert(proof.terminal_path, uint256))
            if self._bit(key, common) == 1:
                node = self.node_hash(other, node)
            else:
                node = self.node_hash(node, other)
            for i: uint256 in range(MAX_DEPTH):
                if i + depth >= common:
                    break
                level: uint256 = common - 1 - i
                if self._bit(key, level) == 1:
                    node = self.node_hash(empty(bytes32), node)
                else:
                    node = self.node_hash(node, empty(bytes32))
        return self._fold(node, key, proof.siblings, depth)
    # Delete: with a branch sibling (or none) nothing collapses.
    if proof.opening != LEAF_OPENING:
        return self._fold(empty(bytes32), key, proof.siblings, depth)
    # The sibling leaf rises while its other half is empty.
    level: uint256 = depth - 1
    for i: uint256 in range(MAX_DEPTH):
        if level == 0 or proof.siblings[level - 1] != empty(bytes32):
            break
        level -= 1
    return self._fold(proof.siblings[depth - 1], key, proof.siblings, level)
