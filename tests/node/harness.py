"""A node on loopback for tests: genesis world, data directory, API server, SDK keys."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollbook.chain.derive import ChainConfig
from rollbook.chain.l1 import L1Ref
from rollbook.crypto.keccak import keccak256
from rollbook.node.api import NodeApi, RateLimits
from rollbook.node.cli import serve
from rollbook.node.gateway import Credentials, Gateway, new_credentials
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

    async def keys(self, client: Client, *names: str) -> list[TradingKey]:
        """The named traders' keys, attached to ``client``'s node."""
        found = [self.key(name) for name in names]
        for key in found:
            await key.attach(client)
        return found


@asynccontextmanager
async def running(
    path: Path,
    setup: Setup | None = None,
    ticks: bool = True,
    l1: L1Port | None = None,
    block_ms: int = 200,
    clock: Callable[[], float] = time.time,
    limits: RateLimits | None = None,
) -> AsyncIterator[Running]:
    """Start (or restart) the node in ``path`` with its API on a free loopback port."""
    if not (path / "node.db").exists():
        assert setup is not None
        Node.init(path, setup.genesis, SEQUENCER_KEY)
    node = Node.open(path, block_ms=block_ms, l1=l1, clock=clock)
    api = NodeApi(node, limits)
    await node.start(ticks=ticks, l1_every=0.1)
    api.start()
    runner, url = await serve(api.server.app(), 0)
    try:
        yield Running(node, api, url, setup or genesis())
    finally:
        api.stop()
        await runner.cleanup()
        await node.stop()


@asynccontextmanager
async def client(url: str) -> AsyncIterator[Client]:
    async with Client(url) as c:
        yield c


@asynccontextmanager
async def gateway(node: Running, trader: str) -> AsyncIterator[tuple[str, Credentials]]:
    """A gateway for ``trader`` in front of ``node``, on a free loopback port."""
    person = node.setup.traders[trader]
    creds = new_credentials()
    gw = Gateway(node.url, TradingKey(person.trading_key, person.index), creds)
    await gw.start()
    runner, url = await serve(gw.server.app(), 0)
    try:
        yield url, creds
    finally:
        await runner.cleanup()
        await gw.stop()


class InThread:
    """Run an async context (node, gateway) on its own loop in a thread, for sync clients."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self.factory = factory
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        try:
            async with self.factory() as value:
                self.value = value
                self.ready.set()
                await self._stop.wait()
        except BaseException as exc:
            self.error = exc
            self.ready.set()

    def __enter__(self) -> Any:
        self.thread.start()
        self.ready.wait(60)
        if self.error is not None:
            raise self.error
        return self.value

    def __exit__(self, *_: object) -> None:
        assert self._stop is not None
        self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(30)
