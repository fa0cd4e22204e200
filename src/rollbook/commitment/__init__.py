"""State commitment: a compact sparse Merkle tree over 32-byte paths, with proofs.

The package is pure (integers and bytes, no clock, randomness or I/O) and generic
over bytes: callers hash their keys into paths and their leaves into value hashes.
It does not know about the exchange; the exchange uses it.

- :mod:`rollbook.commitment.hashing`: the :class:`Hasher` protocol, ``EMPTY`` and
  the Keccak hasher :data:`KECCAK`.
- :mod:`rollbook.commitment.smt`: the tree's definition (consensus),
  :class:`SparseMerkleTree` (incremental, buffered, cheap copies) and the reference
  :func:`root_of`.
- :mod:`rollbook.commitment.proofs`: :class:`Proof` (with the opening of its deepest
  sibling, :class:`LeafOpening` or :class:`BranchOpening`), inclusion and exclusion
  checks, :func:`root_after_update` (one write from a proof, as the L1 executor does
  it) and the proof's byte encoding.
- :mod:`rollbook.commitment.errors`: typed errors; untrusted proofs raise only
  :class:`ProofError`.
"""

from .errors import CommitmentError, DuplicatePathError, InvalidLengthError, ProofError
from .hashing import EMPTY, KECCAK, Hasher, KeccakHasher
from .proofs import (
    BranchOpening,
    LeafOpening,
    Proof,
    root_after_update,
    verify_exclusion,
    verify_inclusion,
)
from .smt import SparseMerkleTree, root_of

__all__ = [
    "EMPTY",
    "KECCAK",
    "BranchOpening",
    "CommitmentError",
    "DuplicatePathError",
    "Hasher",
    "InvalidLengthError",
    "KeccakHasher",
    "LeafOpening",
    "Proof",
    "ProofError",
    "SparseMerkleTree",
    "root_after_update",
    "root_of",
    "verify_exclusion",
    "verify_inclusion",
]
