"""JSON-RPC 2.0 over HTTP and WebSocket, Deribit's way, for the node and the gateway.

One :class:`Server` serves a table of methods at

- ``GET|POST /api/v2/{public|private}/{method}`` (parameters in the query string or a
  JSON-RPC body; Deribit's REST form),
- ``POST /api/v2`` (a JSON-RPC body naming any method, including ``rollbook_*``),
- ``GET /ws/api/v2`` (WebSocket: requests, subscriptions, heartbeats).

Replies carry Deribit's envelope (``usIn``/``usOut``/``usDiff``/``testnet``). A
method raises :class:`~rollbook.node.deribit.ApiError` to reply with an error in
Deribit's table; anything else a method raises is a bug, logged and answered with
``-32000`` while the server keeps serving. Each WebSocket connection has a bounded
send queue; a client too slow to drain it is disconnected rather than let the node's
memory grow.

Heartbeats follow Deribit: ``public/set_heartbeat {interval}`` makes the server send
``heartbeat {type: test_request}`` every ``interval`` seconds; a client that does not
answer (any request counts) within another interval is disconnected, which triggers
cancel-on-disconnect where the gateway enabled it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from rollbook.node.deribit import ApiError

log = logging.getLogger("rollbook.api")

SEND_QUEUE_LIMIT = 10_000
MAX_REQUEST_BYTES = 1 << 20


@dataclass(eq=False)
class Connection:
    """One WebSocket client: its subscriptions, its send queue, its session data."""

    ws: web.WebSocketResponse
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(SEND_QUEUE_LIMIT))
    channels: set[str] = field(default_factory=set)
    session: dict[str, Any] = field(default_factory=dict)
    heartbeat: float = 0.0
    last_seen: float = field(default_factory=time.monotonic)
    closed: bool = False
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def send(self, message: dict[str, Any]) -> None:
        if self.closed:
            return
        try:
            self.queue.put_nowait(orjson.dumps(message).decode())
        except asyncio.QueueFull:
            self.closed = True  # a client that cannot keep up is dropped

    def notify(self, channel: str, data: Any) -> None:
        self.send(
            {
                "jsonrpc": "2.0",
                "method": "subscription",
                "params": {"channel": channel, "data": data},
            }
        )


Method = Callable[[dict[str, Any], "Request"], Awaitable[Any]]


@dataclass
class Request:
    """What a method sees besides its parameters."""

    method: str
    http: web.Request | None = None
    connection: Connection | None = None


@dataclass
class Server:
    """A method table served over HTTP and WebSocket."""

    methods: dict[str, Method] = field(default_factory=dict)
    connections: set[Connection] = field(default_factory=set)
    on_close: list[Callable[[Connection], Awaitable[None]]] = field(default_factory=list)
    testnet: bool = True

    def method(self, name: str) -> Callable[[Method], Method]:
        def register(fn: Method) -> Method:
            self.methods[name] = fn
            return fn

        return register

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_route("GET", "/api/v2/{scope}/{name}", self._rest)
        app.router.add_route("POST", "/api/v2/{scope}/{name}", self._rest)
        app.router.add_route("POST", "/api/v2", self._rpc)
        app.router.add_route("GET", "/ws/api/v2", self._websocket)
        return app

    # -- dispatch ----------------------------------------------------------------------

    async def call(self, method: str, params: Any, request: Request) -> Any:
        fn = self.methods.get(method)
        if fn is None:
            raise ApiError(-32601, "Method not found", f"no method {method!r}")
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise ApiError(-32602, "Invalid params", "params must be an object")
        return await fn(params, request)

    async def reply(self, rid: Any, method: Any, params: Any, request: Request) -> dict[str, Any]:
        started = time.time()
        body: dict[str, Any] = {"jsonrpc": "2.0"}
        if rid is not None:
            body["id"] = rid
        try:
            if not isinstance(method, str):
                raise ApiError(-32600, "Invalid Request", "method must be a string")
            request.method = method
            body["result"] = await self.call(method, params, request)
        except ApiError as exc:
            error: dict[str, Any] = {"code": exc.code, "message": exc.message}
            if exc.data:
                error["data"] = exc.data
            body["error"] = error
        except Exception:
            log.exception("method %s failed", method)
            body["error"] = {"code": -32000, "message": "internal_server_error"}
        done = time.time()
        body.update(
            usIn=int(started * 1e6),
            usOut=int(done * 1e6),
            usDiff=int((done - started) * 1e6),
            testnet=self.testnet,
        )
        return body

    # -- HTTP --------------------------------------------------------------------------

    async def _rest(self, http: web.Request) -> web.Response:
        method = f"{http.match_info['scope']}/{http.match_info['name']}"
        if http.match_info["name"].startswith("rollbook_"):
            method = http.match_info["name"]
        params: Any = dict(http.query)
        rid: Any = None
        if http.method == "POST" and http.can_read_body:
            try:
                payload = await http.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                return self._json(_parse_error(), 400)
            if isinstance(payload, dict):
                params = payload.get("params", payload)
                rid = payload.get("id")
        body = await self.reply(rid, method, params, Request(method, http=http))
        return self._json(body, 400 if "error" in body else 200)

    async def _rpc(self, http: web.Request) -> web.Response:
        try:
            payload = await http.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return self._json(_parse_error(), 400)
        if not isinstance(payload, dict):
            return self._json(_parse_error("the body must be one JSON-RPC request object"), 400)
        body = await self.reply(
            payload.get("id"),
            payload.get("method"),
            payload.get("params"),
            Request("", http=http),
        )
        return self._json(body, 400 if "error" in body else 200)

    @staticmethod
    def _json(body: dict[str, Any], status: int) -> web.Response:
        return web.Response(
            text=orjson.dumps(body).decode(),
            status=status,
            content_type="application/json",
        )

    # -- WebSocket ---------------------------------------------------------------------

    async def _websocket(self, http: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, heartbeat=None, max_msg_size=MAX_REQUEST_BYTES)
        await ws.prepare(http)
        conn = Connection(ws)
        self.connections.add(conn)
        sender = asyncio.create_task(self._sender(conn))
        beat = asyncio.create_task(self._heartbeats(conn))
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    if message.type is WSMsgType.ERROR:
                        break
                    continue
                conn.last_seen = time.monotonic()
                task = asyncio.create_task(self._ws_request(conn, message.data))
                conn.tasks.add(task)
                task.add_done_callback(conn.tasks.discard)
                if conn.closed:
                    break
        finally:
            conn.closed = True
            self.connections.discard(conn)
            sender.cancel()
            beat.cancel()
            for hook in self.on_close:
                try:
                    await hook(conn)
                except Exception:
                    log.exception("on_close hook failed")
            if not ws.closed:
                await ws.close()
        return ws

    async def _ws_request(self, conn: Connection, text: str) -> None:
        try:
            payload = orjson.loads(text)
        except orjson.JSONDecodeError:
            conn.send(_parse_error())
            return
        if not isinstance(payload, dict):
            conn.send(_parse_error("a request must be a JSON-RPC object"))
            return
        request = Request("", connection=conn)
        body = await self.reply(
            payload.get("id"), payload.get("method"), payload.get("params"), request
        )
        conn.send(body)

    async def _sender(self, conn: Connection) -> None:
        try:
            while not conn.ws.closed:
                text = await conn.queue.get()
                await conn.ws.send_str(text)
        except (ConnectionError, RuntimeError):
            conn.closed = True

    async def _heartbeats(self, conn: Connection) -> None:
        while not conn.closed:
            await asyncio.sleep(1.0)
            interval = conn.heartbeat
            if not interval:
                continue
            idle = time.monotonic() - conn.last_seen
            if idle > 2 * interval:
                conn.closed = True
                await conn.ws.close()
                return
            if idle > interval:
                conn.send(
                    {"jsonrpc": "2.0", "method": "heartbeat", "params": {"type": "test_request"}}
                )

    def broadcast(self, channel: str, data: Any) -> None:
        for conn in list(self.connections):
            if channel in conn.channels:
                conn.notify(channel, data)

    def subscribers(self, channel: str) -> bool:
        return any(channel in c.channels for c in self.connections)


def _parse_error(reason: str = "the request is not valid JSON") -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "error": {"code": -32700, "message": "Parse error", "data": {"reason": reason}},
    }


def param(params: dict[str, Any], name: str, kind: type = str, default: Any = ...) -> Any:
    """A parameter as ``kind`` (query-string parameters arrive as strings)."""
    if name not in params or params[name] is None:
        if default is ...:
            raise ApiError(-32602, "Invalid params", f"{name} is required", param=name)
        return default
    value = params[name]
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "1"):
                return True
            if str(value).lower() in ("false", "0"):
                return False
            raise ValueError(value)
        if kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(value)
        if kind is str:
            return str(value)
        return kind(value)
    except (TypeError, ValueError):
        raise ApiError(
            -32602,
            "Invalid params",
            f"{name} must be a {kind.__name__}, got {value!r}",
            param=name,
        ) from None
