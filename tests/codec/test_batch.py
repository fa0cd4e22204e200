"""Batches: the envelope round trip, the tx root and its paths, tampered batches.

The session batches (:func:`tests.codec.helpers.session`) are what a batcher posts
after a short trading session on a perpetual and an option chain: they were applied
to the STF as they were built, and every tx was accepted.
"""

from __future__ import annotations

import dataclasses
import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollbook.codec.batch import (
    MAX_BATCH_BYTES,
    MAX_BLOCKS,
    VERSION,
    Batch,
    BatchBlock,
    decode_batch,
    encode_batch,
    frame,
    instrument_table,
    unframe,
)
from rollbook.codec.errors import (
    BadReference,
    DecodeError,
    EncodeError,
    NonCanonical,
    OutOfOrder,
    Oversized,
    Truncated,
    UnknownKind,
)
from rollbook.codec.txcodec import FILL_BIT, NEW, NO_SIGNATURE, REF, RESUMED
from rollbook.codec.txroot import EMPTY, leaf_hash, merkle_path, merkle_root, verify_path
from rollbook.codec.wire import uint
from rollbook.crypto.keccak import keccak256
from rollbook.exchange.txs import Fill, OracleUpdate, SettleAccount
from rollbook.sim.world import GENESIS_TIME

from .helpers import (
    BLOCK_HEADER,
    INSTRUMENT_COUNT_OFFSET,
    NARROW_MAKER,
    NARROW_TAKER,
    NARROW_TAKER_AT_PRICE,
    OPTIONS,
    PERP,
    SIGNATURE,
    TABLE_ENTRY,
    WIDE_MAKER,
    WIDE_TAKER_AT_PRICE,
    block_header_offset,
    load_bench_stf,
    session,
    session_bytes,
    strip_repeats,
)

SESSION = session()
SEP = SESSION.separator
DATA = session_bytes()
BATCH, NEXT_BATCH = SESSION.batches


def fills_of(batch: Batch) -> list[Fill]:
    return [tx for block in batch.blocks for tx in block.txs if isinstance(tx, Fill)]


