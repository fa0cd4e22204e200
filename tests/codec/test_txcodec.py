"""The compact tx codec: round trips, the narrow and wide order forms, canonicality.

The layout vectors are written field by field from docs/design/batch.md (section 3),
so a change to the wire format fails here and shows which field moved. Every order
and owner tx is signed by the real signing code (:mod:`tests.codec.helpers`).
"""

from __future__ import annotations

import dataclasses
import typing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollbook.codec.batch import Batch, BatchBlock, decode_batch, encode_batch, sequenceable
from rollbook.codec.errors import (
    BadReference,
    DecodeError,
    EncodeError,
    NonCanonical,
    Oversized,
    UnknownKind,
)
from rollbook.codec.txcodec import (
    FILL_BIT,
    NEW,
    NO_SIGNATURE,
    REF,
    RESUMED,
    SECP256K1_HALF_N,
    InvalidTx,
    TxContext,
    decode_standalone,
    decode_tx,
    encode_standalone,
    encode_tx,
)
from rollbook.codec.wire import Reader, uint
from rollbook.crypto.secp256k1 import HALF_N
from rollbook.exchange.leaves import encode_value
from rollbook.exchange.orders import Order, SignedOrder, sign_order
from rollbook.exchange.txs import (
    Deposit,
    Fill,
    ForcedClose,
    Liquidate,
    ListInstrument,
    NonceFloor,
    OracleUpdate,
    RegisterKey,
    RevokeKey,
    SetMarginMode,
    Transfer,
    Tx,
    Unreadable,
    Withdraw,
)
from rollbook.exchange.types import OrderFlags, Side
from rollbook.sim.world import base, key_from_label, perp_spec, usd

from .helpers import (
    AT_MAKER_PRICE,
    NARROW_MAKER,
    NARROW_TAKER,
    NARROW_TAKER_AT_PRICE,
    PERP,
    PERP_LOT,
    PERP_TICK,
    SIGNATURE,
    WIDE_MAKER,
    WIDE_TAKER,
    WIDE_TAKER_AT_PRICE,
    assemble,
    batch_context,
    catalogue,
    high_s_twin,
    resumed,
    strip_repeats,
    with_parity_v,
)

CAT = catalogue()
SEP = CAT.separator
T = CAT.now  # the block time of the batch-context cases
TABLE = ((PERP, PERP_TICK, PERP_LOT),)
KEY = key_from_label("codec tests")
TXS = dict(CAT.txs)
WHOLE = 0x04  # fill kind: the size is the taker's whole size
WIDE_SIZE = 0x02  # fill kind: the size is a u64, not u24 lots


def compact(signature: bytes) -> bytes:
    """EIP-2098 by hand: ``r || (yParity << 255 | s)``."""
    s = int.from_bytes(signature[32:64], "big")
    return signature[:32] + uint(s | (signature[64] - 27) << 255, 32)


def order(**fields: object) -> SignedOrder:
    """A signed perp order; every field can be overridden."""
    values: dict[str, object] = {
        "account": 5,
        "instrument": PERP,
        "side": Side.SELL,
        "price": usd(3000),
        "size": base(2, 2),
        "max_fee_ppm": 1_000,
        "expiry": T + 3600,
        "slot": 3,
        "nonce": 9,
    }
    values.update(fields)
    return sign_order(Order(**values), KEY, SEP)  # type: ignore[arg-type]


def taker_for(maker: SignedOrder, **fields: object) -> SignedOrder:
    """A taker for ``maker``: the other side, at the maker's price unless given."""
    defaults: dict[str, object] = {
        "account": 6,
        "side": maker.order.side.opposite,
        "instrument": maker.order.instrument,
        "price": maker.order.price,
        "size": base(1, 2),
    }
    return order(**{**defaults, **fields})


def in_batch(*txs: Tx, table: tuple[tuple[int, int, int], ...] = TABLE) -> tuple[bytes, ...]:
    """Encode ``txs`` as one block at ``T``; check the batch round trip; the tx bytes."""
    batch = Batch(31337, 1, (BatchBlock(T, 1, txs),), table)
    encoded = encode_batch(batch, SEP)
    decoded, tx_bytes = decode_batch(encoded.data, SEP)
    assert decoded.blocks == batch.blocks
    assert tx_bytes == encoded.tx_bytes
    return encoded.tx_bytes


def signature_of(tx: Tx) -> bytes | None:
    return getattr(tx, "signature", None)


# -- every tx type round-trips ---------------------------------------------------------


def test_the_catalogue_has_every_tx_type() -> None:
    # An unreadable L1 input is no tx with an encoding: its bytes are its own.
    assert {type(tx) for tx in TXS.values()} == set(typing.get_args(Tx)) - {Unreadable}
    owner_types = (Withdraw, Transfer, RegisterKey, RevokeKey, NonceFloor, SetMarginMode)
    for tx_type in owner_types:
        signatures = [signature_of(tx) for tx in TXS.values() if type(tx) is tx_type]
        assert None in signatures and any(s is not None for s in signatures), tx_type


def test_an_unreadable_input_or_item_is_its_bytes() -> None:
    """An L1 input or a batch item that does not decode is posted as it came: alone
    or in a batch, it is its own bytes, and it decodes back to itself."""
    data = b"\x0c" + b"not a listing"
    assert encode_standalone(Unreadable(data), SEP) == data
    fill = TXS["fill-whole"]
    items = in_batch(fill, Unreadable(data), TXS["settle-account"])
    assert items[1] == data


@pytest.mark.parametrize("name", list(TXS))
def test_standalone_round_trip(name: str) -> None:
    tx = TXS[name]
    data = encode_standalone(tx, SEP)
    decoded = decode_standalone(data, SEP)
    assert decoded == tx
    assert type(decoded) is type(tx)
    assert encode_standalone(decoded, SEP) == data


@pytest.mark.parametrize("name", list(TXS))
def test_every_proper_prefix_is_refused(name: str) -> None:
    data = encode_standalone(TXS[name], SEP)
    for end in range(len(data)):
        with pytest.raises(DecodeError):
            decode_standalone(data[:end], SEP)
    with pytest.raises(Oversized):
        decode_standalone(data + b"\x00", SEP)


def test_decoded_orders_carry_their_digest() -> None:
    for name in ("fill", "fill-whole", "liquidate"):
        decoded = decode_standalone(encode_standalone(TXS[name], SEP), SEP)
        orders = [decoded.maker] + ([decoded.taker] if isinstance(decoded, Fill) else [])
        for signed in orders:
            assert signed.digest == signed.order.digest(SEP)


# -- layouts, field by field -----------------------------------------------------------


