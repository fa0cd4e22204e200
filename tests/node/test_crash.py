"""kill -9 the sequencer during a load run: every acknowledged input survives (same
digest at the same sequence number), and restarts reach the same state root."""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rollbook.exchange.types import OrderFlags
from rollbook.node.cli import spawn
from rollbook.node.service import Node, resume_from
from rollbook.sdk import Client, RpcError, TradingKey

ROLLBOOK = [sys.executable, "-m", "rollbook.cli"]


def keys(data: Path) -> list[TradingKey]:
    found = json.loads((data / "devnet-keys.json").read_text())
    return [
        TradingKey(bytes.fromhex(k["trading_key"]), k["account"])
        for name, k in sorted(found.items())
        if name.startswith(("maker", "taker"))
    ]


async def load(url: str, traders: list[TradingKey], acked: dict[int, str]) -> None:
    """Traders send orders as fast as the node acknowledges them; record each ack."""
    rng = random.Random(7)

    async def trader(key: TradingKey) -> None:
        async with Client(url) as client:
            await client.connect()
            await key.attach(client)
            while True:
                side = rng.choice(("buy", "sell"))
                price = 3000 + rng.randint(-20, 20) * 0.05
                flags = OrderFlags.IOC if rng.random() < 0.3 else OrderFlags.NONE
                try:
                    placed = await client.place_order(
                        key, "ETH_USDC-PERPETUAL", side, f"{price:.2f}", "0.01", flags
                    )
                except RpcError as exc:
                    receipt = (
                        (exc.data or {}).get("receipt") if isinstance(exc.data, dict) else None
                    )
                    if receipt is None:
                        continue
                    placed = {"receipt": receipt}
                acked[placed["receipt"]["seq"]] = placed["receipt"]["digest"]

    await asyncio.gather(*(trader(k) for k in traders))


async def status(url: str, method: str = "rollbook_runningRoot", **params: object) -> dict:  # type: ignore[type-arg]
    async with Client(url, verify_receipts=False) as client:
        return await client.call(method, **params)  # type: ignore[no-any-return]


@pytest.mark.slow
def test_kill_9_loses_no_acknowledged_input(tmp_path: Path) -> None:
    data = tmp_path / "node"
    subprocess.run(
        [*ROLLBOOK, "node", "init", "--data", str(data)], check=True, capture_output=True
    )
    process, url = spawn(
        ["node", "run", "--data", str(data), "--block-ms", "50", "--snapshot-blocks", "3"]
    )
    acked: dict[int, str] = {}

    async def run_until_killed() -> None:
        loader = asyncio.ensure_future(load(url, keys(data), acked))
        while len(acked) < 1500:
            await asyncio.sleep(0.01)
            assert not loader.done() or loader.exception() is None, loader.exception()
        os.kill(process.pid, signal.SIGKILL)  # mid-load: orders in flight, a group open
        process.wait()
        loader.cancel()
        try:
            await loader
        except (asyncio.CancelledError, Exception):
            pass

    try:
        asyncio.run(run_until_killed())
    finally:
        process.kill()
    assert len(acked) >= 1500

    # Restart with no new blocks: every acknowledged input is in the log, unchanged.
    process, url = spawn(["node", "run", "--data", str(data), "--block-ms", "0"])
    try:

        async def check() -> dict:  # type: ignore[type-arg]
            async with Client(url, verify_receipts=False) as client:
                for seq, digest in sorted(acked.items()):
                    logged = await client.call("rollbook_getInput", seq=seq)
                    assert logged["digest"] == digest, f"input {seq} changed after the crash"
                return await client.call("rollbook_runningRoot")  # type: ignore[no-any-return]

        before = asyncio.run(check())
        assert before["seq"] >= max(acked)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        process.kill()

    # kill -9 again with nothing in flight: the restart reaches the same root.
    process, url = spawn(["node", "run", "--data", str(data), "--block-ms", "0"])
    try:
        after = asyncio.run(status(url))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert (after["seq"], after["root"]) == (before["seq"], before["root"])
    assert after["fills"] == before["fills"] > 0

    # Recovery from a snapshot equals a replay of the whole log from genesis.
    fresh = tmp_path / "replay"
    shutil.copytree(data, fresh)
    node = Node.open(fresh)
    assert node.log.latest_snapshot() is not None  # the crash recovery used one
    node.log.db.execute("DELETE FROM snapshots")
    node.log.close()
    replayed = Node.open(fresh)
    try:
        assert replayed.core.seq == before["seq"]
        assert "0x" + replayed.core.state.root().hex() == before["root"]
    finally:
        replayed.log.close()


def test_the_batcher_resumes_from_what_the_inbox_holds() -> None:
    """After a crash the batcher goes on from the inbox's count when that is what it
    posted or sent (a post landed before its note), or less (a post was lost); when
    the inbox holds more than it sent, a forced batch took its place and it stops."""
    assert resume_from(on_l1=5, posted=5, posting=5) == 5
    assert resume_from(on_l1=9, posted=5, posting=9) == 9  # landed, not noted
    assert resume_from(on_l1=5, posted=5, posting=9) == 5  # sent, lost: post again
    assert resume_from(on_l1=3, posted=5, posting=5) == 3  # an L1 reorg dropped posts
    assert resume_from(on_l1=6, posted=5, posting=5) is None  # a forced batch
    assert resume_from(on_l1=10, posted=5, posting=9) is None
