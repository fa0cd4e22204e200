"""The devnet session: a simulated market through the matching engine and the STF.

Until the node exists (#6) this is what ``make devnet`` runs. Each step is ten seconds
of simulated time and one L2 block:

1. the oracle feeder moves the index (geometric Brownian motion with rare jumps, a
   scheduled crash of ~8 % in three reports) and publishes index and mark (the mark is
   the book's mid, as an oracle network observing the book would report), signed by
   2 of 3 oracle keys; funding accrues hourly in the STF;
2. the sequencer scans accounts with the STF's own margin functions (inside a journal
   that is rolled back, so the scan changes nothing) and liquidates those below
   maintenance: cancel their orders, close against the book with ``Liquidate`` fills,
   and ``Backstop`` what the book cannot absorb;
3. market makers cancel and re-quote a ladder around the index; takers send IOC orders,
   some with high leverage (they are the ones the crash liquidates);
4. an option chain trades beside the perpetual (issue #3): two ETH expiries (08:00
   UTC today, inside the session, and tomorrow) × five strikes, calls and puts. The
   oracle publishes an implied vol per option from a smile (the STF marks each option
   with integer Black-76); an option maker quotes every option around its mark; takers
   buy and sell with IOC orders. At 08:00 the engine drops the expired books, the
   first report after expiry fixes the settlement price (the 30-minute TWAP of the
   on-minute reports), and the sequencer settles the holders with ``SettleAccount``;
5. the settled txs form the block.

The session starts at 07:00 UTC, so the first expiry settles after 360 steps.

At the end a verifier replays every block from genesis with ``apply_block`` and must
reach the same state root: the L2 state is a function of the blocks alone.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from dataclasses import dataclass, field

from rollbook.chain.blocks import output_root, output_version, prove_withdrawal
from rollbook.chain.derive import ChainConfig, Deriver, derive
from rollbook.chain.l1 import L1Deposit
from rollbook.chain.sequencer import BlockBuilder, next_batch
from rollbook.codec.txcodec import encode_standalone
from rollbook.crypto.secp256k1 import private_key_address
from rollbook.exchange.audit import escrow_gap
from rollbook.exchange.leaves import Settlement, settlement_key
from rollbook.exchange.margin import health
from rollbook.exchange.numeric import QUOTE_ONE, SIZE_ONE
from rollbook.exchange.options import option_symbol
from rollbook.exchange.state import State
from rollbook.exchange.stf import OK, apply_tx
from rollbook.exchange.txs import (
    Backstop,
    Deposit,
    OracleUpdate,
    Origin,
    RegisterKey,
    SettleAccount,
    Tx,
    Withdraw,
)
from rollbook.exchange.types import OrderFlags, Side
from rollbook.l1.driver import EvmL1
from rollbook.matching.engine import MatchingEngine
from rollbook.matching.errors import MatchingError
from rollbook.node.gate import LiquidationTaker, STFGate
from rollbook.node.liquidator import close_order, underwater
from rollbook.sim.world import GENESIS_TIME, Trader, World, key_from_label, option_chain

STEP_SECONDS = 10
PERP = 1
TICK = 50_000  # $0.05
LOT = 100_000  # 0.001 ETH
START = GENESIS_TIME + 7 * 3600  # 07:00 UTC: the first option expiry is an hour away
EXPIRIES = (GENESIS_TIME + 8 * 3600, GENESIS_TIME + 86_400 + 8 * 3600)
STRIKES = (2800, 2900, 3000, 3100, 3200)
OPTION_TICK = 100_000  # $0.10
OPTION_LOT = 1_000_000  # 0.01 ETH
FIRST_OPTION = 100  # chain k: ids FIRST_OPTION + 20 k + 2 j (call) and + 1 (put)
CHAIN_ID = 901
L1_LEAD = 120  # L1 runs this long before the first L2 block, so origins are deep enough
BATCH_EVERY = 6  # the batcher posts once a minute
CHALLENGE_WINDOW = 60  # seconds on the devnet (the mainnet preset: 7 days)


@dataclass
class Stats:
    orders: int = 0
    fills: int = 0
    volume: int = 0
    liquidation_fills: int = 0
    backstops: int = 0
    rejected: int = 0
    blocks: int = 0
    oracle_updates: int = 0
    funding_paid: int = 0
    option_orders: int = 0
    option_fills: int = 0
    option_premium: int = 0
    option_payout: int = 0
    options_settled: int = 0
    liquidated_accounts: set[int] = field(default_factory=set)
    refusals: dict[str, int] = field(default_factory=dict)


def to_tick(price_usd: float) -> int:
    """A float from the simulated feed, to an on-tick integer price (simulation only)."""
    return max(TICK, round(price_usd * QUOTE_ONE / TICK) * TICK)


class Session:
    """One simulated market: world, engine with an STF gate, feeder, makers, takers."""

    def __init__(self, seed: int, crash_step: int, l1: str = "evm") -> None:
        self.rng = random.Random(seed)
        self.world = World(now=START)
        assert self.world.list_perp(PERP, tick=TICK, lot=LOT).ok
        self.options: dict[int, tuple[int, int, bool]] = {}  # id -> (expiry, strike, call)
        for k, expiry in enumerate(EXPIRIES):
            chain = option_chain(
                FIRST_OPTION + 20 * k, expiry, STRIKES, tick=OPTION_TICK, lot=OPTION_LOT
            )
            assert self.world.l1(chain).ok
            for j, strike in enumerate(chain.strikes):
                self.options[chain.first_id + 2 * j] = (expiry, strike, True)
                self.options[chain.first_id + 2 * j + 1] = (expiry, strike, False)
        self.makers = [self._fund(f"maker{i}", 2_000_000) for i in range(3)]
        self.takers = [self._fund(f"taker{i}", 50_000) for i in range(6)]
        self.degens = [self._fund(f"degen{i}", 4_000) for i in range(4)]
        self.option_maker = self._fund("optmaker", 3_000_000)
        self.option_takers = [self._fund(f"opttaker{i}", 200_000) for i in range(4)]
        self.fund = self._fund_operator()
        self.index = 3000.0
        self.crash_step = crash_step
        self.gate = STFGate(self.world.state, self.world.env())
        self.engine = MatchingEngine(max_open_orders=200, gate=self.gate)
        self.engine.add_instrument(PERP, TICK, LOT)
        for instrument, (expiry, _, _) in self.options.items():
            self.engine.add_instrument(instrument, OPTION_TICK, OPTION_LOT, expiry=expiry)
        self.settlements: dict[int, Settlement] = {}
        self.stats = Stats()
        # The rollup (#4): the state after the setup above is the chain's genesis
        # (listings, oracle set, funded accounts: the devnet's genesis allocation);
        # from here every block is built on an L1 origin and posted in batches.
        self.chain_genesis = self.world.state.copy()
        self.cfg = ChainConfig(CHAIN_ID, self.world.separator)
        glob = self.world.state.globals()
        # The real contracts on an embedded EVM or an Anvil node (#5). The genesis
        # allocation is escrowed in the portal, so L1 holds what L2 owes from the first
        # block.
        start = EvmL1.anvil if l1 == "anvil" else EvmL1.embedded
        self.l1 = start(
            self.world.now - L1_LEAD,
            output_version=output_version(self.cfg.mode),
            challenge_window=CHALLENGE_WINDOW,
            first_deposit_id=glob.next_deposit_id,
            domain_separator=self.world.separator,
            chain=self.cfg,
        )
        self.l1.back_genesis(glob.total_deposits)
        users = (*self.takers, *self.option_takers)
        self.l1.add_owners({t.owner: t.owner_key for t in users})
        self.genesis_escrow = glob.total_deposits
        self.proposals: list[int] = []  # the L2 block of each proposed output root
        self.paid_withdrawals = 0
        self.l1.mine(self.world.now)
        self.builder = BlockBuilder(self.cfg, self.world.state, self.l1.genesis_ref)
        self.l1.anchor(self.builder.blocks[0])
        for block in self.l1.blocks:
            self.builder.observe(block)
        self.grid = {
            i: (self.world.state.instrument(i).tick, self.world.state.instrument(i).lot)
            for i in (PERP, *self.options)
        }
        self.posted = 0
        self.batch_bytes: list[int] = []
        self.forced: list[tuple[str, int]] = []

    def _fund(self, name: str, usdc: int) -> Trader:
        return self.world.add_trader(name, usdc)

    def _fund_operator(self) -> Trader:
        """Governance registers, from L1, a trading key for the insurance fund (account 0),
        which the sequencer uses to unwind positions the fund took over in a backstop."""
        key = key_from_label("insurance-operator")
        register = RegisterKey(0, 0, private_key_address(key), 0)
        governance = private_key_address(self.world.governance_key)
        assert self.world.l1(register, governance).ok
        # Governance seeds the fund with a deposit to its own address (account 0).
        seed = Deposit(self.world.next_deposit, governance, 50_000 * QUOTE_ONE)
        assert self.world.deposit(governance, seed.amount).ok
        return Trader("insurance", 0, self.world.governance_key, key)

    def unwind_fund(self) -> None:
        """Close a slice of the fund's backstopped position against the book."""
        size = self.world.state.position(0, PERP).size
        if size == 0:
            return
        side = Side.SELL if size > 0 else Side.BUY
        chunk = min(abs(size), LOT * 2000)
        price = to_tick(self.index * (0.995 if side is Side.SELL else 1.005))
        self.submit(self.fund, side, price, chunk, OrderFlags.IOC | OrderFlags.REDUCE_ONLY)

    # -- the feed ------------------------------------------------------------------------

    def move_index(self, step: int) -> None:
        if self.crash_step <= step < self.crash_step + 3:
            self.index *= 0.973  # three reports, ~8 % in 30 s
            return
        shock = self.rng.gauss(0.0, 0.0006)
        if self.rng.random() < 0.002:
            shock += self.rng.choice((-1, 1)) * 0.01
        self.index *= math.exp(shock)

    def oracle_tx(self) -> OracleUpdate:
        index = to_tick(self.index)
        bid = self.engine.best_bid(PERP)
        ask = self.engine.best_ask(PERP)
        mark = (bid + ask) // 2 if bid is not None and ask is not None else index
        # The mark stays within 0.5 % of the index (an oracle network's impact-mid guard).
        mark = min(max(mark, index * 995 // 1000), index * 1005 // 1000)
        vols = {
            instrument: smile_ppm(strike / index, expiry - self.world.now)
            for instrument, (expiry, strike, _) in self.options.items()
            if expiry > self.world.now
        }
        return self.world.oracle_update({1: index}, {PERP: mark}, vols=vols)

    # -- options ----------------------------------------------------------------------------

    def live_options(self) -> list[int]:
        return [i for i, (expiry, _, _) in self.options.items() if expiry > self.world.now]

    def quote_options(self) -> None:
        """The option maker quotes every live option around its STF mark."""
        maker = self.option_maker
        state = self.world.state
        for instrument in self.live_options():
            self.engine.cancel_all(maker.index, instrument)
            mark = state.instrument(instrument).mark
            half = max(OPTION_TICK, mark // 50)  # ±2 % of the mark, at least a tick
            bid = (mark - half) // OPTION_TICK * OPTION_TICK
            ask = -(-(mark + half) // OPTION_TICK) * OPTION_TICK
            size = OPTION_LOT * self.rng.randint(10, 100)
            if bid >= OPTION_TICK:
                self.submit(maker, Side.BUY, bid, size, OrderFlags.POST_ONLY, instrument)
            self.submit(maker, Side.SELL, ask, size, OrderFlags.POST_ONLY, instrument)

    def take_option(self, trader: Trader) -> None:
        live = self.live_options()
        if not live:
            return
        instrument = self.rng.choice(live)
        side = self.rng.choice((Side.BUY, Side.SELL))
        mark = self.world.state.instrument(instrument).mark
        limit = mark * 105 // 100 if side is Side.BUY else mark * 95 // 100
        limit = max(OPTION_TICK, limit // OPTION_TICK * OPTION_TICK)
        size = OPTION_LOT * self.rng.randint(5, 50)
        self.submit(trader, side, limit, size, OrderFlags.IOC, instrument)

    def settle_expired(self) -> None:
        """Once an expiry's price is fixed, settle its holders (permissionless txs)."""
        state = self.world.state
        for expiry in EXPIRIES:
            if expiry in self.settlements or expiry > self.world.now:
                continue
            fixed = state.get(settlement_key(1, expiry))
            if not isinstance(fixed, Settlement):
                continue
            self.settlements[expiry] = fixed
            expired = {i for i, (e, _, _) in self.options.items() if e == expiry}
            for trader in self.world.traders.values():
                held = [i for i in state.account(trader.index).instruments if i in expired]
                if not held:
                    continue
                before = state.account(trader.index).balance
                if self.gate_apply(SettleAccount(trader.index)):
                    self.stats.options_settled += len(held)
                    gain = state.account(trader.index).balance - before
                    self.stats.option_payout += max(gain, 0)

    # -- participants ---------------------------------------------------------------------

    def requote(self, maker: Trader, spread_ticks: int) -> None:
        self.engine.cancel_all(maker.index, PERP)
        mid = to_tick(self.index)
        for level in range(1, 6):
            size = LOT * self.rng.randint(50, 400)
            for side, price in (
                (Side.BUY, mid - (spread_ticks + 2 * level) * TICK),
                (Side.SELL, mid + (spread_ticks + 2 * level) * TICK),
            ):
                self.submit(maker, side, price, size, OrderFlags.POST_ONLY)

    def take(self, trader: Trader, max_lots: int) -> None:
        side = self.rng.choice((Side.BUY, Side.SELL))
        size = LOT * self.rng.randint(10, max_lots)
        protection = to_tick(self.index * (1.01 if side is Side.BUY else 0.99))
        self.submit(trader, side, protection, size, OrderFlags.IOC)

    def submit(
        self,
        trader: Trader,
        side: Side,
        price: int,
        size: int,
        flags: OrderFlags,
        instrument: int = PERP,
    ) -> None:
        signed = self.world.order(trader, side, price, size, instrument, flags, max_fee_ppm=1_000)
        self.stats.orders += 1
        option = instrument != PERP
        self.stats.option_orders += option
        try:
            result = self.engine.submit(
                trader.index, instrument, side, price, size, flags, signed, now=self.world.now
            )
        except MatchingError as exc:  # the engine refused it (post-only would cross, limits)
            self.stats.rejected += 1
            self.stats.refusals[type(exc).__name__] = (
                self.stats.refusals.get(type(exc).__name__, 0) + 1
            )
            return
        for fill in result.fills:
            self.stats.fills += 1
            if option:
                self.stats.option_fills += 1
                self.stats.option_premium += fill.price * fill.size // SIZE_ONE
            else:
                self.stats.volume += fill.price * fill.size // SIZE_ONE

    # -- liquidations ---------------------------------------------------------------------

    def underwater(self) -> list[int]:
        """Accounts below maintenance, found with the STF's own functions (read only)."""
        state = self.world.state
        accounts = [k[1] for k in state.keys_of_kind("acct") if isinstance(k[1], int)]
        return underwater(state, self.world.now, accounts)

    def liquidate(self, index: int) -> None:
        self.stats.liquidated_accounts.add(index)
        self.engine.cancel_all(index)
        state = self.world.state
        plan = close_order(state, index, PERP)
        if plan is None:
            return
        side, limit, size = plan
        result = self.engine.submit(
            index, PERP, side, limit, size, OrderFlags.IOC, LiquidationTaker(index)
        )
        self.stats.liquidation_fills += len(result.fills)
        for fill in result.fills:
            self.stats.volume += fill.price * fill.size // SIZE_ONE
        if state.position(index, PERP).size != 0:
            receipt = self.gate_apply(Backstop(index, PERP))
            if receipt:
                self.stats.backstops += 1

    def gate_apply(self, tx: Tx) -> bool:
        receipt = apply_tx(self.world.state, tx, self.gate.env)
        if receipt.ok:
            self.gate.pending.append(tx)
        return receipt.ok

    # -- the loop -------------------------------------------------------------------------

    def step(self, number: int) -> None:
        self.world.advance(STEP_SECONDS)
        for block in self.l1.mine(self.world.now):
            self.builder.observe(block)
        self.l1_activity(number)
        self.builder.open_block(self.world.now)
        self.gate.env.timestamp = self.world.now
        self.move_index(number)
        oracle = self.oracle_tx()
        before = self.world.state.instrument(PERP)
        if self.gate_apply(oracle):
            self.stats.oracle_updates += 1
            after = self.world.state.instrument(PERP)
            # Funding exchanged this hour: open interest × the index step (one side pays).
            step = abs(after.funding_index - before.funding_index)
            self.stats.funding_paid += before.open_interest * step // (SIZE_ONE * 10**12)
        self.engine.expire(self.world.now)
        self.settle_expired()
        for index in self.underwater():
            self.liquidate(index)
        for maker in self.makers:
            self.engine.cancel_all(maker.index, PERP)
        for k, maker in enumerate(self.makers):
            self.requote(maker, spread_ticks=2 + k)
        self.unwind_fund()
        for trader in self.takers:
            if self.rng.random() < 0.5:
                self.take(trader, 200)
        if number % 6 == 0:
            self.quote_options()
        for trader in self.option_takers:
            if self.rng.random() < 0.3:
                self.take_option(trader)
        for trader in self.degens:
            # Leveraged longs: they buy until the margin gate refuses them.
            if self.rng.random() < 0.3 and trader.index not in self.stats.liquidated_accounts:
                size = LOT * self.rng.randint(500, 3000)
                self.submit(trader, Side.BUY, to_tick(self.index * 1.01), size, OrderFlags.IOC)
        sequenced = self.gate.take_pending()
        self.builder.seal(sequenced, [OK] * len(sequenced))
        if number % BATCH_EVERY == BATCH_EVERY - 1:
            self.post_batch()

    # -- the rollup side ------------------------------------------------------------------

    def l1_activity(self, number: int) -> None:
        """Users act on L1 now and then: a deposit, and a forced withdrawal that the
        sequencer must include (derivation would include it itself at the deadline)."""
        if number % 97 == 50:
            trader = self.takers[number % len(self.takers)]
            self.l1.deposit(trader.owner, 1_000 * QUOTE_ONE)
            self.forced.append(("deposit", number))
        if number % 131 == 70:
            trader = self.option_takers[number % len(self.option_takers)]
            tx = Withdraw(trader.index, 100 * QUOTE_ONE, 0)
            self.l1.force(trader.owner, encode_standalone(tx, self.world.separator))
            self.forced.append(("forced withdrawal", number))

    def post_batch(self) -> None:
        """The batcher: post every block whose origin will be deep enough, in batches
        that fit the inbox's size limit."""
        while True:
            blocks = self.builder.blocks
            ready = next_batch(blocks, self.posted, self.l1.tip.number + 1, self.cfg, self.grid)
            if ready is None:
                return
            data, self.posted = ready
            self.l1.post_batch(data)
            self.batch_bytes.append(len(data))
            self.propose()

    def propose(self) -> None:
        """The proposer posts the output root of the last block it batched."""
        if self.proposals and self.proposals[-1] >= self.posted:
            return
        block = self.builder.blocks[self.posted]
        header = block.header
        root = output_root(self.cfg.mode, header.state_root, header.withdrawals_root, block.hash)
        self.l1.propose(root, block.number, header.l1_origin)
        self.proposals.append(block.number)

    def finish_l1(self) -> None:
        """Post what is left and let L1 run until every batch is deep enough; then,
        once the last output root is final, pay every L2 withdrawal on L1."""
        for _ in range(self.cfg.confirmation_depth + 2):
            self.post_batch()
            self.world.advance(12)
            for block in self.l1.mine(self.world.now):
                self.builder.observe(block)
        if not self.proposals:
            return
        self.world.advance(CHALLENGE_WINDOW + 12)
        for block in self.l1.mine(self.world.now):
            self.builder.observe(block)
        final = self.builder.blocks[self.proposals[-1]]
        state = self.world.state
        for withdrawal_id in range(state.globals().next_withdrawal_id):
            claim = prove_withdrawal(state, final, self.cfg.mode, withdrawal_id)
            self.l1.withdraw(claim, len(self.proposals) - 1)
            self.paid_withdrawals += claim.leaf.amount
        self.world.advance(12)
        for block in self.l1.mine(self.world.now):
            self.builder.observe(block)

    def escrow_gap(self) -> int:
        """0 when the bridge is whole (:func:`rollbook.exchange.audit.escrow_gap`)."""
        on_l1 = sum(i.amount for b in self.l1.blocks for i in b.inputs if isinstance(i, L1Deposit))
        return escrow_gap(
            self.world.state, self.genesis_escrow, on_l1, self.paid_withdrawals, self.l1.escrow()
        )

    def replay(self) -> Deriver:
        """A verifier's view: derive the chain from the L1 history alone."""
        return derive(self.cfg, self.chain_genesis, self.l1.genesis_ref, self.l1.blocks)


def smile_ppm(moneyness: float, seconds: int) -> int:
    """The simulated implied vol in ppm: 65 % at the money, a smile in log-moneyness,
    a little higher for short expiries (simulation only; the STF receives integers)."""
    days = max(seconds, 60) / 86_400
    vol = 0.65 + 1.2 * math.log(moneyness) ** 2 + 0.05 / math.sqrt(days + 0.1)
    return round(vol * 10**6)


def pool_balance(state: State) -> int:
    """Money in the instruments' settlement pools: paid in, not yet collected."""
    return sum(
        state.instrument(k[1]).pool for k in state.keys_of_kind("inst") if isinstance(k[1], int)
    )


def expiry_name(expiry: int) -> str:
    """``2JAN26``-style date of an expiry (as in the option names)."""
    return option_symbol("X", expiry, QUOTE_ONE, True).split("-")[1]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="rollbook devnet")
    parser.add_argument("--duration", type=float, default=20.0, help="wall-clock seconds (max)")
    parser.add_argument("--steps", type=int, default=1200, help="simulated 10-second steps (max)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--l1",
        choices=["embedded", "anvil"],
        default="embedded",
        help="the EVM that runs the contracts: in process (py-evm) or an Anvil node",
    )
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.steps <= 0:
        parser.error("--duration and --steps must be positive")
    crash = min(args.steps // 2, 540)
    session = Session(args.seed, crash, "anvil" if args.l1 == "anvil" else "evm")
    try:
        return run_session(session, args.steps, args.duration, crash)
    finally:
        session.l1.close()


def run_session(session: Session, max_steps: int, duration: float, crash: int) -> int:
    """Run the loop, then the L1 epilogue and the verifier, and print the summary."""
    started = time.monotonic()
    steps = 0
    print(
        f"rollbook devnet: ETH_USDC-PERPETUAL and {len(session.options)} ETH options,"
        f" {len(session.world.traders)} accounts,"
        f" crash at step {crash}; up to {max_steps} steps or {duration:.0f} s"
    )
    while steps < max_steps and time.monotonic() - started < duration:
        session.step(steps)
        steps += 1
        if steps % 100 == 0:
            inst = session.world.state.instrument(PERP)
            print(
                f"  step {steps:5d}  index {session.index:8.2f}  fills {session.stats.fills:6d}"
                f"  OI {inst.open_interest / SIZE_ONE:9.3f} ETH  liquidations"
                f" {len(session.stats.liquidated_accounts)}"
            )
    elapsed = time.monotonic() - started
    session.finish_l1()
    state = session.world.state
    root = state.root()
    verifier = session.replay()
    replayed = verifier.state.root()
    chain = session.builder.blocks
    same_chain = verifier.head.hash == chain[-1].hash and len(verifier.blocks) == len(chain)
    inst = state.instrument(PERP)
    glob = state.globals()
    s = session.stats
    usd = QUOTE_ONE
    print("summary:")
    print(
        f"  simulated time      {steps * STEP_SECONDS / 3600:.2f} h in {steps} blocks"
        f" ({elapsed:.1f} s wall)"
    )
    print(f"  orders              {s.orders}  (engine refused {s.rejected}: {s.refusals})")
    print(f"  fills               {s.fills}  ({s.fills / max(elapsed, 1e-9):.0f}/s incl. signing)")
    print(f"  volume              ${s.volume / usd:,.2f}")
    print(
        f"  liquidated accounts {len(s.liquidated_accounts)}"
        f"  (liquidation fills {s.liquidation_fills}, backstops {s.backstops})"
    )
    print(f"  funding index       {inst.funding_index / 10**12 / usd:+.6f} $/ETH cumulative")
    print(f"  funding paid        ${s.funding_paid / usd:,.2f} (between longs and shorts)")
    print(f"  in settlement pools ${pool_balance(state) / usd:,.6f} (not yet collected)")
    print(f"  open interest       {inst.open_interest / SIZE_ONE:.3f} ETH")
    state.begin()
    fund = health(state, 0, session.world.now)
    state.rollback()
    print(
        f"  insurance fund      ${fund.equity / usd:,.2f} equity"
        f" (position {state.position(0, PERP).size / SIZE_ONE:.3f} ETH)"
    )
    print(
        f"  options             {s.option_fills} fills of {s.option_orders} orders,"
        f" premium ${s.option_premium / usd:,.2f} on {len(session.options)} options"
    )
    for expiry, fixed in sorted(session.settlements.items()):
        print(
            f"  option settlement   {expiry_name(expiry)}: ${fixed.price / usd:,.2f}"
            f" (TWAP of {fixed.samples} samples); {s.options_settled} positions settled,"
            f" ${s.option_payout / usd:,.2f} paid out"
        )
    print(f"  fees                ${glob.fees / usd:,.2f}")
    heads = verifier.heads()
    head = chain[-1].header
    print(
        f"  L2 chain            {len(chain) - 1} blocks on {len(session.l1.blocks)} L1 blocks;"
        f" heads unsafe {len(chain) - 1} / safe {heads.safe} / final {heads.final}"
    )
    posted = sum(session.batch_bytes)
    print(
        f"  batches             {len(session.batch_bytes)} posted, {posted:,} bytes,"
        f" {posted / max(s.fills, 1):.1f} B per fill (incl. oracle reports and L1-derived"
        " blocks)"
    )
    deposits = sum(kind == "deposit" for kind, _ in session.forced)
    l1_events = f"{deposits} deposits, {len(session.forced) - deposits} forced withdrawals"
    derived = [
        r.ok
        for b in verifier.blocks
        for t, r in zip(b.txs, b.receipts, strict=True)
        if t.origin is Origin.L1
    ]
    print(
        f"  L1 inputs           {l1_events}: {len(derived)} included by origin,"
        f" {sum(derived)} applied"
    )
    l1 = session.l1
    gas = sum(int(l1.client.receipt(h)["gasUsed"]) for h in l1.sent)
    count = int(l1.client.read(l1.system.oracle, "count"))
    final = sum(1 for i in range(count) if l1.client.read(l1.system.oracle, "is_final", i))
    print(
        f"  L1                  {'Anvil' if l1.node else 'embedded py-evm'},"
        f" {l1.system.deployment.fork}, chain"
        f" {l1.system.deployment.chain_id}; {len(l1.sent)} txs, {gas:,} gas;"
        f" portal {l1.system.portal.address}"
    )
    print(
        f"  output roots        {count} proposed, {final} final (challenge window"
        f" {CHALLENGE_WINDOW} s)"
    )
    print(
        f"  withdrawals on L1   {session.world.state.globals().next_withdrawal_id} paid,"
        f" ${session.paid_withdrawals / usd:,.2f}, proven against the final root;"
        f" escrow ${l1.escrow() / usd:,.2f}, gap {session.escrow_gap()} (must be 0)"
    )
    print(f"  final state root    0x{root.hex()}")
    output = output_root(session.cfg.mode, head.state_root, head.withdrawals_root, chain[-1].hash)
    print(f"  output root         0x{output.hex()}  (block {head.number})")
    ok = replayed == root and same_chain
    ok = ok and session.escrow_gap() == 0
    print(
        f"  verifier (from L1)  0x{replayed.hex()}  {'MATCH' if ok else 'MISMATCH'}"
        f" ({len(verifier.blocks) - 1} blocks derived,"
        f" {sum('skipped' in n for n in verifier.notes)} batches skipped)"
    )
    return 0 if ok else 1
