"""The deposit circuit (``deposit.circom``'s Deposit) against the STF (#8).

A deposit the Python STF applies — to an owner's existing account, or opening a new
owner's — is provable from the ZK layout of the state before it to the ZK root of the
state after it (``rollbook.exchange.zkroot``); a wrong amount, owner, deposit id,
path choice, index or new root is not. The circuit's constant for a new account's
empty positions is the Python tree's.
"""

from __future__ import annotations

import re

from rollbook.crypto.poseidon import poseidon
from rollbook.exchange.accounts import owner_account
from rollbook.exchange.leaves import Account
from rollbook.exchange.txs import Deposit
from rollbook.exchange.zkroot import (
    account_values,
    leaf_values,
    positions_hash,
    zk_root,
    zk_state,
)
from rollbook.sim.world import World
from rollbook.zk import keys as zk
from tests.zk.helpers import provable as zk_provable

AMOUNT = 1_234_567
NEW_OWNER = bytes.fromhex("00ab" * 10)


def witness(world: World, tx: Deposit) -> dict[str, object]:
    layout = zk_state(world.state.items())
    glob = world.state.globals()
    known = owner_account(world.state, tx.owner)
    fresh = known is None
    index = glob.next_account if known is None else known
    values = (
        [0] * 18
        if fresh
        else account_values(world.state.account(index), layout.position_roots[index])
    )
    return {
        "components": layout.components,
        "fresh": int(fresh),
        "account": values,
        "index": index,
        "account_siblings": layout.accounts.path(index),
        "owner_siblings": layout.owners.path(int.from_bytes(tx.owner, "big")),
        "globals": leaf_values(glob),
        "deposit_id": tx.deposit_id,
        "owner": int.from_bytes(tx.owner, "big"),
        "amount": tx.amount,
    }


def provable(inputs: dict[str, object], old_root: int, new_root: int) -> bool:
    deposit = [int(str(inputs[name])) for name in ("deposit_id", "owner", "amount")]
    return zk_provable("deposit_test", inputs, poseidon([old_root, new_root, *deposit]))


def world() -> World:
    w = World()
    assert w.list_perp().ok
    w.add_trader("alice", 1_000)
    w.add_trader("bob", 2_000)
    return w


def test_a_deposit_to_an_existing_account_is_provable_and_nothing_else() -> None:
    w = world()
    alice, bob = w.traders["alice"], w.traders["bob"]
    tx = Deposit(w.next_deposit, alice.owner, AMOUNT)
    inputs = witness(w, tx)
    old_root = zk_root(w.state.items())
    assert w.l1(tx).ok
    new_root = zk_root(w.state.items())
    assert provable(inputs, old_root, new_root)
    assert not provable(dict(inputs, amount=AMOUNT + 1), old_root, new_root)
    assert not provable(inputs, old_root, new_root + 1)
    assert not provable(dict(inputs, deposit_id=tx.deposit_id + 1), old_root, new_root)
    assert not provable(dict(inputs, owner=int.from_bytes(bob.owner, "big")), old_root, new_root)
    assert not provable(dict(inputs, fresh=1), old_root, new_root)  # the owner exists


def test_a_new_owners_first_deposit_opens_an_account() -> None:
    w = world()
    tx = Deposit(w.next_deposit, NEW_OWNER, AMOUNT)
    inputs = witness(w, tx)
    assert inputs["fresh"] == 1
    old_root = zk_root(w.state.items())
    assert w.l1(tx).ok
    assert w.state.account(int(str(inputs["index"]))) == Account(owner=NEW_OWNER, balance=AMOUNT)
    new_root = zk_root(w.state.items())
    assert provable(inputs, old_root, new_root)
    index = int(str(inputs["index"]))
    assert not provable(dict(inputs, index=index + 1), old_root, new_root)
    assert not provable(dict(inputs, fresh=0), old_root, new_root)
    assert not provable(dict(inputs, amount=AMOUNT - 1), old_root, new_root)


def test_the_circuits_empty_positions_are_the_trees() -> None:
    source = (zk.CIRCUITS / "deposit.circom").read_text()
    constants = [int(n) for n in re.findall(r"return (\d{20,});", source)]
    assert constants == [positions_hash([])]
