"""secp256k1 signatures as Ethereum uses them: 65-byte ``r || s || v``, low-s only.

Recovery goes through coincurve (libsecp256k1). Every signature is checked for
range and for low-s (EIP-2: ``s <= n/2``) *before* recovery, so a malleated twin of a
valid signature is refused, in Python exactly as in the Vyper contracts.

Raises :class:`SignatureError` (a ``ValueError``) with a message saying what is wrong.
"""

from __future__ import annotations

import coincurve
from coincurve._libsecp256k1 import ffi as _ffi
from coincurve._libsecp256k1 import lib as _lib
from coincurve.context import GLOBAL_CONTEXT

from rollbook.crypto.keccak import keccak256

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
HALF_N = SECP256K1_N // 2
_CTX = GLOBAL_CONTEXT.ctx


class SignatureError(ValueError):
    """A signature is malformed, out of range, high-s, or does not recover."""


def split_signature(signature: bytes) -> tuple[int, int, int]:
    """Return ``(r, s, recovery_id)`` of a 65-byte signature after range checks.

    Raises:
        SignatureError: wrong length, ``r`` or ``s`` out of range, high ``s``, or a
            ``v`` other than 0, 1, 27 or 28.
    """
    if len(signature) != 65:
        raise SignatureError(f"signature must be 65 bytes, got {len(signature)}")
    r = int.from_bytes(signature[0:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if v in (27, 28):
        v -= 27
    if v not in (0, 1):
        raise SignatureError(f"signature v must be 27/28 or 0/1, got {signature[64]}")
    if not 0 < r < SECP256K1_N:
        raise SignatureError("signature r out of range")
    if not 0 < s < SECP256K1_N:
        raise SignatureError("signature s out of range")
    if s > HALF_N:
        raise SignatureError("signature s is high (EIP-2 requires low-s)")
    return r, s, v


def address_of_public_key(public_key_uncompressed: bytes) -> bytes:
    """The 20-byte Ethereum address of a 65-byte uncompressed public key."""
    return keccak256(public_key_uncompressed[1:])[12:]


def recover_address(digest: bytes, signature: bytes) -> bytes:
    """Recover the signer's 20-byte address from a 32-byte digest and a signature.

    Calls libsecp256k1 through coincurve's bindings directly (parse, recover,
    serialise): the same library as ``PublicKey.from_signature_and_message`` without
    its Python objects, ~10 µs less per recovery, which the STF does once per order.

    Raises:
        SignatureError: the signature is malformed, high-s, or does not recover.
    """
    if len(digest) != 32:
        raise SignatureError(f"digest must be 32 bytes, got {len(digest)}")
    _, _, v = split_signature(signature)
    recoverable = _ffi.new("secp256k1_ecdsa_recoverable_signature *")
    public_key = _ffi.new("secp256k1_pubkey *")
    if not _lib.secp256k1_ecdsa_recoverable_signature_parse_compact(
        _CTX, recoverable, signature[:64], v
    ):
        raise SignatureError("signature does not parse")
    if not _lib.secp256k1_ecdsa_recover(_CTX, public_key, recoverable, digest):
        raise SignatureError("signature does not recover to a public key")
    out = _ffi.new("unsigned char[65]")
    out_len = _ffi.new("size_t *", 65)
    _lib.secp256k1_ec_pubkey_serialize(
        _CTX, out, out_len, public_key, _lib.SECP256K1_EC_UNCOMPRESSED
    )
    return address_of_public_key(bytes(_ffi.buffer(out, 65)))


def private_key_address(private_key: bytes) -> bytes:
    """The address of a 32-byte private key (for wallets and tests)."""
    return address_of_public_key(
        coincurve.PrivateKey(private_key).public_key.format(compressed=False)
    )


def sign_digest(private_key: bytes, digest: bytes) -> bytes:
    """Sign a 32-byte digest; returns a low-s ``r || s || v`` with ``v`` in {27, 28}.

    libsecp256k1 always produces low-s signatures (RFC 6979 nonces), so the result
    passes :func:`split_signature`.
    """
    raw = coincurve.PrivateKey(private_key).sign_recoverable(digest, hasher=None)
    return raw[:64] + bytes([raw[64] + 27])
