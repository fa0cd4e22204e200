"""Proofs for the sparse Merkle tree: verification, one-leaf updates, byte encoding.

The tree is defined in :mod:`rollbook.commitment.smt`. A proof for a path records the
walk from the root along the path's bits down to the first subtree that is empty or
holds a single leaf (the shallowest point where a leaf can sit):

- ``siblings``: at each step of the walk, the hash of the half *not* taken, top-down
  (``siblings[0]`` is a child of the root). ``len(siblings)`` is the depth ``d``
  where the walk stopped, at most 256.
- ``terminal``: the ``(path, value_hash)`` of the single leaf found at depth ``d``,
  or ``None`` if the subtree there is empty. Its path shares the first ``d`` bits of
  the walked path (that is where the tree keeps it).
- ``opening``: what the deepest sibling ``siblings[d - 1]`` is, present exactly when
  ``d >= 1``. A sibling hash alone does not say whether that subtree is one leaf or
  more, and deleting the proven leaf depends on it: a lone leaf left in the parent
  must collapse into the parent (and further up while the other halves are
  ``EMPTY``), two or more leaves must not. So the proof opens it:

  - :class:`LeafOpening` ``(path, value_hash)``: the sibling is that single leaf. Its
    leaf hash equals the sibling hash, and its path lies under the sibling (it shares
    the walk's first ``d - 1`` bits and differs at bit ``d - 1``).
  - :class:`BranchOpening` ``(left, right)``: the sibling holds two or more leaves.
    ``H_node(left, right)`` equals the sibling hash; ``left`` and ``right`` are the
    hashes of its halves (one may be ``EMPTY``, not both).

  The hasher separates the leaf and node domains, so no hash is both a leaf hash and
  a node hash: a prover cannot present a leaf as a branch or a branch as a leaf, nor
  leave the question open. In a canonical tree the deepest sibling is never
  ``EMPTY`` (its parent holds two or more leaves, and the walk stopped on the other
  side at a subtree with at most one), so it always has an opening.

Checking a proof against a root means: the terminal's path shares the first ``d``
bits of the walked path; the opening (if ``d >= 1``) hashes to the deepest sibling,
and a leaf opening lies under it; and folding the terminal hash (``EMPTY`` or its leaf
hash) up through the siblings, left or right by the path's bits, gives the root. Then:

- inclusion of ``(path, value_hash)``: the terminal is exactly that leaf;
- exclusion of ``path``: the terminal is ``None`` or a leaf with another path. In a
  canonical tree that subtree would hold ``path`` if the tree had it.

Every hash the fold meets is then the hash of the real subtree at that place (any
other preimage would be a hash collision), so a proof that checks out describes the
tree as it is, its deepest sibling included, and :func:`root_after_update` computes
the canonical root after one write from it alone (what the L1 one-step executor
does). It is a single loop per case, kept straight so the on-chain version can mirror
it line by line.

Encoding (:meth:`Proof.encode`), big-endian, one canonical form per proof::

    depth            u16        number of siblings, 0..256
    bitmap           32 bytes   bit i (MSB-first, as in paths) set iff siblings[i] != EMPTY
    siblings         32 bytes each, the non-EMPTY ones only, top-down
    terminal flag    1 byte     0: None; 1: followed by path (32) and value_hash (32)
    opening tag      1 byte     0: None (exactly when depth is 0);
                                1: leaf, followed by path (32) and value_hash (32);
                                2: branch, followed by left (32) and right (32)

Bitmap bits at or beyond ``depth`` are zero, an encoded sibling is never ``EMPTY``, the
opening tag is 0 exactly when ``depth`` is 0, a branch opening has a non-``EMPTY``
half, and nothing follows the last field; :meth:`Proof.decode` rejects anything else
with :class:`~rollbook.commitment.errors.ProofError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .errors import InvalidLengthError, ProofError
from .hashing import EMPTY, KECCAK, Hasher

MAX_DEPTH: Final = 256
BITMAP_BYTES: Final = 32

PathValue = tuple[bytes, bytes]
"""A leaf as ``(path, value_hash)``."""

LEAF_TAG: Final = 1
"""Opening tag of a :class:`LeafOpening` in the encoding."""

BRANCH_TAG: Final = 2
"""Opening tag of a :class:`BranchOpening` in the encoding."""


def _is32(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == 32


def _is_leaf(value: object) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and _is32(value[0]) and _is32(value[1])


@dataclass(frozen=True, slots=True)
class LeafOpening:
    """The deepest sibling is a single leaf: this one.

    Attributes:
        path: the leaf's path.
        value_hash: the leaf's value hash.

    Raises:
        ProofError: on construction, if a field is not a 32-byte ``bytes``.
    """

    path: bytes
    value_hash: bytes

    def __post_init__(self) -> None:
        if not (_is32(self.path) and _is32(self.value_hash)):
            raise ProofError("a leaf opening is a path and a value hash of 32 bytes each")


@dataclass(frozen=True, slots=True)
class BranchOpening:
    """The deepest sibling holds two or more leaves: these are its halves' hashes.

    Attributes:
        left: the hash of its left half (bit 0), ``EMPTY`` if empty.
        right: the hash of its right half (bit 1), ``EMPTY`` if empty.

    Raises:
        ProofError: on construction, if a field is not a 32-byte ``bytes``, or both
            are ``EMPTY`` (a subtree with no leaf is not a branch).
    """

    left: bytes
    right: bytes

    def __post_init__(self) -> None:
        if not (_is32(self.left) and _is32(self.right)):
            raise ProofError("a branch opening is two hashes of 32 bytes each")
        if self.left == EMPTY and self.right == EMPTY:
            raise ProofError("a branch opening with two EMPTY halves holds no leaf")


Opening = LeafOpening | BranchOpening
"""What the deepest sibling of a proof is."""


@dataclass(frozen=True, slots=True)
class Proof:
    """The walk of one path through the tree (see the module docstring).

    Attributes:
        siblings: the hashes of the halves not taken, top-down; at most 256.
        terminal: the leaf where the walk stopped, or ``None`` for an empty subtree.
        opening: what the deepest sibling is; ``None`` exactly when there are no
            siblings.

    Raises:
        ProofError: on construction, if a field has the wrong shape (not a tuple,
            not 32-byte strings, more than 256 siblings, an opening missing although
            there are siblings, or present although there are none).
    """

    siblings: tuple[bytes, ...]
    terminal: PathValue | None = None
    opening: Opening | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.siblings, tuple):
            raise ProofError("siblings must be a tuple")
        if len(self.siblings) > MAX_DEPTH:
            raise ProofError(f"{len(self.siblings)} siblings, more than the depth {MAX_DEPTH}")
        for i, sibling in enumerate(self.siblings):
            if not _is32(sibling):
                raise ProofError(f"sibling {i} is not 32 bytes")
        if self.terminal is not None and not _is_leaf(self.terminal):
            raise ProofError("terminal must be None or a (path, value_hash) of 32-byte strings")
        if self.opening is None:
            if self.siblings:
                raise ProofError("the deepest sibling must be opened (as a leaf or a branch)")
        elif not isinstance(self.opening, LeafOpening | BranchOpening):
            raise ProofError("opening must be a LeafOpening, a BranchOpening or None")
        elif not self.siblings:
            raise ProofError("an opening needs at least one sibling")

    @property
    def depth(self) -> int:
        """The depth where the walk stopped: the number of siblings."""
        return len(self.siblings)

    def encode(self) -> bytes:
        """Return the canonical byte encoding (layout in the module docstring)."""
        bitmap = 0
        present: list[bytes] = []
        for i, sibling in enumerate(self.siblings):
            if sibling != EMPTY:
                bitmap |= 1 << (MAX_DEPTH - 1 - i)
                present.append(sibling)
        parts = [len(self.siblings).to_bytes(2, "big"), bitmap.to_bytes(BITMAP_BYTES, "big")]
        parts.extend(present)
        terminal = self.terminal
        parts.append(b"\x00" if terminal is None else b"\x01" + terminal[0] + terminal[1])
        opening = self.opening
        if opening is None:
            parts.append(b"\x00")
        elif isinstance(opening, LeafOpening):
            parts.append(bytes([LEAF_TAG]) + opening.path + opening.value_hash)
        else:
            parts.append(bytes([BRANCH_TAG]) + opening.left + opening.right)
        return b"".join(parts)

    @classmethod
    def decode(cls, data: bytes) -> Proof:
        """Parse the canonical byte encoding produced by :meth:`encode`.

        Parameters:
            data: the encoded proof.

        Returns:
            The proof; ``decode(p.encode()) == p`` and ``decode(b).encode() == b``.

        Raises:
            ProofError: ``data`` is not bytes, is truncated, has trailing bytes, a
                depth above 256, bitmap bits beyond the depth, an encoded ``EMPTY``
                sibling, a terminal flag other than 0 or 1, an opening tag other than
                0, 1 or 2, an opening tag of 0 with siblings or not 0 without, or a
                branch opening with two ``EMPTY`` halves.
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ProofError(f"a proof encoding must be bytes, not {type(data).__name__}")
        data = bytes(data)
        header = 2 + BITMAP_BYTES
        if len(data) < header:
            raise ProofError(f"truncated proof: {len(data)} bytes, the header alone is {header}")
        depth = int.from_bytes(data[0:2], "big")
        if depth > MAX_DEPTH:
            raise ProofError(f"proof depth {depth} exceeds {MAX_DEPTH}")
        bitmap = int.from_bytes(data[2:header], "big")
        if bitmap & ((1 << (MAX_DEPTH - depth)) - 1):
            raise ProofError(f"bitmap marks siblings beyond the depth {depth}")
        offset = header
        siblings: list[bytes] = []
        for i in range(depth):
            if (bitmap >> (MAX_DEPTH - 1 - i)) & 1:
                sibling = data[offset : offset + 32]
                if len(sibling) != 32:
                    raise ProofError(f"truncated proof: sibling {i} is cut short")
                if sibling == EMPTY:
                    raise ProofError(f"sibling {i} is encoded but EMPTY (not canonical)")
                siblings.append(sibling)
                offset += 32
            else:
                siblings.append(EMPTY)
        tags: list[int] = []
        bodies: list[tuple[bytes, bytes]] = []
        for name, most in (("terminal flag", 1), ("opening tag", BRANCH_TAG)):
            tag = data[offset : offset + 1]
            if not tag:
                raise ProofError(f"truncated proof: the {name} is missing")
            if tag[0] > most:
                raise ProofError(f"{name} is {tag[0]}, not 0..{most}")
            offset += 1
            body = b""
            if tag[0]:
                body = data[offset : offset + 64]
                if len(body) != 64:
                    raise ProofError(f"truncated proof: what follows the {name} is cut short")
                offset += 64
            tags.append(tag[0])
            bodies.append((body[:32], body[32:]))
        if offset != len(data):
            raise ProofError(f"{len(data) - offset} trailing bytes after the proof")
        terminal = bodies[0] if tags[0] else None
        opening: Opening | None = None
        if tags[1] == LEAF_TAG:
            opening = LeafOpening(*bodies[1])
        elif tags[1] == BRANCH_TAG:
            opening = BranchOpening(*bodies[1])
        return cls(tuple(siblings), terminal, opening)


