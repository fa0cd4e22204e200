"""The one-step executor (StepExecutor.vy) against the Python trace (chain/trace.py):
every step the executor covers gives the same post-checkpoint as the STF, on derived
chains and on blocks built to refuse txs; a witness that does not prove its part
reverts. The executor is the second implementation of the STF: a divergence here is
a consensus bug."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollbook.chain.blocks import Mode, output_version
from rollbook.chain.derive import build_batched_block, derive
from rollbook.chain.l1 import L1Ref
from rollbook.chain.trace import SPAN, BlockTrace, error_word, trace_block, trace_output
from rollbook.exchange.leaves import instrument_key
from rollbook.exchange.steps import FAMILIES
from rollbook.exchange.stf import BlockTx
from rollbook.exchange.txs import (
    Deposit,
    Fill,
    ListInstrument,
    ListOptionChain,
    Origin,
    Tx,
    Withdraw,
)
from rollbook.exchange.types import Side
from rollbook.l1.onestep import witness_at
from rollbook.sim.vectors import (
    _base_world,
    _open,
    _portfolio,
    scenario_trace,
    scenarios,
    trace_of,
    world_trace,
)
from rollbook.sim.world import GENESIS_TIME, World, base, option_chain, perp_spec, usd
from tests.chain.helpers import Rollup, run
from tests.l1.conftest import deploy_executor, input_queue, is_l1_load, l1_loads, queue_for

NOT_YET = "not executable yet"
SCENARIOS = scenarios()


@pytest.fixture(autouse=True)
def own_env() -> Iterator[None]:
    with boa.swap_env(boa.Env()):
        yield


@pytest.fixture(scope="module")
def chain() -> tuple[Rollup, list[Any]]:
    rollup = Rollup(seed=5, traders=3)
    run(rollup, blocks=24, post_every=4, inputs_every=3)
    blocks = derive(rollup.cfg, rollup.genesis, rollup.l1.genesis_ref, rollup.l1.blocks).blocks
    return rollup, blocks


def traces(rollup: Rollup, blocks: list[Any]) -> list[BlockTrace]:
    return trace_output(rollup.genesis, blocks, 0, len(blocks) - 1, rollup.world.separator).blocks


def replay(executor: Any, trace: BlockTrace) -> tuple[list[str], list[str]]:
    """Run every step of the trace on the executor; returns the steps it executed and
    those it does not cover yet. A different post-checkpoint fails the test."""
    done, pending = [], []
    block_inputs = trace.inputs.hash()
    for offset, step in enumerate(trace.steps):
        try:
            got = executor.execute(
                step.pre.checkpoint, offset, block_inputs, witness_at(trace, offset)
            )
        except boa.BoaError as exc:
            if NOT_YET not in str(exc):
                raise
            pending.append(step.name)
            continue
        assert got == step.post.checkpoint, f"offset {offset}: {step.name} diverges"
        done.append(step.name)
    return done, pending


def family(index: int) -> set[str]:
    return set(FAMILIES[index][1])


def is_fill(trace: BlockTrace) -> bool:
    """Whether the block's first tx is a fill (its kind byte, after origin and sender)."""
    load = next(s for s in trace.steps if s.name == "tx.load")
    return len(load.item) > 21 and load.item[21] & 0x80 != 0


