"""ZK trading-key signatures (rollbook.crypto.eddsa) and the ZK order digest (#8).

The 96-byte form is ``pack(A) || pack(R8) || S``; a key id is the low 160 bits of
``Poseidon(A.x, A.y)``; an order's ZK digest is ``Poseidon`` of the domain's two
halves and the order's ten fields, the same integers its EIP-712 struct hash words.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from rollbook.crypto import babyjub as bj
from rollbook.crypto import eddsa
from rollbook.crypto.keccak import keccak256
from rollbook.crypto.poseidon import P, poseidon
from rollbook.exchange.errors import MalformedTx
from rollbook.exchange.orders import ORDER_TYPEHASH, Order, SignedOrder, sign_order, sign_order_zk
from rollbook.exchange.types import OrderFlags, Side
from rollbook.sim.world import TEST_DOMAIN, key_from_label
from tests.crypto.test_signatures import orders

SEED = key_from_label("zk-crypto-test")
SEPARATOR = TEST_DOMAIN.separator()
ORDER = Order(7, 1, Side.SELL, 2_000_050_000, 150_000_000, 1_000, 1_767_229_200, 3, 9)


def test_key_id_is_the_low_160_bits_of_the_keys_poseidon_hash() -> None:
    key = bj.public_key(SEED)
    full = poseidon([key.x, key.y]).to_bytes(32, "big")
    assert eddsa.key_id(key) == full[12:] == eddsa.seed_key_id(SEED)
    assert len(eddsa.key_id(key)) == 20
    assert eddsa.key_id(bj.public_key(bytes(32))) != eddsa.key_id(key)


def test_a_signature_round_trips_and_recovers_its_key_id() -> None:
    digest = (12345).to_bytes(32, "big")
    signature = eddsa.sign_digest(SEED, digest)
    assert len(signature) == 96
    key, parts = eddsa.decode_signature(signature)
    assert key == bj.public_key(SEED)
    assert parts == bj.sign(SEED, 12345)
    assert signature[64:] == parts.s.to_bytes(32, "little")
    assert eddsa.encode_signature(key, parts) == signature
    assert eddsa.recover_key_id(digest, signature) == eddsa.seed_key_id(SEED)


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 1]) + data[index + 1 :]


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda sig: sig[:95], "96 bytes"),
        (lambda sig: sig + b"\x00", "96 bytes"),
        (lambda sig: sig[:65], "96 bytes"),
        (lambda sig: sig[:64] + bj.L.to_bytes(32, "little"), "below the subgroup"),
        (
            lambda sig: sig[:64] + (int.from_bytes(sig[64:], "little") + 1).to_bytes(32, "little"),
            "does not verify",
        ),
        (lambda sig: P.to_bytes(32, "little") + sig[32:], "bad signature point"),
        (lambda sig: (1).to_bytes(32, "little") + sig[32:], "small order"),
        (lambda sig: sig[:32] + (P - 1).to_bytes(32, "little") + sig[64:], "small order"),
        # another key in the key's place (the same signature, another signer claimed)
        (lambda sig: bj.pack(bj.public_key(bytes(32))) + sig[32:], "does not verify"),
    ],
)
def test_bad_signatures_are_refused(mangle: object, reason: str) -> None:
    digest = (99).to_bytes(32, "big")
    signature = eddsa.sign_digest(SEED, digest)
    assert callable(mangle)
    with pytest.raises(eddsa.ZkSignatureError, match=reason):
        eddsa.recover_key_id(digest, mangle(signature))


def test_a_signature_of_another_digest_does_not_verify() -> None:
    signature = eddsa.sign_digest(SEED, (1).to_bytes(32, "big"))
    with pytest.raises(eddsa.ZkSignatureError, match="does not verify"):
        eddsa.recover_key_id((2).to_bytes(32, "big"), signature)
    with pytest.raises(eddsa.ZkSignatureError, match="field element"):
        eddsa.recover_key_id(P.to_bytes(32, "big"), signature)


# -- the ZK order digest -----------------------------------------------------------------


def _words(order: Order) -> list[int]:
    """The ten integers of an order, in the EIP-712 type's order."""
    return [
        order.account,
        order.instrument,
        int(order.side),
        order.price,
        order.size,
        order.max_fee_ppm,
        order.expiry,
        order.slot,
        order.nonce,
        int(order.flags),
    ]


@pytest.mark.parametrize(
    "order",
    [
        ORDER,
        Order(7, 1, Side.BUY, 1, 1, 0, 0, 0, 0, OrderFlags.POST_ONLY | OrderFlags.REDUCE_ONLY),
        Order(
            2**32 - 1,
            2**16 - 1,
            Side.SELL,
            2**64 - 1,
            2**64 - 1,
            0,
            2**64 - 1,
            0,
            1,
            OrderFlags.FOK,
        ),
    ],
)
def test_zk_digest_hashes_the_domain_halves_and_the_struct_hash_words(order: Order) -> None:
    words = _words(order)
    # the same integers as the EIP-712 struct hash (side BUY 0 / SELL 1, the flag bits)
    assert order.struct_hash() == keccak256(
        ORDER_TYPEHASH + b"".join(w.to_bytes(32, "big") for w in words)
    )
    domain = int.from_bytes(SEPARATOR, "big")
    expected = poseidon([domain >> 128, domain & ((1 << 128) - 1), *words])
    assert order.zk_digest(SEPARATOR) == expected.to_bytes(32, "big")


def test_zk_digest_depends_on_the_domain_and_on_every_field() -> None:
    other = TEST_DOMAIN.__class__("rollbook", "1", 1, TEST_DOMAIN.verifying_contract)
    assert ORDER.zk_digest(other.separator()) != ORDER.zk_digest(SEPARATOR)
    changed = [
        ORDER.__class__(**{**_fields(ORDER), name: value})
        for name, value in [
            ("account", 8),
            ("instrument", 2),
            ("side", Side.BUY),
            ("price", 1),
            ("size", 1),
            ("max_fee_ppm", 0),
            ("expiry", 0),
            ("slot", 4),
            ("nonce", 10),
            ("flags", OrderFlags.IOC),
        ]
    ]
    digests = {order.zk_digest(SEPARATOR) for order in changed} | {ORDER.zk_digest(SEPARATOR)}
    assert len(digests) == len(changed) + 1


def _fields(order: Order) -> dict[str, object]:
    return {name: getattr(order, name) for name in Order.__dataclass_fields__}


@settings(max_examples=10, deadline=None)
@given(orders)
def test_sign_order_zk_signs_the_zk_digest(order: Order) -> None:
    signed = sign_order_zk(order, SEED, SEPARATOR)
    assert signed.digest == order.zk_digest(SEPARATOR)
    assert int.from_bytes(signed.digest, "big") < P
    assert eddsa.recover_key_id(signed.digest, signed.signature) == eddsa.seed_key_id(SEED)


def test_a_signed_order_carries_65_or_96_bytes_only() -> None:
    zk = sign_order_zk(ORDER, SEED, SEPARATOR)
    ecdsa = sign_order(ORDER, key_from_label("k"), SEPARATOR)
    assert len(zk.signature) == 96 and len(ecdsa.signature) == 65
    for size in (0, 64, 66, 95, 97):
        with pytest.raises(MalformedTx, match=r"65 bytes .* or 96 bytes"):
            SignedOrder(ORDER, bytes(size), zk.digest)
