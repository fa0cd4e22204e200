"""Helpers shared by the STF rule tests."""

from __future__ import annotations

from rollbook.exchange.audit import conservation_gap
from rollbook.exchange.stf import Receipt
from rollbook.exchange.txs import Tx
from rollbook.sim.world import World


def reject(world: World, tx: Tx, error: str, code: int) -> Receipt:
    """Apply ``tx`` on L2, expect the typed rejection and an unchanged state root."""
    root = world.state.root()
    receipt = world.l2(tx)
    assert not receipt.ok, receipt
    assert (receipt.error, receipt.code) == (error, code), receipt
    assert world.state.root() == root
    return receipt


def conservation_holds(world: World) -> bool:
    """Σ balances + fees + Σ pools = deposits − withdrawals (section 4)."""
    return conservation_gap(world.state) == 0