def test_every_vector_runs_the_same_on_the_executor() -> None:
    """Each STF vector's tx, in a block of its own: every step the executor runs gives
    the STF's checkpoint; the steps it refuses as "not executable yet" are the families
    and cases still to come, never the framing, deposits, the owners' actions, the
    oracle's, expiry's, governance's or a fill's (every step of a fill runs, its margin
    checks included). Together the vectors exercise every accounts, oracle, trading,
    expiry and governance step, the margin check of a withdrawal, a transfer or a trade
    (the risk-reducing rule accepting and refusing; an option expiring inside a check,
    fixed or not), an account's settlement (deposits come from the derived chains
    above), every way the oracle refuses a report and every way a fill is refused, the
    listings' and expiry's refusals, and every step of a liquidation, backstop and
    forced close with their refusals (a liquidation's order and fill steps are a
    fill's), and every margin check of a portfolio-margin account: the mode switch, a
    withdrawal, a trade's check with the risk-reducing rule, a liquidation's and a
    backstop's health checks, each allowed and refused (its lanes travel in the steps'
    aux)."""
    executed: set[str] = set()
    refused: set[tuple[str, bytes]] = set()
    others: set[tuple[str, bytes]] = set()
    pm_refused: set[tuple[str, bytes]] = set()
    pm_checks = 0
    liq_refused: set[tuple[str, bytes]] = set()
    filled: set[tuple[str, bytes]] = set()
    for name in sorted(SCENARIOS):
        trace, separator = scenario_trace(name)
        ex = deploy_executor(
            output_version(Mode.OPTIMISTIC), separator, queue_for([trace]), [trace]
        )
        done, pending = replay(ex, trace)
        assert {"block.begin", "tx.load", "tx.end", "block.seal"} <= set(done), name
        # (a tx of a family still to come cannot even load: its first step is the
        # family's to name)
        assert not set(pending) & (family(0) - {"tx.load"} | family(1) | family(2)), name
        assert not set(pending) & family(6), name
        assert not set(pending) & (family(7) | family(8)), name
        if is_fill(trace):
            assert not pending, (name, pending)
            filled |= {
                (s.name, s.post.context.error)
                for s in trace.steps
                if s.name in family(4) | {"tx.load", "margin.compare"}
                and s.post.context is not None
                and s.post.context.failed
            }
        executed.update(done)
        if name.startswith(("liquidate", "backstop", "forced_close")):
            assert not pending, (name, pending)
            liq_refused |= {
                (s.name, s.post.context.error)
                for s in trace.steps
                if s.name != "tx.end" and s.post.context is not None and s.post.context.failed
            }
        if "portfolio" in name:
            assert not pending, (name, pending)
            pm_refused |= {
                (s.name, s.post.context.error)
                for s in trace.steps
                if s.name != "tx.end" and s.post.context is not None and s.post.context.failed
            }
            pm_checks += sum(1 for s in trace.steps if s.witness is not None and s.witness.aux)
        refused |= {
            (s.name, s.post.context.error)
            for s in trace.steps
            if s.name in family(6) and s.post.context is not None and s.post.context.failed
        }
        others |= {
            (s.name, s.post.context.error)
            for s in trace.steps
            if s.name in family(3) | family(7) | family(8) | {"tx.load"}
            and s.post.context is not None
            and s.post.context.failed
        }
    margin = {"margin.begin", "margin.settle_accumulate", "margin.accumulate", "margin.compare"}
    margin |= {"settle.begin", "settle.position"}
    assert family(2) | margin <= executed, sorted(family(2) | margin - executed)
    assert family(6) | family(7) | family(8) <= executed, sorted(
        family(6) | family(7) | family(8) - executed
    )
    malformed = error_word("MalformedTx")
    assert {
        ("tx.load", malformed),  # an option expiry not at 08:00 UTC
        ("gov.list", malformed),
        ("gov.expiry", malformed),
        ("gov.list_option", malformed),
        ("gov.oracle", malformed),
        ("gov.params", malformed),
        ("margin.accumulate", error_word("OracleError")),  # expired, not fixed, stale
        ("margin.compare", error_word("NotEnoughFunds")),
    } <= others, sorted(others)
    assert family(4) <= executed, sorted(family(4) - executed)
    assert family(5) <= executed, sorted(family(5) - executed)
    word = error_word
    assert pm_checks > 0
    assert pm_refused == {
        ("margin.compare", word("NotEnoughFunds")),  # a withdrawal; a trade at a loss
        ("backstop.check", word("NotLiquidatable")),  # above the backstop threshold
    }, sorted(pm_refused)
    assert liq_refused == {
        ("tx.load", word("MalformedTx")),  # against the account's own order
        ("tx.load", word("NotLiquidatable")),  # the insurance fund
        # (a forced close from L2 is no tx a batch may carry: an unreadable item,
        # refused as MalformedTx, like the liquidation against the account's own order)
        ("liq.instrument", word("NotLiquidatable")),
        ("liq.instrument", word("PriceNotAllowed")),  # outside the band
        ("liq.penalty", word("PriceNotAllowed")),  # beyond the bankruptcy price
        ("fill.apply", word("ReduceOnlyViolation")),  # the liquidated side would flip
        ("margin.compare", word("NotEnoughFunds")),  # the maker's initial margin
        ("backstop.check", word("NotLiquidatable")),
        ("backstop.mark", word("MalformedTx")),  # no position
        ("forced_close.auth", word("Unauthorized")),
        ("forced_close.mark", word("OracleError")),
        ("forced_close.move", word("PositionLimit")),  # the insurance fund is full
    }, sorted(liq_refused)
    assert filled == {
        ("tx.load", error_word("MalformedTx")),
        ("tx.load", error_word("PostOnlyTaker")),
        ("fill.instrument", error_word("UnknownInstrument")),
        ("fill.instrument", error_word("PriceNotAllowed")),
        ("order.maker", error_word("OrderExpired")),
        ("order.maker", error_word("OrderCancelled")),
        ("order.maker", error_word("SlotConflict")),
        ("order.maker", error_word("OverFill")),
        ("order.taker", error_word("UnknownAccount")),
        ("order.taker", error_word("FeeTooHigh")),
        ("order.taker", error_word("BadSignature")),
        ("fill.apply", error_word("ReduceOnlyViolation")),
        ("fill.apply", error_word("PositionLimit")),
        ("fill.book", error_word("PositionLimit")),
        ("margin.compare", error_word("NotEnoughFunds")),
    }, sorted(filled)
    oracle_error, bad_signature = error_word("OracleError"), error_word("BadSignature")
    unknown = error_word("UnknownInstrument")
    assert refused == {
        ("oracle.verify", oracle_error),
        ("oracle.verify", bad_signature),
        ("oracle.index", oracle_error),
        ("oracle.mark", oracle_error),
        ("oracle.mark", unknown),
        ("oracle.funding", oracle_error),
        ("oracle.option", unknown),
        ("oracle.option", oracle_error),
    }


