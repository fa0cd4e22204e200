"""Bad input: every malformed, unsigned, wrongly signed, replayed, out-of-range or
misrouted tx is refused with a typed error and changes nothing (consensus.md §2, §9).

Constructors raise :class:`MalformedTx` for values outside their wire range; the STF
returns a rejection receipt (``ok=False``, the error's class name and Deribit code) and
leaves the state root as it was. The Hypothesis tests at the end feed random bytes and
integers into constructors and into ``apply_tx``: only ``ExchangeError`` may come out.
"""

from __future__ import annotations

from collections.abc import Callable

import coincurve
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from rollbook.crypto.eip712 import Domain
from rollbook.crypto.secp256k1 import (
    SECP256K1_N,
    address_of_public_key,
    private_key_address,
    sign_digest,
)
from rollbook.exchange import errors
from rollbook.exchange.env import TxEnv
from rollbook.exchange.errors import ExchangeError, MalformedTx
from rollbook.exchange.leaves import Instrument, InstrumentKind
from rollbook.exchange.orders import Order, SignedOrder, sign_order
from rollbook.exchange.stf import Receipt, apply_tx
from rollbook.exchange.txs import (
    MAX_ORACLE_ENTRIES,
    Backstop,
    Deposit,
    Fill,
    Liquidate,
    ListInstrument,
    NonceFloor,
    OracleUpdate,
    Origin,
    RegisterKey,
    RevokeKey,
    SetInstrumentParams,
    SetOracle,
    SetRiskParams,
    SettleAccount,
    Transfer,
    Tx,
    Withdraw,
    oracle_report_digest,
    sign_owner_tx,
)
from rollbook.exchange.types import OrderFlags, Side
from rollbook.sim.world import Trader, World, base, key_from_label, option_chain, perp_spec, usd

OTHER_DOMAIN = Domain("rollbook", "1", 1, bytes.fromhex("00" * 17 + "0b0b0b"))
STRANGER = key_from_label("stranger")
ADDRESS = private_key_address(STRANGER)


def make_world() -> tuple[World, Trader, Trader]:
    world = World()
    assert world.list_perp().ok
    assert world.set_prices(usd(2000)).ok
    return world, world.add_trader("alice", 10_000), world.add_trader("bob", 10_000)


def reject(
    world: World, tx: Tx, error: str, code: int, *, l1: bool = False, sender: bytes | None = None
) -> Receipt:
    root = world.state.root()
    receipt = world.l1(tx, sender) if l1 else world.l2(tx)
    assert not receipt.ok, receipt
    assert (receipt.error, receipt.code) == (error, code), receipt
    assert world.state.root() == root
    return receipt


def high_s(signature: bytes) -> bytes:
    """The malleated twin ``(r, n − s, v ^ 1)``: same signer, but high-s (EIP-2)."""
    s = int.from_bytes(signature[32:64], "big")
    return signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - signature[64]])


def with_signature(tx: Withdraw, signature: bytes) -> Withdraw:
    return Withdraw(tx.account, tx.amount, tx.nonce, signature)


def resign(signed: SignedOrder, signature: bytes) -> SignedOrder:
    return SignedOrder(signed.order, signature, signed.digest)


def crossing(world: World, maker: Trader, taker: Trader) -> tuple[SignedOrder, SignedOrder]:
    ask = world.order(maker, Side.SELL, usd(2000), base(1))
    bid = world.order(taker, Side.BUY, usd(2000), base(1))
    return ask, bid


# -- constructors ---------------------------------------------------------------------

ORDER = dict(
    account=1,
    instrument=1,
    side=Side.BUY,
    price=usd(2000),
    size=base(1),
    max_fee_ppm=1_000,
    expiry=10**9,
    slot=0,
    nonce=1,
)
SIG = bytes(64) + b"\x1b"

