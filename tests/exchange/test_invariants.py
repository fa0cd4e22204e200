"""Stateful property test of the settlement STF (docs/design/consensus.md §3–§7).

A Hypothesis ``RuleBasedStateMachine`` drives a :class:`rollbook.sim.world.World` (the
real STF, real EIP-712 signatures) with one or two perpetuals and four traders:
deposits, withdrawals (signed and forced from L1), transfers, fills between random
traders (makers reused for partial fills, over-fills, expired / far-expiry / low-nonce
/ below-floor orders, reduce-only / post-only / IOC flags, too-low fee bounds), nonce
floor raises, oracle random walks, hour crossings (funding), big shocks walked in
several max-move steps, ``Liquidate`` and ``Backstop`` on whichever accounts are below
maintenance, ``SettleAccount`` and bare time advances. Many txs are rejected; every
rejected tx must leave ``state.root()`` unchanged (checked as each tx is applied).

Invariants, exactly, to the unit (1, 2, 3, 5, 7 after every rule; 3, 4 and 5 also per
accepted trade; 6 at teardown). Every assertion message starts with its number (§n for
an extra check of consensus.md section n):

1. Conservation: Σ balances (incl. the insurance fund, account 0) + fees + Σ pools
   == deposits − withdrawals (and the withdrawal leaves sum to the withdrawals).
2. Open interest: per instrument Σ long sizes == Σ |short sizes| == open_interest.
3. Orders: every slot's ``filled`` ≤ the size of the order whose hash it records;
   the total accepted fill of every signed order ≤ its size; one (account, slot,
   nonce) is filled by one order only; no accepted fill of an order that had expired,
   lay beyond the lifetime bound or below the nonce floor (checked per accepted Fill /
   Liquidate, with the reduce-only, post-only and limit-price rules).
4. Fees: each accepted fill charges each side exactly ``ceil(n · rate / 1e6)`` with
   its instrument rate, never more than ``ceil(n · maxFeePpm / 1e6)`` of its signed
   order, and the fee account grows by exactly their sum (derived from balance deltas).
5. No trader account with zero positions has a negative balance; after an accepted
   Backstop that leaves the account flat its balance is exactly ``max(0, equity)``,
   and a Liquidate that closes it past its bankruptcy price leaves it at exactly 0.
6. Determinism: replaying the tape of every tx (accepted and rejected, with its block
   time, origin and L1 sender) on a fresh genesis state, without the signature cache
   and with the other fill path (the optimised twin if the run used the readable STF,
   and vice versa), gives the same receipts and the same state root (at teardown).
7. Each account's ``instruments`` is exactly the set of instruments where it has a
   non-zero position leaf, without duplicates; traders hold ≤ ``max_positions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, cast

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from rollbook.crypto.secp256k1 import private_key_address
from rollbook.exchange.audit import flat_debts
from rollbook.exchange.env import SignatureCache, TxEnv
from rollbook.exchange.leaves import (
    Account,
    AssetPrice,
    Instrument,
    OrderSlot,
    Position,
    Withdrawal,
)
from rollbook.exchange.numeric import PPM, SIZE_ONE, Rounding, notional, ppm_of, value_at_mark
from rollbook.exchange.orders import SignedOrder
from rollbook.exchange.positions import pending_payment
from rollbook.exchange.state import State, StepTracer
from rollbook.exchange.stf import Receipt, apply_tx, genesis
from rollbook.exchange.txs import (
    Backstop,
    Deposit,
    Fill,
    Liquidate,
    NonceFloor,
    Origin,
    SetRiskParams,
    SettleAccount,
    Transfer,
    Tx,
    Withdraw,
    sign_owner_tx,
)
from rollbook.exchange.types import OrderFlags, Side
from rollbook.sim.world import Trader, World, usd

HOUR = 3600
LIFETIME = 90 * 24 * 3600
SCRATCH_SLOT = 60_000  # low-nonce orders share slots 60000 / 60001
# instrument id -> (symbol, asset, tick, lot, first price in whole USD)
PERPS = {
    1: ("ETH_USDC-PERPETUAL", 1, 50_000, 100_000, 2_000),
    2: ("BTC_USDC-PERPETUAL", 2, 1_000_000, 10_000, 60_000),
}


# -- the taped world ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Taped:
    """One applied tx as a verifier sees it: the tx, its block time and origin."""

    tx: Tx
    timestamp: int
    origin: Origin
    sender: bytes | None
    receipt: Receipt


class TapedWorld(World):
    """A World that records every tx and checks that a rejected tx changes no leaf.

    ``fast`` selects the STF's optimised fill twin (``TxEnv.fast``) for this world.
    """

    def __post_init__(self) -> None:
        self.tape: list[Taped] = []
        self.fast = False
        self.known_root: bytes | None = None
        super().__post_init__()

    def env(self, origin: Origin = Origin.L2, l1_sender: bytes | None = None) -> TxEnv:
        env = super().env(origin, l1_sender)
        env.fast = self.fast
        return env

    def l2(self, tx: Tx) -> Receipt:
        return self.run(tx, Origin.L2, None)

    def l1(self, tx: Tx, sender: bytes | None = None) -> Receipt:
        return self.run(tx, Origin.L1, sender)

    def run(self, tx: Tx, origin: Origin, sender: bytes | None) -> Receipt:
        known = self.known_root  # the root of the current state, if already computed
        before = self.state.copy() if known is None else None
        # On the readable path every tx also runs under the step tracer: any leaf
        # touched outside its step's declaration raises (docs/design/consensus.md §11).
        tracer = None if self.fast else StepTracer()
        self.state.tracer = tracer
        try:
            receipt = apply_tx(self.state, tx, self.env(origin, sender))
        finally:
            self.state.tracer = None
        if tracer is not None:
            for step in tracer.steps:
                assert len(step.declared) <= 5, f"step {step.name} declares too many leaves"
        self.tape.append(Taped(tx, self.now, origin, sender, receipt))
        self.known_root = None
        if not receipt.ok:
            expected = known if known is not None else cast(State, before).root()
            self.known_root = self.state.root()
            assert self.known_root == expected, (
                f"a rejected {type(tx).__name__} ({receipt.error}: {receipt.message})"
                " changed the state root"
            )
        return receipt


@dataclass(frozen=True, slots=True)
class Before:
    """What a trade's checks need from the state before it: per account, the balance,
    the lazy payments its settlement will make, the nonce floor; and the fee account."""

    balance: dict[int, int]
    pending: dict[int, int]
    floor: dict[int, int]
    fees: int


# -- pure views of the state (no settlement is written) ------------------------------------


def accounts(state: State) -> list[tuple[int, Account]]:
    return [(cast(int, k[1]), cast(Account, state.get(k))) for k in state.keys_of_kind("acct")]


def positions(state: State) -> list[tuple[int, int, Position]]:
    """``(account, instrument, position)`` for every position leaf."""
    return [
        (cast(int, k[1]), cast(int, k[2]), cast(Position, state.get(k)))
        for k in state.keys_of_kind("pos")
    ]


def instruments(state: State) -> list[Instrument]:
    return [cast(Instrument, state.get(k)) for k in state.keys_of_kind("inst")]


def slots(state: State) -> list[tuple[int, int, OrderSlot]]:
    """``(account, slot index, slot)`` for every order slot leaf."""
    return [
        (cast(int, k[1]), cast(int, k[2]), cast(OrderSlot, state.get(k)))
        for k in state.keys_of_kind("slot")
    ]


def withdrawals(state: State) -> list[Withdrawal]:
    return [cast(Withdrawal, state.get(k)) for k in state.keys_of_kind("wd")]


def pending_total(state: State, index: int) -> int:
    """What settling every position of the account would move into the pools."""
    total = 0
    for instrument_id in state.account(index).instruments:
        instrument = state.instrument(instrument_id)
        total += pending_payment(state.position(index, instrument_id), instrument)
    return total


def margin_view(state: State, index: int) -> tuple[int, int]:
    """``(equity, MM)`` exactly as :func:`rollbook.exchange.margin.health` computes them."""
    account = state.account(index)
    equity = account.balance
    maintenance = 0
    for instrument_id in account.instruments:
        instrument = state.instrument(instrument_id)
        position = state.position(index, instrument_id)
        equity -= pending_payment(position, instrument)
        value = value_at_mark(instrument.mark, position.size)
        equity += value
        maintenance += ppm_of(abs(value), instrument.mm_ppm, Rounding.UP)
    return equity, maintenance


def to_tick(price: int, tick: int, up: bool = False) -> int:
    """``price`` on the tick grid (down or up), at least one tick."""
    ticks = -(-price // tick) if up else price // tick
    return max(1, ticks) * tick


def moved(old: int, move_ppm: int) -> int:
    return max(1, old * (PPM + move_ppm) // PPM)


def clamp_move(old: int, new: int, max_move_ppm: int) -> int:
    """``new`` limited to the oracle's max move from ``old``."""
    limit = ppm_of(old, max_move_ppm, Rounding.DOWN)
    return max(old - limit, min(old + limit, new))