def executor(rollup: Rollup, traced: list[BlockTrace]) -> Any:
    """The executor, with the input queue of the traced chain's L1 txs and the inbox
    of its batches."""
    queue = queue_for(traced)
    version = output_version(rollup.cfg.mode)
    return deploy_executor(version, rollup.world.separator, queue, traced)


def wide_portfolio(w: World) -> tuple[Tx, Origin, bytes | None]:
    """Alice, in portfolio margin, holds one perpetual on each of 32 assets (the
    default position bound, and MarginSteps' MAX_ASSETS) and withdraws: the last
    steps of her check carry the largest aux witness (32 assets' lanes)."""
    assets = range(1, 33)
    for i in assets[1:]:
        assert w.l1(ListInstrument(perp_spec(i, f"A{i}_USDC-PERPETUAL", asset=i))).ok
    w.advance(5)
    prices = {i: usd(3000 if i == 1 else 100 + i) for i in assets}
    assert w.l2(w.oracle_update(prices, prices)).ok
    _portfolio(w, "alice")
    a, b = w.traders["alice"], w.traders["bob"]
    for i in assets:
        side, other = (Side.SELL, Side.BUY) if i % 2 else (Side.BUY, Side.SELL)
        maker = w.order(a, side, prices[i], base(1), i)
        assert w.l2(Fill(maker, w.order(b, other, prices[i], base(1), i), base(1))).ok
    tx = w.owner_signed(Withdraw, a, account=a.index, amount=usd(100), nonce=2)
    return tx, Origin.L2, None


def calldata_gas(data: bytes) -> int:
    """EIP-2028: 16 gas per non-zero calldata byte, 4 per zero byte."""
    return sum(16 if byte else 4 for byte in data)


