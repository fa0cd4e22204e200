"""Benchmark: margin checks per fill and chain revaluation (``rollbook bench margin``).

Issue #3: the portfolio-margin (PM) check per fill must cost ≤ 100 µs at the position
bound (32), reported also at 8 and 128 positions; and the per-oracle-update
revaluation of a 200-option chain (mark and 23-scenario vector per option, by
:func:`rollbook.exchange.portfolio_margin.mark_and_vector`, the oracle step's path) is
reported in ms per chain (median of 5 passes), beside the scenario-by-scenario spec
(``call_put`` then ``option_vector``) that it equals. The check is
:func:`rollbook.exchange.portfolio_margin.requirements` over stored vectors; the
standard check sums :func:`rollbook.exchange.option_margin.position_requirements`.
The *STF* figures are the check as a fill runs it: :func:`rollbook.exchange.margin.health`
on a real state (the account's positions settled one step each, then priced from their
instrument leaves) for an account holding 8, 16 and 32 option positions (32 is the
most the STF allows, the executor's bound), in portfolio and in standard mode; the
pure functions also at 128. Headline: the STF's PM check per account in µs at 32 positions
(the deployment's default position bound); a fill checks two accounts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from rollbook.exchange.black76 import call_put
from rollbook.exchange.fixedmath import ONE
from rollbook.exchange.margin import health
from rollbook.exchange.numeric import SIZE_ONE
from rollbook.exchange.option_margin import position_requirements
from rollbook.exchange.portfolio_margin import (
    PMPosition,
    mark_and_vector,
    option_vector,
    position,
    requirements,
)

USD = 10**6
F = 3000 * USD


def chain(count: int) -> list[tuple[int, int, int, bool]]:
    """``(strike, vol, seconds, is_call)`` for ``count`` options on forward ``F``."""
    out = []
    for i in range(count):
        strike = F * (70 + (i * 11) % 71) // 100
        vol = (40 + (i * 7) % 60) * ONE // 100
        seconds = (7 + (i * 13) % 90) * 86_400
        out.append((strike, vol, seconds, i % 2 == 0))
    return out


def revalue(options: list[tuple[int, int, int, bool]]) -> list[tuple[int, tuple[int, ...]]]:
    """The oracle step's work for a chain: one mark and one vector per option."""
    return [mark_and_vector(F, k, v, t, c) for k, v, t, c in options]


def revalue_spec(options: list[tuple[int, int, int, bool]]) -> list[tuple[int, tuple[int, ...]]]:
    """The same by the readable spec: ``call_put``, then ``option_vector``."""
    out = []
    for strike, vol, seconds, is_call in options:
        call, put = call_put(F, strike, vol, seconds)
        mark = call if is_call else put
        out.append((mark, option_vector(F, strike, vol, seconds, is_call, mark)))
    return out


def book(count: int) -> list[tuple[PMPosition, tuple[int, int, int, bool]]]:
    options = chain(count)
    out = []
    for i, ((strike, _, _, is_call), (mark, vector)) in enumerate(
        zip(options, revalue(options), strict=True)
    ):
        size = (1 + i % 5) * SIZE_ONE * (-1 if i % 3 else 1)
        out.append((position(size, vector, F), (strike, mark, size, is_call)))
    return out


