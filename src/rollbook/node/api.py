"""The node's API: Deribit v2 public methods and channels, and ``rollbook_*`` methods.

The node serves only what needs no secret: market data (Deribit's ``public/*``),
signed inputs (``rollbook_placeOrder``, ``rollbook_cancel``, ``rollbook_cancelAll``,
``rollbook_sendTx``: the trader's signature is the authority) and rollup data
(blocks, output roots, proofs, sync status, accounts: a rollup's state is public
because its data is on L1). Deribit's ``private/*`` methods and its key-based auth
are served by the trader's own gateway (:mod:`rollbook.node.gateway`), which holds
the trading key and signs.

Channels: ``book.{instrument}.raw`` and ``.100ms`` (a snapshot, then deltas chained by
``prev_change_id``/``change_id``), ``ticker.{instrument}.100ms``,
``trades.{instrument}.raw``/``.100ms``, and per account ``account.{index}.orders``,
``account.{index}.trades``, ``account.{index}.portfolio`` (what the gateway turns into
Deribit's ``user.*`` channels). Everything published has been committed to the
write-ahead log first.

Rate limits: each account has a token bucket for signed inputs (Deribit's
credit system in spirit); past it, ``10028 too_many_requests`` with
``retry_after_ms``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rollbook.chain.blocks import L2Block, output_root, prove_withdrawal, tx_item
from rollbook.codec.errors import DecodeError
from rollbook.codec.txcodec import decode_standalone
from rollbook.crypto.keccak import keccak256
from rollbook.exchange.errors import ExchangeError
from rollbook.exchange.leaves import Instrument, Withdrawal, account_key
from rollbook.exchange.orders import Order, SignedOrder
from rollbook.exchange.types import OrderFlags, Side
from rollbook.matching.book import BookDelta
from rollbook.node import deribit as fmt
from rollbook.node.core import OrderView, Refused, Sequencer, Trade
from rollbook.node.deribit import ApiError, invalid
from rollbook.node.inputs import CancelAll, CancelOrder, PlaceOrder, SubmitTx, decode_record
from rollbook.node.jsonrpc import Connection, Request, Server, param
from rollbook.node.receipts import input_digest
from rollbook.node.service import Node, Published

FLUSH_SECONDS = 0.1


@dataclass
class Bucket:
    rate: float
    burst: float
    tokens: float
    stamp: float

    def take(self, now: float) -> float:
        """0 if a token was taken, else the seconds until one is available."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class RateLimits:
    rate: float = 2_000.0
    burst: float = 4_000.0
    buckets: dict[int, Bucket] = field(default_factory=dict)

    def check(self, account: int) -> None:
        now = time.monotonic()
        bucket = self.buckets.get(account)
        if bucket is None:
            bucket = self.buckets[account] = Bucket(self.rate, self.burst, self.burst, now)
        wait = bucket.take(now)
        if wait:
            raise ApiError(
                10028,
                "too_many_requests",
                f"account {account} is over its rate limit",
                retry_after_ms=int(wait * 1000) + 1,
            )


@dataclass
class Mirror:
    """A book as published (committed), for snapshots consistent with the deltas."""

    change_id: int
    bids: dict[int, int]
    asks: dict[int, int]

    def apply(self, delta: BookDelta) -> None:
        for side, changes in ((self.bids, delta.bids), (self.asks, delta.asks)):
            for price, size in changes:
                if size:
                    side[price] = size
                else:
                    side.pop(price, None)
        self.change_id = delta.change_id