MALFORMED: list[tuple[str, Callable[[], object]]] = [
    ("order account < 0", lambda: Order(**ORDER | {"account": -1})),
    ("order account > u32", lambda: Order(**ORDER | {"account": 2**32})),
    ("order instrument > u16", lambda: Order(**ORDER | {"instrument": 2**16})),
    ("order side is a bare int", lambda: Order(**ORDER | {"side": 0})),
    ("order price 0", lambda: Order(**ORDER | {"price": 0})),
    ("order price > u64", lambda: Order(**ORDER | {"price": 2**64})),
    ("order price bool", lambda: Order(**ORDER | {"price": True})),
    ("order price str", lambda: Order(**ORDER | {"price": "2000"})),
    ("order size 0", lambda: Order(**ORDER | {"size": 0})),
    ("order max fee > u32", lambda: Order(**ORDER | {"max_fee_ppm": 2**32})),
    ("order expiry < 0", lambda: Order(**ORDER | {"expiry": -1})),
    ("order slot > u16", lambda: Order(**ORDER | {"slot": 2**16})),
    ("order nonce > u32", lambda: Order(**ORDER | {"nonce": 2**32})),
    ("order unknown flag", lambda: Order(**ORDER | {"flags": 16})),
    ("order IOC+FOK", lambda: Order(**ORDER | {"flags": OrderFlags.IOC | OrderFlags.FOK})),
    ("order post-only IOC", lambda: Order(**ORDER | {"flags": OrderFlags.POST_ONLY | 4})),
    ("deposit amount 0", lambda: Deposit(0, ADDRESS, 0)),
    ("deposit id < 0", lambda: Deposit(-1, ADDRESS, 1)),
    ("deposit owner 19 bytes", lambda: Deposit(0, ADDRESS[:19], 1)),
    ("deposit owner str", lambda: Deposit(0, "0x" + ADDRESS.hex(), 1)),
    ("withdraw amount 0", lambda: Withdraw(1, 0, 0)),
    ("withdraw amount > u64", lambda: Withdraw(1, 2**64, 0)),
    ("withdraw sig 64 bytes", lambda: Withdraw(1, 1, 0, bytes(64))),
    ("withdraw sig 66 bytes", lambda: Withdraw(1, 1, 0, bytes(66))),
    ("withdraw sig str", lambda: Withdraw(1, 1, 0, "00" * 65)),
    ("transfer to itself", lambda: Transfer(1, 1, 1, 0)),
    ("transfer nonce > u32", lambda: Transfer(1, 2, 1, 2**32)),
    ("register zero key", lambda: RegisterKey(1, 0, bytes(20), 0)),
    ("register key index > u8", lambda: RegisterKey(1, 256, ADDRESS, 0)),
    ("revoke key index < 0", lambda: RevokeKey(1, -1, 0)),
    ("nonce floor > u32", lambda: NonceFloor(1, 2**32)),
    ("fill size 0", lambda: Fill(None, None, 0)),
    ("liquidate size 0", lambda: Liquidate(1, None, 0)),
    ("backstop instrument > u16", lambda: Backstop(1, 2**16)),
    ("settle account < 0", lambda: SettleAccount(-1)),
    ("oracle no entries", lambda: OracleUpdate(1, (), (), (SIG,))),
    (
        "oracle too many entries",
        lambda: OracleUpdate(1, tuple((i, 1) for i in range(MAX_ORACLE_ENTRIES + 1)), (), (SIG,)),
    ),
    ("oracle unsorted", lambda: OracleUpdate(1, ((2, 1), (1, 1)), (), (SIG,))),
    ("oracle duplicate id", lambda: OracleUpdate(1, (), ((1, 1), (1, 1)), (SIG,))),
    ("oracle price 0", lambda: OracleUpdate(1, ((1, 0),), (), (SIG,))),
    ("oracle entry not a pair", lambda: OracleUpdate(1, ((1, 1, 1),), (), (SIG,))),
    ("oracle unsigned", lambda: OracleUpdate(1, ((1, 1),), (), ())),
    ("oracle short signature", lambda: OracleUpdate(1, ((1, 1),), (), (bytes(64),))),
    ("oracle timestamp > u64", lambda: OracleUpdate(2**64, ((1, 1),), (), (SIG,))),
]


@pytest.mark.parametrize("build", [b for _, b in MALFORMED], ids=[n for n, _ in MALFORMED])
def test_out_of_range_fields_raise_malformed_tx(build: Callable[[], object]) -> None:
    with pytest.raises(MalformedTx) as info:
        build()
    assert (type(info.value).__name__, info.value.code) == ("MalformedTx", 11029)


