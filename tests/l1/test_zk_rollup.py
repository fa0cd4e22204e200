"""ZK mode on L1 (ZkRollup.vy, Portal.withdraw_verified; docs/design/zk.md "On L1").

A batch is final the moment its proof verifies: the root moves, the L1 inputs it took
are consumed and its withdrawals are payable in the same block. Everything else is
refused with the rule it breaks: a tampered or malleated proof, a wrong root or data,
a batch out of order or replayed, an L1 input invented, skipped or reordered, a
withdrawal paid twice, too little gas. Proofs are real (``free_input_test``'s key,
whose public input is free; ``claim_test`` for the claim's binding end to end).
"""

from __future__ import annotations

from typing import Any

import boa
import pytest
from py_ecc import optimized_bn128 as bn

from rollbook.zk import batchdata as bd
from rollbook.zk import claim as zc
from rollbook.zk import keys as zk
from tests.l1.conftest import FORCED_WITHDRAW, FREEZE_DELAY, events
from tests.l1.zk_rig import FORCED_FEE, GENESIS, WINDOW, ZkL1, deploy_zk, raw

NEW_ROOT = 123_456_789


@pytest.fixture
def l1() -> ZkL1:
    return deploy_zk()


def pay(l1: ZkL1, batch: int, data: bd.BatchData, position: int, **kw: Any) -> None:
    w = data.withdrawals[position]
    path = bd.withdrawal_path(data.withdrawals, position)
    l1.portal.withdraw_verified(
        batch, w.id, "0x" + w.owner.hex(), w.amount, position, list(path), **kw
    )


def test_a_verified_batch_is_final_at_once_and_pays_in_the_same_block(l1: ZkL1) -> None:
    alice, bob = boa.env.generate_address(), boa.env.generate_address()
    l1.deposit(5_000_000, alice)
    l1.deposit(7_000_000, bob)
    block = boa.env.evm.patch.block_number
    data = l1.batch(withdrawals=[(alice, 2_000_000), (bob, 3_000_000)], rest=b"fills")
    l1.submit(NEW_ROOT, data.encode())
    (verified,) = events(l1.rollup, "BatchVerified")
    assert verified.batch_index == 0 and verified.new_root == NEW_ROOT
    assert bytes(verified.withdrawals_root) == bd.withdrawals_root(data.withdrawals)
    assert l1.rollup.state_root() == NEW_ROOT and l1.rollup.count() == 1
    assert l1.rollup.inputs_taken() == 2 and l1.rollup.next_withdrawal_id() == 2
    assert l1.rollup.is_final(0) and l1.rollup.challenge_window() == 0
    pay(l1, 0, data, 1)
    pay(l1, 0, data, 0)
    assert boa.env.evm.patch.block_number == block  # verified and paid in one block
    assert l1.usdc.balanceOf(bob) == 3_000_000 and l1.usdc.balanceOf(alice) == 2_000_000
    # The escrow is what L2 owes: deposits less what was paid out.
    assert l1.portal.paid_total() == l1.rollup.withdrawals_total() == 5_000_000
    assert l1.usdc.balanceOf(l1.portal.address) == l1.deposited - l1.portal.paid_total()
    # The next batch starts where this one stopped.
    l1.deposit(1_000_000)
    second = l1.batch()
    assert second.first_input == 2 and second.first_withdrawal == 2
    l1.submit(NEW_ROOT + 1, second.encode())
    assert l1.rollup.state_root() == NEW_ROOT + 1 and l1.rollup.inputs_taken() == 3


@pytest.mark.parametrize("word", [0, 3, 7])
def test_a_tampered_proof_is_refused(l1: ZkL1, word: int) -> None:
    data = l1.batch().encode()
    proof = bytearray(l1.prove(NEW_ROOT, data))
    proof[32 * word + 31] ^= 1
    with boa.reverts():
        l1.submit(NEW_ROOT, data, bytes(proof))
    assert l1.rollup.count() == 0 and l1.rollup.state_root() == GENESIS


