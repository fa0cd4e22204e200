"""A compact sparse Merkle tree over 32-byte paths (the state commitment).

The tree commits to a set of leaves ``(path, value_hash)``. It is generic over bytes:
the caller hashes its keys into paths and its leaves into value hashes, and picks a
:class:`~rollbook.commitment.hashing.Hasher` (default
:data:`~rollbook.commitment.hashing.KECCAK`).

Definition (consensus: every implementation must produce the same root)
-----------------------------------------------------------------------

- A *path* is 32 bytes. Bit 0 of a path is the most significant bit of byte 0, bit
  255 the least significant bit of byte 31. The tree has depth 256: the root is at
  depth 0, and the subtree at depth ``d`` along a path holds exactly the leaves whose
  paths share that path's first ``d`` bits. Going down from depth ``d`` to ``d + 1``
  follows bit ``d``: 0 goes left, 1 goes right.
- A *value hash* is 32 bytes. A path holds at most one leaf.
- The hash of a subtree depends only on the leaves in it:

  - no leaf: ``EMPTY = bytes(32)``;
  - exactly one leaf ``(path, value_hash)``: ``H_leaf(path, value_hash)``, *whatever
    the depth of the subtree*;
  - two or more leaves: ``H_node(hash(left half), hash(right half))``, where an empty
    half is ``EMPTY``.

- The root is the hash of the whole tree (depth 0), so the empty tree's root is
  ``EMPTY`` and a one-leaf tree's root is that leaf's hash.
- With :data:`~rollbook.commitment.hashing.KECCAK`:
  ``H_leaf(p, v) = keccak256(0x00 || p || v)`` and
  ``H_node(l, r) = keccak256(0x01 || l || r)``.

So a leaf sits at the shallowest depth where it is alone in its subtree (the
compaction of Diem's and Aptos's Jellyfish Merkle tree). With N random paths a leaf
is about log2(N) levels deep, and so is its proof. Two leaves whose paths share a long
prefix still get one node per shared bit (there is no compaction of internal nodes):
the chain of ``H_node(x, EMPTY)`` nodes above them is what their proofs contain, and
proof encoding (:mod:`rollbook.commitment.proofs`) drops the ``EMPTY`` siblings.

Because the hash of a subtree is a function of its leaf set, the root is a function
of the leaf set only: the order of writes never matters. :func:`root_of` computes it
straight from this definition; :class:`SparseMerkleTree` computes the same root
incrementally and is tested against it.

Representation
--------------

:class:`SparseMerkleTree` stores immutable nodes as plain tuples whose first field is
the node's hash, told apart by their length:

- ``(EMPTY,)``: an empty subtree (one shared object, :data:`EMPTY_NODE`);
- ``(hash, path + value_hash)``: a single-leaf subtree (:data:`Leaf`; the 64-byte
  concatenation is what its hash covers);
- ``(hash, left, right)``: a subtree with two or more leaves (:data:`Branch`).

The tree is canonical at all times: a branch always has two or more leaves under it,
a single leaf is always a leaf node. Tuples rather than classes because the tree
holds hundreds of thousands of nodes: a tuple is built without a Python ``__init__``,
and CPython's cyclic garbage collector stops tracking a tuple once everything in it is
untracked (bytes, and tuples it has already stopped tracking), so a subtree that has
survived a few collections costs the collector nothing (objects with ``__slots__``
stay tracked and are scanned by every full collection).

Writes are buffered (:meth:`SparseMerkleTree.update`); :meth:`SparseMerkleTree.root`
applies the buffer in one pass (:func:`_apply`). The buffered paths are sorted, so the
writes under any subtree form a contiguous run, split in two by the first path whose
next bit is 1. The pass descends only into subtrees that have writes, builds each new
node once, and reuses every untouched subtree as it is. Where a run has a single
write, it walks down to that write's leaf and back up in a loop instead of recursing.
Since nodes are never modified, :meth:`SparseMerkleTree.copy` shares them: a copy
costs O(size of the buffer), and writing to one copy never changes the other.

Speed: the pass is the state commitment's hot loop (about a thousand writes and six
thousand hashes per block). It hashes through
:func:`~rollbook.commitment.hashing.tagged_digest` (no Python call per hash for
Keccak), counts hashes per write rather than per hash, and runs with the cyclic
garbage collector paused: it builds no reference cycles, and the collections its
allocations would trigger mostly scan the rest of the process. The tests check it
against :func:`root_of`, and its hash count against the number of nodes a batch
really changes.
"""

