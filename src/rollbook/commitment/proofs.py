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
- ``neighbour``: the ``(path, value_hash)`` of the leaf that is the deepest sibling,
  when that sibling is a single leaf, else ``None``. Deleting the proven leaf leaves
  that neighbour alone in its parent, which must then collapse into the neighbour's
  leaf hash; the neighbour is the evidence that the sibling is one leaf.

Checking a proof against a root means: the terminal's path shares the first ``d``
bits of the walked path; the neighbour (if any) hashes to the deepest sibling and
lies on the other side of bit ``d - 1``; and folding the terminal hash (``EMPTY`` or
its leaf hash) up through the siblings, left or right by the path's bits, gives the
root. Then:

- inclusion of ``(path, value_hash)``: the terminal is exactly that leaf;
- exclusion of ``path``: the terminal is ``None`` or a leaf with another path. In a
  canonical tree that subtree would hold ``path`` if the tree had it.

:func:`root_after_update` computes the root after writing one leaf from the proof
alone (what the L1 one-step executor does). It is a single loop per case, kept
straight so the on-chain version can mirror it line by line.

Known limitation: nothing in a proof shows that a deepest sibling *without* a
neighbour is not a single leaf (its hash looks like any other). A prover who omits
the neighbour when deleting gets a well-formed, verifying proof, and
:func:`root_after_update` then returns a non-canonical root (``H_node(EMPTY, leaf)``
where the tree would have collapsed to the leaf). Honest proofs from
:meth:`~rollbook.commitment.smt.SparseMerkleTree.prove` always carry the neighbour;
an adversarial setting (the L1 one-step executor) needs the deepest sibling opened
when deleting: its leaf, or its two children to show it is a node.

Encoding (:meth:`Proof.encode`), big-endian, one canonical form per proof::

    depth            u16        number of siblings, 0..256
    bitmap           32 bytes   bit i (MSB-first, as in paths) set iff siblings[i] != EMPTY
    siblings         32 bytes each, the non-EMPTY ones only, top-down
    terminal flag    1 byte     0: None; 1: followed by path (32) and value_hash (32)
    neighbour flag   1 byte     0: None; 1: followed by path (32) and value_hash (32)

Bitmap bits at or beyond ``depth`` are zero, an encoded sibling is never ``EMPTY``, a
neighbour needs ``depth >= 1``, and nothing follows the last field; :meth:`Proof.decode`
rejects anything else with :class:`~rollbook.commitment.errors.ProofError`.
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


def _is32(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == 32


def _is_leaf(value: object) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and _is32(value[0]) and _is32(value[1])


@dataclass(frozen=True, slots=True)
class Proof:
    """The walk of one path through the tree (see the module docstring).

    Attributes:
        siblings: the hashes of the halves not taken, top-down; at most 256.
        terminal: the leaf where the walk stopped, or ``None`` for an empty subtree.
        neighbour: the deepest sibling's leaf when that sibling is a single leaf.

    Raises:
        ProofError: on construction, if a field has the wrong shape (not a tuple,
            not 32-byte strings, more than 256 siblings, a neighbour with no sibling).
    """

    siblings: tuple[bytes, ...]
    terminal: PathValue | None = None
    neighbour: PathValue | None = None

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
        if self.neighbour is not None:
            if not _is_leaf(self.neighbour):
                raise ProofError(
                    "neighbour must be None or a (path, value_hash) of 32-byte strings"
                )
            if not self.siblings:
                raise ProofError("a neighbour needs at least one sibling")

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
        for leaf in (self.terminal, self.neighbour):
            parts.append(b"\x00" if leaf is None else b"\x01" + leaf[0] + leaf[1])
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
                sibling, a flag other than 0 or 1, or a neighbour with no sibling.
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
        leaves: list[PathValue | None] = []
        for name in ("terminal", "neighbour"):
            flag = data[offset : offset + 1]
            if flag == b"\x00":
                leaves.append(None)
                offset += 1
            elif flag == b"\x01":
                body = data[offset + 1 : offset + 65]
                if len(body) != 64:
                    raise ProofError(f"truncated proof: the {name} leaf is cut short")
                leaves.append((body[:32], body[32:]))
                offset += 65
            elif not flag:
                raise ProofError(f"truncated proof: the {name} flag is missing")
            else:
                raise ProofError(f"{name} flag is {flag[0]}, not 0 or 1")
        if offset != len(data):
            raise ProofError(f"{len(data) - offset} trailing bytes after the proof")
        return cls(tuple(siblings), leaves[0], leaves[1])


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
    if proof.neighbour is not None:
        npath, nvalue = proof.neighbour
        nkey = int.from_bytes(npath, "big")
        sibling_side = 1 - _bit(key, depth - 1)
        if not _shares_prefix(nkey, key, depth - 1) or _bit(nkey, depth - 1) != sibling_side:
            return "the neighbour leaf is not under the deepest sibling"
        if hasher.leaf(npath, nvalue) != proof.siblings[-1]:
            return "the neighbour leaf does not hash to the deepest sibling"
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
      (``proof.neighbour``), that leaf is now alone in its parent: the parent becomes
      its leaf hash, and so does each ancestor whose other half is ``EMPTY``;

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
        ProofError: the proof is not a valid walk of ``path`` in ``root``, or does not
            show ``old_value_hash`` at ``path`` (present when ``None`` was claimed,
            absent or another value otherwise).
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

    # Delete.
    if proof.neighbour is None:
        return _fold(EMPTY, key, siblings, depth, hasher)
    # The neighbour's leaf hash (the deepest sibling) rises while its other half is empty.
    node = siblings[depth - 1]
    level = depth - 1
    while level > 0 and siblings[level - 1] == EMPTY:
        level -= 1
    return _fold(node, key, siblings, level, hasher)
