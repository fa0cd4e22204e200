"""EIP-712 typed-data hashing for rollbook's fixed set of structs.

Only static types occur in rollbook's structs (``uintN``, ``address``, ``bytes32``),
so each field encodes to one 32-byte word and ``hashStruct(s) = keccak(typeHash ||
enc(field_1) || ... )``. The digest a key signs is
``keccak(0x1901 || domainSeparator || hashStruct(message))``.

Reference: EIP-712, "Definition of encodeData" and "Definition of domainSeparator".
"""

from __future__ import annotations

from dataclasses import dataclass

from rollbook.crypto.keccak import keccak256

DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"


class TypedDataError(ValueError):
    """A value does not fit the EIP-712 field type it is encoded as."""


@dataclass(frozen=True, slots=True)
class Domain:
    """The EIP-712 domain: one per deployment (section 4 of ARCHITECTURE)."""

    name: str
    version: str
    chain_id: int
    verifying_contract: bytes

    def separator(self) -> bytes:
        """``hashStruct(EIP712Domain)`` of this domain."""
        return keccak256(
            keccak256(DOMAIN_TYPE.encode())
            + keccak256(self.name.encode())
            + keccak256(self.version.encode())
            + self.chain_id.to_bytes(32, "big")
            + encode_address(self.verifying_contract)
        )


def encode_uint(value: int, bits: int) -> bytes:
    """Encode an unsigned integer of ``bits`` width as one 32-byte word."""
    if not 0 <= value < (1 << bits):
        raise TypedDataError(f"value {value} does not fit uint{bits}")
    return value.to_bytes(32, "big")


def encode_address(address: bytes) -> bytes:
    """Encode a 20-byte address as one 32-byte word."""
    if len(address) != 20:
        raise TypedDataError(f"address must be 20 bytes, got {len(address)}")
    return bytes(12) + address


def type_hash(type_string: str) -> bytes:
    """``keccak(encodeType)`` for a struct without referenced struct types."""
    return keccak256(type_string.encode())


def typed_digest(domain_separator: bytes, struct_hash: bytes) -> bytes:
    """The digest that is signed: ``keccak(0x19 0x01 || domain || struct)``."""
    return keccak256(b"\x19\x01" + domain_separator + struct_hash)
