"""Benchmark: ZK mode's fills, proven (``rollbook bench zk``).

Issue #8: constraints per step type, prove time per batch and per fill on this machine
as a function of the position bound (goal ≤ 150k constraints and ≤ 10 s per fill at 8
positions; 16 and 32 reported), verifier gas (goal ≤ 250k) and L1 bytes per fill.

A fill's cost is what one more fill slot adds to a batch: the fill batch circuit
(``circuits/batch.circom``) with one slot and with two, for N positions per account
and K = max(16, 2N) instruments per batch (an account of N positions needs N
instruments besides place 0). The batches are real: two fills the STF applied in ZK mode, the maker
and the taker each holding N - 1 other positions, so every position is settled and
margined. Prove time is the wall time of ``rollbook.zk.keys.prove`` (groth16py,
single-threaded, with the prover's own verification), the median of ``--runs``
(default 3; the two circuits proven in turn, so the machine's noise hits both alike).
Keys come from the cache (``~/.cache/rollbook/zk``); a cold cache adds one setup per
circuit (minutes at these sizes). Headline: prove seconds per fill at 8 positions.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import boa

from rollbook.exchange import zkmode
from rollbook.exchange.stf import apply_tx
from rollbook.exchange.txs import Fill
from rollbook.exchange.types import Side
from rollbook.l1.compile import source_path
from rollbook.sim.world import GENESIS_TIME, World, base, usd
from rollbook.zk import keys as zk
from rollbook.zk.batch import (
    RECORD_BYTES,
    REST_HEADER_BYTES,
    AppliedFill,
    batch_witness,
)
from rollbook.zk.batchdata import HEADER_BYTES, BatchData
from rollbook.zk.witness import Shape

HEADER = BatchData(31337, 0, 0, (), 0, ())


def instruments_for(positions: int) -> int:
    """The batch's instruments for an account bound: room for an account holding
    ``positions`` of them besides place 0 (ids start at 1)."""
    return max(16, 2 * positions)


def circuit(slots: int, positions: int) -> str:
    """The fill batch circuit of ``slots`` slots at ``positions`` positions
    (``circuits/fills<S>_p<N>.circom``)."""
    return f"fills{slots}_p{positions}"


def loaded_world(positions: int) -> tuple[World, list[AppliedFill]]:
    """Two fills at one block time between accounts that each hold ``positions - 1``
    other perpetuals, in a ZK deployment whose circuits are ``FillBatch(S, positions,
    instruments_for(positions))`` (the STF's ZK-mode bounds raised to match)."""
    instruments = instruments_for(positions)
    zkmode.ZK_POSITIONS, zkmode.ZK_INSTRUMENTS = positions, instruments
    w = World(zk=True)
    for i in range(1, instruments):
        assert w.list_perp(i, f"P{i}_USDC-PERPETUAL", i).ok
    for name in ("alice", "bob", "carol", "dave"):
        w.add_trader(name, 10_000_000)
    prices = {i: usd(2000) for i in range(1, instruments)}
    assert w.l2(w.oracle_update(prices, prices)).ok
    alice, bob, carol, dave = (w.traders[n] for n in ("alice", "bob", "carol", "dave"))
    # Each of Alice and Bob opens positions - 1 positions against Carol and Dave.
    for i in range(2, positions + 1):
        for trader, other in ((alice, carol), (bob, dave)):
            maker = w.order(other, Side.SELL, usd(2000), base(1), instrument=i)
            taker = w.order(trader, Side.BUY, usd(2000), base(1), instrument=i)
            assert apply_tx(w.state, Fill(maker, taker, base(1)), w.env()).ok
    w.now = GENESIS_TIME + 30
    fills = []
    maker = w.order(bob, Side.SELL, usd(2000), base(2))
    for taker_trader in (alice, carol):
        tx = Fill(maker, w.order(taker_trader, Side.BUY, usd(2000), base(1)), base(1))
        before = w.state.copy()
        env = w.env()
        receipt = apply_tx(w.state, tx, env)
        assert receipt.ok, receipt
        fills.append(AppliedFill(before, w.state.copy(), tx, env))
    assert len(w.state.account(alice.index).instruments) == positions
    return w, fills


def prove_times(
    batches: list[tuple[str, dict[str, Any], int]], runs: int
) -> tuple[list[float], bytes]:
    """The median prove time of each ``(circuit, inputs, claim)``, the circuits
    proven in turn ``runs`` times (so a noisy minute hits both alike); and the last
    proof of the last circuit."""
    times: list[list[float]] = [[] for _ in batches]
    proof = b""
    for _ in range(runs):
        for at, (name, inputs, public) in enumerate(batches):
            keys = zk.circuit_keys(name)
            start = time.perf_counter()
            proof = zk.prove(keys, inputs, public)
            times[at].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times], proof


def verifier_gas(name: str, proof: bytes, public: int) -> int:
    keys = zk.circuit_keys(name)
    verifier = boa.load_partial(str(source_path("Groth16Verifier"))).deploy(*keys.verifier_args())
    verifier.verify(proof, public)
    return int(verifier._computation.get_gas_used())


def measure(positions: int, runs: int) -> dict[str, Any]:
    bounds = zkmode.ZK_POSITIONS, zkmode.ZK_INSTRUMENTS
    try:
        _, fills = loaded_world(positions)
    finally:
        zkmode.ZK_POSITIONS, zkmode.ZK_INSTRUMENTS = bounds
    shape = Shape(positions, instruments_for(positions))
    one, two = circuit(1, positions), circuit(2, positions)
    setup_start = time.perf_counter()
    c1, c2 = zk.circuit_keys(one).constraints, zk.circuit_keys(two).constraints
    setup = time.perf_counter() - setup_start
    inputs1, _, public1 = batch_witness(fills[0].before, fills[:1], HEADER, 1, shape)
    inputs2, data2, public2 = batch_witness(fills[0].before, fills, HEADER, 2, shape)
    (t1, t2), proof2 = prove_times([(one, inputs1, public1), (two, inputs2, public2)], runs)
    return {
        "positions": positions,
        "instruments": shape.instruments,
        "constraints_per_fill": c2 - c1,
        "constraints_batch_fixed": 2 * c1 - c2,
        "constraints": {one: c1, two: c2},
        "prove_s": {one: round(t1, 2), two: round(t2, 2)},
        "prove_s_per_fill": round(t2 - t1, 2),
        "prove_s_per_fill_amortised_2": round(t2 / 2, 2),
        "key_setup_or_load_s": round(setup, 1),
        "verifier_gas": verifier_gas(two, proof2, public2),
        "data_bytes_batch_of_2": len(data2),
    }


def run(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="rollbook bench zk")
    parser.add_argument("--positions", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    rows = [measure(n, args.runs) for n in args.positions]
    at8 = next((r for r in rows if r["positions"] == 8), rows[0])
    return {
        "headline": {
            "name": f"zk_prove_seconds_per_fill_{at8['positions']}_positions",
            "value": at8["prove_s_per_fill"],
            "unit": "s",
            "goal": 10,
        },
        "by_positions": rows,
        "goals": {"constraints_per_fill_8": 150_000, "verifier_gas": 250_000},
        "l1_bytes_per_fill": RECORD_BYTES,
        "l1_bytes_per_fill_batch": HEADER_BYTES + REST_HEADER_BYTES,
        "oracle_funding_deposit_bytes": "not yet: fill batches only (docs/design/zk.md)",
        "prover": "groth16py 0.2.0 (arkworks, single-threaded), BN254 Groth16",
        "machine_note": "see docs/benchmarks.md",
    }


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run([]), indent=2))
