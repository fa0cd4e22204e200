"""Tests of proofs: inclusion, exclusion, tampering, openings, one-leaf updates, encoding."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollbook.commitment import (
    EMPTY,
    KECCAK,
    BranchOpening,
    InvalidLengthError,
    LeafOpening,
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


def any_opening(siblings: tuple[bytes, ...]) -> BranchOpening | None:
    """A well-formed opening for a proof with these siblings (it opens nothing real)."""
    return BranchOpening(V1, V2) if siblings else None


def forged_openings(opening: LeafOpening | BranchOpening) -> list[LeafOpening | BranchOpening]:
    """Openings that differ from ``opening`` in one way: a field changed, the sides
    swapped, or the other kind (a leaf shown as a branch, a branch as a leaf)."""
    if isinstance(opening, LeafOpening):
        path, value = opening.path, opening.value_hash
        forged_leaf: list[LeafOpening | BranchOpening] = [
            LeafOpening(path, tweak(value)),
            LeafOpening(tweak(path, 31), value),
            BranchOpening(KECCAK.leaf(path, value), EMPTY),
        ]
        if path != EMPTY or value != EMPTY:
            forged_leaf.append(BranchOpening(path, value))
        return forged_leaf
    left, right = opening.left, opening.right
    forged: list[LeafOpening | BranchOpening] = [LeafOpening(left, right)]
    if left != right:
        forged.append(BranchOpening(right, left))
    if left != EMPTY:
        forged.append(BranchOpening(tweak(left), right))
    if right != EMPTY:
        forged.append(BranchOpening(left, tweak(right)))
    return forged


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
        shorter = proof.siblings[:-1]
        assert not verifies(replace(proof, siblings=shorter, opening=any_opening(shorter)))
    if proof.depth < 256:
        longer = (*proof.siblings, EMPTY)
        assert not verifies(replace(proof, siblings=longer, opening=any_opening(longer)))
    if proof.terminal is not None:
        tpath, tvalue = proof.terminal
        assert not verifies(replace(proof, terminal=(tpath, tweak(tvalue))))
        assert not verifies(replace(proof, terminal=(tweak(tpath, 31), tvalue)))
        assert not verifies(replace(proof, terminal=None))
    else:
        assert not verifies(replace(proof, terminal=(path, V1)))
    if proof.opening is not None:
        for forged in forged_openings(proof.opening):
            assert not verifies(replace(proof, opening=forged))


def test_exclusion_by_a_leaf_that_shares_the_walked_prefix() -> None:
    a = b"\x33" * 32
    b = flip(a, 255)
    tree = build({a: V1})
    proof = tree.prove(b)
    assert proof.depth == 0 and proof.terminal == (a, V1)
    assert verify_exclusion(tree.root(), b, proof)
    # The same leaf shown at depth 1 along a path that parts from it at bit 0 would
    # not lie under the walked prefix (everything else about the proof is right).
    far = flip(a, 0)  # a = 0x33.. has bit 0 = 0: far goes right, where a cannot be
    d = flip(a, 255)
    bad = Proof((KECCAK.leaf(d, V2),), (a, V1), LeafOpening(d, V2))
    root = KECCAK.node(KECCAK.leaf(d, V2), KECCAK.leaf(a, V1))
    assert not verify_exclusion(root, far, bad)
    with pytest.raises(ProofError, match="terminal leaf is not under the path"):
        root_after_update(root, far, None, V3, bad)


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
    assert proof.opening == LeafOpening(c, V2)
    assert root_after_update(root, a, V1, None, proof) == KECCAK.leaf(c, V2)


def test_delete_collapses_through_a_long_empty_chain() -> None:
    a = b"\xc3" * 32
    b = flip(a, 250)
    c = flip(a, 0)
    tree = build({a: V1, b: V2, c: V3})
    proof = tree.prove(b)
    assert proof.depth == 251 and proof.opening == LeafOpening(a, V1)
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
    assert proof.depth == 256 and proof.opening == LeafOpening(a, V1)
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
    forged_sibling = tweak(proof.siblings[0])
    with pytest.raises(ProofError, match="leaf opening does not hash to the deepest sibling"):
        root_after_update(root, a, V1, V3, replace(proof, siblings=(forged_sibling,)))
    with pytest.raises(ProofError, match="does not hash to the root"):
        # A sibling forged together with its opening: caught by the fold.
        forged = replace(proof, siblings=(KECCAK.leaf(c, V3),), opening=LeafOpening(c, V3))
        root_after_update(root, a, V1, V3, forged)
    with pytest.raises(ProofError, match="leaf opening does not hash"):
        root_after_update(root, a, V1, None, replace(proof, opening=LeafOpening(c, V3)))
    with pytest.raises(ProofError, match="not under the deepest sibling"):
        root_after_update(root, a, V1, None, replace(proof, opening=LeafOpening(a, V1)))
    with pytest.raises(ProofError, match="not under the path"):
        bad = Proof((KECCAK.leaf(c, V2),), (a, V1), BranchOpening(V1, V2))
        root_after_update(root, c, None, V3, bad)
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
        Proof((), None, LeafOpening(V1, V2))
    with pytest.raises(ProofError, match="must be opened"):
        Proof((V1,))
    with pytest.raises(ProofError, match="must be a LeafOpening, a BranchOpening or None"):
        Proof((V1,), None, (V1, V2))  # type: ignore[arg-type]
    with pytest.raises(ProofError, match="leaf opening"):
        LeafOpening(V1, b"short")
    with pytest.raises(ProofError, match="branch opening"):
        BranchOpening(bytearray(32), V1)  # type: ignore[arg-type]
    with pytest.raises(ProofError, match="two EMPTY halves"):
        BranchOpening(EMPTY, EMPTY)


# -- openings: the deepest sibling, as it is -------------------------------------------


def sibling_leaves(
    leaves: dict[bytes, bytes], path: bytes, depth: int
) -> list[tuple[bytes, bytes]]:
    """The leaves under the deepest sibling of a walk of ``depth`` steps along ``path``."""
    # The sibling's paths share the walk's first depth - 1 bits and differ at bit depth - 1.
    target = (int.from_bytes(path, "big") >> (256 - depth)) ^ 1
    return sorted(
        (p, v) for p, v in leaves.items() if int.from_bytes(p, "big") >> (256 - depth) == target
    )


@given(trees())
def test_prove_opens_the_deepest_sibling_as_it_is(case: Tree) -> None:
    """A leaf opening when the sibling holds one leaf, a branch opening when it holds
    more, with the hashes of its halves; no opening only at depth 0."""
    pool, leaves = case
    tree = build(leaves)
    for path in pool + [flip(p, 255) for p in pool]:
        proof = tree.prove(path)
        if proof.depth == 0:
            assert proof.opening is None
            continue
        under = sibling_leaves(leaves, path, proof.depth)
        assert under, "a canonical tree has no empty deepest sibling"
        if len(under) == 1:
            assert proof.opening == LeafOpening(*under[0])
        else:
            assert isinstance(proof.opening, BranchOpening)
            opening = proof.opening
            assert KECCAK.node(opening.left, opening.right) == proof.siblings[-1]


def test_delete_needs_the_opening_of_a_leaf_sibling() -> None:
    """The attack the opening closes: deleting a, whose sibling is the single leaf c.

    Without the opening, nothing told the sibling apart from a branch: a prover could
    drop it and get the non-canonical root H_node(EMPTY, H_leaf(c)) accepted, where
    the tree collapses to H_leaf(c)."""
    a, c = path_bytes(0), path_bytes(1 << 255)
    tree = build({a: V1, c: V2})
    root = tree.root()
    proof = tree.prove(a)
    assert proof.opening == LeafOpening(c, V2)
    assert root_after_update(root, a, V1, None, proof) == KECCAK.leaf(c, V2)
    non_canonical = KECCAK.node(EMPTY, KECCAK.leaf(c, V2))

    # Omitted: the proof cannot even be built, nor decoded.
    with pytest.raises(ProofError, match="must be opened"):
        replace(proof, opening=None)
    encoded = proof.encode()
    assert encoded[-65] == 1  # the opening tag, then c and V2
    with pytest.raises(ProofError, match="must be opened"):
        Proof.decode(encoded[:-65] + b"\x00")

    # The leaf sibling presented as a branch (whatever halves), or a forged leaf.
    for forged in [
        BranchOpening(EMPTY, KECCAK.leaf(c, V2)),
        BranchOpening(KECCAK.leaf(c, V2), EMPTY),
        BranchOpening(V1, V2),
        LeafOpening(c, V3),
        LeafOpening(flip(c, 200), V2),
    ]:
        bad = replace(proof, opening=forged)
        with pytest.raises(ProofError, match="opening"):
            root_after_update(root, a, V1, None, bad)
        assert not verify_inclusion(root, a, V1, bad)
    assert root_after_update(root, a, V1, None, proof) != non_canonical
    # Even a Proof whose opening was removed after construction is refused.
    stripped = Proof(proof.siblings, proof.terminal, proof.opening)
    object.__setattr__(stripped, "opening", None)
    with pytest.raises(ProofError, match="not opened"):
        root_after_update(root, a, V1, None, stripped)
    assert not verify_inclusion(root, a, V1, stripped)


def test_delete_next_to_a_branch_sibling_does_not_collapse() -> None:
    """The reverse attack: a branch sibling presented as one of its own leaves would
    make the parent collapse and drop the sibling's other leaves from the root."""
    a = path_bytes(0)
    c1, c2 = path_bytes(2 << 254), path_bytes(3 << 254)  # 10.. and 11..: a branch
    tree = build({a: V1, c1: V2, c2: V3})
    root = tree.root()
    proof = tree.prove(a)
    sibling = KECCAK.node(KECCAK.leaf(c1, V2), KECCAK.leaf(c2, V3))
    assert proof.siblings == (sibling,)
    assert proof.opening == BranchOpening(KECCAK.leaf(c1, V2), KECCAK.leaf(c2, V3))
    expected = KECCAK.node(EMPTY, sibling)
    assert root_after_update(root, a, V1, None, proof) == expected == expected_after(tree, a, None)
    for forged in [LeafOpening(c1, V2), LeafOpening(c2, V3), LeafOpening(c1, sibling)]:
        with pytest.raises(ProofError, match="leaf opening does not hash"):
            root_after_update(root, a, V1, None, replace(proof, opening=forged))
    with pytest.raises(ProofError, match="branch opening does not hash"):
        swapped = BranchOpening(KECCAK.leaf(c2, V3), KECCAK.leaf(c1, V2))
        root_after_update(root, a, V1, None, replace(proof, opening=swapped))


