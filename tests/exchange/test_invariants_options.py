"""Stateful property test of option markets in the STF (issue #3; consensus.md §4, §5).

A Hypothesis ``RuleBasedStateMachine`` drives a :class:`rollbook.sim.world.World` (the
real STF, real EIP-712 signatures) with one ETH perpetual and one expiry of ETH calls
and puts (08:00 UTC on 2026-01-01, strikes 2800 / 3000 / 3200) and four traders. The
clock starts between 07:00 and 07:45 UTC. Rules: option fills (calls and puts, either
side, on the 0.01 ETH lot and $0.10 tick grid near the STF's Black-76 mark), perp
fills, oracle reports (random index walks, perp premiums, per-option vol moves; some
beyond the 10 % circuit breaker), bare time advances, on-the-minute reports through
the 30-minute settlement window, the first report past expiry, perp unwinds (a trader's
last live position closed, near or far from the mark), ``SettleAccount`` on one or on
every holder, ``SetMarginMode`` switches, deposits and withdrawals (signed and forced,
often of the whole balance). Many txs are rejected; every rejected tx must leave
``state.root()`` unchanged (checked as each tx is applied; the readable path also runs
under the step tracer).

Invariants, exactly, to the unit (1–5 and 7 after every rule, 6 at teardown); every
assertion message starts with its number:

1. Conservation: ``audit.conservation_gap(state) == 0``.
2. Open interest: per instrument Σ longs == Σ |shorts| == ``open_interest``. Once the
   expiry price is fixed an option's holders settle one by one and its record counts
   the open longs: then ``open_interest`` == Σ open longs, and Σ longs == Σ |shorts|
   with the settled positions' sizes counted back in.
3. Expiry payouts: whenever a tx (``SettleAccount``, a fill, a withdrawal, a mode
   switch) pays out an account's expired options, its balance moves by exactly
   Σ ``floor(size · payoff / SIZE_ONE)`` once the tx's own cash flow (notional, fees,
   withdrawn amount) and the account's pending perp funding are taken out; an account
   touched after the price is fixed keeps no expired position; the fund may only take
   the deficit of an account bankrupt at expiry, never more than that deficit as it
   stood before the tx (so no withdrawal or trade leans on it). Once the price is fixed
   and every holder is settled: each option's open interest and pool are 0, and the
   credits of all settled positions sum to a value in ``[−positions settled, 0]``
   (longs receive the floor, shorts pay the ceiling).
4. Settlement price: the ``Settlement`` leaf exists exactly when an accepted report at
   or after expiry exists, and equals ``options.settlement_price`` recomputed from the
   ``(timestamp, index)`` of every report the machine saw accepted, with that first
   report's index as the fallback.
5. No trader account without positions has a negative balance (the fund may: it takes
   expiry deficits, and governance recapitalises it).
6. Determinism: replaying the tape of every tx (accepted and rejected, with its block
   time, origin and L1 sender) on a fresh genesis state, without the signature cache
   and with the other fill path (fast ↔ readable), gives the same receipts and root.
7. Portfolio margin: for every portfolio-mode account, ``margin.health`` equals a
   brute force over its settled leaves — equity ``balance + Σ value_at_mark``, MM the
   scenario-by-scenario worst loss (``worst_loss_readable``) plus the contingency on
   short option notional, IM = ⌈MM · im_multiple⌉.
"""

from __future__ import annotations

