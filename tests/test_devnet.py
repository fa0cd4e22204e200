"""The devnet session runs end to end: fills, a crash, liquidations, a matching replay."""

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
    # The sequencer's own state and a verifier's replay of the blocks agree.
    assert session.replay() == state.root()
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