class NodeApi:
    """The node's method table and channels."""

    def __init__(self, node: Node, limits: RateLimits | None = None) -> None:
        self.node = node
        self.limits = limits or RateLimits()
        self.server = Server()
        self.mirrors: dict[int, Mirror] = {}
        self.pending_books: dict[int, BookDelta] = {}
        self.pending_trades: dict[int, list[Trade]] = {}
        self.flusher: asyncio.Task[None] | None = None
        core = node.core
        for instrument in core.engine.instruments():
            core.engine.delta(instrument)  # start the published chain here
            depth = core.engine.depth(instrument, 1_000_000)
            self.mirrors[instrument] = Mirror(
                depth.change_id,
                {lv.price: lv.size for lv in depth.bids},
                {lv.price: lv.size for lv in depth.asks},
            )
        node.subscribers.append(self.publish)
        self._register()

    # -- helpers ------------------------------------------------------------------------

    @property
    def core(self) -> Sequencer:
        return self.node.core

    def instrument(self, params: dict[str, Any], name: str = "instrument_name") -> Instrument:
        symbol = param(params, name)
        for inst in self.listed():
            if inst.symbol == symbol:
                return inst
        raise ApiError(10020, "invalid_or_unsupported_instrument", f"no instrument {symbol!r}")

    def listed(self) -> list[Instrument]:
        state = self.core.state
        return [state.instrument(i) for i in self.core.listed]

    def symbol(self, instrument: int) -> str:
        return str(self.core.state.instrument(instrument).symbol)

    def order_json(self, view: OrderView) -> dict[str, Any]:
        return fmt.order_json(view, self.symbol(view.instrument))

    def trade_json(self, trade: Trade, account: int | None = None) -> dict[str, Any]:
        return fmt.trade_json(trade, self.symbol(trade.instrument), account)

    def account(self, params: dict[str, Any]) -> int:
        index = param(params, "account", int)
        if not self.core.state.has_account(index):
            raise ApiError(10004, "account_not_found", f"account {index} does not exist")
        return int(index)

    async def submit(self, inp: Any) -> Any:
        try:
            return await self.node.submit(inp)
        except Refused as exc:
            raise ApiError(exc.code, exc.name, exc.message) from None

    # -- publication ----------------------------------------------------------------------

    def publish(self, group: Published) -> None:
        """Called by the node once a commit group is on disk."""
        server = self.server
        for delta in group.deltas:
            mirror = self.mirrors.get(delta.instrument)
            if mirror is None:
                mirror = self.mirrors[delta.instrument] = Mirror(delta.prev_change_id, {}, {})
            mirror.apply(delta)
            symbol = self.symbol(delta.instrument)
            channel = f"book.{symbol}.raw"
            if server.subscribers(channel):
                server.broadcast(channel, self.delta_json(symbol, delta))
            merged = self.pending_books.get(delta.instrument)
            self.pending_books[delta.instrument] = (
                delta if merged is None else _merge(merged, delta)
            )
        for trade in group.trades:
            symbol = self.symbol(trade.instrument)
            channel = f"trades.{symbol}.raw"
            if server.subscribers(channel):
                server.broadcast(channel, [self.trade_json(trade)])
            self.pending_trades.setdefault(trade.instrument, []).append(trade)
            for account in {trade.maker_account, trade.taker_account}:
                channel = f"account.{account}.trades"
                if server.subscribers(channel):
                    server.broadcast(channel, [self.trade_json(trade, account)])
        for view in group.orders:
            channel = f"account.{view.account}.orders"
            if server.subscribers(channel):
                server.broadcast(channel, self.order_json(view))
        touched = {t.maker_account for t in group.trades} | {t.taker_account for t in group.trades}
        for account in touched:
            channel = f"account.{account}.portfolio"
            if server.subscribers(channel):
                server.broadcast(
                    channel, fmt.summary_json(self.core.state, account, self.core.timestamp)
                )

    def delta_json(self, symbol: str, delta: BookDelta) -> dict[str, Any]:
        def side(levels: tuple[tuple[int, int], ...]) -> list[list[Any]]:
            return [
                ["change" if size else "delete", fmt.price(price), fmt.amount(size)]
                for price, size in levels
            ]

        return {
            "type": "change",
            "timestamp": self.core.now_ms,
            "instrument_name": symbol,
            "prev_change_id": delta.prev_change_id,
            "change_id": delta.change_id,
            "bids": side(delta.bids),
            "asks": side(delta.asks),
        }

    def snapshot_json(self, instrument: int) -> dict[str, Any]:
        mirror = self.mirrors.get(instrument) or Mirror(0, {}, {})
        return {
            "type": "snapshot",
            "timestamp": self.core.now_ms,
            "instrument_name": self.symbol(instrument),
            "change_id": mirror.change_id,
            "bids": [
                ["new", fmt.price(p), fmt.amount(s)]
                for p, s in sorted(mirror.bids.items(), reverse=True)
            ],
            "asks": [["new", fmt.price(p), fmt.amount(s)] for p, s in sorted(mirror.asks.items())],
        }

    async def flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            self.flush()

    def flush(self) -> None:
        server = self.server
        books, self.pending_books = self.pending_books, {}
        trades, self.pending_trades = self.pending_trades, {}
        for instrument, delta in books.items():
            symbol = self.symbol(instrument)
            channel = f"book.{symbol}.100ms"
            if server.subscribers(channel):
                server.broadcast(channel, self.delta_json(symbol, delta))
        for instrument in set(books) | set(trades):
            inst = self.core.state.instrument(instrument)
            channel = f"ticker.{inst.symbol}.100ms"
            if server.subscribers(channel):
                server.broadcast(channel, fmt.ticker_json(self.core, inst))
        for instrument, batch in trades.items():
            channel = f"trades.{self.symbol(instrument)}.100ms"
            if server.subscribers(channel):
                server.broadcast(channel, [self.trade_json(t) for t in batch])

    def start(self) -> None:
        self.flusher = asyncio.create_task(self.flush_forever())

    def stop(self) -> None:
        if self.flusher is not None:
            self.flusher.cancel()

    # -- methods --------------------------------------------------------------------------

    def _register(self) -> None:
        s = self.server

        def core() -> Sequencer:
            return self.node.core

        @s.method("public/get_time")
        async def get_time(params: dict[str, Any], req: Request) -> Any:
            return int(time.time() * 1000)

        @s.method("public/test")
        async def test(params: dict[str, Any], req: Request) -> Any:
            return {"version": "rollbook-0.1.0"}

        @s.method("public/hello")
        async def hello(params: dict[str, Any], req: Request) -> Any:
            return {"version": "rollbook-0.1.0"}

        @s.method("public/status")
        async def status(params: dict[str, Any], req: Request) -> Any:
            return {"locked": "false", "locked_indices": []}

        @s.method("public/get_currencies")
        async def get_currencies(params: dict[str, Any], req: Request) -> Any:
            return fmt.currencies_json(self.listed())

        @s.method("public/get_instruments")
        async def get_instruments(params: dict[str, Any], req: Request) -> Any:
            currency = param(params, "currency", str, "any")
            kind = param(params, "kind", str, "any")
            expired = param(params, "expired", bool, False)
            now = core().timestamp
            out = []
            for inst in self.listed():
                j = fmt.instrument_json(inst)
                gone = inst.kind.is_option and inst.expiry <= now
                if gone != expired:
                    continue
                if currency not in ("any", j["base_currency"], j["settlement_currency"]):
                    continue
                if kind not in ("any", j["kind"]):
                    continue
                out.append(j)
            return out

        @s.method("public/get_instrument")
        async def get_instrument(params: dict[str, Any], req: Request) -> Any:
            return fmt.instrument_json(self.instrument(params))

        @s.method("public/get_order_book")
        async def get_order_book(params: dict[str, Any], req: Request) -> Any:
            depth = param(params, "depth", int, 20)
            if depth <= 0:
                raise invalid("depth must be positive", "depth")
            inst = self.instrument(params)
            if inst.instrument_id not in core().engine.instruments():
                raise ApiError(10012, "book_closed", f"{inst.symbol} has no open book")
            return fmt.book_json(core(), inst, min(depth, 10_000))

        @s.method("public/ticker")
        async def ticker(params: dict[str, Any], req: Request) -> Any:
            return fmt.ticker_json(core(), self.instrument(params))

        @s.method("public/get_index_price")
        async def get_index_price(params: dict[str, Any], req: Request) -> Any:
            name = param(params, "index_name")
            for inst in self.listed():
                if fmt.index_name(inst) == name:
                    index = fmt.index_price(core().state, inst.asset)
                    return {
                        "index_price": fmt.price(index),
                        "estimated_delivery_price": fmt.price(index),
                    }
            raise ApiError(10020, "invalid_or_unsupported_instrument", f"no index {name!r}")

        @s.method("public/get_book_summary_by_currency")
        async def get_book_summary_by_currency(params: dict[str, Any], req: Request) -> Any:
            currency = param(params, "currency")
            kind = param(params, "kind", str, "any")
            out = []
            for inst in self.listed():
                j = fmt.instrument_json(inst)
                if currency not in (j["base_currency"], j["settlement_currency"]):
                    continue
                if kind not in ("any", j["kind"]):
                    continue
                t = fmt.ticker_json(core(), inst)
                out.append(
                    {
                        "instrument_name": inst.symbol,
                        "base_currency": j["base_currency"],
                        "quote_currency": "USDC",
                        "bid_price": t["best_bid_price"] or None,
                        "ask_price": t["best_ask_price"] or None,
                        "mid_price": (t["best_bid_price"] + t["best_ask_price"]) / 2
                        if t["best_bid_price"] and t["best_ask_price"]
                        else None,
                        "mark_price": t["mark_price"],
                        "last": t["last_price"],
                        "open_interest": t["open_interest"],
                        "volume": t["stats"]["volume"],
                        "volume_usd": t["stats"]["volume_usd"],
                        "high": t["stats"]["high"],
                        "low": t["stats"]["low"],
                        "creation_timestamp": t["timestamp"],
                        "estimated_delivery_price": t["estimated_delivery_price"],
                        **(
                            {"mark_iv": t["mark_iv"], "underlying_price": t["underlying_price"]}
                            if "mark_iv" in t
                            else {}
                        ),
                    }
                )
            return out

        @s.method("public/get_last_trades_by_instrument")
        async def get_last_trades(params: dict[str, Any], req: Request) -> Any:
            inst = self.instrument(params)
            count = max(1, min(param(params, "count", int, 10), 1000))
            trades = list(core().trades.get(inst.instrument_id, ()))[-count:]
            return {"trades": [self.trade_json(t) for t in reversed(trades)], "has_more": False}

        # -- subscriptions --------------------------------------------------------------

        async def subscribe(params: dict[str, Any], req: Request) -> Any:
            conn = req.connection
            if conn is None:
                raise ApiError(11029, "invalid_arguments", "subscribe needs a WebSocket")
            channels = params.get("channels")
            if not isinstance(channels, list):
                raise invalid("channels must be a list", "channels")
            accepted = []
            for channel in channels:
                if not isinstance(channel, str) or not self._known(channel):
                    continue
                conn.channels.add(channel)
                accepted.append(channel)
                self._on_subscribe(conn, channel)
            return accepted

        async def unsubscribe(params: dict[str, Any], req: Request) -> Any:
            conn = req.connection
            channels = params.get("channels")
            if conn is None or not isinstance(channels, list):
                raise invalid("channels must be a list", "channels")
            for channel in channels:
                conn.channels.discard(channel)
            return channels

        s.methods["public/subscribe"] = subscribe
        s.methods["private/subscribe"] = subscribe
        s.methods["public/unsubscribe"] = unsubscribe
        s.methods["private/unsubscribe"] = unsubscribe

        @s.method("public/set_heartbeat")
        async def set_heartbeat(params: dict[str, Any], req: Request) -> Any:
            interval = param(params, "interval", int)
            if req.connection is None or interval < 10:
                raise invalid("interval must be at least 10 seconds, on a WebSocket", "interval")
            req.connection.heartbeat = float(interval)
            return "ok"

        @s.method("public/disable_heartbeat")
        async def disable_heartbeat(params: dict[str, Any], req: Request) -> Any:
            if req.connection is not None:
                req.connection.heartbeat = 0.0
            return "ok"

        # -- signed inputs --------------------------------------------------------------

        @s.method("rollbook_placeOrder")
        async def place_order(params: dict[str, Any], req: Request) -> Any:
            # The digest through the core's memo: the core checks the same digest
            # next, so an order is hashed once, not twice.
            signed = signed_order(params, core().gate.env.order_digest)
            self.limits.check(signed.order.account)
            label = param(params, "label", str, "")
            replaces = param(params, "replaces", int, 0)
            ack = await self.submit(PlaceOrder(signed, label, replaces))
            outcome = ack.outcome
            taker = signed.order.account
            result = {
                "order": self.order_json(outcome.order),
                "trades": [self.trade_json(t, taker) for t in outcome.trades],
                "receipt": ack.receipt.to_json(),
            }
            if outcome.error is not None:
                err = outcome.error
                raise ApiError(err.code, err.name, err.message, **result)
            return result

        @s.method("rollbook_cancel")
        async def cancel(params: dict[str, Any], req: Request) -> Any:
            account = param(params, "account", int)
            self.limits.check(account)
            inp = CancelOrder(
                account, param(params, "order_id", int), hex_bytes(params, "signature")
            )
            ack = await self.submit(inp)
            return {"order": self.order_json(ack.outcome.order), "receipt": ack.receipt.to_json()}

        @s.method("rollbook_cancelAll")
        async def cancel_all(params: dict[str, Any], req: Request) -> Any:
            account = param(params, "account", int)
            self.limits.check(account)
            inp = CancelAll(
                account,
                param(params, "instrument", int, 0),
                param(params, "timestamp_ms", int),
                hex_bytes(params, "signature"),
            )
            ack = await self.submit(inp)
            return {"cancelled": len(ack.outcome.cancelled), "receipt": ack.receipt.to_json()}

        @s.method("rollbook_sendTx")
        async def send_tx(params: dict[str, Any], req: Request) -> Any:
            data = hex_bytes(params, "tx")
            try:
                tx = decode_standalone(data, core().cfg.domain_separator)
            except (DecodeError, ExchangeError) as exc:
                raise invalid(f"the tx does not decode: {exc}", "tx") from None
            account = getattr(tx, "account", None)
            if isinstance(account, int):
                self.limits.check(account)
            ack = await self.submit(SubmitTx(tx))
            return {"receipt": ack.receipt.to_json(), "block": core().builder.blocks[-1].number + 1}

        # -- accounts -------------------------------------------------------------------

        @s.method("rollbook_accountOf")
        async def account_of(params: dict[str, Any], req: Request) -> Any:
            from rollbook.exchange.accounts import owner_account

            owner = hex_bytes(params, "owner")
            return owner_account(core().state, owner)

        @s.method("rollbook_getAccount")
        async def get_account(params: dict[str, Any], req: Request) -> Any:
            index = self.account(params)
            summary = fmt.summary_json(core().state, index, core().timestamp)
            acct = core().state.account(index)
            summary["owner"] = "0x" + acct.owner.hex()
            summary["keys"] = ["0x" + k.hex() for k in acct.keys if any(k)]
            return summary

        @s.method("rollbook_getPositions")
        async def get_positions(params: dict[str, Any], req: Request) -> Any:
            return fmt.positions_json(core().state, self.account(params), core().timestamp)

        @s.method("rollbook_getOpenOrders")
        async def get_open_orders(params: dict[str, Any], req: Request) -> Any:
            return [self.order_json(v) for v in core().open_orders(self.account(params))]

        @s.method("rollbook_nextNonce")
        async def next_nonce(params: dict[str, Any], req: Request) -> Any:
            """The lowest nonce this account has not used in any order the node took."""
            return core().max_nonce.get(self.account(params), -1) + 1

        @s.method("rollbook_getOrder")
        async def get_order(params: dict[str, Any], req: Request) -> Any:
            view = core().order(param(params, "order_id", int))
            if view is None:
                raise ApiError(10004, "order_not_found", "no such order (or too old)")
            return self.order_json(view)

        @s.method("rollbook_getUserTrades")
        async def get_user_trades(params: dict[str, Any], req: Request) -> Any:
            index = self.account(params)
            count = max(1, min(param(params, "count", int, 100), 1000))
            trades = list(core().account_trades.get(index, ()))[-count:]
            return [self.trade_json(t, index) for t in reversed(trades)]

        # -- the rollup -----------------------------------------------------------------

        @s.method("rollbook_domain")
        async def domain(params: dict[str, Any], req: Request) -> Any:
            cfg = core().cfg
            return {
                "chain_id": cfg.chain_id,
                "domain_separator": "0x" + cfg.domain_separator.hex(),
                "sequencer": "0x" + self.node.address.hex(),
                "mode": cfg.mode.name.lower(),
            }

        @s.method("rollbook_syncStatus")
        async def sync_status(params: dict[str, Any], req: Request) -> Any:
            c = core()
            head = c.builder.blocks[-1]
            return {
                "unsafe_l2": head.number,
                "posted_l2": self.node.posted,
                "proposed_l2": self.node.proposed,
                "l1_seen": c.builder.l1[-1].number,
                "head_hash": "0x" + head.hash.hex(),
                "state_root": "0x" + head.header.state_root.hex(),
                "seq": c.seq,
                "block_time": c.timestamp,
                "fills": c.fill_count,
            }

        @s.method("rollbook_runningRoot")
        async def running_root(params: dict[str, Any], req: Request) -> Any:
            """The state root now, mid-block, with the sequence number it reflects."""
            c = core()
            return {
                "seq": c.seq,
                "root": "0x" + c.state.root().hex(),
                "open_orders": len(c.orders),
                "fills": c.fill_count,
            }

        @s.method("rollbook_getInput")
        async def get_input(params: dict[str, Any], req: Request) -> Any:
            """What the log holds at a sequence number (receipts can be checked against
            it)."""
            seq = param(params, "seq", int)
            body = await self.node.read_record(seq)
            if body is None:
                raise ApiError(10004, "not_found", f"no logged input {seq}")
            record = decode_record(body)
            digest = input_digest(record.input, core().cfg.domain_separator)
            return {
                "seq": record.seq,
                "at_ms": record.at_ms,
                "digest": "0x" + digest.hex(),
                "kind": type(record.input).__name__,
            }

        @s.method("rollbook_getBlock")
        async def get_block(params: dict[str, Any], req: Request) -> Any:
            """A block's header; with ``full``, each tx: its kind, origin, its hash
            (keccak of the tx-root leaf) and the leaf itself (hex)."""
            block = self.block(params)
            result = block_json(block)
            if param(params, "full", bool, False):
                sep = core().cfg.domain_separator
                items = [tx_item(t, sep) for t in block.txs]
                result["transactions"] = [
                    {
                        "kind": type(t.tx).__name__,
                        "origin": int(t.origin),
                        "hash": "0x" + keccak256(item).hex(),
                        "data": "0x" + item.hex(),
                    }
                    for t, item in zip(block.txs, items, strict=True)
                ]
            return result

        @s.method("rollbook_getReceipts")
        async def get_receipts(params: dict[str, Any], req: Request) -> Any:
            block = self.block(params)
            return [
                {
                    "ok": r.ok,
                    "code": r.code,
                    "error": r.error,
                    "message": r.message,
                    "tx": type(t.tx).__name__,
                }
                for t, r in zip(block.txs, block.receipts, strict=True)
            ]

        @s.method("rollbook_outputAt")
        async def output_at(params: dict[str, Any], req: Request) -> Any:
            block = self.block(params)
            h = block.header
            root = output_root(core().cfg.mode, h.state_root, h.withdrawals_root, block.hash)
            return {"block": h.number, "output_root": "0x" + root.hex()}

        @s.method("rollbook_proveWithdrawal")
        async def prove(params: dict[str, Any], req: Request) -> Any:
            block = self.block({"number": param(params, "block", int)})
            try:
                claim = prove_withdrawal(
                    core().state,
                    block,
                    core().cfg.mode,
                    param(params, "withdrawal_id", int),
                    core().withdrawal_count(block.number),
                )
            except LookupError as exc:
                raise ApiError(10004, "not_found", str(exc)) from None
            return {
                "state_root": "0x" + claim.state_root.hex(),
                "withdrawals_root": "0x" + claim.withdrawals_root.hex(),
                "block_hash": "0x" + claim.block_hash.hex(),
                "withdrawal_id": claim.withdrawal_id,
                "owner": "0x" + claim.leaf.owner.hex(),
                "amount": claim.leaf.amount,
                "siblings": ["0x" + x.hex() for x in claim.proof.siblings],
            }

        @s.method("rollbook_getWithdrawals")
        async def get_withdrawals(params: dict[str, Any], req: Request) -> Any:
            """The withdrawals recorded for an account's owner (ids to prove on L1)."""
            owner = core().state.account(self.account(params)).owner
            found = []
            for key in core().state.keys_of_kind("wd"):
                leaf = core().state.get(key)
                if isinstance(leaf, Withdrawal) and leaf.owner == owner:
                    found.append({"withdrawal_id": key[1], "amount": leaf.amount})
            return found

        @s.method("rollbook_proveAccount")
        async def prove_account(params: dict[str, Any], req: Request) -> Any:
            index = self.account(params)
            state = core().state
            proof = state.prove(account_key(index))
            return {
                "state_root": "0x" + state.root().hex(),
                "proof": "0x" + proof[1].encode().hex(),
            }

        @s.method("rollbook_costs")
        async def costs(params: dict[str, Any], req: Request) -> Any:
            c = self.node.costs
            glob = core().state.globals()
            return {
                "batches": c.batches,
                "batch_bytes": c.batch_bytes,
                "proposals": c.proposals,
                "l1_gas": c.gas,
                "l1_cost_wei": c.cost_wei,
                "failures": c.failures,
                "last_error": c.last_error,
                "fees_earned": fmt.price(glob.fees),
            }

    def block(self, params: dict[str, Any]) -> L2Block:
        blocks = self.core.builder.blocks
        number = param(params, "number", int, len(blocks) - 1)
        if not 0 <= number < len(blocks):
            raise ApiError(10004, "not_found", f"no block {number} (head {len(blocks) - 1})")
        return blocks[number]  # type: ignore[no-any-return]

    def _known(self, channel: str) -> bool:
        parts = channel.split(".")
        if parts[0] in ("book", "ticker", "trades") and len(parts) == 3:
            return any(i.symbol == parts[1] for i in self.listed())
        if parts[0] == "account" and len(parts) == 3 and parts[1].isdigit():
            return parts[2] in ("orders", "trades", "portfolio")
        return False

    def _on_subscribe(self, conn: Connection, channel: str) -> None:
        parts = channel.split(".")
        if parts[0] == "book":
            for inst in self.listed():
                if inst.symbol == parts[1]:
                    data = self.snapshot_json(inst.instrument_id)
                    conn.notify(channel, data)
        elif parts[0] == "ticker":
            for inst in self.listed():
                if inst.symbol == parts[1]:
                    conn.notify(channel, fmt.ticker_json(self.core, inst))


