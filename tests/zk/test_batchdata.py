"""A ZK batch's data layout (rollbook.zk.batchdata): what the encoder writes decodes to
itself, padding to a circuit's size only adds zeros to the rest, and every way the
bytes break the layout is a typed error that says where."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollbook.codec.errors import DecodeError, Oversized, Truncated, UnknownKind
from rollbook.codec.txroot import verify_path
from rollbook.zk import batchdata as bd

OWNER = bytes(range(20))


def sample(rest: bytes = b"records") -> bd.BatchData:
    withdrawals = (
        bd.PublishedWithdrawal(9, OWNER, 5),
        bd.PublishedWithdrawal(10, OWNER, 2**64 - 1),
    )
    return bd.BatchData(901, 3, 17, (b"\x01" + bytes(57), b"\x01" * 600), 9, withdrawals, rest)


def test_the_layout_round_trips_and_pads_the_rest() -> None:
    batch = sample()
    data = batch.encode()
    assert bd.decode(data) == batch
    assert len(bd.BatchData(901, 0, 0, (), 0, ()).encode()) == bd.HEADER_BYTES
    padded = batch.encode(size=len(data) + 30)
    assert padded == data + bytes(30) and bd.decode(padded).rest == b"records" + bytes(30)
    with pytest.raises(Oversized, match="over the circuit's"):
        batch.encode(size=len(data) - 1)
    assert batch.inputs_end == 19


@given(st.binary(max_size=300))
def test_decoding_never_raises_anything_but_a_decode_error(data: bytes) -> None:
    try:
        batch = bd.decode(b"\x01" + data)
    except DecodeError:
        return
    assert batch.encode() == b"\x01" + data


def test_broken_bytes_name_their_fault() -> None:
    data = sample().encode()
    with pytest.raises(Truncated, match="shorter than its header"):
        bd.decode(data[:36])
    with pytest.raises(UnknownKind, match="version 2"):
        bd.decode(b"\x02" + data[1:])
    with pytest.raises(Truncated, match="L1 input 1"):
        bd.decode(data[: bd.HEADER_BYTES + 60 + 100])
    with pytest.raises(Truncated, match="withdrawals"):
        bd.decode(data[: -len(b"records") - 1])
    with pytest.raises(Oversized):
        bd.decode(data + bytes(bd.MAX_DATA_BYTES))


def test_the_constructor_refuses_what_l1_would() -> None:
    with pytest.raises(bd.BatchDataError, match="amount"):
        bd.PublishedWithdrawal(0, OWNER, 0)
    with pytest.raises(bd.BatchDataError, match="20-byte"):
        bd.PublishedWithdrawal(0, OWNER[:19], 1)
    with pytest.raises(bd.BatchDataError, match="consecutively"):
        bd.BatchData(901, 0, 0, (), 4, (bd.PublishedWithdrawal(5, OWNER, 1),))
    with pytest.raises(bd.BatchDataError, match="L1 input 0"):
        bd.BatchData(901, 0, 0, (b"",), 0, ())
    with pytest.raises(bd.BatchDataError, match="at most"):
        bd.BatchData(901, 0, 0, (b"\x01",) * (bd.MAX_INPUTS + 1), 0, ())


def test_a_withdrawal_proves_against_the_batch_root() -> None:
    withdrawals = sample().withdrawals
    root = bd.withdrawals_root(withdrawals)
    for position, w in enumerate(withdrawals):
        path = bd.withdrawal_path(withdrawals, position)
        assert verify_path(root, w.leaf(), position, path)
    assert bd.withdrawals_root(()) == bytes(32)