@functools.cache
def tape_batch(fills: int = 300, per_block: int = 40) -> Batch:
    """The benchmark's tape (makers fill twice, takers once), cut into blocks one
    second apart."""
    world, signed_tape = load_bench_stf().build_tape(fills, traders=12)
    tape = strip_repeats(signed_tape)
    blocks = tuple(
        BatchBlock(GENESIS_TIME + i, 200 + i // 3, tuple(tape[start : start + per_block]))
        for i, start in enumerate(range(0, len(tape), per_block))
    )
    grid = {PERP: (world.state.instrument(PERP).tick, world.state.instrument(PERP).lot)}
    return Batch(1, 1, blocks, instrument_table(blocks, grid))


# -- round trips -----------------------------------------------------------------------


def test_the_session_is_what_it_claims() -> None:
    """Perps and options, several blocks and times, references and resumed orders."""
    assert [(b.timestamp, b.l1_origin) for b in BATCH.blocks] == [
        (GENESIS_TIME, 100),
        (GENESIS_TIME + 2, 100),
        (GENESIS_TIME + 3, 101),
    ]
    traded = {f.maker.order.instrument for f in fills_of(BATCH)}
    assert PERP in traded and traded & set(OPTIONS)
    assert [i for i, _, _ in BATCH.instruments] == sorted(traded)
    reports = [tx for b in BATCH.blocks for tx in b.txs if isinstance(tx, OracleUpdate)]
    assert reports and all(r.vols for r in reports)
    assert {f.maker.signature for f in fills_of(NEXT_BATCH)} == {NO_SIGNATURE}


@pytest.mark.parametrize("index", [0, 1])
def test_session_batch_round_trip(index: int) -> None:
    batch, data = SESSION.batches[index], DATA[index]
    encoded = encode_batch(batch, SEP)
    assert encoded.data == data
    assert encoded.data_hash == keccak256(data)
    decoded, tx_bytes = decode_batch(data, SEP)
    assert decoded.blocks == batch.blocks
    assert decoded.instruments == batch.instruments
    assert (decoded.chain_id, decoded.first_block) == (batch.chain_id, batch.first_block)
    assert tx_bytes == encoded.tx_bytes
    assert decoded.tx_root == merkle_root(tx_bytes) == encoded.tx_root
    assert decoded == dataclasses.replace(batch, tx_root=encoded.tx_root)
    assert decoded.tx_count == len(tx_bytes) == sum(len(b.txs) for b in batch.blocks)
    # encode . decode is the identity on bytes
    assert encode_batch(decoded, SEP).data == data
    for block in decoded.blocks:
        for tx in block.txs:
            if isinstance(tx, Fill):
                for signed in (tx.maker, tx.taker):
                    assert signed.digest == signed.order.digest(SEP)


def test_session_batch_layout() -> None:
    encoded = encode_batch(BATCH, SEP)
    data = encoded.data
    assert data[:INSTRUMENT_COUNT_OFFSET] == (
        bytes([VERSION]) + uint(BATCH.chain_id, 8) + uint(BATCH.first_block, 8)
    )
    table = b"".join(uint(i, 2) + uint(t, 8) + uint(lot, 8) for i, t, lot in BATCH.instruments)
    at = INSTRUMENT_COUNT_OFFSET
    assert data[at] == len(BATCH.instruments)
    assert data[at + 1 : at + 1 + len(table)] == table
    at += 1 + len(table)
    assert data[at : at + 2] == uint(len(BATCH.blocks), 2)
    headers = b"".join(
        uint(b.timestamp, 8) + uint(b.l1_origin, 8) + uint(len(b.txs), 2) for b in BATCH.blocks
    )
    assert data[at + 2 : at + 2 + len(headers)] == headers
    assert data[at + 2 + len(headers) :] == b"".join(frame(t) for t in encoded.tx_bytes)
    assert unframe(data) == encoded.tx_bytes
    assert encoded.tx_root == merkle_root(encoded.tx_bytes)
    # frames: one length byte below 255, else 0xFF and a u16
    assert frame(b"x" * 254) == bytes([254]) + b"x" * 254
    assert frame(b"x" * 255) == b"\xff\x00\xff" + b"x" * 255


def test_session_references_and_resumed_orders_on_the_wire() -> None:
    tx_bytes = encode_batch(BATCH, SEP).tx_bytes
    fills = [
        (tx, data)
        for tx, data in zip((tx for b in BATCH.blocks for tx in b.txs), tx_bytes, strict=True)
        if isinstance(tx, Fill)
    ]
    modes = [(data[0] >> 5 & 3, data[0] >> 3 & 3) for _, data in fills]
    # the ask filled twice; the resting bid filled by one taker twice, then by another
    # in a later block; the option fills are fresh
    assert modes == [
        (NEW, NEW),
        (REF, NEW),
        (NEW, NEW),
        (REF, REF),
        (NEW, NEW),
        (NEW, NEW),
        (REF, NEW),
    ]
    # a reference is (item << 1 | part) of the part that wrote the order first
    items = list(tx_bytes)
    txs = [tx for b in BATCH.blocks for tx in b.txs]
    fill, data = fills[3]
    at = items.index(data)

    def first_ref(digest: bytes) -> int:
        return next(
            i << 1 | part
            for i, tx in enumerate(txs[:at])
            if isinstance(tx, Fill)
            for part, signed in enumerate((tx.maker, tx.taker))
            if signed.digest == digest
        )

    lots = fill.size // SESSION.grid[PERP][1]
    maker_ref, taker_ref = first_ref(fill.maker.digest), first_ref(fill.taker.digest)
    assert data == bytes([FILL_BIT | REF << 5 | REF << 3]) + uint(maker_ref, 2) + uint(
        taker_ref, 2
    ) + uint(lots, 3)
    next_bytes = encode_batch(NEXT_BATCH, SEP).tx_bytes
    assert next_bytes[0][0] >> 5 & 3 == RESUMED
    # no maker signature; the taker sells at the maker's price, for its whole size
    assert len(next_bytes[0]) == 1 + NARROW_MAKER + NARROW_TAKER_AT_PRICE + SIGNATURE
    # the ask's first taker bids its price (a head bit), the second two ticks through
    # it (u32 ticks written)
    sizes = [len(data) for _, data in fills]
    assert sizes[0] == 1 + NARROW_MAKER + NARROW_TAKER_AT_PRICE + 2 * SIGNATURE
    assert sizes[1] == 1 + 2 + NARROW_TAKER + SIGNATURE


def test_benchmark_tape_round_trip() -> None:
    batch = tape_batch()
    assert len(batch.blocks) > 1
    encoded = encode_batch(batch, SEP)
    decoded, tx_bytes = decode_batch(encoded.data, SEP)
    assert decoded.blocks == batch.blocks
    assert encode_batch(decoded, SEP).data == encoded.data
    assert decoded.tx_root == merkle_root(tx_bytes)
    # makers fill twice (new, then a reference), takers once and whole: narrow orders
    seen: set[bytes] = set()
    whole_new = 1 + NARROW_MAKER + NARROW_TAKER_AT_PRICE + 2 * SIGNATURE
    for tx, data in zip((t for b in batch.blocks for t in b.txs), tx_bytes, strict=True):
        if isinstance(tx, Fill):
            first = tx.maker.digest not in seen
            seen.add(tx.maker.digest)
            assert len(data) == (whole_new if first else 3 + NARROW_TAKER_AT_PRICE + SIGNATURE)
    header = INSTRUMENT_COUNT_OFFSET + 1 + TABLE_ENTRY + 2 + BLOCK_HEADER * len(batch.blocks)
    assert len(encoded.data) == header + sum(len(frame(t)) for t in tx_bytes)


def test_orders_off_the_instrument_grid_go_wide() -> None:
    fills = fills_of(BATCH)
    blocks = (BatchBlock(GENESIS_TIME, 1, tuple(fills[:1])),)
    assert instrument_table(blocks, {}) == ()
    # only instruments traded by fills or liquidations, sorted, from the grid
    assert instrument_table(BATCH.blocks, SESSION.grid) == BATCH.instruments
    no_table = Batch(1, 1, blocks)
    encoded = encode_batch(no_table, SEP)
    assert len(encoded.tx_bytes[0]) == 1 + WIDE_MAKER + WIDE_TAKER_AT_PRICE + 2 * SIGNATURE
    assert decode_batch(encoded.data, SEP)[0].blocks == blocks


def test_encode_refuses_batches_the_format_cannot_hold() -> None:
    one = BatchBlock(GENESIS_TIME, 1, (SettleAccount(1),))
    with pytest.raises(EncodeError):
        encode_batch(Batch(1, 1, ()), SEP)
    with pytest.raises(EncodeError):
        encode_batch(Batch(1, 1, (one,) * (MAX_BLOCKS + 1)), SEP)
    encode_batch(Batch(1, 1, (one,) * MAX_BLOCKS), SEP)
    table = tuple((i, 1, 1) for i in range(256))
    with pytest.raises(EncodeError):
        encode_batch(Batch(1, 1, (one,), table), SEP)


def test_a_batch_over_the_size_limit() -> None:
    _, tape = load_bench_stf().build_tape(1000, traders=12)
    block = BatchBlock(GENESIS_TIME, 1, strip_repeats(tape))
    big = Batch(1, 1, (block,), ((PERP, 50_000, 100_000),))
    with pytest.raises(Oversized):
        encode_batch(big, SEP)
    data = DATA[0]
    with pytest.raises(Oversized, match="more than"):
        decode_batch(data + bytes(MAX_BATCH_BYTES + 1 - len(data)), SEP)
    with pytest.raises(Oversized, match="an item is"):
        decode_batch(data + bytes(MAX_BATCH_BYTES - len(data)), SEP)


# -- the tx root -----------------------------------------------------------------------


def node(left: bytes, right: bytes) -> bytes:
    return keccak256(b"\x01" + left + right)


def leaf(item: bytes) -> bytes:
    return keccak256(b"\x00" + item)


ITEMS = [bytes([i]) * (i + 1) for i in range(5)]


def test_tx_root_by_hand() -> None:
    a, b, c, d, e = (leaf(x) for x in ITEMS)
    assert leaf_hash(ITEMS[0]) == a
    assert merkle_root([]) == EMPTY == bytes(32)
    assert merkle_root(ITEMS[:1]) == a
    assert merkle_root(ITEMS[:2]) == node(a, b)
    assert merkle_root(ITEMS[:3]) == node(node(a, b), node(c, EMPTY))
    assert merkle_root(ITEMS[:4]) == node(node(a, b), node(c, d))
    assert merkle_root(ITEMS) == node(
        node(node(a, b), node(c, d)), node(node(e, EMPTY), node(EMPTY, EMPTY))
    )
    assert merkle_path(ITEMS[:1], 0) == ()
    assert merkle_path(ITEMS[:3], 2) == (EMPTY, node(a, b))
    assert merkle_path(ITEMS, 4) == (EMPTY, node(EMPTY, EMPTY), node(node(a, b), node(c, d)))


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5])
def test_tx_root_paths(n: int) -> None:
    items = ITEMS[:n]
    root = merkle_root(items)
    depth = max(0, (n - 1).bit_length())
    for i, item in enumerate(items):
        path = merkle_path(items, i)
        assert len(path) == depth
        assert verify_path(root, item, i, path)
        assert not verify_path(root, item + b"\x00", i, path)
        assert not verify_path(root, item, i ^ 1, path)
        assert not verify_path(root, item, i + (1 << depth), path)
        assert not verify_path(root, item, -1, path)
        for k in range(depth):
            wrong = (*path[:k], bytes([path[k][0] ^ 1]) + path[k][1:], *path[k + 1 :])
            assert not verify_path(root, item, i, wrong)
        assert not verify_path(root, item, i, (*path, EMPTY))
        if path:
            assert not verify_path(root, item, i, path[:-1])
    for bad in (-1, n):
        with pytest.raises(IndexError):
            merkle_path(items, bad)