def test_the_proof_binds_the_new_root_and_every_byte_of_data(l1: ZkL1) -> None:
    data = l1.batch(rest=b"fill records").encode()
    proof = l1.prove(NEW_ROOT, data)
    with boa.reverts("Groth16Verifier: the proof does not verify"):
        l1.submit(NEW_ROOT + 1, data, proof)
    changed = data[:-1] + bytes([data[-1] ^ 1])
    with boa.reverts("Groth16Verifier: the proof does not verify"):
        l1.submit(NEW_ROOT, changed, proof)
    public = l1.claim(NEW_ROOT, data)
    wrong_input = zk.prove(l1.keys, {"x": public + 1}, public + 1)
    with boa.reverts("Groth16Verifier: the proof does not verify"):
        l1.submit(NEW_ROOT, data, wrong_input)
    with boa.reverts("ZkRollup: the new state root is not a field element (below r)"):
        l1.submit(zk.R, data, proof)
    l1.submit(NEW_ROOT, data, proof)


def test_a_proof_for_another_batch_is_refused(l1: ZkL1) -> None:
    first = l1.batch().encode()
    later = l1.batch(index=1).encode()
    with boa.reverts("ZkRollup: not the next batch (batches are taken once, in order)"):
        l1.rollup.submit(1, NEW_ROOT, later, l1.prove(NEW_ROOT, later))
    with boa.reverts("ZkRollup: the data is for another batch"):
        l1.rollup.submit(0, NEW_ROOT, later, l1.prove(NEW_ROOT, later))
    # batch 1 proven over a root the chain never had
    proof = l1.prove(NEW_ROOT + 1, later, old_root=NEW_ROOT + 5)
    l1.submit(NEW_ROOT, first)
    with boa.reverts("Groth16Verifier: the proof does not verify"):
        l1.rollup.submit(1, NEW_ROOT + 1, later, proof)
    other_chain = bd.BatchData(902, 1, 0, (), 0, ()).encode()
    with boa.reverts("ZkRollup: the data is for another chain"):
        l1.rollup.submit(1, NEW_ROOT, other_chain, l1.prove(NEW_ROOT, other_chain))


def malleate(proof: bytes, r: int) -> bytes:
    """Groth16's re-randomisation: (A, B, C) → (r·A, r⁻¹·B, C) is another valid proof
    of the same statement."""
    w = [int.from_bytes(proof[32 * i : 32 * i + 32], "big") for i in range(8)]
    a = (bn.FQ(w[0]), bn.FQ(w[1]), bn.FQ.one())
    b = (bn.FQ2([w[3], w[2]]), bn.FQ2([w[5], w[4]]), bn.FQ2.one())
    a2 = bn.normalize(bn.multiply(a, r))
    b2 = bn.normalize(bn.multiply(b, pow(r, -1, bn.curve_order)))
    words = [a2[0].n, a2[1].n, b2[0].coeffs[1], b2[0].coeffs[0], b2[1].coeffs[1], b2[1].coeffs[0]]
    return b"".join(int(x).to_bytes(32, "big") for x in words) + proof[192:]


def test_a_batch_is_taken_once_whatever_its_proof_bytes(l1: ZkL1) -> None:
    l1.deposit(1_000_000)
    data = l1.batch(withdrawals=[(boa.env.generate_address(), 1)]).encode()
    proof = l1.prove(NEW_ROOT, data)
    other = malleate(proof, 5)
    assert other != proof and zk.verify(l1.keys, other, l1.claim(NEW_ROOT, data))
    with boa.env.anchor():
        l1.rollup.submit(0, NEW_ROOT, data, other)  # the malleated proof verifies
    l1.rollup.submit(0, NEW_ROOT, data, proof)
    for replay in (proof, other):
        with boa.reverts("ZkRollup: not the next batch (batches are taken once, in order)"):
            l1.rollup.submit(0, NEW_ROOT, data, replay)
        with boa.reverts("ZkRollup: the data is for another batch"):
            l1.rollup.submit(1, NEW_ROOT, data, replay)
    assert l1.rollup.count() == 1 and l1.rollup.withdrawals_total() == 1


