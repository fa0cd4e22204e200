"""The Vyper contracts against their Python models: deposits, forced txs, batch
records, output roots and withdrawals proven with the Python state tree's proofs."""

from __future__ import annotations

from typing import Any

import boa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollbook.chain.blocks import WithdrawalProof, prove_withdrawal
from rollbook.chain.derive import ChainConfig, InboxCursor, forced_batch
from rollbook.codec.batch import frame
from rollbook.codec.txcodec import encode_standalone
from rollbook.codec.txroot import merkle_root
from rollbook.crypto.keccak import keccak256
from rollbook.exchange.stf import apply_tx
from rollbook.exchange.txs import ListInstrument, SetOracle, SetRiskParams, Withdraw
from rollbook.sim.world import perp_spec
from tests.chain.helpers import Rollup
from tests.l1.conftest import (
    FORCED_WITHDRAW,
    INBOX_CHAIN,
    INBOX_DEPTH,
    INBOX_DRIFT,
    INBOX_WINDOW,
    WINDOW,
    address,
    deployer_of,
    events,
)


def stranger() -> Any:
    return boa.env.generate_address()


def fund(usdc: Any, owner: str, amount: int, spender: str) -> None:
    usdc.mint(owner, amount)
    with boa.env.prank(owner):
        usdc.approve(spender, amount)


# -- Collateral -------------------------------------------------------------------------


def test_collateral_is_a_six_decimal_erc20(usdc: Any) -> None:
    alice, bob = boa.env.generate_address(), boa.env.generate_address()
    usdc.mint(alice, 1_000)
    with boa.env.prank(alice):
        assert usdc.transfer(bob, 400)
        with boa.reverts("Collateral: balance too low"):
            usdc.transfer(bob, 601)
    assert usdc.decimals() == 6
    assert (usdc.balanceOf(alice), usdc.balanceOf(bob), usdc.totalSupply()) == (600, 400, 1_000)
    with boa.env.prank(alice), boa.reverts("Collateral: only the minter mints"):
        usdc.mint(alice, 1)


# -- Portal: deposits and forced txs ----------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 10**12), min_size=1, max_size=6))
def test_deposits_escrow_and_number_in_order(amounts: list[int]) -> None:
    from rollbook.chain.blocks import Mode, output_version
    from tests.l1.conftest import load, load_portal

    with boa.env.anchor():
        usdc = load("Collateral", "USD Coin", "USDC")
        oracle = load("OutputOracle", boa.env.eoa, 0, WINDOW, boa.env.eoa)
        version = output_version(Mode.OPTIMISTIC)
        portal = load_portal(usdc.address, oracle.address, version, 0, 7, 600, 300)
        user = boa.env.generate_address()
        fund(usdc, user, sum(amounts), portal.address)
        recipient = boa.env.generate_address()
        for k, amount in enumerate(amounts):
            with boa.env.prank(user):
                portal.deposit(amount, recipient)
            (event,) = events(portal, "Deposited")
            assert (event.deposit_id, event.recipient, event.amount) == (7 + k, recipient, amount)
        # The model: escrow = Σ deposits, ids sequential from the first.
        assert usdc.balanceOf(portal.address) == sum(amounts)
        assert portal.next_deposit_id() == 7 + len(amounts)


def test_bad_deposits_revert_with_named_errors(usdc: Any, portal: Any) -> None:
    user = boa.env.generate_address()
    fund(usdc, user, 10, portal.address)
    with boa.env.prank(user):
        with boa.reverts("Portal: amount must be in 1..2**64-1"):
            portal.deposit(0, user)
        with boa.reverts("Portal: amount must be in 1..2**64-1"):
            portal.deposit(2**64, user)
        with boa.reverts("Portal: recipient is the zero address"):
            portal.deposit(5, "0x" + "00" * 20)
        with boa.reverts("Collateral: allowance too low"):
            portal.deposit(11, user)


def test_forced_txs_pay_their_fee_and_are_logged(portal: Any) -> None:
    user = boa.env.generate_address()
    boa.env.set_balance(user, 10**18)
    with boa.env.prank(user):
        with boa.reverts("Portal: the forced-tx fee is not paid"):
            portal.force(b"\x45" + bytes(8), value=10**15 - 1)
        portal.force(b"\x45" + bytes(8), value=10**15)
    (event,) = events(portal, "Forced")
    assert (event.forced_id, event.sender, event.data) == (0, user, b"\x45" + bytes(8))
    assert portal.fees_collected() == 10**15


