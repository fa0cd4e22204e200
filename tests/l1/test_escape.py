"""The escape hatch: the Portal values an account on-chain from its proven leaves
exactly as the STF does, and a frozen system pays claims, refunds and withdrawals by
the rules, to the unit."""

from __future__ import annotations

from typing import Any

import boa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollbook.chain.blocks import Header
from rollbook.exchange.leaves import (
    Account,
    encode_leaf,
    settlement_key,
)
from rollbook.exchange.margin import health
from rollbook.exchange.positions import pending_payment
from rollbook.exchange.state import State
from rollbook.exchange.txs import Fill
from rollbook.exchange.types import Side
from rollbook.l1 import escape
from rollbook.sim.world import World, base, option_chain, usd
from tests.l1.conftest import FORCED_WITHDRAW, load, load_portal

EXPIRY_DAYS = 30


def proven(state: State, key: tuple[object, ...]) -> tuple[bytes, list[bytes]]:
    return escape.proven(state, key)


NONE = escape.NO_SETTLEMENT


def account_args(state: State, index: int, now: int = 0) -> list[Any]:
    """The arguments of ``value_account`` (after ``state_root, now``) for one account;
    the claim calls take the same pieces."""
    return escape.claim_pieces(state, index, now).as_args()


def claim(portal: Any, state: State, index: int, now: int) -> None:
    """An account's claim at the reference time ``now``, one call per position."""
    _, raw, siblings, positions, position_proofs, instruments, instrument_proofs, settles = (
        account_args(state, index, now)
    )
    portal.claim_open(index, raw, siblings)
    for k in range(len(positions)):
        portal.claim_position(
            index,
            raw,
            positions[k],
            position_proofs[k],
            instruments[k],
            instrument_proofs[k],
            settles[k],
        )
    portal.claim_close(index)


def reference_header(state: State, now: int) -> Header:
    """An L2 block header whose post-state is ``state`` at time ``now``."""
    return Header(7, b"\x11" * 32, now, 3, b"\x44" * 32, state.root(), state.withdrawals_root())


def contracts(forced_fee: int = 0, first_deposit_id: int = 0) -> tuple[Any, Any, Any]:
    """Collateral, an OutputOracle (window 100 s) and a Portal (freeze 600 s, claims
    300 s), deployed in the current titanoboa snapshot."""
    from rollbook.chain.blocks import Mode, output_version

    usdc = load("Collateral", "USD Coin", "USDC")
    oracle = load("OutputOracle", boa.env.eoa, 0, 100, boa.env.eoa)
    portal = load_portal(
        usdc.address,
        oracle.address,
        output_version(Mode.OPTIMISTIC),
        forced_fee,
        first_deposit_id,
        600,
        300,
    )
    return usdc, oracle, portal


def stf_equity(state: State, index: int, now: int) -> int:
    state.begin()
    try:
        return health(state, index, now).equity
    finally:
        state.rollback()


