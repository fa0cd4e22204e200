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

:class:`SparseMerkleTree` stores immutable nodes: ``None`` for an empty subtree,
:class:`Leaf` for a single-leaf subtree, :class:`Branch` for two or more leaves. Every
node carries its hash. The tree is canonical at all times: a :class:`Branch` always
has two or more leaves under it, a single leaf is always a :class:`Leaf`.

Writes are buffered (:meth:`SparseMerkleTree.update`); :meth:`SparseMerkleTree.root`
applies the buffer in one pass. The buffered paths are sorted as integers, so the
writes under any subtree form a contiguous run, split in two by the first path whose
next bit is 1. The pass descends only into subtrees that have writes, builds each new
node once, and reuses every untouched subtree as it is. Since nodes are never
modified, :meth:`SparseMerkleTree.copy` shares them: a copy costs O(size of the
buffer), and writing to one copy never changes the other.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from typing import Final, final

from .errors import DuplicatePathError, InvalidLengthError
from .hashing import EMPTY, KECCAK, Hasher
from .proofs import Proof

DEPTH: Final = 256
"""Number of bits in a path, hence the depth of the tree."""


@final
class Leaf:
    """A subtree with exactly one leaf: its hash, its path as an integer, its value."""

    __slots__ = ("hash", "path", "value")

    def __init__(self, hash: bytes, path: int, value: bytes) -> None:
        self.hash = hash
        self.path = path
        self.value = value


@final
class Branch:
    """A subtree with two or more leaves: its hash and its two halves."""

    __slots__ = ("hash", "left", "right")

    def __init__(self, hash: bytes, left: Node, right: Node) -> None:
        self.hash = hash
        self.left = left
        self.right = right


Node = Branch | Leaf | None
"""A subtree: ``None`` when empty."""


def _check32(what: str, value: object) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise InvalidLengthError(what, value)
    return value


def _path_bytes(path: int) -> bytes:
    return path.to_bytes(32, "big")


