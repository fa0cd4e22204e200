"""What a devnet adds around the node: a genesis, an oracle feeder, demo traders.

- :func:`devnet_world`: the genesis allocation: the ETH perpetual, two option expiries
  (the next two 08:00 UTC at least an hour away) × five strikes, an oracle set of three
  keys (2 of 3 sign), funded market makers and takers with registered trading keys.
  Keys come from labels, so a devnet is reproducible (they are devnet keys only).
- :class:`Feeder`: the oracle network of a devnet: a simulated index (geometric Brownian
  motion with rare jumps) and a vol smile per option, reported every second, signed by
  the oracle keys and sent to the node as ``rollbook_sendTx`` like any other tx.
- :class:`MarketMaker` and :class:`Taker`: SDK clients trading over the node's API:
  makers cancel and re-quote a ladder around the mark (perpetual) and around each
  option's STF mark; takers send IOC orders.
"""

from __future__ import annotations

import asyncio
import math
import random
from dataclasses import dataclass, field
from typing import Any

from rollbook.crypto.secp256k1 import sign_digest
from rollbook.exchange.numeric import QUOTE_ONE
from rollbook.exchange.options import is_expiry_time
from rollbook.exchange.txs import OracleUpdate, oracle_report_digest
from rollbook.exchange.types import OrderFlags
from rollbook.sdk import Client, RpcError, TradingKey
from rollbook.sim.world import Trader, World, option_chain

DAY = 86_400
PERP = 1
FIRST_OPTION = 100
STRIKE_STEP = 100
START_INDEX = 3000


@dataclass
class DevnetWorld:
    world: World
    makers: list[Trader]
    takers: list[Trader]
    option_maker: Trader
    options: dict[int, tuple[int, int, bool]]  # id -> (expiry, strike units, call)


def next_expiries(now: int, count: int = 2) -> list[int]:
    """The next ``count`` 08:00 UTC times at least an hour after ``now``."""
    day = (now + 3600) // DAY * DAY + 8 * 3600
    found: list[int] = []
    while len(found) < count:
        if day >= now + 3600 and is_expiry_time(day):
            found.append(day)
        day += DAY
    return found


def devnet_world(now: int, makers: int = 2, takers: int = 6) -> DevnetWorld:
    world = World(now=now)
    assert world.list_perp().ok
    options: dict[int, tuple[int, int, bool]] = {}
    strikes = tuple(START_INDEX + STRIKE_STEP * k for k in range(-2, 3))
    for k, expiry in enumerate(next_expiries(now)):
        chain = option_chain(FIRST_OPTION + 20 * k, expiry, strikes)
        assert world.l1(chain).ok
        for j, strike in enumerate(chain.strikes):
            options[chain.first_id + 2 * j] = (expiry, strike, True)
            options[chain.first_id + 2 * j + 1] = (expiry, strike, False)
    mm = [world.add_trader(f"maker{i}", 2_000_000) for i in range(makers)]
    tk = [world.add_trader(f"taker{i}", 50_000) for i in range(takers)]
    om = world.add_trader("optmaker", 3_000_000)
    devnet = DevnetWorld(world, mm, tk, om, options)
    assert world.l2(Feeder(devnet, seed=0).report(now)).ok
    return devnet


@dataclass
class Feeder:
    """The devnet's oracle: GBM index with jumps, a smile of implied vols."""

    devnet: DevnetWorld
    seed: int = 1
    index: float = float(START_INDEX)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def move(self) -> None:
        shock = self.rng.gauss(0.0, 0.0004)
        if self.rng.random() < 0.002:
            shock += self.rng.choice((-1, 1)) * 0.008
        self.index *= math.exp(shock)

    def report(self, now: int, mark: int | None = None) -> OracleUpdate:
        world = self.devnet.world
        index = round(self.index * 20) * QUOTE_ONE // 20  # on the perp's $0.05 tick
        vols = {
            instrument: smile_ppm(strike / QUOTE_ONE / self.index, expiry - now)
            for instrument, (expiry, strike, _) in self.devnet.options.items()
            if expiry > now
        }
        prices = ((1, index),)
        marks = ((PERP, mark if mark is not None else index),)
        vol_pairs = tuple(sorted(vols.items()))
        digest = oracle_report_digest(world.separator, now, prices, marks, vol_pairs)
        sigs = tuple(sign_digest(k, digest) for k in world.oracle_keys[: world.threshold])
        return OracleUpdate(now, prices, marks, sigs, vol_pairs)


def smile_ppm(moneyness: float, seconds: int) -> int:
    """The simulated implied vol in ppm: 65 % at the money, a smile in log-moneyness."""
    days = max(seconds, 60) / DAY
    vol = 0.65 + 1.2 * math.log(moneyness) ** 2 + 0.05 / math.sqrt(days + 0.1)
    return round(vol * 10**6)