# -- signatures -----------------------------------------------------------------------


def test_unsigned_owner_tx_and_empty_order_signature() -> None:
    world, alice, bob = make_world()
    reject(world, Withdraw(alice.index, 1, 1), "BadSignature", 13009)
    ask, bid = crossing(world, bob, alice)
    # An empty signature cannot even be carried: the signed order refuses it.
    with pytest.raises(MalformedTx, match="65 bytes"):
        Fill(resign(ask, b""), bid, base(1))


def test_signed_by_another_key() -> None:
    world, alice, bob = make_world()
    tx = Withdraw(alice.index, 1, 1)
    reject(
        world,
        with_signature(tx, sign_owner_tx(tx, STRANGER, world.separator)),
        "BadSignature",
        13009,
    )
    # bob's owner key signing for alice's account
    reject(
        world,
        with_signature(tx, sign_owner_tx(tx, bob.owner_key, world.separator)),
        "BadSignature",
        13009,
    )
    order = world.order(bob, Side.SELL, usd(2000), base(1)).order
    forged = sign_order(order, STRANGER, world.separator)
    bid = world.order(alice, Side.BUY, usd(2000), base(1))
    reject(world, Fill(forged, bid, base(1)), "BadSignature", 13009)


def test_signed_in_another_domain() -> None:
    """A signature valid in one domain is never valid in another (chainId 1 ≠ 31337)."""
    world, alice, bob = make_world()
    other = OTHER_DOMAIN.separator()
    assert other != world.separator
    tx = Withdraw(alice.index, 1, 1)
    reject(
        world, with_signature(tx, sign_owner_tx(tx, alice.owner_key, other)), "BadSignature", 13009
    )
    order = world.order(bob, Side.SELL, usd(2000), base(1)).order
    bid = world.order(alice, Side.BUY, usd(2000), base(1))
    foreign = sign_order(order, bob.trading_key, other)
    # carried digest of the other domain: malformed
    reject(world, Fill(foreign, bid, base(1)), "MalformedTx", 11029)
    # this domain's digest with the other domain's signature: not by a key of the account
    reject(
        world,
        Fill(SignedOrder(order, foreign.signature, order.digest(world.separator)), bid, base(1)),
        "BadSignature",
        13009,
    )
    floor = NonceFloor(alice.index, 5)
    reject(
        world,
        NonceFloor(alice.index, 5, sign_owner_tx(floor, alice.owner_key, other)),
        "BadSignature",
        13009,
    )
    prices, marks = ((1, usd(2000)),), ((1, usd(2000)),)
    world.advance(1)
    digest = oracle_report_digest(other, world.now, prices, marks)
    sigs = tuple(sign_digest(k, digest) for k in world.oracle_keys)
    reject(world, OracleUpdate(world.now, prices, marks, sigs), "BadSignature", 13009)


def test_high_s_twin_is_refused() -> None:
    """EIP-2: s ≤ n/2. The twin (r, n−s, v^1) recovers the same key yet is refused."""
    world, alice, bob = make_world()
    tx = Withdraw(alice.index, 1, 1)
    good = sign_owner_tx(tx, alice.owner_key, world.separator)
    twin = high_s(good)
    digest = world.digest(tx.struct_hash())
    raw = coincurve.PublicKey.from_signature_and_message(
        twin[:64] + bytes([twin[64] - 27]), digest, hasher=None
    )
    assert address_of_public_key(raw.format(compressed=False)) == alice.owner  # a real twin
    reject(world, with_signature(tx, twin), "BadSignature", 13009)
    ask, bid = crossing(world, bob, alice)
    reject(world, Fill(resign(ask, high_s(ask.signature)), bid, base(1)), "BadSignature", 13009)
    assert world.l2(with_signature(tx, good)).ok


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda sig: bytes(32) + sig[32:],  # r = 0
        lambda sig: sig[:32] + bytes(32) + sig[64:],  # s = 0
        lambda sig: SECP256K1_N.to_bytes(32, "big") + sig[32:],  # r = n
        lambda sig: sig[:64] + b"\x1d",  # v = 29
        lambda sig: sig[:64] + b"\x02",  # v = 2
    ],
    ids=["r=0", "s=0", "r=n", "v=29", "v=2"],
)
def test_out_of_range_signature_parts(corrupt: Callable[[bytes], bytes]) -> None:
    world, alice, bob = make_world()
    tx = Withdraw(alice.index, 1, 1)
    good = sign_owner_tx(tx, alice.owner_key, world.separator)
    reject(world, with_signature(tx, corrupt(good)), "BadSignature", 13009)
    ask, bid = crossing(world, bob, alice)
    reject(world, Fill(resign(ask, corrupt(ask.signature)), bid, base(1)), "BadSignature", 13009)