def _bit(path: int, depth: int) -> int:
    """Bit ``depth`` of a path held as an integer (bit 0 is the most significant)."""
    return (path >> (DEPTH - 1 - depth)) & 1


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
        self._root: Node = None
        self._size = 0
        self._buffer: dict[int, bytes | None] = {}

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
            key = int.from_bytes(_check32("path", path), "big")
            if value_hash is not None:
                _check32("value_hash", value_hash)
            buffer[key] = value_hash

    def root(self) -> bytes:
        """Apply the buffered writes and return the root.

        Returns:
            The 32-byte root: ``EMPTY`` for an empty tree.
        """
        if self._buffer:
            self._apply_buffer()
        return EMPTY if self._root is None else self._root.hash

    def _apply_buffer(self) -> None:
        ordered = sorted(self._buffer.items())
        paths = [path for path, _ in ordered]
        values = [value for _, value in ordered]
        leaf_hash = self.hasher.leaf
        node_hash = self.hasher.node
        hashes = 0
        size_change = 0

        def join(left: Node, right: Node) -> Node:
            """The subtree with halves ``left`` and ``right``, collapsed if it has one leaf."""
            nonlocal hashes
            if left is None and not isinstance(right, Branch):
                return right
            if right is None and not isinstance(left, Branch):
                return left
            hashes += 1
            return Branch(
                node_hash(
                    EMPTY if left is None else left.hash,
                    EMPTY if right is None else right.hash,
                ),
                left,
                right,
            )

        def apply(node: Node, depth: int, lo: int, hi: int) -> Node:
            """Return ``node`` (the subtree at ``depth``) after the writes ``lo:hi``.

            All paths in ``paths[lo:hi]`` share the ``depth`` bits that lead to
            ``node``, and so does the path of ``node`` if it is a leaf.
            """
            nonlocal hashes, size_change
            if lo == hi:
                return node
            # The writes under this subtree are paths[lo:mid] (next bit 0) and
            # paths[mid:hi] (next bit 1): sorted paths with a common prefix.
            if isinstance(node, Branch):
                mid = bisect_left(paths, _split_point(paths[lo], depth), lo, hi)
                left = apply(node.left, depth + 1, lo, mid)
                right = apply(node.right, depth + 1, mid, hi)
                if left is node.left and right is node.right:
                    return node  # every write was a no-op
                return join(left, right)

            # An empty or single-leaf subtree. Count the leaves it will hold (stopping
            # at 2, which is enough to know it must split): when at most one, build
            # the result here instead of descending bit by bit.
            old_path = -1 if node is None else node.path
            inserts = 0
            new_path = -1
            new_value = EMPTY
            old_written = False
            for i in range(lo, hi):
                if paths[i] == old_path:
                    old_written = True
                value = values[i]
                if value is not None:
                    inserts += 1
                    new_path, new_value = paths[i], value
                    if inserts == 2:
                        break
            old_kept = node is not None and not old_written
            if inserts + (1 if old_kept else 0) >= 2:
                # Two or more leaves: split on bit ``depth``. Never at depth 256,
                # where a subtree has room for one path only.
                mid = bisect_left(paths, _split_point(paths[lo], depth), lo, hi)
                if node is not None and _bit(node.path, depth) == 1:
                    return join(apply(None, depth + 1, lo, mid), apply(node, depth + 1, mid, hi))
                return join(apply(node, depth + 1, lo, mid), apply(None, depth + 1, mid, hi))

            # At most one leaf remains. Each write reaches exactly one such point,
            # so the size is counted here: +1 per new leaf, -1 if the old one is
            # written (a rewrite of the old path counts +1 - 1).
            size_change += inserts - (1 if old_written else 0)
            if old_kept:
                return node
            if inserts == 0:
                return None
            if node is not None and new_path == node.path and new_value == node.value:
                return node  # rewritten with the value it already had
            hashes += 1
            return Leaf(leaf_hash(_path_bytes(new_path), new_value), new_path, new_value)

        self._root = apply(self._root, 0, 0, len(paths))
        self._buffer = {}
        self.hashes += hashes
        self._size += size_change

    # -- reads -------------------------------------------------------------------------

    def get(self, path: bytes) -> bytes | None:
        """Return the value hash at ``path``, or ``None`` if there is no leaf there.

        Buffered writes are taken into account (without applying them).

        Raises:
            InvalidLengthError: ``path`` is not 32 bytes.
        """
        key = int.from_bytes(_check32("path", path), "big")
        if key in self._buffer:
            return self._buffer[key]
        node = self._root
        depth = 0
        while isinstance(node, Branch):
            node = node.right if _bit(key, depth) else node.left
            depth += 1
        if node is not None and node.path == key:
            return node.value
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
            if isinstance(node, Branch):
                stack.append(node.right)
                stack.append(node.left)
            elif node is not None:
                yield _path_bytes(node.path), node.value

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
            neighbour is the deepest sibling's leaf when that sibling is a single leaf.

        Raises:
            InvalidLengthError: ``path`` is not 32 bytes.
        """
        key = int.from_bytes(_check32("path", path), "big")
        self.root()
        siblings: list[bytes] = []
        sibling: Node = None
        node = self._root
        depth = 0
        while isinstance(node, Branch):
            branch = node
            if _bit(key, depth):
                node, sibling = branch.right, branch.left
            else:
                node, sibling = branch.left, branch.right
            siblings.append(EMPTY if sibling is None else sibling.hash)
            depth += 1
        terminal = None if node is None else (_path_bytes(node.path), node.value)
        neighbour = None
        if isinstance(sibling, Leaf):
            neighbour = (_path_bytes(sibling.path), sibling.value)
        return Proof(tuple(siblings), terminal, neighbour)


def _split_point(path: int, depth: int) -> int:
    """The smallest path that shares ``path``'s first ``depth`` bits and has bit ``depth`` = 1.

    Among sorted paths with that common prefix, those below it go left, the others right.
    """
    shift = DEPTH - depth  # the bits below the prefix (``depth`` < 256 here)
    return ((path >> shift) << shift) | (1 << (shift - 1))


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
