"""A ZK batch's public data: the bytes the proof's claim hashes and L1 reads (#8).

In ZK mode a batch goes to L1 as ``(batch_index, new_root, data, proof)``; the proof's
one public input is ``sha256(old_root ‖ new_root ‖ sha256(data)) mod r``
(:mod:`rollbook.zk.claim`), so every byte of ``data`` is bound to the proof.
``ZkRollup.vy`` reads the sections of it that L1 must act on and nothing else:

====== ================ ===== ===========================================================
offset field            width notes
====== ================ ===== ===========================================================
0      version          1     ``1``
1      chain_id         8     the L2's chain id: a batch for another deployment is refused
9      batch_index      8     the batch's place; L1 takes batch ``n`` only as its ``n``-th
17     first_input      8     the input queue's index of the first L1 input taken: where
                              the last batch stopped
25     n_inputs         2     at most 1,024
27     first_withdrawal 8     the id of the first withdrawal: the last batch's last + 1
35     n_withdrawals    2     at most 4,096
37     inputs                 ``n_inputs`` × (length u16, item): each the queue entry's
                              block tx item (``origin ‖ L1 sender ‖ encoding``,
                              :func:`rollbook.chain.blocks.tx_item`), 1..4,096 bytes
…      withdrawals            ``n_withdrawals`` × (owner 20, amount u64 > 0); ids
                              consecutive from ``first_withdrawal``, so none is given twice
…      rest                   to the end: fill, oracle and funding records, opaque to L1
====== ================ ===== ===========================================================

All integers are big-endian. L1 checks ``keccak(item) == entries[first_input + i]`` for
each input (the sequencer can neither invent, skip nor reorder an L1 input) and
records the withdrawals' Merkle root (:func:`withdrawals_root`, the tree of
:mod:`rollbook.codec.txroot` over ``id u64 ‖ owner ‖ amount u64``), against which the
Portal pays each one at once (:func:`withdrawal_path`).

**Length.** L1 takes any length up to ``MAX_DATA_BYTES`` and hashes exactly the bytes
it is given. The batch circuit hashes a *fixed-length* block (a circuit has fixed
wires: ``BatchClaim(n)``), so a prover pads the rest with zeros to its circuit's size
(:meth:`BatchData.encode` with ``size``), and the rest's record layout must read
trailing zeros as "no more records". A batch is provable only at its circuit's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rollbook.codec.errors import DecodeError, Oversized, Truncated, UnknownKind
from rollbook.codec.txroot import merkle_path, merkle_root

VERSION = 1
HEADER_BYTES = 37
MAX_DATA_BYTES = 32_768
"""``ZkRollup.vy``'s bound on ``data``: above any batch circuit's fixed size (SHA-256
is ~30k constraints per 64 bytes, ~15M for 32 KiB), and small enough that the
contract's memory, laid out for the bound, stays cheap."""
MAX_INPUTS = 1024
MAX_ITEM_BYTES = 4096
MAX_WITHDRAWALS = 4096
WITHDRAWAL_BYTES = 28
U64 = 2**64


class BatchDataError(DecodeError):
    """Batch data that breaks a rule of the layout (ZkRollup.vy refuses it too)."""


@dataclass(frozen=True, slots=True)
class PublishedWithdrawal:
    """A withdrawal a batch creates: L1 pays ``amount`` to ``owner`` under ``id``."""

    id: int
    owner: bytes
    amount: int

    def __post_init__(self) -> None:
        if not 0 <= self.id < U64:
            raise BatchDataError(f"withdrawal id {self.id} is not a u64")
        if len(self.owner) != 20:
            raise BatchDataError(f"withdrawal {self.id}: an owner is a 20-byte address")
        if not 0 < self.amount < U64:
            raise BatchDataError(f"withdrawal {self.id}: the amount must be in 1..2**64-1")

    def leaf(self) -> bytes:
        """The item of the withdrawals' Merkle tree (what the Portal hashes)."""
        return self.id.to_bytes(8, "big") + self.owner + self.amount.to_bytes(8, "big")