def test_wrong_length_order_signatures() -> None:
    world, alice, bob = make_world()
    ask, bid = crossing(world, bob, alice)
    for signature in (ask.signature[:64], ask.signature + b"\x00"):
        with pytest.raises(MalformedTx, match="65 bytes"):
            resign(ask, signature)
    reject(world, Fill(resign(ask, bytes(65)), bid, base(1)), "BadSignature", 13009)


def test_tampered_order_fields() -> None:
    world, alice, bob = make_world()
    ask, bid = crossing(world, bob, alice)
    order = ask.order
    grown = Order(
        order.account,
        order.instrument,
        order.side,
        order.price,
        base(2),
        order.max_fee_ppm,
        order.expiry,
        order.slot,
        order.nonce,
        order.flags,
    )
    # the carried digest no longer matches the fields
    reject(
        world,
        Fill(SignedOrder(grown, ask.signature, ask.digest), bid, base(2)),
        "MalformedTx",
        11029,
    )
    # with a matching digest the signature recovers some other address
    reject(
        world,
        Fill(SignedOrder(grown, ask.signature, grown.digest(world.separator)), bid, base(1)),
        "BadSignature",
        13009,
    )


# -- replay, expiry, over-fill, over-fee ----------------------------------------------


def test_replayed_owner_tx() -> None:
    world, alice, _ = make_world()
    tx = world.owner_signed(Withdraw, alice, account=alice.index, amount=1, nonce=1)
    assert world.l2(tx).ok
    reject(world, tx, "BadNonce", 11029)
    skip = world.owner_signed(Withdraw, alice, account=alice.index, amount=1, nonce=3)
    reject(world, skip, "BadNonce", 11029)
    register = world.last_key_registration  # bob's RegisterKey, nonce 0, already applied
    reject(world, register, "BadNonce", 11029)


def test_expired_overfilled_and_overfee_orders() -> None:
    world, alice, bob = make_world()
    old = world.order(bob, Side.SELL, usd(2000), base(1), expiry=world.now - 1)
    bid = world.order(alice, Side.BUY, usd(2000), base(2))
    reject(world, Fill(old, bid, base(1)), "OrderExpired", 10010)
    ask = world.order(bob, Side.SELL, usd(2000), base(1))
    reject(world, Fill(ask, bid, base(1) + 100_000), "OverFill", 10010)
    cheap = world.order(alice, Side.BUY, usd(2000), base(1), max_fee_ppm=499)  # taker fee 500
    reject(world, Fill(ask, cheap, base(1)), "FeeTooHigh", 11029)


def test_unknown_instrument_and_accounts() -> None:
    world, alice, bob = make_world()
    ask = world.order(bob, Side.SELL, usd(2000), base(1), instrument=3)
    bid = world.order(alice, Side.BUY, usd(2000), base(1), instrument=3)
    reject(world, Fill(ask, bid, base(1)), "UnknownInstrument", 10013)
    ghost = Trader("ghost", 42, STRANGER, STRANGER)
    ghost_ask = world.order(ghost, Side.SELL, usd(2000), base(1))
    bid = world.order(alice, Side.BUY, usd(2000), base(1))
    reject(world, Fill(ghost_ask, bid, base(1)), "UnknownAccount", 10004)
    reject(
        world,
        world.owner_signed(Withdraw, ghost, account=42, amount=1, nonce=0),
        "UnknownAccount",
        10004,
    )
    reject(
        world,
        world.owner_signed(Transfer, alice, sender=alice.index, recipient=42, amount=1, nonce=1),
        "UnknownAccount",
        10004,
    )
    reject(world, SettleAccount(42), "UnknownAccount", 10004)
    reject(
        world,
        Liquidate(42, world.order(bob, Side.BUY, usd(2000), base(1)), base(1)),
        "UnknownAccount",
        10004,
    )
    reject(world, Backstop(42, 1), "UnknownAccount", 10004)
    reject(world, NonceFloor(42, 1), "UnknownAccount", 10004, l1=True, sender=ADDRESS)


