"""The step model: every leaf a tx touches is declared by its step, and steps are small.

docs/design/consensus.md section 11: a tx executes as steps, each reading and writing a
declared, bounded set of leaves. With a :class:`StepTracer` attached the state refuses
any access outside the current step's declaration, so running every vector scenario
traced proves the declarations complete; the per-step leaf counts and the step counts
are the bounds the one-step executor (#7) will rely on.
"""

from __future__ import annotations

import pytest

from rollbook.exchange.state import StepTracer
from rollbook.exchange.stf import apply_tx
from rollbook.sim.vectors import _base_world, scenarios
from rollbook.sim.world import World

MAX_LEAVES_PER_STEP = 5


def most_positions(world: World) -> int:
    """The most positions account 1 or 2 holds."""
    state = world.state
    return max(len(state.account(i).instruments) for i in (1, 2) if state.has_account(i))


@pytest.mark.parametrize("name", sorted(scenarios()))
def test_every_access_is_declared(name: str) -> None:
    untraced = _base_world()
    tx, origin, sender = scenarios()[name](untraced)
    expected = apply_tx(untraced.state, tx, untraced.env(origin, sender))

    world = _base_world()
    tx, origin, sender = scenarios()[name](world)
    held = most_positions(world)
    tracer = StepTracer()
    world.state.tracer = tracer
    receipt = apply_tx(world.state, tx, world.env(origin, sender))
    world.state.tracer = None
    # Tracing changes nothing: same outcome, same root.
    assert (receipt.ok, receipt.error) == (expected.ok, expected.error)
    assert world.state.root() == untraced.state.root()
    # A tx refused on its own fields alone touches no leaf and runs no step.
    assert tracer.steps or not receipt.ok
    for step in tracer.steps:
        assert len(step.declared) <= MAX_LEAVES_PER_STEP, step.name
        assert set(step.touched) <= set(step.declared)
    # P: the most positions a trader holds before or after the tx (a liquidation may
    # close them all, and checks its account's margin twice).
    positions = max(held, most_positions(world))
    # A fill: 2 order checks + 2 applications + 2 × (P + 2) margin steps + 2 bookkeeping.
    assert len(tracer.steps) <= 8 + 4 * (positions + 2)