from typing import NamedTuple, cast

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from rollbook.crypto.secp256k1 import private_key_address
from rollbook.exchange.audit import conservation_gap, flat_debts, open_interest_mismatches
from rollbook.exchange.env import SignatureCache, TxEnv
from rollbook.exchange.errors import OracleError
from rollbook.exchange.leaves import (
    AssetPrice,
    Instrument,
    InstrumentKind,
    Settlement,
    settlement_key,
)
from rollbook.exchange.margin import health
from rollbook.exchange.numeric import PPM, SIZE_ONE, Rounding, mul_div, notional, ppm_of
from rollbook.exchange.numeric import value_at_mark as value_of
from rollbook.exchange.options import settlement_price
from rollbook.exchange.portfolio_margin import DEFAULT_PM, PMPosition, worst_loss_readable
from rollbook.exchange.state import State, StepTracer
from rollbook.exchange.stf import Receipt, apply_tx, genesis
from rollbook.exchange.txs import (
    MAX_VOL_PPM,
    MIN_VOL_PPM,
    Deposit,
    Fill,
    Origin,
    SetMarginMode,
    SettleAccount,
    Tx,
    Withdraw,
)
from rollbook.exchange.types import OrderFlags, Side
from rollbook.sim.world import GENESIS_TIME, Trader, World, option_chain, usd
from tests.exchange.test_invariants import (
    Taped,
    clamp_move,
    moved,
    pending_total,
    positions,
    to_tick,
)

HOUR = 3600
MINUTE = 60
WINDOW = 30 * MINUTE
ETH = 1
PERP = 1
EXPIRY = GENESIS_TIME + 8 * HOUR  # 2026-01-01T08:00:00Z
FIRST_OPTION = 10
STRIKES_USD = (2800, 3000, 3200)
# ids FIRST_OPTION + 2k (call at STRIKES_USD[k]) and + 2k + 1 (put)
OPTIONS = tuple(range(FIRST_OPTION, FIRST_OPTION + 2 * len(STRIKES_USD)))
FIRST_INDEX_USD = 3000
FIRST_VOL = 800_000  # 80 %
OPTION_LOT = 1_000_000  # 0.01 ETH
PERP_LOT = 100_000  # 0.001 ETH


# -- the taped world ----------------------------------------------------------------------


class TapedWorld(World):
    """A World that records every tx and checks that a rejected tx changes no leaf."""

    def __post_init__(self) -> None:
        self.tape: list[Taped] = []
        super().__post_init__()

    def l2(self, tx: Tx) -> Receipt:
        return self.run(tx, Origin.L2, None)

    def l1(self, tx: Tx, sender: bytes | None = None) -> Receipt:
        return self.run(tx, Origin.L1, sender)

    def run(self, tx: Tx, origin: Origin, sender: bytes | None) -> Receipt:
        before = self.state.copy()
        # The readable path also runs under the step tracer: a leaf touched outside its
        # step's declaration raises (docs/design/consensus.md §11).
        self.state.tracer = None if self.fast else StepTracer()
        try:
            receipt = apply_tx(self.state, tx, self.env(origin, sender))
        finally:
            self.state.tracer = None
        self.tape.append(Taped(tx, self.now, origin, sender, receipt))
        if not receipt.ok:
            assert self.state.root() == before.root(), (
                f"a rejected {type(tx).__name__} ({receipt.error}: {receipt.message})"
                " changed the state root"
            )
        return receipt


# -- pure views of the state ------------------------------------------------------------


def payoff_of(instrument: Instrument, price: int) -> int:
    """One whole option's cash value at expiry (written out again, not imported)."""
    if instrument.kind is InstrumentKind.CALL:
        return max(0, price - instrument.strike)
    return max(0, instrument.strike - price)


# -- plans ------------------------------------------------------------------------------


class FillPlan(NamedTuple):
    instrument: int  # index into OPTIONS, or len(OPTIONS): the perpetual
    maker: int
    taker: int  # offset from the maker, 1..3
    maker_side: Side
    lots: int
    price_ppm: int  # the maker's price: the mark moved by this
    gap_ppm: int  # the taker's limit beyond the maker's price
    post_only: bool
    refresh: bool


fill_plans = st.builds(
    FillPlan,
    instrument=st.integers(0, len(OPTIONS)),
    maker=st.integers(0, 3),
    taker=st.integers(1, 3),
    maker_side=st.sampled_from(Side),
    lots=st.one_of(st.integers(1, 50), st.integers(1, 600)),
    price_ppm=st.integers(-150_000, 150_000),
    gap_ppm=st.sampled_from([0, 0, 0, 5_000, 50_000]),
    post_only=st.booleans(),
    refresh=st.sampled_from([True, True, True, False]),
)
vol_moves = st.lists(st.integers(-120_000, 120_000), min_size=len(OPTIONS), max_size=len(OPTIONS))


