"""The transactions of the STF (docs/design/consensus.md section 9).

Each tx is a frozen dataclass validated on construction: a value out of its wire
range raises :class:`MalformedTx` before the STF ever sees it. Owner-signed txs know
their EIP-712 struct hash; L1-origin variants (forced txs, contract wallets) carry no
signature and are authorised by the L1 sender instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from rollbook.crypto.eip712 import encode_address, encode_uint, type_hash, typed_digest
from rollbook.crypto.keccak import keccak256
from rollbook.crypto.secp256k1 import sign_digest
from rollbook.exchange.errors import MalformedTx
from rollbook.exchange.leaves import Instrument, InstrumentKind
from rollbook.exchange.numeric import U16_MAX, U32_MAX, U64_MAX
from rollbook.exchange.orders import SignedOrder, _check_range


class Origin(IntEnum):
    """Where a tx entered the chain: sequenced on L2, or derived from L1."""

    L2 = 0
    L1 = 1


WITHDRAW_TYPEHASH = type_hash("Withdraw(uint32 account,uint64 amount,uint32 nonce)")
TRANSFER_TYPEHASH = type_hash("Transfer(uint32 sender,uint32 recipient,uint64 amount,uint32 nonce)")
REGISTER_KEY_TYPEHASH = type_hash(
    "RegisterKey(uint32 account,uint8 keyIndex,address key,uint32 nonce)"
)
REVOKE_KEY_TYPEHASH = type_hash("RevokeKey(uint32 account,uint8 keyIndex,uint32 nonce)")
NONCE_FLOOR_TYPEHASH = type_hash("NonceFloor(uint32 account,uint32 floor)")


def _check_address(name: str, value: object) -> None:
    if not isinstance(value, bytes) or len(value) != 20:
        raise MalformedTx(f"{name} must be a 20-byte address")


def _check_ints(tx: object, skip: tuple[str, ...]) -> None:
    """Every field not in ``skip`` is a non-negative integer below 2**64."""
    for name in tx.__dataclass_fields__:  # type: ignore[attr-defined]
        if name not in skip:
            _check_range(name, getattr(tx, name), U64_MAX)


def _check_signed(name: str, value: object) -> None:
    if not isinstance(value, SignedOrder):
        raise MalformedTx(f"{name} must be a signed order")


def _check_signature(value: object, required: bool) -> None:
    if value is None:
        if required:
            raise MalformedTx("signature is missing")
        return
    if not isinstance(value, bytes) or len(value) != 65:
        raise MalformedTx("signature must be 65 bytes (r || s || v)")


@dataclass(frozen=True, slots=True)
class Deposit:
    """Collateral escrowed on L1, credited by derivation. L1 origin only."""

    deposit_id: int
    owner: bytes
    amount: int

    def __post_init__(self) -> None:
        _check_range("deposit_id", self.deposit_id, U64_MAX)
        _check_address("owner", self.owner)
        _check_range("amount", self.amount, U64_MAX, low=1)


@dataclass(frozen=True, slots=True)
class Withdraw:
    """Move free collateral out to the owner on L1. Signed by the owner, or forced."""

    account: int
    amount: int
    nonce: int
    signature: bytes | None = None

    def __post_init__(self) -> None:
        _check_range("account", self.account, U32_MAX)
        _check_range("amount", self.amount, U64_MAX, low=1)
        _check_range("nonce", self.nonce, U32_MAX)
        _check_signature(self.signature, required=False)

    def struct_hash(self) -> bytes:
        return keccak256(
            WITHDRAW_TYPEHASH
            + encode_uint(self.account, 32)
            + encode_uint(self.amount, 64)
            + encode_uint(self.nonce, 32)
        )


@dataclass(frozen=True, slots=True)
class Transfer:
    """Move collateral between two existing accounts. Signed by the sender's owner."""

    sender: int
    recipient: int
    amount: int
    nonce: int
    signature: bytes | None = None

    def __post_init__(self) -> None:
        _check_range("sender", self.sender, U32_MAX)
        _check_range("recipient", self.recipient, U32_MAX)
        _check_range("amount", self.amount, U64_MAX, low=1)
        _check_range("nonce", self.nonce, U32_MAX)
        _check_signature(self.signature, required=False)
        if self.sender == self.recipient:
            raise MalformedTx("a transfer needs two different accounts")

    def struct_hash(self) -> bytes:
        return keccak256(
            TRANSFER_TYPEHASH
            + encode_uint(self.sender, 32)
            + encode_uint(self.recipient, 32)
            + encode_uint(self.amount, 64)
            + encode_uint(self.nonce, 32)
        )


