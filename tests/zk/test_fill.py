"""The fill circuit (``fill.circom``'s FillStep, in a batch of one) against the STF (#8).

A fill the Python STF settles in ZK mode — opening positions, continuing an order,
closing a position (the list's later places moving up), a flip after an hour of
funding paid into the pools — is provable from the ZK layout of the state before it
to exactly the ZK root of the state after it. A wrong new root, an over-filled order,
a bad signature, a fill dated before the last oracle report and a fill that leaves an
account under its initial margin are not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from rollbook.crypto.poseidon import P
from rollbook.exchange.leaves import instrument_key, slot_key
from rollbook.exchange.orders import SignedOrder
from rollbook.exchange.stf import apply_tx
from rollbook.exchange.txs import Fill
from rollbook.exchange.types import OrderFlags, Side
from rollbook.exchange.zkroot import zk_root
from rollbook.sim.world import GENESIS_TIME, World, base, perp_spec, usd
from rollbook.zk.batch import AppliedFill, batch_witness
from rollbook.zk.batchdata import HEADER_BYTES
from rollbook.zk.claim import claim, data_hash
from tests.zk.helpers import HEADER, proof_of, provable, verifies

CIRCUIT = "fills1_p8"
"""A fill is proven as a batch of one slot: ``FillBatch(1, 8, 16)``."""
HOUR = 3600

pytestmark = pytest.mark.slow


@dataclass
class Step:
    """A fill the STF applied, as a batch of one: its inputs, data and claim."""

    inputs: dict[str, Any]
    data: bytes
    claim: int
    old_root: int
    new_root: int
    world: World
    maker: SignedOrder


def zk_world() -> World:
    w = World(zk=True)
    assert w.list_perp().ok
    assert w.list_perp(2, "BTC_USDC-PERPETUAL", 2, 1_000_000, 10_000).ok
    for name in ("alice", "bob", "carol"):
        w.add_trader(name, 100_000)
    publish(w, 0, usd(2000), usd(50_000))
    return w


def publish(w: World, at: int, eth: int, btc: int, premium: int = 0) -> None:
    w.now = GENESIS_TIME + at
    update = w.oracle_update({1: eth, 2: btc}, {1: eth + premium, 2: btc})
    receipt = w.l2(update)
    assert receipt.ok, receipt


def applied(w: World, tx: Fill) -> AppliedFill:
    """Apply a fill to the world: the states before and after, and its context."""
    before = w.state.copy()
    env = w.env()
    receipt = apply_tx(w.state, tx, env)
    assert receipt.ok, receipt
    return AppliedFill(before, w.state.copy(), tx, env)


def fill(w: World, maker: SignedOrder, taker: SignedOrder, size: int) -> Step:
    """Apply a fill to the world; its witness as a batch of one."""
    return step_of(w, applied(w, Fill(maker, taker, size)))


def step_of(w: World, applied: AppliedFill) -> Step:
    inputs, data, public = batch_witness(applied.before, [applied], HEADER, 1)
    old_root, new_root = zk_root(applied.before.items()), zk_root(applied.after.items())
    return Step(inputs, data, public, old_root, new_root, w, applied.tx.maker)


@pytest.fixture(scope="module")
def opened() -> Step:
    """Alice buys 1 ETH from Bob's resting sell: both open a position."""
    w = zk_world()
    alice, bob = w.traders["alice"], w.traders["bob"]
    maker = w.order(bob, Side.SELL, usd(2000), base(2))
    taker = w.order(alice, Side.BUY, usd(2000), base(1))
    return fill(w, maker, taker, base(1))


def test_a_fill_that_opens_positions_is_provable_and_only_to_the_stfs_root(opened: Step) -> None:
    proof = proof_of(CIRCUIT, opened.inputs, opened.claim)
    other_root = claim(opened.old_root, opened.new_root + 1, data_hash(opened.data))
    assert not verifies(CIRCUIT, proof, other_root)


def test_a_fill_dated_before_the_last_oracle_report_is_not_provable(opened: Step) -> None:
    """A batch's time is never before the oracle's last report (the STF's blocks never
    go back and a report is never after its block), so a prover cannot date a fill
    into the past, where an expired order was live."""
    now = int(opened.inputs["now"])
    assert opened.world.state.oracle().last_timestamp == now
    at = HEADER_BYTES + 1  # the time follows the header and the batch's kind
    assert opened.data[at : at + 8] == now.to_bytes(8, "big")
    data = opened.data[:at] + (now - 1).to_bytes(8, "big") + opened.data[at + 8 :]
    earlier = claim(opened.old_root, opened.new_root, data_hash(data))
    assert not provable(CIRCUIT, dict(opened.inputs, now=now - 1), earlier)


def test_a_bad_signature_is_not_provable(opened: Step) -> None:
    sig = [[list(s) for s in pair] for pair in opened.inputs["sig"]]
    sig[0][1][2] = (sig[0][1][2] + 1) % P  # the taker's S
    assert not provable(CIRCUIT, dict(opened.inputs, sig=sig), opened.claim)