from __future__ import annotations

import gc
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from typing import Final, TypeAlias

from .errors import DuplicatePathError, InvalidLengthError
from .hashing import EMPTY, KECCAK, LEAF_PREFIX, NODE_PREFIX, Digest, Hasher, tagged_digest
from .proofs import BranchOpening, LeafOpening, Proof

DEPTH: Final = 256
"""Number of bits in a path, hence the depth of the tree."""

Empty: TypeAlias = tuple[bytes]
"""An empty subtree: ``(EMPTY,)``."""

Leaf: TypeAlias = tuple[bytes, bytes]
"""A subtree with exactly one leaf: ``(hash, path + value_hash)``."""

Branch: TypeAlias = "tuple[bytes, Node, Node]"
"""A subtree with two or more leaves: ``(hash, left half, right half)``."""

Node: TypeAlias = "Empty | Leaf | Branch"
"""A subtree; ``len(node)`` is 1, 2 or 3 for empty, leaf, branch; ``node[0]`` its hash."""

EMPTY_NODE: Final[Empty] = (EMPTY,)
"""The empty subtree (every empty subtree of every tree is this object)."""

_BIT: Final = (*(1 << (DEPTH - 1 - depth) for depth in range(DEPTH)), 0)
"""``_BIT[d]``: the mask of bit ``d`` of a path held as an integer (0 at depth 256)."""

_PREFIX: Final = tuple(((1 << DEPTH) - 1) ^ ((1 << (DEPTH - depth)) - 1) for depth in range(DEPTH))
"""``_PREFIX[d]``: the mask of the first ``d`` bits of a path held as an integer."""


def _check32(what: str, value: object) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise InvalidLengthError(what, value)
    return value


