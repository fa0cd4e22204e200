"""The sequencer's liquidator: find accounts below maintenance, close them on the book.

The rules are the STF's (:mod:`rollbook.exchange.liquidation`): a ``Liquidate`` fill
against a resting maker within ``liq_band_ppm`` of the mark, and a ``Backstop`` for
what the book cannot absorb. This module only decides *when* and *at what limit* the
sequencer tries: it scans with the STF's own :func:`~rollbook.exchange.margin.health`
inside a journal that is rolled back, so the scan changes nothing, and it places an
IOC order at the band's edge, rounded onto the tick grid toward the mark.
"""

from __future__ import annotations

from collections.abc import Iterable

from rollbook.exchange.errors import ExchangeError
from rollbook.exchange.leaves import INSURANCE_FUND
from rollbook.exchange.margin import health
from rollbook.exchange.numeric import PPM
from rollbook.exchange.state import State
from rollbook.exchange.types import Side


def underwater(state: State, now: int, accounts: Iterable[int]) -> list[int]:
    """Those of ``accounts`` with positions whose equity is below maintenance (read
    only).

    An account whose marks are stale cannot be valued; it is skipped until they are
    fresh (the STF would refuse its liquidation too).
    """
    found = []
    for index in accounts:
        if index == INSURANCE_FUND or not state.has_account(index):
            continue
        if not state.account(index).instruments:
            continue
        state.begin()
        try:
            h = health(state, index, now)
        except ExchangeError:
            continue
        finally:
            state.rollback()
        if h.equity < h.maintenance:
            found.append(index)
    return found


def close_order(state: State, account: int, instrument: int) -> tuple[Side, int, int] | None:
    """(side, limit price, size) of the IOC order that closes ``account``'s position in
    ``instrument`` as far as the liquidation band allows, or None if it holds none."""
    size = state.position(account, instrument).size
    if size == 0:
        return None
    inst = state.instrument(instrument)
    band = state.globals().liq_band_ppm
    tick = inst.tick
    if size > 0:
        limit = inst.mark * (PPM - band) // PPM
        return Side.SELL, max(tick, -(-limit // tick) * tick), size
    limit = inst.mark * (PPM + band) // PPM
    return Side.BUY, max(tick, limit // tick * tick), -size
