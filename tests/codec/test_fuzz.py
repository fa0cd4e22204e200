"""Fuzzing the decoders with arbitrary and mutated bytes.

Two promises of :mod:`rollbook.codec` (errors.py, txcodec.py):

1. decoding never raises anything but :class:`DecodeError`, whatever the bytes
   (derivation skips a batch that does not decode, and must not crash on one); an
   item that does not decode is an ``Unreadable`` tx of exactly its bytes;
2. a batch that decodes re-encodes to a batch that decodes the same; one whose items
   all decode and that the encoder wrote re-encodes to exactly itself (a resumed
   order could have been a reference: not checked per item, so not canonical).
"""

from __future__ import annotations

import functools

from hypothesis import currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from rollbook.codec.batch import VERSION, Batch, BatchBlock, decode_batch, encode_batch, frame
from rollbook.codec.errors import DecodeError
from rollbook.codec.txcodec import decode_standalone, encode_standalone
from rollbook.exchange.txs import Fill, Unreadable

from .helpers import (
    NARROW_MAKER,
    PERP,
    PERP_LOT,
    PERP_TICK,
    catalogue,
    session,
    session_bytes,
    strip_repeats,
)

SEP = session().separator
CAT = catalogue()
assert CAT.separator == SEP


@functools.cache
def kitchen_sink() -> bytes:
    """One batch holding a tx of every kind (governance and deposits included: the
    decoder reads them in a batch too), orders narrow on the table."""
    txs = strip_repeats(tx for _, tx in CAT.txs)
    block = BatchBlock(CAT.now, 5, txs)
    return encode_batch(Batch(9, 3, (block,), ((PERP, PERP_TICK, PERP_LOT),)), SEP).data


def batch_sources() -> list[bytes]:
    return [*session_bytes(), kitchen_sink()]


def standalone_sources() -> list[bytes]:
    return [encode_standalone(tx, SEP) for _, tx in CAT.txs]


def note(outcome: str) -> None:
    """Count an outcome for ``--hypothesis-show-statistics`` (inside a given test)."""
    if currently_in_test_context():
        event(outcome)


def try_batch(data: bytes) -> bool:
    """Decode ``data`` as a batch; if it decodes, it must re-encode to itself.

    Only DecodeError is caught: any other exception fails the test.
    """
    try:
        batch, tx_bytes = decode_batch(data, SEP)
    except DecodeError as exc:
        note(f"batch refused: {type(exc).__name__}")
        return False
    txs = [tx for block in batch.blocks for tx in block.txs]
    assert len(txs) == len(tx_bytes)
    for tx, item in zip(txs, tx_bytes, strict=True):
        if isinstance(tx, Unreadable):
            assert tx.data == item
    unreadable = sum(isinstance(tx, Unreadable) for tx in txs)
    note("batch decoded" + (" with unreadable items" if unreadable else ""))
    encoded = encode_batch(batch, SEP)
    if not unreadable:
        again, _ = decode_batch(encoded.data, SEP)
        assert again == batch
        assert len(encoded.data) <= len(data)
    # Every decoded tx also has a standalone encoding (a block's tx root needs it), and
    # that encoding decodes back to the same tx.
    for tx in txs:
        if not isinstance(tx, Unreadable):
            assert decode_standalone(encode_standalone(tx, SEP), SEP) == tx
    return True


def try_standalone(data: bytes) -> bool:
    try:
        tx = decode_standalone(data, SEP)
    except DecodeError as exc:
        note(f"tx refused: {type(exc).__name__}")
        return False
    note(f"tx decoded: {type(tx).__name__}")
    assert encode_standalone(tx, SEP) == data
    return True


@st.composite
def mutations(draw: st.DrawFn, sources: list[bytes]) -> bytes:
    """A source with 1-4 edits: bit flips, byte sets, insertions, deletions, runs of
    0x00 / 0xff / random bytes written over it, truncation."""
    data = bytearray(draw(st.sampled_from(sources)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "run", "cut"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        elif op == "run":
            n = draw(st.integers(1, 40))
            fill = draw(
                st.sampled_from([b"\x00" * n, b"\xff" * n]) | st.binary(min_size=n, max_size=n)
            )
            data[at : at + n] = fill
        elif op == "cut":
            del data[at:]
    return bytes(data)


KINDS = sorted({src[0] for src in standalone_sources()} | {0x41, 0x46, 0xA4, 0xAC, 0x9C})


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    try_batch(data)
    try_standalone(data)


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(KINDS), st.binary(max_size=300))
def test_random_bytes_after_a_known_kind(kind: int, tail: bytes) -> None:
    try_standalone(bytes([kind]) + tail)


@settings(max_examples=600, deadline=None)
@given(st.binary(min_size=81, max_size=81), st.binary(max_size=300))
def test_random_bytes_after_a_batch_version(head: bytes, tail: bytes) -> None:
    data = bytes([VERSION]) + head[1:] + tail
    try_batch(data)


@settings(max_examples=3000, deadline=None)
@given(mutations(batch_sources()))
def test_mutated_batches(data: bytes) -> None:
    try_batch(data)


@settings(max_examples=3000, deadline=None)
@given(mutations(standalone_sources()))
def test_mutated_standalone_txs(data: bytes) -> None:
    try_standalone(data)


# -- an edit inside an item -----------------------------------------------------------


def test_an_edited_item_leaves_the_rest_of_its_batch() -> None:
    """An edited order field: that item is another valid tx, or unreadable; the other
    items decode as before (no root to break: the inbox computes it)."""
    original = session_bytes()[0]
    batch, tx_bytes = decode_batch(original, SEP)
    txs = [tx for b in batch.blocks for tx in b.txs]
    first_fill = next(i for i, tx in enumerate(txs) if isinstance(tx, Fill))
    start = len(original) - sum(len(frame(t)) for t in tx_bytes[first_fill:]) + 1
    slot = start + 1 + NARROW_MAKER - 5  # the maker's slot (u16), before its nonce (u24)
    edited = original[:slot] + bytes([original[slot] ^ 0x01]) + original[slot + 1 :]
    assert try_batch(edited)
    decoded, _ = decode_batch(edited, SEP)
    fill = [tx for b in decoded.blocks for tx in b.txs][first_fill]
    assert isinstance(fill, Fill)
    assert fill.maker.order.slot == txs[first_fill].maker.order.slot ^ 0x100
    others = [tx for b in decoded.blocks for tx in b.txs]
    assert others[:first_fill] == txs[:first_fill]
    # the tx's kind byte set to an unknown kind: that item alone is unreadable
    kind = start
    broken = original[:kind] + b"\x3f" + original[kind + 1 :]
    decoded, _ = decode_batch(broken, SEP)
    after = [tx for b in decoded.blocks for tx in b.txs]
    assert after[first_fill] == Unreadable(b"\x3f" + tx_bytes[first_fill][1:])
    assert after[:first_fill] == txs[:first_fill]


def test_the_sources_decode() -> None:
    for data in batch_sources():
        assert try_batch(data)
        batch, _ = decode_batch(data, SEP)
        assert encode_batch(batch, SEP).data == data
    for data in standalone_sources():
        assert try_standalone(data)