def with_inputs(l1: ZkL1, first: int, items: list[bytes]) -> bytes:
    return bd.BatchData(901, l1.rollup.count(), first, tuple(items), 0, ()).encode()


def test_l1_inputs_are_taken_in_the_queues_order_none_invented_or_skipped(l1: ZkL1) -> None:
    a, b, c = (l1.deposit(1_000_000 * (i + 1)) for i in range(3))
    cases = {
        "ZkRollup: the L1 inputs must start where the last batch stopped": with_inputs(
            l1, 1, [b, c]
        ),
        "ZkRollup: an L1 input is not the queue's entry at its place": with_inputs(
            l1, 0, [b, a, c]
        ),
        "ZkRollup: the batch takes more L1 inputs than the queue holds": with_inputs(
            l1, 0, [a, b, c, c]
        ),
    }
    invented = bytearray(b)
    invented[-1] ^= 1  # the deposit's amount, one unit more
    cases["ZkRollup: an L1 input is not the queue's entry at its place "] = with_inputs(
        l1, 0, [a, bytes(invented), c]
    )
    for reason, data in cases.items():
        with boa.reverts(reason.strip()):
            l1.submit(NEW_ROOT, data)
    truncated = with_inputs(l1, 0, [a])[:-1]
    with boa.reverts("ZkRollup: an L1 input overruns the data"):
        l1.submit(NEW_ROOT, truncated)
    too_many = bytearray(with_inputs(l1, 0, [a]))
    too_many[25:27] = (bd.MAX_INPUTS + 1).to_bytes(2, "big")
    with boa.reverts("ZkRollup: too many L1 inputs in one batch"):
        l1.submit(NEW_ROOT, bytes(too_many))
    l1.submit(NEW_ROOT, with_inputs(l1, 0, [a, b]))  # a prefix is fine
    l1.submit(NEW_ROOT, with_inputs(l1, 2, [c]))
    assert l1.rollup.inputs_taken() == 3


def test_an_input_past_its_window_blocks_batches_until_taken(l1: ZkL1) -> None:
    l1.deposit(1_000_000)
    boa.env.time_travel(seconds=WINDOW - 1)
    with boa.env.anchor():
        l1.submit(NEW_ROOT, l1.batch(inputs=0).encode())  # still within its window
    boa.env.time_travel(seconds=1)
    with boa.reverts("ZkRollup: an L1 input has waited its window: the batch must take it"):
        l1.submit(NEW_ROOT, l1.batch(inputs=0).encode())
    l1.submit(NEW_ROOT, l1.batch().encode())


def test_an_unserved_forced_tx_freezes_the_system_and_stops_batches(l1: ZkL1) -> None:
    user = boa.env.generate_address()
    boa.env.set_balance(user, 10**18)
    with boa.env.prank(user):
        l1.portal.force(FORCED_WITHDRAW, value=FORCED_FEE)
    l1.items.append(b"\x01" + raw(user) + FORCED_WITHDRAW)
    boa.env.time_travel(seconds=FREEZE_DELAY)
    with boa.env.anchor():
        l1.submit(NEW_ROOT, l1.batch().encode())  # taking it serves it
        with boa.reverts("Portal: the forced tx was served"):
            l1.portal.freeze(0)
    l1.portal.freeze(0)
    assert l1.portal.frozen()
    with boa.reverts("ZkRollup: the system is frozen"):
        l1.submit(NEW_ROOT, l1.batch().encode())