class SparseMerkleTree:
    """A compact sparse Merkle tree with buffered writes, cheap copies and proofs.

    Attributes:
        hasher: the hash functions of the tree.
        hashes: how many hashes (leaf and node) this object has computed since it
            was created; a copy starts again from 0. For benchmarks and work bounds.
    """

    __slots__ = ("_buffer", "_root", "_size", "hasher", "hashes")

    def __init__(self, hasher: Hasher = KECCAK) -> None:
        self.hasher = hasher
        self.hashes = 0
        self._root: Node = EMPTY_NODE
        self._size = 0
        self._buffer: dict[bytes, bytes | None] = {}

    # -- writes ------------------------------------------------------------------------

    def update(self, items: Iterable[tuple[bytes, bytes | None]]) -> None:
        """Buffer a batch of writes; :meth:`root` applies them.

        Parameters:
            items: ``(path, value_hash)`` pairs. ``value_hash`` ``None`` deletes the
                leaf at ``path`` (a no-op if there is none). When a path is written
                more than once before the next :meth:`root`, the last write wins.

        Raises:
            InvalidLengthError: a path or value hash is not 32 bytes. Writes of the
                batch before the bad one stay buffered.
        """
        buffer = self._buffer
        for path, value_hash in items:
            _check32("path", path)
            if value_hash is not None:
                _check32("value_hash", value_hash)
            buffer[path] = value_hash

    def root(self) -> bytes:
        """Apply the buffered writes and return the root.

        Returns:
            The 32-byte root: ``EMPTY`` for an empty tree.
        """
        if self._buffer:
            paths = sorted(self._buffer)  # 32-byte strings: byte order is numeric order
            values = [self._buffer[path] for path in paths]
            # The cyclic garbage collector is paused for the pass: it would otherwise
            # run every 700 new nodes, and each run scans the process's young objects
            # (in a running rollup node, mostly the STF's), while the pass creates no
            # reference cycle for it to find. Its allocations still count toward the
            # next collection.
            collecting = gc.isenabled()
            gc.disable()
            try:
                self._root, hashes, size_change = _apply(
                    self._root, paths, values, tagged_digest(self.hasher)
                )
            finally:
                if collecting:
                    gc.enable()
            self._buffer = {}
            self.hashes += hashes
            self._size += size_change
        return self._root[0]

    # -- reads -------------------------------------------------------------------------

    def get(self, path: bytes) -> bytes | None:
        """Return the value hash at ``path``, or ``None`` if there is no leaf there.

        Buffered writes are taken into account (without applying them).

        Raises:
            InvalidLengthError: ``path`` is not 32 bytes.
        """
        _check32("path", path)
        if path in self._buffer:
            return self._buffer[path]
        key = int.from_bytes(path, "big")
        node = self._root
        depth = 0
        while len(node) == 3:
            node = node[2] if key & _BIT[depth] else node[1]
            depth += 1
        if len(node) == 2 and node[1][:32] == path:
            return node[1][32:]
        return None

    def __len__(self) -> int:
        """The number of leaves (applies the buffered writes)."""
        self.root()
        return self._size

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        """Yield every ``(path, value_hash)``, in increasing path order.

        The buffered writes are applied first. Iterating while writing to the tree
        is allowed: the iterator keeps walking the nodes it started with.
        """
        self.root()
        stack: list[Node] = [self._root]
        while stack:
            node = stack.pop()
            if len(node) == 3:
                stack.append(node[2])
                stack.append(node[1])
            elif len(node) == 2:
                yield node[1][:32], node[1][32:]

    def copy(self) -> SparseMerkleTree:
        """Return an independent tree with the same leaves and buffered writes.

        The copy shares this tree's (immutable) nodes, so it costs O(buffer), not
        O(leaves). Its hash counter starts at 0.
        """
        other = SparseMerkleTree(self.hasher)
        other._root = self._root
        other._size = self._size
        other._buffer = dict(self._buffer)
        return other

    # -- proofs ------------------------------------------------------------------------

    def prove(self, path: bytes) -> Proof:
        """Return the proof for ``path``: of inclusion if it holds a leaf, else of exclusion.

        The buffered writes are applied first. The walk from the root follows the
        bits of ``path`` and stops at the first empty or single-leaf subtree.

        Returns:
            A :class:`~rollbook.commitment.proofs.Proof` whose siblings are the hashes
            of the other halves along the walk, whose terminal is the leaf where the
            walk stopped (``None`` if it stopped at an empty subtree), and whose
            opening opens the deepest sibling (``None`` only when there is no sibling):
            its leaf when it is a single leaf, else the hashes of its two halves.

        Raises:
            InvalidLengthError: ``path`` is not 32 bytes.
        """
        key = int.from_bytes(_check32("path", path), "big")
        self.root()
        siblings: list[bytes] = []
        sibling: Node = EMPTY_NODE
        node = self._root
        depth = 0
        while len(node) == 3:
            branch = node
            if key & _BIT[depth]:
                node, sibling = branch[2], branch[1]
            else:
                node, sibling = branch[1], branch[2]
            siblings.append(sibling[0])
            depth += 1
        terminal = (node[1][:32], node[1][32:]) if len(node) == 2 else None
        opening: LeafOpening | BranchOpening | None = None
        if len(sibling) == 2:
            opening = LeafOpening(sibling[1][:32], sibling[1][32:])
        elif len(sibling) == 3:
            opening = BranchOpening(sibling[1][0], sibling[2][0])
        # A canonical tree has no empty deepest sibling; if it had, Proof would refuse
        # the missing opening (ProofError) rather than produce an unusable proof.
        return Proof(tuple(siblings), terminal, opening)


# -- the batch update ---------------------------------------------------------------------