AUX = 11  # the witness's aux field (StepExecutor.Witness)


def test_a_portfolio_of_32_assets_runs_within_the_step_gas_bound() -> None:
    """Every step of a portfolio check over 32 assets gives the STF's checkpoint, and
    none costs more than 1M gas with its calldata (docs/design/fraud-proofs.md section
    7's goal; the aux grows by 768 bytes per asset)."""
    trace, separator = trace_of(wide_portfolio)
    ex = deploy_executor(output_version(Mode.OPTIMISTIC), separator, sources=[trace])
    block_inputs = trace.inputs.hash()
    worst, largest_aux = 0, 0
    for offset, step in enumerate(trace.steps):
        witness = witness_at(trace, offset)
        got = ex.execute(step.pre.checkpoint, offset, block_inputs, witness)
        assert got == step.post.checkpoint, f"offset {offset}: {step.name} diverges"
        if step.name.startswith("margin."):
            calldata = ex.execute.prepare_calldata(
                step.pre.checkpoint, offset, block_inputs, witness
            )
            used = ex._computation.get_gas_used() + calldata_gas(calldata)
            worst = max(worst, used)
            largest_aux = max(largest_aux, len(witness[AUX]))
    assert 96 + 31 * 32 <= largest_aux <= 2048
    assert worst <= 1_000_000, worst


def test_a_portfolio_aux_that_is_not_the_carried_one_reverts() -> None:
    """A portfolio step's aux must open the carried head, and its lanes the asset's
    entry: an altered head or lane reverts (a false aux proves nothing)."""
    trace, separator = scenario_trace("portfolio_withdraw")
    ex = deploy_executor(output_version(Mode.OPTIMISTIC), separator, sources=[trace])
    inputs = trace.inputs.hash()
    for name, at, reason in (
        ("margin.compare", 31, "not the carried ones"),  # the head's loss
        ("margin.settle_accumulate", -1, "not the asset's"),  # the last lane
    ):
        offset = max(
            i
            for i, s in enumerate(trace.steps)
            if s.name == name and s.witness is not None and s.witness.aux
        )
        step = trace.steps[offset]
        good = witness_at(trace, offset)
        assert ex.execute(step.pre.checkpoint, offset, inputs, good) == step.post.checkpoint
        forged = bytearray(good[AUX])
        forged[at] ^= 1
        with pytest.raises(boa.BoaError, match=reason):
            ex.execute(
                step.pre.checkpoint, offset, inputs, (*good[:AUX], bytes(forged), *good[AUX + 1 :])
            )


def no_vector(w: World) -> tuple[Tx, Origin, bytes | None]:
    """Alice in portfolio margin with a perpetual whose scenario vector is gone (set
    in the state directly: no tx writes a mark without one): her withdrawal's check
    is refused with OracleError in its compare, as margin.requirements raises."""
    _open(w)
    _portfolio(w, "alice")
    instrument = w.state.instrument(1)
    w.state.put(instrument_key(1), instrument._replace(vector=()))
    a = w.traders["alice"]
    return w.owner_signed(Withdraw, a, account=a.index, amount=usd(1), nonce=2), Origin.L2, None


def test_a_portfolio_check_without_a_vector_is_refused_the_same() -> None:
    trace, separator = trace_of(no_vector)
    ex = deploy_executor(output_version(Mode.OPTIMISTIC), separator, sources=[trace])
    done, pending = replay(ex, trace)
    assert not pending and "margin.compare" in done
    failed = [s for s in trace.steps if s.post.context is not None and s.post.context.failed]
    assert [(s.name, s.post.context.error) for s in failed if s.post.context] == [
        ("margin.compare", error_word("OracleError"))
    ]


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), traders=st.integers(2, 4))
def test_random_chains_run_the_same_on_the_executor(seed: int, traders: int) -> None:
    """Fuzzed steps: chains of random fills, oracle reports, deposits and forced
    withdrawals, derived from their L1 history: every step of every block executes on
    the executor and gives the Python trace's checkpoint (a divergence is a consensus
    bug)."""
    rollup = Rollup(seed=seed, traders=traders)
    run(rollup, blocks=12, post_every=4, inputs_every=2)
    blocks = derive(rollup.cfg, rollup.genesis, rollup.l1.genesis_ref, rollup.l1.blocks).blocks
    traced = traces(rollup, blocks)
    with boa.swap_env(boa.Env()):
        ex = executor(rollup, traced)
        names: set[str] = set()
        for trace in traced:
            done, pending = replay(ex, trace)
            assert not pending, pending
            names |= set(done)
    assert {"fill.apply", "margin.compare", "oracle.mark"} <= names


