"""Benchmark: signed fills through the settlement STF (``rollbook bench stf``).

A reference tape, generated deterministically before timing: makers' orders fill twice
on average (two takers each), takers' orders once, on one perpetual, with an oracle
update every 500 fills. Every fill is a real ``Fill`` tx with two EIP-712 orders
signed by secp256k1 trading keys; the STF checks the orders, recovers signers at each
order's first use of its slot, settles positions and checks both accounts' margin.

Modes: ``readable`` (the spec, one process) and ``fast`` (the same STF with signer
recovery prefetched by worker processes, :mod:`rollbook.exchange.fastpath`); the
differential check asserts both reach the same state root.

Headline: fills per second of the fast path, median of ``--repeat`` passes (goal ≥
10,000 on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from rollbook.exchange.env import SignatureCache
from rollbook.exchange.stf import apply_tx
from rollbook.exchange.txs import Fill, OracleUpdate, Tx
from rollbook.exchange.types import Side
from rollbook.node.prefetch import SignaturePrefetcher
from rollbook.sim.world import World, base, usd

GOAL = 10_000


def build_tape(fills: int, traders: int = 40) -> tuple[World, list[Tx]]:
    """A world with funded traders and a tape of fills (and oracle updates)."""
    world = World()
    world.list_perp()
    people = [world.add_trader(f"t{i}", 10_000_000) for i in range(traders)]
    world.set_prices(usd(3000))
    start = world.state.copy()
    tape: list[Tx] = []
    maker_index = 0
    price = usd(3000)
    while len([t for t in tape if isinstance(t, Fill)]) < fills:
        maker = people[maker_index % traders]
        side = Side.SELL if maker_index % 2 == 0 else Side.BUY
        maker_order = world.order(maker, side, price, base(2, 2))
        for k in range(2):
            taker = people[(maker_index + 1 + k) % traders]
            if taker.index == maker.index:
                taker = people[(maker_index + 3 + k) % traders]
            taker_order = world.order(taker, side.opposite, price, base(1, 2))
            tape.append(Fill(maker_order, taker_order, base(1, 2)))
            if len(tape) % 500 == 0:
                world.advance(1)
                tape.append(world.oracle_update({1: price}, {1: price}))
        maker_index += 1
    world.state = start
    return world, tape


def run_readable(world: World, tape: list[Tx]) -> tuple[float, bytes, int]:
    env = world.env()
    rejected = 0
    t0 = time.perf_counter()
    for tx in tape:
        if isinstance(tx, OracleUpdate):
            env.timestamp = tx.timestamp
        if not apply_tx(world.state, tx, env).ok:
            rejected += 1
    return time.perf_counter() - t0, world.state.root(), rejected


def run_fast(
    world: World, tape: list[Tx], chunk: int = 1000, block: int = 0
) -> tuple[float, bytes, int]:
    """The same tape with signatures prefetched by worker processes, chunk by chunk.

    With ``block`` > 0 the state root is taken every ``block`` txs, as a node sealing
    blocks would (``bench commitment``); by default only at the end.
    """
    cache = SignatureCache()
    env = world.env()
    env.cache = cache
    env.fast = True
    rejected = 0
    t0 = time.perf_counter()
    with SignaturePrefetcher(world.separator, tape, workers=2) as prefetcher:
        bounds = [(i, min(i + chunk, len(tape))) for i in range(0, len(tape), chunk)]
        pending = [prefetcher.submit(lo, hi) for lo, hi in bounds]
        for (lo, hi), work in zip(bounds, pending, strict=True):
            prefetcher.collect(work, cache)
            for i, tx in enumerate(tape[lo:hi], lo + 1):
                if isinstance(tx, OracleUpdate):
                    env.timestamp = tx.timestamp
                if not apply_tx(world.state, tx, env).ok:
                    rejected += 1
                if block and i % block == 0:
                    world.state.root()
    return time.perf_counter() - t0, world.state.root(), rejected


def run(argv: list[str]) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="rollbook bench stf")
    parser.add_argument("--fills", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3, help="fast-path passes (median)")
    args = parser.parse_args(argv)
    world, tape = build_tape(args.fills)
    genesis = world.state.copy()
    fills = sum(1 for t in tape if isinstance(t, Fill))
    recoveries = len({(t.maker.order) for t in tape if isinstance(t, Fill)}) + sum(
        1 for t in tape if isinstance(t, Fill)
    )
    seconds, root, rejected = run_readable(world, tape)
    passes = []
    for _ in range(max(1, args.repeat)):
        world.state = genesis.copy()
        fast_seconds, fast_root, fast_rejected = run_fast(world, tape)
        if fast_root != root or fast_rejected != rejected:
            raise SystemExit("fast path diverged from the readable STF: a consensus bug")
        passes.append(fast_seconds)
    fast_seconds = statistics.median(passes)
    rate = fills / fast_seconds
    return {
        "headline": {"name": "stf", "value": round(rate), "unit": "fills/s", "goal": GOAL},
        "fills": fills,
        "txs": len(tape),
        "rejected": rejected,
        "recoveries_per_fill": round(recoveries / fills, 2),
        "readable": {"seconds": round(seconds, 3), "fills_per_s": round(fills / seconds)},
        "fast": {
            "seconds_median": round(fast_seconds, 3),
            "fills_per_s": round(rate),
            "passes_fills_per_s": [round(fills / p) for p in passes],
            "workers": 2,
        },
        "us_per_fill_fast": round(fast_seconds / fills * 1e6, 1),
        "roots_equal": True,
        "state_root": root.hex(),
        "cores": os.cpu_count(),
    }


if __name__ == "__main__":
    import sys

    print(json.dumps(run(sys.argv[1:])))