# -- BatchInbox ------------------------------------------------------------------------


def batch_head(first: int, blocks: list[tuple[int, int, int]], table: int = 1) -> bytes:
    """A v2 batch head for chain 901: ``table`` instruments, and ``(timestamp, origin,
    txs)`` per block."""
    return b"".join(
        (
            bytes([2]),
            (901).to_bytes(8, "big"),
            first.to_bytes(8, "big"),
            bytes([table]),
            b"".join(i.to_bytes(2, "big") + bytes([0] * 7 + [1]) * 2 for i in range(table)),
            len(blocks).to_bytes(2, "big"),
            b"".join(
                t.to_bytes(8, "big") + o.to_bytes(8, "big") + n.to_bytes(2, "big")
                for t, o, n in blocks
            ),
        )
    )


def test_the_inbox_computes_the_root_of_the_items(inbox: Any) -> None:
    boa.env.time_travel(blocks=10)
    now, number = boa.env.evm.patch.timestamp, boa.env.evm.patch.block_number
    head = batch_head(0, [(now, number - 4, 2), (now, number - 4, 1)])
    items = [b"\x07abc", b"x" * 300, b"\x01"]
    data = head + b"".join(frame(item) for item in items)
    inbox.post(data)
    record = inbox.records(0)
    assert record.data_hash == keccak256(data)
    assert record.head_hash == keccak256(head)
    assert (record.tx_root, record.items) == (merkle_root(items), 3)
    assert (record.first_block, record.blocks) == (0, 2)
    assert record.l1_block == boa.env.evm.patch.block_number
    assert (inbox.count(), inbox.blocks(), inbox.last_timestamp()) == (1, 2, now)
    with boa.reverts("BatchInbox: the batch does not continue the inbox's blocks"):
        inbox.post(data)  # posted twice
    empty = batch_head(2, [(now, number - 4, 0)])
    inbox.post(empty)  # no items: the empty root
    assert (inbox.records(1).tx_root, inbox.records(1).items) == (bytes(32), 0)
    head = batch_head(3, [(now, number - 4, 3)])
    with boa.reverts("BatchInbox: the batch ends inside a field"):
        inbox.post(head[:-1])
    data = head + b"".join(frame(item) for item in items)
    with boa.reverts("BatchInbox: the batch ends inside an item"):
        inbox.post(data[:-1])
    with boa.reverts("BatchInbox: an item is 1..4096 bytes"):
        inbox.post(head + b"\x00")
    with boa.reverts("BatchInbox: a short item has a long frame"):
        inbox.post(head + b"\xff\x00\x04" + b"\x07abc")
    with boa.reverts("BatchInbox: the blocks' tx counts do not add up to the items"):
        inbox.post(head + frame(b"\x07abc"))
    with boa.reverts("BatchInbox: an L1 origin goes back"):
        inbox.post(batch_head(3, [(now, number - 5, 0)]))
    with boa.reverts("BatchInbox: an L1 origin is not deep enough"):
        inbox.post(batch_head(3, [(now, number - 3, 0)]))
    with boa.reverts("BatchInbox: a timestamp goes back"):
        inbox.post(batch_head(3, [(now - 1, number - 4, 0)]))
    with boa.reverts("BatchInbox: a timestamp is too far from L1's"):
        inbox.post(batch_head(3, [(now + 1801, number - 4, 0)]))
    with boa.reverts("BatchInbox: a batch for another chain"):
        inbox.post(
            bytes([2]) + (902).to_bytes(8, "big") + batch_head(3, [(now, number - 4, 0)])[9:]
        )
    with boa.reverts("BatchInbox: unknown batch version"):
        inbox.post(bytes([1]) + batch_head(3, [(now, number - 4, 0)])[1:])
    with boa.reverts("BatchInbox: a batch is at least a head of one block"):
        inbox.post(data[:16])
    with boa.env.prank(stranger()), boa.reverts("BatchInbox: only the batcher posts"):
        inbox.post(data)
    boa.env.time_travel(seconds=3600)
    later = boa.env.evm.patch.timestamp
    with boa.reverts("BatchInbox: a timestamp is too far from L1's"):  # back in time, too
        inbox.post(batch_head(3, [(later - 1801, number - 4, 0)]))
    inbox.post(batch_head(3, [(later - 1800, number - 4, 0)]))  # the bound is inclusive
    inbox.post(batch_head(4, [(later + 1800, number - 4, 0)]))
    assert inbox.last_timestamp() == later + 1800


