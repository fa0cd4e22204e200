"""Thin, pure wrappers over pinned cryptographic libraries (keccak, secp256k1, EIP-712)."""