def _apply(
    root: Node, paths: list[bytes], values: list[bytes | None], new: Callable[[bytes], Digest]
) -> tuple[Node, int, int]:
    """Apply sorted writes to the tree ``root``: the hot loop of :meth:`SparseMerkleTree.root`.

    Parameters:
        root: the tree before.
        paths: the written paths, sorted and distinct.
        values: ``values[i]`` is written at ``paths[i]`` (``None`` deletes).
        new: the hasher's hashlib-style constructor
            (:func:`~rollbook.commitment.hashing.tagged_digest`).

    Returns:
        The tree after, the number of hashes computed, and the change in the number
        of leaves.

    Each new node is built once; an unchanged subtree is returned as the same object,
    which is how a parent sees that it needs no rehash. Hashes are counted per write
    (lone writes) or per node (shared ancestors), never through a per-hash call.
    """
    keys = list(map(int.from_bytes, paths))  # int.from_bytes is big-endian by default
    hashes = 0
    size_change = 0
    # passed[d]: the branch at depth d on the current lone write's walk (one list for
    # the whole batch rather than one per write).
    passed: list[Branch] = [(EMPTY, EMPTY_NODE, EMPTY_NODE)] * DEPTH

    def lone(node: Node, depth: int, i: int) -> Node:
        """Return ``node`` (the subtree at ``depth``) after the single write ``i``."""
        nonlocal hashes, size_change
        key = keys[i]
        # Down to the first empty or single-leaf subtree, at ``bottom_depth``.
        bottom = node
        bottom_depth = depth
        mask = _BIT[depth]
        while len(bottom) == 3:
            passed[bottom_depth] = bottom
            bottom = bottom[2] if key & mask else bottom[1]
            bottom_depth += 1
            mask >>= 1
        path = paths[i]
        value = values[i]
        if len(bottom) == 1:  # the path is absent, its place empty
            if value is None:
                return node
            size_change += 1
            leaf = path + value
            built: Node = (new(LEAF_PREFIX + leaf).digest(), leaf)
            count = 1
        elif bottom[1][:32] == path:  # the path's own leaf
            if value is None:
                size_change -= 1
                built = EMPTY_NODE
                count = 0
            else:
                leaf = path + value
                if leaf == bottom[1]:
                    return node  # rewritten with the value it already had
                built = (new(LEAF_PREFIX + leaf).digest(), leaf)
                count = 1
        elif value is None:  # another leaf holds the place: deleting an absent path
            return node
        else:
            # Insert next to another leaf: the two part at the first bit where their
            # paths differ, and every level from there up to ``bottom_depth`` is a
            # branch with one empty half.
            size_change += 1
            leaf = path + value
            built = (new(LEAF_PREFIX + leaf).digest(), leaf)
            fork = DEPTH - (key ^ int.from_bytes(bottom[1][:32], "big")).bit_length()
            if key & _BIT[fork]:
                built = (new(NODE_PREFIX + bottom[0] + built[0]).digest(), bottom, built)
            else:
                built = (new(NODE_PREFIX + built[0] + bottom[0]).digest(), built, bottom)
            for level in range(fork - 1, bottom_depth - 1, -1):
                if key & _BIT[level]:
                    built = (new(NODE_PREFIX + EMPTY + built[0]).digest(), EMPTY_NODE, built)
                else:
                    built = (new(NODE_PREFIX + built[0] + EMPTY).digest(), built, EMPTY_NODE)
            count = 2 + fork - bottom_depth

        # Up: each passed branch gets the new child in place of the old one. The
        # side is found by identity (a branch's two halves are distinct objects).
        old: Node = bottom
        level = bottom_depth
        if len(built) < 3:
            # An empty or single-leaf subtree rises through the branches where the
            # other half is empty; a lone leaf left by a delete rises with it.
            while level > depth:
                level -= 1
                parent = passed[level]
                left = parent[1]
                if left is old:
                    left, right, other = built, parent[2], parent[2]
                else:
                    right, other = built, left
                old = parent
                if len(other) == 1:
                    continue
                if len(built) == 1 and len(other) == 2:
                    built = other
                    continue
                built = (new(NODE_PREFIX + left[0] + right[0]).digest(), left, right)
                count += 1
                break
            else:
                hashes += count
                return built
        # From here on the new child is a branch: every remaining level is rehashed.
        hashes += count + level - depth
        for above in range(level - 1, depth - 1, -1):
            parent = passed[above]
            left = parent[1]
            if left is old:
                right = parent[2]
                built = (new(NODE_PREFIX + built[0] + right[0]).digest(), built, right)
            else:
                built = (new(NODE_PREFIX + left[0] + built[0]).digest(), left, built)
            old = parent
        return built

    def several(node: Node, depth: int, lo: int, hi: int) -> Node:
        """Return ``node`` (the subtree at ``depth``) after the writes ``lo:hi`` (two or more).

        All paths in ``paths[lo:hi]`` share the ``depth`` bits that lead to ``node``,
        and so does the path of ``node`` if it is a leaf.
        """
        nonlocal hashes, size_change
        bit = _BIT[depth]
        if len(node) == 3:
            left = old_left = node[1]
            right = old_right = node[2]
        else:
            # An empty or single-leaf subtree: count the leaves it will hold.
            old_path = node[1][:32] if len(node) == 2 else None
            before = len(node) - 1  # 0 or 1 leaf
            after = before
            last = b""  # the last leaf written, as path + value_hash
            for i in range(lo, hi):
                if paths[i] == old_path:
                    after -= 1
                value = values[i]
                if value is not None:
                    after += 1
                    last = paths[i] + value
            if after >= 2:
                # It splits on bit ``depth`` (never at depth 256, where a subtree has
                # room for one path only): the old leaf goes down on its side, and the
                # halves below count the leaves they gain and lose.
                if old_path is not None and int.from_bytes(old_path, "big") & bit:
                    left = old_left = EMPTY_NODE
                    right = old_right = node
                else:
                    left = old_left = node
                    right = old_right = EMPTY_NODE
            else:
                # At most one leaf remains: build it here.
                size_change += after - before
                if after == 0:
                    return EMPTY_NODE
                if not last:
                    return node  # the old leaf, untouched (the writes deleted absent paths)
                if len(node) == 2 and node[1] == last:
                    return node  # rewritten with the value it already had
                hashes += 1
                return (new(LEAF_PREFIX + last).digest(), last)
        # The writes under this subtree are paths[lo:mid] (next bit 0) and
        # paths[mid:hi] (next bit 1): sorted paths with a common prefix.
        if keys[lo] & bit:
            mid = lo
        elif not keys[hi - 1] & bit:
            mid = hi
        else:
            mid = bisect_left(keys, (keys[lo] & _PREFIX[depth]) | bit, lo, hi)
        if mid - lo == 1:
            left = lone(left, depth + 1, lo)
        elif mid > lo:
            left = several(left, depth + 1, lo, mid)
        if hi - mid == 1:
            right = lone(right, depth + 1, mid)
        elif hi > mid:
            right = several(right, depth + 1, mid, hi)
        if left is old_left and right is old_right:
            return node  # every write was a no-op
        # Join the halves, collapsed if the subtree now holds one leaf or none.
        if len(left) == 1:
            if len(right) < 3:
                return right
        elif len(right) == 1 and len(left) == 2:
            return left
        hashes += 1
        return (new(NODE_PREFIX + left[0] + right[0]).digest(), left, right)

    if not paths:
        return root, 0, 0
    if len(paths) == 1:
        return lone(root, 0, 0), hashes, size_change
    return several(root, 0, 0, len(paths)), hashes, size_change