def test_anyone_forces_an_input_in_after_its_window(inbox: Any) -> None:
    """Rule 4 on L1: once an input has waited the window and no batch block's origin
    has taken it, anyone records a batch of one empty block that takes it; the head
    is the one ``rollbook.chain.derive.forced_batch`` makes."""
    queue = deployer_of("InputQueue").at(inbox.queue())
    boa.env.time_travel(blocks=10)
    queue.push(keccak256(b"a forced withdrawal"))
    entry = tuple(queue.entries(0))[1:]
    with boa.env.prank(stranger()), boa.reverts("BatchInbox: the input is within its window"):
        inbox.force_include(0)
    boa.env.time_travel(seconds=INBOX_WINDOW)
    with boa.env.prank(stranger()), boa.reverts("BatchInbox: no such input"):
        inbox.force_include(1)
    number, now = boa.env.evm.patch.block_number, boa.env.evm.patch.timestamp
    cfg = ChainConfig(
        INBOX_CHAIN,
        bytes(32),
        confirmation_depth=INBOX_DEPTH,
        max_drift=INBOX_DRIFT,
        inclusion_window=INBOX_WINDOW,
    )
    want = forced_batch(InboxCursor(), entry, number, now, cfg)
    with boa.env.prank(stranger()):
        inbox.force_include(0)
    (event,) = events(inbox, "ForcedBatch")
    assert bytes(event.data) == want
    record = inbox.records(0)
    assert (record.head_hash, record.items, record.first_block, record.blocks) == (
        keccak256(want),
        0,
        0,
        1,
    )
    assert inbox.last_origin() == number - INBOX_DEPTH >= entry[0]
    with (
        boa.env.prank(stranger()),
        boa.reverts("BatchInbox: a batch block has taken the input already"),
    ):
        inbox.force_include(0)


# -- OutputOracle ----------------------------------------------------------------------


def test_output_roots_finalise_after_the_window(oracle: Any) -> None:
    root = b"\x11" * 32
    oracle.propose(root, 5, 0)
    assert not oracle.is_final(0)
    with boa.reverts("OutputOracle: the root is not final yet"):
        oracle.final_root(0)
    with boa.reverts("OutputOracle: L2 block must increase"):
        oracle.propose(b"\x22" * 32, 5, 0)
    with boa.env.prank(stranger()), boa.reverts("OutputOracle: only the proposer proposes"):
        oracle.propose(b"\x22" * 32, 6, 0)
    boa.env.time_travel(seconds=WINDOW)
    assert oracle.is_final(0) and oracle.final_root(0) == root
    with boa.reverts("OutputOracle: a final root cannot be removed"):
        oracle.remove_from(0)


def test_the_dispute_game_removes_a_root_and_its_successors(oracle: Any) -> None:
    for k in range(3):
        oracle.propose(bytes([k + 1]) * 32, k + 1, 0)
    only_the_game = "OutputOracle: only the dispute game removes roots"
    with boa.env.prank(stranger()), boa.reverts(only_the_game):
        oracle.remove_from(1)
    oracle.remove_from(1)
    assert oracle.count() == 1
    boa.env.time_travel(seconds=WINDOW)
    with boa.reverts("OutputOracle: no such output"):
        oracle.final_root(1)


def test_a_disputed_root_is_not_final_until_every_game_releases_it(oracle: Any) -> None:
    oracle.propose(b"\x11" * 32, 5, 0)
    with boa.env.prank(stranger()), boa.reverts("OutputOracle: only the dispute game holds roots"):
        oracle.hold(0)
    key = oracle.hold(0)
    assert oracle.hold(0) == key  # two games against one root
    boa.env.time_travel(seconds=WINDOW)
    assert not oracle.is_final(0)
    oracle.release(key)
    assert not oracle.is_final(0)
    oracle.release(key)
    assert oracle.is_final(0)
    with boa.reverts("OutputOracle: no open dispute of this root"):
        oracle.release(key)
    with boa.reverts("OutputOracle: a final root cannot be disputed"):
        oracle.hold(0)
    # an index reused after a removal starts with no open dispute; the removed root's
    # game still releases its hold, and a root after a held one waits for it
    oracle.propose(b"\x22" * 32, 6, 0)
    held = oracle.hold(1)
    oracle.remove_from(1)
    oracle.propose(b"\x33" * 32, 7, 0)
    oracle.propose(b"\x44" * 32, 8, 0)
    boa.env.time_travel(seconds=WINDOW)
    assert oracle.is_final(0) and not oracle.is_final(1) and not oracle.is_final(2)
    oracle.release(held)
    assert oracle.is_final(1) and oracle.is_final(2)


