"""What a tx sees besides the state: block time, the domain, its origin, the mode.

The STF reads no clock: the block's timestamp is an input (consensus-specs'
``on_tick(store, time)``). Signature recovery goes through :class:`TxEnv` so that a
node may precompute recoveries in parallel (:mod:`rollbook.exchange.fastpath`); the
cache holds only results of pure functions (:func:`recover_address`,
:func:`recover_key_id`, the order digests), so it cannot change any outcome.

The proof mode (``zk``, fixed at genesis: ``rollbook.chain.blocks.Mode``) decides how
an *order* is authorised (:mod:`rollbook.exchange.orders`): in optimistic mode by a
65-byte secp256k1 signature of its EIP-712 digest, in ZK mode by a 96-byte
EdDSA-Poseidon signature of its Poseidon digest. A signature of the other mode's
length is refused. Owner actions and oracle reports are secp256k1 (EIP-712) in both
modes (:meth:`TxEnv.signer`); docs/design/zk.md says what ZK mode will do for them.
ZK mode also refuses every tx its circuits cannot prove (:mod:`rollbook.exchange.zkmode`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rollbook.crypto.eddsa import SIGNATURE_SIZE as ZK_SIGNATURE_SIZE
from rollbook.crypto.eddsa import ZkSignatureError, recover_key_id
from rollbook.crypto.secp256k1 import SignatureError, recover_address
from rollbook.exchange.errors import BadSignature
from rollbook.exchange.orders import ECDSA_SIGNATURE_SIZE, Order
from rollbook.exchange.txs import Origin


@dataclass(slots=True)
class SignatureCache:
    """Memoised pure functions: order digests and recovered signers.

    The two modes' digests of an order differ, so each has its own table. Signers are
    keyed by ``digest || signature``: 97 bytes for a secp256k1 signature, 128 for a ZK
    one, so the modes' keys cannot collide (and each mode refuses the other's length
    before it looks).
    """

    digests: dict[Order, bytes] = field(default_factory=dict)
    zk_digests: dict[Order, bytes] = field(default_factory=dict)
    signers: dict[bytes, bytes] = field(default_factory=dict)

    def clear(self) -> None:
        self.digests.clear()
        self.zk_digests.clear()
        self.signers.clear()


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
    zk: bool = False
    """ZK mode: orders are signed by Baby Jubjub trading keys (module docstring), and
    txs beyond the circuits' bounds are refused (:mod:`rollbook.exchange.zkmode`)."""

    def order_digest(self, order: Order) -> bytes:
        """The digest of ``order`` in this domain and mode (memoised when cached)."""
        cache = self.cache
        if cache is None:
            return self._order_digest(order)
        table = cache.zk_digests if self.zk else cache.digests
        digest = table.get(order)
        if digest is None:
            digest = self._order_digest(order)
            table[order] = digest
        return digest

    def _order_digest(self, order: Order) -> bytes:
        if self.zk:
            return order.zk_digest(self.domain_separator)
        return order.digest(self.domain_separator)

    def order_signer(self, digest: bytes, signature: bytes) -> bytes:
        """The trading key (address or ZK key id) that signed an order's ``digest``.

        Raises:
            BadSignature: the signature is of the other mode's length, malformed, or
                does not verify.
        """
        if not self.zk:
            if len(signature) != ECDSA_SIGNATURE_SIZE:
                raise BadSignature(
                    f"bad signature: optimistic mode takes 65-byte secp256k1 order "
                    f"signatures, got {len(signature)} bytes"
                )
            return self.signer(digest, signature)
        if len(signature) != ZK_SIGNATURE_SIZE:
            raise BadSignature(
                f"bad signature: ZK mode takes 96-byte EdDSA order signatures, "
                f"got {len(signature)} bytes"
            )
        return self._recovered(digest, signature, recover_key_id, ZkSignatureError)

    def signer(self, digest: bytes, signature: bytes) -> bytes:
        """The address whose secp256k1 key signed ``digest``; raises :class:`BadSignature`.

        Owner txs and oracle reports in either mode, orders in optimistic mode.
        """
        return self._recovered(digest, signature, recover_address, SignatureError)

    def _recovered(
        self,
        digest: bytes,
        signature: bytes,
        recover: Callable[[bytes, bytes], bytes],
        failure: type[Exception],
    ) -> bytes:
        """``recover(digest, signature)``, memoised when cached (a 65-byte and a 96-byte
        signature never share a key); ``failure`` becomes :class:`BadSignature`."""
        cache = self.cache
        if cache is not None:
            found = cache.signers.get(digest + signature)
            if found is not None:
                return found
        try:
            signer = recover(digest, signature)
        except failure as exc:
            raise BadSignature(f"bad signature: {exc}") from exc
        if cache is not None:
            cache.signers[digest + signature] = signer
        return signer
