"""The exact money invariants of docs/design/consensus.md section 4, as checks.

Used by the tests after every tx and available to a node as a self-check: a non-zero
gap is an :class:`~rollbook.exchange.errors.InvariantError`-class bug, never user error.
"""

from __future__ import annotations

from rollbook.exchange.leaves import INSURANCE_FUND, settlement_key
from rollbook.exchange.state import State


def conservation_gap(state: State) -> int:
    """``Σ balances + fees + Σ pools − (deposits − withdrawals)``; zero when conserved."""
    glob = state.globals()
    balances = 0
    for key in state.keys_of_kind("acct"):
        if isinstance(key[1], int):
            balances += state.account(key[1]).balance
    pools = 0
    for key in state.keys_of_kind("inst"):
        if isinstance(key[1], int):
            pools += state.instrument(key[1]).pool
    return balances + glob.fees + pools - (glob.total_deposits - glob.total_withdrawals)


def open_interest_mismatches(state: State) -> list[tuple[int, int, int, int]]:
    """Instruments where Σ longs, Σ |shorts| and the recorded open interest differ.

    For an option whose expiry price is fixed, holders settle in any order and the
    record counts the longs still to settle: only ``Σ longs == open_interest`` holds.
    Returns ``(instrument, longs, shorts, open_interest)`` for each mismatch.
    """
    longs: dict[int, int] = {}
    shorts: dict[int, int] = {}
    for key in state.keys_of_kind("pos"):
        instrument = key[2]
        position = state.get(key)
        size = getattr(position, "size", 0)
        if not isinstance(instrument, int):
            continue
        if size > 0:
            longs[instrument] = longs.get(instrument, 0) + size
        else:
            shorts[instrument] = shorts.get(instrument, 0) - size
    out = []
    for key in state.keys_of_kind("inst"):
        instrument_id = key[1]
        if not isinstance(instrument_id, int):
            continue
        instrument = state.instrument(instrument_id)
        recorded = instrument.open_interest
        long_total = longs.get(instrument_id, 0)
        short_total = shorts.get(instrument_id, 0)
        settling = instrument.kind.is_option and (
            state.get(settlement_key(instrument.asset, instrument.expiry)) is not None
        )
        if settling and long_total == recorded:
            continue
        if not long_total == short_total == recorded:
            out.append((instrument_id, long_total, short_total, recorded))
    return out


def flat_debts(state: State) -> list[tuple[int, int]]:
    """Accounts other than the insurance fund that hold no position yet owe money.

    The fund (account 0) is left out: it absorbs bad debt nobody else can carry
    (no open interest to socialise on, a short bankrupt at expiry) and may go below
    zero until governance recapitalises it. Returns ``(account, balance)`` pairs.
    """
    out = []
    for key in state.keys_of_kind("acct"):
        index = key[1]
        if not isinstance(index, int) or index == INSURANCE_FUND:
            continue
        account = state.account(index)
        if not account.instruments and account.balance < 0:
            out.append((index, account.balance))
    return out


def escrow_gap(
    state: State, genesis_escrow: int, deposited_on_l1: int, paid_on_l1: int, escrow: int
) -> int:
    """ARCHITECTURE section 6, escrow on L1 = what L2 owes: ``escrow − (Σ balances +
    fees + Σ pools + withdrawals recorded but not yet paid on L1 + deposits made on L1
    and not yet derived)``; zero when the bridge is whole.

    What L2 owes is counted from its accounts and pools, not taken from its deposit
    and withdrawal totals, so a leak on either side of the bridge shows.
    """
    glob = state.globals()
    owed = glob.total_deposits - glob.total_withdrawals + conservation_gap(state)
    pending = glob.total_withdrawals - paid_on_l1
    undelivered = deposited_on_l1 - (glob.total_deposits - genesis_escrow)
    return escrow - (owed + pending + undelivered)
