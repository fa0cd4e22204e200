"""A fixed-depth Poseidon Merkle tree indexed by integers: ZK mode's tree (#8).

The circuits cannot afford the compact keccak tree's variable depth and 256-bit paths
(docs/design/zk.md): ZK mode commits to its state in trees of fixed depth indexed by
dense integers (accounts by index, instruments by id). A leaf is a field element (the
Poseidon hash of the leaf's fields); a node is ``Poseidon(left, right)``; an empty
leaf is 0 and an empty subtree of height ``h`` is ``ZERO[h]`` (``ZERO[0] = 0``,
``ZERO[h + 1] = Poseidon(ZERO[h], ZERO[h])``). Bit ``i`` of the index chooses the
side at height ``i`` (0: the node is the left child), which is what
``circuits/tree.circom`` computes.

A path is the ``depth`` siblings from the leaf up. Only non-empty nodes are stored.
"""

from __future__ import annotations

from functools import cache

from rollbook.crypto.poseidon import P, poseidon

MAX_DEPTH = 160  # an address-keyed tree (ZK mode's owners)


@cache
def zero(height: int) -> int:
    """The hash of an empty subtree of ``height`` levels."""
    if height == 0:
        return 0
    below = zero(height - 1)
    return poseidon([below, below])


class PoseidonTree:
    """A Merkle tree of ``2**depth`` field elements, all 0 to begin with."""

    def __init__(self, depth: int) -> None:
        if not 0 < depth <= MAX_DEPTH:
            raise ValueError(f"a tree's depth is 1..{MAX_DEPTH}")
        self.depth = depth
        self._nodes: dict[tuple[int, int], int] = {}  # (height, index) -> hash, non-empty

    def _node(self, height: int, index: int) -> int:
        return self._nodes.get((height, index), zero(height))

    def _check_index(self, index: int) -> None:
        if not 0 <= index < 1 << self.depth:
            raise IndexError(f"index {index} is outside a tree of depth {self.depth}")

    def root(self) -> int:
        return self._node(self.depth, 0)

    def get(self, index: int) -> int:
        self._check_index(index)
        return self._node(0, index)

    def path(self, index: int) -> list[int]:
        """The siblings of leaf ``index``, from the leaf's up to the root's children."""
        self._check_index(index)
        return [self._node(height, (index >> height) ^ 1) for height in range(self.depth)]

    def set(self, index: int, value: int) -> None:
        """Write ``value`` at ``index`` (0 empties it) and rehash the path."""
        self._check_index(index)
        if not 0 <= value < P:
            raise ValueError("a leaf is a field element")
        node = value
        for height in range(self.depth + 1):
            at = index >> height
            if node == zero(height):
                self._nodes.pop((height, at), None)
            else:
                self._nodes[(height, at)] = node
            if height == self.depth:
                break
            sibling = self._node(height, at ^ 1)
            node = poseidon([node, sibling] if at & 1 == 0 else [sibling, node])


def root_from_path(leaf: int, index: int, path: list[int]) -> int:
    """The root a leaf and its path give (what the circuit's ``PathRoot`` computes);
    an index beyond the path's tree, or a value that is no field element, is refused
    as the circuit refuses it."""
    if not 0 <= index < 1 << len(path):
        raise IndexError(f"index {index} is outside a tree of depth {len(path)}")
    if not all(0 <= value < P for value in (leaf, *path)):
        raise ValueError("a leaf and its siblings are field elements")
    node = leaf
    for height, sibling in enumerate(path):
        node = poseidon([node, sibling] if (index >> height) & 1 == 0 else [sibling, node])
    return node
