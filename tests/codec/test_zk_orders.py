"""ZK orders in the codec (#8): a fill or liquidation of ZK orders round-trips in a
ZK context, and nothing changes for an optimistic one.

A ZK fill sets :data:`FILL_ZK` (a liquidation :data:`LIQUIDATION_ZK`), its new orders
carry the 96-byte EdDSA signature as it is, and its digests are Poseidon ones. In an
optimistic context the bits stay reserved: such bytes are refused as before, and a
ZK order cannot be encoded. The optimistic layouts are pinned in test_txcodec.py and
the STF vectors, which this change leaves as they were.
"""

from __future__ import annotations

import pytest

from rollbook.codec.batch import Batch, BatchBlock, decode_batch, encode_batch
from rollbook.codec.errors import EncodeError, UnknownKind
from rollbook.codec.txcodec import (
    FILL_BIT,
    FILL_ZK,
    LIQUIDATION_ZK,
    NEW,
    NO_SIGNATURE,
    REF,
    RESUMED,
    decode_standalone,
    encode_standalone,
)
from rollbook.codec.wire import uint
from rollbook.exchange.orders import Order, SignedOrder, sign_order_zk
from rollbook.exchange.txs import Fill, Liquidate, Unreadable
from rollbook.exchange.types import Side
from rollbook.sim.world import base, key_from_label, usd

from .helpers import NARROW_MAKER, NARROW_TAKER_AT_PRICE, assemble, resumed, strip_repeats
from .test_txcodec import SEP, TABLE, WHOLE, T, order, taker_for

SEED = key_from_label("codec zk tests")
ZK_SIGNATURE = 96


def zk_order(**fields: object) -> SignedOrder:
    """A ZK-signed perp order (the fields of test_txcodec's ``order``)."""
    return sign_order_zk(order(**fields).order, SEED, SEP)


def zk_taker(maker: SignedOrder, **fields: object) -> SignedOrder:
    return sign_order_zk(taker_for(maker, **fields).order, SEED, SEP)


def zk_batch(*txs: object) -> tuple[bytes, ...]:
    batch = Batch(31337, 1, (BatchBlock(T, 1, tuple(txs)),), TABLE)  # type: ignore[arg-type]
    encoded = encode_batch(batch, SEP, zk=True)
    decoded, tx_bytes = decode_batch(encoded.data, SEP, zk=True)
    assert decoded.blocks == batch.blocks
    assert tx_bytes == encoded.tx_bytes
    return encoded.tx_bytes


def test_a_zk_fill_round_trips_with_its_96_byte_signatures() -> None:
    maker = zk_order(account=1)
    fill = Fill(maker, zk_taker(maker, account=2), base(1, 2))
    data = encode_standalone(fill, SEP, zk=True)
    assert data[0] & FILL_ZK
    decoded = decode_standalone(data, SEP, zk=True)
    assert decoded == fill
    assert isinstance(decoded, Fill)
    assert decoded.maker.digest == maker.order.zk_digest(SEP)
    assert decoded.maker.signature == maker.signature


def test_references_and_resumed_orders_keep_to_their_mode_in_a_batch() -> None:
    maker = zk_order(account=1, size=base(4, 2))
    taker = zk_taker(maker, account=2, size=base(2, 2))
    txs = (
        Fill(maker, taker, base(1, 2)),
        Fill(maker, zk_taker(maker, account=3), base(1, 2)),
        Liquidate(9, maker, base(1, 2)),
    )
    first, second, third = zk_batch(*strip_repeats(txs))
    assert first[0] == FILL_BIT | NEW << 5 | NEW << 3 | FILL_ZK
    assert len(first) == 1 + NARROW_MAKER + NARROW_TAKER_AT_PRICE + 2 * ZK_SIGNATURE + 3
    assert second[0] == FILL_BIT | REF << 5 | NEW << 3 | WHOLE | FILL_ZK
    assert third[:2] == bytes([0x09, REF | LIQUIDATION_ZK])
    # a resumed ZK order (its slot holds it from an earlier batch) decodes with its
    # Poseidon digest and no signature
    carried = Fill(resumed(maker), zk_taker(maker, account=4), base(1, 2))
    (only,) = zk_batch(carried)
    assert only[0] >> 5 & 3 == RESUMED
    again = decode_standalone(encode_standalone(carried, SEP, zk=True), SEP, zk=True)
    assert isinstance(again, Fill) and again.maker.digest == maker.order.zk_digest(SEP)
    assert again.maker.signature == NO_SIGNATURE


def test_a_reference_to_an_order_of_the_other_mode_is_unreadable() -> None:
    zk_maker = zk_order(account=1, size=base(4, 2))
    ecdsa_maker = order(account=1, size=base(4, 2))
    first_zk, second = zk_batch(
        *strip_repeats(
            (
                Fill(zk_maker, zk_taker(zk_maker, account=2), base(1, 2)),
                Fill(zk_maker, zk_taker(zk_maker, account=3), base(1, 2)),
            )
        )
    )
    assert second[0] == FILL_BIT | REF << 5 | NEW << 3 | WHOLE | FILL_ZK
    assert second[1:3] == uint(0, 2)  # names item 0's maker
    first_ecdsa = zk_batch(Fill(ecdsa_maker, taker_for(ecdsa_maker, account=2), base(1, 2)))[0]
    for first, readable in ((first_zk, True), (first_ecdsa, False)):
        decoded, _ = decode_batch(assemble([(T, 1, [first, second])], TABLE), SEP, zk=True)
        assert isinstance(decoded.blocks[0].txs[1], Unreadable) is not readable


def test_an_optimistic_context_neither_writes_nor_reads_zk_orders() -> None:
    maker = zk_order(account=1)
    fill = Fill(maker, zk_taker(maker, account=2), base(1, 2))
    with pytest.raises(EncodeError, match="digest does not match"):
        encode_standalone(fill, SEP)
    data = encode_standalone(fill, SEP, zk=True)
    with pytest.raises(UnknownKind, match="reserved bits"):
        decode_standalone(data, SEP)
    liquidation = encode_standalone(Liquidate(9, maker, base(1, 2)), SEP, zk=True)
    assert liquidation[1] == NEW | LIQUIDATION_ZK
    with pytest.raises(UnknownKind, match="liquidation order mode"):
        decode_standalone(liquidation, SEP)


def test_a_fill_mixing_the_modes_cannot_be_encoded() -> None:
    maker = zk_order(account=1)
    with pytest.raises(EncodeError, match="different modes"):
        encode_standalone(Fill(maker, taker_for(maker, account=2), base(1, 2)), SEP, zk=True)
    # a ZK digest with a 65-byte signature, or the reverse
    ecdsa = order(account=1)
    mismatched = SignedOrder(maker.order, ecdsa.signature, maker.digest)
    with pytest.raises(EncodeError, match="other mode"):
        encode_standalone(Fill(mismatched, zk_taker(maker, account=2), base(1, 2)), SEP, zk=True)


def test_optimistic_encodings_are_the_same_in_a_zk_context() -> None:
    maker = order(account=1)
    fill = Fill(maker, taker_for(maker, account=2), base(1, 2))
    assert encode_standalone(fill, SEP, zk=True) == encode_standalone(fill, SEP)
    ask = Order(1, 1, Side.SELL, usd(3000), base(1), 0, T + 60, 0, 1)
    assert ask.zk_digest(SEP) != ask.digest(SEP)
