"""Poseidon and EdDSA over Baby Jubjub (rollbook.crypto.poseidon, .babyjub; #8).

Poseidon is pinned to circomlibjs's published outputs; the curve to EIP-2494's
parameters; the signature to its rule, including what it refuses. That the circuit
accepts exactly these signatures is tests/zk/test_signed.py's business.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollbook.crypto import babyjub as bj
from rollbook.crypto.poseidon import P, poseidon

SEED = bytes(range(32))


def test_poseidon_is_circomlibs() -> None:
    # circomlibjs: poseidon([1]), poseidon([1, 2]), poseidon([1, 2, 3, 4])
    assert poseidon([1]) == 0x29176100EAA962BDC1FE6C654D6A3C130E96A4D1168B33848B897DC502820133
    assert poseidon([1, 2]) == 0x115CC0F5E7D690413DF64C6B9662E9CF2A3617F2743245519E19607A4417189A
    assert poseidon([1, 2, 3, 4]) == (
        0x299C867DB6C1FDD79DCEFA40E4510B9837E60EBB1CE0663DBAA525DF65250465
    )
    assert poseidon([P - 1, 0]) != poseidon([0, P - 1])


@pytest.mark.parametrize("inputs", [[], [P], [-1], list(range(13)), [True]])
def test_poseidon_refuses_what_is_no_field_element(inputs: list[int]) -> None:
    with pytest.raises(ValueError):
        poseidon(inputs)


def test_the_curve_and_its_subgroup() -> None:
    assert bj.on_curve(bj.BASE8) and bj.on_curve(bj.IDENTITY)
    assert bj.mul(bj.L, bj.BASE8) == bj.IDENTITY
    assert bj.mul(bj.L + 5, bj.BASE8) == bj.mul(5, bj.BASE8)
    two = bj.add(bj.BASE8, bj.BASE8)
    assert bj.mul(2, bj.BASE8) == two and bj.on_curve(two)
    assert not bj.on_curve(bj.Point(1, 1))


def test_a_signature_verifies_for_its_key_and_message_only() -> None:
    key = bj.public_key(SEED)
    signature = bj.sign(SEED, 42)
    assert bj.sign(SEED, 42) == signature  # deterministic nonce
    assert bj.verify(key, 42, signature)
    assert not bj.verify(key, 43, signature)
    assert not bj.verify(bj.public_key(bytes(32)), 42, signature)
    assert not bj.verify(key, 42, signature._replace(s=(signature.s + 1) % bj.L))
    assert not bj.verify(key, 42, signature._replace(s=signature.s + bj.L))  # S < L


def test_off_curve_points_and_small_keys_are_refused() -> None:
    key = bj.public_key(SEED)
    signature = bj.sign(SEED, 7)
    r8 = signature.r8
    assert not bj.verify(key, 7, signature._replace(r8=bj.Point(r8.x, (r8.y + 1) % P)))
    assert not bj.verify(bj.Point(key.x, (key.y + 1) % P), 7, signature)
    # a key of small order: (0, -1) has order 2, so 8 * key is the identity
    small = bj.Point(0, P - 1)
    assert bj.on_curve(small)
    assert not bj.verify(small, 7, bj.Signature(bj.IDENTITY, 0))


@settings(max_examples=20, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.integers(0, P - 1))
def test_every_key_signs_every_message(seed: bytes, message: int) -> None:
    assert bj.verify(bj.public_key(seed), message, bj.sign(seed, message))