def test_a_bond_below_the_requirement_cannot_propose() -> None:
    from tests.l1.conftest import load

    oracle = load("OutputOracle", boa.env.eoa, 10**18, WINDOW, boa.env.eoa)
    with boa.reverts("OutputOracle: the proposer's bond is too low"):
        oracle.propose(b"\x01" * 32, 1, 0)
    boa.env.set_balance(boa.env.eoa, 2 * 10**18)
    oracle.post_bond(value=10**18)
    oracle.propose(b"\x01" * 32, 1, 0)


# -- withdrawals: Python proofs, Vyper verification -------------------------------------


def withdrawals_block(count: int, seed: int = 6) -> tuple[Rollup, list[WithdrawalProof]]:
    """A real L2 block with ``count`` withdrawals, and each one's proof."""
    rollup = Rollup(seed=seed, traders=max(3, count))
    rollup.world.advance(2)
    rollup.mine()
    rollup.seq.open_block(rollup.world.now)
    rollup.world.now = rollup.seq.timestamp
    txs, receipts = [], []
    for k in range(count):
        trader = rollup.people[k % len(rollup.people)]
        nonce = rollup.world.state.account(trader.index).tx_nonce
        tx = rollup.world.owner_signed(
            Withdraw, trader, account=trader.index, amount=1_000_000 * (k + 1), nonce=nonce
        )
        receipt = apply_tx(rollup.world.state, tx, rollup.world.env())
        assert receipt.ok, receipt
        txs.append(tx)
        receipts.append(receipt)
    block = rollup.seq.seal(txs, receipts)
    state = rollup.world.state
    claims = [
        prove_withdrawal(state, block, rollup.cfg.mode, wd)
        for wd in range(state.globals().next_withdrawal_id)
    ]
    return rollup, claims


def pay(portal: Any, claim: WithdrawalProof, index: int = 0, **changes: Any) -> None:
    fields = {
        "output_index": index,
        "state_root": claim.state_root,
        "withdrawals_root": claim.withdrawals_root,
        "block_hash": claim.block_hash,
        "withdrawal_id": claim.withdrawal_id,
        "owner": address(claim.leaf.owner),
        "amount": claim.leaf.amount,
        "siblings": list(claim.proof.siblings),
    }
    fields.update(changes)
    portal.withdraw(*fields.values())


@pytest.mark.parametrize("count", [1, 2, 7])
def test_withdrawals_are_paid_once_against_a_final_root(
    count: int, usdc: Any, oracle: Any, portal: Any
) -> None:
    _, claims = withdrawals_block(count)
    usdc.mint(portal.address, 10**13)
    oracle.propose(claims[0].output_root(), 1, 0)
    with boa.reverts("OutputOracle: the root is not final yet"):
        pay(portal, claims[0])
    boa.env.time_travel(seconds=WINDOW)
    assert max(len(c.proof.siblings) for c in claims) >= (1 if count > 1 else 0)
    for claim in claims:
        before = usdc.balanceOf(address(claim.leaf.owner))
        pay(portal, claim)
        assert usdc.balanceOf(address(claim.leaf.owner)) == before + claim.leaf.amount
        assert portal.paid(claim.withdrawal_id)
        with boa.reverts("Portal: withdrawal already paid"):
            pay(portal, claim)


def test_wrong_withdrawal_claims_revert(usdc: Any, oracle: Any, portal: Any) -> None:
    _, claims = withdrawals_block(4)
    usdc.mint(portal.address, 10**13)
    oracle.propose(claims[0].output_root(), 1, 0)
    boa.env.time_travel(seconds=WINDOW)
    claim = claims[2]
    not_in_tree = "Portal: the withdrawal is not in the withdrawals tree"
    with boa.reverts(not_in_tree):
        pay(portal, claim, amount=claim.leaf.amount + 1)
    with boa.reverts(not_in_tree):
        pay(portal, claim, owner=address(b"\x42" * 20))
    with boa.reverts(not_in_tree):
        pay(portal, claim, withdrawal_id=claim.withdrawal_id + 10)
    siblings = list(claim.proof.siblings)
    siblings[0] = bytes(31) + b"\x01"
    with boa.reverts(not_in_tree):
        pay(portal, claim, siblings=siblings)
    with boa.reverts("Portal: the roots do not hash to the final output root"):
        pay(portal, claim, state_root=b"\x01" * 32)
    with boa.reverts("OutputOracle: no such output"):
        pay(portal, claim, index=1)