def test_continuing_an_order_and_closing_a_position_are_provable(opened: Step) -> None:
    w = opened.world
    alice, carol = w.traders["alice"], w.traders["carol"]
    maker = opened.maker
    # Carol takes the rest of Bob's order (a continued order: no signature checked).
    step = fill(w, maker, w.order(carol, Side.BUY, usd(2000), base(1)), base(1))
    assert step.inputs["continuing"] == [[1, 0]]
    assert provable(CIRCUIT, step.inputs, step.claim)
    # Bob's order is now full: one more lot over-fills it.
    over = over_fill(w, maker, w.order(carol, Side.BUY, usd(2000), base(1)))
    assert not provable(CIRCUIT, over.inputs, over.claim)
    # Alice buys BTC (a fill as the first), then sells her ETH back to Carol: her
    # list shifts (BTC moves up).
    maker = w.order(carol, Side.SELL, usd(50_000), base(1, 1), instrument=2)
    taker = w.order(alice, Side.BUY, usd(50_000), base(1, 1), instrument=2)
    fill(w, maker, taker, base(1, 1))
    maker = w.order(carol, Side.BUY, usd(2000), base(1))
    step = fill(w, maker, w.order(alice, Side.SELL, usd(2000), base(1)), base(1))
    assert w.state.account(alice.index).instruments == (2,)
    assert provable(CIRCUIT, step.inputs, step.claim)


def over_fill(w: World, maker: SignedOrder, taker: SignedOrder) -> Step:
    """One more lot of a full maker order, which the STF refuses (OverFill), with the
    state it would write: the same fill applied to a copy whose maker slot is one lot
    short of full, and the slot then set to one lot over."""
    tx = Fill(maker, taker, base(1))
    assert apply_tx(w.state.copy(), tx, w.env()).error == "OverFill"
    key = slot_key(maker.order.account, maker.order.slot)
    full = w.state.slot(maker.order.account, maker.order.slot)
    short = w.state.copy()
    short.put(key, full._replace(filled=full.filled - base(1)))
    assert apply_tx(short, tx, w.env()).ok
    short.put(key, full._replace(filled=full.filled + base(1)))
    return step_of(w, AppliedFill(w.state, short, tx, w.env()))


def test_funding_and_a_flip_are_provable() -> None:
    w = zk_world()
    alice, bob = w.traders["alice"], w.traders["bob"]
    step = fill(
        w,
        w.order(bob, Side.SELL, usd(2000), base(2)),
        w.order(alice, Side.BUY, usd(2000), base(2)),
        base(2),
    )
    # Marks above the index for an hour: longs pay funding at their next touch.
    publish(w, 600, usd(2000), usd(50_000), premium=usd(10))
    publish(w, HOUR, usd(2000), usd(50_000), premium=usd(10))
    funding = w.state.instrument(1).funding_index
    assert funding != 0 and w.state.position(alice.index, 1).funding_snap != funding
    # Alice sells 3: she flips to short 1, paying her funding first.
    step = fill(
        w,
        w.order(bob, Side.BUY, usd(2000), base(3)),
        w.order(alice, Side.SELL, usd(2000), base(3)),
        base(3),
    )
    assert w.state.position(alice.index, 1).size == -base(1)
    assert provable(CIRCUIT, step.inputs, step.claim)


def test_a_fill_under_initial_margin_is_not_provable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The STF refuses a fill that leaves the taker under IM; with the STF's margin
    check switched off (here only, to get the state it would write) the circuit still
    refuses it."""
    w = zk_world()
    alice, bob = w.traders["alice"], w.traders["bob"]
    maker = w.order(bob, Side.SELL, usd(2000), base(1_000))
    taker = w.order(alice, Side.BUY, usd(2000), base(1_000), flags=OrderFlags.NONE)
    refused = apply_tx(w.state.copy(), Fill(maker, taker, base(1_000)), w.env())
    assert not refused.ok and refused.error == "NotEnoughFunds"
    monkeypatch.setattr("rollbook.exchange.trading.require_initial_margin", lambda *a, **k: None)
    step = fill(w, maker, taker, base(1_000))
    assert not provable(CIRCUIT, step.inputs, step.claim)


def test_instruments_beyond_the_batch_are_refused() -> None:
    w = zk_world()
    # The STF refuses the listing in ZK mode (exchange.zkmode); the witness builder
    # still refuses a state that holds one (here put there directly).
    assert w.list_perp(16, "SOL_USDC-PERPETUAL", 3).error == "ZkUnprovable"
    w.state.put(instrument_key(16), perp_spec(16, "SOL_USDC-PERPETUAL", 3))
    before = w.state.copy()
    alice, bob = w.traders["alice"], w.traders["bob"]
    tx = Fill(
        w.order(bob, Side.SELL, usd(2000), base(1)),
        w.order(alice, Side.BUY, usd(2000), base(1)),
        base(1),
    )
    assert apply_tx(w.state, tx, w.env()).ok
    with pytest.raises(ValueError, match="beyond the circuit"):
        batch_witness(before, [AppliedFill(before, w.state, tx, w.env())], HEADER, 1)
