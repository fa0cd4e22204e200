"""rollbook's trader SDK: keys, EIP-712 signing, and an async client for the node's API.

>>> key = TradingKey(private_key, account=7)
>>> async with Client("http://127.0.0.1:8545") as node:
...     await key.attach(node)                   # domain and next nonce from the node
...     placed = await node.place_order(key, "ETH_USDC-PERPETUAL", "buy", "3000.05", "0.01")
...     async for channel, data in node.subscribe("book.ETH_USDC-PERPETUAL.100ms"):
...         ...

Keys never leave the process that holds them: the client sends signed orders and
signed cancels (:mod:`rollbook.node.inputs`), and every acknowledgement carries the
sequencer's signed receipt, which :meth:`Client.place_order` verifies
(:func:`rollbook.node.receipts.verify_receipt`). The L1 side (deposit, forced txs,
withdrawal proofs paid on L1) is in :mod:`rollbook.sdk.bridge`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from rollbook.codec.txcodec import encode_standalone
from rollbook.crypto.secp256k1 import private_key_address
from rollbook.exchange.numeric import QUOTE_ONE, SIZE_ONE
from rollbook.exchange.orders import Order, sign_order
from rollbook.exchange.txs import Tx
from rollbook.exchange.types import OrderFlags, Side
from rollbook.node.api import order_fields
from rollbook.node.deribit import to_units
from rollbook.node.inputs import sign_cancel, sign_cancel_all
from rollbook.node.receipts import Receipt, verify_receipt

ORDER_LIFETIME = 30 * 86_400
SLOTS = 65_536


class RpcError(Exception):
    """A JSON-RPC error from the node (Deribit's code and message)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{code} {message}: {data}")
        self.code = code
        self.message = message
        self.data = data


@dataclass
class TradingKey:
    """A trading key of one account, with its nonce counter and slot allocator.

    Slots: each order takes a slot no open order of this key holds (an order that
    reuses a slot with a higher nonce cancels the older one: docs/design/consensus.md
    section 3). Nonces increase across all orders of the key, starting from the
    node's ``rollbook_nextNonce``, so one process should sign for an account.
    """

    private_key: bytes
    account: int
    separator: bytes = b""
    nonce: int = 0
    max_fee_ppm: int = 1_000
    live: dict[int, int] = field(default_factory=dict)  # slot -> order id
    _cursor: int = 0

    @property
    def address(self) -> bytes:
        return private_key_address(self.private_key)

    async def attach(self, client: Client) -> None:
        domain = await client.call("rollbook_domain")
        self.separator = bytes.fromhex(domain["domain_separator"][2:])
        self.nonce = max(self.nonce, await client.call("rollbook_nextNonce", account=self.account))

    def next_slot(self) -> int:
        for _ in range(SLOTS):
            slot = self._cursor
            self._cursor = (self._cursor + 1) % SLOTS
            if slot not in self.live:
                return slot
        raise RuntimeError("every order slot holds an open order")

    def order(
        self,
        instrument: int,
        side: Side,
        price: int,
        size: int,
        flags: OrderFlags = OrderFlags.NONE,
        expiry: int | None = None,
    ) -> Order:
        if not self.separator:
            raise RuntimeError("attach() the key to a node first (it needs the domain)")
        nonce, self.nonce = self.nonce, self.nonce + 1
        lifetime = int(time.time()) + ORDER_LIFETIME if expiry is None else expiry
        return Order(
            self.account,
            instrument,
            side,
            price,
            size,
            self.max_fee_ppm,
            lifetime,
            self.next_slot(),
            nonce,
            flags,
        )

    def sign(self, order: Order) -> dict[str, Any]:
        signed = sign_order(order, self.private_key, self.separator)
        return {"order": order_fields(order), "signature": "0x" + signed.signature.hex()}


class Client:
    """An async client of one node (HTTP for calls, one WebSocket for subscriptions)."""

    def __init__(self, url: str, verify_receipts: bool = True, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        """Seconds a call waits for its reply before it raises ``TimeoutError``."""
        self.session: aiohttp.ClientSession | None = None
        self.ids = itertools.count(1)
        self.verify = verify_receipts
        self.sequencer: bytes = b""
        self.separator: bytes = b""
        self.instruments: dict[str, dict[str, Any]] = {}
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._queues: dict[str, list[asyncio.Queue[tuple[str, Any]]]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Client:
        await self.open()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def open(self) -> None:
        self.session = aiohttp.ClientSession()
        try:
            await self._load()
        except BaseException:
            await self.session.close()
            raise

    async def _load(self) -> None:
        domain = await self.call("rollbook_domain")
        self.sequencer = bytes.fromhex(domain["sequencer"][2:])
        self.separator = bytes.fromhex(domain["domain_separator"][2:])
        for inst in await self.call("public/get_instruments"):
            self.instruments[inst["instrument_name"]] = inst

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._ws is not None:
            await self._ws.close()
        if self.session is not None:
            await self.session.close()

    # -- calls ----------------------------------------------------------------------------

    async def call(self, method: str, **params: Any) -> Any:
        if self._ws is not None and not self._ws.closed:
            return await self.ws_call(method, **params)
        assert self.session is not None, "open() the client first"
        body = {"jsonrpc": "2.0", "id": next(self.ids), "method": method, "params": params}
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with self.session.post(f"{self.url}/api/v2", json=body, timeout=timeout) as response:
            reply = await response.json(content_type=None)
        return _result(reply)

    async def ws_call(self, method: str, **params: Any) -> Any:
        ws = await self._socket()
        rid = next(self.ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[rid] = future
        await ws.send_str(
            json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        )
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
        # cancellation that races the reply, and a task cancelled at shutdown then
        # runs on forever (the devnet's feeder did: its gather never returned).
        try:
            async with asyncio.timeout(self.timeout):
                reply = await future
        except TimeoutError:
            raise TimeoutError(
                f"{method}: no reply from the node in {self.timeout:.0f} s"
            ) from None
        finally:
            self._waiting.pop(rid, None)
        return _result(reply)

    async def connect(self) -> None:
        """Send calls over a WebSocket from now on (lower latency than HTTP)."""
        await self._socket()

    async def _socket(self) -> aiohttp.ClientWebSocketResponse:
        if self._ws is None or self._ws.closed:
            assert self.session is not None, "open() the client first"
            self._ws = await self.session.ws_connect(f"{self.url}/ws/api/v2", max_msg_size=0)
            self._reader = asyncio.create_task(self._read())
        return self._ws

    async def _read(self) -> None:
        """Dispatch replies and notifications; when the socket ends (or reading fails),
        every call still waiting fails rather than hangs."""
        try:
            await self._dispatch()
        finally:
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(ConnectionError("the node closed the WebSocket"))

    async def _dispatch(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if data.get("method") == "subscription":
                params = data["params"]
                for queue in self._queues.get(params["channel"], []):
                    queue.put_nowait((params["channel"], params["data"]))
            elif data.get("method") == "heartbeat":
                await self._ws.send_str(
                    json.dumps(
                        {
                            "jsonrpc": "2.0",
                            "id": next(self.ids),
                            "method": "public/test",
                            "params": {},
                        }
                    )
                )
            elif "id" in data:
                future = self._waiting.pop(data["id"], None)
                if future is not None and not future.done():
                    future.set_result(data)

    async def subscribe(self, *channels: str) -> AsyncIterator[tuple[str, Any]]:
        """Yield ``(channel, data)`` for every notification on ``channels``."""
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        for channel in channels:
            self._queues.setdefault(channel, []).append(queue)
        accepted = await self.ws_call("public/subscribe", channels=list(channels))
        if set(accepted) != set(channels):
            raise RpcError(10020, "unknown channel", sorted(set(channels) - set(accepted)))
        try:
            while True:
                yield await queue.get()
        finally:
            for channel in channels:
                self._queues[channel].remove(queue)

    # -- trading ------------------------------------------------------------------------------

    def instrument(self, name: str) -> dict[str, Any]:
        try:
            return self.instruments[name]
        except KeyError:
            raise RpcError(10020, "invalid_or_unsupported_instrument", name) from None

    async def place_order(
        self,
        key: TradingKey,
        instrument: str,
        side: str,
        price: str | int,
        amount: str | int,
        flags: OrderFlags = OrderFlags.NONE,
        label: str = "",
        replaces: int = 0,
    ) -> dict[str, Any]:
        """Sign and place an order; ``price`` in USDC and ``amount`` in the underlying
        (decimal strings, exact)."""
        inst = self.instrument(instrument)
        order = key.order(
            inst["instrument_id"],
            Side.BUY if side == "buy" else Side.SELL,
            to_units(price, QUOTE_ONE, "price"),
            to_units(amount, SIZE_ONE, "amount"),
            flags,
        )
        return await self.place_signed(key, order, label, replaces)

    async def place_signed(
        self, key: TradingKey, order: Order, label: str = "", replaces: int = 0
    ) -> dict[str, Any]:
        try:
            result = await self.call(
                "rollbook_placeOrder", **key.sign(order), label=label, replaces=replaces
            )
        except RpcError as exc:
            data = exc.data if isinstance(exc.data, dict) else {}
            if "receipt" in data:  # accepted and logged, but the order was rejected
                self._check(data["receipt"])
            raise
        self._check(result["receipt"])
        placed = result["order"]
        if placed["order_state"] == "open":
            key.live[order.slot] = int(placed["order_id"])
        if replaces:
            key.live = {s: o for s, o in key.live.items() if o != replaces}
        return result  # type: ignore[no-any-return]

    async def cancel(self, key: TradingKey, order_id: int) -> dict[str, Any]:
        signature = sign_cancel(key.private_key, key.separator, key.account, order_id)
        result = await self.call(
            "rollbook_cancel",
            account=key.account,
            order_id=order_id,
            signature="0x" + signature.hex(),
        )
        self._check(result["receipt"])
        key.live = {s: o for s, o in key.live.items() if o != order_id}
        return result  # type: ignore[no-any-return]

    async def cancel_all(self, key: TradingKey, instrument: str | None = None) -> int:
        instrument_id = self.instrument(instrument)["instrument_id"] if instrument else 0
        stamp = int(time.time() * 1000)
        signature = sign_cancel_all(
            key.private_key, key.separator, key.account, instrument_id, stamp
        )
        result = await self.call(
            "rollbook_cancelAll",
            account=key.account,
            instrument=instrument_id,
            timestamp_ms=stamp,
            signature="0x" + signature.hex(),
        )
        self._check(result["receipt"])
        if not instrument:
            key.live.clear()
        return int(result["cancelled"])

    async def send_tx(self, tx: Tx) -> dict[str, Any]:
        data = encode_standalone(tx, self.separator)
        result = await self.call("rollbook_sendTx", tx="0x" + data.hex())
        self._check(result["receipt"])
        return result  # type: ignore[no-any-return]

    def _check(self, receipt: dict[str, Any]) -> None:
        if self.verify and not verify_receipt(
            Receipt.from_json(receipt), self.sequencer, self.separator
        ):
            raise RpcError(-1, "bad receipt", "the sequencer's receipt does not verify")


def _result(reply: dict[str, Any]) -> Any:
    if "error" in reply:
        error = reply["error"]
        raise RpcError(error.get("code", 0), error.get("message", ""), error.get("data"))
    return reply.get("result")