def test_l1_only_txs_from_l2() -> None:
    """Section 9: an L2-origin tx that claims an L1-only type is WrongOrigin."""
    world, _, _ = make_world()
    listing = perp_spec(2, "BTC", asset=2)
    for tx in (
        Deposit(world.next_deposit, ADDRESS, 1),
        ListInstrument(listing),
        SetInstrumentParams(1, 50_000, 30_000, 0, 0, 0, 0, 10**15, False),
        SetOracle((ADDRESS,), 1, 60, 100_000),
        SetRiskParams(1, 60, 1, 1),
    ):
        reject(world, tx, "WrongOrigin", 13009)


def test_unknown_tx_type() -> None:
    world, _, _ = make_world()
    root = world.state.root()
    receipt = apply_tx(world.state, object(), world.env())
    assert (receipt.ok, receipt.code) == (False, 11029)
    assert world.state.root() == root


# -- Hypothesis: random bytes and integers --------------------------------------------

ints = st.one_of(
    st.integers(min_value=-3, max_value=70),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, 2**8, 2**16 - 1, 2**16, 2**32 - 1, 2**32, 2**64 - 1, 2**64]),
)
blobs = st.one_of(
    st.binary(min_size=0, max_size=70),
    st.binary(min_size=20, max_size=20),
    st.binary(min_size=65, max_size=65),
)


def _signature(data: st.DataObject) -> bytes | None:
    return data.draw(st.one_of(st.none(), blobs, st.binary(min_size=65, max_size=65)))


CONSTRUCTORS: dict[str, Callable[[st.DataObject], object]] = {
    "order": lambda d: Order(
        *(d.draw(ints) for _ in range(2)),
        d.draw(st.sampled_from(Side)),
        *(d.draw(ints) for _ in range(6)),
        d.draw(ints),
    ),
    "deposit": lambda d: Deposit(d.draw(ints), d.draw(blobs), d.draw(ints)),
    "withdraw": lambda d: Withdraw(d.draw(ints), d.draw(ints), d.draw(ints), _signature(d)),
    "transfer": lambda d: Transfer(*(d.draw(ints) for _ in range(4)), _signature(d)),
    "register": lambda d: RegisterKey(
        d.draw(ints), d.draw(ints), d.draw(blobs), d.draw(ints), _signature(d)
    ),
    "revoke": lambda d: RevokeKey(d.draw(ints), d.draw(ints), d.draw(ints), _signature(d)),
    "floor": lambda d: NonceFloor(d.draw(ints), d.draw(ints), _signature(d)),
    "settle": lambda d: SettleAccount(d.draw(ints)),
    "backstop": lambda d: Backstop(d.draw(ints), d.draw(ints)),
    "oracle": lambda d: OracleUpdate(
        d.draw(ints),
        tuple(d.draw(st.lists(st.tuples(ints, ints), max_size=3))),
        tuple(d.draw(st.lists(st.tuples(ints, ints), max_size=3))),
        tuple(d.draw(st.lists(blobs, max_size=3))),
    ),
}


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(CONSTRUCTORS)), data=st.data())
def test_constructors_raise_only_malformed_tx(name: str, data: st.DataObject) -> None:
    """Random integers and bytes in every field: a tx is built or MalformedTx is raised."""
    try:
        CONSTRUCTORS[name](data)
    except MalformedTx:
        pass