@dataclass(frozen=True, slots=True)
class BatchData:
    """The sections of a ZK batch's data (see the module's table)."""

    chain_id: int
    batch_index: int
    first_input: int
    inputs: tuple[bytes, ...]
    first_withdrawal: int
    withdrawals: tuple[PublishedWithdrawal, ...]
    rest: bytes = b""

    def __post_init__(self) -> None:
        for name in ("chain_id", "batch_index", "first_input", "first_withdrawal"):
            value = getattr(self, name)
            if not 0 <= value < U64:
                raise BatchDataError(f"{name} {value} is not a u64")
        if len(self.inputs) > MAX_INPUTS:
            raise BatchDataError(f"{len(self.inputs)} L1 inputs: at most {MAX_INPUTS}")
        for i, item in enumerate(self.inputs):
            if not 1 <= len(item) <= MAX_ITEM_BYTES:
                raise BatchDataError(f"L1 input {i} is {len(item)} bytes: 1..{MAX_ITEM_BYTES}")
        if len(self.withdrawals) > MAX_WITHDRAWALS:
            raise BatchDataError(f"{len(self.withdrawals)} withdrawals: at most {MAX_WITHDRAWALS}")
        for i, withdrawal in enumerate(self.withdrawals):
            if withdrawal.id != self.first_withdrawal + i:
                raise BatchDataError(
                    f"withdrawal {i} has id {withdrawal.id}: ids run consecutively from"
                    f" {self.first_withdrawal}"
                )

    def encode(self, size: int | None = None) -> bytes:
        """The data bytes; with ``size``, the rest padded with zeros to exactly ``size``
        bytes (the batch circuit's fixed data length)."""
        body = b"".join(
            [
                bytes([VERSION]),
                self.chain_id.to_bytes(8, "big"),
                self.batch_index.to_bytes(8, "big"),
                self.first_input.to_bytes(8, "big"),
                len(self.inputs).to_bytes(2, "big"),
                self.first_withdrawal.to_bytes(8, "big"),
                len(self.withdrawals).to_bytes(2, "big"),
                *(len(item).to_bytes(2, "big") + item for item in self.inputs),
                *(w.owner + w.amount.to_bytes(8, "big") for w in self.withdrawals),
                self.rest,
            ]
        )
        if size is not None:
            if len(body) > size:
                raise Oversized(f"the batch data is {len(body)} bytes, over the circuit's {size}")
            body += bytes(size - len(body))
        if len(body) > MAX_DATA_BYTES:
            raise Oversized(f"the batch data is {len(body)} bytes: at most {MAX_DATA_BYTES}")
        return body

    @property
    def inputs_end(self) -> int:
        """The queue index after the last input taken: where the next batch starts."""
        return self.first_input + len(self.inputs)


def decode(data: bytes) -> BatchData:
    """The sections of ``data``; a :class:`DecodeError` says where it breaks the layout."""
    if len(data) > MAX_DATA_BYTES:
        raise Oversized(f"the batch data is {len(data)} bytes: at most {MAX_DATA_BYTES}")
    if len(data) < HEADER_BYTES:
        raise Truncated(f"the batch data is {len(data)} bytes, shorter than its header")
    if data[0] != VERSION:
        raise UnknownKind(f"batch data version {data[0]} (this code reads {VERSION})")

    def u(at: int, width: int) -> int:
        return int.from_bytes(data[at : at + width], "big")

    n_inputs, n_withdrawals = u(25, 2), u(35, 2)
    if n_inputs > MAX_INPUTS:
        raise BatchDataError(f"{n_inputs} L1 inputs: at most {MAX_INPUTS}")
    at = HEADER_BYTES
    inputs: list[bytes] = []
    for i in range(n_inputs):
        if at + 2 > len(data):
            raise Truncated(f"offset {at}: the data ends before L1 input {i}'s length")
        length = u(at, 2)
        if not 1 <= length <= MAX_ITEM_BYTES or at + 2 + length > len(data):
            raise Truncated(f"offset {at}: L1 input {i} ({length} bytes) overruns the data")
        inputs.append(data[at + 2 : at + 2 + length])
        at += 2 + length
    if at + n_withdrawals * WITHDRAWAL_BYTES > len(data):
        raise Truncated(f"offset {at}: the data ends inside its {n_withdrawals} withdrawals")
    first_withdrawal = u(27, 8)
    withdrawals: list[PublishedWithdrawal] = []
    for i in range(n_withdrawals):
        owner, amount = data[at : at + 20], u(at + 20, 8)
        withdrawals.append(PublishedWithdrawal(first_withdrawal + i, owner, amount))
        at += WITHDRAWAL_BYTES
    return BatchData(
        chain_id=u(1, 8),
        batch_index=u(9, 8),
        first_input=u(17, 8),
        inputs=tuple(inputs),
        first_withdrawal=first_withdrawal,
        withdrawals=tuple(withdrawals),
        rest=data[at:],
    )


def withdrawals_root(withdrawals: Sequence[PublishedWithdrawal]) -> bytes:
    """The Merkle root L1 records for a batch's withdrawals (zero for none)."""
    return merkle_root([w.leaf() for w in withdrawals])


def withdrawal_path(withdrawals: Sequence[PublishedWithdrawal], position: int) -> tuple[bytes, ...]:
    """The siblings ``Portal.withdraw_verified`` takes for the withdrawal at ``position``."""
    return merkle_path([w.leaf() for w in withdrawals], position)
