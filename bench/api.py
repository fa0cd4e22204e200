"""Signed orders over the node's WebSocket API: sustained orders/s and order→ack latency.

``rollbook bench api [--seconds S] [--window W] [--traders N]``: a node process
(``rollbook node run``, devnet genesis, blocks every second, the write-ahead log on
the project's disk with group commit) and, in this process, N traders on one
WebSocket each, keeping W orders in flight per trader. Orders are signed before the
clock starts (signing is the trader's cost, not the exchange's). Half the orders rest
(post-only, away from the touch) and half are IOC orders that cross and fill, so the
node matches, settles fills in the STF, logs, acknowledges and signs receipts.

An order's latency runs from just before its request is written to the socket until
its acknowledgement (after the log's fsync) is read: loopback, as Deribit measures
"matching + risk" from its gateway. Headline: p99 order→ack latency in ms (goal ≤ 5);
the details hold orders/s (goal ≥ 5,000), p50, refusals and the node's fill count,
and a light-load phase (2 traders, one order in flight each): the latency without
queueing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from rollbook.exchange.types import OrderFlags, Side
from rollbook.node.cli import spawn
from rollbook.sdk import Client, TradingKey

ROOT = Path(__file__).resolve().parents[1]
TICK = 50_000
LOT = 100_000


def start_node(data: Path, block_ms: int) -> tuple[subprocess.Popen[str], str]:
    rollbook = [sys.executable, "-m", "rollbook.cli"]
    subprocess.run(
        [*rollbook, "node", "init", "--data", str(data)], check=True, capture_output=True
    )
    return spawn(["node", "run", "--data", str(data), "--block-ms", str(block_ms)])


def presign(key: TradingKey, count: int, maker: bool) -> list[str]:
    """``count`` signed order requests, alternating around the $3,000 mid."""
    out = []
    for i in range(count):
        side = Side.BUY if i % 2 == 0 else Side.SELL
        if maker:  # rests away from the touch (post-only), 1-40 ticks out
            offset = (1 + i % 40) * TICK
            price = 3_000_000_000 - offset if side is Side.BUY else 3_000_000_000 + offset
            flags = OrderFlags.POST_ONLY
        else:  # crosses up to 60 ticks: fills against the makers' orders
            price = 3_000_000_000 + (60 * TICK if side is Side.BUY else -60 * TICK)
            flags = OrderFlags.IOC
        order = key.order(1, side, price, LOT * 10, flags)
        body = {
            "jsonrpc": "2.0",
            "id": i,
            "method": "rollbook_placeOrder",
            "params": key.sign(order),
        }
        out.append(json.dumps(body, separators=(",", ":")))
    return out


async def trader(
    url: str,
    requests: list[str],
    window: int,
    deadline: float,
    latencies: list[float],
    errors: dict[int, int],
) -> int:
    sent: dict[int, float] = {}
    done = 0
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{url}/ws/api/v2", max_msg_size=0) as ws:
            it = iter(enumerate(requests))

            async def send_one() -> bool:
                try:
                    i, text = next(it)
                except StopIteration:
                    return False
                sent[i] = time.perf_counter()
                await ws.send_str(text)
                return True

            for _ in range(window):
                await send_one()
            async for message in ws:
                now = time.perf_counter()
                reply = orjson.loads(message.data)
                rid = reply.get("id")
                if rid not in sent:
                    continue
                latencies.append(now - sent.pop(rid))
                done += 1
                if "error" in reply:
                    code = reply["error"]["code"]
                    errors[code] = errors.get(code, 0) + 1
                if now > deadline or not await send_one():
                    if not sent:
                        break
    return done


async def measure(url: str, keys: list[TradingKey], seconds: float, window: int) -> dict[str, Any]:
    async with Client(url, verify_receipts=False) as client:
        for key in keys:
            await key.attach(client)
    per = int(seconds * 5000 / len(keys)) + window
    batches = [presign(k, per, maker=i % 2 == 0) for i, k in enumerate(keys)]
    async with Client(url, verify_receipts=False) as client:
        before = await client.call("rollbook_syncStatus")
    latencies: list[float] = []
    errors: dict[int, int] = {}
    started = time.perf_counter()
    deadline = started + seconds
    counts = await asyncio.gather(
        *(trader(url, b, window, deadline, latencies, errors) for b in batches)
    )
    elapsed = time.perf_counter() - started
    async with Client(url, verify_receipts=False) as client:
        after = await client.call("rollbook_syncStatus")
    latencies.sort()
    total = sum(counts)

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 3)

    return {
        "orders": total,
        "orders_per_s": round(total / elapsed),
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": round(latencies[-1] * 1000, 3),
        "fills": after["fills"] - before["fills"],
        "logged_inputs": after["seq"] - before["seq"],
        "errors": errors,
        "seconds": round(elapsed, 2),
    }


def run(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="rollbook bench api")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--window", type=int, default=8, help="orders in flight per trader")
    parser.add_argument("--traders", type=int, default=6)
    parser.add_argument("--block-ms", type=int, default=250, help="the node's block interval")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        process, url = start_node(Path(tmp) / "node", args.block_ms)
        try:
            found = json.loads((Path(tmp) / "node" / "devnet-keys.json").read_text())
            keys = [
                TradingKey(bytes.fromhex(k["trading_key"]), k["account"])
                for name, k in sorted(found.items())
                if name != "insurance"
            ][: args.traders]
            result = asyncio.run(measure(url, keys, args.seconds, args.window))
            light = asyncio.run(measure(url, keys[:2], min(args.seconds, 5.0), 1))
        finally:
            process.terminate()
            process.wait(timeout=30)
    return {
        "headline": {
            "name": "order→ack latency p99 over the WebSocket API",
            "value": result["p99_ms"],
            "unit": "ms",
            "goal": 5,
        },
        "orders_per_s_goal": 5000,
        "traders": len(keys),
        "window_per_trader": args.window,
        "block_ms": args.block_ms,
        **result,
        "light_load": {k: light[k] for k in ("orders_per_s", "p50_ms", "p99_ms", "max_ms")},
    }
