"""Signed orders: the fields a trader signs, their EIP-712 hash, and signing.

Every field of :class:`Order` is signed (docs/design/consensus.md section 2). The
fill price is the maker's limit price and the fee rate must not exceed
``max_fee_ppm`` (dYdX v3's ``limitFee``), so the sequencer has no price or fee
discretion beyond what the trader signed.
"""

from __future__ import annotations

from dataclasses import dataclass

from rollbook.crypto.eip712 import type_hash, typed_digest
from rollbook.crypto.keccak import keccak256
from rollbook.crypto.secp256k1 import sign_digest
from rollbook.exchange.errors import MalformedTx
from rollbook.exchange.numeric import U16_MAX, U32_MAX, U64_MAX
from rollbook.exchange.types import OrderFlags, Side

ORDER_TYPE = (
    "Order(uint32 account,uint16 instrument,uint8 side,uint64 price,uint64 size,"
    "uint32 maxFeePpm,uint64 expiry,uint16 slot,uint32 nonce,uint8 flags)"
)
ORDER_TYPEHASH = type_hash(ORDER_TYPE)


@dataclass(frozen=True, slots=True)
class Order:
    """An order as signed by a trading key. Validated on construction."""

    account: int
    instrument: int
    side: Side
    price: int
    size: int
    max_fee_ppm: int
    expiry: int
    slot: int
    nonce: int
    flags: OrderFlags = OrderFlags.NONE

    def __post_init__(self) -> None:
        _check_range("account", self.account, U32_MAX)
        _check_range("instrument", self.instrument, U16_MAX)
        if not isinstance(self.side, Side):
            raise MalformedTx(f"side must be BUY or SELL, got {self.side!r}")
        _check_range("price", self.price, U64_MAX, low=1)
        _check_range("size", self.size, U64_MAX, low=1)
        _check_range("max_fee_ppm", self.max_fee_ppm, U32_MAX)
        _check_range("expiry", self.expiry, U64_MAX)
        _check_range("slot", self.slot, U16_MAX)
        _check_range("nonce", self.nonce, U32_MAX)
        if not isinstance(self.flags, int) or int(self.flags) & ~OrderFlags.valid_bits():
            raise MalformedTx(f"unknown order flag bits in {self.flags!r}")
        if self.flags & OrderFlags.IOC and self.flags & OrderFlags.FOK:
            raise MalformedTx("an order cannot be both IOC and FOK")
        if self.flags & OrderFlags.POST_ONLY and self.flags & (OrderFlags.IOC | OrderFlags.FOK):
            raise MalformedTx("a post-only order cannot be IOC or FOK")

    def struct_hash(self) -> bytes:
        """``hashStruct(Order)`` per EIP-712: the type hash, then one word per field.

        Every field was range-checked on construction, so each fits its word.
        """
        return keccak256(
            b"".join(
                (
                    ORDER_TYPEHASH,
                    self.account.to_bytes(32, "big"),
                    self.instrument.to_bytes(32, "big"),
                    int(self.side).to_bytes(32, "big"),
                    self.price.to_bytes(32, "big"),
                    self.size.to_bytes(32, "big"),
                    self.max_fee_ppm.to_bytes(32, "big"),
                    self.expiry.to_bytes(32, "big"),
                    self.slot.to_bytes(32, "big"),
                    self.nonce.to_bytes(32, "big"),
                    int(self.flags).to_bytes(32, "big"),
                )
            )
        )

    def digest(self, domain_separator: bytes) -> bytes:
        """The 32-byte digest a trading key signs in the given domain."""
        return typed_digest(domain_separator, self.struct_hash())


@dataclass(frozen=True, slots=True)
class SignedOrder:
    """An order with its 65-byte signature and (cached) digest.

    ``digest`` is derived from ``order`` and the domain; it is carried so the hash is
    computed once per order, not once per fill. :func:`sign_order` fills it in;
    the STF recomputes and compares it (a wrong digest is a malformed tx).
    """

    order: Order
    signature: bytes
    digest: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.order, Order):
            raise MalformedTx("a signed order must carry an Order")
        if not isinstance(self.signature, bytes) or len(self.signature) != 65:
            raise MalformedTx("an order signature must be 65 bytes (r || s || v)")
        if not isinstance(self.digest, bytes) or len(self.digest) != 32:
            raise MalformedTx("an order digest must be 32 bytes")


def sign_order(order: Order, private_key: bytes, domain_separator: bytes) -> SignedOrder:
    """Sign ``order`` with a trading key in the given domain."""
    digest = order.digest(domain_separator)
    return SignedOrder(order, sign_digest(private_key, digest), digest)


def _check_range(name: str, value: object, high: int, low: int = 0) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedTx(f"{name} must be an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise MalformedTx(f"{name} {value} is out of range [{low}, {high}]")
