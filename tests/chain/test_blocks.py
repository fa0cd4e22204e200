"""Block headers, output roots, and withdrawals proven against an output root."""

from __future__ import annotations

import dataclasses

import pytest

from rollbook.chain.blocks import (
    Mode,
    output_root,
    output_version,
    prove_withdrawal,
    verify_withdrawal,
)
from rollbook.crypto.keccak import keccak256
from rollbook.exchange.leaves import Withdrawal
from rollbook.exchange.stf import STF_VERSION
from rollbook.exchange.txs import Withdraw
from tests.chain.helpers import Rollup


def test_output_root_names_mode_and_version() -> None:
    state_root, wd_root, block = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32
    expected = keccak256((1 << 16 | STF_VERSION).to_bytes(32, "big") + state_root + wd_root + block)
    assert output_root(Mode.OPTIMISTIC, state_root, wd_root, block) == expected
    assert output_root(Mode.ZK, state_root, wd_root, block) != expected
    assert output_version(Mode.ZK) == 2 << 16 | STF_VERSION


def test_header_hash_commits_to_every_field() -> None:
    rollup = Rollup(seed=5, traders=3)
    block = rollup.step()
    header = block.header
    assert block.hash == keccak256(header.encode())
    assert len(header.encode()) == 3 * 8 + 4 * 32
    for name in ("receipts_root", "state_root", "withdrawals_root", "parent_hash"):
        changed = dataclasses.replace(header, **{name: b"\xee" * 32})
        assert changed.hash() != header.hash(), name
    for name in ("number", "timestamp", "l1_origin"):
        changed = dataclasses.replace(header, **{name: getattr(header, name) + 1})
        assert changed.hash() != header.hash(), name
    assert block.header.state_root == rollup.world.state.root()


def test_withdrawals_are_provable_against_the_output_root() -> None:
    rollup = Rollup(seed=6, traders=3)
    trader = rollup.people[1]
    rollup.world.advance(2)
    rollup.mine()
    rollup.seq.open_block(rollup.world.now)
    rollup.world.now = rollup.seq.timestamp
    withdraw = rollup.world.owner_signed(
        Withdraw, trader, account=trader.index, amount=5_000_000, nonce=1
    )
    from rollbook.exchange.stf import apply_tx

    receipt = apply_tx(rollup.world.state, withdraw, rollup.world.env())
    assert receipt.ok, receipt
    block = rollup.seq.seal([withdraw], [receipt])
    state = rollup.world.state
    wd_id = state.globals().next_withdrawal_id - 1
    claim = prove_withdrawal(state, block, rollup.cfg.mode, wd_id)
    assert claim.leaf == Withdrawal(trader.owner, 5_000_000)
    root = output_root(
        rollup.cfg.mode, block.header.state_root, block.header.withdrawals_root, block.hash
    )
    assert verify_withdrawal(root, claim)
    # A bigger amount, another owner, another id or another root do not verify.
    assert not verify_withdrawal(root, dataclasses.replace(claim, leaf=Withdrawal(trader.owner, 6)))
    assert not verify_withdrawal(
        root, dataclasses.replace(claim, leaf=Withdrawal(b"\x01" * 20, 5_000_000))
    )
    assert not verify_withdrawal(root, dataclasses.replace(claim, withdrawal_id=wd_id + 1))
    assert not verify_withdrawal(b"\x00" * 32, claim)
    assert not verify_withdrawal(
        output_root(Mode.ZK, block.header.state_root, block.header.withdrawals_root, block.hash),
        claim,
    )


def test_a_later_state_proves_withdrawals_against_an_earlier_block() -> None:
    """Withdrawal leaves never change and their ids are sequential, so a block's
    withdrawals tree is the leaves below its count: a node proves against any block
    from its current state (no copy of each block's post-state kept)."""
    from rollbook.exchange.stf import apply_tx

    rollup = Rollup(seed=7, traders=3)
    trader = rollup.people[0]
    blocks, counts = [], []
    for nonce in (1, 2, 3):
        rollup.world.advance(2)
        rollup.mine()
        rollup.seq.open_block(rollup.world.now)
        rollup.world.now = rollup.seq.timestamp
        tx = rollup.world.owner_signed(
            Withdraw, trader, account=trader.index, amount=nonce * 1_000_000, nonce=nonce
        )
        receipt = apply_tx(rollup.world.state, tx, rollup.world.env())
        assert receipt.ok, receipt
        blocks.append(rollup.seq.seal([tx], [receipt]))
        counts.append(rollup.world.state.globals().next_withdrawal_id)
    state = rollup.world.state  # the post-state of the last block only
    first = blocks[0]
    root = output_root(
        rollup.cfg.mode, first.header.state_root, first.header.withdrawals_root, first.hash
    )
    claim = prove_withdrawal(state, first, rollup.cfg.mode, counts[0] - 1, counts[0])
    assert claim.leaf.amount == 1_000_000 and verify_withdrawal(root, claim)
    with pytest.raises(LookupError):  # a later withdrawal is not in the first block
        prove_withdrawal(state, first, rollup.cfg.mode, counts[1] - 1, counts[0])
    with pytest.raises(LookupError):  # the wrong count does not give the block's root
        prove_withdrawal(state, first, rollup.cfg.mode, counts[0] - 1, counts[1])
    last = prove_withdrawal(state, blocks[2], rollup.cfg.mode, counts[2] - 1)
    assert last.withdrawals_root == blocks[2].header.withdrawals_root
