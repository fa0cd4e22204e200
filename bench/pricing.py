"""Benchmark: integer option marks and Greeks per second (``rollbook bench pricing``).

Issue #3: option marks are computed inside the STF, in oracle-update steps, with the
integer Black-76 of :mod:`rollbook.exchange.black76`. This measures that integer path
on a realistic chain: strikes from 50 % to 200 % of the forward, expiries from one day
to a year, vols 30–120 %; a mark is one ``call_put`` (both sides, parity exact), a
full line is ``greeks`` (price, Δ, Γ, ν, Θ). Headline: marks per second.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from rollbook.exchange.black76 import call_put, greeks
from rollbook.exchange.fixedmath import ONE

USD = 10**6
DAY = 86_400


def chain(size: int) -> list[tuple[int, int, int, int]]:
    forward = 3000 * USD
    out = []
    expiries = [1, 7, 30, 90, 365]
    i = 0
    while len(out) < size:
        strike = forward * (50 + (i * 7) % 151) // 100
        seconds = expiries[i % len(expiries)] * DAY
        vol = (30 + (i * 13) % 91) * ONE // 100
        out.append((forward, strike, vol, seconds))
        i += 1
    return out


def run(argv: list[str]) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="rollbook bench pricing")
    parser.add_argument("--options", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    options = chain(args.options)
    mark_rates, greek_rates = [], []
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        for forward, strike, vol, seconds in options:
            call_put(forward, strike, vol, seconds)
        mark_rates.append(len(options) / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        for k, (forward, strike, vol, seconds) in enumerate(options):
            greeks(forward, strike, vol, seconds, k % 2 == 0)
        greek_rates.append(len(options) / (time.perf_counter() - t0))
    marks = statistics.median(mark_rates)
    lines = statistics.median(greek_rates)
    return {
        "headline": {"name": "pricing", "value": round(marks), "unit": "marks/s", "goal": None},
        "options": len(options),
        "marks_per_s_passes": [round(r) for r in mark_rates],
        "us_per_mark": round(1e6 / marks, 1),
        "greeks_per_s": round(lines),
        "us_per_greeks_line": round(1e6 / lines, 1),
        "chain_200_ms": round(200 / marks * 1e3, 2),
        "note": "integer Black-76 (marks: ln at 1e36, d1/Φ at 2**-64; Greeks: fixedmath at"
        " 1e18); issue #3 names no goal",
    }


if __name__ == "__main__":
    import sys

    print(json.dumps(run(sys.argv[1:])))
