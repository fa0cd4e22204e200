"""Shared pieces of the ZK tests."""

from __future__ import annotations

from collections.abc import Mapping

from rollbook.crypto import babyjub as bj
from rollbook.zk import keys as zk
from rollbook.zk.batchdata import BatchData

HEADER = BatchData(31337, 0, 0, (), 0, ())
"""A fill batch's header in the tests: chain 31337, batch 0, no L1 input, no
withdrawal."""


def key_auth_inputs(key: bj.Point, message: int, signature: bj.Signature) -> dict[str, int]:
    """The ``key_auth`` circuit's inputs for a signature of ``message`` by ``key``."""
    return {
        "ax": key.x,
        "ay": key.y,
        "s": signature.s,
        "r8x": signature.r8.x,
        "r8y": signature.r8.y,
        "m": message,
    }


def provable(circuit: str, inputs: Mapping[str, object], public: int) -> bool:
    """Whether circuit ``circuit`` proves ``inputs`` with public input ``public`` (the
    prover checks its own proof, so a false statement is :class:`Unprovable`)."""
    try:
        zk.prove(zk.circuit_keys(circuit), inputs, public)
    except zk.Unprovable:
        return False
    return True


def proof_of(circuit: str, inputs: Mapping[str, object], public: int) -> bytes:
    """A proof that ``circuit`` holds for ``inputs`` with public input ``public``;
    :class:`Unprovable` if it does not."""
    return zk.prove(zk.circuit_keys(circuit), inputs, public)


def verifies(circuit: str, proof: bytes, public: int) -> bool:
    """Whether ``proof`` holds for ``public``. A circuit's public input is a function
    of its inputs, so the proof of some inputs that holds for one claim and not for
    another shows that those inputs prove that claim and no other, at the cost of a
    check instead of a second proof."""
    return zk.verify(zk.circuit_keys(circuit), proof, public)
