"""The deposit circuit (``deposit.circom``'s DepositCredit) against the STF (#8).

A deposit to an owner's existing account, applied by the Python STF, is provable
from the ZK layout of the state before it to the ZK root of the state after it
(``rollbook.exchange.zkroot``); a wrong amount, owner, deposit id or new root is not.
"""

from __future__ import annotations

from rollbook.crypto.poseidon import poseidon
from rollbook.exchange.leaves import account_key
from rollbook.exchange.txs import Deposit
from rollbook.exchange.zkroot import account_values, leaf_values, zk_root, zk_state
from rollbook.sim.world import World
from rollbook.zk import keys as zk

AMOUNT = 1_234_567


def witness(world: World, index: int, tx: Deposit) -> dict[str, object]:
    layout = zk_state(world.state.items())
    account = world.state.get(account_key(index))
    assert account is not None
    return {
        "components": layout.components,
        "account": account_values(account, *layout.subtrees[index]),
        "index": index,
        "siblings": layout.accounts.path(index),
        "globals": leaf_values(world.state.globals()),
        "deposit_id": tx.deposit_id,
        "owner": int.from_bytes(tx.owner, "big"),
        "amount": tx.amount,
    }


def provable(inputs: dict[str, object], old_root: int, new_root: int) -> bool:
    deposit = [int(str(inputs[name])) for name in ("deposit_id", "owner", "amount")]
    public = poseidon([old_root, new_root, *deposit])
    try:
        zk.prove(zk.circuit_keys("deposit_test"), inputs, public)
    except zk.Unprovable:
        return False
    return True


def test_a_deposit_the_stf_credits_is_provable_and_nothing_else() -> None:
    world = World()
    assert world.list_perp().ok
    alice = world.add_trader("alice", 1_000)
    world.add_trader("bob", 2_000)
    tx = Deposit(world.next_deposit, alice.owner, AMOUNT)
    inputs = witness(world, alice.index, tx)
    old_root = zk_root(world.state.items())
    assert world.l1(tx).ok
    new_root = zk_root(world.state.items())
    assert provable(inputs, old_root, new_root)
    assert not provable(dict(inputs, amount=AMOUNT + 1), old_root, new_root)
    assert not provable(inputs, old_root, new_root + 1)
    wrong_id = dict(inputs, deposit_id=tx.deposit_id + 1)
    assert not provable(wrong_id, old_root, new_root)
    bob = world.traders["bob"]
    assert not provable(dict(inputs, owner=int.from_bytes(bob.owner, "big")), old_root, new_root)
