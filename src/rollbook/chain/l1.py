"""What derivation reads from L1: blocks with their rollup inputs, in order.

Each L1 block carries the inputs the rollup contracts (#5) recorded in it, in log
order: deposits (portal), forced txs (anyone, through the portal, with a fee),
governance txs (the timelock), and batches (the inbox, from the batcher). Until #5's
clients read them from a real EVM, tests and the devnet build these records directly;
derivation does not care where they came from, only that they are the L1 history.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class L1Deposit:
    """A deposit event: sequential id, L2 recipient (owner address), amount."""

    deposit_id: int
    owner: bytes
    amount: int


@dataclass(frozen=True, slots=True)
class L1Forced:
    """A forced tx: its L1 sender and its standalone codec encoding."""

    sender: bytes
    data: bytes


@dataclass(frozen=True, slots=True)
class L1Governance:
    """A governance tx executed by the timelock: its standalone codec encoding."""

    data: bytes


L1Input = L1Deposit | L1Forced | L1Governance


@dataclass(frozen=True, slots=True)
class L1Block:
    """One L1 block as derivation sees it."""

    number: int
    hash: bytes
    parent_hash: bytes
    timestamp: int
    inputs: tuple[L1Input, ...] = ()
    batches: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class L1Ref:
    """An L1 block's identity and time (what an L2 block cites as its origin)."""

    number: int
    hash: bytes
    timestamp: int

    @classmethod
    def of(cls, block: L1Block) -> L1Ref:
        return cls(block.number, block.hash, block.timestamp)
