"""Tests of proofs: inclusion, exclusion, tampering, one-leaf updates, encoding."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollbook.commitment import (
    EMPTY,
    KECCAK,
    InvalidLengthError,
    Proof,
    ProofError,
    SparseMerkleTree,
    root_after_update,
    verify_exclusion,
    verify_inclusion,
)

from .helpers import VALUES, build, flip, path_bytes, trees, value_hashes

V1, V2, V3 = VALUES
Tree = tuple[list[bytes], dict[bytes, bytes]]


def tweak(data: bytes, index: int = 0) -> bytes:
    """``data`` with one byte changed."""
    out = bytearray(data)
    out[index] ^= 0x01
    return bytes(out)


# -- inclusion and exclusion ----------------------------------------------------------


@given(trees())
def test_present_paths_verify_inclusion_absent_ones_exclusion(case: Tree) -> None:
    pool, leaves = case
    tree = build(leaves)
    root = tree.root()
    for path in pool:
        proof = tree.prove(path)
        if path in leaves:
            assert proof.terminal == (path, leaves[path])
            assert verify_inclusion(root, path, leaves[path], proof)
            assert not verify_exclusion(root, path, proof)
            assert not verify_inclusion(root, path, tweak(leaves[path]), proof)
        else:
            assert verify_exclusion(root, path, proof)
            assert not verify_inclusion(root, path, V1, proof)


@given(trees(), st.data())
def test_tampering_breaks_verification(case: Tree, data: st.DataObject) -> None:
    pool, leaves = case
    tree = build(leaves)
    root = tree.root()
    path = data.draw(st.sampled_from(pool))
    value = leaves.get(path)
    proof = tree.prove(path)

    def verifies(p: Proof, r: bytes = root) -> bool:
        if value is None:
            return verify_exclusion(r, path, p)
        return verify_inclusion(r, path, value, p)

    assert verifies(proof)
    assert not verifies(proof, tweak(root, 31))
    for i in range(proof.depth):
        siblings = list(proof.siblings)
        siblings[i] = tweak(siblings[i], i % 32)
        assert not verifies(replace(proof, siblings=tuple(siblings)))
    if proof.depth:
        assert not verifies(replace(proof, siblings=proof.siblings[:-1], neighbour=None))
    if proof.depth < 256:
        assert not verifies(replace(proof, siblings=(*proof.siblings, EMPTY), neighbour=None))
    if proof.terminal is not None:
        tpath, tvalue = proof.terminal
        assert not verifies(replace(proof, terminal=(tpath, tweak(tvalue))))
        assert not verifies(replace(proof, terminal=(tweak(tpath, 31), tvalue)))
        assert not verifies(replace(proof, terminal=None))
    else:
        assert not verifies(replace(proof, terminal=(path, V1)))
    if proof.neighbour is not None:
        npath, nvalue = proof.neighbour
        assert not verifies(replace(proof, neighbour=(npath, tweak(nvalue))))
        assert not verifies(replace(proof, neighbour=(tweak(npath, 31), nvalue)))


def test_exclusion_by_a_leaf_that_shares_the_walked_prefix() -> None:
    a = b"\x33" * 32
    b = flip(a, 255)
    tree = build({a: V1})
    proof = tree.prove(b)
    assert proof.depth == 0 and proof.terminal == (a, V1)
    assert verify_exclusion(tree.root(), b, proof)
    # The same leaf shown at depth 1 would not lie under the walked prefix.
    far = flip(a, 0)
    bad = Proof((EMPTY,), (a, V1))
    assert not verify_exclusion(KECCAK.node(KECCAK.leaf(a, V1), EMPTY), far, bad)


def test_verify_rejects_bad_lengths() -> None:
    proof = Proof(())
    with pytest.raises(InvalidLengthError):
        verify_exclusion(bytes(31), bytes(32), proof)
    with pytest.raises(InvalidLengthError):
        verify_inclusion(bytes(32), bytes(32), bytes(3), proof)


# -- one-leaf updates from a proof ----------------------------------------------------


def expected_after(tree: SparseMerkleTree, path: bytes, value: bytes | None) -> bytes:
    after = tree.copy()
    after.update([(path, value)])
    return after.root()


@given(trees(), st.data())
@settings(max_examples=300)
def test_root_after_update_matches_the_tree(case: Tree, data: st.DataObject) -> None:
    pool, leaves = case
    tree = build(leaves)
    root = tree.root()
    # Pool paths, and paths one late bit away from them (splits deep in the tree).
    candidates = pool + [flip(p, 255) for p in pool]
    path = data.draw(st.sampled_from(candidates))
    old = tree.get(path)
    new = data.draw(st.none() | value_hashes | st.just(old))
    proof = tree.prove(path)
    assert root_after_update(root, path, old, new, proof) == expected_after(tree, path, new)


@given(trees())
def test_every_single_write_of_a_tree(case: Tree) -> None:
    """For each pool path: insert or modify, and delete; each against the tree."""
    pool, leaves = case
    tree = build(leaves)
    root = tree.root()
    for path in pool:
        old = leaves.get(path)
        proof = tree.prove(path)
        for new in (None, V1, V2):
            got = root_after_update(root, path, old, new, proof)
            assert got == expected_after(tree, path, new)


def test_each_kind_of_update_by_hand() -> None:
    a = path_bytes(0)
    b = flip(a, 200)
    c = path_bytes(1 << 255)
    tree = build({a: V1, c: V2})
    root = tree.root()
    cases: list[tuple[bytes, bytes | None, bytes | None]] = [
        (b, None, V3),  # insert next to a (split down to bit 200)
        (path_bytes(1 << 254), None, V3),  # insert into the empty spot at depth 2
        (a, V1, V3),  # modify
        (a, V1, None),  # delete: c collapses to the root
        (b, None, None),  # no-op delete
        (a, V1, V1),  # no-op rewrite
    ]
    for path, old, new in cases:
        proof = tree.prove(path)
        assert root_after_update(root, path, old, new, proof) == expected_after(tree, path, new)
    proof = tree.prove(a)
    assert proof.neighbour == (c, V2)
    assert root_after_update(root, a, V1, None, proof) == KECCAK.leaf(c, V2)


def test_delete_collapses_through_a_long_empty_chain() -> None:
    a = b"\xc3" * 32
    b = flip(a, 250)
    c = flip(a, 0)
    tree = build({a: V1, b: V2, c: V3})
    proof = tree.prove(b)
    assert proof.depth == 251 and proof.neighbour == (a, V1)
    expected = KECCAK.node(KECCAK.leaf(c, V3), KECCAK.leaf(a, V1))  # a's bit 0 is 1
    assert root_after_update(tree.root(), b, V2, None, proof) == expected
    assert expected_after(tree, b, None) == expected


def test_insert_and_delete_at_depth_256() -> None:
    a = b"\x0f" * 32
    b = flip(a, 255)
    tree = build({a: V1})
    proof = tree.prove(b)
    after = root_after_update(tree.root(), b, None, V2, proof)
    assert after == expected_after(tree, b, V2)
    tree.update([(b, V2)])
    proof = tree.prove(b)
    assert proof.depth == 256 and proof.neighbour == (a, V1)
    assert root_after_update(after, b, V2, None, proof) == KECCAK.leaf(a, V1)


def test_root_after_update_rejects_bad_proofs() -> None:
    a, c = path_bytes(0), path_bytes(1 << 255)
    absent = path_bytes(1 << 254)
    tree = build({a: V1, c: V2})
    root = tree.root()
    proof = tree.prove(a)
    with pytest.raises(ProofError, match="old value is None"):
        root_after_update(root, a, None, V3, proof)
    with pytest.raises(ProofError, match="another value"):
        root_after_update(root, a, V2, V3, proof)
    with pytest.raises(ProofError, match="no leaf at the path"):
        root_after_update(root, absent, V1, V3, tree.prove(absent))
    with pytest.raises(ProofError, match="does not hash to the root"):
        root_after_update(tweak(root), a, V1, V3, proof)
    with pytest.raises(ProofError, match="does not hash to the root"):
        root_after_update(
            root, a, V1, V3, replace(proof, siblings=(tweak(proof.siblings[0]),), neighbour=None)
        )
    with pytest.raises(ProofError, match="neighbour leaf does not hash"):
        root_after_update(root, a, V1, None, replace(proof, neighbour=(c, V3)))
    with pytest.raises(ProofError, match="not under the deepest sibling"):
        root_after_update(root, a, V1, None, replace(proof, neighbour=(a, V1)))
    with pytest.raises(ProofError, match="not under the path"):
        root_after_update(root, c, None, V3, Proof((KECCAK.leaf(c, V2),), (a, V1)))
    with pytest.raises(InvalidLengthError):
        root_after_update(root, a, V1, bytes(5), proof)


def test_proof_constructor_rejects_bad_shapes() -> None:
    with pytest.raises(ProofError, match="more than the depth"):
        Proof((EMPTY,) * 257)
    with pytest.raises(ProofError, match="sibling 1"):
        Proof((EMPTY, b"short"))
    with pytest.raises(ProofError, match="tuple"):
        Proof([EMPTY])  # type: ignore[arg-type]
    with pytest.raises(ProofError, match="terminal"):
        Proof((), (EMPTY,))  # type: ignore[arg-type]
    with pytest.raises(ProofError, match="needs at least one sibling"):
        Proof((), None, (EMPTY, EMPTY))


# -- encoding -------------------------------------------------------------------------

siblings = st.lists(st.just(EMPTY) | st.binary(min_size=32, max_size=32), max_size=256)
leaves = st.none() | st.tuples(
    st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32)
)


@st.composite
def proofs(draw: st.DrawFn) -> Proof:
    sibs = tuple(draw(siblings))
    neighbour = draw(leaves) if sibs else None
    return Proof(sibs, draw(leaves), neighbour)


@given(proofs())
def test_encode_decode_round_trip(proof: Proof) -> None:
    data = proof.encode()
    assert Proof.decode(data) == proof
    present = sum(1 for s in proof.siblings if s != EMPTY)
    extra = sum(64 for leaf in (proof.terminal, proof.neighbour) if leaf is not None)
    assert len(data) == 2 + 32 + 32 * present + 2 + extra


@given(trees())
def test_tree_proofs_round_trip(case: Tree) -> None:
    pool, leaves = case
    tree = build(leaves)
    for path in pool:
        proof = tree.prove(path)
        assert Proof.decode(proof.encode()) == proof


def test_encoding_layout() -> None:
    a = b"\x0f" * 32
    b = flip(a, 255)
    tree = build({a: V1, b: V2})
    data = tree.prove(b).encode()
    # depth 256, only the last sibling is non-empty, terminal b, neighbour a.
    assert data[:2] == (256).to_bytes(2, "big")
    assert data[2:34] == bytes(31) + b"\x01"
    assert data[34:66] == KECCAK.leaf(a, V1)
    assert data[66:] == b"\x01" + b + V2 + b"\x01" + a + V1


def decode_or_proof_error(data: bytes) -> None:
    try:
        proof = Proof.decode(data)
    except ProofError:
        return
    assert proof.encode() == data  # whatever decodes is canonical


@given(st.binary(max_size=600))
@settings(max_examples=500)
def test_decode_random_bytes_raises_only_proof_error(data: bytes) -> None:
    decode_or_proof_error(data)


@given(proofs(), st.data())
@settings(max_examples=300)
def test_decode_mutated_encodings_raises_only_proof_error(
    proof: Proof, data: st.DataObject
) -> None:
    encoded = proof.encode()
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(ProofError):
        Proof.decode(encoded[:cut])
    with pytest.raises(ProofError):
        Proof.decode(encoded + data.draw(st.binary(min_size=1, max_size=40)))
    index = data.draw(st.integers(0, len(encoded) - 1))
    mutated = bytearray(encoded)
    mutated[index] = data.draw(st.integers(0, 255))
    decode_or_proof_error(bytes(mutated))


def test_decode_rejects_non_canonical_forms() -> None:
    header = (1).to_bytes(2, "big") + (1 << 255).to_bytes(32, "big")
    with pytest.raises(ProofError, match="EMPTY"):
        Proof.decode(header + EMPTY + b"\x00\x00")
    with pytest.raises(ProofError, match="beyond the depth"):
        Proof.decode((0).to_bytes(2, "big") + (1).to_bytes(32, "big") + b"\x00\x00")
    with pytest.raises(ProofError, match="exceeds"):
        Proof.decode((257).to_bytes(2, "big") + bytes(32) + b"\x00\x00")
    with pytest.raises(ProofError, match="flag is 2"):
        Proof.decode((0).to_bytes(2, "big") + bytes(32) + b"\x02\x00")
    with pytest.raises(ProofError, match="needs at least one sibling"):
        Proof.decode((0).to_bytes(2, "big") + bytes(32) + b"\x00\x01" + bytes(64))
    with pytest.raises(ProofError, match="must be bytes"):
        Proof.decode("00")  # type: ignore[arg-type]
