"""End to end on the embedded EVM: deposit on L1 → trade perps and options over the API
→ batches and output roots on L1 → a fresh verifier derives the same roots from L1
alone → the withdrawal is proven against a final root and paid on L1.

Time runs 30× faster than the wall clock for the node and its L1 (the node's clock is
an input), so the challenge window and L1 confirmations pass in seconds."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from rollbook.chain.blocks import output_version
from rollbook.chain.derive import ChainConfig
from rollbook.exchange.numeric import QUOTE_ONE
from rollbook.exchange.types import OrderFlags
from rollbook.l1.driver import EvmL1
from rollbook.node.devnet import Feeder, devnet_world, feed_forever
from rollbook.node.l1port import DevnetPort
from rollbook.node.service import Genesis
from rollbook.node.verifier import Verifier
from rollbook.sdk import Client, TradingKey, bridge

from .harness import running

SPEED = 30


async def until(check, timeout: float = 60.0, every: float = 0.1) -> Any:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(every)


def test_deposit_trade_post_verify_withdraw(tmp_path: Path) -> None:
    start = int(time.time())
    real = time.monotonic()

    def clock() -> float:
        return start + (time.monotonic() - real) * SPEED

    devnet = devnet_world(start)
    world = devnet.world
    state = world.state.copy()
    cfg = ChainConfig(901, world.separator)
    l1 = EvmL1.embedded(
        start,
        output_version=output_version(cfg.mode),
        challenge_window=60,
        first_deposit_id=state.globals().next_deposit_id,
        domain_separator=world.separator,
        chain=cfg,
    )
    l1.back_genesis(state.globals().total_deposits)
    taker = devnet.takers[0]
    l1.add_owners({taker.owner: taker.owner_key})
    grid = {i: (state.instrument(i).tick, state.instrument(i).lot) for i in [1, *devnet.options]}
    genesis = Genesis(state, cfg, l1.genesis_ref, grid)

    async def scenario() -> None:
        setup = type("S", (), {"genesis": genesis, "traders": {}})()
        async with (
            running(
                tmp_path,
                setup,
                l1=DevnetPort(l1),
                block_ms=100,  # type: ignore[arg-type]
                clock=clock,
            ) as node,
            Client(node.url) as c,
        ):
            loop = asyncio.get_running_loop()

            def on_l1(fn, *args):  # type: ignore[no-untyped-def]
                return loop.run_in_executor(node.node._l1_io, fn, *args)

            feeder = Feeder(devnet, seed=3)

            feeding = asyncio.ensure_future(feed_forever(c, feeder))
            try:
                # 1. deposit on L1; credited on L2 once its L1 block is an origin
                before = (await c.call("rollbook_getAccount", account=taker.index))["balance"]
                await on_l1(
                    bridge.deposit, l1.system, taker.owner_key, 1_000 * QUOTE_ONE, l1.roles.deployer
                )

                async def credited() -> bool:
                    acct = await c.call("rollbook_getAccount", account=taker.index)
                    return bool(acct["balance"] == before + 1_000)

                await until(credited)

                # 2. trade the perpetual and an option over the API
                mm = TradingKey(devnet.makers[0].trading_key, devnet.makers[0].index)
                tk = TradingKey(taker.trading_key, taker.index)
                for key in (mm, tk):
                    await key.attach(c)
                await c.place_order(mm, "ETH_USDC-PERPETUAL", "sell", "3005", "1")
                perp = await c.place_order(
                    tk, "ETH_USDC-PERPETUAL", "buy", "3010", "0.5", OrderFlags.IOC
                )
                assert perp["trades"][0]["amount"] == 0.5
                option = next(n for n, i in c.instruments.items() if i["kind"] == "option")
                mark = (await c.call("public/ticker", instrument_name=option))["mark_price"]
                om = TradingKey(devnet.option_maker.trading_key, devnet.option_maker.index)
                await om.attach(c)
                ask = f"{round(mark * 1.02 + 0.1, 1):.1f}"
                await c.place_order(om, option, "sell", ask, "0.5")
                bought = await c.place_order(tk, option, "buy", ask, "0.2", OrderFlags.IOC)
                assert bought["trades"][0]["amount"] == 0.2

                # 3. withdraw on L2 (owner-signed)
                acct = await c.call("rollbook_getAccount", account=taker.index)
                tx = bridge.withdraw_tx(
                    taker.index,
                    100 * QUOTE_ONE,
                    acct["rollbook_tx_nonce"],
                    taker.owner_key,
                    world.separator,
                )
                sent = await c.send_tx(tx)
                withdrawal_block = sent["block"]

                # 4. batches posted and a root over that block proposed, then final
                async def final() -> Any:
                    return await on_l1(bridge.final_output, l1.system, withdrawal_block)

                index, output = await until(final, timeout=90)
                assert output["l2_block"] >= withdrawal_block

                # 5. a fresh verifier, from L1 alone, derives the same roots
                verifier = Verifier(l1.system, genesis)
                await on_l1(verifier.poll)
                status = verifier.status()
                assert status["alarms"] == [] and status["outputs_checked"] >= index + 1
                derived = verifier.deriver.blocks[output["l2_block"]]
                node_block = await c.call("rollbook_getBlock", number=output["l2_block"])
                assert "0x" + derived.hash.hex() == node_block["hash"]

                # 6. prove against the final root and get paid on L1
                owner = l1.client.address_of(taker.owner_key)
                paid_before = await on_l1(bridge.balance, l1.client, l1.system, owner)
                proof = await c.call(
                    "rollbook_proveWithdrawal",
                    block=output["l2_block"],
                    withdrawal_id=state.globals().next_withdrawal_id,
                )
                assert proof["amount"] == 100 * QUOTE_ONE
                await on_l1(bridge.claim, l1.system, l1.roles.deployer, index, proof)

                async def paid() -> bool:
                    balance = await on_l1(bridge.balance, l1.client, l1.system, owner)
                    return bool(balance == paid_before + 100 * QUOTE_ONE)

                await until(paid)
                costs = await c.call("rollbook_costs")
                assert costs["batches"] >= 1 and costs["l1_gas"] > 0
            finally:
                feeding.cancel()

    asyncio.run(scenario())