def _merge(a: BookDelta, b: BookDelta) -> BookDelta:
    def side(x: tuple[tuple[int, int], ...], y: tuple[tuple[int, int], ...], sign: int):  # type: ignore[no-untyped-def]
        levels = dict(x)
        levels.update(y)
        return tuple(sorted(levels.items(), key=lambda kv: -sign * kv[0]))

    return BookDelta(
        a.instrument,
        a.prev_change_id,
        b.change_id,
        side(a.bids, b.bids, 1),
        side(a.asks, b.asks, -1),
    )


def hex_bytes(params: dict[str, Any], name: str) -> bytes:
    value = param(params, name)
    try:
        return bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raise invalid(f"{name} must be hex", name) from None


def signed_order(params: dict[str, Any], digest: Callable[[Order], bytes]) -> SignedOrder:
    """The order and signature of a ``rollbook_placeOrder`` request (``digest``: the
    order's EIP-712 digest in the deployment's domain)."""
    fields = params.get("order")
    if not isinstance(fields, dict):
        raise invalid("order must be an object", "order")
    side = fields.get("side")
    if side not in ("buy", "sell"):
        raise invalid("order.side must be 'buy' or 'sell'", "order.side")
    flags = param(fields, "flags", int, 0)
    if flags < 0:
        raise invalid("order.flags must be a non-negative bit set", "order.flags")
    try:
        order = Order(
            param(fields, "account", int),
            param(fields, "instrument", int),
            Side.BUY if side == "buy" else Side.SELL,
            param(fields, "price", int),
            param(fields, "size", int),
            param(fields, "max_fee_ppm", int),
            param(fields, "expiry", int),
            param(fields, "slot", int),
            param(fields, "nonce", int),
            OrderFlags(flags),
        )
        signature = hex_bytes(params, "signature")
        return SignedOrder(order, signature, digest(order))
    except ExchangeError as exc:
        raise invalid(exc.message, "order") from None
    except ValueError as exc:
        raise invalid(str(exc), "order") from None


def order_fields(order: Order) -> dict[str, Any]:
    """The JSON fields of an order for ``rollbook_placeOrder`` (the SDK sends these)."""
    return {
        "account": order.account,
        "instrument": order.instrument,
        "side": "buy" if order.side is Side.BUY else "sell",
        "price": order.price,
        "size": order.size,
        "max_fee_ppm": order.max_fee_ppm,
        "expiry": order.expiry,
        "slot": order.slot,
        "nonce": order.nonce,
        "flags": int(order.flags),
    }


def block_json(block: L2Block) -> dict[str, Any]:
    h = block.header
    return {
        "number": h.number,
        "hash": "0x" + block.hash.hex(),
        "parent_hash": "0x" + h.parent_hash.hex(),
        "timestamp": h.timestamp,
        "l1_origin": h.l1_origin,
        # where L1 holds its sequenced txs: the inbox's record and the batch's block
        "batch": None if block.source is None else block.source.record,
        "batch_block": None if block.source is None else block.source.block,
        "receipts_root": "0x" + h.receipts_root.hex(),
        "state_root": "0x" + h.state_root.hex(),
        "withdrawals_root": "0x" + h.withdrawals_root.hex(),
        "txs": len(block.txs),
        "sequenced": block.sequenced,
    }
