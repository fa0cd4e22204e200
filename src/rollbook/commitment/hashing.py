"""The two hash functions of the sparse Merkle tree, behind a small protocol.

The tree (:mod:`rollbook.commitment.smt`) and its proofs
(:mod:`rollbook.commitment.proofs`) never hash bytes themselves: they ask a
:class:`Hasher` for

- ``leaf(path, value_hash)``: the hash of a subtree that holds exactly one leaf, and
- ``node(left, right)``: the hash of a subtree that holds two or more leaves, from the
  hashes of its two halves.

An empty subtree is not hashed at all: it is the constant :data:`EMPTY` (32 zero
bytes) whatever the hasher. That keeps ``EMPTY`` recognisable in proofs (their
encoding leaves empty siblings out) and costs nothing to compute.

:data:`KECCAK` is the hasher of the current protocol:

- ``leaf(path, value_hash) = keccak256(0x00 || path || value_hash)``
- ``node(left, right)      = keccak256(0x01 || left || right)``

The one-byte prefixes separate the two domains, so a leaf can never be passed off as
a node (or the reverse) in a proof. A circuit-friendly hasher (Poseidon) will be a
second implementation of the same protocol; nothing else changes.
"""

from __future__ import annotations

from typing import Final, Protocol

import sha3

EMPTY: Final = bytes(32)
"""The hash of an empty subtree, at every depth and for every hasher."""

LEAF_PREFIX: Final = b"\x00"
NODE_PREFIX: Final = b"\x01"


class Hasher(Protocol):
    """The hash functions a sparse Merkle tree is built with.

    Both functions take and return 32-byte strings. They must be deterministic and
    collision resistant, and a leaf hash must never equal a node hash nor
    :data:`EMPTY` (in practice: domain separation and a real hash).
    """

    def leaf(self, path: bytes, value_hash: bytes) -> bytes:
        """Return the hash of a subtree whose only leaf is ``(path, value_hash)``."""
        ...

    def node(self, left: bytes, right: bytes) -> bytes:
        """Return the hash of a subtree with two or more leaves, from its two halves."""
        ...


class KeccakHasher:
    """The Keccak-256 hasher (Ethereum's Keccak, not NIST SHA3-256).

    It calls ``sha3.keccak_256`` directly rather than going through
    :func:`rollbook.crypto.keccak.keccak256`: the tree hashes hundreds of thousands of
    nodes and the extra call is measurable. The result is identical.
    """

    __slots__ = ()

    def leaf(self, path: bytes, value_hash: bytes) -> bytes:
        """Return ``keccak256(0x00 || path || value_hash)``.

        Parameters:
            path: the leaf's 32-byte path.
            value_hash: the leaf's 32-byte value hash.

        Returns:
            The 32-byte leaf hash.
        """
        return bytes(sha3.keccak_256(LEAF_PREFIX + path + value_hash).digest())

    def node(self, left: bytes, right: bytes) -> bytes:
        """Return ``keccak256(0x01 || left || right)``.

        Parameters:
            left: the 32-byte hash of the left half (bit 0), :data:`EMPTY` if empty.
            right: the 32-byte hash of the right half (bit 1), :data:`EMPTY` if empty.

        Returns:
            The 32-byte node hash.
        """
        return bytes(sha3.keccak_256(NODE_PREFIX + left + right).digest())


KECCAK: Final = KeccakHasher()
"""The protocol's hasher; the default of every function in this package."""
