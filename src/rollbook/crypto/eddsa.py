"""ZK mode's trading-key signatures as rollbook carries them: 96 bytes and a key id.

The signature scheme is circomlib's EdDSA-Poseidon (``eddsa.js``'s
``signPoseidon`` / ``verifyPoseidon``, the ``EdDSAPoseidonVerifier`` template),
computed by :mod:`rollbook.crypto.babyjub`. This module fixes its bytes:

- **a signature** is ``pack(A) || pack(R8) || S`` (96 bytes): the signer's public key
  and ``R8`` as circomlibjs packs points (:func:`babyjub.pack`), ``S`` as 32 bytes
  little-endian (circomlibjs's ``packSignature`` byte order). It carries its key, as a
  65-byte secp256k1 signature lets the key be recovered;
- **a key id** is the low 160 bits of ``Poseidon(A.x, A.y)``, big-endian: 20 bytes, so
  a ZK trading key sits where an address does (``Account.keys``, ``OrderSlot.signer``)
  and key registration, revocation and ``signer in account.keys`` are unchanged. The
  circuit recomputes it from the point it is given (one Poseidon(2), ~240
  constraints) and compares its low 160 bits.

:func:`recover_key_id` is :func:`rollbook.crypto.secp256k1.recover_address`'s twin:
the id of the key whose signature of ``digest`` this is, or :class:`ZkSignatureError`.
"""

from __future__ import annotations

from rollbook.crypto import babyjub
from rollbook.crypto.poseidon import P, poseidon

SIGNATURE_SIZE = 96
KEY_ID_SIZE = 20
_KEY_ID_MASK = (1 << 160) - 1


class ZkSignatureError(ValueError):
    """A 96-byte signature is malformed or does not verify; the message says why."""


def key_id(key: babyjub.Point) -> bytes:
    """The 20-byte id of a trading key: the low 160 bits of ``Poseidon(A.x, A.y)``."""
    return (poseidon([key.x, key.y]) & _KEY_ID_MASK).to_bytes(KEY_ID_SIZE, "big")


def seed_key_id(seed: bytes) -> bytes:
    """The key id of the trading key of a 32-byte seed (what its owner registers)."""
    return key_id(babyjub.public_key(seed))


def encode_signature(key: babyjub.Point, signature: babyjub.Signature) -> bytes:
    """``pack(A) || pack(R8) || S`` (S little-endian); refuses ``S >= L``."""
    if not 0 <= signature.s < babyjub.L:
        raise ZkSignatureError("a signature's S must be below the subgroup order L")
    try:
        return babyjub.pack(key) + babyjub.pack(signature.r8) + signature.s.to_bytes(32, "little")
    except babyjub.InvalidPoint as exc:
        raise ZkSignatureError(f"cannot encode the signature: {exc}") from exc


def decode_signature(data: bytes) -> tuple[babyjub.Point, babyjub.Signature]:
    """``(A, (R8, S))`` of a 96-byte signature.

    Raises:
        ZkSignatureError: not 96 bytes, a point that does not unpack (y ≥ P, off the
            curve, small order, non-canonical sign), or ``S >= L``.
    """
    if len(data) != SIGNATURE_SIZE:
        raise ZkSignatureError(f"a ZK signature is {SIGNATURE_SIZE} bytes, got {len(data)}")
    try:
        key = babyjub.unpack(data[0:32])
        r8 = babyjub.unpack(data[32:64])
    except babyjub.InvalidPoint as exc:
        raise ZkSignatureError(f"bad signature point: {exc}") from exc
    s = int.from_bytes(data[64:96], "little")
    if s >= babyjub.L:
        raise ZkSignatureError("a signature's S must be below the subgroup order L")
    return key, babyjub.Signature(r8, s)


def digest_element(digest: bytes) -> int:
    """A 32-byte digest as the field element signed (big-endian, below ``P``)."""
    if len(digest) != 32:
        raise ZkSignatureError(f"a digest is 32 bytes, got {len(digest)}")
    value = int.from_bytes(digest, "big")
    if value >= P:
        raise ZkSignatureError("a ZK digest is a field element: below P")
    return value


def sign_digest(seed: bytes, digest: bytes) -> bytes:
    """The 96-byte signature of a 32-byte field-element digest by ``seed``'s key."""
    message = digest_element(digest)
    return encode_signature(babyjub.public_key(seed), babyjub.sign(seed, message))


def recover_key_id(digest: bytes, signature: bytes) -> bytes:
    """The key id of the key that signed ``digest`` (the key the signature carries).

    Raises:
        ZkSignatureError: the signature is malformed or does not verify for its key.
    """
    message = digest_element(digest)
    key, parts = decode_signature(signature)
    if not babyjub.verify(key, message, parts):
        raise ZkSignatureError("the signature does not verify for the key it carries")
    return key_id(key)
