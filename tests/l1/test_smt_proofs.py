"""The on-chain sparse Merkle proofs (smt.vy, through StateProofs.vy) against the
Python ones (commitment/proofs.py): same roots after every kind of write, same
verdicts on inclusion and exclusion, and a revert wherever Python raises."""

from __future__ import annotations

import random
from collections.abc import Iterator

import boa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollbook.commitment.proofs import (
    BranchOpening,
    LeafOpening,
    Proof,
    ProofError,
    root_after_update,
    verify_exclusion,
    verify_inclusion,
)
from rollbook.commitment.smt import SparseMerkleTree
from rollbook.crypto.keccak import keccak256
from rollbook.l1.onestep import proof_struct
from tests.l1.conftest import load

ZERO = bytes(32)


@pytest.fixture(autouse=True)
def own_env() -> Iterator[None]:
    with boa.swap_env(boa.Env()):
        yield


def close_paths(rng: random.Random, count: int) -> list[bytes]:
    """Paths that share long prefixes (deep splits and collapses), and some random."""
    base = rng.randbytes(32)
    out = []
    for _ in range(count):
        if rng.random() < 0.5:
            flip = rng.randrange(256)
            value = int.from_bytes(base, "big") ^ (1 << flip) ^ rng.getrandbits(max(0, 255 - flip))
            out.append(value.to_bytes(32, "big"))
        else:
            out.append(rng.randbytes(32))
    return out


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32), size=st.integers(0, 40))
def test_every_write_gives_the_python_root(seed: int, size: int) -> None:
    proofs = load("StateProofs")
    rng = random.Random(seed)
    paths = close_paths(rng, size + 6)
    tree = SparseMerkleTree()
    tree.update((p, keccak256(p)) for p in paths[:size])
    root = tree.root()
    for _ in range(12):
        path = rng.choice(paths)
        old = tree.get(path)
        new = None if rng.random() < 0.3 else rng.choice([keccak256(rng.randbytes(4)), old])
        proof = tree.prove(path)
        expected = root_after_update(root, path, old, new, proof)
        got = proofs.root_after_update(
            root,
            path,
            old is not None,
            old or ZERO,
            new is not None,
            new or ZERO,
            proof_struct(proof),
        )
        assert got == expected
        tree.update([(path, new)])
        root = tree.root()
        assert expected == root
        probe = rng.choice(paths)
        probe_proof = proof_struct(tree.prove(probe))
        value = tree.get(probe)
        assert proofs.excludes(root, probe, probe_proof) == verify_exclusion(
            root, probe, tree.prove(probe)
        )
        if value is not None:
            assert proofs.includes(root, probe, value, probe_proof)
            assert verify_inclusion(root, probe, value, tree.prove(probe))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_tampered_proofs_revert_where_python_refuses(seed: int) -> None:
    proofs = load("StateProofs")
    rng = random.Random(seed)
    paths = close_paths(rng, 12)
    tree = SparseMerkleTree()
    tree.update((p, keccak256(p)) for p in paths[:10])
    root = tree.root()
    path = rng.choice(paths)
    old = tree.get(path)
    proof = proof_struct(tree.prove(path))
    field = rng.randrange(7)
    tampered = list(proof)
    if field == 0 and proof[0]:
        siblings = list(proof[0])
        siblings[rng.randrange(len(siblings))] = rng.randbytes(32)
        tampered[0] = siblings
    elif field == 1:
        tampered[1] = not proof[1]
    elif field in (2, 3, 5, 6):
        tampered[field] = rng.randbytes(32)
    else:
        tampered[4] = (proof[4] % 2) + 1 if proof[4] else 1
    if tampered == list(proof):
        return
    # The Python decides: where it refuses the walk the contract must revert, where it
    # accepts (a field the walk does not use) both give the same root.
    new = keccak256(b"new")
    args = (root, path, old is not None, old or ZERO, True, new, tuple(tampered))
    try:
        py = Proof(
            tuple(tampered[0]),
            (tampered[2], tampered[3]) if tampered[1] else None,
            LeafOpening(tampered[5], tampered[6])
            if tampered[4] == 1
            else BranchOpening(tampered[5], tampered[6])
            if tampered[4] == 2
            else None,
        )
        expected = root_after_update(root, path, old, new, py)
    except ProofError:
        with boa.reverts():
            proofs.root_after_update(*args)
        return
    assert proofs.root_after_update(*args) == expected


def test_a_wrong_old_value_reverts() -> None:
    proofs = load("StateProofs")
    tree = SparseMerkleTree()
    paths = [keccak256(bytes([i])) for i in range(5)]
    tree.update((p, keccak256(p)) for p in paths)
    root = tree.root()
    proof = proof_struct(tree.prove(paths[0]))
    with boa.reverts("smt: the proof shows another value at the path"):
        proofs.root_after_update(root, paths[0], True, keccak256(b"x"), True, ZERO, proof)
    with boa.reverts("smt: the proof shows a leaf at the path, but the old value is none"):
        proofs.root_after_update(root, paths[0], False, ZERO, True, keccak256(b"x"), proof)
