"""Deribit v2 shapes: the node's integers as Deribit's JSON objects, and back.

Deribit's API (https://docs.deribit.com/) is what market makers' tools speak, so the
node and the gateway serve it unchanged: instrument, order, trade, ticker, book and
account-summary objects with Deribit's field names and units. Prices are in USDC
(quote units / 1e6), amounts in the underlying (base units / 1e8), timestamps in
milliseconds. Instruments are marked linear and USDC-settled as Deribit marks its
``ETH_USDC-*`` instruments (``counter_currency`` = ``settlement_currency`` = USDC), so
clients such as CCXT map them to ``ETH/USDC:USDC`` markets.

Inputs are parsed exactly: a decimal string or number must be a whole number of quote
or base units (``to_units``), otherwise the request is refused; no float ever reaches
the STF.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from rollbook.exchange.black76 import greeks
from rollbook.exchange.errors import ExchangeError
from rollbook.exchange.fixedmath import ONE
from rollbook.exchange.leaves import AssetPrice, Instrument, InstrumentKind, price_key
from rollbook.exchange.margin import health, requirements, settle_and_price
from rollbook.exchange.numeric import QUOTE_ONE, SIZE_ONE, value_at_mark
from rollbook.exchange.oracle import VOL_TO_ONE
from rollbook.exchange.state import State
from rollbook.exchange.types import OrderFlags, Side
from rollbook.node.core import OrderView, Sequencer, Trade

SETTLEMENT = "USDC"
DAY_MS = 86_400_000
PERPETUAL_EXPIRY_MS = 32_503_708_800_000  # Deribit's "never" (year 3000)


class ApiError(Exception):
    """A JSON-RPC error in Deribit's table (code, short message, optional data)."""

    def __init__(self, code: int, message: str, reason: str = "", **data: Any) -> None:
        super().__init__(reason or message)
        self.code = code
        self.message = message
        self.data: dict[str, Any] = {"reason": reason, **data} if reason or data else {}


def invalid(reason: str, param: str = "") -> ApiError:
    return ApiError(-32602, "Invalid params", reason, **({"param": param} if param else {}))


def price(units: int) -> float:
    return units / QUOTE_ONE


def amount(units: int) -> float:
    return units / SIZE_ONE


def to_units(value: Any, one: int, name: str) -> int:
    """An exact decimal (string or number) as integer units; refuses anything inexact."""
    if isinstance(value, bool) or value is None:
        raise invalid(f"{name} is required as a number", name)
    try:
        exact = Decimal(str(value)) * one
    except InvalidOperation:
        raise invalid(f"{name} {value!r} is not a number", name) from None
    if exact != exact.to_integral_value() or exact <= 0:
        raise invalid(f"{name} {value} is not a positive multiple of 1/{one}", name)
    return int(exact)


def base_currency(inst: Instrument) -> str:
    return inst.symbol.split("_", 1)[0]


def index_name(inst: Instrument) -> str:
    return f"{base_currency(inst).lower()}_usdc"


# -- instruments and currencies ---------------------------------------------------------


def instrument_json(inst: Instrument) -> dict[str, Any]:
    option = inst.kind.is_option
    result: dict[str, Any] = {
        "instrument_name": inst.symbol,
        "instrument_id": inst.instrument_id,
        "kind": "option" if option else "future",
        "base_currency": base_currency(inst),
        "quote_currency": SETTLEMENT,
        "counter_currency": SETTLEMENT,
        "settlement_currency": SETTLEMENT,
        "instrument_type": "linear",
        "future_type": "linear",
        "settlement_period": "day" if option else "perpetual",
        "contract_size": amount(inst.lot),
        "min_trade_amount": amount(inst.lot),
        "tick_size": price(inst.tick),
        "taker_commission": inst.taker_fee_ppm / 10**6,
        "maker_commission": inst.maker_fee_ppm / 10**6,
        "expiration_timestamp": inst.expiry * 1000 if option else PERPETUAL_EXPIRY_MS,
        "creation_timestamp": 0,
        "is_active": inst.active,
        "price_index": index_name(inst),
        "rfq": False,
        "max_leverage": 10**6 // inst.im_ppm if inst.im_ppm else 0,
    }
    if option:
        result["option_type"] = "call" if inst.kind is InstrumentKind.CALL else "put"
        result["strike"] = price(inst.strike)
    return result


def currencies_json(instruments: list[Instrument]) -> list[dict[str, Any]]:
    names = sorted({base_currency(i) for i in instruments} | {SETTLEMENT})
    return [
        {
            "currency": name,
            "currency_long": name,
            "coin_type": "ERC20" if name == SETTLEMENT else "ETHER",
            "withdrawal_fee": 0,
            "min_withdrawal_fee": 0,
            "fee_precision": 6,
            "min_confirmations": 1,
            "withdrawal_priorities": [],
        }
        for name in names
    ]


