"""A ZK batch's one public input, the same on L1, in Python and in the circuit (#8).

``claim = sha256(old_root ‖ new_root ‖ sha256(data)) mod r``: the state roots before
and after the batch (Poseidon roots, field elements, 32 bytes big-endian) and the hash
of the batch's public data (docs/design/zk.md: SHA-256, a precompile on L1 and ~30k
constraints per 64 bytes in the circuit). One public input keeps the verifier's gas
at its minimum (one scalar multiplication); the reduction mod r is the circuit's own
arithmetic (the hash's bits summed in the field), so nothing is truncated by hand.
``zkclaim.vy`` computes the same on L1; ``circuits/claim.circom`` in the circuit.
"""

from __future__ import annotations

import hashlib

from rollbook.zk.keys import R


def data_hash(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def claim(old_root: int, new_root: int, data_digest: bytes) -> int:
    """The public input of a batch from ``old_root`` to ``new_root`` over data whose
    SHA-256 is ``data_digest``."""
    for root in (old_root, new_root):
        if not 0 <= root < R:
            raise ValueError("a state root is a field element")
    if len(data_digest) != 32:
        raise ValueError("a data hash is 32 bytes")
    body = old_root.to_bytes(32, "big") + new_root.to_bytes(32, "big") + data_digest
    return int.from_bytes(hashlib.sha256(body).digest(), "big") % R
