"""The real CCXT ``deribit`` client, with only its URLs changed, trades through the
gateway: markets, book, ticker, create/edit/cancel, balance, positions, trades, and
the pro WebSocket client's order book, ticker and order watches."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import ccxt
import ccxt.pro
import pytest

from .harness import InThread, gateway, genesis, running

PERP = "ETH/USDC:USDC"


def config(url: str, key: str, secret: str) -> dict[str, Any]:
    return {
        "apiKey": key,
        "secret": secret,
        "enableRateLimit": False,
        "urls": {"api": {"rest": url, "ws": url.replace("http", "ws") + "/ws/api/v2"}},
        "options": {"code": "USDC"},
    }


def both(tmp_path: Path):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def stack():  # type: ignore[no-untyped-def]
        async with running(tmp_path, genesis()) as node:
            async with (
                gateway(node, "alice") as (alice_url, alice),
                gateway(node, "bob") as (
                    bob_url,
                    bob,
                ),
            ):
                yield (alice_url, alice), (bob_url, bob)

    return InThread(stack)


def test_ccxt_rest_through_the_gateway(tmp_path: Path) -> None:
    with both(tmp_path) as ((alice_url, alice), (bob_url, bob)):
        mm = ccxt.deribit(config(alice_url, alice.client_id, alice.client_secret))
        taker = ccxt.deribit(config(bob_url, bob.client_id, bob.client_secret))
        markets = mm.load_markets()
        perp = markets[PERP]
        assert perp["swap"] and perp["linear"] and perp["settle"] == "USDC"
        assert perp["precision"]["price"] == 0.05 and perp["precision"]["amount"] == 0.001

        ask = mm.create_order(PERP, "limit", "sell", 0.5, 3005, {"postOnly": True})
        assert ask["status"] == "open" and ask["amount"] == 0.5
        bid = mm.create_order(PERP, "limit", "buy", 0.4, 2995)
        book = taker.fetch_order_book(PERP)
        assert book["asks"][0] == [3005.0, 0.5] and book["bids"][0] == [2995.0, 0.4]

        edited = mm.edit_order(bid["id"], PERP, "limit", "buy", 0.3, 2996)
        assert edited["price"] == 2996.0 and edited["amount"] == 0.3
        assert [o["id"] for o in mm.fetch_open_orders(PERP)] == [ask["id"], edited["id"]]

        filled = taker.create_order(PERP, "limit", "buy", 0.2, 3010, {"timeInForce": "IOC"})
        assert filled["status"] == "closed" and filled["filled"] == 0.2
        ticker = taker.fetch_ticker(PERP)
        assert ticker["last"] == 3005.0 and ticker["ask"] == 3005.0

        positions = taker.fetch_positions([PERP])
        assert positions[0]["side"] == "long" and positions[0]["contracts"] == 0.2
        balance = taker.fetch_balance()
        assert balance["USDC"]["total"] > 0 and balance["USDC"]["free"] > 0
        mine = taker.fetch_my_trades(PERP)
        assert [t["amount"] for t in mine] == [0.2] and mine[0]["takerOrMaker"] == "taker"

        cancelled = mm.cancel_order(edited["id"], PERP)
        assert cancelled["status"] == "canceled"
        with pytest.raises(ccxt.OrderNotFound):
            mm.cancel_order(edited["id"], PERP)
        with pytest.raises(ccxt.InvalidOrder):  # post-only would take: 11054
            mm.create_order(PERP, "limit", "buy", 0.1, 3005, {"postOnly": True})
        broke = ccxt.deribit(config(alice_url, alice.client_id, "wrong secret"))
        with pytest.raises(ccxt.AuthenticationError):
            broke.fetch_balance()
        mm.cancel_all_orders()
        assert mm.fetch_open_orders(PERP) == []


def test_ccxt_pro_websocket_through_the_gateway(tmp_path: Path) -> None:
    with both(tmp_path) as ((alice_url, alice), (bob_url, bob)):

        async def scenario() -> None:
            pro = ccxt.pro.deribit(config(alice_url, alice.client_id, alice.client_secret))
            taker = ccxt.pro.deribit(config(bob_url, bob.client_id, bob.client_secret))
            try:
                await pro.load_markets()
                await taker.load_markets()
                await pro.create_order(PERP, "limit", "sell", 1.0, 3004)
                book = await asyncio.wait_for(pro.watch_order_book(PERP), 10)
                assert book["asks"][0][:2] == [3004.0, 1.0]
                watching = asyncio.ensure_future(pro.watch_orders(PERP))
                await asyncio.sleep(0.3)
                await taker.create_order(PERP, "limit", "buy", 0.25, 3004, {"timeInForce": "IOC"})
                orders = await asyncio.wait_for(watching, 10)
                assert orders[-1]["filled"] == 0.25
                while True:  # the change may have arrived already: look at the cache first
                    book = pro.orderbooks.get(PERP)
                    if book is not None and book["asks"] and book["asks"][0][1] == 0.75:
                        break
                    await asyncio.wait_for(pro.watch_order_book(PERP), 10)
                ticker = await asyncio.wait_for(pro.watch_ticker(PERP), 10)
                assert ticker["symbol"] == PERP
            finally:
                await pro.close()
                await taker.close()

        asyncio.run(scenario())