# -- plans (what a rule does; printed by Hypothesis in a failing sequence) ---------------


class OrderPlan(NamedTuple):
    kind: str
    flags: OrderFlags
    max_fee_ppm: int
    size_mult: int
    pick: int


class FillPlan(NamedTuple):
    noisy: bool  # False: only valid variants (fresh, reused, low-nonce orders)
    instrument: int
    maker: int
    taker: int
    maker_side: Side
    price_ppm: int
    taker_gap_ppm: int
    no_cross: bool
    leverage_pct: int
    off_grid: bool
    reuse_size: str
    maker_order: OrderPlan
    taker_order: OrderPlan


class LiquidatePlan(NamedTuple):
    target: int
    instrument: int
    maker: int
    band_ppm: int
    size_pct: int
    order_mult: int
    refresh: bool  # first publish a fresh oracle report (as a sequencer would)


# Mostly valid orders, so that enough fills are accepted; every kind of dead order too.
ORDER_KINDS = (
    ["fresh"] * 6
    + ["reuse"] * 5
    + ["low_nonce"] * 3
    + ["expired", "expired", "short_expiry", "short_expiry", "far_expiry"]
    + ["below_floor", "below_floor"]
)
FLAGS = [OrderFlags.NONE] * 8 + [OrderFlags.REDUCE_ONLY, OrderFlags.POST_ONLY, OrderFlags.IOC]

