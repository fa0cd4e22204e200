"""The sequencer's core: a deterministic machine from numbered inputs to books and blocks.

Everything the sequencer decides happens here, and nothing here reads a clock, the
network or the disk: an input (:mod:`rollbook.node.inputs`) carries the service's
acceptance time, L1 blocks arrive as inputs, and block sealing is an input (``Tick``).
So the write-ahead log of inputs *is* the sequencer's history: replaying it from a
snapshot rebuilds the books, the order records and the L2 blocks bit for bit
(:mod:`rollbook.node.service` does that at start-up).

Per input:

- ``PlaceOrder``: the order's signature is checked at once (a resting order must be the
  trader's even if it never fills), its (slot, nonce) must be fresh, and it goes to the
  matching engine, whose gate settles each fill in the STF (:mod:`rollbook.node.gate`).
  An order that takes over a slot cancels the open order that held it (the STF would
  refuse that order's fills: docs/design/consensus.md section 3).
- ``CancelOrder`` / ``CancelAll``: signed by a trading key of the account.
- ``SubmitTx``: any other L2 tx, applied on the running state; refused txs are not
  sequenced.
- ``ObserveL1``: the L1 reader's next block (its deposits and forced txs queue for
  inclusion at their origin, as derivation does).
- ``Tick``: the liquidator runs on the open block (:mod:`rollbook.node.liquidator`), the
  block is sealed, the next one opens (its due L1 txs first), expired instruments
  leave the books, newly listed ones join.

A refused input raises :class:`Refused` (code and message in Deribit's style) and
changes nothing.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from dataclasses import dataclass, field

from rollbook.chain.blocks import L2Block
from rollbook.chain.derive import ChainConfig
from rollbook.chain.l1 import L1Ref
from rollbook.chain.sequencer import BlockBuilder
from rollbook.crypto.secp256k1 import SignatureError, recover_address
from rollbook.exchange.env import SignatureCache, TxEnv
from rollbook.exchange.errors import ExchangeError, InvariantError
from rollbook.exchange.leaves import InstrumentKind, OrderSlot, slot_key
from rollbook.exchange.numeric import Rounding, notional, ppm_of
from rollbook.exchange.orders import SignedOrder
from rollbook.exchange.state import State
from rollbook.exchange.stf import OK, apply_tx
from rollbook.exchange.txs import Backstop
from rollbook.exchange.types import OrderFlags, Side
from rollbook.matching.book import Fill as MatchFill
from rollbook.matching.engine import CancelReason, MatchingEngine, OrderStatus
from rollbook.matching.errors import MatchingError, UnknownOrderError
from rollbook.node.gate import LiquidationTaker, STFGate
from rollbook.node.inputs import (
    CANCEL_ALL_WINDOW_MS,
    LABEL_MAX,
    CancelAll,
    CancelOrder,
    Input,
    ObserveL1,
    PlaceOrder,
    Record,
    SubmitTx,
    Tick,
    cancel_all_digest,
    cancel_digest,
)
from rollbook.node.liquidator import close_order, underwater

HISTORY = 2_000  # trades kept per instrument and per account, closed orders kept
MAX_OPEN_ORDERS = 500  # per account (Deribit: 500 per instrument type)
CACHE_LIMIT = 200_000  # memoised signers kept before the cache is cleared


class Refused(Exception):
    """An input the sequencer will not take; nothing changed."""

    def __init__(self, code: int, name: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.name = name
        self.message = message


@dataclass(slots=True)
class OrderView:
    """An order as the API reports it (Deribit's order object, in integers)."""

    order_id: int
    account: int
    instrument: int
    side: Side
    price: int
    size: int
    flags: OrderFlags
    label: str
    created_ms: int
    seq: int
    digest: bytes
    filled: int = 0
    notional: int = 0  # Σ price · size of fills, for the average price
    state: str = "open"  # open | filled | cancelled | rejected
    reason: str = ""
    updated_ms: int = 0
    slot: int = 0

    @property
    def average_price(self) -> int:
        return self.notional // self.filled if self.filled else 0


@dataclass(frozen=True, slots=True)
class Trade:
    """One fill as the API reports it."""

    trade_id: int
    instrument: int
    price: int
    size: int
    taker_side: Side
    maker_order: int
    taker_order: int
    maker_account: int
    taker_account: int
    maker_fee: int
    taker_fee: int
    at_ms: int
    block: int
    liquidation: bool


@dataclass
class Outcome:
    """What one input did: the order it placed or touched, the trades, the events."""

    order: OrderView | None = None
    trades: list[Trade] = field(default_factory=list)
    cancelled: list[OrderView] = field(default_factory=list)
    sealed: L2Block | None = None
    error: Refused | None = None


@dataclass
class Events:
    """Changes since the service last published (drained by the service)."""

    books: set[int] = field(default_factory=set)
    trades: list[Trade] = field(default_factory=list)
    orders: list[OrderView] = field(default_factory=list)
    blocks: list[L2Block] = field(default_factory=list)


class Sequencer:
    """The deterministic sequencer over a genesis state and an L1 genesis block."""

    def __init__(self, genesis: State, cfg: ChainConfig, l1_genesis: L1Ref) -> None:
        self.cfg = cfg
        self.state = genesis.copy()
        # Fills settle on the STF's fast twin (differentially tested against the
        # readable path), and order digests and signers are memoised: an order's signer
        # is recovered once, when it is placed, not again at each of its fills.
        self.cache = SignatureCache()
        env = TxEnv(0, cfg.domain_separator, cache=self.cache, fast=True, zk=cfg.zk)
        self.gate = STFGate(self.state, env)
        self.engine = MatchingEngine(max_open_orders=MAX_OPEN_ORDERS, gate=self.gate)
        self.builder = BlockBuilder(cfg, self.state, l1_genesis)
        self.seq = 0
        self.now_ms = 0
        self.open = False
        self.orders: dict[int, OrderView] = {}
        self.closed: dict[int, OrderView] = {}
        self.by_slot: dict[tuple[int, int], int] = {}
        self.slot_nonce: dict[tuple[int, int], int] = {}
        self.last_cancel_all: dict[int, int] = {}
        self.max_nonce: dict[int, int] = {}
        self.trades: dict[int, deque[Trade]] = {}
        self.account_trades: dict[int, deque[Trade]] = {}
        self.next_trade_id = 1
        self.fill_count = 0
        self.events = Events()
        self.listed: list[int] = []
        self.withdrawal_counts: list[tuple[int, int]] = [
            (0, self.state.globals().next_withdrawal_id)
        ]
        """(block, withdrawals so far) where the count changed: a block's withdrawals
        tree is the leaves below its count (a proof needs nothing else)."""
        self.traders: set[int] = set()
        """Accounts that ever traded: the only ones that can hold positions (the
        liquidator scans these, not every account)."""
        self._sync_instruments()

    # -- the one entry point ------------------------------------------------------------

    def apply(self, record: Record) -> Outcome:
        """Apply the next input. Raises :class:`Refused` (nothing changed) if refused."""
        if record.seq != self.seq + 1:
            raise ValueError(f"record {record.seq} out of order (last applied {self.seq})")
        before = self.now_ms
        self.now_ms = max(before, record.at_ms)
        try:
            outcome = self._dispatch(record.input)
        except Refused:
            # A refused input leaves no trace: it takes no number and is not logged.
            self.now_ms = before
            raise
        self.seq = record.seq
        return outcome

    def _dispatch(self, inp: Input) -> Outcome:
        if isinstance(inp, Tick):
            return self._tick(inp.now)
        if isinstance(inp, ObserveL1):
            self.builder.observe(inp.block)
            return Outcome()
        if not self.open:
            raise Refused(13028, "temporarily_unavailable", "the sequencer has not opened a block")
        if isinstance(inp, PlaceOrder):
            return self._place(inp)
        if isinstance(inp, CancelOrder):
            return self._cancel(inp)
        if isinstance(inp, CancelAll):
            return self._cancel_all(inp)
        if isinstance(inp, SubmitTx):
            receipt = apply_tx(self.state, inp.tx, self.gate.env)
            if not receipt.ok:
                raise Refused(receipt.code, receipt.error, receipt.message)
            self.gate.pending.append(inp.tx)
            return Outcome()
        raise Refused(11029, "invalid_arguments", f"unknown input {type(inp).__name__}")

    # -- blocks -----------------------------------------------------------------------------

    def _tick(self, now: int) -> Outcome:
        try:
            self.builder.next_block_time(now)  # refuse before sealing, not half-way
        except InvariantError as exc:
            raise Refused(13028, "temporarily_unavailable", str(exc)) from None
        outcome = Outcome()
        if self.open:
            self._liquidate(outcome)
            sequenced = self.gate.take_pending()
            outcome.sealed = self.builder.seal(sequenced, [OK] * len(sequenced))
            self.events.blocks.append(outcome.sealed)
            count = self.state.globals().next_withdrawal_id
            if count != self.withdrawal_counts[-1][1]:
                self.withdrawal_counts.append((outcome.sealed.number, count))
            self.open = False
        l1_txs = self.builder.open_block(now)
        self.open = True
        if len(self.cache.signers) > CACHE_LIMIT:  # bounded: a miss only recomputes
            self.cache.clear()
        self.gate.env.timestamp = self.builder.timestamp
        for order in self.engine.expire(self.builder.timestamp):
            outcome.cancelled.append(self._close(order.order_id, "cancelled", "expired"))
            self.events.books.add(order.instrument)
        if l1_txs:  # listings and delistings come only from L1 (governance)
            self._sync_instruments()
        return outcome

    @property
    def timestamp(self) -> int:
        return self.builder.timestamp if self.open else self.builder.blocks[-1].header.timestamp

    def _sync_instruments(self) -> None:
        """Books for every active, unexpired listing (listings arrive from L1)."""
        known = set(self.engine.instruments())
        now = self.timestamp
        found = sorted(k[1] for k in self.state.keys_of_kind("inst") if isinstance(k[1], int))
        self.listed = found
        for instrument in found:
            if instrument in known:
                continue
            inst = self.state.instrument(instrument)
            perpetual = inst.kind is InstrumentKind.PERPETUAL
            if not inst.active or (not perpetual and inst.expiry <= now):
                continue
            self.engine.add_instrument(
                instrument, inst.tick, inst.lot, expiry=None if perpetual else inst.expiry
            )

    # -- orders -------------------------------------------------------------------------------

    def _place(self, inp: PlaceOrder) -> Outcome:
        signed = inp.signed
        order = signed.order
        self._authorise_order(signed)
        if len(inp.label) > LABEL_MAX:
            raise Refused(11029, "invalid_arguments", f"label longer than {LABEL_MAX} characters")
        outcome = Outcome()
        if inp.replaces:
            old = self.orders.get(inp.replaces)
            if old is None or old.account != order.account:
                raise Refused(10004, "order_not_found", f"no open order {inp.replaces} to edit")
            if old.instrument != order.instrument or old.side != order.side:
                raise Refused(
                    11029, "invalid_arguments", "an edit keeps the order's instrument and side"
                )
        key = (order.account, order.slot)
        superseded = [self.by_slot[key]] if key in self.by_slot else []
        if inp.replaces and inp.replaces not in superseded:
            superseded.append(inp.replaces)
        if superseded:
            # Check first what the engine would refuse, so that a refused edit or slot
            # takeover leaves the old order where it was.
            self._precheck(signed)
            for order_id in superseded:
                self.engine.cancel(order_id)
        try:
            result = self.engine.submit(
                order.account,
                order.instrument,
                order.side,
                order.price,
                order.size,
                order.flags,
                signed,
                self.timestamp,
            )
        except MatchingError as exc:
            if superseded:
                raise InvariantError(f"the engine refused a prechecked order: {exc}") from exc
            raise Refused(exc.code, exc.message, str(exc)) from None
        for order_id in superseded:
            reason = "edited" if order_id == inp.replaces else "slot reused"
            outcome.cancelled.append(self._close(order_id, "cancelled", reason))
        self.slot_nonce[key] = order.nonce
        self.max_nonce[order.account] = max(self.max_nonce.get(order.account, -1), order.nonce)
        view = OrderView(
            result.order_id,
            order.account,
            order.instrument,
            order.side,
            order.price,
            order.size,
            order.flags,
            inp.label,
            self.now_ms,
            self.seq + 1,
            signed.digest,
            updated_ms=self.now_ms,
            slot=order.slot,
        )
        self.orders[view.order_id] = view
        self.events.books.add(order.instrument)
        for fill in result.fills:
            outcome.trades.append(self._record_fill(fill))
        for gone in result.cancelled:
            outcome.cancelled.append(self._close(gone.order_id, "cancelled", gone.reason.name))
        outcome.order = view
        if result.status in (OrderStatus.RESTING, OrderStatus.PARTIALLY_FILLED_RESTING):
            self.by_slot[key] = view.order_id
            self.events.orders.append(view)
            return outcome
        state = "filled" if result.status is OrderStatus.FILLED else "cancelled"
        reason = result.reason.name if result.reason is not None else ""
        if result.status is OrderStatus.REJECTED:
            state = "rejected"
        self._close(view.order_id, state, reason)
        rejection = self.gate.rejections[-1] if self.gate.rejections else None
        self.gate.rejections.clear()
        if result.reason is CancelReason.TAKER_MARGIN and rejection is not None:
            # Makers the walk cancelled stay cancelled, so this is an outcome, not a
            # refusal: the API reports the STF's reason as the order's error.
            outcome.error = Refused(rejection.code, rejection.error, rejection.message)
        return outcome

    def _authorise_order(self, signed: SignedOrder) -> None:
        order = signed.order
        env = self.gate.env
        if signed.digest != env.order_digest(order):
            raise Refused(13009, "unauthorized", "the order digest does not match its fields")
        try:
            signer = env.order_signer(signed.digest, signed.signature)
        except ExchangeError as exc:
            raise Refused(13009, "unauthorized", exc.message) from None
        try:
            account = self.state.account(order.account)
        except ExchangeError as exc:
            raise Refused(exc.code, exc.name, exc.message) from None
        if signer not in account.keys:
            raise Refused(
                13009,
                "unauthorized",
                f"the order is not signed by a key of account {order.account}",
            )
        now = self.timestamp
        if order.expiry <= now:
            raise Refused(10010, "order_expired", "the order's expiry has passed")
        if order.nonce < account.nonce_floor:
            raise Refused(10010, "order_cancelled", "the order's nonce is below the nonce floor")
        used = self.slot_nonce.get((order.account, order.slot), -1)
        slot = self.state.get(slot_key(order.account, order.slot))
        on_chain = slot.nonce if isinstance(slot, OrderSlot) else -1
        if order.nonce <= max(used, on_chain):
            raise Refused(
                11029,
                "invalid_arguments",
                f"slot {order.slot} already took nonce {max(used, on_chain)}:"
                " sign a new order with a higher nonce",
            )

    def _precheck(self, signed: SignedOrder) -> None:
        """Refuse, before anything changes, what :meth:`MatchingEngine.submit` would."""
        order = signed.order
        instrument = order.instrument
        if instrument not in self.engine.instruments():
            raise Refused(10020, "invalid_or_unsupported_instrument", "unknown instrument")
        expiry = self.engine.expiry(instrument)
        if expiry is not None and expiry <= self.timestamp:
            raise Refused(10012, "book_closed", "the instrument has expired")
        book = self.engine.book(instrument)
        if order.price % book.tick or order.size % book.lot:
            raise Refused(10043, "price_wrong_tick", "price or amount is off the tick/lot grid")
        if order.flags & OrderFlags.POST_ONLY:
            best = book.best_ask() if order.side is Side.BUY else book.best_bid()
            crosses = best is not None and (
                order.price >= best if order.side is Side.BUY else order.price <= best
            )
            if crosses:
                raise Refused(11054, "post_only_reject", "a post-only order would take")

    def _cancel(self, inp: CancelOrder) -> Outcome:
        self._authorise(
            inp.account,
            cancel_digest(self.cfg.domain_separator, inp.account, inp.order_id),
            inp.signature,
        )
        view = self.orders.get(inp.order_id)
        if view is None or view.account != inp.account:
            raise Refused(10004, "order_not_found", f"no open order {inp.order_id}")
        try:
            self.engine.cancel(inp.order_id)
        except UnknownOrderError:
            raise Refused(10004, "order_not_found", f"no open order {inp.order_id}") from None
        return Outcome(order=self._close(inp.order_id, "cancelled", CancelReason.USER.name))

    def _cancel_all(self, inp: CancelAll) -> Outcome:
        digest = cancel_all_digest(
            self.cfg.domain_separator, inp.account, inp.instrument, inp.timestamp_ms
        )
        self._authorise(inp.account, digest, inp.signature)
        if inp.timestamp_ms <= self.last_cancel_all.get(inp.account, 0):
            raise Refused(
                11029, "invalid_arguments", "cancel-all timestamp is not newer than the last"
            )
        if abs(inp.timestamp_ms - self.now_ms) > CANCEL_ALL_WINDOW_MS:
            raise Refused(11029, "invalid_arguments", "cancel-all timestamp is too far from now")
        if inp.instrument and inp.instrument not in self.engine.instruments():
            raise Refused(10020, "invalid_or_unsupported_instrument", "unknown instrument")
        self.last_cancel_all[inp.account] = inp.timestamp_ms
        outcome = Outcome()
        for order in self.engine.cancel_all(inp.account, inp.instrument or None):
            outcome.cancelled.append(self._close(order.order_id, "cancelled", "USER"))
        return outcome

    def _authorise(self, account: int, digest: bytes, signature: bytes) -> None:
        try:
            signer = recover_address(digest, signature)
            keys = self.state.account(account).keys
        except SignatureError as exc:
            raise Refused(13009, "unauthorized", f"bad signature: {exc}") from None
        except ExchangeError as exc:
            raise Refused(exc.code, exc.name, exc.message) from None
        if signer not in keys:
            raise Refused(13009, "unauthorized", f"not signed by a key of account {account}")

    def _close(self, order_id: int, state: str, reason: str) -> OrderView:
        view = self.orders.pop(order_id)
        view.state = state
        view.reason = reason
        view.updated_ms = self.now_ms
        key = (view.account, view.slot)
        if self.by_slot.get(key) == order_id:
            del self.by_slot[key]
        self.closed[order_id] = view
        if len(self.closed) > HISTORY:
            del self.closed[next(iter(self.closed))]
        self.events.orders.append(view)
        self.events.books.add(view.instrument)
        return view

    def _record_fill(self, fill: MatchFill) -> Trade:
        # The fees the STF charged (trading.settle_fill, liquidation.liquidate): a
        # liquidated taker pays no trading fee (its penalty goes to the fund).
        inst = self.state.instrument(fill.instrument)
        value = notional(fill.price, fill.size)
        liquidation = isinstance(fill.taker_payload, LiquidationTaker)
        maker_fee = ppm_of(value, inst.maker_fee_ppm, Rounding.UP)
        taker_fee = 0 if liquidation else ppm_of(value, inst.taker_fee_ppm, Rounding.UP)
        trade = Trade(
            self.next_trade_id,
            fill.instrument,
            fill.price,
            fill.size,
            fill.taker_side,
            fill.maker_order_id,
            fill.taker_order_id,
            fill.maker_account,
            fill.taker_account,
            maker_fee,
            taker_fee,
            self.now_ms,
            self.builder.blocks[-1].number + 1,
            liquidation,
        )
        self.next_trade_id += 1
        self.fill_count += 1
        self.traders.add(fill.maker_account)
        self.traders.add(fill.taker_account)
        for order_id in (fill.maker_order_id, fill.taker_order_id):
            view = self.orders.get(order_id)
            if view is not None:
                view.filled += fill.size
                view.notional += fill.price * fill.size
                view.updated_ms = self.now_ms
                if order_id == fill.maker_order_id:
                    self.events.orders.append(view)
        self.trades.setdefault(fill.instrument, deque(maxlen=HISTORY)).append(trade)
        for account in (fill.maker_account, fill.taker_account):
            self.account_trades.setdefault(account, deque(maxlen=HISTORY)).append(trade)
        self.events.trades.append(trade)
        maker = self.orders.get(fill.maker_order_id)
        if maker is not None and maker.filled == maker.size:
            self._close(maker.order_id, "filled", "")
        return trade

    # -- liquidations -------------------------------------------------------------------------

    def _liquidate(self, outcome: Outcome) -> None:
        now = self.timestamp
        for account in underwater(self.state, now, sorted(self.traders)):
            for order in self.engine.cancel_all(account):
                outcome.cancelled.append(self._close(order.order_id, "cancelled", "LIQUIDATION"))
            for instrument in self.state.account(account).instruments:
                if instrument not in self.engine.instruments():
                    continue
                plan = close_order(self.state, account, instrument)
                if plan is None:
                    continue
                side, limit, size = plan
                size -= size % self.engine.book(instrument).lot
                if size > 0:
                    try:
                        result = self.engine.submit(
                            account,
                            instrument,
                            side,
                            limit,
                            size,
                            OrderFlags.IOC,
                            LiquidationTaker(account),
                        )
                    except MatchingError:
                        result = None
                    if result is not None:
                        for fill in result.fills:
                            outcome.trades.append(self._record_fill(fill))
                        self.gate.rejections.clear()
                if self.state.position(account, instrument).size != 0:
                    tx = Backstop(account, instrument)
                    if apply_tx(self.state, tx, self.gate.env).ok:
                        self.gate.pending.append(tx)

    # -- queries ------------------------------------------------------------------------------

    def order(self, order_id: int) -> OrderView | None:
        return self.orders.get(order_id) or self.closed.get(order_id)

    def open_orders(self, account: int) -> list[OrderView]:
        return [self.orders[o.order_id] for o in self.engine.open_orders(account)]

    def withdrawal_count(self, block: int) -> int:
        """How many withdrawals the chain had recorded by the end of ``block``."""
        at = bisect_right(self.withdrawal_counts, (block, 2**64)) - 1
        return self.withdrawal_counts[at][1]

    def drain(self) -> Events:
        events, self.events = self.events, Events()
        return events