# -- Timelock --------------------------------------------------------------------------


def test_governance_waits_its_delay_and_runs_once() -> None:
    from tests.l1.conftest import load_timelock

    timelock = load_timelock(boa.env.eoa, 600)
    data = encode_standalone(SetRiskParams(16, 3_600, 50_000, 500_000), bytes(32))
    now = boa.env.evm.patch.timestamp
    with boa.reverts("Timelock: eta is before the delay"):
        timelock.schedule(data, now + 599)
    with boa.env.prank(stranger()), boa.reverts("Timelock: only the governor schedules"):
        timelock.schedule(data, now + 600)
    proposal = timelock.schedule(data, now + 600)
    with boa.reverts("Timelock: too early"):
        timelock.execute(proposal, data)
    boa.env.time_travel(seconds=600)
    with boa.reverts("Timelock: data differs from the scheduled"):
        timelock.execute(proposal, data + b"!")
    with boa.env.prank(stranger()):  # anyone executes
        timelock.execute(proposal, data)
    (event,) = events(timelock, "GovernanceExecuted")
    assert (event.proposal_id, event.data) == (proposal, data)
    with boa.reverts("Timelock: already executed or cancelled"):
        timelock.execute(proposal, data)
    with boa.reverts("Timelock: no such proposal"):
        timelock.execute(proposal + 1, data)


def test_a_cancelled_governance_tx_never_runs() -> None:
    from tests.l1.conftest import load_timelock

    timelock = load_timelock(boa.env.eoa, 60)
    data = encode_standalone(SetOracle((), 0, 0, 0), bytes(32))
    proposal = timelock.schedule(data, boa.env.evm.patch.timestamp + 60)
    with boa.env.prank(stranger()), boa.reverts("Timelock: only the governor cancels"):
        timelock.cancel(proposal)
    timelock.cancel(proposal)
    boa.env.time_travel(seconds=60)
    with boa.reverts("Timelock: already executed or cancelled"):
        timelock.execute(proposal, data)


# -- freezing (the escape hatch's trigger) ----------------------------------------------


def post_forced(portal: Any) -> int:
    user = boa.env.generate_address()
    boa.env.set_balance(user, 10**18)
    with boa.env.prank(user):
        portal.force(FORCED_WITHDRAW, value=10**15)
    return int(portal.next_forced_id()) - 1


def test_a_forced_tx_unserved_past_its_deadline_freezes_the_system(usdc: Any, portal: Any) -> None:
    from tests.l1.conftest import FREEZE_DELAY

    forced_id = post_forced(portal)
    with boa.reverts("Portal: no such forced tx"):
        portal.freeze(forced_id + 1)
    boa.env.time_travel(seconds=FREEZE_DELAY - 1)
    with boa.reverts("Portal: the forced tx is not overdue"):
        portal.freeze(forced_id)
    boa.env.time_travel(seconds=1)
    with boa.env.prank(stranger()):  # anyone may freeze
        portal.freeze(forced_id)
    assert portal.frozen()
    with boa.reverts("Portal: already frozen"):
        portal.freeze(forced_id)
    user = boa.env.generate_address()
    fund(usdc, user, 10, portal.address)
    with boa.env.prank(user), boa.reverts("Portal: the system is frozen"):
        portal.deposit(10, user)


def test_a_proposal_short_of_the_forced_tx_does_not_stop_the_freeze(
    oracle: Any, portal: Any
) -> None:
    from tests.l1.conftest import FREEZE_DELAY

    forced_id = post_forced(portal)
    l1_block = portal.forced(forced_id)[0]
    boa.env.time_travel(seconds=FREEZE_DELAY)
    boa.env.time_travel(blocks=2)
    oracle.propose(b"\x05" * 32, 1, l1_block - 1)  # an origin before the forced tx
    with boa.env.prank(stranger()):
        portal.freeze(forced_id)  # still unserved: the freeze goes through
    assert portal.frozen()


