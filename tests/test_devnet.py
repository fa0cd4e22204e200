"""The devnet session runs end to end: fills, a crash, liquidations, L1 deposits and
forced withdrawals, batches, and a verifier deriving the same chain from L1."""

from __future__ import annotations

from rollbook.exchange.audit import conservation_gap, open_interest_mismatches
from rollbook.exchange.margin import health
from rollbook.sim.session import PERP, Session


def test_session_liquidates_and_replays_to_the_same_root() -> None:
    session = Session(seed=3, crash_step=60)
    for step in range(140):
        session.step(step)
    state = session.world.state
    assert session.stats.fills > 100
    assert session.stats.liquidated_accounts, "the crash must liquidate someone"
    # A verifier that reads only the L1 history derives the sequencer's chain, bit for
    # bit: every block hash and the state root.
    session.finish_l1()
    verifier = session.replay()
    assert [b.hash for b in verifier.blocks] == [b.hash for b in session.builder.blocks]
    assert verifier.state.root() == state.root()
    assert not [n for n in verifier.notes if "skipped" in n]
    l1_txs = [
        r for b in verifier.blocks for t, r in zip(b.txs, b.receipts, strict=True) if t.origin == 1
    ]
    assert l1_txs and all(r.ok for r in l1_txs)
    # Conservation to the unit, and open interest balanced.
    assert conservation_gap(state) == 0
    assert open_interest_mismatches(state) == []
    assert state.instrument(PERP).open_interest > 0
    # No liquidated account is left with a negative balance and no positions.
    for index in session.stats.liquidated_accounts:
        account = state.account(index)
        if not account.instruments:
            assert account.balance >= 0
    state.begin()
    assert health(state, 0, session.world.now).equity > 0
    state.rollback()
