"""secp256k1 and EIP-712, checked against an independent implementation (eth-account)."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import given, settings
from hypothesis import strategies as st

from rollbook.crypto.secp256k1 import (
    SECP256K1_N,
    SignatureError,
    private_key_address,
    recover_address,
    sign_digest,
)
from rollbook.exchange.orders import Order, sign_order
from rollbook.exchange.types import OrderFlags, Side
from rollbook.sim.world import TEST_DOMAIN, key_from_label

KEY = key_from_label("crypto-test")


def typed(order: Order) -> dict[str, object]:
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Order": [
                {"name": "account", "type": "uint32"},
                {"name": "instrument", "type": "uint16"},
                {"name": "side", "type": "uint8"},
                {"name": "price", "type": "uint64"},
                {"name": "size", "type": "uint64"},
                {"name": "maxFeePpm", "type": "uint32"},
                {"name": "expiry", "type": "uint64"},
                {"name": "slot", "type": "uint16"},
                {"name": "nonce", "type": "uint32"},
                {"name": "flags", "type": "uint8"},
            ],
        },
        "primaryType": "Order",
        "domain": {
            "name": TEST_DOMAIN.name,
            "version": TEST_DOMAIN.version,
            "chainId": TEST_DOMAIN.chain_id,
            "verifyingContract": "0x" + TEST_DOMAIN.verifying_contract.hex(),
        },
        "message": {
            "account": order.account,
            "instrument": order.instrument,
            "side": int(order.side),
            "price": order.price,
            "size": order.size,
            "maxFeePpm": order.max_fee_ppm,
            "expiry": order.expiry,
            "slot": order.slot,
            "nonce": order.nonce,
            "flags": int(order.flags),
        },
    }


orders = st.builds(
    Order,
    account=st.integers(0, 2**32 - 1),
    instrument=st.integers(0, 2**16 - 1),
    side=st.sampled_from(list(Side)),
    price=st.integers(1, 2**64 - 1),
    size=st.integers(1, 2**64 - 1),
    max_fee_ppm=st.integers(0, 2**32 - 1),
    expiry=st.integers(0, 2**64 - 1),
    slot=st.integers(0, 2**16 - 1),
    nonce=st.integers(0, 2**32 - 1),
    flags=st.sampled_from([OrderFlags.NONE, OrderFlags.POST_ONLY, OrderFlags.REDUCE_ONLY]),
)


@settings(max_examples=40, deadline=None)
@given(orders)
def test_order_digest_and_signature_match_eth_account(order: Order) -> None:
    separator = TEST_DOMAIN.separator()
    signed = sign_order(order, KEY, separator)
    message = encode_typed_data(full_message=typed(order))
    reference = Account.sign_message(message, KEY)
    # Same digest, same (deterministic RFC 6979) signature, same signer.
    assert bytes(reference.message_hash) == signed.digest
    assert bytes(reference.signature) == signed.signature
    assert recover_address(signed.digest, signed.signature) == private_key_address(KEY)
    assert Account.recover_message(message, signature=signed.signature).lower() == (
        "0x" + private_key_address(KEY).hex()
    )


def test_high_s_twin_is_refused() -> None:
    digest = bytes(range(32))
    signature = sign_digest(KEY, digest)
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    twin = signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])
    with pytest.raises(SignatureError, match="high"):
        recover_address(digest, twin)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda sig: sig[:64],
        lambda sig: bytes(32) + sig[32:],
        lambda sig: sig[:32] + bytes(32) + sig[64:],
        lambda sig: sig[:64] + b"\x05",
        lambda sig: SECP256K1_N.to_bytes(32, "big") + sig[32:],
    ],
)
def test_malformed_signatures_are_refused(mangle: object) -> None:
    digest = bytes(range(32))
    signature = sign_digest(KEY, digest)
    with pytest.raises(SignatureError):
        recover_address(digest, mangle(signature))  # type: ignore[operator]


def test_other_domain_recovers_another_signer() -> None:
    from rollbook.crypto.eip712 import Domain

    order = Order(1, 1, Side.BUY, 10, 10, 0, 10, 0, 1)
    other = Domain("rollbook", "1", 1, TEST_DOMAIN.verifying_contract)
    signed = sign_order(order, KEY, TEST_DOMAIN.separator())
    assert order.digest(other.separator()) != signed.digest
    assert recover_address(order.digest(other.separator()), signed.signature) != (
        private_key_address(KEY)
    )