@dataclass(frozen=True, slots=True)
class RegisterKey:
    """Register a trading key (its address) at a key index. Owner only."""

    account: int
    key_index: int
    key: bytes
    nonce: int
    signature: bytes | None = None

    def __post_init__(self) -> None:
        _check_range("account", self.account, U32_MAX)
        _check_range("key_index", self.key_index, 255)
        _check_address("key", self.key)
        if self.key == bytes(20):
            raise MalformedTx("the zero address cannot be a trading key")
        _check_range("nonce", self.nonce, U32_MAX)
        _check_signature(self.signature, required=False)

    def struct_hash(self) -> bytes:
        return keccak256(
            REGISTER_KEY_TYPEHASH
            + encode_uint(self.account, 32)
            + encode_uint(self.key_index, 8)
            + encode_address(self.key)
            + encode_uint(self.nonce, 32)
        )


@dataclass(frozen=True, slots=True)
class RevokeKey:
    """Revoke the trading key at a key index. Owner only."""

    account: int
    key_index: int
    nonce: int
    signature: bytes | None = None

    def __post_init__(self) -> None:
        _check_range("account", self.account, U32_MAX)
        _check_range("key_index", self.key_index, 255)
        _check_range("nonce", self.nonce, U32_MAX)
        _check_signature(self.signature, required=False)

    def struct_hash(self) -> bytes:
        return keccak256(
            REVOKE_KEY_TYPEHASH
            + encode_uint(self.account, 32)
            + encode_uint(self.key_index, 8)
            + encode_uint(self.nonce, 32)
        )


@dataclass(frozen=True, slots=True)
class NonceFloor:
    """Cancel every order of the account with a nonce below ``floor``."""

    account: int
    floor: int
    signature: bytes | None = None

    def __post_init__(self) -> None:
        _check_range("account", self.account, U32_MAX)
        _check_range("floor", self.floor, U32_MAX)
        _check_signature(self.signature, required=False)

    def struct_hash(self) -> bytes:
        return keccak256(
            NONCE_FLOOR_TYPEHASH + encode_uint(self.account, 32) + encode_uint(self.floor, 32)
        )


@dataclass(frozen=True, slots=True)
class Fill:
    """Settle ``size`` of a match between a resting maker and an incoming taker."""

    maker: SignedOrder
    taker: SignedOrder
    size: int

    def __post_init__(self) -> None:
        _check_signed("maker", self.maker)
        _check_signed("taker", self.taker)
        _check_range("size", self.size, U64_MAX, low=1)


@dataclass(frozen=True, slots=True)
class Liquidate:
    """Close ``size`` of a below-maintenance account's position against a maker."""

    account: int
    maker: SignedOrder
    size: int

    def __post_init__(self) -> None:
        _check_range("account", self.account, U32_MAX)
        _check_signed("maker", self.maker)
        _check_range("size", self.size, U64_MAX, low=1)


@dataclass(frozen=True, slots=True)
class Backstop:
    """Move a deeply underwater account's position in ``instrument`` to the fund."""

    account: int
    instrument: int

    def __post_init__(self) -> None:
        _check_range("account", self.account, U32_MAX)
        _check_range("instrument", self.instrument, U16_MAX)


@dataclass(frozen=True, slots=True)
class ForcedClose:
    """From L1 only, by the account's owner: close the account's position in
    ``instrument`` against the insurance fund at mark ∓ the instrument's liquidation
    fee (the forced trade of ARCHITECTURE section 4's narrow set)."""

    account: int
    instrument: int

    def __post_init__(self) -> None:
        _check_range("account", self.account, U32_MAX)
        _check_range("instrument", self.instrument, U16_MAX)


@dataclass(frozen=True, slots=True)
class SettleAccount:
    """Apply pending funding and socialised loss to every position of an account."""

    account: int

    def __post_init__(self) -> None:
        _check_range("account", self.account, U32_MAX)


MAX_ORACLE_ENTRIES = 256
MIN_VOL_PPM = 10_000
MAX_VOL_PPM = 5_000_000


