"""Benchmark: the state commitment under the STF (``rollbook bench commitment``).

The reference tape of ``bench stf`` (makers fill twice, takers once, an oracle update
every 500 fills, real EIP-712 orders) runs through the fast STF twice, interleaved:
once without commitment, once sealing a block every ``--block`` txs, i.e. hashing
that block's dirty leaves into the sparse Merkle tree and taking the root. The
commitment work is the difference.

Headline: fills/s with commitment as a fraction of fills/s without it (goal ≥ 0.7).
Details: leaf updates/s inside ``root()``, root time per block, dirty leaves per block,
tree size, hashes per block, and the proof depth.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from rollbook.cli import load_bench
from rollbook.exchange.env import SignatureCache
from rollbook.exchange.leaves import account_key
from rollbook.exchange.state import State
from rollbook.exchange.stf import apply_tx
from rollbook.exchange.txs import Fill, OracleUpdate, Tx
from rollbook.sim.world import World

GOAL = 0.7


def root_work(genesis: State, tape: list[Tx], world: World, block: int) -> dict[str, float]:
    """Replay the tape (signatures cached) and time only the per-block roots."""
    state = genesis.copy()
    env = world.env()
    env.cache = SignatureCache()
    seconds = 0.0
    roots = dirty = 0
    hashes = state._tree.hashes
    for i, tx in enumerate(tape, 1):
        if isinstance(tx, OracleUpdate):
            env.timestamp = tx.timestamp
        apply_tx(state, tx, env)
        if i % block == 0 or i == len(tape):
            dirty += len(state._dirty)
            t0 = time.perf_counter()
            state.root()
            seconds += time.perf_counter() - t0
            roots += 1
    return {
        "seconds": seconds,
        "roots": roots,
        "dirty": dirty,
        "hashes": state._tree.hashes - hashes,
        "leaves": len(state._leaves),
    }


def run(argv: list[str]) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="rollbook bench commitment")
    parser.add_argument("--fills", type=int, default=20_000)
    parser.add_argument("--traders", type=int, default=2_000)
    parser.add_argument("--block", type=int, default=500, help="txs per sealed block")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    stf = load_bench("stf")
    world, tape = stf.build_tape(args.fills, traders=args.traders)
    genesis = world.state.copy()
    genesis.root()  # the genesis tree exists before any pass
    fills = sum(1 for t in tape if isinstance(t, Fill))
    without: list[float] = []
    with_roots: list[float] = []
    for _ in range(max(1, args.repeat)):  # interleaved, so noise hits both alike
        world.state = genesis.copy()
        seconds, root_a, _ = stf.run_fast(world, tape)
        without.append(seconds)
        world.state = genesis.copy()
        seconds, root_b, _ = stf.run_fast(world, tape, block=args.block)
        with_roots.append(seconds)
        if root_a != root_b:
            raise SystemExit("sealing blocks changed the state root: a commitment bug")
    base = statistics.median(without)
    committed = statistics.median(with_roots)
    work = root_work(genesis, tape, world, args.block)
    depth = len(world.state.prove(account_key(1))[1].siblings)
    return {
        "headline": {
            "name": "commitment",
            "value": round(base / committed, 3),
            "unit": "x STF fills/s (with / without commitment)",
            "goal": GOAL,
        },
        "fills": fills,
        "txs": len(tape),
        "traders": args.traders,
        "txs_per_block": args.block,
        "fills_per_s_without": round(fills / base),
        "fills_per_s_with": round(fills / committed),
        "passes_without_s": [round(s, 3) for s in without],
        "passes_with_s": [round(s, 3) for s in with_roots],
        "blocks": int(work["roots"]),
        "root_ms_per_block": round(work["seconds"] / work["roots"] * 1e3, 2),
        "dirty_leaves_per_block": round(work["dirty"] / work["roots"], 1),
        "leaf_updates_per_s": round(work["dirty"] / work["seconds"]),
        "hashes_per_block": round(work["hashes"] / work["roots"], 1),
        "tree_leaves": int(work["leaves"]),
        "proof_depth_account_1": depth,
        "state_root": root_a.hex(),
        "cores": os.cpu_count(),
    }


if __name__ == "__main__":
    import sys

    print(json.dumps(run(sys.argv[1:])))