def test_framing_and_deposits_match_the_stf(chain: tuple[Rollup, list[Any]]) -> None:
    rollup, blocks = chain
    traced = traces(rollup, blocks)
    ex = executor(rollup, traced)
    done: list[str] = []
    for trace in traced:
        ran, _ = replay(ex, trace)
        done += ran
        # Past the seal the output root stays, up to the end of the block's span.
        end = trace.steps[-1].post.checkpoint
        for offset in (len(trace.steps), SPAN - 1):
            assert ex.execute(end, offset, trace.inputs.hash(), witness_at(trace, offset)) == end
    assert {"block.begin", "tx.load", "tx.end", "block.seal", "deposit"} <= set(done)
    assert {"deposit.open", "deposit.credit", "deposit.totals"} & set(done)


def test_refused_deposits_match_the_stf(chain: tuple[Rollup, list[Any]]) -> None:
    """A deposit with a wrong id, a deposit from L2, a new owner and a known one."""
    rollup, blocks = chain
    parent = blocks[0]
    state = rollup.genesis.copy()
    pre = state.copy()
    glob = state.globals()
    known = rollup.people[0].owner
    txs = [
        BlockTx(Deposit(glob.next_deposit_id + 5, known, 7), Origin.L1),  # wrong id
        BlockTx(Deposit(glob.next_deposit_id, b"\x77" * 20, 1_000), Origin.L1),  # opens
        BlockTx(Deposit(glob.next_deposit_id + 1, known, 2_000), Origin.L1),  # credits
    ]
    genesis = rollup.l1.genesis_ref
    origin = L1Ref(genesis.number + 1, b"\x01" * 32, genesis.timestamp + 12)
    block = build_batched_block(
        state,
        parent.header,
        origin,
        parent.header.timestamp + 2,
        txs,
        [Deposit(glob.next_deposit_id + 2, known, 5)],  # from L2: an unreadable item
        rollup.cfg,
    )
    assert [r.ok for r in block.receipts] == [False, True, True, False]
    trace = trace_block(pre, parent.header, block, rollup.world.separator)
    done, pending = replay(executor(rollup, [trace]), trace)
    assert not pending
    assert done.count("deposit") == 3 and "deposit.open" in done and "deposit.credit" in done


def test_a_witness_that_does_not_prove_its_part_reverts(
    chain: tuple[Rollup, list[Any]],
) -> None:
    rollup, blocks = chain
    traced = traces(rollup, blocks)
    ex = executor(rollup, traced)
    trace = next(t for t in traced if any(s.name == "deposit" for s in t.steps))
    offset = next(i for i, s in enumerate(trace.steps) if s.name == "deposit.totals")
    step = trace.steps[offset]
    good = witness_at(trace, offset)
    assert ex.execute(step.pre.checkpoint, offset, trace.inputs.hash(), good) == (
        step.post.checkpoint
    )
    # A read whose leaf was altered (a larger total) no longer matches its proof.
    reads = list(good[8])
    path, leaf, proof = reads[0]
    forged = bytearray(leaf)
    forged[-1] ^= 1
    reads[0] = (path, bytes(forged), proof)
    with pytest.raises(boa.BoaError, match="proof"):
        ex.execute(step.pre.checkpoint, offset, trace.inputs.hash(), (*good[:8], reads, *good[9:]))
    # Another context (a different step count) does not open the agreed checkpoint.
    ctx = trace.steps[offset].pre.context
    assert ctx is not None
    moved = list(good[0])
    moved[11] = ctx.step + 1  # (the context's step count)
    with pytest.raises(boa.BoaError, match="does not open"):
        ex.execute(step.pre.checkpoint, offset, trace.inputs.hash(), (tuple(moved), *good[1:]))
    # The block.begin step refuses inputs that are not the block's.
    with pytest.raises(boa.BoaError, match="not the block's"):
        ex.execute(trace.steps[0].pre.checkpoint, 0, b"\x01" * 32, witness_at(trace, 0))