FUZZ_WORLD, FUZZ_ALICE, FUZZ_BOB = make_world()
_ask, _bid = crossing(FUZZ_WORLD, FUZZ_BOB, FUZZ_ALICE)
assert FUZZ_WORLD.l2(Fill(_ask, _bid, base(5, 1))).ok  # open positions for deeper paths
FUZZ_NOW = FUZZ_WORLD.now + 1  # the block time of every fuzzed tx
FUZZ_KEYS = [
    FUZZ_ALICE.trading_key,
    FUZZ_BOB.trading_key,
    FUZZ_ALICE.owner_key,
    FUZZ_BOB.owner_key,
    STRANGER,
    *FUZZ_WORLD.oracle_keys,
]


def _order(account: int, side: Side, slot: int) -> dict[str, object]:
    return {
        "account": account,
        "instrument": 1,
        "side": side,
        "price": usd(2000),
        "size": base(1),
        "max_fee_ppm": 1_000,
        "expiry": FUZZ_NOW + 60,
        "slot": slot,
        "nonce": 7,
        "flags": OrderFlags.NONE,
    }


# Valid txs for the fuzzed state (alice = 1 long 0.5 ETH, bob = 2 short 0.5 ETH):
# kind -> (fields, origin); fuzz_txs replaces up to two fields with random values.
_ADDRESS_2 = private_key_address(key_from_label("fuzz-key"))
BASES: dict[str, tuple[dict[str, object], Origin]] = {
    "fill": (
        {"maker": _order(2, Side.SELL, 5), "taker": _order(1, Side.BUY, 6), "size": base(1, 1)},
        Origin.L2,
    ),
    "liquidate": ({"account": 1, "maker": _order(2, Side.BUY, 5), "size": base(1, 1)}, Origin.L2),
    "withdraw": ({"account": 1, "amount": usd(100), "nonce": 1}, Origin.L2),
    "transfer": ({"sender": 1, "recipient": 2, "amount": usd(100), "nonce": 1}, Origin.L2),
    "register": ({"account": 1, "key_index": 1, "key": _ADDRESS_2, "nonce": 1}, Origin.L2),
    "revoke": ({"account": 1, "key_index": 0, "nonce": 1}, Origin.L2),
    "floor": ({"account": 1, "floor": 3}, Origin.L2),
    "backstop": ({"account": 1, "instrument": 1}, Origin.L2),
    "settle": ({"account": 1}, Origin.L2),
    "oracle": ({"timestamp": FUZZ_NOW, "index": usd(1990), "mark": usd(1991)}, Origin.L2),
    "deposit": (
        {"deposit_id": FUZZ_WORLD.next_deposit, "owner": _ADDRESS_2, "amount": usd(5)},
        Origin.L1,
    ),
    "list": (
        {
            "instrument_id": 2,
            "asset": 2,
            "tick": 50_000,
            "lot": 100_000,
            "im_ppm": 50_000,
            "mm_ppm": 30_000,
            "maker_fee_ppm": 100,
            "taker_fee_ppm": 500,
            "liq_fee_ppm": 10_000,
            "funding_cap_ppm": 5_000,
            "max_open_interest": 10**15,
        },
        Origin.L1,
    ),
    "params": (
        {
            "instrument_id": 1,
            "im_ppm": 60_000,
            "mm_ppm": 40_000,
            "maker_fee_ppm": 0,
            "taker_fee_ppm": 400,
            "liq_fee_ppm": 15_000,
            "funding_cap_ppm": 1_000,
            "max_open_interest": 10**15,
            "active": 1,
        },
        Origin.L1,
    ),
    "set_oracle": ({"threshold": 2, "staleness": 30, "max_move_ppm": 50_000}, Origin.L1),
    "risk": (
        {
            "max_positions": 4,
            "max_order_lifetime": 3_600,
            "liq_band_ppm": 20_000,
            "backstop_ppm": 400_000,
        },
        Origin.L1,
    ),
}
OWNER_TXS = {
    "withdraw": Withdraw,
    "transfer": Transfer,
    "register": RegisterKey,
    "revoke": RevokeKey,
}
TRADER_KEYS = {1: FUZZ_ALICE, 2: FUZZ_BOB}