def root_of(pairs: Iterable[tuple[bytes, bytes]], hasher: Hasher = KECCAK) -> bytes:
    """Compute the root of a set of leaves from scratch, straight from the definition.

    This is the reference the incremental tree is tested against: it works on bytes
    and reads bits one at a time, and shares no code with :class:`SparseMerkleTree`.

    Parameters:
        pairs: the leaves, as ``(path, value_hash)`` pairs, in any order.
        hasher: the hash functions (default Keccak).

    Returns:
        The 32-byte root; ``EMPTY`` for no leaves.

    Raises:
        InvalidLengthError: a path or value hash is not 32 bytes.
        DuplicatePathError: a path appears twice.
    """
    leaves: list[tuple[bytes, bytes]] = []
    seen: dict[bytes, None] = {}
    for path, value_hash in pairs:
        _check32("path", path)
        _check32("value_hash", value_hash)
        if path in seen:
            raise DuplicatePathError(path)
        seen[path] = None
        leaves.append((path, value_hash))

    def bit(path: bytes, depth: int) -> int:
        return (path[depth // 8] >> (7 - depth % 8)) & 1

    def subtree(group: list[tuple[bytes, bytes]], depth: int) -> bytes:
        if not group:
            return EMPTY
        if len(group) == 1:
            return hasher.leaf(group[0][0], group[0][1])
        left = [leaf for leaf in group if bit(leaf[0], depth) == 0]
        right = [leaf for leaf in group if bit(leaf[0], depth) == 1]
        return hasher.node(subtree(left, depth + 1), subtree(right, depth + 1))

    return subtree(leaves, 0)