def trading_world(seed: int, rounds: int, hours: int) -> World:
    """Traders on a perpetual and an option chain, with funding accruing for hours."""
    import random

    rng = random.Random(seed)
    world = World()
    assert world.list_perp().ok
    expiry = world.now - world.now % 86_400 + EXPIRY_DAYS * 86_400 + 8 * 3600
    assert world.l1(option_chain(10, expiry, (2800, 3000, 3200))).ok
    options = list(range(10, 16))
    people = [world.add_trader(f"t{i}", 1_000_000) for i in range(5)]

    def report(index: int) -> None:
        vols = dict.fromkeys(options, 700_000 + rng.randint(-20_000, 20_000))
        assert world.l2(
            world.oracle_update({1: index}, {1: index + rng.randint(-20, 20) * 50_000}, vols=vols)
        ).ok

    index = usd(3000)
    report(index)
    for _ in range(rounds):
        maker, taker = rng.sample(people, 2)
        side = rng.choice([Side.BUY, Side.SELL])
        if rng.random() < 0.6:
            instrument, size = 1, base(rng.randint(1, 30), 2)
            price = index + rng.randint(-10, 10) * 50_000
        else:
            instrument = rng.choice(options)
            size = base(rng.randint(1, 20), 1)
            mark = world.state.instrument(instrument).mark
            price = max(100_000, mark // 100_000 * 100_000)
        m = world.order(maker, side, price, size, instrument)
        t = world.order(taker, side.opposite, price, size, instrument)
        world.l2(Fill(m, t, size))  # a rejected fill (margin) is fine: it changes nothing
    for _ in range(hours * 6):  # funding accrues hourly from 10-minute reports
        world.advance(600)
        index += rng.randint(-30, 30) * 50_000
        report(index)
    return world


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), rounds=st.integers(8, 25), hours=st.integers(0, 4))
def test_the_portal_values_every_account_as_the_stf_does(
    seed: int, rounds: int, hours: int
) -> None:
    world = trading_world(seed, rounds, hours)
    state = world.state
    root = state.root()
    with boa.env.anchor():
        _, _, portal = contracts()
        positions = pending = 0
        for key in state.keys_of_kind("acct"):
            index = key[1]
            assert isinstance(index, int)
            owner, equity = portal.value_account(root, world.now, *account_args(state, index))
            assert equity == stf_equity(state, index, world.now), index
            account = state.account(index)
            assert isinstance(account, Account) and owner.lower() == "0x" + account.owner.hex()
            positions += len(account.instruments)
            pending += sum(
                1
                for i in account.instruments
                if pending_payment(state.position(index, i), state.instrument(i))
            )
        # The cases that matter were there: open positions, and unsettled funding.
        assert positions > 0
        if hours >= 2:
            assert pending > 0


def test_a_wrong_leaf_or_proof_is_refused() -> None:
    world = trading_world(1, 12, 1)
    state = world.state
    index = next(k[1] for k in state.keys_of_kind("acct") if state.account(k[1]).instruments)
    args = account_args(state, index)
    with boa.env.anchor():
        _, _, portal = contracts()
        root = state.root()
        richer = bytearray(args[1])
        richer[58] ^= 0x01  # the balance's last byte
        now = world.now
        with pytest.raises(boa.BoaError, match="the account leaf is not in the state"):
            portal.value_account(root, now, args[0], bytes(richer), *args[2:])
        with pytest.raises(boa.BoaError, match="one position and one instrument leaf"):
            portal.value_account(
                root, now, *args[:3], args[3][:-1], args[4][:-1], args[5], args[6], args[7]
            )
        stale_mark = bytearray(args[5][0])
        stale_mark[-1] ^= 0x01
        with pytest.raises(boa.BoaError, match="an instrument leaf is not in the state"):
            portal.value_account(
                root, now, *args[:5], [bytes(stale_mark), *args[5][1:]], args[6], args[7]
            )


