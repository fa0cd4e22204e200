"""The node as separate processes on a real JSON-RPC L1 (Anvil mining a block a
second): ``node init --l1`` deploys, ``node run --l1`` sequences, posts batches and
proposes roots, and ``node verify`` (following L1 alone) derives them without alarm."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from rollbook.exchange.types import OrderFlags
from rollbook.l1.anvil import FAUCET_KEY, Anvil, available
from rollbook.node.cli import spawn
from rollbook.sdk import Client

from .test_crash import keys

pytestmark = pytest.mark.skipif(not available(), reason="anvil is installed by `make setup`")
ROLLBOOK = [sys.executable, "-m", "rollbook.cli"]


@pytest.mark.slow
def test_node_and_verifier_processes_on_anvil(tmp_path: Path) -> None:
    env = {**os.environ, "ROLLBOOK_L1_KEY": FAUCET_KEY.hex()}
    data = tmp_path / "node"
    with Anvil(block_time=1) as anvil:
        subprocess.run(
            [*ROLLBOOK, "node", "init", "--data", str(data), "--l1", anvil.url],
            check=True,
            capture_output=True,
            env=env,
        )
        node, url = spawn(
            ["node", "run", "--data", str(data), "--l1", anvil.url, "--block-ms", "500"], env
        )
        verifier, verifier_url = spawn(
            ["node", "verify", "--data", str(data), "--l1", anvil.url], env
        )
        try:

            async def scenario() -> tuple[dict, dict]:  # type: ignore[type-arg]
                maker, taker = keys(data)[:2]
                async with Client(url) as c:
                    for key in (maker, taker):
                        await key.attach(c)
                    await c.place_order(maker, "ETH_USDC-PERPETUAL", "sell", "3000", "1")
                    await c.place_order(
                        taker, "ETH_USDC-PERPETUAL", "buy", "3000", "0.5", OrderFlags.IOC
                    )
                    deadline = time.monotonic() + 90
                    while True:
                        status = await c.call("rollbook_syncStatus")
                        if status["proposed_l2"] > 0:
                            break
                        assert time.monotonic() < deadline, status
                        await asyncio.sleep(0.5)
                body = {"jsonrpc": "2.0", "id": 1, "method": "rollbook_syncStatus"}
                async with aiohttp.ClientSession() as http:
                    while True:
                        async with http.post(f"{verifier_url}/api/v2", json=body) as r:
                            heads = (await r.json())["result"]
                        if heads["outputs_checked"] >= 1:
                            return status, heads
                        assert time.monotonic() < deadline, heads
                        await asyncio.sleep(0.5)

            status, heads = asyncio.run(scenario())
        finally:
            for process in (node, verifier):
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
    assert heads["alarms"] == []
    assert heads["safe_l2"] >= status["proposed_l2"] > 0
    assert node.returncode == 0 and verifier.returncode == 0