def test_deposit_layout() -> None:
    tx = TXS["deposit"]
    assert isinstance(tx, Deposit)
    assert encode_standalone(tx, SEP) == (
        b"\x0b" + uint(tx.deposit_id, 8) + tx.owner + uint(tx.amount, 8)
    )


def test_withdraw_layout_signed_and_forced() -> None:
    tx = TXS["withdraw"]
    assert isinstance(tx, Withdraw) and tx.signature is not None
    fields = uint(tx.account, 4) + uint(tx.amount, 8) + uint(tx.nonce, 4)
    assert encode_standalone(tx, SEP) == b"\x01" + fields + compact(tx.signature)
    forced = dataclasses.replace(tx, signature=None)
    assert encode_standalone(forced, SEP) == b"\x41" + fields


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("withdraw", 0x01),
        ("transfer", 0x02),
        ("register-key", 0x03),
        ("revoke-key", 0x04),
        ("nonce-floor", 0x05),
        ("margin-mode", 0x06),
    ],
)
def test_owner_kinds_set_the_unsigned_bit_when_forced(name: str, kind: int) -> None:
    signed = TXS[name]
    sig = signature_of(signed)
    assert sig is not None
    forced = dataclasses.replace(signed, signature=None)  # type: ignore[type-var]
    signed_bytes = encode_standalone(signed, SEP)
    forced_bytes = encode_standalone(forced, SEP)
    assert signed_bytes[0] == kind and forced_bytes[0] == kind | 0x40
    assert signed_bytes == bytes([kind]) + forced_bytes[1:] + compact(sig)
    assert decode_standalone(forced_bytes, SEP) == forced


def wide_fields(o: Order) -> bytes:
    """A wide order's fields after the head, instrument and price."""
    return (
        uint(o.size, 8)
        + uint(o.max_fee_ppm, 4)
        + uint(o.expiry, 8)
        + uint(o.slot, 2)
        + uint(o.nonce, 4)
    )


def test_standalone_fill_layout() -> None:
    """No table in a standalone encoding: both orders wide, the size a u64; the taker
    buys at the maker's price, so its price is a head bit."""
    fill = TXS["fill"]
    assert isinstance(fill, Fill)
    maker, taker = fill.maker.order, fill.taker.order
    assert taker.price == maker.price
    maker_bytes = (
        bytes([0x20 | Side.SELL])  # wide, no flags, sells
        + uint(maker.account, 4)
        + uint(maker.instrument, 2)
        + uint(maker.price, 8)
        + uint(maker.size, 8)
        + uint(maker.max_fee_ppm, 4)
        + uint(maker.expiry, 8)
        + uint(maker.slot, 2)
        + uint(maker.nonce, 4)
    )
    assert maker_bytes[1 + 4 + 2 + 8 :] == wide_fields(maker)
    # wide, IOC, at the maker's price; the side is implied
    taker_bytes = (
        bytes([0x20 | int(OrderFlags.IOC) << 1 | AT_MAKER_PRICE])
        + uint(taker.account, 4)
        + wide_fields(taker)
    )
    assert len(maker_bytes) == WIDE_MAKER and len(taker_bytes) == WIDE_TAKER_AT_PRICE
    body = maker_bytes + compact(fill.maker.signature) + taker_bytes + compact(fill.taker.signature)
    kind = FILL_BIT | NEW << 5 | NEW << 3
    assert encode_standalone(fill, SEP) == bytes([kind | WIDE_SIZE]) + body + uint(fill.size, 8)
    whole = TXS["fill-whole"]
    assert encode_standalone(whole, SEP) == bytes([kind | WHOLE]) + body
    # a taker through the maker's price writes its own
    through = TXS["fill-through"]
    assert isinstance(through, Fill) and through.taker.order.price != maker.price
    t = through.taker.order
    taker_bytes = bytes([0x20]) + uint(t.account, 4) + uint(t.price, 8) + wide_fields(t)
    assert len(taker_bytes) == WIDE_TAKER
    assert encode_standalone(through, SEP) == (
        bytes([kind | WHOLE])
        + maker_bytes
        + compact(through.maker.signature)
        + taker_bytes
        + compact(through.taker.signature)
    )


