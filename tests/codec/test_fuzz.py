"""Fuzzing the decoders with arbitrary and mutated bytes.

Two promises of :mod:`rollbook.codec` (errors.py, txcodec.py):

1. decoding never raises anything but :class:`DecodeError`, whatever the bytes
   (derivation skips a batch that does not decode, and must not crash on one);
2. the codec is canonical: bytes that decode re-encode to exactly themselves.

Mutated batches nearly always fail the tx-root check, which hides what comes after
it, so each mutated batch is also tried *resealed*: with the root recomputed over
the txs as the decoder splits them (:func:`tests.codec.helpers.reseal`).
"""

from __future__ import annotations

import functools

from hypothesis import currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from rollbook.codec.batch import Batch, BatchBlock, decode_batch, encode_batch
from rollbook.codec.errors import DecodeError
from rollbook.codec.txcodec import decode_standalone, encode_standalone
from rollbook.exchange.txs import Fill

from .helpers import (
    NARROW_MAKER,
    PERP,
    PERP_LOT,
    PERP_TICK,
    catalogue,
    reseal,
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
    return encode_batch(Batch(9, bytes(32), 3, (block,), ((PERP, PERP_TICK, PERP_LOT),)), SEP).data


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
    note("batch decoded")
    encoded = encode_batch(batch, SEP)
    assert encoded.data == data
    assert encoded.tx_bytes == tx_bytes
    # Every decoded tx also has a standalone encoding (a block's tx root needs it), and
    # that encoding decodes back to the same tx.
    for block in batch.blocks:
        for tx in block.txs:
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
    data = b"\x01" + head[1:] + tail
    try_batch(data)
    try_batch(reseal(data, SEP))


@settings(max_examples=3000, deadline=None)
@given(mutations(batch_sources()))
def test_mutated_batches(data: bytes) -> None:
    try_batch(data)
    try_batch(reseal(data, SEP))


@settings(max_examples=3000, deadline=None)
@given(mutations(standalone_sources()))
def test_mutated_standalone_txs(data: bytes) -> None:
    try_standalone(data)


# -- the harness reaches past the root check -------------------------------------------


def test_a_resealed_mutation_decodes_and_re_encodes() -> None:
    """An edited order field behind a recomputed root: a different, valid batch."""
    original = session_bytes()[0]
    batch, tx_bytes = decode_batch(original, SEP)
    first_fill = next(
        i for i, tx in enumerate(tx for b in batch.blocks for tx in b.txs) if isinstance(tx, Fill)
    )
    start = len(original) - sum(len(t) for t in tx_bytes[first_fill:])
    slot = start + 1 + NARROW_MAKER - 5  # the maker's slot (u16), before its nonce (u24)
    edited = original[:slot] + bytes([original[slot] ^ 0x01]) + original[slot + 1 :]
    assert not try_batch(edited)  # the stored root no longer matches
    resealed = reseal(edited, SEP)
    assert resealed != edited
    assert try_batch(resealed)
    decoded, _ = decode_batch(resealed, SEP)
    fill = next(tx for b in decoded.blocks for tx in b.txs if isinstance(tx, Fill))
    original_fill = next(tx for b in batch.blocks for tx in b.txs if isinstance(tx, Fill))
    assert fill.maker.order.slot == original_fill.maker.order.slot ^ 0x100
    assert reseal(b"\x01\x02", SEP) == b"\x01\x02"  # not a batch: left alone


def test_the_sources_decode() -> None:
    for data in batch_sources():
        assert try_batch(data)
        assert reseal(data, SEP) == data
    for data in standalone_sources():
        assert try_standalone(data)
