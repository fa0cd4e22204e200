"""Shared pieces of the ZK tests."""

from __future__ import annotations

from rollbook.crypto import babyjub as bj


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
