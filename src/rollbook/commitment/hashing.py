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

Speed: the tree's batch update hashes thousands of nodes per block, and a Python call
per hash costs about 15% of the hash itself. So it does not call ``leaf`` and ``node``
but a hashlib-style constructor, :func:`tagged_digest` of the hasher:
``new(LEAF_PREFIX + path + value_hash).digest()`` is the leaf hash and
``new(NODE_PREFIX + left + right).digest()`` the node hash. For :data:`KECCAK` that
constructor is ``sha3.keccak_256`` itself (those tagged inputs are exactly what Keccak
hashes); any other hasher is wrapped, and its ``leaf`` and ``node`` still decide.
"""

from __future__ import annotations

from collections.abc import Callable
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
        digest: bytes = sha3.keccak_256(LEAF_PREFIX + path + value_hash).digest()
        return digest

    def node(self, left: bytes, right: bytes) -> bytes:
        """Return ``keccak256(0x01 || left || right)``.

        Parameters:
            left: the 32-byte hash of the left half (bit 0), :data:`EMPTY` if empty.
            right: the 32-byte hash of the right half (bit 1), :data:`EMPTY` if empty.

        Returns:
            The 32-byte node hash.
        """
        digest: bytes = sha3.keccak_256(NODE_PREFIX + left + right).digest()
        return digest


KECCAK: Final = KeccakHasher()
"""The protocol's hasher; the default of every function in this package."""


class Digest(Protocol):
    """What a hashlib-style constructor returns: something with ``digest()``."""

    def digest(self) -> bytes:
        """Return the 32-byte hash."""
        ...


class _TaggedDigest:
    """One hash of a generic :class:`Hasher`, given the tagged input (see :func:`tagged_digest`)."""

    __slots__ = ("_digest",)

    def __init__(self, hasher: Hasher, data: bytes) -> None:
        if data[:1] == LEAF_PREFIX:
            self._digest = hasher.leaf(data[1:33], data[33:])
        else:
            self._digest = hasher.node(data[1:33], data[33:])

    def digest(self) -> bytes:
        return self._digest


def tagged_digest(hasher: Hasher) -> Callable[[bytes], Digest]:
    """Return ``new``, a hashlib-style constructor for ``hasher``'s two functions.

    ``new(LEAF_PREFIX + path + value_hash).digest() == hasher.leaf(path, value_hash)``
    and ``new(NODE_PREFIX + left + right).digest() == hasher.node(left, right)``, for
    32-byte arguments. For :data:`KECCAK` this is ``sha3.keccak_256`` (a C function: no
    Python frame per hash); another hasher is wrapped.

    Parameters:
        hasher: the tree's hash functions.

    Returns:
        The constructor.
    """
    if type(hasher) is KeccakHasher:
        keccak: Callable[[bytes], Digest] = sha3.keccak_256
        return keccak
    return lambda data: _TaggedDigest(hasher, data)