def test_padding_and_nodes_cannot_pass_for_items() -> None:
    items = ITEMS[:3]
    root = merkle_root(items)
    a, b, c = (leaf(x) for x in items)
    padding_path = (c, node(a, b))  # the siblings of the empty slot 3
    for item in (b"", EMPTY):
        assert not verify_path(root, item, 3, padding_path)
    # a node's preimage is not an item: the prefixes differ
    two = merkle_root(ITEMS[:2])
    assert not verify_path(two, a + b, 0, ())
    assert not verify_path(two, b"\x01" + a + b, 0, ())


def test_every_tx_of_a_batch_has_a_path() -> None:
    for data in DATA:
        batch, tx_bytes = decode_batch(data, SEP)
        assert len(set(tx_bytes)) == len(tx_bytes) > 1
        for i, item in enumerate(tx_bytes):
            path = merkle_path(tx_bytes, i)
            assert verify_path(batch.tx_root, item, i, path)
            assert not verify_path(batch.tx_root, item, (i + 1) % len(tx_bytes), path)
            assert not verify_path(batch.tx_root, item[:-1], i, path)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.binary(max_size=40), unique=True, max_size=17), st.data())
def test_tx_root_paths_property(items: list[bytes], data: st.DataObject) -> None:
    def reference(level: list[bytes]) -> bytes:
        if len(level) == 1:
            return level[0]
        half = len(level) // 2
        return node(reference(level[:half]), reference(level[half:]))

    root = merkle_root(items)
    if not items:
        assert root == EMPTY
        return
    size = 1 << (len(items) - 1).bit_length()
    assert root == reference([leaf(x) for x in items] + [EMPTY] * (size - len(items)))
    i = data.draw(st.integers(0, len(items) - 1))
    path = merkle_path(items, i)
    assert len(path) == size.bit_length() - 1
    assert verify_path(root, items[i], i, path)
    if path:
        j = data.draw(st.integers(0, size - 1).filter(lambda j: j != i))
        assert not verify_path(root, items[i], j, path)
        k = data.draw(st.integers(0, len(path) - 1))
        bit = data.draw(st.integers(0, 255))
        sibling = (int.from_bytes(path[k], "big") ^ (1 << bit)).to_bytes(32, "big")
        assert not verify_path(root, items[i], i, (*path[:k], sibling, *path[k + 1 :]))