@dataclass
class Stats:
    orders: int = 0
    refused: int = 0
    fills: int = 0
    errors: dict[int, int] = field(default_factory=dict)

    reasons: dict[str, int] = field(default_factory=dict)

    def refuse(self, exc: RpcError) -> None:
        self.refused += 1
        self.errors[exc.code] = self.errors.get(exc.code, 0) + 1
        reason = str(exc.data.get("reason", "")) if isinstance(exc.data, dict) else ""
        self.reasons[reason[:60]] = self.reasons.get(reason[:60], 0) + 1


def ticks(value: float, tick: float) -> str:
    """A price rounded onto the tick grid, as an exact decimal string."""
    steps = max(1, round(value / tick))
    return f"{steps * tick:.6f}"


@dataclass
class Bot:
    client: Client
    key: TradingKey
    stats: Stats
    rng: random.Random

    async def order(
        self, name: str, side: str, price: str, amount: str, flags: OrderFlags = OrderFlags.NONE
    ) -> dict[str, Any] | None:
        self.stats.orders += 1
        try:
            placed = await self.client.place_order(self.key, name, side, price, amount, flags)
        except RpcError as exc:
            self.stats.refuse(exc)
            return None
        self.stats.fills += len(placed["trades"])
        return placed


@dataclass
class MarketMaker(Bot):
    spread_ticks: int = 2
    options: bool = False

    async def quote(self, feeder: Feeder) -> None:
        if self.options:
            await self.quote_options()
            return
        name = "ETH_USDC-PERPETUAL"
        tick = 0.05
        for level in range(1, 6):
            amount = f"{self.rng.randint(50, 400) / 1000:.3f}"
            offset = (self.spread_ticks + 2 * level) * tick
            await self.order(
                name, "buy", ticks(feeder.index - offset, tick), amount, OrderFlags.POST_ONLY
            )
            await self.order(
                name, "sell", ticks(feeder.index + offset, tick), amount, OrderFlags.POST_ONLY
            )

    async def quote_options(self) -> None:
        for name, inst in self.client.instruments.items():
            if inst["kind"] != "option":
                continue
            try:
                ticker = await self.client.call("public/ticker", instrument_name=name)
            except RpcError:
                continue
            if ticker["state"] != "open":
                continue
            mark = ticker["mark_price"]
            tick = inst["tick_size"]
            half = max(tick, mark / 50)
            amount = f"{self.rng.randint(10, 100) / 100:.2f}"
            if mark - half >= tick:
                await self.order(
                    name, "buy", ticks(mark - half, tick), amount, OrderFlags.POST_ONLY
                )
            await self.order(
                name, "sell", ticks(mark + half + tick, tick), amount, OrderFlags.POST_ONLY
            )


@dataclass
class Taker(Bot):
    async def take(self, feeder: Feeder) -> None:
        if self.rng.random() < 0.8:
            side = self.rng.choice(("buy", "sell"))
            limit = feeder.index * (1.01 if side == "buy" else 0.99)
            amount = f"{self.rng.randint(10, 200) / 1000:.3f}"
            await self.order("ETH_USDC-PERPETUAL", side, ticks(limit, 0.05), amount, OrderFlags.IOC)
            return
        options = [n for n, i in self.client.instruments.items() if i["kind"] == "option"]
        if not options:
            return
        name = self.rng.choice(options)
        try:
            ticker = await self.client.call("public/ticker", instrument_name=name)
        except RpcError:
            return
        if ticker["state"] != "open" or not ticker["mark_price"]:
            return
        side = self.rng.choice(("buy", "sell"))
        limit = ticker["mark_price"] * (1.05 if side == "buy" else 0.95)
        amount = f"{self.rng.randint(5, 50) / 100:.2f}"
        await self.order(name, side, ticks(limit, 0.1), amount, OrderFlags.IOC)


async def feed_forever(client: Client, feeder: Feeder, every: float = 0.05) -> None:
    """The oracle network: a signed report at each new block time, until cancelled."""
    last = 0
    while True:
        now = (await client.call("rollbook_syncStatus"))["block_time"]
        if now > last:
            feeder.move()
            try:
                await client.send_tx(feeder.report(now))
            except RpcError:
                pass  # a report the STF refuses (e.g. a max-move breach) is skipped
            last = now
        await asyncio.sleep(every)


async def trade_forever(
    makers: list[MarketMaker], takers: list[Taker], feeder: Feeder, every: float = 0.5
) -> None:
    """The demo market: makers re-quote, takers take, until cancelled."""
    round_number = 0
    while True:
        quoting = [m for m in makers if not m.options or round_number % 20 == 0]
        for maker in quoting:  # pull every stale quote first, then quote afresh
            try:
                await maker.client.cancel_all(maker.key)
            except RpcError as exc:
                maker.stats.refuse(exc)
        for maker in quoting:
            await maker.quote(feeder)
        for taker in takers:
            if taker.rng.random() < 0.6:
                await taker.take(feeder)
        round_number += 1
        await asyncio.sleep(every)