def stf_accounts(count: int) -> tuple[object, int, int, int]:
    """A world where two accounts (portfolio, standard) each hold ``count`` options.

    Returns ``(state, pm_index, standard_index, now)``.
    """
    from rollbook.exchange.txs import Fill, SetMarginMode, SetRiskParams
    from rollbook.exchange.types import OrderFlags, Side
    from rollbook.sim.world import GENESIS_TIME, World, base, option_chain, usd

    world = World()
    assert world.l1(SetRiskParams(32, 90 * 86_400, 50_000, 500_000)).ok
    assert world.list_perp().ok
    ids: list[int] = []
    for k in range((count + 63) // 64):
        expiry = GENESIS_TIME + (k + 2) * 86_400 + 8 * 3600
        strikes = tuple(2000 + 50 * j for j in range(32))
        assert world.l1(option_chain(10 + 64 * k, expiry, strikes)).ok
        ids += list(range(10 + 64 * k, 10 + 64 * k + 64))
    ids = ids[:count]
    vols = {i: 700_000 for i in ids}
    assert world.l2(world.oracle_update({1: usd(3000)}, {1: usd(3000)}, vols=vols)).ok
    maker = world.add_trader("maker", 100_000_000)
    pm = world.add_trader("pm", 10_000_000)
    standard = world.add_trader("standard", 10_000_000)
    switch = world.owner_signed(SetMarginMode, pm, account=pm.index, portfolio=True, nonce=1)
    assert world.l2(switch).ok
    for n, instrument in enumerate(ids):
        side = Side.BUY if n % 3 == 0 else Side.SELL
        for trader in (pm, standard):
            price = max(100_000, world.state.instrument(instrument).mark // 100_000 * 100_000)
            resting = world.order(maker, side.opposite, price, base(1), instrument)
            taking = world.order(trader, side, price, base(1), instrument)
            receipt = world.l2(Fill(resting, taking, base(1)))
            assert receipt.ok, receipt
    _ = OrderFlags
    return world.state, pm.index, standard.index, world.now


def stf_check_us(count: int) -> tuple[float, float]:
    """µs per :func:`health` (portfolio, standard) with ``count`` positions."""
    state, pm, standard, now = stf_accounts(count)

    def check(index: int) -> None:
        state.begin()  # type: ignore[attr-defined]
        health(state, index, now)  # type: ignore[arg-type]
        state.rollback()  # type: ignore[attr-defined]

    return (
        round(time_us(lambda: check(pm), 200), 1),
        round(time_us(lambda: check(standard), 200), 1),
    )


def time_ms(fn: object, passes: int = 5) -> float:
    samples = []
    for _ in range(passes):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples)


def time_us(fn: object, repeat: int) -> float:
    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(repeat):
            fn()  # type: ignore[operator]
        samples.append((time.perf_counter() - t0) / repeat * 1e6)
    return statistics.median(samples)


def run(argv: list[str]) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="rollbook bench margin")
    parser.add_argument("--chain", type=int, default=200)
    args = parser.parse_args(argv)
    full = book(128)
    pm_us, standard_us = {}, {}
    for count in (8, 32, 128):
        positions = [p for p, _ in full[:count]]
        specs = [s for _, s in full[:count]]
        pm_us[count] = round(time_us(lambda positions=positions: requirements(positions), 200), 1)

        def standard(specs: list[tuple[int, int, int, bool]] = specs) -> int:
            total = 0
            for strike, mark, size, is_call in specs:
                total += position_requirements(size, F, strike, mark, is_call)[0]
            return total

        standard_us[count] = round(time_us(standard, 200), 1)
    stf_pm, stf_standard = {}, {}
    for count in (8, 16, 32):  # the STF holds at most 32 (governance.MAX_POSITIONS_LIMIT)
        stf_pm[count], stf_standard[count] = stf_check_us(count)
    options = chain(args.chain)
    if revalue(options[:20]) != revalue_spec(options[:20]):
        raise SystemExit("mark_and_vector differs from the spec")
    chain_ms = time_ms(lambda: revalue(options))
    spec_ms = time_ms(lambda: revalue_spec(options), 3)
    return {
        "headline": {"name": "margin", "value": stf_pm[32], "unit": "us", "goal": 100},
        "stf_pm_check_us": stf_pm,
        "stf_standard_check_us": stf_standard,
        "pure_pm_check_us": pm_us,
        "pure_standard_check_us": standard_us,
        "scenarios": 23,
        "chain_options": args.chain,
        "chain_revaluation_ms": round(chain_ms, 1),
        "chain_revaluation_spec_ms": round(spec_ms, 1),
        "chain_revaluation_goal_ms": 20,
        "note": "chain revaluation = mark_and_vector per option (mark + 23-scenario vector,"
        " integer, median of 5 passes); spec = call_put + option_vector, same integers",
    }


if __name__ == "__main__":
    import sys

    print(json.dumps(run(sys.argv[1:])))