# -- orders and trades --------------------------------------------------------------------------


def time_in_force(flags: OrderFlags) -> str:
    if flags & OrderFlags.IOC:
        return "immediate_or_cancel"
    if flags & OrderFlags.FOK:
        return "fill_or_kill"
    return "good_til_cancelled"


def order_json(view: OrderView, symbol: str) -> dict[str, Any]:
    fee = 0  # fees are charged per fill (the trades carry them)
    return {
        "order_id": str(view.order_id),
        "instrument_name": symbol,
        "order_state": view.state,
        "order_type": "limit",
        "direction": "buy" if view.side is Side.BUY else "sell",
        "price": price(view.price),
        "amount": amount(view.size),
        "filled_amount": amount(view.filled),
        "average_price": price(view.average_price),
        "creation_timestamp": view.created_ms,
        "last_update_timestamp": view.updated_ms,
        "post_only": bool(view.flags & OrderFlags.POST_ONLY),
        "reject_post_only": bool(view.flags & OrderFlags.POST_ONLY),
        "reduce_only": bool(view.flags & OrderFlags.REDUCE_ONLY),
        "time_in_force": time_in_force(view.flags),
        "label": view.label,
        "commission": fee,
        "api": True,
        "web": False,
        "replaced": view.reason == "edited",
        "is_liquidation": False,
        "cancel_reason": view.reason if view.state == "cancelled" else None,
        "max_show": amount(view.size),
        "rollbook_seq": view.seq,
        "rollbook_slot": view.slot,
        "rollbook_digest": "0x" + view.digest.hex(),
    }


def trade_json(trade: Trade, symbol: str, account: int | None = None) -> dict[str, Any]:
    """A trade as Deribit reports it; from ``account``'s side when given (user trades)."""
    direction = trade.taker_side
    result: dict[str, Any] = {
        "trade_id": str(trade.trade_id),
        "trade_seq": trade.trade_id,
        "timestamp": trade.at_ms,
        "instrument_name": symbol,
        "price": price(trade.price),
        "amount": amount(trade.size),
        "direction": "buy" if direction is Side.BUY else "sell",
        "tick_direction": 0,
        "liquidation": "T" if trade.liquidation else None,
        "block_number": trade.block,
    }
    if account is not None:
        maker = account == trade.maker_account and account != trade.taker_account
        side = direction.opposite if maker else direction
        result.update(
            direction="buy" if side is Side.BUY else "sell",
            order_id=str(trade.maker_order if maker else trade.taker_order),
            liquidity="M" if maker else "T",
            fee=price(trade.maker_fee if maker else trade.taker_fee),
            fee_currency=SETTLEMENT,
            order_type="limit",
            state="filled",
        )
    return result


# -- books and tickers ---------------------------------------------------------------------------


def index_price(state: State, asset: int) -> int:
    leaf = state.get(price_key(asset))
    return leaf.price if isinstance(leaf, AssetPrice) else 0


def book_json(core: Sequencer, inst: Instrument, depth: int) -> dict[str, Any]:
    snapshot = core.engine.depth(inst.instrument_id, depth)
    result = ticker_json(core, inst)
    result.update(
        change_id=snapshot.change_id,
        bids=[[price(level.price), amount(level.size)] for level in snapshot.bids],
        asks=[[price(level.price), amount(level.size)] for level in snapshot.asks],
    )
    return result


