"""L2 blocks, their hashes and roots, and the output root.

An L2 block is a header and its txs. The header commits to everything a verifier
checks::

    number u64 | parent_hash 32 | timestamp u64 | l1_origin u64
    | receipts_root 32 | state_root 32 | withdrawals_root 32

and the block hash is ``keccak`` of that encoding; ``receipts_root`` is the Merkle root
(:mod:`rollbook.codec.txroot`) of the receipts. A block's txs are fixed by L1, so
the header does not repeat them: block ``n`` is the inbox's batch block ``n − 1``,
whose sequenced txs are its batch's items (docs/design/batch.md section 2), and its
L1 txs are the input queue's entries its origin takes (section 5). #7's one-step
proof checks each against L1; a tx root or an L1 block hash in the header could not
be checked, and a header field the executor cannot check is one a liar wins with.

The output root is what a proposer posts to L1 (ARCHITECTURE section 5)::

    keccak(version 32 | state_root | withdrawals_root | block_hash)

where ``version`` = ``mode << 16 | STF_VERSION`` names the proof mode (optimistic or
ZK, fixed at genesis) and the STF version. A withdrawal is proven against an output
root by its leaf in the withdrawals tree plus the three other fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from rollbook.codec.txcodec import encode_standalone
from rollbook.codec.txroot import merkle_root
from rollbook.codec.wire import uint
from rollbook.commitment.proofs import Proof, verify_inclusion
from rollbook.commitment.smt import SparseMerkleTree
from rollbook.crypto.keccak import keccak256
from rollbook.exchange.leaves import Withdrawal, withdrawal_key
from rollbook.exchange.state import State, leaf_path, leaf_value
from rollbook.exchange.stf import STF_VERSION, BlockTx, Receipt
from rollbook.exchange.txs import Origin


class Mode(IntEnum):
    """The proof mode of a deployment, fixed at genesis."""

    OPTIMISTIC = 1
    ZK = 2


def output_version(mode: Mode) -> int:
    return int(mode) << 16 | STF_VERSION


def output_root(mode: Mode, state_root: bytes, withdrawals_root: bytes, block_hash: bytes) -> bytes:
    """The root a proposer posts for a block (ARCHITECTURE section 5)."""
    return keccak256(uint(output_version(mode), 32) + state_root + withdrawals_root + block_hash)


BLOCK_TAG = b"rollbook.block"


@dataclass(frozen=True, slots=True)
class BlockInputs:
    """What a block is built from, before execution: its header without the roots
    (#7's dispute game takes a block's inputs from the header the defender opens)."""

    number: int
    parent_hash: bytes
    timestamp: int
    l1_origin: int

    def encode(self) -> bytes:
        return b"".join(
            (
                uint(self.number, 8),
                self.parent_hash,
                uint(self.timestamp, 8),
                uint(self.l1_origin, 8),
            )
        )

    def hash(self) -> bytes:
        return keccak256(BLOCK_TAG + self.encode())

    def header(self, receipts_root: bytes, state_root: bytes, withdrawals_root: bytes) -> Header:
        return Header(
            self.number,
            self.parent_hash,
            self.timestamp,
            self.l1_origin,
            receipts_root,
            state_root,
            withdrawals_root,
        )


@dataclass(frozen=True, slots=True)
class Header:
    """An L2 block header."""

    number: int
    parent_hash: bytes
    timestamp: int
    l1_origin: int
    receipts_root: bytes
    state_root: bytes
    withdrawals_root: bytes

    def inputs(self) -> BlockInputs:
        return BlockInputs(self.number, self.parent_hash, self.timestamp, self.l1_origin)

    def encode(self) -> bytes:
        roots = self.receipts_root + self.state_root + self.withdrawals_root
        return self.inputs().encode() + roots

    def hash(self) -> bytes:
        return keccak256(self.encode())


@dataclass(frozen=True, slots=True)
class BatchSource:
    """Where a derived block comes from in the inbox: record ``record`` (the inbox's
    index of its batch), block ``block`` of that batch, the batch's head and items.
    Every derived block after genesis has one: block ``n`` is the inbox's batch block
    ``n − 1`` (docs/design/batch.md section 5). #7's one-step proof of ``block.begin``
    and ``tx.load`` reads it."""

    record: int
    block: int
    head: bytes
    items: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class L2Block:
    """A block: its header, its txs and their receipts.

    ``sequenced`` is how many of the txs came from the sequencer's batch (they follow
    the L1-origin txs, which derivation puts first).
    """

    header: Header
    txs: tuple[BlockTx, ...]
    receipts: tuple[Receipt, ...]
    sequenced: int
    source: BatchSource | None = field(default=None, compare=False)
    """Its batch in the inbox, for a derived block (a sequencer's block before it is
    posted has none)."""

    @property
    def hash(self) -> bytes:
        return self.header.hash()

    @property
    def number(self) -> int:
        return self.header.number


def block_output(block: L2Block, mode: Mode) -> bytes:
    """The output root of ``block``."""
    h = block.header
    return output_root(mode, h.state_root, h.withdrawals_root, h.hash())


def tx_item(item: BlockTx, domain_separator: bytes) -> bytes:
    """A block tx as a tx-root leaf: origin, L1 sender (or zeros), standalone encoding."""
    sender = item.l1_sender if item.l1_sender is not None else bytes(20)
    return bytes([int(item.origin)]) + sender + encode_standalone(item.tx, domain_separator)


def receipt_item(receipt: Receipt) -> bytes:
    """A receipt as a receipts-root leaf: ok u8, code u32, error name (u8 length, ASCII).

    The human message is not committed: rewording it must not be a hard fork, and the
    second implementations (Vyper, circuits) need not reproduce English text.
    """
    error = receipt.error.encode()
    return bytes([int(receipt.ok)]) + uint(receipt.code, 4) + bytes([len(error)]) + error


def receipts_root(receipts: tuple[Receipt, ...]) -> bytes:
    return merkle_root([receipt_item(r) for r in receipts])


@dataclass(frozen=True, slots=True)
class WithdrawalProof:
    """What L1 needs to pay a withdrawal: the output root's preimage and the leaf's
    proof in the withdrawals tree (#5's portal checks exactly this)."""

    mode: Mode
    state_root: bytes
    withdrawals_root: bytes
    block_hash: bytes
    withdrawal_id: int
    leaf: Withdrawal
    proof: Proof

    def output_root(self) -> bytes:
        return output_root(self.mode, self.state_root, self.withdrawals_root, self.block_hash)


def prove_withdrawal(
    state: State, block: L2Block, mode: Mode, withdrawal_id: int, count: int | None = None
) -> WithdrawalProof:
    """The proof of a withdrawal against the output root of ``block``.

    Withdrawal leaves are written once, with sequential ids, and never change, so the
    withdrawals tree of a block is the leaves with ids below the block's withdrawal
    count: ``state`` may be the block's post-state or any later state of the chain.
    ``count`` is the block's ``next_withdrawal_id`` (default: the state's); when it is
    the state's, the state's own tree is the block's, else the block's tree is rebuilt
    from the leaves (O(count) hashes).

    Raises:
        LookupError: the withdrawal is not in the block's tree, or the tree does not
            hash to the block's withdrawals root (``count`` is not the block's).
    """
    current = state.globals().next_withdrawal_id
    count = current if count is None else count
    if not 0 <= withdrawal_id < count <= current:
        raise LookupError(f"withdrawal {withdrawal_id} is not among the block's {count}")
    key = withdrawal_key(withdrawal_id)
    if count == current:
        leaf, proof = state.prove_withdrawal(key)
        root = state.withdrawals_root()
    else:
        tree = SparseMerkleTree()
        tree.update(
            (leaf_path(withdrawal_key(i)), leaf_value(state.withdrawal(i))) for i in range(count)
        )
        root = tree.root()
        leaf, proof = state.withdrawal(withdrawal_id), tree.prove(leaf_path(key))
    header = block.header
    if root != header.withdrawals_root or not isinstance(leaf, Withdrawal):
        raise LookupError(f"the withdrawals tree of {count} leaves is not block {header.number}'s")
    return WithdrawalProof(
        mode, header.state_root, header.withdrawals_root, block.hash, withdrawal_id, leaf, proof
    )


def verify_withdrawal(root: bytes, claim: WithdrawalProof) -> bool:
    """True if ``claim`` proves its withdrawal under output root ``root``."""
    if claim.output_root() != root:
        return False
    path = leaf_path(withdrawal_key(claim.withdrawal_id))
    return verify_inclusion(claim.withdrawals_root, path, leaf_value(claim.leaf), claim.proof)


GENESIS_PARENT = bytes(32)
__all__ = [
    "GENESIS_PARENT",
    "BatchSource",
    "Header",
    "L2Block",
    "Mode",
    "Origin",
    "output_root",
    "prove_withdrawal",
    "receipts_root",
    "verify_withdrawal",
]
