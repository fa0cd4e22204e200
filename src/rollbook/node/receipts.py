"""Signed acknowledgements: evidence of the order in which the sequencer took inputs.

Every acknowledged input gets a receipt: its sequence number, the acceptance time and
the digest of what was accepted (an order's EIP-712 digest, a cancel's digest, a tx's
hash), plus a Merkle path to a *group root* that the sequencer signed. One signature
covers a whole group commit (:mod:`rollbook.node.service`), so signing costs one ECDSA
operation per fsync rather than one per order, and the evidence is as strong: a
receipt verifies against the sequencer's address alone (:func:`verify_receipt`).

If the sequencer ever puts a later-numbered order ahead of an earlier one, the two
receipts prove it: sequence numbers are unique per input, and the log (hence the
blocks posted to L1) is in sequence order.

- leaf = ``keccak("rollbook.ack" || seq u64 || at_ms u64 || digest)``, in the group's
  Merkle tree (:mod:`rollbook.codec.txroot`);
- the sequencer signs the EIP-712 struct ``AckGroup(bytes32 root)`` in the
  deployment's domain.
"""

from __future__ import annotations

from dataclasses import dataclass

from rollbook.codec.txcodec import encode_standalone
from rollbook.codec.txroot import merkle_paths, verify_path
from rollbook.crypto.eip712 import type_hash, typed_digest
from rollbook.crypto.keccak import keccak256
from rollbook.crypto.secp256k1 import SignatureError, recover_address, sign_digest
from rollbook.node.inputs import (
    CancelAll,
    CancelOrder,
    Input,
    ObserveL1,
    PlaceOrder,
    SubmitTx,
    Tick,
    cancel_all_digest,
    cancel_digest,
)

ACK_GROUP_TYPEHASH = type_hash("AckGroup(bytes32 root)")


@dataclass(frozen=True, slots=True)
class Receipt:
    seq: int
    at_ms: int
    digest: bytes
    root: bytes
    path: tuple[bytes, ...]
    index: int
    signature: bytes

    def to_json(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "at_ms": self.at_ms,
            "digest": "0x" + self.digest.hex(),
            "root": "0x" + self.root.hex(),
            "index": self.index,
            "path": ["0x" + p.hex() for p in self.path],
            "signature": "0x" + self.signature.hex(),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Receipt:
        def raw(value: object) -> bytes:
            return bytes.fromhex(str(value).removeprefix("0x"))

        path = data["path"]
        if not isinstance(path, list):
            raise ValueError("a receipt's path must be a list")
        return cls(
            int(str(data["seq"])),
            int(str(data["at_ms"])),
            raw(data["digest"]),
            raw(data["root"]),
            tuple(raw(p) for p in path),
            int(str(data["index"])),
            raw(data["signature"]),
        )


def input_digest(inp: Input, separator: bytes) -> bytes:
    """What a receipt says was accepted."""
    if isinstance(inp, PlaceOrder):
        return inp.signed.digest
    if isinstance(inp, CancelOrder):
        return cancel_digest(separator, inp.account, inp.order_id)
    if isinstance(inp, CancelAll):
        return cancel_all_digest(separator, inp.account, inp.instrument, inp.timestamp_ms)
    if isinstance(inp, SubmitTx):
        return keccak256(encode_standalone(inp.tx, separator))
    if isinstance(inp, ObserveL1):
        return inp.block.hash
    if isinstance(inp, Tick):
        return keccak256(b"tick" + inp.now.to_bytes(8, "big"))
    raise TypeError(f"unknown input {type(inp).__name__}")


def leaf(seq: int, at_ms: int, digest: bytes) -> bytes:
    return b"rollbook.ack" + seq.to_bytes(8, "big") + at_ms.to_bytes(8, "big") + digest


def group_digest(separator: bytes, root: bytes) -> bytes:
    return typed_digest(separator, keccak256(ACK_GROUP_TYPEHASH + root))


def sign_group(
    key: bytes, separator: bytes, entries: list[tuple[int, int, bytes]]
) -> list[Receipt]:
    """Receipts for ``(seq, at_ms, digest)`` entries under one signature."""
    root, paths = merkle_paths([leaf(*entry) for entry in entries])
    signature = sign_digest(key, group_digest(separator, root))
    return [
        Receipt(seq, at_ms, digest, root, paths[i], i, signature)
        for i, (seq, at_ms, digest) in enumerate(entries)
    ]


def verify_receipt(receipt: Receipt, sequencer: bytes, separator: bytes) -> bool:
    """True if ``receipt`` was signed by ``sequencer`` (a 20-byte address)."""
    item = leaf(receipt.seq, receipt.at_ms, receipt.digest)
    if not verify_path(receipt.root, item, receipt.index, receipt.path):
        return False
    try:
        signer = recover_address(group_digest(separator, receipt.root), receipt.signature)
    except SignatureError:
        return False
    return signer == sequencer
