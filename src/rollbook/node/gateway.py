"""The trader's local gateway: Deribit's private API and auth, signing with a local key.

Deribit clients (CCXT's ``deribit``, Deribit's own SDKs, a desk's scripts) expect an
exchange that holds the trader's account and checks an API key. On a rollup the
exchange must never hold the key that moves the trader's money, so the gateway runs
beside the trader (``rollbook gateway run``): it keeps the account's *trading* key
(never the owner key) in an encrypted keystore (Ethereum's v3 keyfile, scrypt/pbkdf2),
checks Deribit-style credentials, turns ``private/buy`` and friends into orders signed
with that key, and forwards them to the node, which accepts only signed orders. Public
methods and channels pass through to the node.

Auth, as Deribit serves it:

- REST: ``Authorization: deri-hmac-sha256 id=..,ts=..,sig=..,nonce=..`` where ``sig``
  is hex HMAC-SHA256 of ``ts\\nnonce\\nMETHOD\\nURI\\nBODY\\n`` with the client secret
  (``ts`` within 60 s), or ``Basic base64(id:secret)``, or ``Bearer <access_token>``;
- ``public/auth`` with ``grant_type`` ``client_credentials``, ``client_signature``
  (HMAC of ``timestamp\\nnonce\\ndata``) or ``refresh_token``; on a WebSocket it
  authenticates the connection.

``private/enable_cancel_on_disconnect`` makes the gateway cancel the account's orders
(a signed cancel-all) when that WebSocket closes or misses its heartbeats.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_keyfile.keyfile import create_keyfile_json, decode_keyfile_json

from rollbook.exchange.numeric import QUOTE_ONE, SIZE_ONE
from rollbook.exchange.types import OrderFlags, Side
from rollbook.node.deribit import ApiError, invalid, to_units
from rollbook.node.jsonrpc import Connection, Method, Request, Server, param
from rollbook.sdk import Client, RpcError, TradingKey

TOKEN_SECONDS = 86_400
TS_WINDOW_MS = 60_000
MARKET_SLIPPAGE_PPM = 50_000  # a market order is an IOC limit 5 % through the mark


@dataclass
class Credentials:
    client_id: str
    client_secret: str


def write_keystore(path: Path, private_key: bytes, password: str) -> None:
    """Encrypt ``private_key`` into a v3 keystore file at ``path``."""
    data = create_keyfile_json(private_key, password.encode(), kdf="scrypt")
    path.write_text(json.dumps(data))
    path.chmod(0o600)


def read_keystore(path: Path, password: str) -> bytes:
    try:
        return bytes(decode_keyfile_json(json.loads(path.read_text()), password.encode()))
    except ValueError as exc:
        raise ValueError(f"cannot open the keystore {path}: {exc}") from None


@dataclass
class Gateway:
    """One account's gateway to a node."""

    node_url: str
    key: TradingKey
    credentials: Credentials
    server: Server = field(default_factory=Server)
    node: Client | None = None
    tokens: dict[str, float] = field(default_factory=dict)
    refresh: dict[str, float] = field(default_factory=dict)
    upstream: dict[Connection, Client] = field(default_factory=dict)
    forwarders: dict[Connection, list[asyncio.Task[None]]] = field(default_factory=dict)

    async def start(self) -> None:
        self.node = Client(self.node_url)
        await self.node.open()
        await self.key.attach(self.node)
        self._register()
        self.server.on_close.append(self._closed)

    async def stop(self) -> None:
        for client in list(self.upstream.values()):
            await client.close()
        if self.node is not None:
            await self.node.close()

    # -- auth -------------------------------------------------------------------------------

    def _issue(self) -> dict[str, Any]:
        access, refresh = secrets.token_hex(16), secrets.token_hex(16)
        expires = time.time() + TOKEN_SECONDS
        self.tokens[access] = expires
        self.refresh[refresh] = expires
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": TOKEN_SECONDS,
            "scope": "connection mainaccount trade:read_write",
            "token_type": "bearer",
        }

    def _secret_ok(self, client_id: str, secret: str) -> bool:
        return client_id == self.credentials.client_id and hmac.compare_digest(
            secret, self.credentials.client_secret
        )

    def _signature_ok(self, client_id: str, ts: str, message: str, sig: str) -> bool:
        if client_id != self.credentials.client_id:
            return False
        try:
            stamp = int(ts)
        except ValueError:
            return False
        if abs(stamp - time.time() * 1000) > TS_WINDOW_MS:
            return False
        want = hmac.new(
            self.credentials.client_secret.encode(), message.encode(), hashlib.sha256
        ).hexdigest()
        return hmac.compare_digest(want, sig.lower())

    async def authorised(self, req: Request) -> None:
        """Raise unless the request carries valid credentials."""
        if req.connection is not None and req.connection.session.get("auth"):
            return
        http = req.http
        header = http.headers.get("Authorization", "") if http is not None else ""
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer" and self.tokens.get(value.strip(), 0) > time.time():
            return
        if scheme == "basic":
            try:
                user, _, secret = base64.b64decode(value).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user = secret = ""
            if self._secret_ok(user, secret):
                return
        if scheme == "deri-hmac-sha256" and http is not None:
            parts = dict(p.split("=", 1) for p in value.split(",") if "=" in p)
            body = await http.text() if http.body_exists else ""
            message = (
                f"{parts.get('ts', '')}\n{parts.get('nonce', '')}\n{http.method}\n"
                f"{http.raw_path}\n{body}\n"
            )
            if self._signature_ok(
                parts.get("id", ""), parts.get("ts", ""), message, parts.get("sig", "")
            ):
                return
            raise ApiError(13009, "unauthorized", "the request signature does not verify")
        raise ApiError(13009, "unauthorized", "this method needs authentication (public/auth)")

    # -- translation ------------------------------------------------------------------------

    async def forward(self, method: str, **params: Any) -> Any:
        assert self.node is not None
        try:
            return await self.node.call(method, **params)
        except RpcError as exc:
            data = exc.data if isinstance(exc.data, dict) else {}
            raise ApiError(
                exc.code,
                exc.message,
                str(data.get("reason", "")),
                **{k: v for k, v in data.items() if k != "reason"},
            ) from None

    def instrument(self, name: str) -> dict[str, Any]:
        assert self.node is not None
        inst = self.node.instruments.get(name)
        if inst is None:
            raise ApiError(10020, "invalid_or_unsupported_instrument", f"no instrument {name!r}")
        return inst

    async def place(self, params: dict[str, Any], side: Side) -> Any:
        inst = self.instrument(param(params, "instrument_name"))
        size = to_units(param(params, "amount"), SIZE_ONE, "amount")
        kind = param(params, "type", str, "limit")
        flags = OrderFlags.NONE
        tif = param(params, "time_in_force", str, "good_til_cancelled")
        if kind == "market":
            ticker = await self.forward("public/ticker", instrument_name=inst["instrument_name"])
            tick = to_units(inst["tick_size"], QUOTE_ONE, "tick")
            mark = to_units(
                Decimal(str(ticker["mark_price"])).quantize(Decimal("0.000001")), QUOTE_ONE, "mark"
            )
            through = mark * (10**6 + side.sign * MARKET_SLIPPAGE_PPM) // 10**6
            price = max(
                tick, through // tick * tick if side is Side.BUY else -(-through // tick) * tick
            )
            if tif == "good_til_cancelled":
                tif = "immediate_or_cancel"
        elif kind == "limit":
            price = to_units(param(params, "price"), QUOTE_ONE, "price")
        else:
            raise ApiError(11029, "invalid_arguments", f"order type {kind!r} is not supported")
        if tif == "immediate_or_cancel":
            flags |= OrderFlags.IOC
        elif tif == "fill_or_kill":
            flags |= OrderFlags.FOK
        elif tif != "good_til_cancelled":
            raise invalid(f"time_in_force {tif!r} is not supported", "time_in_force")
        if param(params, "post_only", bool, False):
            flags |= OrderFlags.POST_ONLY
        if param(params, "reduce_only", bool, False):
            flags |= OrderFlags.REDUCE_ONLY
        order = self.key.order(inst["instrument_id"], side, price, size, flags)
        return await self.signed(order, param(params, "label", str, ""), 0)

    async def signed(self, order: Any, label: str, replaces: int) -> Any:
        assert self.node is not None
        try:
            result = await self.node.place_signed(self.key, order, label, replaces)
        except RpcError as exc:
            data = exc.data if isinstance(exc.data, dict) else {}
            raise ApiError(exc.code, exc.message, str(data.get("reason", ""))) from None
        return {"order": result["order"], "trades": result["trades"]}

    async def open_orders(self, currency: str | None = None, instrument: str | None = None) -> Any:
        orders = await self.forward("rollbook_getOpenOrders", account=self.key.account)
        return [o for o in orders if _matches(o["instrument_name"], currency, instrument)]

    async def user_trades(self, params: dict[str, Any], req: Request) -> Any:
        """Deribit's ``get_user_trades_by_{currency,instrument}[_and_time]``."""
        currency = param(params, "currency", str, None)
        instrument = param(params, "instrument_name", str, None)
        count = param(params, "count", int, 100)
        start = param(params, "start_timestamp", int, 0)
        end = param(params, "end_timestamp", int, 2**62)
        trades = await self.forward("rollbook_getUserTrades", account=self.key.account, count=1000)
        chosen = [
            t
            for t in trades
            if _matches(t["instrument_name"], currency, instrument)
            and start <= t["timestamp"] <= end
        ][:count]
        return {"trades": chosen, "has_more": False}

    # -- methods ----------------------------------------------------------------------------

    def _register(self) -> None:
        s = self.server

        def method(name: str, auth: bool = True) -> Callable[[Method], Method]:
            def register(fn: Method) -> Method:
                async def guarded(params: dict[str, Any], req: Request) -> Any:
                    if auth:
                        await self.authorised(req)
                    return await fn(params, req)

                s.methods[name] = guarded
                return fn

            return register

        @method("public/auth", auth=False)
        async def auth(params: dict[str, Any], req: Request) -> Any:
            grant = param(params, "grant_type")
            if grant == "client_credentials":
                ok = self._secret_ok(param(params, "client_id"), param(params, "client_secret"))
            elif grant == "client_signature":
                ts = str(param(params, "timestamp"))
                message = f"{ts}\n{param(params, 'nonce')}\n{param(params, 'data', str, '')}"
                ok = self._signature_ok(
                    param(params, "client_id"), ts, message, param(params, "signature")
                )
            elif grant == "refresh_token":
                ok = self.refresh.pop(param(params, "refresh_token"), 0) > time.time()
            else:
                raise invalid(f"grant_type {grant!r} is not supported", "grant_type")
            if not ok:
                raise ApiError(13004, "invalid_credentials", "wrong client id or secret")
            if req.connection is not None:
                req.connection.session["auth"] = True
            return self._issue()

        @method("private/buy")
        async def buy(params: dict[str, Any], req: Request) -> Any:
            return await self.place(params, Side.BUY)

        @method("private/sell")
        async def sell(params: dict[str, Any], req: Request) -> Any:
            return await self.place(params, Side.SELL)

        @method("private/edit")
        async def edit(params: dict[str, Any], req: Request) -> Any:
            order_id = param(params, "order_id", int)
            old = await self.forward("rollbook_getOrder", order_id=order_id)
            if old["order_state"] != "open" or old.get("rollbook_slot") is None:
                raise ApiError(10004, "order_not_found", f"order {order_id} is not open")
            inst = self.instrument(old["instrument_name"])
            flags = OrderFlags.NONE
            if param(params, "post_only", bool, old["post_only"]):
                flags |= OrderFlags.POST_ONLY
            if param(params, "reduce_only", bool, old["reduce_only"]):
                flags |= OrderFlags.REDUCE_ONLY
            side = Side.BUY if old["direction"] == "buy" else Side.SELL
            order = self.key.order(
                inst["instrument_id"],
                side,
                to_units(param(params, "price", str, str(old["price"])), QUOTE_ONE, "price"),
                to_units(param(params, "amount"), SIZE_ONE, "amount"),
                flags,
            )
            return await self.signed(order, old["label"], order_id)

        @method("private/cancel")
        async def cancel(params: dict[str, Any], req: Request) -> Any:
            assert self.node is not None
            try:
                result = await self.node.cancel(self.key, param(params, "order_id", int))
            except RpcError as exc:
                raise ApiError(exc.code, exc.message, str(exc.data)) from None
            return result["order"]

        async def cancel_everything(instrument: str | None) -> int:
            assert self.node is not None
            try:
                return await self.node.cancel_all(self.key, instrument)
            except RpcError as exc:
                raise ApiError(exc.code, exc.message, str(exc.data)) from None

        @method("private/cancel_all")
        async def cancel_all(params: dict[str, Any], req: Request) -> Any:
            return await cancel_everything(None)

        @method("private/cancel_all_by_currency")
        async def cancel_all_by_currency(params: dict[str, Any], req: Request) -> Any:
            return await cancel_everything(None)

        @method("private/cancel_all_by_instrument")
        async def cancel_all_by_instrument(params: dict[str, Any], req: Request) -> Any:
            return await cancel_everything(param(params, "instrument_name"))

        @method("private/get_open_orders_by_currency")
        async def open_by_currency(params: dict[str, Any], req: Request) -> Any:
            return await self.open_orders(currency=param(params, "currency"))

        @method("private/get_open_orders_by_instrument")
        async def open_by_instrument(params: dict[str, Any], req: Request) -> Any:
            return await self.open_orders(instrument=param(params, "instrument_name"))

        @method("private/get_open_orders")
        async def open_all(params: dict[str, Any], req: Request) -> Any:
            return await self.open_orders()

        @method("private/get_order_state")
        async def order_state(params: dict[str, Any], req: Request) -> Any:
            return await self.forward("rollbook_getOrder", order_id=param(params, "order_id", int))

        @method("private/get_positions")
        async def positions(params: dict[str, Any], req: Request) -> Any:
            currency = param(params, "currency", str, None)
            kind = param(params, "kind", str, "any")
            found = await self.forward("rollbook_getPositions", account=self.key.account)
            return [
                p
                for p in found
                if _matches(p["instrument_name"], currency, None) and kind in ("any", p["kind"])
            ]

        @method("private/get_position")
        async def position(params: dict[str, Any], req: Request) -> Any:
            name = param(params, "instrument_name")
            found = await self.forward("rollbook_getPositions", account=self.key.account)
            for p in found:
                if p["instrument_name"] == name:
                    return p
            inst = self.instrument(name)
            return {
                "instrument_name": name,
                "size": 0,
                "direction": "zero",
                "kind": inst["kind"],
                "average_price": 0,
                "floating_profit_loss": 0,
                "size_currency": 0,
            }

        @method("private/get_account_summary")
        async def account_summary(params: dict[str, Any], req: Request) -> Any:
            return await self.forward("rollbook_getAccount", account=self.key.account)

        @method("private/get_account_summaries")
        async def account_summaries(params: dict[str, Any], req: Request) -> Any:
            summary = await self.forward("rollbook_getAccount", account=self.key.account)
            return {
                "id": self.key.account,
                "type": "main",
                "username": f"account-{self.key.account}",
                "system_name": f"account-{self.key.account}",
                "summaries": [summary],
            }

        for suffix in ("currency", "instrument", "currency_and_time", "instrument_and_time"):
            method(f"private/get_user_trades_by_{suffix}")(self.user_trades)

        @method("private/enable_cancel_on_disconnect")
        async def enable_cod(params: dict[str, Any], req: Request) -> Any:
            if req.connection is None:
                raise ApiError(11029, "invalid_arguments", "cancel-on-disconnect needs a WebSocket")
            req.connection.session["cancel_on_disconnect"] = True
            return "ok"

        @method("private/disable_cancel_on_disconnect")
        async def disable_cod(params: dict[str, Any], req: Request) -> Any:
            if req.connection is not None:
                req.connection.session["cancel_on_disconnect"] = False
            return "ok"

        @method("private/get_cancel_on_disconnect")
        async def get_cod(params: dict[str, Any], req: Request) -> Any:
            on = bool(req.connection and req.connection.session.get("cancel_on_disconnect"))
            return {"scope": "connection", "enabled": on}

        async def subscribe(params: dict[str, Any], req: Request) -> Any:
            conn = req.connection
            channels = params.get("channels")
            if conn is None or not isinstance(channels, list):
                raise invalid("subscribe needs a WebSocket and a list of channels", "channels")
            upstream_names = []
            for channel in channels:
                if not isinstance(channel, str):
                    continue
                if channel.startswith("user."):
                    if not conn.session.get("auth"):
                        continue  # Deribit ignores private channels before auth
                    mapped = self._user_channel(channel)
                    if mapped is None:
                        continue
                    conn.session.setdefault("map", {}).setdefault(mapped, []).append(channel)
                    upstream_names.append(mapped)
                else:
                    conn.session.setdefault("map", {}).setdefault(channel, []).append(channel)
                    upstream_names.append(channel)
            accepted_up = await self._subscribe_upstream(conn, upstream_names)
            mapping = conn.session.get("map", {})
            return [c for up in accepted_up for c in mapping.get(up, [])]

        for name in ("public/subscribe", "private/subscribe"):
            s.methods[name] = subscribe

        for name in ("public/set_heartbeat", "public/disable_heartbeat"):
            s.methods[name] = self._local_heartbeat(name)

        async def passthrough(params: dict[str, Any], req: Request) -> Any:
            return await self.forward(req.method, **params)

        for name in (
            "public/get_time",
            "public/test",
            "public/status",
            "public/hello",
            "public/get_currencies",
            "public/get_instruments",
            "public/get_instrument",
            "public/get_order_book",
            "public/ticker",
            "public/get_index_price",
            "public/get_book_summary_by_currency",
            "public/get_last_trades_by_instrument",
            "rollbook_syncStatus",
            "rollbook_domain",
            "rollbook_getBlock",
            "rollbook_outputAt",
        ):
            s.methods[name] = passthrough

    def _local_heartbeat(self, name: str) -> Method:
        async def heartbeat(params: dict[str, Any], req: Request) -> Any:
            if req.connection is None:
                raise ApiError(11029, "invalid_arguments", "heartbeats need a WebSocket")
            if name.endswith("disable_heartbeat"):
                req.connection.heartbeat = 0.0
                return "ok"
            interval = param(params, "interval", int)
            if interval < 10:
                raise invalid("interval must be at least 10 seconds", "interval")
            req.connection.heartbeat = float(interval)
            return "ok"

        return heartbeat

    def _user_channel(self, channel: str) -> str | None:
        kind = channel.split(".")[1] if channel.count(".") >= 1 else ""
        if kind in ("orders", "trades"):
            return f"account.{self.key.account}.{kind}"
        if kind == "portfolio":
            return f"account.{self.key.account}.portfolio"
        return None

    async def _subscribe_upstream(self, conn: Connection, channels: list[str]) -> list[str]:
        if not channels:
            return []
        client = self.upstream.get(conn)
        if client is None:
            client = self.upstream[conn] = Client(self.node_url, verify_receipts=False)
            await client.open()
        queues = {}
        for channel in channels:  # listen first: the snapshot comes before the reply
            queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
            client._queues.setdefault(channel, []).append(queue)
            queues[channel] = queue
        accepted: list[str] = await client.ws_call("public/subscribe", channels=channels)
        for channel, queue in queues.items():
            if channel not in accepted:
                client._queues[channel].remove(queue)
                continue
            task = asyncio.create_task(self._forward(conn, queue))
            self.forwarders.setdefault(conn, []).append(task)
        return accepted

    async def _forward(self, conn: Connection, queue: asyncio.Queue[tuple[str, Any]]) -> None:
        while not conn.closed:
            upstream, data = await queue.get()
            for channel in conn.session.get("map", {}).get(upstream, []):
                conn.notify(channel, data)

    async def _closed(self, conn: Connection) -> None:
        for task in self.forwarders.pop(conn, []):
            task.cancel()
        client = self.upstream.pop(conn, None)
        if client is not None:
            await client.close()
        if conn.session.get("cancel_on_disconnect") and self.node is not None:
            try:
                await self.node.cancel_all(self.key)
            except (RpcError, OSError):
                pass


def _matches(symbol: str, currency: str | None, instrument: str | None) -> bool:
    if instrument is not None:
        return symbol == instrument
    if currency is None or currency.upper() in ("ANY", "USDC"):
        return True
    return symbol.split("_", 1)[0] == currency.upper()


def new_credentials() -> Credentials:
    return Credentials(secrets.token_hex(8), secrets.token_hex(24))
