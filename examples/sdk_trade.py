"""Trade on a rollbook node with the SDK: quote, take, watch the book, cancel.

Start a node first (``rollbook node init --data /tmp/rb && rollbook node run --data
/tmp/rb --port 8545``), then: ``python examples/sdk_trade.py http://127.0.0.1:8545
/tmp/rb/devnet-keys.json``. The keys file holds the devnet's demo accounts.
"""

from __future__ import annotations

import asyncio
import json
import sys

from rollbook.exchange.types import OrderFlags
from rollbook.sdk import Client, TradingKey

PERP = "ETH_USDC-PERPETUAL"


async def main(url: str, keys_file: str) -> None:
    keys = json.loads(open(keys_file).read())
    maker = TradingKey(bytes.fromhex(keys["maker0"]["trading_key"]), keys["maker0"]["account"])
    taker = TradingKey(bytes.fromhex(keys["taker0"]["trading_key"]), keys["taker0"]["account"])
    async with Client(url) as node:
        await node.connect()  # calls go over the WebSocket from here on
        for key in (maker, taker):
            await key.attach(node)
        book = node.subscribe(f"book.{PERP}.raw")
        print("snapshot:", (await anext(book))[1])
        ask = await node.place_order(maker, PERP, "sell", "3001.5", "0.25", label="demo-ask")
        print("resting:", ask["order"]["order_id"], "receipt seq", ask["receipt"]["seq"])
        fill = await node.place_order(taker, PERP, "buy", "3002", "0.1", OrderFlags.IOC)
        print("filled:", fill["trades"])
        print("book change:", (await anext(book))[1])
        await node.cancel(maker, int(ask["order"]["order_id"]))
        print("positions:", await node.call("rollbook_getPositions", account=taker.account))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