def test_a_served_forced_tx_cannot_freeze(oracle: Any, portal: Any) -> None:
    from tests.l1.conftest import FREEZE_DELAY

    forced_id = post_forced(portal)
    l1_block = portal.forced(forced_id)[0]
    boa.env.time_travel(seconds=FREEZE_DELAY)
    boa.env.time_travel(blocks=2)
    oracle.propose(b"\x05" * 32, 1, l1_block)  # the L2 block's origin reached it
    with boa.env.prank(stranger()), boa.reverts("Portal: the forced tx was served"):
        portal.freeze(forced_id)
    with boa.reverts("OutputOracle: the L1 origin is not yet on L1"):
        oracle.propose(b"\x06" * 32, 2, boa.env.evm.patch.block_number)


# -- the Portal and other ERC-20s (review of #5) ---------------------------------------

FEE_TOKEN = """
# pragma version 0.4.3
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])

@external
def mint(to: address, amount: uint256):
    self.balanceOf[to] += amount

@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    return True

@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    self.allowance[owner][msg.sender] -= amount
    self.balanceOf[owner] -= amount
    self.balanceOf[to] += amount - amount // 100  # a 1 % fee on every transfer
    return True

@external
def transfer(to: address, amount: uint256) -> bool:
    self.balanceOf[msg.sender] -= amount
    self.balanceOf[to] += amount
    return True
"""

NO_RETURN_TOKEN = """
# pragma version 0.4.3
balanceOf: public(HashMap[address, uint256])

@external
def mint(to: address, amount: uint256):
    self.balanceOf[to] += amount

@external
def approve(spender: address, amount: uint256):
    pass

@external
def transferFrom(owner: address, to: address, amount: uint256):
    self.balanceOf[owner] -= amount
    self.balanceOf[to] += amount

@external
def transfer(to: address, amount: uint256):
    self.balanceOf[msg.sender] -= amount
    self.balanceOf[to] += amount
"""


def portal_for(token: Any, oracle: Any) -> Any:
    from rollbook.chain.blocks import Mode, output_version
    from tests.l1.conftest import load_portal

    return load_portal(
        token.address, oracle.address, output_version(Mode.OPTIMISTIC), 0, 0, 600, 300
    )


def test_a_fee_on_transfer_token_cannot_short_the_escrow(oracle: Any) -> None:
    token = boa.loads(FEE_TOKEN)
    portal = portal_for(token, oracle)
    user = boa.env.generate_address()
    token.mint(user, 1_000_000)
    with boa.env.prank(user):
        token.approve(portal.address, 1_000_000)
        with boa.reverts("Portal: the token did not deliver the amount"):
            portal.deposit(1_000_000, user)


def test_a_token_whose_transfers_return_nothing_still_works(oracle: Any) -> None:
    token = boa.loads(NO_RETURN_TOKEN)
    portal = portal_for(token, oracle)
    user = boa.env.generate_address()
    token.mint(user, 500)
    with boa.env.prank(user):
        portal.deposit(500, user)
    assert token.balanceOf(portal.address) == 500


def test_the_freeze_delay_must_exceed_the_challenge_window(usdc: Any, oracle: Any) -> None:
    from rollbook.chain.blocks import Mode, output_version
    from tests.l1.conftest import load_portal

    with boa.reverts("Portal: the freeze delay must exceed the challenge window"):
        load_portal(
            usdc.address,
            oracle.address,
            output_version(Mode.OPTIMISTIC),
            0,
            0,
            WINDOW,
            300,
        )


def test_governance_runs_in_the_order_scheduled() -> None:
    from tests.l1.conftest import load_timelock

    timelock = load_timelock(boa.env.eoa, 60)
    now = boa.env.evm.patch.timestamp
    listing = encode_standalone(ListInstrument(perp_spec(2, "BTC-PERP", asset=2)), bytes(32))
    params = encode_standalone(SetRiskParams(16, 3_600, 50_000, 500_000), bytes(32))
    first = timelock.schedule(listing, now + 60)
    second = timelock.schedule(params, now + 60)
    (event,) = events(timelock, "GovernanceScheduled")
    assert event.data == params  # what is coming is public when scheduled
    boa.env.time_travel(seconds=60)
    with boa.env.prank(stranger()), boa.reverts("Timelock: an earlier proposal is still pending"):
        timelock.execute(second, params)
    timelock.execute(first, listing)
    timelock.execute(second, params)
    assert timelock.cursor() == 2
