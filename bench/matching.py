"""Benchmark: book operations per second of the matching engine.

A *book op* is one call into :class:`rollbook.matching.MatchingEngine`: an add (a
limit order that rests), a cancel, or a match (an IOC order that crosses and takes a
few makers). The stream is realistic for a busy perp book: about 60 % adds placed a
few ticks from the touch, 30 % cancels of live orders, 10 % crossing orders; several
accounts (so some takers meet their own orders and self-trade prevention fires); the
book holds about 10k resting orders.

The stream is generated before timing, by a seeded generator that drives an untimed
engine so that every cancel names an order that is really open at that point. The
timed run replays the same stream on a fresh engine -- matching is deterministic, so
it sees exactly the same book -- and checks it produced the same fills.

The headline is the median, over ``--repeat`` passes, of ops / wall time of a loop
that calls the engine with no per-op timer and drops the results (as a sequencer
would hand them on). Latency percentiles come from one more pass that reads
``time.perf_counter_ns`` before every op and keeps every result; its ~0.1-0.2 us of
timer overhead is inside those figures (``ops_per_s_with_timer`` shows the effect).
The garbage collector is paused during timed loops (a sequencer would tune or freeze
it the same way). Every pass must end in the generator's book, and the latency pass
must also reproduce its fills exactly.

Usage: ``python bench/matching.py [--ops N] [--resting N] [--accounts N]
[--instruments N] [--seed N] [--repeat N]``; prints one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import sys
import time
from collections.abc import Callable
from typing import Any

from rollbook.exchange.types import OrderFlags, Side
from rollbook.matching import MatchingEngine, OrderStatus

MID = 1_000_000  # quote units per whole underlying (tick 1)
TICK = 1
LOT = 1
ADD, CANCEL, MATCH = 0, 1, 2

Op = tuple[int, tuple[Any, ...]]


def _depth_offset(rng: random.Random) -> int:
    """Ticks from the mid for a new resting order: mostly near the touch."""
    return 1 + min(int(rng.expovariate(1 / 6)), 60)


def generate(
    ops: int, resting: int, accounts: int, instruments: int, seed: int
) -> tuple[list[Op], list[Op], tuple[tuple[int, int, int, int], tuple[int, int]]]:
    """Build (prefill ops, timed ops, (checksum of the timed ops' results, final book
    state)) with a seeded RNG and an untimed engine."""
    rng = random.Random(seed)
    engine = MatchingEngine(max_open_orders=1_000_000)
    for inst in range(instruments):
        engine.add_instrument(inst, TICK, LOT)
    live: list[int] = []  # open order ids, for O(1) random choice
    where: dict[int, int] = {}  # order id -> index in live

    def drop(order_id: int) -> None:
        i = where.pop(order_id)
        last = live.pop()
        if last != order_id:
            live[i] = last
            where[last] = i

    def add_op() -> Op:
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        off = _depth_offset(rng)
        price = MID - off if side is Side.BUY else MID + off
        args = (
            rng.randrange(accounts),
            rng.randrange(instruments),
            side,
            price,
            rng.randint(1, 10) * LOT,
            OrderFlags.NONE,
            None,
        )
        return (ADD, args)

    def match_op() -> Op:
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        # A marketable IOC limit (what the API makes of a market order) a few ticks
        # through the mid; sized to take about three makers, which keeps the book
        # near its starting size (adds = cancels + filled makers).
        price = MID + 8 if side is Side.BUY else MID - 8
        args = (
            rng.randrange(accounts),
            rng.randrange(instruments),
            side,
            price,
            rng.randint(5, 25) * LOT,
            OrderFlags.IOC,
            None,
        )
        return (MATCH, args)

    def run(op: Op) -> Any:
        kind, args = op
        if kind == CANCEL:
            order = engine.cancel(args[0])
            drop(args[0])
            return order
        res = engine.submit(*args)
        if res.status in (OrderStatus.RESTING, OrderStatus.PARTIALLY_FILLED_RESTING):
            where[res.order_id] = len(live)
            live.append(res.order_id)
        for fill in res.fills:
            if fill.maker_order_id in where and engine.lookup(fill.maker_order_id) is None:
                drop(fill.maker_order_id)
        for c in res.cancelled:
            drop(c.order_id)
        return res

    prefill: list[Op] = []
    while len(live) < resting:
        op = add_op()
        prefill.append(op)
        run(op)
    timed: list[Op] = []
    results: list[Any] = []
    for _ in range(ops):
        r = rng.random()
        if r < 0.6 or not live:
            op = add_op()
        elif r < 0.9:
            op = (CANCEL, (live[rng.randrange(len(live))],))
        else:
            op = match_op()
        timed.append(op)
        results.append(run(op))
    return prefill, timed, (_checksum([kind for kind, _ in timed], results), _state(engine))


def _percentile(sorted_ns: list[int], permille: int) -> float:
    """The ``permille``/1000 quantile of sorted nanosecond samples, in microseconds."""
    i = min(len(sorted_ns) - 1, (len(sorted_ns) * permille) // 1000)
    return sorted_ns[i] / 1000


def _checksum(kinds: list[int], results: list[Any]) -> tuple[int, int, int, int]:
    """(fills, filled size, self-trade/margin cancels, digest of every fill) of a run."""
    fills = filled = cancels = digest = 0
    for kind, res in zip(kinds, results, strict=True):
        if kind == CANCEL:
            digest = (digest * 1_000_003 + res.order_id) % (1 << 61)
            continue
        fills += len(res.fills)
        filled += res.filled
        cancels += len(res.cancelled)
        for f in res.fills:
            digest = (digest * 1_000_003 + f.maker_order_id * 4099 + f.size) % (1 << 61)
    return fills, filled, cancels, digest


def _state(engine: MatchingEngine) -> tuple[int, int]:
    """(next order id, digest of every resting order's id and remainder, book order)."""
    digest = 0
    for inst in engine.instruments():
        for order in engine.book(inst).orders():
            digest = (digest * 1_000_003 + order.order_id * 4099 + order.remaining) % (1 << 61)
    return engine.next_order_id, digest


def _fresh(args: argparse.Namespace, prefill: list[Op]) -> MatchingEngine:
    engine = MatchingEngine(max_open_orders=1_000_000)
    for inst in range(args.instruments):
        engine.add_instrument(inst, TICK, LOT)
    for _, op_args in prefill:
        engine.submit(*op_args)
    return engine


def _calls(engine: MatchingEngine, timed: list[Op]) -> list[tuple[Callable[..., Any], Op]]:
    submit, cancel = engine.submit, engine.cancel
    return [(cancel if kind == CANCEL else submit, op_args) for kind, op_args in timed]


def _throughput_pass(
    args: argparse.Namespace, prefill: list[Op], timed: list[Op]
) -> tuple[int, tuple[int, int]]:
    """Run the stream on a fresh engine with no per-op timer and without keeping the
    results (as a sequencer would not); return (ns, final book state)."""
    engine = _fresh(args, prefill)
    calls = _calls(engine, timed)
    now = time.perf_counter_ns
    gc.collect()
    gc.disable()
    try:
        start = now()
        for fn, op_args in calls:
            fn(*op_args)
        elapsed = now() - start
    finally:
        gc.enable()
    return elapsed, _state(engine)


def _latency_pass(
    args: argparse.Namespace, prefill: list[Op], timed: list[Op]
) -> tuple[list[int], list[Any], MatchingEngine]:
    """Run the stream on a fresh engine, timing every op; return (ns per op, results)."""
    engine = _fresh(args, prefill)
    calls = _calls(engine, timed)
    n = len(calls)
    # One timestamp per op: op i took stamps[i + 1] - stamps[i], which also counts the
    # loop step and one perf_counter_ns call (~0.1-0.2 us here).
    stamps = [0] * (n + 1)
    results: list[Any] = []
    out = results.append
    now = time.perf_counter_ns
    gc.collect()
    gc.disable()
    try:
        i = 0
        for fn, op_args in calls:
            stamps[i] = now()
            out(fn(*op_args))
            i += 1
        stamps[n] = now()
    finally:
        gc.enable()
    return [stamps[i + 1] - stamps[i] for i in range(n)], results, engine


def run(argv: list[str]) -> dict[str, Any]:
    """Run the benchmark with command-line style ``argv``; return the JSON-able result.

    The headline is the median ops/s of ``--repeat`` throughput passes (no per-op
    timer); latency percentiles come from one extra pass that timestamps every op.
    Every pass must end in the generator's book state, and the latency pass must
    reproduce its fills exactly (determinism checks).
    """
    ap = argparse.ArgumentParser(prog="bench/matching.py")
    ap.add_argument("--ops", type=int, default=300_000)
    ap.add_argument("--resting", type=int, default=10_000)
    ap.add_argument("--accounts", type=int, default=20)
    ap.add_argument("--instruments", type=int, default=1)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    t_gen = time.perf_counter()
    prefill, timed, expected = generate(
        args.ops, args.resting, args.accounts, args.instruments, args.seed
    )
    gen_s = time.perf_counter() - t_gen
    kinds = [kind for kind, _ in timed]
    n = len(timed)

    expected_results, expected_state = expected
    rates: list[int] = []
    for _ in range(max(1, args.repeat)):
        elapsed_ns, state = _throughput_pass(args, prefill, timed)
        if state != expected_state:
            raise RuntimeError("a throughput pass ended in a different book: not deterministic")
        rates.append(n * 1_000_000_000 // max(elapsed_ns, 1))
    lat, results, engine = _latency_pass(args, prefill, timed)
    if _checksum(kinds, results) != expected_results or _state(engine) != expected_state:
        raise RuntimeError("the latency pass produced different fills: not deterministic")
    fills, filled_size, side_cancels, digest = expected_results

    by_kind: dict[str, Any] = {}
    for kind, name in ((ADD, "add"), (CANCEL, "cancel"), (MATCH, "match")):
        ks = sorted(lat[i] for i in range(n) if kinds[i] == kind)
        if ks:
            by_kind[name] = {
                "count": len(ks),
                "p50_us": _percentile(ks, 500),
                "p99_us": _percentile(ks, 990),
                "mean_us": round(sum(ks) / len(ks) / 1000, 3),
            }
    all_sorted = sorted(lat)
    depth = engine.book(0).depth(1)
    return {
        "headline": {
            "name": "matching",
            "value": sorted(rates)[len(rates) // 2],
            "unit": "ops/s",
            "goal": 300_000,
        },
        "p50_us": _percentile(all_sorted, 500),
        "p99_us": _percentile(all_sorted, 990),
        "p999_us": _percentile(all_sorted, 999),
        "ops": n,
        "throughput_runs": rates,
        "ops_per_s_with_timer": n * 1_000_000_000 // max(sum(lat), 1),
        "mix": {
            "add": kinds.count(ADD),
            "cancel": kinds.count(CANCEL),
            "match": kinds.count(MATCH),
        },
        "per_op": by_kind,
        "fills": fills,
        "fills_per_match": round(fills / max(1, kinds.count(MATCH)), 2),
        "filled_size": filled_size,
        "maker_cancels_in_matching": side_cancels,
        "fill_digest": digest,
        "resting_before": len(prefill),
        "resting_after": sum(engine.open_order_count(a) for a in range(args.accounts)),
        "touch_after": [
            depth.bids[0].price if depth.bids else None,
            depth.asks[0].price if depth.asks else None,
        ],
        "accounts": args.accounts,
        "instruments": args.instruments,
        "seed": args.seed,
        "generate_s": round(gen_s, 2),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
    }


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1:]), indent=2))
