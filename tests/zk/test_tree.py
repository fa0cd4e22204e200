"""The circuit's tree templates (``tree.circom``) against the Python tree (#8).

``TreeUpdate(8)`` proves one leaf's change between two roots. A real update is
provable; a wrong old root, a wrong sibling, a wrong index or an index beyond the tree
is not.
"""

from __future__ import annotations

import pytest

from rollbook.commitment.poseidon_tree import PoseidonTree
from rollbook.crypto.poseidon import poseidon
from tests.zk.helpers import provable as zk_provable

DEPTH = 8


def populated() -> PoseidonTree:
    tree = PoseidonTree(DEPTH)
    for index in (0, 1, 77, 200, 255):
        tree.set(index, poseidon([index, 42]))
    return tree


def provable(
    old_root: int, old_leaf: int, new_leaf: int, index: int, path: list[int], new_root: int
) -> bool:
    inputs = {
        "old_root": old_root,
        "old_leaf": old_leaf,
        "new_leaf": new_leaf,
        "index": index,
        "siblings": path,
    }
    return zk_provable("tree_update", inputs, poseidon([old_root, new_root, index, new_leaf]))


@pytest.mark.parametrize("index", [0, 77, 128, 255])
def test_a_real_update_is_provable(index: int) -> None:
    tree = populated()
    old_root, old_leaf, path = tree.root(), tree.get(index), tree.path(index)
    tree.set(index, 12345)
    assert provable(old_root, old_leaf, 12345, index, path, tree.root())


def test_a_false_update_is_not() -> None:
    tree = populated()
    index = 77
    old_root, old_leaf, path = tree.root(), tree.get(index), tree.path(index)
    after = populated()
    after.set(index, 999)
    new_root = after.root()
    assert provable(old_root, old_leaf, 999, index, path, new_root)
    assert not provable(old_root + 1, old_leaf, 999, index, path, new_root)
    assert not provable(old_root, old_leaf + 1, 999, index, path, new_root)
    assert not provable(old_root, old_leaf, 999, index, [path[0] + 1, *path[1:]], new_root)
    assert not provable(old_root, old_leaf, 999, index ^ 1, path, new_root)
    assert not provable(old_root, old_leaf, 999, index + 256, path, new_root)  # 9 bits
    assert not provable(old_root, old_leaf, 998, index, path, new_root)