@dataclass(frozen=True, slots=True)
class OracleUpdate:
    """A report signed by k of the n oracle signers.

    ``index_prices`` are ``(asset, price)`` pairs; ``marks`` are ``(instrument,
    price)`` pairs for perpetuals; ``vols`` are ``(instrument, implied vol in ppm)``
    pairs for options, whose marks the STF then computes (Black-76 at the asset's index
    in the same report). Each list sorted by id, without duplicates.
    """

    timestamp: int
    index_prices: tuple[tuple[int, int], ...]
    marks: tuple[tuple[int, int], ...]
    signatures: tuple[bytes, ...]
    vols: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        _check_range("timestamp", self.timestamp, U64_MAX)
        for name, pairs, value_name, low, high in (
            ("asset", self.index_prices, "price", 1, U64_MAX),
            ("instrument", self.marks, "price", 1, U64_MAX),
            ("option", self.vols, "vol", MIN_VOL_PPM, MAX_VOL_PPM),
        ):
            if not isinstance(pairs, tuple):
                raise MalformedTx(f"oracle {name} entries must be a tuple")
            previous = -1
            for pair in pairs:
                if not isinstance(pair, tuple) or len(pair) != 2:
                    raise MalformedTx(f"oracle {name} entries are (id, {value_name}) pairs")
                _check_range(name, pair[0], U16_MAX)
                _check_range(value_name, pair[1], high, low=low)
                if pair[0] <= previous:
                    raise MalformedTx(f"oracle {name} ids must be strictly increasing")
                previous = pair[0]
        entries = len(self.index_prices) + len(self.marks) + len(self.vols)
        if not 0 < entries <= MAX_ORACLE_ENTRIES:
            raise MalformedTx(f"an oracle report has 1..{MAX_ORACLE_ENTRIES} entries")
        if not isinstance(self.signatures, tuple) or not self.signatures:
            raise MalformedTx("an oracle report needs signatures")
        for signature in self.signatures:
            _check_signature(signature, required=True)

    def prices_hash(self) -> bytes:
        """keccak of the entries, fixed-width: the ``pricesHash`` field of the report.

        ``index (u16 asset, u64 price)* 0xff marks (u16, u64)* 0xff vols (u16, u32)*``.
        """
        body = b"".join(a.to_bytes(2, "big") + p.to_bytes(8, "big") for a, p in self.index_prices)
        body += b"\xff" + b"".join(
            i.to_bytes(2, "big") + p.to_bytes(8, "big") for i, p in self.marks
        )
        body += b"\xff" + b"".join(
            i.to_bytes(2, "big") + v.to_bytes(4, "big") for i, v in self.vols
        )
        return keccak256(body)


ORACLE_REPORT_TYPEHASH = type_hash("OracleReport(uint64 timestamp,bytes32 pricesHash)")


def oracle_report_digest(
    domain_separator: bytes,
    timestamp: int,
    index_prices: tuple[tuple[int, int], ...],
    marks: tuple[tuple[int, int], ...],
    vols: tuple[tuple[int, int], ...] = (),
) -> bytes:
    """The digest each oracle signer signs for a report."""
    unsigned = OracleUpdate(timestamp, index_prices, marks, (bytes(64) + b"\x1b",), vols)
    return typed_digest(
        domain_separator,
        keccak256(ORACLE_REPORT_TYPEHASH + encode_uint(timestamp, 64) + unsigned.prices_hash()),
    )


@dataclass(frozen=True, slots=True)
class ListInstrument:
    """Governance: list a new instrument (L1 origin only)."""

    instrument: Instrument

    def __post_init__(self) -> None:
        spec = self.instrument
        if not isinstance(spec, Instrument):
            raise MalformedTx("a listing carries an Instrument")
        if not isinstance(spec.symbol, str) or not isinstance(spec.active, bool):
            raise MalformedTx("symbol must be text and active a boolean")
        if not all("!" <= c <= "~" for c in spec.symbol):
            raise MalformedTx("symbol must be printable ASCII without spaces")
        if not isinstance(spec.vector, tuple) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in spec.vector
        ):
            raise MalformedTx("a listing's vector is a tuple of integers")
        for name in Instrument._fields:
            value = getattr(spec, name)
            if name not in ("symbol", "active", "vector") and (
                not isinstance(value, int) or isinstance(value, bool)
            ):
                raise MalformedTx(f"listing field {name} must be an integer")
        if spec.kind != InstrumentKind.PERPETUAL:
            raise MalformedTx("ListInstrument lists perpetuals; options come by ListOptionChain")


MAX_STRIKES = 32


@dataclass(frozen=True, slots=True)
class ListOptionChain:
    """Governance: list one expiry of European options on an asset (L1 origin only).

    Lists a call and a put at each strike: instrument ids ``first_id + 2 k`` (call)
    and ``first_id + 2 k + 1`` (put) for the k-th strike. Strikes are whole dollars in
    quote units, ascending, at most ``MAX_STRIKES``. ``im_ppm`` / ``im_floor_ppm`` /
    ``mm_ppm`` are Deribit's standard option margin fractions (15 %, 10 %, 7.5 %).
    """

    first_id: int
    underlying: str
    asset: int
    expiry: int
    strikes: tuple[int, ...]
    tick: int
    lot: int
    im_ppm: int
    im_floor_ppm: int
    mm_ppm: int
    maker_fee_ppm: int
    taker_fee_ppm: int
    liq_fee_ppm: int
    max_open_interest: int

    def __post_init__(self) -> None:
        _check_ints(self, ("underlying", "strikes"))
        if not isinstance(self.underlying, str) or not 0 < len(self.underlying) <= 8:
            raise MalformedTx("underlying must be a name of 1..8 characters")
        if not (
            self.underlying.isascii() and self.underlying.isalnum() and self.underlying.isupper()
        ):
            raise MalformedTx("underlying must be upper-case letters and digits, e.g. ETH")
        if not isinstance(self.strikes, tuple) or not 0 < len(self.strikes) <= MAX_STRIKES:
            raise MalformedTx(f"a chain lists 1..{MAX_STRIKES} strikes")
        previous = 0
        for strike in self.strikes:
            _check_range("strike", strike, U64_MAX, low=1)
            if strike <= previous:
                raise MalformedTx("strikes must be strictly increasing")
            previous = strike
        if self.first_id + 2 * len(self.strikes) - 1 > U16_MAX:
            raise MalformedTx("instrument ids of the chain exceed the u16 range")


