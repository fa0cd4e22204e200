"""The fill batch circuit (``batch.circom``'s FillBatch) against the STF (#8).

Fills the STF applies one after the other are provable as one batch, its unused slots
changing nothing, to exactly the claim ``rollbook.zk.claim`` computes over the true
roots and the batch's data; a byte of the data, the new root or the header's sections
changed is not provable. A record packs the fill as the module's table says.
"""

from __future__ import annotations

import pytest

from rollbook.crypto.poseidon import P
from rollbook.exchange.leaves import instrument_key
from rollbook.exchange.txs import Fill
from rollbook.exchange.types import Side
from rollbook.exchange.zkroot import zk_root
from rollbook.sim.world import World, base, usd
from rollbook.zk.batch import (
    AppliedFill,
    RecordTooWide,
    batch_witness,
    record,
)
from rollbook.zk.batchdata import HEADER_BYTES
from rollbook.zk.claim import claim, data_hash
from tests.zk.helpers import HEADER, proof_of, provable, verifies
from tests.zk.test_fill import applied, zk_world

CIRCUIT = "fills2_p8"
SLOTS = 2


def two_fills() -> tuple[World, list[AppliedFill]]:
    w = zk_world()
    alice, bob, carol = (w.traders[n] for n in ("alice", "bob", "carol"))
    maker = w.order(bob, Side.SELL, usd(2000), base(2))
    first = applied(w, Fill(maker, w.order(alice, Side.BUY, usd(2000), base(1)), base(1)))
    second = applied(w, Fill(maker, w.order(carol, Side.BUY, usd(2001), base(1)), base(1)))
    return w, [first, second]


@pytest.mark.slow
def test_two_fills_are_one_provable_batch_and_nothing_else_is() -> None:
    w, fills = two_fills()
    inputs, data, public = batch_witness(fills[0].before, fills, HEADER, SLOTS)
    old_root, new_root = zk_root(fills[0].before.items()), zk_root(w.state.items())
    assert public == claim(old_root, new_root, data_hash(data))
    proof = proof_of(CIRCUIT, inputs, public)
    # Another byte of data, another new root: not the claim these inputs prove.
    changed = data[:-1] + bytes([data[-1] ^ 1])
    assert not verifies(CIRCUIT, proof, claim(old_root, new_root, data_hash(changed)))
    assert not verifies(CIRCUIT, proof, claim(old_root, new_root + 1, data_hash(data)))
    # A header that claims L1 inputs the batch does not apply.
    header = list(inputs["header"])
    header[26] = 1
    with_input = bytes(header) + data[HEADER_BYTES:]
    assert not provable(
        CIRCUIT, dict(inputs, header=header), claim(old_root, new_root, data_hash(with_input))
    )


@pytest.mark.slow
def test_a_batch_with_an_unused_slot_is_provable() -> None:
    _, fills = two_fills()
    inputs, data, public = batch_witness(fills[0].before, fills[:1], HEADER, SLOTS)
    assert data.endswith(bytes(16))
    assert provable(CIRCUIT, inputs, public)
    # The unused slot cannot carry a fill's record.
    size = list(inputs["size"])
    assert size[1] == 0
    orders = [list(map(list, pair)) for pair in inputs["order"]]
    orders[1][0][0] = fills[1].tx.maker.order.account
    assert not provable(CIRCUIT, dict(inputs, order=orders), public)
    # Nor hold a position of its own, whose settlement would pay into a pool: a
    # made-up BTC position (Bob's account values, one position) paying 1e8 of funding.
    accounts = [[list(a) for a in pair] for pair in inputs["account"]]
    lists = [[[list(e) for e in side] for side in pair] for pair in inputs["list"]]
    accounts[1][0] = list(inputs["account"][0][0])
    accounts[1][0][15] = 1
    btc = fills[0].before.instrument(2)
    lists[1][0][0] = [2, base(1), 0, (btc.funding_index - 10**20) % P, btc.loss_index_long]
    forged = dict(inputs, account=accounts, list=lists, t=[inputs["t"][0], [1, 0]])
    paid = fills[0].after.copy()
    paid.put(instrument_key(2), btc._replace(pool=btc.pool + base(1)))
    old_root = zk_root(fills[0].before.items())
    forged_claim = claim(old_root, zk_root(paid.items()), data_hash(data))
    assert not provable(CIRCUIT, forged, forged_claim)


def test_a_record_packs_the_fill() -> None:
    _, fills = two_fills()
    packed = int.from_bytes(record(fills[1]), "big")
    tx = fills[1].tx
    instrument = fills[1].before.instrument(1)
    assert packed >> 127 == int(Side.SELL)
    assert packed >> 120 & 0x7F == 1
    assert packed >> 92 & (1 << 28) - 1 == tx.maker.order.account
    assert packed >> 64 & (1 << 28) - 1 == tx.taker.order.account
    assert packed >> 32 & (1 << 32) - 1 == tx.size // instrument.lot
    assert packed & (1 << 32) - 1 == tx.maker.order.price // instrument.tick


def test_a_fill_beyond_a_record_is_refused() -> None:
    """The STF refuses such a fill in ZK mode (tests/exchange/test_rules_zk_mode.py);
    the record's own packing refuses it too (here the STF's refusal is bypassed by
    applying the fill in optimistic mode)."""
    w = zk_world()
    alice, bob = w.traders["alice"], w.traders["bob"]
    # A tick of one quote unit: $5,000 is 5e9 ticks, beyond a record's 32 bits.
    assert w.list_perp(3, "XYZ_USDC-PERPETUAL", 3, 1, base(1)).ok
    w.advance(1)
    assert w.l2(w.oracle_update({3: usd(5000)}, {3: usd(5000)})).ok
    fill = Fill(
        w.order(bob, Side.SELL, usd(5000), base(1), instrument=3),
        w.order(alice, Side.BUY, usd(5000), base(1), instrument=3),
        base(1),
    )
    assert w.l2(fill).error == "ZkUnprovable"
    applied = AppliedFill(w.state.copy(), w.state.copy(), fill, w.env())
    with pytest.raises(RecordTooWide, match="does not fit 32 bits"):
        record(applied)