def test_narrow_fill_layout() -> None:
    maker = order(account=5, price=usd(3000), size=base(2, 2), expiry=T + 3600)
    taker = taker_for(maker, flags=OrderFlags.FOK, expiry=T, price=usd(3000) + 2 * PERP_TICK)
    fill = Fill(maker, taker, base(1, 2) // 2)  # half the taker: 50 lots
    (data,) = in_batch(fill)
    m, t = maker.order, taker.order
    expected = (
        bytes([FILL_BIT | NEW << 5 | NEW << 3])
        + bytes([Side.SELL])
        + uint(m.account, 3)
        + uint(0, 1)  # the instrument's index in the table
        + uint(m.price // PERP_TICK, 4)
        + uint(m.size // PERP_LOT, 3)
        + uint(m.max_fee_ppm, 2)
        + uint(3600, 3)  # expiry - block time
        + uint(m.slot, 2)
        + uint(m.nonce, 3)
        + compact(maker.signature)
        + bytes([int(OrderFlags.FOK) << 1])
        + uint(t.account, 3)
        + uint(t.price // PERP_TICK, 4)
        + uint(t.size // PERP_LOT, 3)
        + uint(t.max_fee_ppm, 2)
        + uint(0, 3)
        + uint(t.slot, 2)
        + uint(t.nonce, 3)
        + compact(taker.signature)
        + uint(fill.size // PERP_LOT, 3)
    )
    assert data == expected
    assert len(data) == 1 + NARROW_MAKER + SIGNATURE + NARROW_TAKER + SIGNATURE + 3
    # the same taker at the maker's price: bit 0 of its head, no ticks
    at_price = taker_for(maker, flags=OrderFlags.FOK, expiry=T)
    (data,) = in_batch(Fill(maker, at_price, fill.size))
    taker_at = 1 + NARROW_MAKER + SIGNATURE
    assert data[:taker_at] == expected[:taker_at]
    assert data[taker_at : taker_at + NARROW_TAKER_AT_PRICE] == (
        bytes([int(OrderFlags.FOK) << 1 | AT_MAKER_PRICE])
        + uint(at_price.order.account, 3)
        + uint(at_price.order.size // PERP_LOT, 3)
        + uint(at_price.order.max_fee_ppm, 2)
        + uint(0, 3)
        + uint(at_price.order.slot, 2)
        + uint(at_price.order.nonce, 3)
    )
    assert len(data) == taker_at + NARROW_TAKER_AT_PRICE + SIGNATURE + 3


# -- signatures ------------------------------------------------------------------------


def test_sign_digest_signatures_use_v_27_28() -> None:
    vs = {sig[64] for tx in TXS.values() if (sig := signature_of(tx)) is not None}
    assert vs <= {27, 28} and vs
    oracle = TXS["oracle"]
    assert isinstance(oracle, OracleUpdate)
    assert {sig[64] for sig in oracle.signatures} <= {27, 28}


@pytest.mark.parametrize("name", [n for n, tx in CAT.txs if signature_of(tx) is not None])
def test_parity_v_decodes_as_27_or_28(name: str) -> None:
    tx = TXS[name]
    signature = signature_of(tx)
    assert signature is not None
    raw_v = dataclasses.replace(tx, signature=with_parity_v(signature))  # type: ignore[type-var]
    assert raw_v != tx
    data = encode_standalone(raw_v, SEP)
    assert data == encode_standalone(tx, SEP)
    assert decode_standalone(data, SEP) == tx


def test_parity_v_orders_and_oracle_signatures_decode_as_27_or_28() -> None:
    fill = TXS["fill"]
    assert isinstance(fill, Fill)
    raw = Fill(
        dataclasses.replace(fill.maker, signature=with_parity_v(fill.maker.signature)),
        dataclasses.replace(fill.taker, signature=with_parity_v(fill.taker.signature)),
        fill.size,
    )
    assert raw != fill
    assert decode_standalone(encode_standalone(raw, SEP), SEP) == fill
    oracle = TXS["oracle"]
    assert isinstance(oracle, OracleUpdate)
    raw_oracle = dataclasses.replace(
        oracle, signatures=tuple(with_parity_v(s) for s in oracle.signatures)
    )
    assert decode_standalone(encode_standalone(raw_oracle, SEP), SEP) == oracle


def test_high_s_signature_cannot_be_encoded() -> None:
    withdraw = TXS["withdraw"]
    assert isinstance(withdraw, Withdraw) and withdraw.signature is not None
    with pytest.raises(EncodeError):
        encode_standalone(
            dataclasses.replace(withdraw, signature=high_s_twin(withdraw.signature)), SEP
        )
    fill = TXS["fill"]
    assert isinstance(fill, Fill)
    bad_maker = dataclasses.replace(fill.maker, signature=high_s_twin(fill.maker.signature))
    with pytest.raises(EncodeError):
        encode_standalone(dataclasses.replace(fill, maker=bad_maker), SEP)
    with pytest.raises(EncodeError):
        in_batch(dataclasses.replace(fill, maker=bad_maker))
    oracle = TXS["oracle"]
    assert isinstance(oracle, OracleUpdate)
    twins = (high_s_twin(oracle.signatures[0]), *oracle.signatures[1:])
    with pytest.raises(EncodeError):
        encode_standalone(dataclasses.replace(oracle, signatures=twins), SEP)
    # s = n/2 is the largest low s: it has a compact form
    edge = withdraw.signature[:32] + HALF_N.to_bytes(32, "big") + b"\x1c"
    assert decode_standalone(
        encode_standalone(dataclasses.replace(withdraw, signature=edge), SEP), SEP
    ) == dataclasses.replace(withdraw, signature=edge)


@pytest.mark.parametrize("v", [2, 26, 29, 255])
def test_a_v_outside_0_1_27_28_cannot_be_encoded(v: int) -> None:
    withdraw = TXS["withdraw"]
    assert isinstance(withdraw, Withdraw) and withdraw.signature is not None
    with pytest.raises(EncodeError):
        encode_standalone(
            dataclasses.replace(withdraw, signature=withdraw.signature[:64] + bytes([v])), SEP
        )


def _high_s_variants() -> list[tuple[str, bytes]]:
    """Standalone encodings whose compact ``s`` is ``n/2 + 1`` (parity 0)."""
    high = uint(SECP256K1_HALF_N + 1, 32)
    withdraw = encode_standalone(TXS["withdraw"], SEP)
    fill = encode_standalone(TXS["fill-whole"], SEP)
    maker_s = 1 + WIDE_MAKER + 32
    oracle = encode_standalone(TXS["oracle-index-only"], SEP)
    return [
        ("owner tx", withdraw[:-32] + high),
        ("maker order", fill[:maker_s] + high + fill[maker_s + 32 :]),
        ("oracle report", oracle[:-32] + high),
    ]


@pytest.mark.parametrize(
    ("where", "data"), [pytest.param(w, d, id=w) for w, d in _high_s_variants()]
)
def test_high_s_compact_signature_is_refused_on_decode(where: str, data: bytes) -> None:
    """BUG: the encoder refuses high-s signatures (they have no compact form), but the
    decoder accepts a compact ``s`` above n/2, so these bytes decode to a tx that
    cannot be encoded again (``encode(decode(b))`` raises EncodeError). The decoder
    should raise NonCanonical for ``s > SECP256K1_HALF_N``."""
    try:
        tx = decode_standalone(data, SEP)
    except DecodeError:
        return
    with pytest.raises(EncodeError):
        encode_standalone(tx, SEP)
    pytest.fail(f"{where}: a high-s signature decodes, and its tx cannot be re-encoded")


def test_encoded_zero_signature_decodes() -> None:
    """BUG: an order signed ``bytes(64) + v=0`` is written NEW with 64 zero bytes (the
    encoder compares with NO_SIGNATURE before normalising v), and the decoder refuses
    exactly those bytes ("a new order cannot carry the empty signature"). The encoder
    must write it resumed (its normalised form is NO_SIGNATURE) or raise EncodeError."""
    fill = TXS["fill-whole"]
    assert isinstance(fill, Fill)
    zero = dataclasses.replace(fill.maker, signature=bytes(65))
    try:
        data = encode_standalone(dataclasses.replace(fill, maker=zero), SEP)
    except EncodeError:
        return
    try:
        decoded = decode_standalone(data, SEP)
    except DecodeError as exc:
        pytest.fail(f"the encoder wrote bytes its decoder refuses: {exc!r}")
    assert decoded.maker.signature == NO_SIGNATURE


# -- narrow and wide orders ------------------------------------------------------------

TWO_24, TWO_32 = 1 << 24, 1 << 32
WIDTH_CASES = [
    ("on tick and lot", {}, True),
    ("account 2^24 - 1", {"account": TWO_24 - 1}, True),
    ("account 2^24", {"account": TWO_24}, False),
    ("account 2^32 - 1", {"account": TWO_32 - 1}, False),
    ("nonce 2^24 - 1", {"nonce": TWO_24 - 1}, True),
    ("nonce 2^24", {"nonce": TWO_24}, False),
    ("fee 2^16 - 1", {"max_fee_ppm": (1 << 16) - 1}, True),
    ("fee 2^16", {"max_fee_ppm": 1 << 16}, False),
    ("expiry at the block time", {"expiry": T}, True),
    ("expiry 2^24 - 1 s after", {"expiry": T + TWO_24 - 1}, True),
    ("expiry 2^24 s after", {"expiry": T + TWO_24}, False),
    ("expiry before the block", {"expiry": T - 1}, False),
    ("expiry max", {"expiry": 2**64 - 1}, False),
    ("off-tick price", {"price": usd(3000) + 1}, False),
    ("price 2^32 - 1 ticks", {"price": (TWO_32 - 1) * PERP_TICK}, True),
    ("price 2^32 ticks", {"price": TWO_32 * PERP_TICK}, False),
    ("off-lot size", {"size": base(2, 2) + 1}, False),
    ("size 2^24 - 1 lots", {"size": (TWO_24 - 1) * PERP_LOT}, True),
    ("huge size", {"size": TWO_24 * PERP_LOT}, False),
    ("size max", {"size": 2**64 - 1}, False),
    ("slot max", {"slot": 65535}, True),
    ("all flags allowed together", {"flags": OrderFlags.POST_ONLY | OrderFlags.REDUCE_ONLY}, True),
    ("instrument outside the table", {"instrument": 2}, False),
]


@pytest.mark.parametrize(
    ("fields", "narrow"), [c[1:] for c in WIDTH_CASES], ids=[c[0] for c in WIDTH_CASES]
)
def test_maker_width(fields: dict[str, object], narrow: bool) -> None:
    maker = order(**fields)
    (data,) = in_batch(Liquidate(7, maker, maker.order.size))
    head = 2 + 4 + 8  # kind, mode, account u32, size u64
    assert data[:2] == bytes([0x09, NEW])
    assert len(data) == head + (NARROW_MAKER if narrow else WIDE_MAKER) + SIGNATURE
    assert bool(data[head] & 0x20) is not narrow


@pytest.mark.parametrize(
    ("fields", "narrow"), [c[1:] for c in WIDTH_CASES], ids=[c[0] for c in WIDTH_CASES]
)
def test_taker_width(fields: dict[str, object], narrow: bool) -> None:
    """A taker trades the maker's instrument: the table case is the maker's, wide."""
    instrument = fields.get("instrument", PERP)
    maker = order(instrument=instrument, account=1)
    taker = taker_for(maker, **{k: v for k, v in fields.items() if k != "instrument"})
    (data,) = in_batch(Fill(maker, taker, taker.order.size))
    maker_len = NARROW_MAKER if instrument == PERP else WIDE_MAKER
    at_price = taker.order.price == maker.order.price
    assert len(data) == 1 + maker_len + taker_len(narrow, at_price) + 2 * SIGNATURE
    assert data[0] == FILL_BIT | NEW << 5 | NEW << 3 | WHOLE


@pytest.mark.parametrize(
    ("size", "wide"),
    [(base(1, 2) // 2, False), (PERP_LOT * (TWO_24 - 1), False), (PERP_LOT + 1, True)],
)
def test_fill_size_width(size: int, wide: bool) -> None:
    maker = order(size=PERP_LOT * TWO_24 * 2)  # wide maker, instrument in the table
    taker = taker_for(maker, size=PERP_LOT * TWO_24 * 2)
    (data,) = in_batch(Fill(maker, taker, size))
    assert bool(data[0] & WIDE_SIZE) is wide
    assert data[-(8 if wide else 3) :] == (uint(size, 8) if wide else uint(size // PERP_LOT, 3))


def taker_len(narrow: bool, at_maker_price: bool) -> int:
    if narrow:
        return NARROW_TAKER_AT_PRICE if at_maker_price else NARROW_TAKER
    return WIDE_TAKER_AT_PRICE if at_maker_price else WIDE_TAKER


def _fits(o: Order) -> bool:
    """The narrow rule, restated: every field fits its narrow width."""
    return (
        o.instrument == PERP
        and o.account < TWO_24
        and o.nonce < TWO_24
        and o.max_fee_ppm < 1 << 16
        and 0 <= o.expiry - T < TWO_24
        and o.price % PERP_TICK == 0
        and o.size % PERP_LOT == 0
        and o.price // PERP_TICK < TWO_32
        and o.size // PERP_LOT < TWO_24
    )


def _near(limit: int, scale: int = 1) -> st.SearchStrategy[int]:
    return st.integers(limit - 2, limit + 1).map(lambda v: max(v, 1) * scale)


FLAGS = st.sampled_from(
    [OrderFlags.NONE, OrderFlags.POST_ONLY, OrderFlags.REDUCE_ONLY, OrderFlags.IOC, OrderFlags.FOK]
)
orders = st.builds(
    Order,
    account=st.integers(0, 2**32 - 1) | _near(TWO_24),
    instrument=st.sampled_from([PERP, PERP, 2]),
    side=st.sampled_from(Side),
    price=st.integers(1, 2**64 - 1)
    | st.integers(1, 10**7).map(lambda v: v * PERP_TICK)
    | _near(TWO_32, PERP_TICK),
    size=st.integers(1, 2**64 - 1)
    | st.integers(1, 10**6).map(lambda v: v * PERP_LOT)
    | _near(TWO_24, PERP_LOT),
    max_fee_ppm=st.integers(0, 2**32 - 1) | _near(1 << 16),
    expiry=st.integers(0, 2**64 - 1) | st.integers(T - 2, T + TWO_24 + 1),
    slot=st.integers(0, 65535),
    nonce=st.integers(0, 2**32 - 1) | _near(TWO_24),
    flags=FLAGS,
)


@settings(max_examples=150, deadline=None)
@given(maker=orders, taker=orders, whole=st.booleans(), at_price=st.booleans())
def test_orders_round_trip_in_their_narrowest_form(
    maker: Order, taker: Order, whole: bool, at_price: bool
) -> None:
    taker = dataclasses.replace(
        taker,
        instrument=maker.instrument,
        side=maker.side.opposite,
        price=maker.price if at_price else taker.price,
    )
    signed_maker, signed_taker = sign_order(maker, KEY, SEP), sign_order(taker, KEY, SEP)
    size = taker.size if whole else max(1, taker.size // 3)
    fill = Fill(signed_maker, signed_taker, size)
    (data,) = in_batch(fill)  # asserts decode(encode(fill)) == fill
    maker_len = (NARROW_MAKER if _fits(maker) else WIDE_MAKER) + SIGNATURE
    taker_bytes = taker_len(_fits(taker), taker.price == maker.price) + SIGNATURE
    if size == taker.size:
        size_len = 0  # the whole flag
    elif maker.instrument == PERP and size % PERP_LOT == 0 and size // PERP_LOT < TWO_24:
        size_len = 3  # u24 lots
    else:
        size_len = 8
    assert len(data) == 1 + maker_len + taker_bytes + size_len
    assert decode_standalone(encode_standalone(fill, SEP), SEP) == fill


signatures = st.builds(
    lambda r, s, v: r + uint(s, 32) + bytes([v]),
    st.binary(min_size=32, max_size=32),
    st.integers(0, SECP256K1_HALF_N),
    st.sampled_from([27, 28]),
)
u32 = st.integers(0, 2**32 - 1)
owner_txs = st.one_of(
    st.builds(Withdraw, u32, st.integers(1, 2**64 - 1), u32, st.none() | signatures),
    st.builds(
        Transfer, st.just(1), st.just(2), st.integers(1, 2**64 - 1), u32, st.none() | signatures
    ),
    st.builds(
        RegisterKey,
        u32,
        st.integers(0, 255),
        st.binary(min_size=20, max_size=20).filter(any),
        u32,
        st.none() | signatures,
    ),
    st.builds(RevokeKey, u32, st.integers(0, 255), u32, st.none() | signatures),
    st.builds(NonceFloor, u32, u32, st.none() | signatures),
    st.builds(SetMarginMode, u32, st.booleans(), u32, st.none() | signatures),
)


@settings(max_examples=150, deadline=None)
@given(tx=owner_txs)
def test_owner_txs_round_trip(tx: Tx) -> None:
    data = encode_standalone(tx, SEP)
    assert decode_standalone(data, SEP) == tx
    assert bool(data[0] & 0x40) is (signature_of(tx) is None)


@settings(max_examples=60, deadline=None)
@given(
    entries=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 65535), st.integers(1, 2**64 - 1)),
        min_size=1,
        max_size=256,
        unique_by=lambda e: (e[0], e[1]),
    ),
    sigs=st.lists(signatures, min_size=1, max_size=5),
    timestamp=st.integers(0, 2**64 - 1),
)
def test_oracle_reports_round_trip(
    entries: list[tuple[int, int, int]], sigs: list[bytes], timestamp: int
) -> None:
    lists: list[list[tuple[int, int]]] = [[], [], []]
    for which, ident, value in sorted(entries):
        lists[which].append((ident, 10_000 + value % 4_990_001 if which == 2 else value))
    index, marks, vols = (tuple(x) for x in lists)
    tx = OracleUpdate(timestamp, index, marks, tuple(sigs), vols)
    data = encode_standalone(tx, SEP)
    entries_len = 10 * (len(index) + len(marks)) + 6 * len(vols)
    assert len(data) == 1 + 8 + 3 * 2 + entries_len + 1 + SIGNATURE * len(sigs)
    assert decode_standalone(data, SEP) == tx


# -- references and resumed orders -----------------------------------------------------


def test_a_repeated_maker_or_taker_is_a_two_byte_reference() -> None:
    maker = order(account=1, size=base(4, 2))
    taker = taker_for(maker, account=2, size=base(2, 2))
    other_taker = taker_for(maker, account=3)
    other_maker = order(account=4)
    txs = (
        Fill(maker, taker, base(1, 2)),
        Fill(maker, other_taker, base(1, 2)),
        Fill(other_maker, taker, base(1, 2)),
        Liquidate(9, other_maker, base(1, 2)),
    )
    first, second, third, fourth = in_batch(*strip_repeats(txs))
    assert first[0] == FILL_BIT | NEW << 5 | NEW << 3
    assert len(first) == 1 + NARROW_MAKER + NARROW_TAKER_AT_PRICE + 2 * SIGNATURE + 3
    # a reference is item << 1 | part: the second fill names item 0's maker (0)
    assert second[0] == FILL_BIT | REF << 5 | NEW << 3 | WHOLE
    assert second[1:3] == uint(0 << 1 | 0, 2)
    assert len(second) == 3 + NARROW_TAKER_AT_PRICE + SIGNATURE
    # the third fill's taker is item 0's taker (1)
    assert third[0] == FILL_BIT | NEW << 5 | REF << 3
    assert third[1 + NARROW_MAKER + SIGNATURE : 1 + NARROW_MAKER + SIGNATURE + 2] == uint(1, 2)
    assert len(third) == 1 + NARROW_MAKER + SIGNATURE + 2 + 3
    # the liquidation's maker is item 2's maker (4)
    assert fourth == bytes([0x09, REF]) + uint(9, 4) + uint(base(1, 2), 8) + uint(2 << 1, 2)


def test_a_taker_whose_maker_is_a_reference_is_not_referable() -> None:
    """A reference never leads to another: the taker of a fill whose maker is a
    reference cannot be named, so a later repeat of it is written resumed."""
    maker = order(account=1, size=base(4, 2))
    taker = taker_for(maker, account=2, size=base(2, 2))
    later = taker_for(maker, account=3, size=base(2, 2))
    txs = (
        Fill(maker, taker, base(1, 2)),
        Fill(maker, later, base(1, 2)),  # maker is a reference here
        Fill(later, taker_for(later, account=5), base(1, 2)),  # `later` rests, then fills
    )
    first, second, third = in_batch(*strip_repeats(txs))
    assert second[0] >> 5 & 3 == REF
    assert third[0] >> 5 & 3 == RESUMED
    # naming item 1's taker by hand instead makes the item unreadable
    kind = third[0] & ~(3 << 5) | REF << 5
    named = bytes([kind]) + uint(1 << 1 | 1, 2) + third[1 + NARROW_MAKER :]
    decoded, _ = decode_batch(assemble([(T, 1, [first, second, named])], TABLE), SEP)
    assert decoded.blocks[0].txs[2] == Unreadable(named)
    decoded, _ = decode_batch(assemble([(T, 1, [first, second, third])], TABLE), SEP)
    assert decoded.blocks[0].txs[2] == strip_repeats(txs)[2]


def test_a_resumed_order_has_no_signature() -> None:
    fill = TXS["fill-whole"]
    assert isinstance(fill, Fill)
    carried = dataclasses.replace(fill, maker=resumed(fill.maker))
    data = encode_standalone(carried, SEP)
    assert data[0] == FILL_BIT | RESUMED << 5 | NEW << 3 | WHOLE
    assert len(data) == 1 + WIDE_MAKER + WIDE_TAKER_AT_PRICE + SIGNATURE
    decoded = decode_standalone(data, SEP)
    assert decoded == carried
    assert decoded.maker.signature == NO_SIGNATURE
    # resumed, then repeated in the same batch: the repeat is a reference
    repeat = Fill(resumed(fill.maker), resumed(fill.taker), fill.size)
    again = in_batch(carried, repeat)
    assert again[0][0] == FILL_BIT | RESUMED << 5 | NEW << 3 | WHOLE
    assert again[1] == bytes([FILL_BIT | REF << 5 | REF << 3 | WHOLE]) + uint(0, 2) + uint(1, 2)


def test_a_repeat_in_a_batch_carries_no_signature() -> None:
    """A reference decodes as a repeat fill (NO_SIGNATURE): the STF proves it by the
    slot. An order that comes back *signed* (its first fill may have been rejected, so
    its slot does not hold it) is written new again, signature and all."""
    fill = TXS["fill-whole"]
    assert isinstance(fill, Fill)
    signed_twice = in_batch(fill, fill)
    assert signed_twice[0] == signed_twice[1]
    batch, _ = decode_batch(assemble([(T, 1, signed_twice)], TABLE), SEP)
    assert batch.blocks[0].txs == (fill, fill)
    first, second = in_batch(*strip_repeats([fill, fill]))
    assert second == bytes([FILL_BIT | REF << 5 | REF << 3 | WHOLE]) + uint(0, 2) + uint(1, 2)
    assert len(first) == 1 + NARROW_MAKER + NARROW_TAKER_AT_PRICE + 2 * SIGNATURE
    batch, _ = decode_batch(assemble([(T, 1, [first, second])], TABLE), SEP)
    decoded_first, decoded_second = batch.blocks[0].txs
    assert decoded_first == fill
    assert decoded_second == Fill(resumed(fill.maker), resumed(fill.taker), fill.size)


def test_a_new_order_with_the_empty_signature_is_refused() -> None:
    data = bytearray(encode_standalone(TXS["fill-whole"], SEP))
    data[1 + WIDE_MAKER : 1 + WIDE_MAKER + SIGNATURE] = bytes(SIGNATURE)
    with pytest.raises(NonCanonical, match="empty signature"):
        decode_standalone(bytes(data), SEP)


# -- canonicality ----------------------------------------------------------------------


def test_a_wide_order_that_fits_narrow_is_refused() -> None:
    fill = Fill(order(), taker_for(order()), base(1, 2))
    wide = encode_tx(fill, TxContext(SEP, T))  # no table: both orders written wide
    assert len(wide) == 1 + WIDE_MAKER + WIDE_TAKER_AT_PRICE + 2 * SIGNATURE
    decoded, _ = decode_batch(assemble([(T, 1, [wide])]), SEP)  # without a table: fine
    assert decoded.blocks[0].txs == (fill,)
    with pytest.raises(NonCanonical, match="wide but fits narrow"):
        decode_tx(Reader(wide), batch_context(SEP, TABLE, T))
    decoded, _ = decode_batch(assemble([(T, 1, [wide])], TABLE), SEP)  # an unreadable item
    assert decoded.blocks[0].txs == (Unreadable(wide),)
    # the taker alone written wide
    narrow = encode_tx(fill, batch_context(SEP, TABLE, T))
    maker_part = narrow[: 1 + NARROW_MAKER + SIGNATURE]
    taker_part = wide[1 + WIDE_MAKER + SIGNATURE :]
    with pytest.raises(NonCanonical, match="wide but fits narrow"):
        decode_tx(Reader(maker_part + taker_part), batch_context(SEP, TABLE, T))


def test_a_wide_fill_size_that_fits_narrow_is_refused() -> None:
    fill = Fill(order(), taker_for(order()), PERP_LOT * 7)
    narrow = encode_tx(fill, batch_context(SEP, TABLE, T))
    assert narrow[-3:] == uint(7, 3)
    wide = bytes([narrow[0] | WIDE_SIZE]) + narrow[1:-3] + uint(PERP_LOT * 7, 8)
    with pytest.raises(NonCanonical):
        decode_tx(Reader(wide), batch_context(SEP, TABLE, T))


def test_a_taker_at_the_maker_price_must_use_the_flag() -> None:
    """A taker's head bit 0 is not a side (that is the maker's opposite) but "at the
    maker's price"; writing that price out instead is refused."""
    through = TXS["fill-through"]
    assert isinstance(through, Fill)
    data = bytearray(encode_standalone(through, SEP))
    taker_head = 1 + WIDE_MAKER + SIGNATURE
    price_at = taker_head + 1 + 4
    assert data[taker_head] & AT_MAKER_PRICE == 0
    assert data[price_at : price_at + 8] == uint(through.taker.order.price, 8)
    data[price_at : price_at + 8] = uint(through.maker.order.price, 8)
    with pytest.raises(NonCanonical, match="must set the flag"):
        decode_standalone(bytes(data), SEP)
    # in a batch, narrow: the same with u32 ticks
    narrow = bytearray(encode_tx(through, batch_context(SEP, TABLE, T)))
    ticks_at = 1 + NARROW_MAKER + SIGNATURE + 1 + 3
    assert narrow[ticks_at : ticks_at + 4] == uint(through.taker.order.price // PERP_TICK, 4)
    narrow[ticks_at : ticks_at + 4] = uint(through.maker.order.price // PERP_TICK, 4)
    with pytest.raises(NonCanonical, match="must set the flag"):
        decode_tx(Reader(bytes(narrow)), batch_context(SEP, TABLE, T))
    # the flag on a taker's head never means a side: the decoded taker is the opposite
    decoded = decode_standalone(encode_standalone(TXS["fill"], SEP), SEP)
    assert decoded.taker.order.side == decoded.maker.order.side.opposite


@pytest.mark.parametrize(
    "maker_price",
    [usd(3000) + 1, 2**32 * PERP_TICK],
    ids=["off-tick maker price", "maker price of 2^32 ticks"],
)
def test_a_narrow_taker_at_an_off_grid_maker_price_is_refused(maker_price: int) -> None:
    """BUG: a taker at the maker's price inherits that price, and the decoder does not
    check that a *narrow* taker's inherited price is on the grid. When the maker's
    price is off the tick grid (or too many ticks for u32) the encoder writes the
    taker wide; hand-written narrow, the same taker decodes too, so one fill has two
    encodings. The decoder should refuse a narrow taker whose price does not fit."""
    maker = order(price=maker_price)
    taker = taker_for(maker, price=maker_price)
    fill = Fill(maker, taker, taker.order.size)
    (canonical,) = in_batch(fill)
    assert len(canonical) == 1 + WIDE_MAKER + WIDE_TAKER_AT_PRICE + 2 * SIGNATURE
    t = taker.order
    narrow_taker = (
        bytes([AT_MAKER_PRICE])
        + uint(t.account, 3)
        + uint(t.size // PERP_LOT, 3)
        + uint(t.max_fee_ppm, 2)
        + uint(t.expiry - T, 3)
        + uint(t.slot, 2)
        + uint(t.nonce, 3)
    )
    assert len(narrow_taker) == NARROW_TAKER_AT_PRICE
    crafted = canonical[: 1 + WIDE_MAKER + SIGNATURE] + narrow_taker + compact(taker.signature)
    try:
        decoded = decode_tx(Reader(crafted), batch_context(SEP, TABLE, T))
    except DecodeError:
        return
    assert decoded == fill
    assert encode_tx(decoded, batch_context(SEP, TABLE, T)) == crafted, (
        "two encodings of one fill: the narrow taker decodes, and re-encodes wide"
    )


def test_an_order_written_new_twice_in_a_batch_round_trips() -> None:
    """Two signed fills of one maker order: the second is written new again (the
    encoder cannot know the first settled); stripped of its signature it is a
    reference. Both forms decode to exactly what was encoded."""
    maker = order(account=1, size=base(4, 2))
    fills = [Fill(maker, taker_for(maker, account=a), base(1, 2)) for a in (2, 3)]
    canonical = in_batch(*strip_repeats(fills))
    assert canonical[1][0] >> 5 & 3 == REF
    twice = in_batch(*fills)
    assert twice[1][0] >> 5 & 3 == NEW
    for blocks in ([(T, 1, twice)], [(T, 1, twice[:1]), (T, 1, twice[1:])]):
        batch, _ = decode_batch(assemble(blocks, TABLE), SEP)
        assert [tx for b in batch.blocks for tx in b.txs] == fills


def test_a_repeat_written_resumed_instead_of_a_reference_decodes_the_same() -> None:
    """Whether a resumed order could have been a reference is not checked (that needs
    every earlier item): both forms decode to the same repeat fill."""
    maker = order(account=1, size=base(4, 2))
    fills = strip_repeats([Fill(maker, taker_for(maker, account=a), base(1, 2)) for a in (2, 3)])
    first, second = in_batch(*fills)
    assert second[0] >> 5 & 3 == REF
    resumed_second = encode_tx(
        Fill(resumed(maker), fills[1].taker, fills[1].size), batch_context(SEP, TABLE, T)
    )
    assert resumed_second[0] >> 5 & 3 == RESUMED
    one, _ = decode_batch(assemble([(T, 1, [first, second])], TABLE), SEP)
    other, _ = decode_batch(assemble([(T, 1, [first, resumed_second])], TABLE), SEP)
    assert one.blocks == other.blocks


def test_a_reference_to_no_referable_part_makes_the_item_unreadable() -> None:
    maker = order(account=1, size=base(4, 2))
    taker = taker_for(maker, account=2, size=base(2, 2))
    first, second = in_batch(
        Fill(maker, taker, base(1, 2)),
        Fill(resumed(maker), taker_for(maker, account=3), base(1, 2)),
    )
    assert second[1:3] == uint(0, 2)
    # item 1 (itself), item 2 (later), item 0's taker as a maker (the same side as...
    # a maker may name a taker part: it is the order's fields), and out of range
    for ref in (1 << 1, 2 << 1, 5, 65535):
        bad = second[:1] + uint(ref, 2) + second[3:]
        decoded, _ = decode_batch(assemble([(T, 1, [first, bad])], TABLE), SEP)
        assert decoded.blocks[0].txs[1] == Unreadable(bad), ref
        with pytest.raises(BadReference):
            decode_tx(Reader(bad), _after(first, 1))
    # a maker part of an unreadable item is still referable if it decodes
    broken_first = first[:-3]  # its size cut: the item does not decode, its maker does
    decoded, _ = decode_batch(assemble([(T, 1, [broken_first, second])], TABLE), SEP)
    assert isinstance(decoded.blocks[0].txs[0], Unreadable)
    assert isinstance(decoded.blocks[0].txs[1], Fill)
    with pytest.raises(BadReference):  # a standalone tx has no items to name
        decode_standalone(bytes([FILL_BIT | REF << 5 | NEW << 3 | WHOLE]) + uint(0, 2), SEP)


def _after(first: bytes, item: int) -> TxContext:
    """The batch context after item 0 (``first``), reading item ``item``."""
    ctx = batch_context(SEP, TABLE, T)
    decode_tx(Reader(first), ctx)
    ctx.item = item
    return ctx


def test_a_narrow_order_needs_an_instrument_table() -> None:
    narrow = encode_tx(TXS["fill-whole"], batch_context(SEP, TABLE, T))
    with pytest.raises(BadReference, match="instrument index"):
        decode_standalone(narrow, SEP)
    maker_wide = encode_standalone(TXS["fill-whole"], SEP)[: 1 + WIDE_MAKER + SIGNATURE]
    taker_narrow = narrow[1 + NARROW_MAKER + SIGNATURE :]
    with pytest.raises(BadReference, match="not in the batch's table"):
        decode_standalone(maker_wide + taker_narrow, SEP)


def test_whole_size_flag_and_explicit_sizes() -> None:
    whole = encode_standalone(TXS["fill-whole"], SEP)
    fill = TXS["fill-whole"]
    assert isinstance(fill, Fill)
    assert whole[0] & WHOLE
    # whole and a size: the wide-size bit with the whole bit is a reserved combination
    with pytest.raises(UnknownKind):
        decode_standalone(bytes([whole[0] | WIDE_SIZE]) + whole[1:] + uint(fill.size, 8), SEP)
    # whole, and a size written after it anyway: bytes left over
    with pytest.raises(Oversized):
        decode_standalone(whole + uint(fill.size, 8), SEP)
    # an explicit size equal to the taker's whole size
    with pytest.raises(NonCanonical, match="whole flag"):
        decode_standalone(
            bytes([whole[0] & ~WHOLE | WIDE_SIZE]) + whole[1:] + uint(fill.size, 8), SEP
        )
    narrow = encode_tx(fill, batch_context(SEP, TABLE, T))
    explicit = bytes([narrow[0] & ~WHOLE]) + narrow[1:] + uint(fill.size // PERP_LOT, 3)
    with pytest.raises(NonCanonical, match="whole flag"):
        decode_tx(Reader(explicit), batch_context(SEP, TABLE, T))


KNOWN_KINDS = set(range(0x01, 0x12)) | set(range(0x41, 0x47))


@pytest.mark.parametrize("kind", range(256))
def test_kind_byte(kind: int) -> None:
    """Each of the 256 kind bytes: which are refused as unknown before any field."""
    if kind & FILL_BIT:
        unknown = bool(kind & 0x01) or kind & 0x06 == 0x06 or kind >> 5 & 3 == 3
    else:
        unknown = kind not in KNOWN_KINDS
    data = bytes([kind]) + b"\x01" * 400
    if unknown:
        with pytest.raises(UnknownKind):
            decode_standalone(data, SEP)
    else:
        # filler fields: some other refusal (no table, a non-tuple, bytes left over...)
        with pytest.raises(DecodeError) as info:
            decode_standalone(data, SEP)
        assert not isinstance(info.value, UnknownKind)


def test_reserved_bits_are_refused() -> None:
    fill = encode_standalone(TXS["fill-whole"], SEP)
    for bit in (0x40, 0x80):
        with pytest.raises(UnknownKind, match="reserved"):
            decode_standalone(fill[:1] + bytes([fill[1] | bit]) + fill[2:], SEP)
    taker_mode_3 = bytes([fill[0] | 3 << 3]) + fill[1:]
    with pytest.raises(UnknownKind, match="order mode 3"):
        decode_standalone(taker_mode_3, SEP)
    liquidate = encode_standalone(TXS["liquidate"], SEP)
    assert liquidate[1] == NEW
    with pytest.raises(UnknownKind, match="mode 3"):
        decode_standalone(liquidate[:1] + b"\x03" + liquidate[2:], SEP)
    margin = encode_standalone(TXS["margin-mode-forced"], SEP)
    assert margin[5] == 0  # kind, account u32, then the portfolio byte
    with pytest.raises(NonCanonical):
        decode_standalone(margin[:5] + b"\x02" + margin[6:], SEP)


def test_governance_values_are_checked() -> None:
    params = encode_standalone(TXS["set-instrument-params"], SEP)
    assert params.endswith(b"\x01\x00")  # active = False, the last field
    with pytest.raises(NonCanonical, match="bool"):
        decode_standalone(params[:-1] + b"\x02", SEP)
    for tag in (0, 6, 255):
        with pytest.raises(UnknownKind, match="value tag"):
            decode_standalone(params[:1] + bytes([tag]) + params[2:], SEP)
    # a tuple claiming more items than there are bytes
    with pytest.raises(InvalidTx, match="cannot fit"):
        decode_standalone(b"\x10\x05" + uint(2**32 - 1, 4), SEP)
    # nesting deeper than a listing needs
    deep = b"\x05" + uint(1, 4)
    with pytest.raises(InvalidTx, match="nest"):
        decode_standalone(b"\x10" + deep * 4 + b"\x05" + uint(0, 4), SEP)
    # text must be UTF-8
    chain = TXS["list-option-chain"]
    data = encode_standalone(chain, SEP)
    text = b"\x04" + uint(3, 4) + b"ETH"
    assert data.count(text) == 1
    with pytest.raises(InvalidTx, match="UTF-8"):
        decode_standalone(data.replace(text, b"\x04" + uint(3, 4) + b"\xffTH"), SEP)
    # a field of the wrong type is refused by the tx's own constructor
    with pytest.raises(InvalidTx):
        decode_standalone(data.replace(text, b"\x03" + uint(3, 4) + b"ETH"), SEP)


def test_listing_kind_written_as_a_bool_is_refused() -> None:
    """BUG: a listing's ``kind`` written as the bool ``True`` (tag 0x01) instead of the
    int 1 (tag 0x02) decodes, because ``InstrumentKind(True)`` is PERPETUAL; the tx
    re-encodes with the int tag, so one listing has two encodings."""
    listing = TXS["list-instrument"]
    assert isinstance(listing, ListInstrument)
    fields = list(listing.instrument)
    canonical = encode_standalone(listing, SEP)
    as_bool = (
        b"\x0c"
        + b"\x05"
        + uint(1, 4)
        + b"\x05"
        + uint(len(fields), 4)
        + b"".join(
            encode_value(True) if name == "kind" else encode_value(v)
            for name, v in zip(type(listing.instrument)._fields, fields, strict=True)
        )
    )
    assert as_bool != canonical
    try:
        tx = decode_standalone(as_bool, SEP)
    except DecodeError:
        return
    assert encode_standalone(tx, SEP) == as_bool, "two encodings of one listing"


def test_a_listing_of_the_wrong_shape_is_refused() -> None:
    spec = perp_spec()
    for value in ((), (tuple(spec), tuple(spec)), (tuple(spec)[:-1],), (5,)):
        with pytest.raises(InvalidTx):
            decode_standalone(b"\x0c" + encode_value(value), SEP)
    with pytest.raises(InvalidTx, match="kind"):
        decode_standalone(b"\x0c" + encode_value((tuple(spec._replace(kind=9)),)), SEP)
    with pytest.raises(InvalidTx):  # a governance tx is a tuple
        decode_standalone(b"\x0f" + encode_value(5), SEP)


def test_a_wrong_carried_digest_is_refused_by_the_encoder() -> None:
    """Regression (review of #4): the encoder trusted ``SignedOrder.digest`` while the
    decoder recomputes it, so a fill the STF rejected for its wrong digest was posted
    as bytes that decode to a valid fill, and the derived state diverged. The encoder
    now checks the digest; so it cannot mistake an order for another in the table."""
    fill = TXS["fill-whole"]
    assert isinstance(fill, Fill)
    stale = SignedOrder(fill.maker.order, fill.maker.signature, bytes(31) + b"\x01")
    with pytest.raises(EncodeError, match="digest"):
        encode_standalone(Fill(stale, fill.taker, fill.size), SEP)
    # an unsigned order carrying another order's digest would have been written as a
    # reference to that other order
    posing = SignedOrder(fill.taker.order, NO_SIGNATURE, fill.maker.digest)
    with pytest.raises(EncodeError, match="digest"):
        in_batch(fill, Fill(posing, fill.taker, fill.size))


@pytest.mark.parametrize("name", list(TXS))
def test_a_batch_carries_only_what_a_sequencer_may_send(name: str) -> None:
    """Deposits, governance txs, forced closes and unsigned owner txs come only from
    L1: in a batch they are unreadable items, whatever their bytes."""
    tx = TXS[name]
    item = encode_tx(tx, batch_context(SEP, TABLE, T))
    decoded, _ = decode_batch(assemble([(T, 1, [item])], TABLE), SEP)
    (got,) = decoded.blocks[0].txs
    assert got == (tx if sequenceable(tx) else Unreadable(item))
    signed = getattr(tx, "signature", "n/a")
    if isinstance(tx, Deposit | ForcedClose) or signed is None:
        assert not sequenceable(tx)
