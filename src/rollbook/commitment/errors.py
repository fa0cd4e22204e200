"""Errors raised by :mod:`rollbook.commitment`.

All of them derive from :class:`CommitmentError`, and all of them reject *input*:

- :class:`InvalidLengthError`: a path, value hash or root handed to the tree or to a
  proof function is not a 32-byte ``bytes``. This is a bug in the caller (paths and
  value hashes are digests), reported loudly rather than hashed silently.
- :class:`DuplicatePathError`: :func:`~rollbook.commitment.smt.root_of` was given the
  same path twice, so the leaf set it should commit to is ambiguous.
- :class:`ProofError`: a proof is malformed (bad shape, bad encoding) or does not
  verify against the root it is used with. Untrusted proofs (calldata, vectors, a
  prover's witness) can only ever raise this one: a decoder or an executor that
  catches :class:`ProofError` has handled every way the bytes can be wrong.

The tree has no invariant error of its own: its nodes are immutable and built in one
place, and the differential tests check them against the reference definition.
"""

from __future__ import annotations


class CommitmentError(Exception):
    """Base of all errors raised by :mod:`rollbook.commitment`."""


class InvalidLengthError(CommitmentError):
    """A path, value hash or root is not a ``bytes`` of exactly 32 bytes.

    Attributes:
        what: which argument (``"path"``, ``"value_hash"``, ``"root"``).
        length: its length, or ``-1`` when it is not ``bytes`` at all.
    """

    def __init__(self, what: str, value: object) -> None:
        length = len(value) if isinstance(value, bytes) else -1
        kind = f"{length} bytes" if length >= 0 else f"a {type(value).__name__}"
        super().__init__(f"{what} must be 32 bytes, got {kind}")
        self.what = what
        self.length = length


class DuplicatePathError(CommitmentError):
    """The same path appears twice in the pairs given to ``root_of``."""

    def __init__(self, path: bytes) -> None:
        super().__init__(f"path 0x{path.hex()} appears more than once")
        self.path = path


class ProofError(CommitmentError):
    """A proof is malformed or does not verify; the message says which check failed."""