@pytest.mark.parametrize("shortfall", [0, 10**9])
def test_the_operator_stops_users_escape_with_what_they_are_owed(shortfall: int) -> None:
    """The scenario of #5: the operator stops; a user's forced tx is not served; the
    system freezes; every account claims max(0, equity) against the last final root;
    after the claim period everyone is paid by the rules — in full, or pro rata when
    the escrow is short (``shortfall``), the insurance fund last; a deposit that never
    reached L2 is refunded; the escrow adds up to the unit."""
    from rollbook.chain.blocks import Mode, output_root
    from rollbook.exchange.leaves import GLOBALS_KEY

    world = trading_world(7, 25, 3)
    state = world.state
    glob = state.globals()
    mode = Mode.OPTIMISTIC
    state_root, wd_root = state.root(), state.withdrawals_root()
    header = reference_header(state, world.now)
    block_hash = header.hash()
    with boa.env.anchor():
        usdc, oracle, portal = contracts(forced_fee=10**15, first_deposit_id=glob.next_deposit_id)
        # L1 holds what L2 owes (the genesis allocation of this state, escrowed).
        owed = glob.total_deposits - glob.total_withdrawals - shortfall
        usdc.mint(portal.address, owed)
        # The last root the operator proposed, final after its window.
        boa.env.time_travel(blocks=2)
        oracle.propose(output_root(mode, state_root, wd_root, block_hash), 1, 1)
        boa.env.time_travel(seconds=100)
        # A deposit that never reaches L2, and a forced tx nobody serves.
        late = boa.env.generate_address()
        usdc.mint(late, 5_000_000)
        with boa.env.prank(late):
            usdc.approve(portal.address, 5_000_000)
            portal.deposit(5_000_000, late)
        boa.env.set_balance(late, 10**18)
        boa.env.time_travel(blocks=2)
        with boa.env.prank(late):
            portal.force(FORCED_WITHDRAW, value=10**15)
        boa.env.time_travel(seconds=600)
        with boa.env.prank(late):
            portal.freeze(0)
        assert portal.frozen() and portal.reference() == 0
        with boa.reverts("Portal: the system is frozen"):
            portal.deposit(1, late)
        raw, siblings = proven(state, GLOBALS_KEY)
        portal.record_books(state_root, wd_root, header.encode(), raw, siblings)
        assert portal.derived_deposits() == glob.next_deposit_id
        assert portal.reference_time() == world.now
        # Every account claims max(0, equity).
        equities = {}
        for key in state.keys_of_kind("acct"):
            index = key[1]
            assert isinstance(index, int)
            claim(portal, state, index, world.now)
            equities[index] = stf_equity(state, index, world.now)
            assert portal.claims(index) == max(0, equities[index])
        with boa.reverts("Portal: already claimed"):
            claim(portal, state, 1, world.now)
        with boa.reverts("Portal: the claim period is not over"):
            portal.settle_claim(1)
        boa.env.time_travel(seconds=300)
        before = {i: usdc.balanceOf(portal.claim_owner(i)) for i in equities}
        for index in equities:
            portal.settle_claim(index)
        portal.refund(glob.next_deposit_id)
        with boa.reverts("Portal: already refunded"):
            portal.refund(glob.next_deposit_id)
        # The rules, to the unit.
        users = sum(max(0, e) for i, e in equities.items() if i != 0)
        pool = owed + 5_000_000 - 5_000_000  # the refund is reserved, the rest is the pool
        assert (pool < users) == (shortfall > 0)  # both payout paths are exercised
        paid = {i: usdc.balanceOf(portal.claim_owner(i)) - before[i] for i in equities}
        for index, equity in equities.items():
            if index == 0:
                continue
            expected = max(0, equity) if pool >= users else max(0, equity) * pool // users
            assert paid[index] == expected, index
        assert paid[0] == min(max(0, equities[0]), max(0, pool - users))
        assert usdc.balanceOf(late) == 5_000_000
        assert usdc.balanceOf(portal.address) == owed - sum(paid.values())


def test_a_claim_counts_each_position_once_and_all_of_them() -> None:
    """Positions are added in the account's order, each once; a claim cannot close
    with positions left out (a loss could otherwise be hidden)."""
    from rollbook.chain.blocks import Mode, output_root
    from rollbook.exchange.leaves import GLOBALS_KEY

    world = trading_world(11, 20, 2)
    state = world.state
    glob = state.globals()
    index = max(
        (k[1] for k in state.keys_of_kind("acct") if k[1] != 0),
        key=lambda i: len(state.account(i).instruments),
    )
    assert len(state.account(index).instruments) >= 2
    with boa.env.anchor():
        _, oracle, portal = contracts(forced_fee=10**15, first_deposit_id=glob.next_deposit_id)
        root, wd_root = state.root(), state.withdrawals_root()
        header = reference_header(state, world.now)
        boa.env.time_travel(blocks=2)
        oracle.propose(output_root(Mode.OPTIMISTIC, root, wd_root, header.hash()), 1, 1)
        boa.env.time_travel(seconds=100)
        boa.env.time_travel(blocks=2)
        boa.env.set_balance(boa.env.eoa, 10**18)
        portal.force(FORCED_WITHDRAW, value=10**15)
        boa.env.time_travel(seconds=600)
        portal.freeze(0)
        raw, siblings = proven(state, GLOBALS_KEY)
        portal.record_books(root, wd_root, header.encode(), raw, siblings)
        _, account, proof, positions, pproofs, instruments, iproofs, settles = account_args(
            state, index, world.now
        )
        portal.claim_open(index, account, proof)
        with boa.reverts("Portal: positions left to count"):
            portal.claim_close(index)
        with boa.reverts("Portal: a position leaf is not in the state"):
            # the second position offered first: it is not the k-th instrument's leaf
            portal.claim_position(
                index, account, positions[1], pproofs[1], instruments[1], iproofs[1], settles[1]
            )
        for k in range(len(positions)):
            portal.claim_position(
                index, account, positions[k], pproofs[k], instruments[k], iproofs[k], settles[k]
            )
        with boa.reverts("Portal: every position is already counted"):
            portal.claim_position(
                index, account, positions[0], pproofs[0], instruments[0], iproofs[0], settles[0]
            )
        portal.claim_close(index)
        assert portal.claims(index) == max(0, stf_equity(state, index, world.now))