# -- tampered batches ------------------------------------------------------------------


def patched(data: bytes, at: int, new: bytes) -> bytes:
    return data[:at] + new + data[at + len(new) :]


def test_frames_must_end_at_the_end_and_counts_add_up() -> None:
    data = DATA[0]
    items = unframe(data)
    with pytest.raises(Truncated, match="item"):
        decode_batch(data[:-1], SEP)  # the last item is cut
    last = len(data) - len(frame(items[-1]))
    with pytest.raises(BadReference, match="items"):
        decode_batch(data[:last], SEP)  # one item fewer than the blocks count
    with pytest.raises(BadReference, match="items"):
        decode_batch(data + frame(b"\x07\x00\x00\x00\x01"), SEP)  # one more
    with pytest.raises(NonCanonical, match="frame"):
        decode_batch(data[:last] + b"\xff" + uint(len(items[-1]), 2) + items[-1], SEP)


@pytest.mark.parametrize("version", [0, 1, 255])
def test_an_unknown_version_is_refused(version: int) -> None:
    with pytest.raises(UnknownKind, match="version"):
        decode_batch(bytes([version]) + DATA[0][1:], SEP)


def test_blocks_must_not_go_back_in_time_or_origin() -> None:
    data = DATA[0]
    n = len(BATCH.instruments)
    t0, t1 = BATCH.blocks[0].timestamp, BATCH.blocks[1].timestamp
    with pytest.raises(OutOfOrder):
        decode_batch(patched(data, block_header_offset(n, 1), uint(t0 - 1, 8)), SEP)
    origin = block_header_offset(n, 2) + 8
    with pytest.raises(OutOfOrder):
        decode_batch(patched(data, origin, uint(BATCH.blocks[1].l1_origin - 1, 8)), SEP)
    with pytest.raises(OutOfOrder):  # the first block cannot be later than the second
        decode_batch(patched(data, block_header_offset(n, 0), uint(t1 + 1, 8)), SEP)
    # equal is allowed; a narrow expiry is an offset from the batch's time (its first
    # block's), so moving a later block's time moves no expiry, and moving the first
    # block's moves every one
    same = patched(data, block_header_offset(n, 1), uint(t0, 8))
    decoded, _ = decode_batch(same, SEP)
    fill = next(tx for tx in decoded.blocks[1].txs if isinstance(tx, Fill))
    original = next(tx for tx in BATCH.blocks[1].txs if isinstance(tx, Fill))
    assert fill == original
    earlier = patched(data, block_header_offset(n, 0), uint(t0 - 5, 8))
    decoded, _ = decode_batch(earlier, SEP)
    fill = next(tx for tx in decoded.blocks[1].txs if isinstance(tx, Fill))
    assert fill.maker.order.expiry == original.maker.order.expiry - 5
    assert fill.maker.digest == fill.maker.order.digest(SEP) != original.maker.digest


