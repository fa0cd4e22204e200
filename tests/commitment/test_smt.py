"""Tests of the tree: the definition by hand, incremental == reference, copies, work."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollbook.commitment import (
    EMPTY,
    KECCAK,
    DuplicatePathError,
    InvalidLengthError,
    SparseMerkleTree,
    root_of,
)
from rollbook.commitment.hashing import LEAF_PREFIX, NODE_PREFIX, tagged_digest
from rollbook.crypto.keccak import keccak256

from .helpers import (
    VALUES,
    Write,
    apply,
    build,
    flip,
    max_leaf_depth,
    path_bytes,
    pools_and_batches,
    trees,
)

V1, V2, V3 = VALUES


def leaf(path: bytes, value: bytes) -> bytes:
    return keccak256(b"\x00" + path + value)


def node(left: bytes, right: bytes) -> bytes:
    return keccak256(b"\x01" + left + right)


# -- the definition, by hand ----------------------------------------------------------


def test_keccak_hasher_is_the_documented_formula() -> None:
    path, value = b"\x12" * 32, b"\x34" * 32
    assert KECCAK.leaf(path, value) == leaf(path, value)
    assert KECCAK.node(path, value) == node(path, value)
    assert EMPTY == bytes(32)


def test_empty_tree() -> None:
    assert root_of([]) == EMPTY
    tree = SparseMerkleTree()
    assert tree.root() == EMPTY
    assert len(tree) == 0
    assert tree.get(bytes(32)) is None


def test_one_leaf_is_its_leaf_hash() -> None:
    path = b"\xab" * 32
    assert root_of([(path, V1)]) == leaf(path, V1)
    tree = SparseMerkleTree()
    tree.update([(path, V1)])
    assert tree.root() == leaf(path, V1)


def test_two_leaves_split_at_bit_0() -> None:
    a, b = path_bytes(0), path_bytes(1 << 255)  # 0x00.. and 0x80..
    expected = node(leaf(a, V1), leaf(b, V2))
    assert root_of([(b, V2), (a, V1)]) == expected
    tree = SparseMerkleTree()
    tree.update([(b, V2), (a, V1)])
    assert tree.root() == expected


def test_two_leaves_split_at_bit_2() -> None:
    # 0x00.. and 0x20..: both go left at bits 0 and 1, part at bit 2.
    a, b = path_bytes(0), path_bytes(1 << 253)
    expected = node(node(node(leaf(a, V1), leaf(b, V2)), EMPTY), EMPTY)
    assert root_of([(a, V1), (b, V2)]) == expected
    assert build({a: V1, b: V2}).root() == expected


def test_two_leaves_split_on_the_right() -> None:
    # 0xff..ff and 0xff..fe agree on 255 bits: 255 nodes with an empty left half.
    a, b = b"\xff" * 32, b"\xff" * 31 + b"\xfe"
    expected = node(leaf(b, V2), leaf(a, V1))
    for _ in range(255):
        expected = node(EMPTY, expected)
    assert root_of([(a, V1), (b, V2)]) == expected
    assert build({a: V1, b: V2}).root() == expected


def test_three_leaves() -> None:
    a = path_bytes(0)  # 00..
    b = path_bytes(1 << 254)  # 01..
    c = path_bytes(1 << 255)  # 10..
    assert root_of([(a, V1), (b, V2), (c, V3)]) == node(node(leaf(a, V1), leaf(b, V2)), leaf(c, V3))
    d = path_bytes(3 << 254)  # 11..
    expected = node(leaf(a, V1), node(leaf(c, V2), leaf(d, V3)))
    assert root_of([(d, V3), (c, V2), (a, V1)]) == expected
    assert build({a: V1, c: V2, d: V3}).root() == expected


def test_root_of_rejects_duplicates_and_bad_lengths() -> None:
    with pytest.raises(DuplicatePathError):
        root_of([(bytes(32), V1), (bytes(32), V2)])
    with pytest.raises(InvalidLengthError):
        root_of([(bytes(31), V1)])
    with pytest.raises(InvalidLengthError):
        root_of([(bytes(32), b"")])


def test_update_rejects_bad_lengths() -> None:
    tree = SparseMerkleTree()
    with pytest.raises(InvalidLengthError, match="path must be 32 bytes, got 33 bytes"):
        tree.update([(bytes(33), V1)])
    with pytest.raises(InvalidLengthError, match="value_hash"):
        tree.update([(bytes(32), "x" * 32)])  # type: ignore[list-item]
    with pytest.raises(InvalidLengthError):
        tree.get(b"")


# -- incremental == reference ---------------------------------------------------------


def check_against_model(
    tree: SparseMerkleTree, model: dict[bytes, bytes], pool: list[bytes]
) -> None:
    assert tree.root() == root_of(model.items())
    assert len(tree) == len(model)
    assert list(tree.items()) == sorted(model.items())
    for path in pool:
        assert tree.get(path) == model.get(path)


@given(pools_and_batches())
@settings(max_examples=300)
def test_incremental_root_equals_reference(case: tuple[list[bytes], list[list[Write]]]) -> None:
    pool, batches = case
    tree = SparseMerkleTree()
    model: dict[bytes, bytes] = {}
    for batch in batches:
        tree.update(batch)
        apply(model, batch)
        # get() sees buffered writes before root() applies them.
        for path in pool:
            assert tree.get(path) == model.get(path)
        check_against_model(tree, model, pool)
    # Delete everything, in one batch: back to the empty root.
    tree.update([(path, None) for path in pool])
    assert tree.root() == EMPTY
    assert len(tree) == 0


@given(pools_and_batches())
def test_root_is_independent_of_batching(case: tuple[list[bytes], list[list[Write]]]) -> None:
    """One write per root() or all writes in one batch: same leaf set, same root."""
    _, batches = case
    writes = [w for batch in batches for w in batch]
    one_by_one = SparseMerkleTree()
    for write in writes:
        one_by_one.update([write])
        one_by_one.root()
    all_at_once = SparseMerkleTree()
    all_at_once.update(writes)
    assert one_by_one.root() == all_at_once.root()


def test_later_write_in_a_batch_wins() -> None:
    tree = SparseMerkleTree()
    a = path_bytes(5)
    tree.update([(a, V1), (a, None), (a, V2)])
    assert tree.get(a) == V2
    assert tree.root() == leaf(a, V2)
    tree.update([(a, V3), (a, None)])
    assert tree.get(a) is None
    assert tree.root() == EMPTY


def test_deleting_next_to_a_long_shared_prefix_collapses() -> None:
    """Two leaves that agree on 255 bits: deleting one leaves the other at the root."""
    a = b"\x5a" * 32
    b = flip(a, 255)
    tree = build({a: V1, b: V2})
    assert max_leaf_depth(tree) == 256
    tree.update([(b, None)])
    assert tree.root() == leaf(a, V1)
    assert tree.prove(a).depth == 0


def test_tagged_digest_is_the_hasher() -> None:
    """The tree's hot loop hashes tagged inputs; they give the hasher's own results."""

    class Sha256:
        def leaf(self, path: bytes, value_hash: bytes) -> bytes:
            return hashlib.sha256(b"L" + path + value_hash).digest()

        def node(self, left: bytes, right: bytes) -> bytes:
            return hashlib.sha256(b"N" + left + right).digest()

    a, b = b"\x12" * 32, b"\x34" * 32
    for hasher in (KECCAK, Sha256()):
        new = tagged_digest(hasher)
        assert new(LEAF_PREFIX + a + b).digest() == hasher.leaf(a, b)
        assert new(NODE_PREFIX + a + b).digest() == hasher.node(a, b)


def test_large_batches_match_the_reference() -> None:
    """Thousands of leaves at keccak paths, batches of hundreds of mixed writes (updates,
    inserts, deletes, no-ops): the runs of writes split many times, deep and shallow."""

    def h(tag: bytes, i: int) -> bytes:
        return keccak256(tag + i.to_bytes(4, "big"))

    model = {h(b"p", i): h(b"v", i) for i in range(3000)}
    tree = build(model)
    assert tree.root() == root_of(model.items())
    fresh = 3000
    for batch_no in range(4):
        present = sorted(model)
        batch: list[Write] = []
        for j in range(600):
            pick = int.from_bytes(h(b"pick", batch_no * 1000 + j)[:4], "big")
            kind = pick % 10
            if kind < 6:  # update (sometimes to the value it has)
                path = present[pick % len(present)]
                batch.append((path, model[path] if kind == 0 else h(b"u", pick)))
            elif kind < 9:  # insert
                batch.append((h(b"p", fresh), h(b"v", fresh)))
                fresh += 1
            else:  # delete, present or absent
                batch.append((present[pick % len(present)] if pick & 1 else h(b"x", pick), None))
        tree.update(batch)
        apply(model, batch)
        assert tree.root() == root_of(model.items())
        assert len(tree) == len(model)
    assert list(tree.items()) == sorted(model.items())


def test_other_hasher_is_used_everywhere() -> None:
    class Sha256:
        def leaf(self, path: bytes, value_hash: bytes) -> bytes:
            return hashlib.sha256(b"L" + path + value_hash).digest()

        def node(self, left: bytes, right: bytes) -> bytes:
            return hashlib.sha256(b"N" + left + right).digest()

    sha = Sha256()
    leaves = {path_bytes(i * 0x1234567 << 200): VALUES[i % 3] for i in range(20)}
    tree = SparseMerkleTree(sha)
    tree.update(leaves.items())
    assert tree.root() == root_of(leaves.items(), sha)
    assert tree.root() != root_of(leaves.items())


# -- copies ---------------------------------------------------------------------------


@given(trees(), pools_and_batches())
def test_copies_are_independent(
    case: tuple[list[bytes], dict[bytes, bytes]], writes: tuple[list[bytes], list[list[Write]]]
) -> None:
    pool, leaves = case
    tree = build(leaves)
    # A write still in the buffer when copying goes to both trees.
    pending: list[Write] = [(pool[0], V3)]
    tree.update(pending)
    copy = tree.copy()
    model = dict(leaves)
    apply(model, pending)

    copy_model = dict(model)
    for batch in writes[1]:
        copy.update(batch)
        apply(copy_model, batch)
        copy.root()
    check_against_model(tree, model, pool)
    check_against_model(copy, copy_model, pool)

    tree.update([(path, None) for path in pool])
    assert tree.root() == EMPTY
    check_against_model(copy, copy_model, pool)
    assert copy.copy().root() == root_of(copy_model.items())


def test_copy_does_not_rehash() -> None:
    tree = build({path_bytes(i << 240): V1 for i in range(100)})
    copy = tree.copy()
    assert copy.hashes == 0
    assert copy.root() == tree.root()
    assert copy.hashes == 0


# -- work -----------------------------------------------------------------------------


def node_hashes(leaves: dict[bytes, bytes]) -> set[bytes]:
    """The hash of every non-empty subtree of the canonical tree, from the definition."""
    found: set[bytes] = set()

    def subtree(group: list[tuple[bytes, bytes]], depth: int) -> bytes:
        if not group:
            return EMPTY
        if len(group) == 1:
            digest = leaf(*group[0])
        else:
            bit = [(int.from_bytes(p, "big") >> (255 - depth)) & 1 for p, _ in group]
            left = [g for g, b in zip(group, bit, strict=True) if b == 0]
            right = [g for g, b in zip(group, bit, strict=True) if b == 1]
            digest = node(subtree(left, depth + 1), subtree(right, depth + 1))
        found.add(digest)
        return digest

    subtree(sorted(leaves.items()), 0)
    return found


@given(pools_and_batches())
@settings(max_examples=200)
def test_each_batch_hashes_exactly_the_nodes_it_changes(
    case: tuple[list[bytes], list[list[Write]]],
) -> None:
    """Inserts, updates, deletes (with collapses) and no-ops mixed: a batch computes one
    hash per node of the new tree that the old tree did not have, and no other."""
    _, batches = case
    tree = SparseMerkleTree()
    model: dict[bytes, bytes] = {}
    for batch in batches:
        before = node_hashes(model)
        hashes = tree.hashes
        tree.update(batch)
        apply(model, batch)
        tree.root()
        assert tree.hashes - hashes == len(node_hashes(model) - before)


@given(trees())
def test_no_op_writes_hash_nothing(case: tuple[list[bytes], dict[bytes, bytes]]) -> None:
    pool, leaves = case
    tree = build(leaves)
    before = tree.hashes
    # Delete absent paths, rewrite present ones with the value they have.
    absent = [p for p in pool if p not in leaves]
    tree.update([(p, None) for p in absent])
    tree.update([(p, v) for p, v in leaves.items()])
    assert tree.root() == root_of(leaves.items())
    assert tree.hashes == before


@given(trees(), st.data())
def test_modifying_k_leaves_hashes_each_affected_node_once(
    case: tuple[list[bytes], dict[bytes, bytes]], data: st.DataObject
) -> None:
    """Changing the values of k leaves rehashes exactly those k leaves and the union of
    their ancestors: one hash per affected node, shared ancestors counted once."""
    _, leaves = case
    if not leaves:
        return
    tree = build(leaves)
    present = sorted(leaves)
    chosen = data.draw(st.lists(st.sampled_from(present), min_size=1, unique=True))
    ancestors: dict[tuple[int, int], None] = {}  # (depth, prefix) of each node above
    for path in chosen:
        key = int.from_bytes(path, "big")
        for depth in range(tree.prove(path).depth):
            ancestors[(depth, key >> (256 - depth))] = None
    new_values = {p: bytes(b ^ 0xFF for b in leaves[p]) for p in chosen}
    before = tree.hashes
    tree.update(new_values.items())
    leaves.update(new_values)
    assert tree.root() == root_of(leaves.items())
    assert tree.hashes - before == len(chosen) + len(ancestors)


@given(trees(), st.data())
def test_k_writes_hash_at_most_k_times_depth_plus_one(
    case: tuple[list[bytes], dict[bytes, bytes]], data: st.DataObject
) -> None:
    pool, leaves = case
    tree = build(leaves)
    depth_before = max_leaf_depth(tree)
    batch = data.draw(
        st.lists(st.tuples(st.sampled_from(pool), st.none() | st.sampled_from(VALUES)), max_size=12)
    )
    effective = dict(batch)
    before = tree.hashes
    tree.update(batch)
    tree.root()
    depth = max(depth_before, max_leaf_depth(tree))
    assert tree.hashes - before <= len(effective) * (depth + 1)


def test_work_on_a_large_tree_is_logarithmic() -> None:
    """1,000 leaves at keccak paths; 10 writes rehash about 10 × log2(1000) nodes."""
    leaves = {
        keccak256(i.to_bytes(8, "big")): keccak256(b"v" + bytes([i % 256])) for i in range(1000)
    }
    tree = build(leaves)
    depth = max_leaf_depth(tree)
    assert depth < 30
    before = tree.hashes
    writes = [(keccak256(i.to_bytes(8, "big")), V1) for i in range(0, 1000, 100)]
    tree.update(writes)
    tree.root()
    assert tree.hashes - before <= len(writes) * (depth + 1)