@pytest.mark.parametrize("fixed", [False, True])
def test_an_expired_option_is_valued_as_the_stf_does(fixed: bool) -> None:
    """After expiry an option pays out at the settlement price once it is fixed, and
    is valued at mark until then; the claim proves the settlement leaf, or its absence."""
    import random

    from rollbook.sim.world import GENESIS_TIME

    rng = random.Random(5)
    world = World(now=GENESIS_TIME + 7 * 3600)
    assert world.list_perp().ok
    expiry = GENESIS_TIME + 8 * 3600
    assert world.l1(option_chain(10, expiry, (2900, 3000, 3100))).ok
    options = list(range(10, 16))
    people = [world.add_trader(f"t{i}", 1_000_000) for i in range(4)]

    def report(vols: bool = True) -> None:
        index = usd(3000) + rng.randint(-5, 5) * 50_000
        smile = dict.fromkeys(options, 700_000) if vols else {}
        assert world.l2(world.oracle_update({1: index}, {1: index}, vols=smile)).ok

    report()
    for k, instrument in enumerate(options):
        mark = world.state.instrument(instrument).mark
        price = max(100_000, mark // 100_000 * 100_000)
        m = world.order(people[k % 4], Side.SELL, price, base(3, 1), instrument)
        t = world.order(people[(k + 1) % 4], Side.BUY, price, base(3, 1), instrument)
        assert world.l2(Fill(m, t, base(3, 1))).ok
    while world.now + 60 < expiry:
        world.advance(60)
        report()
    world.now = expiry - 30
    report()
    if fixed:
        world.now = expiry
        report(vols=False)  # the first report at or after expiry fixes the price
    world.now = expiry + 5  # unfixed: valued at the mark of 35 s ago, still fresh
    state = world.state
    assert (state.get(settlement_key(1, expiry)) is not None) == fixed
    root = state.root()
    with boa.env.anchor():
        _, _, portal = contracts()
        for trader in people:
            args = account_args(state, trader.index, world.now)
            assert any(s != NONE for s in args[-1])  # expired options are in play
            _, equity = portal.value_account(root, world.now, *args)
            assert equity == stf_equity(state, trader.index, world.now), trader.index
            # Hiding a fixed price (or inventing one) is refused.
            flipped = list(args[-1])
            k = next(i for i, s in enumerate(flipped) if s != NONE)
            if fixed:
                flipped[k] = (b"", flipped[k][1], bytes(32), bytes(32))
                with pytest.raises(boa.BoaError, match="not proven absent"):
                    portal.value_account(root, world.now, *args[:-1], flipped)
            else:
                fake = encode_leaf(state.get(settlement_key(1, expiry)) or _settlement())
                flipped[k] = (fake, flipped[k][1], bytes(32), bytes(32))
                with pytest.raises(boa.BoaError, match="settlement leaf is not in the state"):
                    portal.value_account(root, world.now, *args[:-1], flipped)


def _settlement() -> Any:
    from rollbook.exchange.leaves import Settlement

    return Settlement(usd(2000), 30)


@pytest.mark.parametrize("backend", ["evm", "anvil"])
def test_the_operator_stops_end_to_end_on_the_evm(backend: str) -> None:
    """The whole rollup on the embedded EVM: trading, batches and output roots; then
    the operator stops; a user's forced withdrawal is never served by a root; anyone
    freezes; every account claims against the last final root (the state derived from
    L1); everyone is paid by the rules, and the portal's escrow adds up to the unit."""
    from tests.chain.helpers import Rollup

    params = {"challenge_window": 60, "freeze_delay": 300, "claim_period": 120}
    rollup = Rollup(seed=51, traders=4, backend=backend, l1_params=params)
    try:
        operator_stops(rollup)
    finally:
        rollup.close()


def operator_stops(rollup: Any) -> None:
    from rollbook.chain.blocks import output_root
    from rollbook.chain.derive import derive
    from rollbook.codec.txcodec import encode_standalone
    from rollbook.exchange.leaves import GLOBALS_KEY
    from rollbook.exchange.txs import Withdraw
    from rollbook.l1.driver import EvmL1
    from tests.chain.test_derive import run

    l1 = rollup.l1
    assert isinstance(l1, EvmL1)
    genesis_glob = rollup.genesis.globals()
    l1.back_genesis(genesis_glob.total_deposits - genesis_glob.total_withdrawals)
    run(rollup, blocks=20, post_every=5, inputs_every=6)
    # The proposer proposes the last posted block; the root becomes final.
    block = rollup.seq.blocks[rollup.posted]
    header = block.header
    reference_state = rollup.world.state.copy()
    assert block is rollup.seq.blocks[-1] and reference_state.root() == header.state_root
    l1.propose(
        output_root(rollup.cfg.mode, header.state_root, header.withdrawals_root, block.hash),
        block.number,
        header.l1_origin,
    )
    rollup.world.advance(12 + 60)
    rollup.mine()
    # The operator stops. A user forces a withdrawal; no root will ever serve it.
    victim = rollup.people[0]
    tx = Withdraw(victim.index, usd(10), 0)
    l1.force(victim.owner, encode_standalone(tx, rollup.world.separator))
    rollup.world.advance(12 + 300)
    rollup.mine()
    forced_id = int(l1.client.read(l1.system.portal, "next_forced_id")) - 1
    l1.portal_call("freeze", forced_id)
    raw, proof = reference_state.prove(GLOBALS_KEY)
    l1.portal_call(
        "record_books",
        header.state_root,
        header.withdrawals_root,
        header.encode(),
        encode_leaf(raw),
        list(proof.siblings),
    )
    accounts = [k[1] for k in reference_state.keys_of_kind("acct")]
    for index in accounts:
        _, acct, siblings, positions, pproofs, insts, iproofs, settles = account_args(
            reference_state, index, header.timestamp
        )
        l1.portal_call("claim_open", index, acct, siblings)
        for k in range(len(positions)):
            l1.portal_call(
                "claim_position",
                index,
                acct,
                positions[k],
                pproofs[k],
                insts[k],
                iproofs[k],
                settles[k],
            )
        l1.portal_call("claim_close", index)
    rollup.world.advance(12)
    rollup.mine()
    portal, read = l1.system.portal, l1.client.read
    assert read(portal, "frozen") and read(portal, "reference") == 0
    equities = {i: stf_equity(reference_state, i, header.timestamp) for i in accounts}
    for index, equity in equities.items():
        assert read(portal, "claims", index) == max(0, equity), index
    # The verifier agrees: the chain derived from this L1 holds the reference block.
    deriver = derive(rollup.cfg, rollup.genesis, l1.genesis_ref, l1.blocks)
    assert deriver.blocks[block.number].hash == block.hash
    # After the claim period, everyone is paid by the rules, to the unit.
    rollup.world.advance(120)
    rollup.mine()
    escrow = l1.escrow()
    owners = {i: read(portal, "claim_owner", i) for i in accounts}
    before = {i: read(l1.system.collateral, "balanceOf", owners[i]) for i in accounts}
    for index in accounts:
        l1.portal_call("settle_claim", index)
    rollup.world.advance(12)
    rollup.mine()
    ref_glob = reference_state.globals()
    owed_withdrawals = ref_glob.total_withdrawals - read(portal, "paid_total")
    refunds = sum(
        read(portal, "deposits", d)[1]
        for d in range(ref_glob.next_deposit_id, read(portal, "next_deposit_id"))
    )
    pool = escrow - owed_withdrawals - refunds
    users = sum(max(0, e) for i, e in equities.items() if i != 0)
    paid = {i: read(l1.system.collateral, "balanceOf", owners[i]) - before[i] for i in accounts}
    for index, equity in equities.items():
        if index != 0:
            expected = max(0, equity) if pool >= users else max(0, equity) * pool // users
            assert paid[index] == expected, index
    assert paid[0] == min(max(0, equities[0]), max(0, pool - users))
    assert l1.escrow() == escrow - sum(paid.values())
