"""The node keeps serving through bad input; rate limits answer with Deribit's 10028
and a retry hint; the gateway cancels a trader's orders when its WebSocket drops."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from pathlib import Path

import aiohttp
import pytest

from rollbook.node.api import RateLimits
from rollbook.sdk import Client, RpcError

from .harness import gateway, genesis, running


def test_bad_websocket_input_gets_errors_and_the_connection_keeps_working(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with running(tmp_path, genesis()) as node, aiohttp.ClientSession() as http:
            async with http.ws_connect(f"{node.url}/ws/api/v2") as ws:
                for bad in (
                    "{nope",
                    "[1, 2]",
                    json.dumps({"id": 1, "method": 7}),
                    json.dumps({"id": 2, "method": "private/buy"}),
                    json.dumps(
                        {"id": 3, "method": "public/ticker", "params": {"instrument_name": 5}}
                    ),
                    json.dumps(
                        {
                            "id": 4,
                            "method": "rollbook_placeOrder",
                            "params": {"order": [], "signature": "zz"},
                        }
                    ),
                ):
                    await ws.send_str(bad)
                    reply = json.loads((await ws.receive()).data)
                    assert reply["error"]["code"] in (-32700, -32600, -32601, -32602, 10020)
                await ws.send_str(json.dumps({"id": 9, "method": "public/get_time"}))
                assert isinstance(json.loads((await ws.receive()).data)["result"], int)

    asyncio.run(scenario())


def test_rate_limit_answers_10028_with_a_retry_hint(tmp_path: Path) -> None:
    async def scenario() -> None:
        limits = RateLimits(rate=2.0, burst=3.0)
        async with running(tmp_path, genesis(), limits=limits) as node, Client(node.url) as c:
            [alice] = await node.keys(c, "alice")
            for i in range(3):
                await c.place_order(alice, "ETH_USDC-PERPETUAL", "buy", f"{2900 + i}", "0.1")
            with pytest.raises(RpcError) as err:
                await c.place_order(alice, "ETH_USDC-PERPETUAL", "buy", "2950", "0.1")
            assert err.value.code == 10028 and err.value.data["retry_after_ms"] > 0
            await asyncio.sleep(err.value.data["retry_after_ms"] / 1000)
            await c.place_order(alice, "ETH_USDC-PERPETUAL", "buy", "2950", "0.1")

    asyncio.run(scenario())


def test_gateway_cancels_on_disconnect(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, genesis()) as node, gateway(node, "alice") as (url, creds):
            async with aiohttp.ClientSession() as http, http.ws_connect(f"{url}/ws/api/v2") as ws:

                async def call(method: str, **params: object) -> dict:  # type: ignore[type-arg]
                    await ws.send_str(json.dumps({"id": 1, "method": method, "params": params}))
                    return json.loads((await ws.receive()).data)  # type: ignore[no-any-return]

                refused = await call(
                    "private/buy", instrument_name="ETH_USDC-PERPETUAL", amount="0.1", price="2900"
                )
                assert refused["error"]["code"] == 13009  # not authenticated yet
                auth = await call(
                    "public/auth",
                    grant_type="client_credentials",
                    client_id=creds.client_id,
                    client_secret=creds.client_secret,
                )
                assert auth["result"]["access_token"]
                assert (await call("private/enable_cancel_on_disconnect"))["result"] == "ok"
                placed = await call(
                    "private/buy", instrument_name="ETH_USDC-PERPETUAL", amount="0.1", price="2900"
                )
                assert placed["result"]["order"]["order_state"] == "open"
            alice = node.setup.traders["alice"].index
            async with Client(node.url) as c:
                for _ in range(50):
                    if not await c.call("rollbook_getOpenOrders", account=alice):
                        break
                    await asyncio.sleep(0.1)
                assert await c.call("rollbook_getOpenOrders", account=alice) == []

    asyncio.run(scenario())


def test_gateway_checks_the_hmac_over_a_post_body(tmp_path: Path) -> None:
    """Deribit's REST signature covers the body of a POST: a signed body is served, the
    same signature over another body is refused."""

    def header(creds, path: str, body: str) -> str:  # type: ignore[no-untyped-def]
        ts = str(int(time.time() * 1000))
        message = f"{ts}\n{ts}\nPOST\n{path}\n{body}\n"
        sig = hmac.new(creds.client_secret.encode(), message.encode(), hashlib.sha256)
        return f"deri-hmac-sha256 id={creds.client_id},ts={ts},sig={sig.hexdigest()},nonce={ts}"

    async def scenario() -> None:
        async with running(tmp_path, genesis()) as node, gateway(node, "alice") as (url, creds):
            path = "/api/v2/private/get_account_summary"
            body = json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "private/get_account_summary",
                    "params": {"currency": "USDC"},
                }
            )
            async with aiohttp.ClientSession() as http:
                signed = {"Authorization": header(creds, path, body)}
                async with http.post(url + path, data=body, headers=signed) as r:
                    assert (await r.json())["result"]["currency"] == "USDC"
                other = body.replace("USDC", "ETH")
                async with http.post(url + path, data=other, headers=signed) as r:
                    assert (await r.json())["error"]["code"] == 13009

    asyncio.run(scenario())
