"""ZK mode's state root (rollbook.exchange.zkroot; #8).

The root must commit to the whole state and nothing else: the same leaves give the
same root in any order; a tx that changes a leaf changes the root; a change to any one
field of any leaf changes it; the order of an account's positions is committed.
"""

from __future__ import annotations

import pytest

from rollbook.crypto.poseidon import P
from rollbook.exchange.leaves import Account, Leaf, LeafKey, Position, account_key, position_key
from rollbook.exchange.state import State
from rollbook.exchange.stf import apply_tx
from rollbook.exchange.zkroot import elements, hash_elements, settlement_index, zk_root, zk_state
from rollbook.sim.vectors import _base_world, scenarios

SAMPLE = [
    "transfer",
    "fill_open",
    "fill_close_sweeps_pool",
    "option_settle",
    "portfolio_liquidate",
    "withdraw_free",
    "gov_list_perp",
    "forced_close",
    "margin_mode_portfolio",
    "option_expiry_fix",
    "fill_margin_rejected",
]


@pytest.mark.parametrize("name", SAMPLE)
def test_a_vectors_states_have_roots_that_tell_them_apart(name: str) -> None:
    scenario = scenarios()[name]
    world = _base_world()
    tx, origin, sender = scenario(world)
    pre = world.state.copy()
    apply_tx(world.state, tx, world.env(origin, sender))
    before, after = dict(pre.items()), dict(world.state.items())
    root = zk_root(before.items())
    assert zk_root(reversed(list(before.items()))) == root
    assert (zk_root(after.items()) == root) == (before == after), name


def test_every_field_of_every_leaf_is_committed() -> None:
    world = _base_world()
    scenarios()["option_settle"](world)
    leaves = dict(world.state.items())
    root = zk_root(leaves.items())
    for key, leaf in leaves.items():
        for place, value in enumerate(leaf):
            if isinstance(value, bool):
                changed = not value
            elif isinstance(value, int):
                changed = value + 1
            elif isinstance(value, bytes | str):
                changed = (
                    value + value[:1]
                    if value
                    else type(value)(b"\x01" if isinstance(value, bytes) else "x")
                )
            elif isinstance(value, tuple):
                if key[0] == "acct" and leaf._fields[place] == "instruments":
                    continue  # tested below: it must match the positions
                changed = value + (value[:1] or (0,))
            else:
                raise AssertionError(f"a field of an unexpected type: {value!r}")
            mutated = dict(leaves)
            mutated[key] = leaf._replace(**{leaf._fields[place]: changed})
            assert zk_root(mutated.items()) != root, (key, leaf._fields[place])


def test_the_order_of_an_accounts_positions_is_committed() -> None:
    account = Account(owner=bytes(20), balance=5, instruments=(1, 2))
    leaves = {
        account_key(3): account,
        position_key(3, 1): Position(size=1),
        position_key(3, 2): Position(size=2),
    }
    swapped = dict(leaves)
    swapped[account_key(3)] = account._replace(instruments=(2, 1))
    assert zk_root(leaves.items()) != zk_root(swapped.items())
    with pytest.raises(ValueError, match="instrument list"):
        zk_root({**leaves, position_key(3, 9): Position()}.items())


def test_encodings() -> None:
    assert elements(True) == [1] and elements(-1) == [P - 1] and elements(b"") == [0]
    assert elements(b"\x01" * 32) == [32, int.from_bytes(b"\x01" * 31, "big"), 1]
    assert elements((1, (2,))) == [2, 1, 1, 2]
    assert hash_elements([1] * 12) != hash_elements([1] * 11)
    with pytest.raises(ValueError):
        settlement_index(1, 12345)
    assert zk_root(State().items()) != zk_root([])  # a new state has its globals and oracle


def _diff(
    before: dict[LeafKey, Leaf], after: dict[LeafKey, Leaf]
) -> list[tuple[LeafKey, Leaf | None]]:
    keys = list(before) + [k for k in after if k not in before]
    return [(k, after.get(k)) for k in keys if before.get(k) != after.get(k)]


@pytest.mark.parametrize(
    "name", ["forced_close_fund_full", "option_settle", "settle_sweeps_dust", "withdraw_free"]
)
def test_the_incremental_trees_give_the_root_from_scratch(name: str) -> None:
    """Leaves written, deleted and positions that shift places (forced closes take
    instruments out of the middle of a list): applied as changes, the trees give the
    root a fresh build does."""
    world = _base_world()
    start = dict(world.state.items())
    commitment = zk_state(start.items())
    tx, origin, sender = scenarios()[name](world)
    middle = dict(world.state.items())
    commitment.apply(_diff(start, middle))
    assert commitment.root() == zk_root(middle.items())
    apply_tx(world.state, tx, world.env(origin, sender))
    end = dict(world.state.items())
    commitment.apply(_diff(middle, end))
    assert commitment.root() == zk_root(end.items())
    assert commitment.root() != zk_root(start.items())