def test_a_block_can_neither_invent_nor_skip_an_l1_input(
    chain: tuple[Rollup, list[Any]],
) -> None:
    """A block's L1 txs are the input queue's entries up to its origin, in order: an
    L1 tx that is not the queue's next entry cannot be loaded, a block cannot go on to
    its sequenced txs or its seal while an entry is due, and its first L1 input is
    the first one its parent did not take."""
    rollup, blocks = chain
    traced = traces(rollup, blocks)
    version, separator = output_version(rollup.cfg.mode), rollup.world.separator
    honest = executor(rollup, traced)
    trace = next(t for t in traced if any(is_l1_load(s) for s in t.steps))
    offset = next(i for i, s in enumerate(trace.steps) if is_l1_load(s))
    step = trace.steps[offset]
    args = (step.pre.checkpoint, offset, trace.inputs.hash(), witness_at(trace, offset))
    assert honest.execute(*args) == step.post.checkpoint
    # Invented: no such entry in the queue.
    with pytest.raises(boa.BoaError, match="the item is not the batch's next"):
        deploy_executor(version, separator, sources=traced).execute(*args)
    # Skipped: the queue holds an input due before this one, which the block left out.
    entries = l1_loads(traced)
    index = trace.first_input + sum(is_l1_load(s) for s in trace.steps[:offset])
    extra = (b"\x01" + bytes(20) + b"\x0b" + bytes(36), entries[index][1])
    skipped = deploy_executor(version, separator, input_queue([*entries[:index], extra]), traced)
    with pytest.raises(boa.BoaError, match="not the L1 input queue's next entry"):
        skipped.execute(*args)
    # ...and nor can the block's last load end it while the entry is due.
    last = trace.steps[-2]
    end = (last.pre.checkpoint, len(trace.steps) - 2, trace.inputs.hash())
    later = [*entries[: trace.first_input + sum(map(is_l1_load, trace.steps))], extra]
    with pytest.raises(boa.BoaError, match="not the L1 input queue's next entry"):
        deploy_executor(version, separator, input_queue(later), traced).execute(
            *end, witness_at(trace, len(trace.steps) - 2)
        )
    # The first L1 input of a block is the parent's next: not one more, not one less.
    begin = witness_at(trace, 0)
    for first in (trace.first_input - 1, trace.first_input + 1):
        if first < 0:
            continue
        moved = (*begin[:AUX], first.to_bytes(32, "big") + begin[AUX][32:], *begin[AUX + 1 :])
        with pytest.raises(boa.BoaError, match="L1 input"):
            honest.execute(trace.steps[0].pre.checkpoint, 0, trace.inputs.hash(), moved)


DAY = 86_400


def _listing_trace(world: Any, chains: list[ListOptionChain]) -> BlockTrace:
    """The last of ``chains`` traced in a block of its own, after the others."""
    for chain in chains[:-1]:
        assert world.l1(chain).ok
    return world_trace(world, chains[-1], Origin.L1)