# -- checking a proof -------------------------------------------------------------------


def _bit(path: int, depth: int) -> int:
    return (path >> (MAX_DEPTH - 1 - depth)) & 1


def _shares_prefix(a: int, b: int, bits: int) -> bool:
    """Whether paths ``a`` and ``b`` (as integers) agree on their first ``bits`` bits."""
    return (a ^ b) >> (MAX_DEPTH - bits) == 0


def _fold(node: bytes, path: int, siblings: tuple[bytes, ...], depth: int, hasher: Hasher) -> bytes:
    """Hash ``node``, the subtree at ``depth`` along ``path``, up to the root."""
    for level in range(depth - 1, -1, -1):
        if _bit(path, level):
            node = hasher.node(siblings[level], node)
        else:
            node = hasher.node(node, siblings[level])
    return node


def _problem(root: bytes, path: bytes, proof: Proof, hasher: Hasher) -> str | None:
    """Why ``proof`` is not a valid walk of ``path`` in the tree ``root``, or ``None``."""
    _check32("root", root)
    _check32("path", path)
    if not isinstance(proof, Proof):
        return f"expected a Proof, got {type(proof).__name__}"
    key = int.from_bytes(path, "big")
    depth = len(proof.siblings)
    terminal = proof.terminal
    if terminal is not None and not _shares_prefix(int.from_bytes(terminal[0], "big"), key, depth):
        return f"the terminal leaf is not under the path's first {depth} bits"
    opening = proof.opening
    if depth and opening is None:  # Proof refuses this; an executor without it must too
        return "the deepest sibling is not opened"
    if isinstance(opening, LeafOpening):
        okey = int.from_bytes(opening.path, "big")
        sibling_side = 1 - _bit(key, depth - 1)
        if not _shares_prefix(okey, key, depth - 1) or _bit(okey, depth - 1) != sibling_side:
            return "the leaf opening is not under the deepest sibling"
        if hasher.leaf(opening.path, opening.value_hash) != proof.siblings[-1]:
            return "the leaf opening does not hash to the deepest sibling"
    elif isinstance(opening, BranchOpening):
        if hasher.node(opening.left, opening.right) != proof.siblings[-1]:
            return "the branch opening does not hash to the deepest sibling"
    start = EMPTY if terminal is None else hasher.leaf(terminal[0], terminal[1])
    if _fold(start, key, proof.siblings, depth, hasher) != root:
        return "the proof does not hash to the root"
    return None


