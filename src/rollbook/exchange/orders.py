"""Signed orders: the fields a trader signs, their hashes, and signing.

Every field of :class:`Order` is signed (docs/design/consensus.md section 2). The
fill price is the maker's limit price and the fee rate must not exceed
``max_fee_ppm`` (dYdX v3's ``limitFee``), so the sequencer has no price or fee
discretion beyond what the trader signed.

Two modes sign the same fields (docs/design/zk.md, "Keys"):

- **optimistic**: secp256k1 over the EIP-712 digest, a 65-byte ``r || s || v``;
- **ZK**: EdDSA-Poseidon over Baby Jubjub (:mod:`rollbook.crypto.eddsa`), a 96-byte
  signature of :meth:`Order.zk_digest`, a Poseidon hash a circuit computes in ~500
  constraints (keccak would cost ~150k). It folds in the deployment's EIP-712 domain
  separator, split in two 128-bit halves (a 256-bit value is no field element), so a
  signature is bound to one deployment in both modes.
"""

from __future__ import annotations

from dataclasses import dataclass

from rollbook.crypto import eddsa
from rollbook.crypto.eip712 import type_hash, typed_digest
from rollbook.crypto.keccak import keccak256
from rollbook.crypto.poseidon import poseidon
from rollbook.crypto.secp256k1 import sign_digest
from rollbook.exchange.errors import MalformedTx
from rollbook.exchange.numeric import U16_MAX, U32_MAX, U64_MAX
from rollbook.exchange.types import OrderFlags, Side

ORDER_TYPE = (
    "Order(uint32 account,uint16 instrument,uint8 side,uint64 price,uint64 size,"
    "uint32 maxFeePpm,uint64 expiry,uint16 slot,uint32 nonce,uint8 flags)"
)
ORDER_TYPEHASH = type_hash(ORDER_TYPE)
ECDSA_SIGNATURE_SIZE = 65
SIGNATURE_SIZES = (ECDSA_SIGNATURE_SIZE, eddsa.SIGNATURE_SIZE)
_LOW_128 = (1 << 128) - 1


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

    def values(self) -> tuple[int, ...]:
        """The signed fields as integers, in the struct's order: what both digests
        encode and the ZK circuits take."""
        return (
            self.account,
            self.instrument,
            int(self.side),
            self.price,
            self.size,
            self.max_fee_ppm,
            self.expiry,
            self.slot,
            self.nonce,
            int(self.flags),
        )

    def struct_hash(self) -> bytes:
        """``hashStruct(Order)`` per EIP-712: the type hash, then one word per field.

        Every field was range-checked on construction, so each fits its word.
        """
        words = [value.to_bytes(32, "big") for value in self.values()]
        return keccak256(b"".join([ORDER_TYPEHASH, *words]))

    def digest(self, domain_separator: bytes) -> bytes:
        """The 32-byte digest a trading key signs in the given domain."""
        return typed_digest(domain_separator, self.struct_hash())

    def zk_digest(self, domain_separator: bytes) -> bytes:
        """The 32-byte digest a ZK trading key signs in the given domain.

        ``Poseidon(domain_hi, domain_lo, account, instrument, side, price, size,
        max_fee_ppm, expiry, slot, nonce, flags)``, big-endian: the halves of the
        32-byte domain separator, then the integers :meth:`struct_hash` encodes, in the
        same order (each below 2^64, so a field element as it is).
        """
        if len(domain_separator) != 32:
            raise MalformedTx("a domain separator is 32 bytes")
        domain = int.from_bytes(domain_separator, "big")
        return poseidon([domain >> 128, domain & _LOW_128, *self.values()]).to_bytes(32, "big")


@dataclass(frozen=True, slots=True)
class SignedOrder:
    """An order with its signature and (cached) digest.

    The signature is 65 bytes (optimistic mode's secp256k1) or 96 bytes (ZK mode's
    EdDSA, :mod:`rollbook.crypto.eddsa`); which one a deployment takes is the STF's
    check (:meth:`rollbook.exchange.env.TxEnv.order_signer`). ``digest`` is derived
    from ``order`` and the domain (EIP-712 or Poseidon by the mode); it is carried so
    the hash is computed once per order, not once per fill. :func:`sign_order` and
    :func:`sign_order_zk` fill it in; the STF recomputes and compares it (a wrong
    digest is a malformed tx).
    """

    order: Order
    signature: bytes
    digest: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.order, Order):
            raise MalformedTx("a signed order must carry an Order")
        if not isinstance(self.signature, bytes) or len(self.signature) not in SIGNATURE_SIZES:
            raise MalformedTx(
                "an order signature must be 65 bytes (r || s || v) or 96 bytes "
                "(ZK mode: pack(A) || pack(R8) || S)"
            )
        if not isinstance(self.digest, bytes) or len(self.digest) != 32:
            raise MalformedTx("an order digest must be 32 bytes")


def sign_order(order: Order, private_key: bytes, domain_separator: bytes) -> SignedOrder:
    """Sign ``order`` with a trading key in the given domain."""
    digest = order.digest(domain_separator)
    return SignedOrder(order, sign_digest(private_key, digest), digest)


def sign_order_zk(order: Order, seed: bytes, domain_separator: bytes) -> SignedOrder:
    """Sign ``order`` with the ZK trading key of a 32-byte ``seed`` in the given domain."""
    digest = order.zk_digest(domain_separator)
    return SignedOrder(order, eddsa.sign_digest(seed, digest), digest)


def _check_range(name: str, value: object, high: int, low: int = 0) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedTx(f"{name} must be an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise MalformedTx(f"{name} {value} is out of range [{low}, {high}]")
