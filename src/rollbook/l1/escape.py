"""What an owner sends to the Portal to claim in the escape hatch, built from a state.

:func:`claim_pieces` proves an account's leaves against ``state``'s root: the account
leaf, then for each open position its position leaf, its instrument leaf, and — for an
option expired at ``now`` — its settlement leaf or the proof that none is fixed. The
Portal (``claim_open`` / ``claim_position`` / ``claim_close``, or ``value_account``)
recomputes the STF's equity from exactly these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rollbook.exchange.expiry import is_expired
from rollbook.exchange.leaves import (
    LeafKey,
    account_key,
    encode_leaf,
    instrument_key,
    position_key,
    settlement_key,
)
from rollbook.exchange.state import State

NO_SETTLEMENT: tuple[bytes, list[bytes], bytes, bytes] = (b"", [], bytes(32), bytes(32))
"""The Portal's ``SettlementProof`` for a position that has not expired (ignored)."""


@dataclass(frozen=True)
class ClaimPieces:
    index: int
    account: bytes
    account_proof: list[bytes]
    positions: list[bytes]
    position_proofs: list[list[bytes]]
    instruments: list[bytes]
    instrument_proofs: list[list[bytes]]
    settlements: list[tuple[bytes, list[bytes], bytes, bytes]]

    def as_args(self) -> list[Any]:
        """The arguments of ``value_account`` after ``state_root, now``."""
        return [
            self.index,
            self.account,
            self.account_proof,
            self.positions,
            self.position_proofs,
            self.instruments,
            self.instrument_proofs,
            self.settlements,
        ]


def proven(state: State, key: LeafKey) -> tuple[bytes, list[bytes]]:
    """A present leaf's encoding and its siblings."""
    leaf, proof = state.prove(key)
    if leaf is None:
        raise LookupError(f"no leaf at {key!r}")
    return encode_leaf(leaf), list(proof.siblings)


def settlement_proof(
    state: State, instrument_id: int, now: int
) -> tuple[bytes, list[bytes], bytes, bytes]:
    """The settlement leaf of an option expired at ``now`` (or proof it is absent)."""
    instrument = state.instrument(instrument_id)
    if not is_expired(instrument, now):
        return NO_SETTLEMENT
    leaf, proof = state.prove(settlement_key(instrument.asset, instrument.expiry))
    siblings = list(proof.siblings)
    if leaf is not None:
        return (encode_leaf(leaf), siblings, bytes(32), bytes(32))
    other_path, other_value = proof.terminal or (bytes(32), bytes(32))
    return (b"", siblings, other_path, other_value)


def claim_pieces(state: State, index: int, now: int) -> ClaimPieces:
    """Everything account ``index`` needs to claim, valued at time ``now``."""
    account = state.account(index)
    raw, siblings = proven(state, account_key(index))
    positions = [proven(state, position_key(index, i)) for i in account.instruments]
    instruments = [proven(state, instrument_key(i)) for i in account.instruments]
    return ClaimPieces(
        index,
        raw,
        siblings,
        [p[0] for p in positions],
        [p[1] for p in positions],
        [i[0] for i in instruments],
        [i[1] for i in instruments],
        [settlement_proof(state, i, now) for i in account.instruments],
    )
