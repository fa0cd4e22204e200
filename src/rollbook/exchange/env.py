"""What a tx sees besides the state: block time, the domain, its origin.

The STF reads no clock: the block's timestamp is an input (consensus-specs'
``on_tick(store, time)``). Signature recovery goes through :class:`TxEnv` so that a
node may precompute recoveries in parallel (:mod:`rollbook.exchange.fastpath`); the
cache holds only results of :func:`recover_address`, a pure function, so it cannot
change any outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rollbook.crypto.secp256k1 import SignatureError, recover_address
from rollbook.exchange.errors import BadSignature
from rollbook.exchange.orders import Order
from rollbook.exchange.txs import Origin


@dataclass(slots=True)
class SignatureCache:
    """Memoised pure functions: order digests and recovered signers."""

    digests: dict[Order, bytes] = field(default_factory=dict)
    signers: dict[bytes, bytes] = field(default_factory=dict)


@dataclass(slots=True)
class TxEnv:
    """The context of one tx: L2 block time, EIP-712 domain, origin and L1 sender."""

    timestamp: int
    domain_separator: bytes
    origin: Origin = Origin.L2
    l1_sender: bytes | None = None
    cache: SignatureCache | None = None
    fast: bool = False
    """Settle common fills with the optimised twin (:mod:`rollbook.exchange.fast`)."""

    def order_digest(self, order: Order) -> bytes:
        """The EIP-712 digest of ``order`` in this domain (memoised when cached)."""
        cache = self.cache
        if cache is None:
            return order.digest(self.domain_separator)
        digest = cache.digests.get(order)
        if digest is None:
            digest = order.digest(self.domain_separator)
            cache.digests[order] = digest
        return digest

    def signer(self, digest: bytes, signature: bytes) -> bytes:
        """The address that signed ``digest``; raises :class:`BadSignature`."""
        cache = self.cache
        if cache is not None:
            found = cache.signers.get(digest + signature)
            if found is not None:
                return found
        try:
            address = recover_address(digest, signature)
        except SignatureError as exc:
            raise BadSignature(f"bad signature: {exc}") from exc
        if cache is not None:
            cache.signers[digest + signature] = address
        return address