def test_each_withdrawal_is_paid_once_and_only_as_published(l1: ZkL1) -> None:
    owner = boa.env.generate_address()
    l1.deposit(10_000_000)
    data = l1.batch(withdrawals=[(owner, 1_000_000), (owner, 2_000_000), (owner, 3)])
    l1.submit(NEW_ROOT, data.encode())
    w = data.withdrawals[1]
    path = list(bd.withdrawal_path(data.withdrawals, 1))
    refused = "Portal: the withdrawal is not among the verified batch's withdrawals"
    for args in (
        (0, w.id, owner, w.amount + 1, 1, path),
        (0, w.id, boa.env.generate_address(), w.amount, 1, path),
        (0, w.id + 1, owner, w.amount, 1, path),
        (0, w.id, owner, w.amount, 0, path),
        (1, w.id, owner, w.amount, 1, path),  # no such batch
    ):
        with boa.reverts(refused):
            l1.portal.withdraw_verified(*args)
    pay(l1, 0, data, 1)
    with boa.reverts("Portal: withdrawal already paid"):
        pay(l1, 0, data, 1)
    assert l1.usdc.balanceOf(owner) == 2_000_000
    # Ids run on across batches: the next batch cannot publish id 0 again.
    again = bytearray(l1.batch(withdrawals=[(owner, 1_000_000)]).encode())
    again[27:35] = (0).to_bytes(8, "big")
    with boa.reverts("ZkRollup: the withdrawal ids must follow the last batch's"):
        l1.submit(NEW_ROOT, bytes(again))
    # The optimistic path cannot pay in ZK mode: there are no output roots to prove against.
    with boa.reverts():
        l1.portal.withdraw(0, bytes(32), bytes(32), bytes(32), 0, owner, 1_000_000, [])


def test_zero_withdrawals_are_refused(l1: ZkL1) -> None:
    data = bytearray(l1.batch(withdrawals=[(boa.env.generate_address(), 5)]).encode())
    data[-8:] = bytes(8)
    with boa.reverts("ZkRollup: a withdrawal's amount must be positive"):
        l1.submit(NEW_ROOT, bytes(data))
    with pytest.raises(bd.BatchDataError):
        bd.decode(bytes(data))


def test_an_optimistic_portal_does_not_pay_from_batches(portal: Any) -> None:
    with boa.reverts("Portal: only ZK mode pays withdrawals from verified batches"):
        portal.withdraw_verified(0, 0, boa.env.eoa, 1, 0, [])


def test_too_little_gas_reverts_and_never_half_applies(l1: ZkL1) -> None:
    l1.deposit(1_000_000)
    data = l1.batch(withdrawals=[(boa.env.generate_address(), 1)]).encode()
    proof = l1.prove(NEW_ROOT, data)
    with boa.env.anchor():
        l1.submit(NEW_ROOT, data, proof)
        needed = l1.rollup._computation.get_gas_used()
    for gas in (50_000, 250_000, needed - 20_000, needed - 1_000, needed - 1):
        with boa.reverts():
            l1.submit(NEW_ROOT, data, proof, gas=gas)
        assert l1.rollup.count() == 0 and l1.rollup.inputs_taken() == 0
    l1.submit(NEW_ROOT, data, proof, gas=needed)
    assert l1.rollup.count() == 1


def test_the_batch_claim_circuit_binds_roots_and_data_end_to_end() -> None:
    """With BatchClaim's key (40 bytes of data), the proof holds for its own data and
    roots only: the claim L1 computes is the circuit's."""
    l1 = deploy_zk("claim_test", genesis=2**200 + 17)
    data = l1.batch(rest=b"abc").encode()
    assert len(data) == 40
    old, new = l1.rollup.state_root(), zk.R - 1
    public = zc.claim(old, new, zc.data_hash(data))
    proof = zk.prove(l1.keys, {"old_root": old, "new_root": new, "data": list(data)}, public)
    changed = data[:-1] + b"d"
    with boa.reverts("Groth16Verifier: the proof does not verify"):
        l1.rollup.submit(0, new, changed, proof)
    with boa.reverts("Groth16Verifier: the proof does not verify"):
        l1.rollup.submit(0, new - 1, data, proof)
    l1.rollup.submit(0, new, data, proof)
    assert l1.rollup.state_root() == new
