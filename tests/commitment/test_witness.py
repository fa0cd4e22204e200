"""Step witnesses on every STF vector scenario: chained roots, each step
re-derived from its proofs alone, and tampering caught."""

from __future__ import annotations

import dataclasses
from itertools import pairwise

import pytest

from rollbook.commitment.witness import WitnessError, verify_step, witness_tx
from rollbook.exchange.stf import apply_tx
from rollbook.sim.vectors import _base_world, scenarios

SCENARIOS = scenarios()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_witnesses_chain_and_verify(name: str) -> None:
    world = _base_world()
    tx, origin, sender = SCENARIOS[name](world)
    twin = world.state.copy()
    pre_root = world.state.root()
    pre_wd = world.state.withdrawals_root()
    receipt, steps = witness_tx(world.state, tx, world.env(origin, sender))
    # The witnessed run is the plain STF: same receipt, same post-state.
    assert apply_tx(twin, tx, world.env(origin, sender)) == receipt
    post_root = world.state.root()
    assert twin.root() == post_root
    if not steps:
        assert not receipt.ok and post_root == pre_root
        return
    assert (steps[0].pre_root, steps[0].pre_withdrawals) == (pre_root, pre_wd)
    for before, after in pairwise(steps):
        assert (before.post_root, before.post_withdrawals) == (
            after.pre_root,
            after.pre_withdrawals,
        )
    for step in steps:
        assert verify_step(step) == (step.post_root, step.post_withdrawals), step.name
        assert set(step.declared) >= {r.key for r in step.reads}
    # Only the last step of a rejected tx fails, and a failing step writes nothing.
    assert [s.failed for s in steps] == [False] * (len(steps) - 1) + [not receipt.ok]
    if receipt.ok:
        assert steps[-1].post_root == post_root
    else:
        assert post_root == pre_root
        assert steps[-1].post_root == steps[-1].pre_root and not steps[-1].writes


def _first_step_with_writes(name: str, count: int = 1):  # type: ignore[no-untyped-def]
    world = _base_world()
    tx, origin, sender = SCENARIOS[name](world)
    _, steps = witness_tx(world.state, tx, world.env(origin, sender))
    return next(s for s in steps if len(s.writes) >= count)


def test_a_wrong_new_value_gives_another_root() -> None:
    step = _first_step_with_writes("fill_open")
    write = step.writes[0]
    assert write.new is not None
    forged_leaf = write.new._replace(**{write.new._fields[1]: 10**9})  # type: ignore[union-attr]
    forged = dataclasses.replace(
        step, writes=(dataclasses.replace(write, new=forged_leaf), *step.writes[1:])
    )
    assert verify_step(forged)[0] != step.post_root


def test_a_wrong_read_is_refused() -> None:
    step = _first_step_with_writes("withdraw_free")
    read = step.reads[0]
    assert read.leaf is not None
    forged_leaf = read.leaf._replace(**{read.leaf._fields[1]: 12345})  # type: ignore[union-attr]
    forged = dataclasses.replace(
        step, reads=(dataclasses.replace(read, leaf=forged_leaf), *step.reads[1:])
    )
    with pytest.raises(WitnessError):
        verify_step(forged)


def test_a_stale_write_proof_is_refused() -> None:
    step = _first_step_with_writes("fill_open", count=2)
    # The second write's proof belongs to the root after the first write; swapping
    # the order makes each proof stand against the wrong root.
    swapped = dataclasses.replace(step, writes=(step.writes[1], step.writes[0], *step.writes[2:]))
    try:
        root = verify_step(swapped)
    except WitnessError:
        return
    assert root[0] != step.post_root


def test_an_undeclared_leaf_is_refused() -> None:
    step = _first_step_with_writes("fill_open")
    forged = dataclasses.replace(step, declared=step.declared[1:])
    with pytest.raises(WitnessError, match="not declared"):
        verify_step(forged)