# -- the machine ------------------------------------------------------------------------


class OptionsMachine(RuleBasedStateMachine):
    world: TapedWorld  # set by the ``setup`` initialize rule, which always runs first

    @property
    def w(self) -> TapedWorld:
        return self.world

    @property
    def state(self) -> State:
        return self.world.state

    def inst(self, instrument_id: int) -> Instrument:
        return self.state.instrument(instrument_id)

    def fixed(self) -> Settlement | None:
        return cast(Settlement | None, self.state.get(settlement_key(ETH, EXPIRY)))

    # -- the oracle --------------------------------------------------------------------

    def publish(
        self,
        move_ppm: int = 0,
        premium_ppm: int = 0,
        vols: list[int] | None = None,
        clamp: bool = True,
        expired_vols: bool = False,
    ) -> Receipt:
        """A report at ``now`` (moved one second on if a report already has this time):
        the index walked by ``move_ppm``, the perp's mark at index × (1 + premium), and a
        vol for each unexpired option moved by ``vols``. ``clamp`` keeps every move
        within the circuit breaker; ``expired_vols`` also prices expired options."""
        w, state = self.w, self.state
        oracle = state.oracle()
        w.now = max(w.now, oracle.last_timestamp + 1)
        max_move = oracle.max_move_ppm
        old = cast(AssetPrice, state.price(ETH)).price
        index = moved(old, move_ppm)
        perp = self.inst(PERP)
        if clamp:
            index = clamp_move(old, index, max_move)
        mark = moved(index, premium_ppm)
        if clamp:
            mark = clamp_move(perp.mark, mark, max_move)
        quoted: dict[int, int] = {}
        for n, option_id in enumerate(OPTIONS):
            option = self.inst(option_id)
            if option.expiry <= w.now and not expired_vols:
                continue
            vol = moved(option.mark_vol, vols[n] if vols else 0)
            if clamp:
                vol = clamp_move(option.mark_vol, vol, max_move)
            quoted[option_id] = min(MAX_VOL_PPM, max(MIN_VOL_PPM, vol))
        receipt = w.l2(w.oracle_update({ETH: index}, {PERP: mark}, vols=quoted))
        if receipt.ok:
            self.reports.append((w.now, index))
        return receipt

    def refresh(self) -> None:
        """Publish unchanged prices if the last report is older than the staleness."""
        oracle = self.state.oracle()
        if self.w.now - oracle.last_timestamp > oracle.staleness:
            receipt = self.publish()
            assert receipt.ok, receipt

    # -- applying account txs, with the expiry payout check -----------------------------

    def expired_positions(self, index: int) -> dict[int, int]:
        state = self.state
        return {
            i: state.position(index, i).size
            for i in state.account(index).instruments
            if i in OPTIONS and self.w.now >= EXPIRY
        }

    def live_equity(self, index: int) -> int:
        """Balance after lazy funding plus the live (unexpired) positions at mark."""
        state = self.state
        equity = state.account(index).balance - pending_total(state, index)
        for i in state.account(index).instruments:
            instrument = state.instrument(i)
            if not (instrument.kind.is_option and self.w.now >= instrument.expiry):
                equity += value_of(instrument.mark, state.position(index, i).size)
        return equity

    def touch(
        self,
        tx: Tx,
        cash: dict[int, int],
        origin: Origin = Origin.L2,
        sender: bytes | None = None,
    ) -> Receipt:
        """Apply ``tx``, which touches the accounts in ``cash``; ``cash[a]`` is what the
        tx itself takes from account ``a`` (notional and fee, a withdrawn amount).

        3: an accepted tx pays out, exactly, the expired positions it removes (and
        removes all of them once the price is fixed):
        Δbalance + cash + pending funding == Σ floor(size · payoff / SIZE_ONE),
        except that the fund may take the deficit of an account bankrupt at expiry (it
        ends flat at 0), but never more than that deficit as it stood before the tx
        (balance − funding + live positions at mark + payout): no withdrawal, transfer
        or trade may lean on it.
        """
        state = self.state
        balance = {a: state.account(a).balance for a in cash}
        pending = {a: pending_total(state, a) for a in cash}
        equity = {a: self.live_equity(a) for a in cash}
        expired = {a: self.expired_positions(a) for a in cash}
        fixed = self.fixed()
        name = type(tx).__name__
        receipt = self.w.run(tx, origin, sender)
        if not receipt.ok:
            return receipt
        for a, paid in cash.items():
            gone = {i: size for i, size in expired[a].items() if state.position(a, i).size == 0}
            if fixed is not None:
                assert gone == expired[a], (
                    f"3: {name} touched account {a} after the price was fixed and left"
                    f" expired positions {set(expired[a]) - set(gone)}"
                )
            else:
                assert not gone, f"3: expired positions of {a} paid before the price is fixed"
            credits = {}
            for i, size in gone.items():
                assert fixed is not None
                credits[i] = size * payoff_of(self.inst(i), fixed.price) // SIZE_ONE
            credit = sum(credits.values())
            account = state.account(a)
            covered = account.balance - (balance[a] - pending[a] + credit - paid)
            if covered:
                deficit = max(0, -(equity[a] + credit))
                assert covered > 0 and gone and not account.instruments and account.balance == 0, (
                    f"3: {name} moved account {a}'s balance by {account.balance - balance[a]};"
                    f" its cash flow {-paid}, funding {-pending[a]}, expired positions {gone}"
                    f" paying {credits} explain {credit - paid - pending[a]}"
                )
                assert covered <= deficit, (
                    f"3: in a {name} the fund covered {covered} of account {a}'s balance; its"
                    f" deficit before the tx, with the expiry payout {credit}, was {deficit}"
                )
            for i, owed in credits.items():
                assert (a, i) not in self.credits, f"3: position ({a}, {i}) paid out twice"
                self.credits[(a, i)] = owed
                self.settled[(a, i)] = expired[a][i]
        return receipt

    def fill_cash(
        self, instrument: Instrument, maker: Side, size: int, price: int
    ) -> tuple[int, int]:
        """What a fill takes from the maker and from the taker: side · notional + fee."""
        value = notional(price, size)
        return (
            maker.sign * value + ppm_of(value, instrument.maker_fee_ppm, Rounding.UP),
            -maker.sign * value + ppm_of(value, instrument.taker_fee_ppm, Rounding.UP),
        )

    # -- setup -------------------------------------------------------------------------

    @initialize(
        fast=st.booleans(),
        deposits=st.lists(st.integers(1_500, 40_000), min_size=4, max_size=4),
        portfolio=st.lists(st.booleans(), min_size=4, max_size=4),
        start_minutes=st.integers(0, 55),
        openings=st.lists(fill_plans, min_size=2, max_size=4),
    )
    def setup(
        self,
        fast: bool,
        deposits: list[int],
        portfolio: list[bool],
        start_minutes: int,
        openings: list[FillPlan],
    ) -> None:
        world = TapedWorld(cache=SignatureCache(), fast=fast)
        self.world = world
        self.reports: list[tuple[int, int]] = []
        self.credits: dict[tuple[int, int], int] = {}
        self.settled: dict[tuple[int, int], int] = {}  # the sizes of those positions
        self.pm_checks = 0
        world.now = GENESIS_TIME + 7 * HOUR
        assert world.list_perp(PERP).ok
        receipt = world.l1(option_chain(FIRST_OPTION, EXPIRY, STRIKES_USD))
        assert receipt.ok, receipt
        world.advance(1)
        vols = {option_id: FIRST_VOL for option_id in OPTIONS}
        index = usd(FIRST_INDEX_USD)
        receipt = world.l2(world.oracle_update({ETH: index}, {PERP: index}, vols=vols))
        assert receipt.ok, receipt
        self.reports.append((world.now, index))
        self.traders = [world.add_trader(f"t{i}", amount) for i, amount in enumerate(deposits)]
        governance = world.governance_key
        self.fund = Trader("fund", 0, governance, governance)
        for trader, pm in zip(self.traders, portfolio, strict=True):
            if pm:
                self.switch_mode(trader, True)
        # Open option and perp positions at once, so that later rules meet risk on.
        for plan in openings:
            self.do_fill(plan._replace(gap_ppm=0, post_only=False))
        if start_minutes:
            world.advance(start_minutes * MINUTE)
            assert self.publish().ok

    # -- collateral and margin mode ----------------------------------------------------

    def switch_mode(self, trader: Trader, portfolio: bool, bad_nonce: bool = False) -> Receipt:
        nonce = self.state.account(trader.index).tx_nonce + int(bad_nonce)
        tx = self.w.owner_signed(
            SetMarginMode, trader, account=trader.index, portfolio=portfolio, nonce=nonce
        )
        receipt = self.touch(tx, {trader.index: 0})
        if receipt.ok:
            assert self.state.account(trader.index).portfolio is portfolio
        return receipt

    @rule(
        who=st.integers(0, 3),
        portfolio=st.booleans(),
        bad_nonce=st.sampled_from([False] * 5 + [True]),
        refresh=st.booleans(),
    )
    def margin_mode(self, who: int, portfolio: bool, bad_nonce: bool, refresh: bool) -> None:
        if refresh:
            self.refresh()
        trader = self.traders[who]
        receipt = self.switch_mode(trader, portfolio, bad_nonce)
        if receipt.ok:
            # The switch is accepted only if the account meets IM in its new mode.
            state = self.state
            state.begin()
            try:
                h = health(state, trader.index, self.w.now)
            finally:
                state.rollback()
            assert h.equity >= h.initial, f"§6: switched to a mode whose IM fails: {h}"

    @rule(who=st.integers(0, 3), amount=st.integers(1, 20_000))
    def deposit(self, who: int, amount: int) -> None:
        w = self.w
        receipt = w.l1(Deposit(w.next_deposit, self.traders[who].owner, usd(amount)))
        if receipt.ok:
            w.next_deposit += 1

    @rule(
        who=st.integers(0, 4),
        pct=st.one_of(st.sampled_from([100, 100, 50]), st.integers(1, 120)),
        forced=st.booleans(),
        refresh=st.booleans(),
    )
    def withdraw(self, who: int, pct: int, forced: bool, refresh: bool) -> None:
        if refresh:
            self.refresh()
        w = self.w
        trader = self.traders[who] if who < 4 else self.fund
        account = self.state.account(trader.index)
        amount = max(1, account.balance * pct // 100)
        if forced:
            tx: Tx = Withdraw(trader.index, amount, 0)
            self.touch(tx, {trader.index: amount}, Origin.L1, trader.owner)
        else:
            tx = w.owner_signed(
                Withdraw, trader, account=trader.index, amount=amount, nonce=account.tx_nonce
            )
            self.touch(tx, {trader.index: amount})

    # -- time and the oracle -----------------------------------------------------------

    @rule(seconds=st.integers(1, 120))
    def advance(self, seconds: int) -> None:
        self.w.advance(seconds)

    @rule(
        seconds=st.integers(0, 45),
        move=st.integers(-110_000, 110_000),
        premium=st.integers(-20_000, 20_000),
        vols=vol_moves,
        clamp=st.sampled_from([True, True, True, False]),
        expired_vols=st.sampled_from([False] * 5 + [True]),
    )
    def oracle_walk(
        self,
        seconds: int,
        move: int,
        premium: int,
        vols: list[int],
        clamp: bool,
        expired_vols: bool,
    ) -> None:
        self.w.advance(seconds)
        receipt = self.publish(move, premium, vols, clamp, expired_vols)
        if expired_vols and self.w.now >= EXPIRY:
            assert not receipt.ok, "§13: an expired option took a volatility"

    @rule(
        minutes=st.integers(1, 4),
        moves=st.lists(st.integers(-30_000, 30_000), min_size=1, max_size=8),
        vols=vol_moves,
    )
    def minute_reports(self, minutes: int, moves: list[int], vols: list[int]) -> None:
        """Reports on consecutive minute boundaries (settlement samples in the window)."""
        w = self.w
        for move in moves:
            w.now = (w.now // MINUTE + minutes) * MINUTE
            receipt = self.publish(move, 0, vols)
            assert receipt.ok, receipt
            minutes = 1

    @rule(offset=st.integers(-120, 300))
    def enter_window(self, offset: int) -> None:
        """Jump to near the start of the settlement window (if not past it yet)."""
        w = self.w
        w.now = max(w.now, EXPIRY - WINDOW + offset)
        assert self.publish().ok

    @rule(offset=st.integers(-90, 90), move=st.integers(-50_000, 50_000))
    def cross_expiry(self, offset: int, move: int) -> None:
        """A report around expiry (the first one at or after it fixes the price)."""
        w = self.w
        w.now = max(w.now, EXPIRY + offset)
        assert self.publish(move).ok
        if w.now >= EXPIRY:
            assert self.fixed() is not None, "4: a report after expiry fixed no price"

    # -- trading -----------------------------------------------------------------------

    @rule(plans=st.lists(fill_plans, min_size=1, max_size=3))
    def fill(self, plans: list[FillPlan]) -> None:
        for plan in plans:
            self.do_fill(plan)

    @rule(plan=fill_plans)
    def fill_option(self, plan: FillPlan) -> None:
        self.do_fill(plan._replace(instrument=plan.instrument % len(OPTIONS)))

    def do_fill(self, plan: FillPlan) -> None:
        if plan.refresh:
            self.refresh()
        w = self.w
        instrument_id = OPTIONS[plan.instrument] if plan.instrument < len(OPTIONS) else PERP
        instrument = self.inst(instrument_id)
        # Options: 0.01 to 6 ETH in 0.01 lots; perps: 0.01 to 6 ETH in 0.001 lots.
        lot = OPTION_LOT if instrument.kind.is_option else PERP_LOT
        assert instrument.lot == lot
        size = plan.lots * OPTION_LOT + (0 if instrument.kind.is_option else plan.lots % 10 * lot)
        maker_trader = self.traders[plan.maker]
        taker_trader = self.traders[(plan.maker + plan.taker) % 4]
        price = to_tick(moved(instrument.mark, plan.price_ppm), instrument.tick)
        side = plan.maker_side
        gap = plan.gap_ppm if side.opposite is Side.BUY else -plan.gap_ppm
        limit = to_tick(moved(price, gap), instrument.tick)
        if side.opposite is Side.BUY:
            limit = max(limit, price)
        flags = OrderFlags.POST_ONLY if plan.post_only else OrderFlags.NONE
        maker = w.order(maker_trader, side, price, size, instrument_id, flags)
        taker = w.order(taker_trader, side.opposite, limit, size, instrument_id)
        maker_cash, taker_cash = self.fill_cash(instrument, side, size, price)
        accounts = {maker_trader.index: maker_cash, taker_trader.index: taker_cash}
        before = {a: self.state.position(a, instrument_id).size for a in accounts}
        receipt = self.touch(Fill(maker, taker, size), accounts)
        event(f"{'option' if instrument.kind.is_option else 'perp'} fill: {receipt.error or 'ok'}")
        if receipt.ok:
            assert w.now < instrument.expiry or not instrument.kind.is_option, (
                "§13: an expired option traded"
            )
            for a, sign in ((maker_trader.index, side.sign), (taker_trader.index, -side.sign)):
                assert self.state.position(a, instrument_id).size == before[a] + sign * size, (
                    "2: a fill moved a position by the wrong size"
                )

    @rule(
        pick=st.integers(0, 100),
        price_ppm=st.sampled_from([0, 0, -5_000, 5_000, -50_000, 50_000, -500_000, 500_000]),
        refresh=st.sampled_from([True, True, True, False]),
    )
    def unwind(self, pick: int, price_ppm: int, refresh: bool) -> None:
        """A perp long and a perp short close against each other (one of them to flat),
        near the mark or far from it: after expiry this is a trader's last live position
        going, with its expired options paid out in the same tx."""
        if refresh:
            self.refresh()
        w, state = self.w, self.state
        sizes = {t.index: state.position(t.index, PERP).size for t in self.traders}
        longs = [t for t in self.traders if sizes[t.index] > 0]
        shorts = [t for t in self.traders if sizes[t.index] < 0]
        if not longs or not shorts:
            return
        seller, buyer = longs[pick % len(longs)], shorts[pick // 7 % len(shorts)]
        size = min(sizes[seller.index], -sizes[buyer.index])
        perp = self.inst(PERP)
        price = to_tick(moved(perp.mark, price_ppm), perp.tick)
        maker = w.order(seller, Side.SELL, price, size, PERP)
        taker = w.order(buyer, Side.BUY, price, size, PERP)
        maker_cash, taker_cash = self.fill_cash(perp, Side.SELL, size, price)
        receipt = self.touch(
            Fill(maker, taker, size), {seller.index: maker_cash, buyer.index: taker_cash}
        )
        event(f"perp unwind: {receipt.error or 'ok'}")

    # -- settlement --------------------------------------------------------------------

    @rule(who=st.integers(0, 4))
    def settle(self, who: int) -> None:
        index = self.traders[who].index if who < 4 else 0
        receipt = self.touch(SettleAccount(index), {index: 0})
        assert receipt.ok, receipt

    @rule()
    def settle_all(self) -> None:
        """SettleAccount on every holder of an expired option."""
        holders = sorted({a for a, i, _ in positions(self.state) if i in OPTIONS})
        if self.w.now < EXPIRY:
            return
        for index in holders:
            receipt = self.touch(SettleAccount(index), {index: 0})
            assert receipt.ok, receipt
        if self.fixed() is not None:
            left = [(a, i) for a, i, _ in positions(self.state) if i in OPTIONS]
            assert not left, f"3: positions {left} survive SettleAccount after the fixing"

    # -- invariants --------------------------------------------------------------------

    @invariant()
    def inv1_conservation(self) -> None:
        gap = conservation_gap(self.state)
        assert gap == 0, f"1: balances + fees + pools − (deposits − withdrawals) = {gap}"

    @invariant()
    def inv2_open_interest(self) -> None:
        mismatches = open_interest_mismatches(self.state)
        if self.fixed() is not None:
            # Expired options settle lazily, one holder at a time, and their open interest
            # counts the longs still open. So count the settled sizes back in: Σ longs
            # (open + settled) == Σ |shorts| (open + settled), and the recorded open
            # interest == the open longs.
            for option_id, longs, shorts, recorded in [m for m in mismatches if m[0] in OPTIONS]:
                sizes = [s for (_, i), s in self.settled.items() if i == option_id]
                longs_settled = sum(s for s in sizes if s > 0)
                shorts_settled = -sum(s for s in sizes if s < 0)
                assert recorded == longs and longs + longs_settled == shorts + shorts_settled, (
                    f"2: expired {option_id}: open longs {longs} (+{longs_settled} settled),"
                    f" open shorts {shorts} (+{shorts_settled} settled), open interest {recorded}"
                )
            mismatches = [m for m in mismatches if m[0] not in OPTIONS]
        assert not mismatches, f"2: (instrument, longs, shorts, open interest) {mismatches}"

    @invariant()
    def inv3_expired_options_close(self) -> None:
        state = self.state
        fixed = self.fixed()
        if fixed is None:
            assert not self.credits, "3: payouts before the price was fixed"
            return
        if any(i in OPTIONS for _, i, _ in positions(state)):
            return  # not every holder is settled yet
        for option_id in OPTIONS:
            option = self.inst(option_id)
            assert option.open_interest == 0 and option.pool == 0, (
                f"3: {option.symbol} keeps open interest {option.open_interest}, pool"
                f" {option.pool} with every holder settled"
            )
        total, count = sum(self.credits.values()), len(self.credits)
        assert -count <= total <= 0, (
            f"3: {count} settled positions were credited {total} in total (must be in"
            f" [−{count}, 0]: longs get the floor, shorts pay the ceiling)"
        )

    @invariant()
    def inv4_settlement_price(self) -> None:
        after = [index for timestamp, index in self.reports if timestamp >= EXPIRY]
        fixed = self.fixed()
        if not after:
            assert fixed is None, f"4: price fixed {fixed} before any report at expiry"
            return
        price, count = settlement_price(self.reports, EXPIRY, after[0])
        assert fixed == Settlement(price, count), (
            f"4: settlement {fixed}, recomputed from the reports {Settlement(price, count)}"
        )

    @invariant()
    def inv5_no_flat_debt(self) -> None:
        # The fund (account 0) may go below zero; audit.flat_debts leaves it out.
        assert flat_debts(self.state) == [], f"5: flat accounts owe: {flat_debts(self.state)}"

    @invariant()
    def inv7_portfolio_margin(self) -> None:
        state, now = self.state, self.w.now
        for trader in self.traders:
            if not state.account(trader.index).portfolio:
                continue
            state.begin()
            try:
                try:
                    h = health(state, trader.index, now)
                except OracleError:
                    continue  # a stale mark: nothing to compare (the finally rolls back)
                account = state.account(trader.index)
                held = [
                    (state.instrument(i), state.position(trader.index, i).size)
                    for i in account.instruments
                ]
            finally:
                state.rollback()
            # Scenario by scenario, one underlying at a time (a scenario moves one asset).
            maintenance = short_notional = 0
            for asset in sorted({i.asset for i, _ in held}):
                pm = [
                    PMPosition(size, i.vector, i.mark_index if i.kind.is_option else 0)
                    for i, size in held
                    if i.asset == asset
                ]
                maintenance += worst_loss_readable(pm)
                short_notional += sum(
                    -p.size * p.option_notional // SIZE_ONE for p in pm if p.size < 0
                )
            maintenance += mul_div(short_notional, DEFAULT_PM.contingency_ppm, PPM, Rounding.UP)
            initial = mul_div(maintenance, DEFAULT_PM.im_multiple_ppm, PPM, Rounding.UP)
            equity = account.balance + sum(value_of(i.mark, size) for i, size in held)
            self.pm_checks += 1
            assert (h.equity, h.initial, h.maintenance) == (equity, initial, maintenance), (
                f"7: account {trader.index} health {h}, brute force equity {equity},"
                f" IM {initial}, MM {maintenance}"
            )

    def teardown(self) -> None:
        """6: replay the tape on a fresh genesis, the other fill path, no signature cache."""
        if not hasattr(self, "world"):
            return
        w = self.w
        event(f"expiry price fixed: {self.fixed() is not None}")
        event(f"expired positions paid out: {min(len(self.credits), 5)}+")
        event(f"txs: {len(w.tape) // 50 * 50}+")
        event(f"clock: {(w.now - EXPIRY) // 600 * 10:+} min")
        event(f"portfolio margin compared: {bool(self.pm_checks)}")
        state = genesis(private_key_address(w.governance_key))
        for n, item in enumerate(w.tape):
            env = TxEnv(item.timestamp, w.separator, item.origin, item.sender, fast=not w.fast)
            receipt = apply_tx(state, item.tx, env)
            assert receipt == item.receipt, (
                f"6: replay of tx {n} {type(item.tx).__name__} gave {receipt},"
                f" the run gave {item.receipt}"
            )
        assert state.root() == w.state.root(), "6: the replayed root differs"


TestOptionsInvariants = OptionsMachine.TestCase
TestOptionsInvariants.settings = settings(
    max_examples=150,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
