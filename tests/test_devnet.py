"""The devnet session runs end to end: fills, a crash, liquidations, L1 deposits and
forced withdrawals, batches, and a verifier deriving the same chain from L1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rollbook.chain.l1 import L1Deposit
from rollbook.codec.batch import decode_batch, encode_batch
from rollbook.exchange.audit import conservation_gap, escrow_gap, open_interest_mismatches
from rollbook.exchange.leaves import account_key
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
    # The bridge is whole: L1 escrow = what L2 owes + pending withdrawals + deposits
    # not yet derived, after every L2 withdrawal was proven and paid on L1.
    assert session.paid_withdrawals > 0
    assert session.escrow_gap() == 0
    # A unit of L2 money that no account holds on L1's side shows as a gap.
    leaked = session.world.state.copy()
    fund = leaked.account(0)
    leaked.put(account_key(0), fund._replace(balance=fund.balance + 1))
    on_l1 = session.l1.escrow()
    deposited = sum(
        i.amount for b in session.l1.blocks for i in b.inputs if isinstance(i, L1Deposit)
    )
    assert (
        escrow_gap(leaked, session.genesis_escrow, deposited, session.paid_withdrawals, on_l1) == -1
    )
    l1_txs = [
        r for b in verifier.blocks for t, r in zip(b.txs, b.receipts, strict=True) if t.origin == 1
    ]
    assert l1_txs and all(r.ok for r in l1_txs)
    # Every posted batch re-encodes to its own bytes (the codec is canonical), so a
    # verifier that re-encodes what it read derives the same chain.
    sep = session.world.separator
    batches = [d for b in session.l1.blocks for d in b.batches]
    assert batches and all(encode_batch(decode_batch(d, sep)[0], sep).data == d for d in batches)
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


@pytest.mark.slow
def test_a_long_session_through_option_expiry_derives_from_l1() -> None:
    """420 blocks: the crash, liquidations, the first option expiry and its settlement,
    L1 deposits and forced withdrawals; the chain derived from L1 is the sequencer's."""
    session = Session(seed=11, crash_step=200)
    for step in range(420):
        session.step(step)
    assert session.settlements, "the first expiry (step 360) must have settled"
    session.finish_l1()
    verifier = session.replay()
    assert verifier.head.hash == session.builder.blocks[-1].hash
    assert verifier.state.root() == session.world.state.root()
    assert conservation_gap(verifier.state) == 0
    assert session.escrow_gap() == 0
    heads = verifier.heads()
    assert 0 < heads.final < heads.safe == len(session.builder.blocks) - 1


@pytest.mark.parametrize("seed", [5, 17])
def test_the_bridge_stays_whole_in_random_sessions(seed: int) -> None:
    """Escrow on L1 = what L2 owes + pending withdrawals + deposits not yet derived:
    checked after random sessions on the real contracts, with every withdrawal paid."""
    session = Session(seed=seed, crash_step=40)
    for step in range(90 + seed):
        session.step(step)
    session.finish_l1()
    assert session.escrow_gap() == 0
    verifier = session.replay()
    assert verifier.state.root() == session.world.state.root()


def run_devnet(tmp_path: Path, *args: str) -> tuple[Any, dict[str, Any]]:
    """Run ``rollbook devnet ARGS`` to its end; its output and its JSON summary."""
    summary = tmp_path / "summary.json"
    command = [sys.executable, "-m", "rollbook.cli", "devnet", *args, "--summary", str(summary)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done, json.loads(summary.read_text())


@pytest.mark.slow
def test_the_real_devnet_runs_the_node_over_its_api(tmp_path: Path) -> None:
    """`rollbook devnet`: embedded L1, node, gateway, feeder, bots over the API; a
    withdrawal paid on L1, batches and roots posted, a fresh verifier matches."""
    done, result = run_devnet(tmp_path, "--duration", "15")
    assert result["ok"] and result["verifier_match"] and result["escrow_gap"] == 0
    assert result["fills"] > 0 and result["batches"] > 0 and result["final_roots"] > 0
    assert result["withdrawal_paid_on_l1"]
    assert "ccxt.deribit(" in done.stdout  # the gateway's credentials are printed


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["invalid-root", "skipped-deposit", "wrong-fill"])
def test_devnet_with_a_lying_proposer_removes_its_root(tmp_path: Path, fault: str) -> None:
    """``rollbook devnet --fault invalid-root``: the proposer's third root is a lie (its
    last block's state root); ``--fault skipped-deposit``: the first root whose blocks
    credit a deposit is the root of a chain without it (its trace loads the L1 inputs
    out of the queue's order); ``--fault wrong-fill``: a lie from a fill's
    ``fill.apply`` step on. An independent challenger disputes it, both play the game
    out on L1 (the last step proven on the executor), the lie loses and is removed,
    and everything else still checks out. (``stolen-balance`` is played against the
    executor in tests/node/test_faults.py.)"""
    done, result = run_devnet(tmp_path, "--duration", "25", "--fault", fault)
    assert result["ok"] and result["verifier_match"] and result["escrow_gap"] == 0
    lies = [g for g in result["disputes"] if g["lie"]]
    assert lies and all(g["winner"] == "challenger" for g in lies)
    assert all(g["rounds"] >= 20 for g in lies)
    assert "challenger won" in done.stdout
