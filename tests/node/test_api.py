"""The node's API over loopback: signed orders in, Deribit shapes out, receipts that
verify, book channels that chain, clear errors that change nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest

from rollbook.exchange.types import OrderFlags, Side
from rollbook.sdk import RpcError

from .harness import client, genesis, running


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_trade_over_the_api(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, genesis()) as node, client(node.url) as c:
            alice, bob = await node.keys(c, "alice", "bob")
            ask = await c.place_order(
                alice, "ETH_USDC-PERPETUAL", "sell", "3000.05", "0.5", label="mm-1"
            )
            assert ask["order"]["order_state"] == "open"
            assert ask["order"]["label"] == "mm-1"
            taken = await c.place_order(
                bob, "ETH_USDC-PERPETUAL", "buy", "3001", "0.2", OrderFlags.IOC
            )
            assert taken["order"]["order_state"] == "filled"
            [trade] = taken["trades"]
            assert trade["price"] == 3000.05 and trade["amount"] == 0.2
            assert trade["liquidity"] == "T" and trade["fee"] > 0
            positions = await c.call("rollbook_getPositions", account=bob.account)
            assert positions[0]["size"] == 0.2 and positions[0]["direction"] == "buy"
            # the STF's standard margin for this position: IM 5 %, MM 3 % of its value
            value = positions[0]["mark_price"] * 0.2
            assert positions[0]["initial_margin"] == pytest.approx(value * 0.05, abs=1e-6)
            assert positions[0]["maintenance_margin"] == pytest.approx(value * 0.03, abs=1e-6)
            book = await c.call("public/get_order_book", instrument_name="ETH_USDC-PERPETUAL")
            assert book["asks"] == [[3000.05, 0.3]]
            ticker = await c.call("public/ticker", instrument_name="ETH_USDC-PERPETUAL")
            assert ticker["last_price"] == 3000.05 and ticker["best_ask_amount"] == 0.3
            # the ack's receipt was verified by the SDK; the order is numbered in the log
            assert ask["receipt"]["seq"] < taken["receipt"]["seq"]
            head = (await c.call("rollbook_syncStatus"))["unsafe_l2"]
            for _ in range(100):  # the fill is sealed into a block within a few ticks
                block = await c.call("rollbook_getBlock", number=head, full=True)
                if any(t["kind"] == "Fill" for t in block["transactions"]):
                    break
                head += (await c.call("rollbook_syncStatus"))["unsafe_l2"] > head
                await asyncio.sleep(0.05)
            assert any(t["kind"] == "Fill" for t in block["transactions"])

    run(scenario())


def test_errors_are_deribit_codes_and_change_nothing(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, genesis()) as node, client(node.url) as c:
            alice, poor = await node.keys(c, "alice", "poor")
            await c.place_order(alice, "ETH_USDC-PERPETUAL", "sell", "3000", "5")
            status = await c.call("rollbook_syncStatus")
            with pytest.raises(RpcError) as err:
                await c.place_order(poor, "ETH_USDC-PERPETUAL", "buy", "3000", "1", OrderFlags.IOC)
            assert err.value.code == 10009  # not enough funds
            with pytest.raises(RpcError) as err:
                await c.place_order(alice, "ETH_USDC-PERPETUAL", "buy", "2999", "0.0001")
            assert err.value.code == 10021  # amount off the lot grid
            with pytest.raises(RpcError) as err:
                await c.place_order(
                    alice, "ETH_USDC-PERPETUAL", "buy", "3000.01", "0.1", OrderFlags.POST_ONLY
                )
            assert err.value.code == 10043  # price off the tick grid
            with pytest.raises(RpcError) as err:
                await c.place_order(
                    alice, "ETH_USDC-PERPETUAL", "buy", "3000", "0.1", OrderFlags.POST_ONLY
                )
            assert err.value.code == 11054  # post-only would take
            with pytest.raises(RpcError) as err:
                await c.call("public/ticker", instrument_name="NOPE")
            assert err.value.code == 10020
            with pytest.raises(RpcError) as err:
                await c.call("rollbook_placeOrder", order={"side": "up"}, signature="0x00")
            assert err.value.code == -32602
            negative = alice.sign(alice.order(1, Side.BUY, 3_000_000_000, 10_000_000))
            negative["order"]["flags"] = -1
            with pytest.raises(RpcError) as err:
                await c.call("rollbook_placeOrder", **negative)
            assert err.value.code == -32602 and "flags" in str(err.value.data)
            forged = alice.sign(alice.order(1, Side.BUY, 3_000_000_000, 10_000_000))
            forged["signature"] = forged["signature"][:-4] + "abcd"
            with pytest.raises(RpcError) as err:
                await c.call("rollbook_placeOrder", **forged)
            assert err.value.code == 13009
            async with aiohttp.ClientSession() as http:
                async with http.post(f"{node.url}/api/v2", data=b"{not json") as r:
                    assert (await r.json())["error"]["code"] == -32700
            after = await c.call("rollbook_syncStatus")
            # only the accepted-then-rejected IOC order was logged; the rest took no number
            assert after["seq"] >= status["seq"] + 1
            book = await c.call("public/get_order_book", instrument_name="ETH_USDC-PERPETUAL")
            assert book["asks"] == [[3000.0, 5.0]] and book["bids"] == []

    run(scenario())


def test_book_channel_snapshot_then_chained_deltas(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, genesis()) as node, client(node.url) as c:
            alice, bob = await node.keys(c, "alice", "bob")
            await c.place_order(alice, "ETH_USDC-PERPETUAL", "sell", "3010", "1")
            stream = c.subscribe("book.ETH_USDC-PERPETUAL.raw")
            _, snapshot = await anext(stream)
            assert snapshot["type"] == "snapshot" and snapshot["asks"] == [["new", 3010.0, 1.0]]
            await c.place_order(alice, "ETH_USDC-PERPETUAL", "buy", "2990", "2")
            await c.place_order(bob, "ETH_USDC-PERPETUAL", "buy", "3010", "0.25", OrderFlags.IOC)
            book = {"bids": {}, "asks": {}}
            for side in book:
                for _, price, size in snapshot[side]:
                    book[side][price] = size
            change = snapshot["change_id"]
            while book["asks"].get(3010.0) != 0.75 or 2990.0 not in book["bids"]:
                _, delta = await asyncio.wait_for(anext(stream), 5)
                assert delta["prev_change_id"] == change  # chained, nothing missed
                change = delta["change_id"]
                for side in book:
                    for action, price, size in delta[side]:
                        if action == "delete":
                            book[side].pop(price, None)
                        else:
                            book[side][price] = size
            rest = await c.call("public/get_order_book", instrument_name="ETH_USDC-PERPETUAL")
            assert rest["asks"] == [[p, s] for p, s in sorted(book["asks"].items())]

    run(scenario())


def test_rest_get_with_query_parameters(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, genesis()) as node:
            async with aiohttp.ClientSession() as http:
                url = f"{node.url}/api/v2/public/get_instruments?currency=ETH&kind=future"
                async with http.get(url) as r:
                    body = json.loads(await r.text())
            [perp] = body["result"]
            assert perp["instrument_name"] == "ETH_USDC-PERPETUAL"
            assert perp["settlement_currency"] == perp["counter_currency"] == "USDC"
            assert perp["settlement_period"] == "perpetual"
            assert {"usIn", "usOut", "usDiff", "testnet"} <= set(body)

    run(scenario())
