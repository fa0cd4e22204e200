"""Keccak-256, the hash of Ethereum (not NIST SHA3-256), via safe-pysha3."""

from __future__ import annotations

import sha3


def keccak256(data: bytes) -> bytes:
    """Return the 32-byte Keccak-256 digest of ``data``."""
    return bytes(sha3.keccak_256(data).digest())