def ticker_json(core: Sequencer, inst: Instrument) -> dict[str, Any]:
    state = core.state
    instrument = inst.instrument_id
    live = instrument in core.engine.instruments()
    top = core.engine.depth(instrument, 1) if live else None
    bid = top.bids[0] if top and top.bids else None
    ask = top.asks[0] if top and top.asks else None
    trades = core.trades.get(instrument, ())
    day = [t for t in trades if t.at_ms >= core.now_ms - DAY_MS]
    index = index_price(state, inst.asset)
    result: dict[str, Any] = {
        "timestamp": core.now_ms,
        "instrument_name": inst.symbol,
        "state": "open" if live else "closed",
        "last_price": price(trades[-1].price) if trades else None,
        "best_bid_price": price(bid.price) if bid else 0,
        "best_bid_amount": amount(bid.size) if bid else 0,
        "best_ask_price": price(ask.price) if ask else 0,
        "best_ask_amount": amount(ask.size) if ask else 0,
        "mark_price": price(inst.mark),
        "index_price": price(index),
        "open_interest": amount(inst.open_interest),
        "settlement_price": price(inst.mark),
        "estimated_delivery_price": price(index),
        "stats": {
            "high": price(max(t.price for t in day)) if day else None,
            "low": price(min(t.price for t in day)) if day else None,
            "volume": amount(sum(t.size for t in day)),
            "volume_usd": sum(t.price * t.size // SIZE_ONE for t in day) / QUOTE_ONE,
            "price_change": None,
        },
    }
    if inst.kind.is_option:
        seconds = max(inst.expiry - core.timestamp, 0)
        g = (
            greeks(
                inst.mark_index,
                inst.strike,
                inst.mark_vol * VOL_TO_ONE,
                seconds,
                inst.kind is InstrumentKind.CALL,
            )
            if inst.mark_index
            else None
        )
        result.update(
            underlying_price=price(inst.mark_index),
            underlying_index=index_name(inst),
            interest_rate=0,
            mark_iv=inst.mark_vol / 10**4,  # Deribit quotes IV in percent
            bid_iv=None,
            ask_iv=None,
            greeks={
                "delta": g.delta / ONE if g else 0,
                "gamma": g.gamma / ONE if g else 0,
                "vega": g.vega / QUOTE_ONE / 100 if g else 0,  # per 1 % of vol
                "theta": g.theta / QUOTE_ONE / 365 if g else 0,  # per day
                "rho": g.rho / QUOTE_ONE / 100 if g else 0,
            },
        )
    else:
        result.update(current_funding=0.0, funding_8h=0.0)
    return result


# -- accounts ---------------------------------------------------------------------------------


def summary_json(state: State, account: int, now: int) -> dict[str, Any]:
    """Deribit's account summary for the USDC cross-margin account."""
    acct = state.account(account)
    state.begin()
    try:
        try:
            h = health(state, account, now)
            equity, initial, maintenance, stale = h.equity, h.initial, h.maintenance, False
        except ExchangeError:
            equity, initial, maintenance, stale = acct.balance, 0, 0, True
    finally:
        state.rollback()
    return {
        "currency": SETTLEMENT,
        "balance": price(acct.balance),
        "equity": price(equity),
        "margin_balance": price(equity),
        "initial_margin": price(initial),
        "maintenance_margin": price(maintenance),
        "available_funds": price(max(equity - initial, 0)),
        "available_withdrawal_funds": price(max(min(equity - initial, acct.balance), 0)),
        "projected_initial_margin": price(initial),
        "projected_maintenance_margin": price(maintenance),
        "portfolio_margining_enabled": acct.portfolio,
        "margin_model": "cross_pm" if acct.portfolio else "cross_sm",
        "cross_collateral_enabled": False,
        "total_pl": 0,
        "session_upl": 0,
        "session_rpl": 0,
        "fee_balance": 0,
        "marks_stale": stale,
        "rollbook_account": account,
        "rollbook_nonce_floor": acct.nonce_floor,
        "rollbook_tx_nonce": acct.tx_nonce,
    }


def positions_json(state: State, account: int, now: int) -> list[dict[str, Any]]:
    """Deribit's position objects for every open position of ``account``: settled and
    valued by the STF (``settle_and_price``), each position's margin by the STF's
    standard rules for that position alone (``requirements``); with stale marks, the
    positions as stored and no margin figures."""
    out = []
    state.begin()
    try:
        try:
            _, priced = settle_and_price(state, account, now)
            stale = False
        except ExchangeError:
            held = state.account(account).instruments
            priced = [(state.instrument(i), state.position(account, i).size) for i in held]
            stale = True
        for inst, size in priced:
            if size == 0:
                continue
            cost = state.position(account, inst.instrument_id).cost  # signed entry value
            upl = value_at_mark(inst.mark, size) - cost
            _, initial, maintenance = (0, 0, 0) if stale else requirements(False, [(inst, size)])
            out.append(
                {
                    "instrument_name": inst.symbol,
                    "kind": "option" if inst.kind.is_option else "future",
                    "direction": "buy" if size > 0 else "sell",
                    "size": amount(size),
                    "size_currency": amount(size),
                    "average_price": price(cost * SIZE_ONE // size),
                    "mark_price": price(inst.mark),
                    "index_price": price(index_price(state, inst.asset)),
                    "floating_profit_loss": price(upl),
                    "total_profit_loss": price(upl),
                    "realized_profit_loss": 0,
                    "initial_margin": price(initial),
                    "maintenance_margin": price(maintenance),
                    "leverage": 10**6 // inst.im_ppm if inst.im_ppm else 0,
                    "estimated_liquidation_price": None,
                    "delta": amount(size),
                    "open_orders_margin": 0,
                    "marks_stale": stale,
                }
            )
    finally:
        state.rollback()
    return out
