"""The state's leaves and their keys (docs/design/consensus.md section 10).

The state is a map ``LeafKey -> Leaf``. Every leaf is an immutable named tuple (cheap to
build: the STF makes several per fill); updating a leaf means writing a new value
under its key, which is what makes the journal (and
later the Merkle witnesses of #4) simple. :func:`encode_leaf` gives each leaf one
canonical byte encoding; the state root hashes those encodings.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

LeafKey = tuple[object, ...]

NO_KEY = bytes(20)
INSURANCE_FUND = 0
FUND_MAX_POSITIONS = 48
"""The most positions the insurance fund holds: a forced close or a backstop that
would give it a position in a 49th instrument is refused (``PositionLimit``). The
bound keeps the fund's account leaf within what the fraud-proof executor reads
(2,048 bytes: about 55 instruments; docs/design/fraud-proofs.md)."""
"""Account 0: the insurance fund, owned by governance (consensus spec section 2)."""


class InstrumentKind(IntEnum):
    """What an instrument is: a linear perpetual, or a European call or put (#3)."""

    PERPETUAL = 1
    CALL = 2
    PUT = 3

    @property
    def is_option(self) -> bool:
        return self is not InstrumentKind.PERPETUAL


class Account(NamedTuple):
    """An account: owner, quote balance (may be negative), keys and bookkeeping.

    ``instruments`` lists the instruments in which the account has an open position,
    in the order they were opened; its length is bounded by ``max_positions``, the
    insurance fund's (account 0) by ``FUND_MAX_POSITIONS``.
    """

    owner: bytes
    balance: int = 0
    keys: tuple[bytes, ...] = (NO_KEY, NO_KEY, NO_KEY, NO_KEY)
    nonce_floor: int = 0
    tx_nonce: int = 0
    instruments: tuple[int, ...] = ()
    portfolio: bool = False
    """Margin mode: standard (Deribit's per-position formulas) or portfolio margin."""


class Position(NamedTuple):
    """A position: signed size, signed entry cost, and lazy-settlement snapshots."""

    size: int = 0
    cost: int = 0
    funding_snap: int = 0
    loss_snap: int = 0


class OrderSlot(NamedTuple):
    """One of an account's order slots: which order uses it and how much it filled."""

    nonce: int = 0
    filled: int = 0
    order_hash: bytes = bytes(32)
    signer: bytes = NO_KEY


class Instrument(NamedTuple):
    """A listed instrument: its static listing and its per-instrument indices.

    Listing fields change only through governance; ``mark``, the funding fields, the
    loss indices, ``open_interest`` and ``pool`` change in the STF.

    Options (#3) add ``expiry`` (08:00 UTC), ``strike`` (quote units) and
    ``im_floor_ppm`` (Deribit's 10 % floor; ``im_ppm`` is then the 15 % base and
    ``mm_ppm`` the 7.5 % maintenance fraction). An oracle step prices them: ``mark`` is
    the Black-76 value at ``mark_index`` (the asset's index in that report) and
    ``mark_vol`` (ppm); ``vector`` is the per-unit P&L in each portfolio-margin
    scenario, set for perpetuals too.
    """

    instrument_id: int
    symbol: str
    kind: InstrumentKind
    asset: int
    tick: int
    lot: int
    im_ppm: int
    mm_ppm: int
    maker_fee_ppm: int
    taker_fee_ppm: int
    liq_fee_ppm: int
    funding_cap_ppm: int
    max_open_interest: int
    expiry: int = 0
    strike: int = 0
    im_floor_ppm: int = 0
    active: bool = True
    mark: int = 0
    mark_time: int = 0
    mark_index: int = 0
    mark_vol: int = 0
    vector: tuple[int, ...] = ()
    funding_index: int = 0
    funding_hour: int = 0
    premium_sum_ppm: int = 0
    premium_samples: int = 0
    loss_index_long: int = 0
    loss_index_short: int = 0
    open_interest: int = 0
    pool: int = 0


class AssetPrice(NamedTuple):
    """The oracle's index price of an underlying asset."""

    price: int
    timestamp: int


class ExpiryQueue(NamedTuple):
    """An asset's listed, not yet settled option expiries, and the TWAP of the next.

    ``pending`` is ascending. The settlement samples of ``pending[0]`` accumulate in
    ``sample_sum`` / ``sample_count`` (one per on-minute oracle report in its last
    30 minutes).
    """

    pending: tuple[int, ...] = ()
    sample_sum: int = 0
    sample_count: int = 0


class Settlement(NamedTuple):
    """An expiry's settlement price (the 30-minute TWAP) and how many samples made it."""

    price: int
    samples: int


class OracleConfig(NamedTuple):
    """The oracle set (k of n), its last report time and its guards."""

    signers: tuple[bytes, ...] = ()
    threshold: int = 1
    last_timestamp: int = 0
    staleness: int = 60
    max_move_ppm: int = 100_000


class Globals(NamedTuple):
    """Counters, system balances and the deployment's risk parameters."""

    next_account: int = 1
    next_deposit_id: int = 0
    next_withdrawal_id: int = 0
    fees: int = 0
    total_deposits: int = 0
    total_withdrawals: int = 0
    max_positions: int = 32
    max_order_lifetime: int = 90 * 24 * 3600
    liq_band_ppm: int = 50_000
    backstop_ppm: int = 500_000
    max_liq_fee_ppm: int = 15_000


class OwnerIndex(NamedTuple):
    """The account index of an owner address (so a deposit finds its account)."""

    account: int


class Withdrawal(NamedTuple):
    """A withdrawal paid out on L1 once proven against a final output root."""

    owner: bytes
    amount: int


Leaf = (
    Account
    | Position
    | OrderSlot
    | Instrument
    | AssetPrice
    | OracleConfig
    | Globals
    | Withdrawal
    | OwnerIndex
    | ExpiryQueue
    | Settlement
)
LEAF_TAGS: dict[type, int] = {
    Account: 1,
    Position: 2,
    OrderSlot: 3,
    Instrument: 4,
    AssetPrice: 5,
    OracleConfig: 6,
    Globals: 7,
    Withdrawal: 8,
    OwnerIndex: 9,
    ExpiryQueue: 10,
    Settlement: 11,
}

# Leaf keys. Kinds are short strings; the commitment hashes the encoded key.
GLOBALS_KEY: LeafKey = ("global",)
ORACLE_KEY: LeafKey = ("oracle",)


def account_key(index: int) -> LeafKey:
    return ("acct", index)


def position_key(index: int, instrument: int) -> LeafKey:
    return ("pos", index, instrument)


def slot_key(index: int, slot: int) -> LeafKey:
    return ("slot", index, slot)


def owner_key(owner: bytes) -> LeafKey:
    return ("owner", owner)


def instrument_key(instrument: int) -> LeafKey:
    return ("inst", instrument)


def price_key(asset: int) -> LeafKey:
    return ("price", asset)


def withdrawal_key(withdrawal_id: int) -> LeafKey:
    return ("wd", withdrawal_id)


def expiries_key(asset: int) -> LeafKey:
    return ("expiries", asset)


def settlement_key(asset: int, expiry: int) -> LeafKey:
    return ("settle", asset, expiry)


def encode_value(value: object) -> bytes:
    """The tagged canonical encoding of a leaf field (also used for governance txs).

    ``0x01`` bool (1 byte), ``0x02`` int (32 bytes, two's complement), ``0x03`` bytes
    and ``0x04`` text (u32 length, then the bytes), ``0x05`` tuple (u32 count, then
    each item).
    """
    # bool before int: bool is a subclass of int.
    if isinstance(value, bool):
        return b"\x01" + (b"\x01" if value else b"\x00")
    if isinstance(value, int):
        return b"\x02" + value.to_bytes(32, "big", signed=True)
    if isinstance(value, bytes):
        return b"\x03" + len(value).to_bytes(4, "big") + value
    if isinstance(value, str):
        raw = value.encode()
        return b"\x04" + len(raw).to_bytes(4, "big") + raw
    if isinstance(value, tuple):
        return b"\x05" + len(value).to_bytes(4, "big") + b"".join(encode_value(v) for v in value)
    raise TypeError(f"cannot encode {type(value).__name__} in a leaf")


def encode_key(key: LeafKey) -> bytes:
    """Canonical encoding of a leaf key (``encode_value`` of the key tuple)."""
    out = [b"\x05" + len(key).to_bytes(4, "big")]
    _encode_fields(key, out)
    return b"".join(out)


def encode_leaf(leaf: Leaf) -> bytes:
    """Canonical encoding of a leaf: its tag, then each field in declaration order.

    The same bytes as ``encode_value`` field by field, written inline for the common
    field types because the state root hashes every leaf a block writes.
    """
    out = [_TAG_BYTES[type(leaf)]]
    _encode_fields(leaf, out)
    return b"".join(out)


def _encode_fields(values: tuple[object, ...], out: list[bytes]) -> None:
    """Append ``encode_value`` of each of ``values`` to ``out`` (fast paths first)."""
    append = out.append
    for value in values:
        kind = type(value)
        if kind is int:
            append(b"\x02" + value.to_bytes(32, "big", signed=True))  # type: ignore[attr-defined]
        elif kind is bytes:
            append(b"\x03" + len(value).to_bytes(4, "big") + value)  # type: ignore[arg-type, operator]
        elif kind is str:
            raw = value.encode()  # type: ignore[attr-defined]
            append(b"\x04" + len(raw).to_bytes(4, "big") + raw)
        elif kind is bool:
            append(b"\x01\x01" if value else b"\x01\x00")
        elif kind is tuple:
            append(b"\x05" + len(value).to_bytes(4, "big"))  # type: ignore[arg-type]
            _encode_fields(value, out)  # type: ignore[arg-type]
        else:
            append(encode_value(value))


_TAG_BYTES = {kind: bytes([tag]) for kind, tag in LEAF_TAGS.items()}