def _value(draw: st.DrawFn, old: object) -> object:
    """A replacement for one field: near the old value, a wide integer, or bytes."""
    if isinstance(old, bytes):
        return draw(st.one_of(blobs, st.sampled_from(FUZZ_KEYS).map(private_key_address)))
    if isinstance(old, int):
        return draw(
            st.one_of(
                st.integers(-3, 3).map(lambda d: int(old) + d),
                st.integers(-10, 10).map(lambda d: int(old) * 2**d if d >= 0 else int(old) >> -d),
                ints,
            )
        )
    return draw(ints)


def _signed_order(draw: st.DrawFn, fields: dict[str, object]) -> SignedOrder:
    order = Order(**fields)
    trader = TRADER_KEYS.get(order.account, FUZZ_ALICE)
    how = draw(st.sampled_from(["own", "own", "own", "other", "bytes", "digest"]))
    key = trader.trading_key if how == "own" else draw(st.sampled_from(FUZZ_KEYS))
    signed = sign_order(order, key, FUZZ_WORLD.separator)
    if how == "bytes":
        return SignedOrder(order, draw(blobs), signed.digest)
    if how == "digest":
        return SignedOrder(order, signed.signature, draw(st.binary(min_size=32, max_size=32)))
    return signed


@st.composite
def fuzz_txs(draw: st.DrawFn) -> tuple[Tx, Origin]:
    """A valid tx of a random kind with up to two fields replaced by random values."""
    kind = draw(st.sampled_from(sorted(BASES)))
    template, origin = BASES[kind]
    fields = {k: dict(v) if isinstance(v, dict) else v for k, v in template.items()}
    for _ in range(draw(st.integers(0, 2))):
        name = draw(st.sampled_from(sorted(fields)))
        if isinstance(fields[name], dict):
            inner = fields[name]
            assert isinstance(inner, dict)
            sub = draw(st.sampled_from(sorted(inner)))
            inner[sub] = _value(draw, inner[sub])
        else:
            fields[name] = _value(draw, fields[name])
    if draw(st.integers(0, 4)) == 0:
        origin = Origin.L1 if origin is Origin.L2 else Origin.L2
    if kind in ("fill", "liquidate"):
        built = {k: _signed_order(draw, v) if isinstance(v, dict) else v for k, v in fields.items()}
        tx: Tx = (Fill if kind == "fill" else Liquidate)(**built)
    elif kind in OWNER_TXS:
        unsigned = OWNER_TXS[kind](**fields)
        how = draw(st.sampled_from(["owner", "owner", "other", "bytes", "none"]))
        if how == "none":
            tx = unsigned
        else:
            key = FUZZ_ALICE.owner_key if how == "owner" else draw(st.sampled_from(FUZZ_KEYS))
            signature = sign_owner_tx(unsigned, key, FUZZ_WORLD.separator)
            if how == "bytes":
                signature = draw(st.binary(min_size=65, max_size=65))
            tx = OWNER_TXS[kind](**fields, signature=signature)
    elif kind == "floor":
        unsigned = NonceFloor(**fields)
        key = draw(st.sampled_from(FUZZ_KEYS))
        tx = NonceFloor(**fields, signature=sign_owner_tx(unsigned, key, FUZZ_WORLD.separator))
    elif kind == "backstop":
        tx = Backstop(**fields)
    elif kind == "settle":
        tx = SettleAccount(**fields)
    elif kind == "oracle":
        prices, marks = ((1, fields["index"]),), ((1, fields["mark"]),)
        stamp = fields["timestamp"]
        digest = oracle_report_digest(FUZZ_WORLD.separator, stamp, prices, marks)
        keys = draw(st.lists(st.sampled_from(FUZZ_KEYS), min_size=1, max_size=3))
        sigs = tuple(sign_digest(k, digest) for k in keys)
        tx = OracleUpdate(stamp, prices, marks, sigs)
    elif kind == "deposit":
        tx = Deposit(**fields)
    elif kind == "list":
        spec = {k: v for k, v in fields.items()}
        tx = ListInstrument(
            Instrument(spec.pop("instrument_id"), "BTC", InstrumentKind.PERPETUAL, **spec)
        )
    elif kind == "params":
        tx = SetInstrumentParams(**fields)
    elif kind == "set_oracle":
        signers = tuple(
            private_key_address(k) for k in draw(st.lists(st.sampled_from(FUZZ_KEYS), max_size=4))
        )
        tx = SetOracle(signers, **fields)
    else:
        tx = SetRiskParams(**fields)
    return tx, origin


