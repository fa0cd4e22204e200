"""Poseidon over BN254's scalar field, the circuits' hash (ZK mode, issue #8).

The parameters are circomlib's (``poseidon.circom``; x^5 S-box, 8 full rounds, the
partial rounds and constants of the Poseidon paper's reference script for t = 2..13),
so a hash computed here equals the one a circuit computes with circomlib's
``Poseidon(n)``. The permutation runs in ``light-poseidon`` (Rust, Apache-2.0, the
``rollbook[zk]`` extra), which matched circomlibjs on every vector we tried
(``tests/crypto/test_babyjub.py`` pins a few).

Inputs are field elements: integers in ``[0, P)``; 1..12 of them per call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

P = 21888242871839275222246405745257275088548364400416034343698204186575808495617
"""The order of BN254's scalar field: the circuits' field."""
MAX_INPUTS = 12


class PoseidonUnavailable(ImportError):
    """The ``rollbook[zk]`` extra (light-poseidon) is not installed."""


def _backend() -> Any:
    try:
        import light_poseidon_python
    except ImportError as exc:  # pragma: no cover - make installs the extra
        raise PoseidonUnavailable(
            "Poseidon needs the zk extra: pip install 'rollbook[zk]' (make does this)"
        ) from exc
    return light_poseidon_python


def poseidon(inputs: Sequence[int]) -> int:
    """circomlib's ``Poseidon(len(inputs))`` of field elements."""
    if not 0 < len(inputs) <= MAX_INPUTS:
        raise ValueError(f"Poseidon takes 1..{MAX_INPUTS} inputs, got {len(inputs)}")
    for value in inputs:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < P:
            raise ValueError(f"a Poseidon input is a field element below P, got {value!r}")
    words = [value.to_bytes(32, "big") for value in inputs]
    return int(_backend().poseidon_hash_bytes(words), 16)