def test_the_instrument_table_is_checked() -> None:
    data = DATA[0]
    first = INSTRUMENT_COUNT_OFFSET + 1
    second = first + TABLE_ENTRY
    assert len(BATCH.instruments) >= 2
    with pytest.raises(OutOfOrder, match="increasing"):
        decode_batch(patched(data, second, data[first : first + 2]), SEP)
    for field in (2, 10):  # tick, lot
        with pytest.raises(NonCanonical, match="positive"):
            decode_batch(patched(data, first + field, bytes(8)), SEP)


@pytest.mark.parametrize("count", [0, MAX_BLOCKS + 1, 65535])
def test_the_block_count_is_checked(count: int) -> None:
    at = INSTRUMENT_COUNT_OFFSET + 1 + TABLE_ENTRY * len(BATCH.instruments)
    with pytest.raises(OutOfOrder):
        decode_batch(patched(DATA[0], at, uint(count, 2)), SEP)


def test_every_truncation_is_refused() -> None:
    for data in DATA:
        items = unframe(data)
        boundaries = {len(data) - sum(len(frame(t)) for t in items[i:]) for i in range(len(items))}
        for end in range(len(data)):
            error = BadReference if end in boundaries else Truncated
            with pytest.raises(error):
                decode_batch(data[:end], SEP)


@pytest.mark.parametrize(
    ("extra", "error"), [(b"\x00", Oversized), (b"\x80", Truncated), (bytes(100), Oversized)]
)
def test_trailing_bytes_are_refused(extra: bytes, error: type[DecodeError]) -> None:
    with pytest.raises(error):
        decode_batch(DATA[0] + extra, SEP)


def test_a_batch_in_another_domain_decodes_to_other_digests() -> None:
    """The separator is not on the wire: the same bytes in another domain decode to
    orders whose digests the traders never signed (the STF then refuses them)."""
    other = keccak256(b"another domain")
    decoded, _ = decode_batch(DATA[0], other)
    fill = fills_of(decoded)[0]
    assert fill.maker.order == fills_of(BATCH)[0].maker.order
    assert fill.maker.digest == fill.maker.order.digest(other) != fills_of(BATCH)[0].maker.digest


def test_errors_are_decode_errors() -> None:
    for error in (NonCanonical, OutOfOrder, Oversized, Truncated, UnknownKind):
        assert issubclass(error, DecodeError)
    assert not issubclass(EncodeError, DecodeError)