ERROR_CODES = {
    name: cls.code
    for name, cls in vars(errors).items()
    if isinstance(cls, type) and issubclass(cls, ExchangeError)
}


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), sender=st.sampled_from([None, 0, 1, 2]))
def test_apply_tx_on_random_input_only_rejects_cleanly(
    data: st.DataObject, sender: int | None
) -> None:
    """Mutated txs: constructors raise only MalformedTx; apply_tx raises nothing, and a
    rejection is typed (its class's code) and leaves the root unchanged."""
    try:
        tx, origin = data.draw(fuzz_txs())
    except MalformedTx:
        event("MalformedTx at construction")
        return
    state = FUZZ_WORLD.state.copy()
    l1_sender = None if sender is None else state.account(sender).owner
    if origin is Origin.L1 and sender is None:
        l1_sender = FUZZ_ALICE.owner
    env = TxEnv(FUZZ_NOW, FUZZ_WORLD.separator, origin, l1_sender)
    root = state.root()
    receipt = apply_tx(state, tx, env)  # any non-ExchangeError propagates and fails the test
    event(f"{type(tx).__name__}: {receipt.error or 'applied'}")
    if not receipt.ok:
        assert state.root() == root, receipt
        assert receipt.error in ERROR_CODES, receipt
        assert receipt.code == ERROR_CODES[receipt.error], receipt


@settings(max_examples=150, deadline=None)
@given(position=st.integers(0, 64), flip=st.integers(1, 255))
def test_any_corrupted_order_signature_is_refused(position: int, flip: int) -> None:
    """Flipping any bits of a valid order signature gives BadSignature, state unchanged."""
    world, alice, bob = FUZZ_WORLD, FUZZ_ALICE, FUZZ_BOB
    state = world.state.copy()
    ask = world.order(bob, Side.SELL, usd(2000), base(1))
    bid = world.order(alice, Side.BUY, usd(2000), base(1))
    corrupted = bytearray(ask.signature)
    corrupted[position] ^= flip
    # v = 0/1 is the same recovery id as v = 27/28 (section 2 allows both): not a corruption
    assume(position != 64 or corrupted[64] not in (ask.signature[64] - 27, ask.signature[64]))
    root = state.root()
    receipt = apply_tx(state, Fill(resign(ask, bytes(corrupted)), bid, base(1)), world.env())
    assert (receipt.ok, receipt.error, receipt.code) == (False, "BadSignature", 13009)
    assert state.root() == root


def test_wrongly_typed_payloads_are_malformed_not_crashes() -> None:
    """Values of the wrong type are refused when the tx is built, with a typed error."""
    from rollbook.exchange.txs import ListInstrument, SetRiskParams

    spec = perp_spec(9, "X")
    with pytest.raises(MalformedTx, match="tick"):
        ListInstrument(spec._replace(tick="50000"))  # type: ignore[arg-type]
    with pytest.raises(MalformedTx, match="symbol"):
        ListInstrument(spec._replace(symbol=b"X"))  # type: ignore[arg-type]
    with pytest.raises(MalformedTx, match="printable ASCII"):
        ListInstrument(spec._replace(symbol="ΞTH-PERP"))
    with pytest.raises(MalformedTx, match="vector"):
        ListInstrument(spec._replace(vector=(1, "2")))  # type: ignore[arg-type]
    with pytest.raises(MalformedTx, match="underlying"):
        option_chain(20, 1_767_254_400, (3000,), underlying="ÉTH")
    with pytest.raises(MalformedTx, match="max_positions"):
        SetRiskParams(None, 3600, 50_000, 500_000)  # type: ignore[arg-type]
    world, alice, bob = make_world()
    ask, bid = crossing(world, bob, alice)
    with pytest.raises(MalformedTx, match="signed order"):
        Fill(ask.order, bid, base(1))  # type: ignore[arg-type]
