"""ZK mode's fixed-depth Poseidon tree (rollbook.commitment.poseidon_tree; #8).

The incremental tree is checked against a root computed from scratch over all
2**depth leaves, and every path against its root.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollbook.commitment.poseidon_tree import PoseidonTree, root_from_path, zero
from rollbook.crypto.poseidon import P, poseidon

DEPTH = 4


def naive_root(leaves: dict[int, int], depth: int) -> int:
    level = [leaves.get(i, 0) for i in range(1 << depth)]
    for _ in range(depth):
        level = [poseidon([level[i], level[i + 1]]) for i in range(0, len(level), 2)]
    return level[0]


def test_an_empty_tree_is_the_zero_of_its_height() -> None:
    tree = PoseidonTree(DEPTH)
    assert tree.root() == zero(DEPTH) == naive_root({}, DEPTH)
    assert zero(1) == poseidon([0, 0])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, (1 << DEPTH) - 1), st.one_of(st.just(0), st.integers(1, P - 1))),
        max_size=12,
    )
)
def test_updates_match_the_naive_root_and_every_path(writes: list[tuple[int, int]]) -> None:
    tree = PoseidonTree(DEPTH)
    leaves: dict[int, int] = {}
    for index, value in writes:
        tree.set(index, value)
        leaves[index] = value
    assert tree.root() == naive_root(leaves, DEPTH)
    for index in range(1 << DEPTH):
        assert tree.get(index) == leaves.get(index, 0)
        assert root_from_path(tree.get(index), index, tree.path(index)) == tree.root()
    # emptying every leaf gives the empty tree back, with nothing stored
    for index in leaves:
        tree.set(index, 0)
    assert tree.root() == zero(DEPTH) and not tree._nodes


def test_out_of_range_is_refused() -> None:
    tree = PoseidonTree(DEPTH)
    with pytest.raises(IndexError):
        tree.set(1 << DEPTH, 1)
    with pytest.raises(ValueError):
        tree.set(0, P)
    with pytest.raises(ValueError):
        PoseidonTree(0)


def test_a_path_refuses_what_the_circuit_refuses() -> None:
    tree = PoseidonTree(DEPTH)
    path = tree.path(3)
    with pytest.raises(IndexError):
        root_from_path(0, 1 << DEPTH, path)
    with pytest.raises(ValueError):
        root_from_path(P, 3, path)