def _check32(what: str, value: object) -> None:
    if not _is32(value):
        raise InvalidLengthError(what, value)


def verify_inclusion(
    root: bytes, path: bytes, value_hash: bytes, proof: Proof, hasher: Hasher = KECCAK
) -> bool:
    """Whether ``proof`` shows that the tree ``root`` holds the leaf ``(path, value_hash)``.

    Parameters:
        root: the tree's root.
        path: the leaf's path.
        value_hash: the leaf's value hash.
        proof: a proof for ``path``.
        hasher: the tree's hash functions.

    Returns:
        ``True`` if the proof is valid and its terminal is exactly that leaf.

    Raises:
        InvalidLengthError: ``root``, ``path`` or ``value_hash`` is not 32 bytes.
    """
    _check32("value_hash", value_hash)
    if _problem(root, path, proof, hasher) is not None:
        return False
    return proof.terminal == (path, value_hash)


def verify_exclusion(root: bytes, path: bytes, proof: Proof, hasher: Hasher = KECCAK) -> bool:
    """Whether ``proof`` shows that the tree ``root`` has no leaf at ``path``.

    Parameters:
        root: the tree's root.
        path: the path shown absent.
        proof: a proof for ``path``.
        hasher: the tree's hash functions.

    Returns:
        ``True`` if the proof is valid and the walk ends at an empty subtree or at a
        leaf with a different path (which shares the walk's ``len(siblings)`` bits).

    Raises:
        InvalidLengthError: ``root`` or ``path`` is not 32 bytes.
    """
    if _problem(root, path, proof, hasher) is not None:
        return False
    return proof.terminal is None or proof.terminal[0] != path


