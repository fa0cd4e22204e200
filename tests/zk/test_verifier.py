"""The Groth16 verifier contract and the prover (rollbook.zk.keys; #8).

``Groth16Verifier.vy`` is deployed with the ``key_auth`` circuit's verifying key; a
proof from the prover verifies on it, and every way a proof can be wrong reverts with
its reason: a tampered proof, a proof of another statement, a public input not below
the field's order, a wrong length, and too little gas (a verifier that returned false
there would let an estimate "succeed" while verifying nothing).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import boa
import pytest

from rollbook.crypto import babyjub as bj
from rollbook.crypto.poseidon import poseidon
from rollbook.zk import keys as zk
from tests.l1.conftest import load
from tests.zk.helpers import key_auth_inputs

SEED = bytes([7]) * 32
R = zk.R


@cache
def statement(message: int) -> tuple[dict[str, int], int]:
    key = bj.public_key(SEED)
    signature = bj.sign(SEED, message)
    inputs = key_auth_inputs(key, message, signature)
    return inputs, poseidon([key.x, key.y, message])


@cache
def proven(message: int) -> tuple[bytes, int]:
    inputs, public = statement(message)
    return zk.prove(zk.circuit_keys("key_auth"), inputs, public), public


@pytest.fixture
def verifier() -> Any:
    return load("Groth16Verifier", *zk.circuit_keys("key_auth").verifier_args())


def test_a_proof_verifies_off_chain_and_on_l1(verifier: Any) -> None:
    proof, public = proven(1)
    assert zk.verify(zk.circuit_keys("key_auth"), proof, public)
    verifier.verify(proof, public)
    gas = verifier._computation.get_gas_used()
    assert 150_000 < gas < 250_000, gas  # the pairing alone is 181,000


def test_a_false_statement_cannot_be_proven() -> None:
    inputs, public = statement(2)
    with pytest.raises(zk.Unprovable, match="do not satisfy"):
        zk.prove(
            zk.circuit_keys("key_auth"),
            dict(inputs, m=3),
            poseidon([inputs["ax"], inputs["ay"], 3]),
        )
    with pytest.raises(zk.Unprovable):
        zk.prove(zk.circuit_keys("key_auth"), inputs, public + 1)


@pytest.mark.parametrize("word", range(8))
def test_a_tampered_proof_reverts(verifier: Any, word: int) -> None:
    proof, public = proven(1)
    tampered = bytearray(proof)
    tampered[32 * word + 31] ^= 1
    with boa.reverts():
        verifier.verify(bytes(tampered), public)
    assert not zk.verify(zk.circuit_keys("key_auth"), bytes(tampered), public)


def test_a_proof_of_another_statement_reverts(verifier: Any) -> None:
    proof, _ = proven(1)
    _, other = proven(4)
    with boa.reverts("Groth16Verifier: the proof does not verify"):
        verifier.verify(proof, other)


def test_the_public_input_must_be_reduced(verifier: Any) -> None:
    proof, public = proven(1)
    with boa.reverts("Groth16Verifier: the public input is not below the field's order"):
        verifier.verify(proof, public + R)


def test_malformed_proofs_revert_with_their_reason(verifier: Any) -> None:
    proof, public = proven(1)
    with boa.reverts("Groth16Verifier: a proof is 256 bytes"):
        verifier.verify(proof[:-1], public)
    q = 21888242871839275222246405745257275088696311157297823662689037894645226208583
    wide = (int.from_bytes(proof[:32], "big") + q).to_bytes(32, "big") + proof[32:]
    with boa.reverts("Groth16Verifier: a proof coordinate is not below the base field's order"):
        verifier.verify(wide, public)


def test_too_little_gas_reverts_and_never_returns(verifier: Any) -> None:
    proof, public = proven(1)
    verifier.verify(proof, public)
    needed = verifier._computation.get_gas_used()
    # short of the pairing's gas, or of what is left after the precompile call (which
    # a verifier returning false would survive): both revert
    for gas in (60_000, needed - 5_000, needed - 100):
        with boa.reverts():
            verifier.verify(proof, public, gas=gas)
    verifier.verify(proof, public, gas=needed + 30_000)


def test_the_key_maps_infinity_and_refuses_projective_points() -> None:
    vk = json.loads(zk.circuit_keys("key_auth").verifying.to_json())
    args = zk.verifier_args(vk)
    assert args[4] == [int(vk["IC"][0][0]), int(vk["IC"][0][1])]
    at_infinity = dict(vk, IC=[["0", "1", "0"], vk["IC"][1]])
    assert zk.verifier_args(at_infinity)[4] == [0, 0]
    projective = dict(vk, IC=[[vk["IC"][0][0], vk["IC"][0][1], "2"], vk["IC"][1]])
    with pytest.raises(ValueError, match="not affine"):
        zk.verifier_args(projective)