SET_MARGIN_MODE_TYPEHASH = type_hash("SetMarginMode(uint32 account,bool portfolio,uint32 nonce)")


@dataclass(frozen=True, slots=True)
class SetMarginMode:
    """Switch an account between standard and portfolio margin. Signed by the owner."""

    account: int
    portfolio: bool
    nonce: int
    signature: bytes | None = None

    def __post_init__(self) -> None:
        _check_range("account", self.account, U32_MAX)
        if not isinstance(self.portfolio, bool):
            raise MalformedTx("portfolio must be a boolean")
        _check_range("nonce", self.nonce, U32_MAX)
        _check_signature(self.signature, required=False)

    def struct_hash(self) -> bytes:
        return keccak256(
            SET_MARGIN_MODE_TYPEHASH
            + encode_uint(self.account, 32)
            + encode_uint(int(self.portfolio), 8)
            + encode_uint(self.nonce, 32)
        )


@dataclass(frozen=True, slots=True)
class SetInstrumentParams:
    """Governance: change an instrument's risk and fee parameters, or delist it."""

    instrument_id: int
    im_ppm: int
    mm_ppm: int
    maker_fee_ppm: int
    taker_fee_ppm: int
    liq_fee_ppm: int
    funding_cap_ppm: int
    max_open_interest: int
    active: bool

    def __post_init__(self) -> None:
        _check_ints(self, ("active",))
        if not isinstance(self.active, bool):
            raise MalformedTx("active must be a boolean")


@dataclass(frozen=True, slots=True)
class SetOracle:
    """Governance: rotate the oracle set and its guards."""

    signers: tuple[bytes, ...]
    threshold: int
    staleness: int
    max_move_ppm: int

    def __post_init__(self) -> None:
        if not isinstance(self.signers, tuple):
            raise MalformedTx("oracle signers must be a tuple of addresses")
        for signer in self.signers:
            _check_address("oracle signer", signer)
        _check_ints(self, ("signers",))


@dataclass(frozen=True, slots=True)
class SetRiskParams:
    """Governance: the deployment's risk parameters."""

    max_positions: int
    max_order_lifetime: int
    liq_band_ppm: int
    backstop_ppm: int

    def __post_init__(self) -> None:
        _check_ints(self, ())


@dataclass(frozen=True, slots=True)
class Unreadable:
    """An L1 input that is no tx its source may send (bytes that do not decode, or a
    kind the source may not send), or a batch item that does not decode in its batch.
    It keeps its place in its block and the STF refuses it: a block's L1 txs are
    exactly the L1 input queue's entries, which the one-step executor (#7) loads from
    L1 (docs/design/fraud-proofs.md section 2), and a batch's items are exactly those
    the inbox framed (docs/design/batch.md section 2). The Portal refuses forced txs
    that do not decode and the Timelock non-governance kinds, so on a real L1 only a
    governance tx that does not decode, or a batcher's bad item, gets here."""

    data: bytes


Tx = (
    Deposit
    | Withdraw
    | Transfer
    | RegisterKey
    | RevokeKey
    | NonceFloor
    | Fill
    | Liquidate
    | Backstop
    | ForcedClose
    | SettleAccount
    | SetMarginMode
    | OracleUpdate
    | ListInstrument
    | ListOptionChain
    | SetInstrumentParams
    | SetOracle
    | SetRiskParams
    | Unreadable
)
OwnerTx = Withdraw | Transfer | RegisterKey | RevokeKey | SetMarginMode


def sign_owner_tx(tx: OwnerTx | NonceFloor, private_key: bytes, domain_separator: bytes) -> bytes:
    """Sign an owner tx (or a nonce floor) in the domain; returns the 65-byte signature."""
    return sign_digest(private_key, typed_digest(domain_separator, tx.struct_hash()))