# -- updating one leaf from a proof -----------------------------------------------------


def root_after_update(
    root: bytes,
    path: bytes,
    old_value_hash: bytes | None,
    new_value_hash: bytes | None,
    proof: Proof,
    hasher: Hasher = KECCAK,
) -> bytes:
    """Compute the root after writing one leaf, from the old root and a proof alone.

    The proof is first checked against ``root`` and ``old_value_hash`` (inclusion of
    ``(path, old_value_hash)``, or exclusion of ``path`` when it is ``None``). Then,
    with ``d = len(proof.siblings)``:

    - no-op (``old == new``): the root is unchanged;
    - insert or modify where the walk ended at an empty subtree or at ``path``'s own
      leaf: the new leaf hash replaces the terminal at depth ``d``;
    - insert where the walk ended at another leaf ``Q``: both leaves move down to
      depth ``c``, the length of the prefix they share, where they become the two
      halves of a node; between ``d`` and ``c`` each node has one empty half;
    - delete: depth ``d`` becomes empty. If the deepest sibling is a single leaf
      (a :class:`LeafOpening`), that leaf is now alone in its parent: the parent
      becomes its leaf hash, and so does each ancestor whose other half is
      ``EMPTY``. If it is a branch (a :class:`BranchOpening`), the parent keeps two
      or more leaves and nothing collapses. With no sibling at all (``d = 0``, the
      leaf was the whole tree) the tree becomes empty;

    and the result is hashed up through the remaining siblings.

    Parameters:
        root: the root before the write.
        path: the path written.
        old_value_hash: the value hash at ``path`` before, ``None`` if absent.
        new_value_hash: the value hash after, ``None`` to delete.
        proof: a proof for ``path`` in the tree ``root``.
        hasher: the tree's hash functions.

    Returns:
        The root after the write.

    Raises:
        ProofError: the proof is not a valid walk of ``path`` in ``root`` (including
            an opening that does not open the deepest sibling), or does not show
            ``old_value_hash`` at ``path`` (present when ``None`` was claimed, absent
            or another value otherwise).
        InvalidLengthError: ``root``, ``path`` or a value hash is not 32 bytes.
    """
    if old_value_hash is not None:
        _check32("old_value_hash", old_value_hash)
    if new_value_hash is not None:
        _check32("new_value_hash", new_value_hash)
    problem = _problem(root, path, proof, hasher)
    if problem is not None:
        raise ProofError(problem)
    terminal = proof.terminal
    if old_value_hash is None:
        if terminal is not None and terminal[0] == path:
            raise ProofError("the proof shows a leaf at the path, but the old value is None")
    elif terminal is None or terminal[0] != path:
        raise ProofError("the proof shows no leaf at the path, but an old value is given")
    elif terminal[1] != old_value_hash:
        raise ProofError("the proof shows another value at the path than the old value")

    if old_value_hash == new_value_hash:
        return root

    key = int.from_bytes(path, "big")
    siblings = proof.siblings
    depth = len(siblings)

    if new_value_hash is not None:
        node = hasher.leaf(path, new_value_hash)
        if terminal is not None and terminal[0] != path:
            # Split: the two leaves part at bit ``common``; a node joins them there
            # and each level from ``common - 1`` up to ``depth`` has an empty half.
            other = hasher.leaf(terminal[0], terminal[1])
            common = MAX_DEPTH - (key ^ int.from_bytes(terminal[0], "big")).bit_length()
            if _bit(key, common):
                node = hasher.node(other, node)
            else:
                node = hasher.node(node, other)
            for level in range(common - 1, depth - 1, -1):
                if _bit(key, level):
                    node = hasher.node(EMPTY, node)
                else:
                    node = hasher.node(node, EMPTY)
        return _fold(node, key, siblings, depth, hasher)

    # Delete. The opening was checked against the deepest sibling by _problem.
    if not isinstance(proof.opening, LeafOpening):
        # No sibling (the tree was this one leaf), or a branch sibling: nothing collapses.
        return _fold(EMPTY, key, siblings, depth, hasher)
    # The sibling leaf's hash (the deepest sibling) rises while its other half is empty.
    node = siblings[depth - 1]
    level = depth - 1
    while level > 0 and siblings[level - 1] == EMPTY:
        level -= 1
    return _fold(node, key, siblings, level, hasher)