order_plans = st.builds(
    OrderPlan,
    kind=st.sampled_from(ORDER_KINDS),
    flags=st.sampled_from(FLAGS),
    max_fee_ppm=st.sampled_from([1_000] * 8 + [500, 100, 99, 0]),
    size_mult=st.integers(1, 3),
    pick=st.integers(0, 1_000),
)
fill_plans = st.builds(
    FillPlan,
    noisy=st.sampled_from([False, False, True]),
    instrument=st.integers(0, 1),
    maker=st.integers(0, 3),
    taker=st.sampled_from([1, 2, 3, 1, 2, 3, 1, 2, 3, 0]),  # maker + taker (mod 4); 0: self
    maker_side=st.sampled_from(Side),
    price_ppm=st.integers(-20_000, 20_000),
    taker_gap_ppm=st.integers(0, 10_000),
    no_cross=st.sampled_from([False] * 7 + [True]),
    leverage_pct=st.integers(1, 2_100),
    off_grid=st.sampled_from([False] * 9 + [True]),
    reuse_size=st.sampled_from(["rest", "part", "over", "lot"]),
    maker_order=order_plans,
    taker_order=order_plans,
)
liquidate_plans = st.builds(
    LiquidatePlan,
    target=st.integers(0, 100),
    instrument=st.integers(0, 1),
    maker=st.integers(0, 2),
    band_ppm=st.integers(-10_000, 60_000),
    size_pct=st.sampled_from([10, 25, 50, 100, 100, 100, 120]),
    order_mult=st.integers(1, 2),
    refresh=st.sampled_from([True, True, True, False]),
)


def clean(plan: OrderPlan) -> OrderPlan:
    """The valid variant of an order plan: live, plain, within the fee bound."""
    kind = plan.kind if plan.kind in ("fresh", "reuse", "low_nonce") else "fresh"
    return plan._replace(kind=kind, flags=OrderFlags.NONE, max_fee_ppm=1_000)


# -- the machine ---------------------------------------------------------------------------


