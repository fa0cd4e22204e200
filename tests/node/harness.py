"""A node on loopback for tests: genesis world, data directory, API server, SDK keys."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from rollbook.chain.derive import ChainConfig
from rollbook.chain.l1 import L1Ref
from rollbook.crypto.keccak import keccak256
from rollbook.node.api import NodeApi
from rollbook.node.service import Genesis, L1Port, Node
from rollbook.sdk import Client, TradingKey
from rollbook.sim.world import Trader, World, usd

SEQUENCER_KEY = keccak256(b"rollbook test sequencer")


@dataclass
class Setup:
    world: World
    genesis: Genesis
    traders: dict[str, Trader]


def genesis(now: int | None = None, traders: dict[str, int] | None = None) -> Setup:
    """A world at ``now`` (default: the wall clock) with the ETH perp and funded traders."""
    start = int(time.time()) if now is None else now
    world = World(now=start)
    assert world.list_perp().ok
    people = {
        name: world.add_trader(name, usdc)
        for name, usdc in (traders or {"alice": 100_000, "bob": 100_000, "poor": 10}).items()
    }
    world.set_prices(usd(3000))
    state = world.state.copy()
    cfg = ChainConfig(901, world.separator)
    inst = state.instrument(1)
    l1_genesis = L1Ref(0, keccak256(b"l1 genesis"), start - 60)
    return Setup(world, Genesis(state, cfg, l1_genesis, {1: (inst.tick, inst.lot)}), people)


@dataclass
class Running:
    node: Node
    api: NodeApi
    url: str
    setup: Setup

    def key(self, name: str) -> TradingKey:
        trader = self.setup.traders[name]
        return TradingKey(trader.trading_key, trader.index)


@asynccontextmanager
async def running(
    path: Path,
    setup: Setup | None = None,
    ticks: bool = True,
    l1: L1Port | None = None,
    block_ms: int = 200,
) -> AsyncIterator[Running]:
    """Start (or restart) the node in ``path`` with its API on a free loopback port."""
    if not (path / "node.db").exists():
        assert setup is not None
        Node.init(path, setup.genesis, SEQUENCER_KEY)
    node = Node.open(path, block_ms=block_ms, l1=l1)
    api = NodeApi(node)
    await node.start(ticks=ticks)
    api.start()
    runner = web.AppRunner(api.server.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield Running(node, api, f"http://127.0.0.1:{port}", setup or genesis())
    finally:
        api.stop()
        await runner.cleanup()
        await node.stop()


@asynccontextmanager
async def client(url: str) -> AsyncIterator[Client]:
    async with Client(url) as c:
        yield c
