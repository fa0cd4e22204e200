"""Strategies and small helpers shared by the commitment tests."""

from __future__ import annotations

from hypothesis import strategies as st

from rollbook.commitment import SparseMerkleTree

Write = tuple[bytes, bytes | None]

VALUES = [bytes([i]) * 32 for i in range(1, 4)]
"""A few fixed value hashes, so that rewriting a leaf with its own value happens often."""


def flip(path: bytes, bit: int) -> bytes:
    """``path`` with bit ``bit`` flipped (bit 0 is the most significant bit of byte 0)."""
    out = bytearray(path)
    out[bit // 8] ^= 0x80 >> (bit % 8)
    return bytes(out)


def path_bytes(n: int) -> bytes:
    return n.to_bytes(32, "big")


paths = st.binary(min_size=32, max_size=32)
value_hashes = st.sampled_from(VALUES) | st.binary(min_size=32, max_size=32)


@st.composite
def path_pools(draw: st.DrawFn, max_derived: int = 24) -> list[bytes]:
    """A list of paths where many share long prefixes.

    A few random base paths, then paths made by flipping one bit of an earlier path
    (often a late bit, so that two paths agree on up to 255 bits), and now and then
    the all-zero and all-one paths.
    """
    pool = draw(st.lists(paths, min_size=1, max_size=5))
    if draw(st.booleans()):
        pool.append(bytes(32))
    if draw(st.booleans()):
        pool.append(b"\xff" * 32)
    for _ in range(draw(st.integers(0, max_derived))):
        source = pool[draw(st.integers(0, len(pool) - 1))]
        bit = draw(st.integers(0, 255) | st.integers(200, 255) | st.integers(0, 8))
        pool.append(flip(source, bit))
    return pool


@st.composite
def pools_and_batches(draw: st.DrawFn) -> tuple[list[bytes], list[list[Write]]]:
    """A path pool and a sequence of write batches over it (None deletes)."""
    pool = draw(path_pools())
    write = st.tuples(st.sampled_from(pool), st.none() | value_hashes)
    batches = draw(st.lists(st.lists(write, max_size=20), min_size=1, max_size=8))
    return pool, batches


@st.composite
def trees(draw: st.DrawFn) -> tuple[list[bytes], dict[bytes, bytes]]:
    """A path pool and a leaf set drawn from it (some pool paths stay absent)."""
    pool = draw(path_pools())
    leaves: dict[bytes, bytes] = {}
    for path in pool:
        if draw(st.booleans()):
            leaves[path] = draw(value_hashes)
    return pool, leaves


def build(leaves: dict[bytes, bytes]) -> SparseMerkleTree:
    tree = SparseMerkleTree()
    tree.update(leaves.items())
    tree.root()
    return tree


def apply(model: dict[bytes, bytes], batch: list[Write]) -> None:
    """Apply a batch to a plain dict, the model of the tree's leaf set."""
    for path, value in batch:
        if value is None:
            model.pop(path, None)
        else:
            model[path] = value


def max_leaf_depth(tree: SparseMerkleTree) -> int:
    """The depth of the deepest leaf, from the public proofs."""
    return max((tree.prove(path).depth for path, _ in tree.items()), default=0)
