"""CCXT's ``deribit`` client against a rollbook gateway, with only its URLs changed.

``make devnet`` prints a gateway URL and credentials; or run ``rollbook gateway init``
and ``rollbook gateway run`` yourself. Then:
``python examples/ccxt_gateway.py http://127.0.0.1:PORT CLIENT_ID CLIENT_SECRET``.
"""

from __future__ import annotations

import asyncio
import sys

import ccxt
import ccxt.pro

PERP = "ETH/USDC:USDC"


def config(url: str, key: str, secret: str) -> dict[str, object]:
    return {
        "apiKey": key,
        "secret": secret,
        "enableRateLimit": False,
        "urls": {"api": {"rest": url, "ws": url.replace("http", "ws") + "/ws/api/v2"}},
        "options": {"code": "USDC"},
    }


def rest(url: str, key: str, secret: str) -> None:
    ex = ccxt.deribit(config(url, key, secret))
    ex.load_markets()
    print("ticker:", ex.fetch_ticker(PERP)["last"])
    order = ex.create_order(PERP, "limit", "buy", 0.01, 2500, {"postOnly": True})
    print("placed:", order["id"], order["status"])
    print("edited:", ex.edit_order(order["id"], PERP, "limit", "buy", 0.02, 2501)["price"])
    print("balance:", ex.fetch_balance()["USDC"])
    ex.cancel_all_orders()


async def websocket(url: str, key: str, secret: str) -> None:
    ex = ccxt.pro.deribit(config(url, key, secret))
    try:
        book = await ex.watch_order_book(PERP)
        print("best bid/ask:", book["bids"][:1], book["asks"][:1])
    finally:
        await ex.close()


if __name__ == "__main__":
    rest(*sys.argv[1:4])
    asyncio.run(websocket(*sys.argv[1:4]))