class ExchangeMachine(RuleBasedStateMachine):
    world: TapedWorld  # set by the ``setup`` initialize rule, which always runs first

    # -- helpers -----------------------------------------------------------------------

    @property
    def w(self) -> TapedWorld:
        return self.world

    @property
    def state(self) -> State:
        return self.w.state

    def inst(self, instrument_id: int) -> Instrument:
        return self.state.instrument(instrument_id)

    def pick_instrument(self, pick: int) -> int:
        return 1 + pick % self.n_instruments

    def publish(self, moves: dict[int, int], premiums: dict[int, int], clamp: bool) -> Receipt:
        """An oracle report at ``now``: each asset's index moves by ``moves[asset]`` ppm;
        each perp's mark is its index × (1 + premium), clamped to the max move if asked."""
        max_move = self.state.oracle().max_move_ppm
        index_prices: dict[int, int] = {}
        marks: dict[int, int] = {}
        for instrument_id in range(1, self.n_instruments + 1):
            instrument = self.inst(instrument_id)
            price = cast(AssetPrice, self.state.price(instrument.asset))
            index = moved(price.price, moves.get(instrument.asset, 0))
            index_prices[instrument.asset] = index
            mark = moved(index, premiums.get(instrument_id, 0))
            if clamp:
                mark = clamp_move(instrument.mark, mark, max_move)
            marks[instrument_id] = mark
        return self.w.l2(self.w.oracle_update(index_prices, marks))

    def refresh_marks(self) -> None:
        """Publish unchanged prices if the last report is older than the staleness."""
        oracle = self.state.oracle()
        if self.w.now - oracle.last_timestamp > oracle.staleness:
            receipt = self.publish({}, {}, True)
            assert receipt.ok, receipt

    def new_order(
        self,
        trader: Trader,
        side: Side,
        price: int,
        size: int,
        instrument_id: int,
        plan: OrderPlan,
    ) -> SignedOrder:
        now = self.w.now
        expiry: int | None = None
        slot: int | None = None
        nonce: int | None = None
        if plan.kind in ("fresh", "reuse"):
            expiry = now + 24 * HOUR  # long enough to be reused across hours
        elif plan.kind == "low_nonce":  # a shared scratch slot, nonce 0 or the floor
            floor = self.state.account(trader.index).nonce_floor
            slot = SCRATCH_SLOT + int(plan.pick % 5 == 4)
            nonce = 0 if plan.pick % 3 else floor + int(plan.pick % 7 == 6)
        elif plan.kind == "expired":
            expiry = now - 1 - plan.pick % 30
        elif plan.kind == "short_expiry":
            expiry = now + plan.pick % 30
        elif plan.kind == "far_expiry":
            expiry = now + LIFETIME + 1 + plan.pick % 100
        elif plan.kind == "below_floor":
            floor = self.state.account(trader.index).nonce_floor
            nonce = max(0, floor - 1 - int(plan.pick % 5 == 4))
        signed = self.w.order(
            trader,
            side,
            price,
            size,
            instrument_id,
            plan.flags,
            plan.max_fee_ppm,
            expiry,
            slot,
            nonce,
        )
        self.orders[signed.digest] = signed
        self.book.append(signed)
        return signed

    def reusable(
        self, instrument_id: int, side: Side | None, exclude: int | None, pick: int
    ) -> SignedOrder | None:
        """A previously signed order of the instrument (on ``side``, not of ``exclude``)."""
        candidates = [
            o
            for o in self.book
            if o.order.instrument == instrument_id
            and (side is None or o.order.side is side)
            and o.order.account != exclude
        ]
        # Mostly one of the last few orders: partial fills, then over-fills, of one order.
        recent = candidates[-6:] if pick % 4 else candidates
        return recent[pick % len(recent)] if candidates else None

    def remaining(self, signed: SignedOrder) -> int:
        return signed.order.size - self.filled.get(signed.digest, 0)

    def record_fill(self, signed: SignedOrder, size: int) -> None:
        """Count an accepted fill of ``signed``; one (account, slot, nonce), one order."""
        order = signed.order
        self.filled[signed.digest] = self.filled.get(signed.digest, 0) + size
        user = self.slot_users.setdefault((order.account, order.slot, order.nonce), signed.digest)
        assert user == signed.digest, (
            f"3: two different orders filled on account {order.account} slot {order.slot}"
            f" nonce {order.nonce} (§3: a different order on a used (slot, nonce) is"
            " SlotConflict)"
        )

    def snapshot(self, accounts: tuple[int, ...]) -> Before:
        state = self.state
        return Before(
            {a: state.account(a).balance for a in accounts},
            {a: pending_total(state, a) for a in accounts},
            {a: state.account(a).nonce_floor for a in accounts},
            state.globals().fees,
        )

    # -- setup -------------------------------------------------------------------------

    @initialize(
        n_instruments=st.integers(1, 2),
        max_positions=st.sampled_from([32, 32, 1]),
        deposits=st.lists(st.integers(500, 20_000), min_size=4, max_size=4),
        fast=st.booleans(),
        openings=st.lists(
            st.tuples(st.sampled_from(Side), st.integers(100, 1_800)), min_size=2, max_size=2
        ),
    )
    def setup(
        self,
        n_instruments: int,
        max_positions: int,
        deposits: list[int],
        fast: bool,
        openings: list[tuple[Side, int]],
    ) -> None:
        world = TapedWorld(cache=SignatureCache())
        world.fast = fast
        self.world = world
        self.n_instruments = n_instruments
        self.orders: dict[bytes, SignedOrder] = {}
        self.book: list[SignedOrder] = []
        self.filled: dict[bytes, int] = {}
        self.slot_users: dict[tuple[int, int, int], bytes] = {}
        if max_positions != 32:
            receipt = world.l1(SetRiskParams(max_positions, LIFETIME, 50_000, 500_000))
            assert receipt.ok, receipt
        index_prices: dict[int, int] = {}
        marks: dict[int, int] = {}
        for instrument_id in range(1, n_instruments + 1):
            symbol, asset, tick, lot, price = PERPS[instrument_id]
            receipt = world.list_perp(instrument_id, symbol, asset, tick, lot)
            assert receipt.ok, receipt
            index_prices[asset] = usd(price)
            marks[instrument_id] = usd(price)
        receipt = world.l2(world.oracle_update(index_prices, marks))
        assert receipt.ok, receipt
        self.traders = [world.add_trader(f"t{i}", amount) for i, amount in enumerate(deposits)]
        for trader, floor in zip(self.traders[2:], (2, 3), strict=True):
            # Two traders start with a raised nonce floor, so that orders below it exist
            # from the start; the other two keep floor 0, where nonce 0 is live.
            unsigned = NonceFloor(trader.index, floor)
            signature = sign_owner_tx(unsigned, trader.trading_key, world.separator)
            receipt = world.l2(NonceFloor(trader.index, floor, signature))
            assert receipt.ok, receipt
            trader.next_nonce = floor
        governance = world.governance_key
        self.fund = Trader("fund", 0, governance, governance)
        # Open positions from the start (t0 against t1, t2 against t3, at 1–18× leverage),
        # so that every later rule meets an exchange with risk on.
        plain = OrderPlan("fresh", OrderFlags.NONE, 1_000, 1, 0)
        for n, (side, leverage) in enumerate(openings):
            opening = FillPlan(
                noisy=False,
                instrument=n % n_instruments,
                maker=2 * n,
                taker=1,
                maker_side=side,
                price_ppm=0,
                taker_gap_ppm=0,
                no_cross=False,
                leverage_pct=leverage,
                off_grid=False,
                reuse_size="rest",
                maker_order=plain,
                taker_order=plain,
            )
            self.do_fill(opening)

    # -- collateral --------------------------------------------------------------------

    @rule(who=st.integers(0, 3), amount=st.integers(1, 5_000), bad_id=st.booleans())
    def deposit(self, who: int, amount: int, bad_id: bool) -> None:
        w = self.w
        trader = self.traders[who]
        deposit_id = w.next_deposit + (7 if bad_id and amount % 3 == 0 else 0)
        receipt = w.l1(Deposit(deposit_id, trader.owner, usd(amount)))
        if receipt.ok:
            w.next_deposit += 1

    @rule(
        who=st.integers(0, 4),
        pct=st.integers(1, 150),
        bad_nonce=st.booleans(),
        forced=st.booleans(),
    )
    def withdraw(self, who: int, pct: int, bad_nonce: bool, forced: bool) -> None:
        w = self.w
        trader = self.traders[who] if who < 4 else self.fund
        account = self.state.account(trader.index)
        amount = max(1, account.balance * pct // 100)
        if forced:
            w.l1(Withdraw(trader.index, amount, 0), sender=trader.owner)
        else:
            nonce = account.tx_nonce + (1 if bad_nonce and pct % 4 == 0 else 0)
            w.l2(w.owner_signed(Withdraw, trader, account=trader.index, amount=amount, nonce=nonce))

    @rule(
        sender=st.integers(0, 4),
        recipient=st.integers(0, 4),
        pct=st.integers(1, 150),
        forced=st.booleans(),
    )
    def transfer(self, sender: int, recipient: int, pct: int, forced: bool) -> None:
        w = self.w
        source = self.traders[sender] if sender < 4 else self.fund
        if recipient == sender:
            recipient = (recipient + 1) % 5
        target = self.traders[recipient].index if recipient < 4 else 0
        account = self.state.account(source.index)
        amount = max(1, account.balance * pct // 100)
        if forced:
            w.l1(Transfer(source.index, target, amount, 0), sender=source.owner)
        else:
            w.l2(
                w.owner_signed(
                    Transfer,
                    source,
                    sender=source.index,
                    recipient=target,
                    amount=amount,
                    nonce=account.tx_nonce,
                )
            )

    @rule(
        who=st.integers(0, 3),
        mode=st.sampled_from(["cancel_all", "keep_last", "bump", "same"]),
        signer=st.sampled_from(["trading", "owner", "l1"]),
    )
    def raise_nonce_floor(self, who: int, mode: str, signer: str) -> None:
        """Cancel every order signed so far, or all but the last, or raise the floor by
        one, or (rejected) repeat the current floor."""
        w = self.w
        trader = self.traders[who]
        floor = self.state.account(trader.index).nonce_floor
        if mode == "cancel_all":
            floor = trader.next_nonce
        elif mode == "keep_last":
            floor = trader.next_nonce - 1
        elif mode == "bump":
            floor += 1
        if signer == "l1":
            receipt = w.l1(NonceFloor(trader.index, floor), sender=trader.owner)
        else:
            key = trader.trading_key if signer == "trading" else trader.owner_key
            unsigned = NonceFloor(trader.index, floor)
            receipt = w.l2(
                NonceFloor(trader.index, floor, sign_owner_tx(unsigned, key, w.separator))
            )
        if receipt.ok:
            assert self.state.account(trader.index).nonce_floor == floor
            trader.next_nonce = max(trader.next_nonce, floor)

    # -- time and the oracle -----------------------------------------------------------

    @rule(seconds=st.integers(1, 90))
    def advance(self, seconds: int) -> None:
        self.w.advance(seconds)

    @rule(
        seconds=st.integers(0, 45),
        moves=st.lists(st.integers(-110_000, 110_000), min_size=2, max_size=2),
        premiums=st.lists(st.integers(-30_000, 30_000), min_size=2, max_size=2),
        clamp=st.sampled_from([True, True, True, False]),
    )
    def oracle_walk(self, seconds: int, moves: list[int], premiums: list[int], clamp: bool) -> None:
        self.w.advance(seconds)
        self.publish({1: moves[0], 2: moves[1]}, {1: premiums[0], 2: premiums[1]}, clamp)

    @rule(
        offset=st.integers(0, 30),
        premiums=st.lists(st.integers(-30_000, 30_000), min_size=2, max_size=2),
    )
    def cross_hour(self, offset: int, premiums: list[int]) -> None:
        w = self.w
        before = {i: self.inst(i).funding_index for i in range(1, self.n_instruments + 1)}
        hours = {i: self.inst(i).funding_hour for i in range(1, self.n_instruments + 1)}
        w.now = (w.now // HOUR + 1) * HOUR + offset
        receipt = self.publish({}, {1: premiums[0], 2: premiums[1]}, True)
        assert receipt.ok, receipt
        for i in range(1, self.n_instruments + 1):
            instrument = self.inst(i)
            # §5: the first report of a new hour closes the previous one.
            assert instrument.funding_hour == w.now // HOUR > hours[i], "§5: hour not closed"
            if instrument.funding_index != before[i]:
                assert instrument.premium_samples == 1, "§5: premium samples not restarted"

    @rule(
        instrument=st.integers(0, 1),
        direction=st.sampled_from(["adverse", "adverse", "down", "up"]),
        steps=st.integers(2, 5),
        step_ppm=st.integers(50_000, 99_000),
    )
    def shock(self, instrument: int, direction: str, steps: int, step_ppm: int) -> None:
        """A big move walked in several reports, each within the max move. ``adverse``:
        against the most leveraged trader's position in the instrument."""
        instrument_id = self.pick_instrument(instrument)
        down = direction == "down"
        if direction == "adverse":
            exposure = [
                (margin_view(self.state, t.index)[1], t.index)
                for t in self.traders
                if self.state.position(t.index, instrument_id).size
            ]
            if exposure:
                index = max(exposure)[1]
                down = self.state.position(index, instrument_id).size > 0
        asset = self.inst(instrument_id).asset
        for _ in range(steps):
            self.w.advance(3)
            receipt = self.publish({asset: -step_ppm if down else step_ppm}, {}, True)
            assert receipt.ok, receipt

    # -- trading -----------------------------------------------------------------------

    @rule(plans=st.lists(fill_plans, min_size=1, max_size=3))
    def fill(self, plans: list[FillPlan]) -> None:
        for plan in plans:
            self.do_fill(plan)

    @rule(plan=fill_plans)
    def fill_more(self, plan: FillPlan) -> None:
        """Fills are the heart of the STF: a second rule doubles their share of steps."""
        self.do_fill(plan)

    def do_fill(self, plan: FillPlan) -> None:
        w = self.w
        if not plan.noisy:
            plan = plan._replace(
                taker=plan.taker or 1,
                no_cross=False,
                off_grid=False,
                maker_order=clean(plan.maker_order),
                taker_order=clean(plan.taker_order),
            )
        instrument_id = self.pick_instrument(plan.instrument)
        instrument = self.inst(instrument_id)
        tick, lot = instrument.tick, instrument.lot
        maker_side, maker_at = plan.maker_side, plan.maker
        maker = taker = None
        if plan.maker_order.kind == "reuse":
            maker = self.reusable(instrument_id, None, None, plan.maker_order.pick)
            if maker is not None:
                maker_side = maker.order.side
                maker_at = [t.index for t in self.traders].index(maker.order.account)
        # plan.taker is an offset from the maker: 0 is a self-trade (refused by the STF).
        taker_at = (maker_at + plan.taker) % 4
        taker_side = maker_side.opposite
        if plan.taker_order.kind == "reuse":
            exclude = None if plan.taker == 0 else self.traders[maker_at].index
            taker = self.reusable(instrument_id, taker_side, exclude, plan.taker_order.pick)
        # The fill size: from the reused orders' remaining sizes, else from leverage.
        reused = [o for o in (maker, taker) if o is not None]
        if reused:
            rest = min(self.remaining(o) for o in reused)
            if rest <= 0 or plan.reuse_size == "lot":
                size = lot
            elif plan.reuse_size == "part":
                size = max(lot, rest // 2 // lot * lot)
            elif plan.reuse_size == "over":
                size = rest + lot
            else:
                size = rest
        else:
            equity = min(
                margin_view(self.state, self.traders[maker_at].index)[0],
                margin_view(self.state, self.traders[taker_at].index)[0],
            )
            target = max(equity, usd(10)) * plan.leverage_pct // 100
            price = max(instrument.mark, tick)
            size = max(1, target * SIZE_ONE // (price * lot)) * lot
        if plan.off_grid:
            size += 1
        if maker is None:
            price = to_tick(moved(instrument.mark, plan.price_ppm), tick)
            if taker is not None:  # meet the reused taker at its limit
                price = taker.order.price
            maker = self.new_order(
                self.traders[maker_at],
                maker_side,
                price,
                size * plan.maker_order.size_mult,
                instrument_id,
                plan.maker_order,
            )
        price = maker.order.price
        if taker is None:
            gap = plan.taker_gap_ppm if taker_side is Side.BUY else -plan.taker_gap_ppm
            limit = to_tick(moved(price, gap), tick, up=taker_side is Side.BUY)
            if plan.no_cross:  # one tick on the wrong side of the maker's price
                limit = max(tick, price - tick * taker_side.sign)
            taker = self.new_order(
                self.traders[taker_at],
                taker_side,
                limit,
                size * plan.taker_order.size_mult,
                instrument_id,
                plan.taker_order,
            )
        accounts = (maker.order.account, taker.order.account)
        pre = self.snapshot(accounts)
        pre_sizes = {a: self.state.position(a, instrument_id).size for a in accounts}
        receipt = w.l2(Fill(maker, taker, size))
        if not receipt.ok:
            return
        self.check_fill(instrument, maker, taker, size, pre, pre_sizes)

    @rule(
        instrument=st.integers(0, 1),
        pick=st.integers(0, 100),
        part=st.sampled_from([100, 50, 25]),
        reduce_only=st.booleans(),
        refresh=st.booleans(),
    )
    def unwind(
        self, instrument: int, pick: int, part: int, reduce_only: bool, refresh: bool
    ) -> None:
        """A long and a short close against each other at mark, so that open interest
        returns to zero now and then (and the pool's dust is swept to the fund)."""
        if refresh:
            self.refresh_marks()
        instrument_id = self.pick_instrument(instrument)
        inst = self.inst(instrument_id)
        sizes = {t.index: self.state.position(t.index, instrument_id).size for t in self.traders}
        longs = [t for t in self.traders if sizes[t.index] > 0]
        shorts = [t for t in self.traders if sizes[t.index] < 0]
        if not longs or not shorts:
            return
        seller, buyer = longs[pick % len(longs)], shorts[pick // 7 % len(shorts)]
        both = min(sizes[seller.index], -sizes[buyer.index])
        size = max(inst.lot, both * part // 100 // inst.lot * inst.lot)
        price = to_tick(inst.mark, inst.tick)
        flags = OrderFlags.REDUCE_ONLY if reduce_only else OrderFlags.NONE
        plan = OrderPlan("fresh", flags, 1_000, 1, 0)
        maker = self.new_order(seller, Side.SELL, price, size, instrument_id, plan)
        taker = self.new_order(buyer, Side.BUY, price, size, instrument_id, plan)
        accounts = (seller.index, buyer.index)
        pre = self.snapshot(accounts)
        receipt = self.w.l2(Fill(maker, taker, size))
        if receipt.ok:
            pre_sizes = {a: sizes[a] for a in accounts}
            self.check_fill(inst, maker, taker, size, pre, pre_sizes)

    def check_fill(
        self,
        instrument: Instrument,
        maker: SignedOrder,
        taker: SignedOrder,
        size: int,
        pre: Before,
        pre_sizes: dict[int, int],
    ) -> None:
        state, now = self.state, self.w.now
        price = maker.order.price
        value = notional(price, size)
        balance, pending, floor = pre.balance, pre.pending, pre.floor
        # 3. the order rules of an accepted fill
        assert not taker.order.flags & OrderFlags.POST_ONLY, "3: a post-only order took"
        if taker.order.side is Side.BUY:
            assert price <= taker.order.price, "3: fill above the buyer's limit"
        else:
            assert price >= taker.order.price, "3: fill below the seller's limit"
        charged = 0
        for signed, rate in ((maker, instrument.maker_fee_ppm), (taker, instrument.taker_fee_ppm)):
            order = signed.order
            assert order.expiry >= now, f"3: order filled at {now} after its expiry {order.expiry}"
            assert order.expiry <= now + LIFETIME, "3: order beyond the lifetime bound filled"
            assert order.nonce >= floor[order.account], (
                f"3: order nonce {order.nonce} below the floor {floor[order.account]} filled"
            )
            self.record_fill(signed, size)
            new = state.position(order.account, instrument.instrument_id).size
            old = pre_sizes[order.account]
            assert new == old + size * order.side.sign, "2: position moved by the wrong size"
            if order.flags & OrderFlags.REDUCE_ONLY:
                assert abs(new) < abs(old) and (new == 0 or (new > 0) == (old > 0)), (
                    f"3: reduce-only order moved the position from {old} to {new}"
                )
            # 4. fee from the balance delta: Δbalance = −pending − side·n − fee
            post = state.account(order.account).balance
            fee = balance[order.account] - pending[order.account] - order.side.sign * value - post
            bound = ppm_of(value, order.max_fee_ppm, Rounding.UP)
            assert 0 <= fee <= bound, (
                f"4: fee {fee} on notional {value} exceeds the signed max "
                f"{order.max_fee_ppm} ppm ({bound})"
            )
            assert fee == ppm_of(value, rate, Rounding.UP), f"4: fee {fee} is not ceil(n·{rate})"
            charged += fee
        fees = state.globals().fees - pre.fees
        assert fees == charged, f"4: fee account grew by {fees}, the sides paid {charged}"

    @rule(plan=liquidate_plans)
    def liquidate(self, plan: LiquidatePlan) -> None:
        if plan.refresh:
            self.refresh_marks()
        w, state = self.w, self.state
        below = [t for t in self.traders if self.below(t.index, PPM)]
        target = (below or self.traders)[plan.target % len(below or self.traders)]
        held = state.account(target.index).instruments
        instrument_id = held[plan.instrument % len(held)] if held else self.pick_instrument(0)
        instrument = self.inst(instrument_id)
        position = state.position(target.index, instrument_id).size
        liq_side = Side.SELL if position >= 0 else Side.BUY
        others = [t for t in self.traders if t is not target]
        maker_trader = others[plan.maker % len(others)]
        if liq_side is Side.SELL:
            price = to_tick(moved(instrument.mark, -plan.band_ppm), instrument.tick, up=True)
        else:
            price = to_tick(moved(instrument.mark, plan.band_ppm), instrument.tick)
        lot = instrument.lot
        size = max(lot, abs(position) * plan.size_pct // 100 // lot * lot)
        fresh = OrderPlan("fresh", OrderFlags.NONE, 1_000, 1, 0)
        maker = self.new_order(
            maker_trader,
            liq_side.opposite,
            price,
            size * plan.order_mult,
            instrument_id,
            fresh,
        )
        accounts = (maker_trader.index, target.index)
        pre = self.snapshot(accounts)
        equity, maintenance = margin_view(state, target.index)
        receipt = w.l2(Liquidate(target.index, maker, size))
        if not receipt.ok:
            return
        assert equity < maintenance, f"§7: liquidated at equity {equity} ≥ maintenance"
        new = state.position(target.index, instrument_id).size
        assert abs(new) < abs(position) and (new == 0 or (new > 0) == (position > 0)), (
            f"§7: liquidation moved the position from {position} to {new}"
        )
        order = maker.order
        self.record_fill(maker, size)
        balance, pending, floor = pre.balance, pre.pending, pre.floor
        assert order.expiry >= w.now and order.nonce >= floor[order.account], "3: dead maker"
        value = notional(price, size)
        post = state.account(order.account).balance
        fee = balance[order.account] - pending[order.account] - order.side.sign * value - post
        assert 0 <= fee <= ppm_of(value, order.max_fee_ppm, Rounding.UP), f"4: maker fee {fee}"
        assert fee == ppm_of(value, instrument.maker_fee_ppm, Rounding.UP), "4: maker fee rate"
        assert state.globals().fees - pre.fees == fee, "4: fee account ≠ the maker fee"
        account = state.account(target.index)
        # The balance after the fill, before the penalty: Δ = −pending − side·n (no fee).
        gross = balance[target.index] - pending[target.index] - liq_side.sign * value
        if gross < 0 and not account.instruments:
            # Closed past its bankruptcy price: no penalty, and the deficit is covered at
            # once (§7), so the account ends at exactly zero.
            assert account.balance == 0, (
                f"5: account {target.index} closed past bankruptcy ends at {account.balance}"
            )
        else:
            penalty = gross - account.balance
            after = margin_view(state, target.index)[0] + penalty
            limit = min(ppm_of(value, instrument.liq_fee_ppm, Rounding.UP), max(0, after))
            assert 0 <= penalty <= limit, (
                f"§7: liquidation penalty {penalty} outside [0, min(liq_fee · {value},"
                f" max(0, equity after {after}))]"
            )

    def below(self, index: int, fraction_ppm: int) -> bool:
        """Is the account (with positions) below ``fraction`` of its maintenance margin?"""
        if not self.state.account(index).instruments:
            return False
        equity, maintenance = margin_view(self.state, index)
        return equity < ppm_of(maintenance, fraction_ppm, Rounding.DOWN) or equity < 0

    @rule(
        victim=st.integers(0, 100),
        instrument=st.integers(0, 1),
        fund=st.booleans(),
        refresh=st.sampled_from([True, True, True, False]),
    )
    def backstop(self, victim: int, instrument: int, fund: bool, refresh: bool) -> None:
        if refresh:
            self.refresh_marks()
        state = self.state
        backstop_ppm = state.globals().backstop_ppm
        below = [t.index for t in self.traders if self.below(t.index, backstop_ppm)]
        if below:
            index = below[victim % len(below)]
        else:
            index = 0 if fund and victim % 4 == 0 else self.traders[victim % 4].index
        held = state.account(index).instruments
        instrument_id = held[instrument % len(held)] if held else self.pick_instrument(instrument)
        equity, maintenance = margin_view(state, index)
        only = held == (instrument_id,)
        receipt = self.w.l2(Backstop(index, instrument_id))
        if not receipt.ok:
            return
        assert equity < 0 or equity < ppm_of(maintenance, backstop_ppm, Rounding.DOWN), (
            f"§7: backstop of account {index} at equity {equity}, maintenance {maintenance}"
        )
        account = state.account(index)
        assert instrument_id not in account.instruments
        if only:
            assert not account.instruments
            assert account.balance == max(0, equity), (
                f"5: after Backstop flat account {index} has balance {account.balance},"
                f" expected max(0, {equity})"
            )

    @rule(who=st.integers(0, 4))
    def settle(self, who: int) -> None:
        index = self.traders[who].index if who < 4 else 0
        receipt = self.w.l2(SettleAccount(index))
        assert receipt.ok, receipt
        for instrument_id in self.state.account(index).instruments:
            position = self.state.position(index, instrument_id)
            assert pending_payment(position, self.inst(instrument_id)) == 0

    # -- invariants --------------------------------------------------------------------

    @invariant()
    def inv1_conservation(self) -> None:
        state = self.state
        glob = state.globals()
        balances = sum(account.balance for _, account in accounts(state))
        pools = sum(instrument.pool for instrument in instruments(state))
        total = balances + glob.fees + pools
        expected = glob.total_deposits - glob.total_withdrawals
        assert total == expected, (
            f"1: balances {balances} + fees {glob.fees} + pools {pools} = {total}"
            f" ≠ deposits − withdrawals = {expected}"
        )
        paid = sum(leaf.amount for leaf in withdrawals(state))
        assert paid == glob.total_withdrawals, (
            f"1: withdrawal leaves sum to {paid}, total withdrawals {glob.total_withdrawals}"
        )

    @invariant()
    def inv2_open_interest(self) -> None:
        state = self.state
        longs: dict[int, int] = {}
        shorts: dict[int, int] = {}
        for _, instrument_id, position in positions(state):
            if position.size > 0:
                longs[instrument_id] = longs.get(instrument_id, 0) + position.size
            else:
                shorts[instrument_id] = shorts.get(instrument_id, 0) - position.size
        for instrument in instruments(state):
            i = instrument.instrument_id
            long_oi, short_oi = longs.pop(i, 0), shorts.pop(i, 0)
            assert long_oi == short_oi == instrument.open_interest, (
                f"2: instrument {i}: longs {long_oi}, shorts {short_oi},"
                f" open interest {instrument.open_interest}"
            )
        assert not longs and not shorts, f"2: positions in unlisted instruments {longs} {shorts}"

    @invariant()
    def inv3_no_overfill(self) -> None:
        for index, slot_index, slot in slots(self.state):
            signed = self.orders.get(slot.order_hash)
            where = f"account {index} slot {slot_index}"
            assert signed is not None, f"3: {where} records an order nobody signed"
            order = signed.order
            assert (order.account, order.slot, order.nonce) == (index, slot_index, slot.nonce), (
                f"3: {where} (nonce {slot.nonce}) records an order of another slot or nonce"
            )
            assert slot.filled <= order.size, (
                f"3: {where} filled {slot.filled} > order size {order.size}"
            )
        for digest, total in self.filled.items():
            order = self.orders[digest].order
            assert total <= order.size, (
                f"3: order (account {order.account}, slot {order.slot}, nonce {order.nonce})"
                f" filled {total} in total, more than its size {order.size}"
            )

    @invariant()
    def inv5_no_flat_debt(self) -> None:
        # The fund (account 0) may go below zero; audit.flat_debts leaves it out.
        assert flat_debts(self.state) == [], f"5: flat accounts owe: {flat_debts(self.state)}"

    @invariant()
    def inv7_position_lists(self) -> None:
        state = self.state
        held: dict[int, set[int]] = {}
        for index, instrument_id, position in positions(state):
            assert position.size != 0, f"7: account {index} has a zero position leaf"
            held.setdefault(index, set()).add(instrument_id)
        max_positions = state.globals().max_positions
        for index, account in accounts(state):
            listed = account.instruments
            assert len(set(listed)) == len(listed), f"7: account {index} lists {listed}"
            holds = held.pop(index, set())
            assert set(listed) == holds, (
                f"7: account {index} lists {listed}, holds positions in {sorted(holds)}"
            )
            if index != 0:  # the fund takes over backstopped positions without a bound
                assert len(listed) <= max_positions, f"7: account {index} holds {listed}"
        assert not held, f"7: positions of unknown accounts {held}"

    def replay(self, fast: bool) -> None:
        """6: the tape, replayed on a fresh genesis without a signature cache, and with
        or without the fast fill path, gives the same receipts and the same root."""
        w = self.w
        state = genesis(private_key_address(w.governance_key))
        for n, item in enumerate(w.tape):
            env = TxEnv(item.timestamp, w.separator, item.origin, item.sender, fast=fast)
            receipt = apply_tx(state, item.tx, env)
            assert receipt == item.receipt, (
                f"6: replay (fast={fast}) of tx {n} {type(item.tx).__name__} gave {receipt},"
                f" the run gave {item.receipt}"
            )
        assert state.root() == w.state.root(), f"6: the replayed (fast={fast}) root differs"

    def teardown(self) -> None:
        """6, once per example: replay the whole tape the other way (fast or readable)."""
        if hasattr(self, "world"):
            self.replay(fast=not self.w.fast)


TestExchangeInvariants = ExchangeMachine.TestCase
TestExchangeInvariants.settings = settings(
    max_examples=100,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