@given(trees(), st.data())
def test_every_forged_opening_is_rejected(case: Tree, data: st.DataObject) -> None:
    """For any write, a proof whose opening is not the honest one is refused, and
    so is one whose branch sibling is opened as any of the leaves under it."""
    pool, leaves = case
    tree = build(leaves)
    root = tree.root()
    path = data.draw(st.sampled_from(pool))
    old = leaves.get(path)
    proof = tree.prove(path)
    if proof.opening is None:
        return
    forged = forged_openings(proof.opening)
    forged += [LeafOpening(p, v) for p, v in sibling_leaves(leaves, path, proof.depth)]
    for opening in forged:
        if opening == proof.opening:
            continue
        bad = replace(proof, opening=opening)
        for new in (None, V1):
            with pytest.raises(ProofError):
                root_after_update(root, path, old, new, bad)
        assert not verify_exclusion(root, path, bad)
        if old is not None:
            assert not verify_inclusion(root, path, old, bad)


# -- encoding -------------------------------------------------------------------------

siblings = st.lists(st.just(EMPTY) | st.binary(min_size=32, max_size=32), max_size=256)
hashes32 = st.binary(min_size=32, max_size=32)
leaves = st.none() | st.tuples(hashes32, hashes32)
non_empty = hashes32.filter(lambda h: h != EMPTY)
openings = (
    st.builds(LeafOpening, hashes32, hashes32)
    | st.builds(BranchOpening, st.just(EMPTY) | hashes32, non_empty)
    | st.builds(BranchOpening, non_empty, st.just(EMPTY))
)