@pytest.mark.parametrize(
    ("date", "underlying", "strikes"),
    [
        ((2027, 2, 28), "BTC", (1, 9, 10, 99_999, 123_456)),  # before a leap day
        ((2028, 2, 29), "SOL1", (7,)),  # a leap day: two-digit day, the year's rollover
        ((2027, 12, 31), "E", tuple(range(1_000, 33_000, 1_000))),  # 32 strikes
        ((2027, 1, 1), "ETH", (3000,)),  # Jan: civil_from_days's year adjustment
        ((2027, 10, 9), "AVAX", (2**32,)),  # a strike beyond 32 bits
    ],
)
def test_option_listings_match_the_stf(
    date: tuple[int, int, int], underlying: str, strikes: tuple[int, ...]
) -> None:
    """Option chains on dates and names that exercise Deribit's naming (the symbol is
    built on-chain, `options.option_symbol`), every option of a 32-strike chain."""
    days = _days_from_civil(*date)
    expiry = days * DAY + 8 * 3600
    world = _base_world()
    world.now = expiry - 100 * DAY
    trace = _listing_trace(world, [option_chain(40, expiry, strikes, underlying=underlying)])
    done, pending = replay(_vector_executor(trace), trace)
    assert not pending
    assert done.count("gov.list_option") == 2 * len(strikes)


def test_a_seventeenth_expiry_is_refused_on_the_executor() -> None:
    """`gov.expiry` refuses a 17th live expiry of an asset (and sorts every other in)."""
    world = _base_world()
    first = GENESIS_TIME + 8 * 3600 + DAY
    chains = [option_chain(100 + 2 * k, first + k * DAY, (3000,)) for k in (3, 1, 0, 2)]
    chains += [option_chain(100 + 2 * k, first + k * DAY, (3000,)) for k in range(4, 17)]
    trace = _listing_trace(world, chains)
    done, pending = replay(_vector_executor(trace), trace)
    assert not pending and "gov.expiry" in done
    step = next(s for s in trace.steps if s.name == "gov.expiry")
    end = step.post.context
    assert end is not None and end.failed and end.error == error_word("MalformedTx")


def _vector_executor(trace: BlockTrace) -> Any:
    """An executor for a trace of the vectors' world, with its L1 tx in the queue."""
    separator = _base_world().separator
    return deploy_executor(output_version(Mode.OPTIMISTIC), separator, queue_for([trace]), [trace])


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 (Howard Hinnant's days_from_civil)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def test_fills_in_one_block_match_the_stf(chain: tuple[Rollup, list[Any]]) -> None:
    """Fills one after another in a block: a first fill, a repeat of its maker (proven
    by its slot), an over-fill of it, a self-trade and a fee above the taker's bound.
    Every step runs on the executor; the refused fills' roots return to the pre-tx
    roots at their ends."""
    rollup, blocks = chain
    parent = blocks[0]
    state = rollup.genesis.copy()
    pre = state.copy()
    world = rollup.world
    a, b, c = rollup.people[:3]
    maker = world.order(a, Side.SELL, usd(3000), base(2))
    fills = [
        Fill(maker, world.order(b, Side.BUY, usd(3000), base(1)), base(1)),
        Fill(maker, world.order(c, Side.BUY, usd(3001), base(1)), base(1)),
        Fill(maker, world.order(c, Side.BUY, usd(3000), base(1)), base(1)),  # over-fill
        Fill(
            world.order(b, Side.SELL, usd(3000), base(1)),
            world.order(b, Side.BUY, usd(3000), base(1)),
            base(1),
        ),
        Fill(
            world.order(b, Side.SELL, usd(3000), base(1)),
            world.order(c, Side.BUY, usd(3000), base(1), max_fee_ppm=1),
            base(1),
        ),
    ]
    block = build_batched_block(
        state,
        parent.header,
        rollup.l1.genesis_ref,
        parent.header.timestamp + 2,
        [],
        list(fills),
        rollup.cfg,
    )
    assert [(r.ok, r.error) for r in block.receipts] == [
        (True, ""),
        (True, ""),
        (False, "OverFill"),
        (False, "MalformedTx"),
        (False, "FeeTooHigh"),
    ]
    trace = trace_block(pre, parent.header, block, rollup.world.separator)
    done, pending = replay(executor(rollup, [trace]), trace)
    assert not pending
    assert done.count("fill.book") == 2 and done.count("margin.compare") == 4
