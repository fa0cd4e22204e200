"""The Merkle root of a list of txs, and a tx's path in it.

A batch's tx root (recorded by the L1 inbox, #5) and a block's tx and receipt roots
are this binary Merkle tree over byte strings:

- leaf ``i`` = ``keccak(0x00 || item_i)``; the leaves are padded with
  ``bytes(32)`` up to the next power of two;
- node = ``keccak(0x01 || left || right)``;
- the root of no items is ``bytes(32)``.

The prefixes keep a leaf from ever passing for a node. A proof is the list of
siblings from the leaf up; its length is ``ceil(log2(n))``. This is what #7's
one-step proof uses to show which tx a step executed.
"""

from __future__ import annotations

from collections.abc import Sequence

from rollbook.crypto.keccak import keccak256

EMPTY = bytes(32)


def leaf_hash(item: bytes) -> bytes:
    return keccak256(b"\x00" + item)


def _levels(items: Sequence[bytes]) -> list[list[bytes]]:
    level = [leaf_hash(item) for item in items]
    size = 1
    while size < len(level):
        size *= 2
    level += [EMPTY] * (size - len(level))
    levels = [level]
    while len(level) > 1:
        level = [keccak256(b"\x01" + level[i] + level[i + 1]) for i in range(0, len(level), 2)]
        levels.append(level)
    return levels


def merkle_root(items: Sequence[bytes]) -> bytes:
    """The root of ``items`` (``bytes(32)`` for none)."""
    if not items:
        return EMPTY
    return _levels(items)[-1][0]


def merkle_path(items: Sequence[bytes], index: int) -> tuple[bytes, ...]:
    """The siblings of item ``index`` from its leaf up to the root."""
    if not 0 <= index < len(items):
        raise IndexError(f"item {index} of {len(items)}")
    return _path(_levels(items), index)


FRONTIER_DEPTH = 20
"""Heights of an incremental tree's frontier: lists of up to ``2^20`` items."""


def _empty_subtrees() -> tuple[bytes, ...]:
    hashes = [EMPTY]
    for _ in range(FRONTIER_DEPTH):
        hashes.append(keccak256(b"\x01" + hashes[-1] + hashes[-1]))
    return tuple(hashes)


EMPTY_SUBTREES = _empty_subtrees()
EMPTY_FRONTIER = (EMPTY,) * FRONTIER_DEPTH


def frontier_push(frontier: tuple[bytes, ...], count: int, item: bytes) -> tuple[bytes, ...]:
    """The frontier after appending ``item`` as the ``count``-th item.

    The frontier keeps, per height, the root of the last complete left subtree (the
    deposit contract's incremental tree), so a list's root is built one item at a time
    from ``FRONTIER_DEPTH`` words: #7's trace carries a block's receipts this way.
    """
    if count >= 1 << FRONTIER_DEPTH:
        raise ValueError(f"a frontier holds at most 2^{FRONTIER_DEPTH} items")
    branch = list(frontier)
    node, size = leaf_hash(item), count + 1
    for height in range(FRONTIER_DEPTH):
        if size & 1:
            branch[height] = node
            return tuple(branch)
        node = keccak256(b"\x01" + branch[height] + node)
        size >>= 1
    raise ValueError("the frontier is full")


def frontier_root(frontier: tuple[bytes, ...], count: int) -> bytes:
    """:func:`merkle_root` of the ``count`` items pushed into ``frontier``."""
    if count == 0:
        return EMPTY
    depth = (count - 1).bit_length()
    if count == 1 << depth:
        if depth == FRONTIER_DEPTH:
            raise ValueError("the frontier is full")
        return frontier[depth]
    node, size = EMPTY, count
    for height in range(depth):
        if size & 1:
            node = keccak256(b"\x01" + frontier[height] + node)
        else:
            node = keccak256(b"\x01" + node + EMPTY_SUBTREES[height])
        size >>= 1
    return node


def merkle_paths(items: Sequence[bytes]) -> tuple[bytes, list[tuple[bytes, ...]]]:
    """The root of ``items`` and every item's path, hashing each node once."""
    if not items:
        return EMPTY, []
    levels = _levels(items)
    return levels[-1][0], [_path(levels, i) for i in range(len(items))]


def _path(levels: list[list[bytes]], index: int) -> tuple[bytes, ...]:
    path = []
    for level in levels[:-1]:
        path.append(level[index ^ 1])
        index //= 2
    return tuple(path)


def verify_path(root: bytes, item: bytes, index: int, path: Sequence[bytes]) -> bool:
    """True if ``item`` is at ``index`` under ``root`` by ``path``."""
    if index < 0 or index >= 1 << len(path):
        return False
    node = leaf_hash(item)
    for sibling in path:
        if index & 1:
            node = keccak256(b"\x01" + sibling + node)
        else:
            node = keccak256(b"\x01" + node + sibling)
        index >>= 1
    return node == root