@st.composite
def proofs(draw: st.DrawFn) -> Proof:
    sibs = tuple(draw(siblings))
    opening = draw(openings) if sibs else None
    return Proof(sibs, draw(leaves), opening)


@given(proofs())
def test_encode_decode_round_trip(proof: Proof) -> None:
    data = proof.encode()
    assert Proof.decode(data) == proof
    present = sum(1 for s in proof.siblings if s != EMPTY)
    extra = (64 if proof.terminal is not None else 0) + (64 if proof.opening is not None else 0)
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
    # depth 256, only the last sibling is non-empty, terminal b, leaf opening a.
    assert data[:2] == (256).to_bytes(2, "big")
    assert data[2:34] == bytes(31) + b"\x01"
    assert data[34:66] == KECCAK.leaf(a, V1)
    assert data[66:] == b"\x01" + b + V2 + b"\x01" + a + V1
    # Exclusion at an empty spot next to a branch: no terminal, branch opening.
    c, d = path_bytes(1 << 255), path_bytes(3 << 254)  # 10.. and 11..
    tree = build({c: V1, d: V2})
    proof = tree.prove(path_bytes(0))
    assert proof.terminal is None and proof.depth == 1
    halves = KECCAK.leaf(c, V1) + KECCAK.leaf(d, V2)
    data = proof.encode()
    header = (1).to_bytes(2, "big") + (1 << 255).to_bytes(32, "big")
    assert data == header + proof.siblings[0] + b"\x00" + b"\x02" + halves
    # Depth 0: no opening, tag 0.
    assert Proof((), (a, V1)).encode() == bytes(34) + b"\x01" + a + V1 + b"\x00"


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
    with pytest.raises(ProofError, match="terminal flag is 2"):
        Proof.decode((0).to_bytes(2, "big") + bytes(32) + b"\x02\x00")
    with pytest.raises(ProofError, match="needs at least one sibling"):
        Proof.decode((0).to_bytes(2, "big") + bytes(32) + b"\x00\x01" + bytes(64))
    one = (1).to_bytes(2, "big") + (1 << 255).to_bytes(32, "big") + V1 + b"\x00"
    with pytest.raises(ProofError, match="must be opened"):
        Proof.decode(one + b"\x00")
    with pytest.raises(ProofError, match="opening tag is 3"):
        Proof.decode(one + b"\x03" + bytes(64))
    with pytest.raises(ProofError, match="two EMPTY halves"):
        Proof.decode(one + b"\x02" + bytes(64))
    with pytest.raises(ProofError, match="cut short"):
        Proof.decode(one + b"\x02" + bytes(63))
    assert Proof.decode(one + b"\x02" + V2 + EMPTY).opening == BranchOpening(V2, EMPTY)
    with pytest.raises(ProofError, match="must be bytes"):
        Proof.decode("00")  # type: ignore[arg-type]
