"""What ZK mode refuses: the bounds of the circuits that prove its batches (#8).

A ZK chain advances only by proven batches, and the sequencer must include the forced
txs L1 queues. A tx the STF accepted but no circuit can prove would therefore stall
the chain for good. So in ZK mode (:attr:`rollbook.exchange.env.TxEnv.zk`) the STF
itself refuses, with :class:`~rollbook.exchange.errors.ZkUnprovable` and the state
unchanged, every tx that would lead out of what the fill circuit proves:

- fills of **perpetuals only**: governance lists no option (call or put);
- **standard margin only**: no account switches to portfolio margin;
- at most :data:`ZK_POSITIONS` **positions per account**: governance sets
  ``max_positions`` no higher (and a ZK genesis starts there, :func:`zk_globals`);
- at most :data:`ZK_INSTRUMENTS` **instruments per batch, with ids below it** (an
  instrument's id is its place in the batch's instrument cache): governance lists no
  instrument with a larger id;
- the **insurance fund does not trade by orders**: it takes positions only in
  liquidations, so a fill naming an order of account 0 is refused;
- a fill **fits its 16-byte record** (``rollbook.zk.batch``): accounts below
  :data:`RECORD_ACCOUNTS`, the size below :data:`RECORD_UNITS` lots and the price below
  as many ticks.

Optimistic mode refuses none of these: its fraud-proof executor runs every step the
STF runs, within the bounds of :mod:`rollbook.exchange.governance`.

:func:`unprovable` lists what keeps a whole state out of the circuits' reach: a ZK
chain's genesis must have none of it (the node checks, ``rollbook.node.service``).
"""

from __future__ import annotations

from typing import NoReturn

from rollbook.exchange.errors import ZkUnprovable
from rollbook.exchange.leaves import INSURANCE_FUND, Account, Globals, Instrument
from rollbook.exchange.state import State

ZK_POSITIONS = 8
"""The most positions an account may hold in ZK mode: ``N`` of the default fill
circuit ``FillBatch(S, N, K)`` (``src/rollbook/zk/circuits/batch.circom``, instantiated
in ``fills1_p8.circom``). A deployment that proves with bigger circuits raises it."""

ZK_INSTRUMENTS = 16
"""The bound on instrument ids in ZK mode: ``K`` of the default ``FillBatch(S, N, K)``,
the size of a batch's instrument cache, in which an instrument's id is its place. A
deployment that proves with bigger circuits raises it."""


RECORD_ACCOUNTS = 1 << 28
"""A fill record's account field is 28 bits (``rollbook.zk.batch``)."""

RECORD_UNITS = 1 << 32
"""A fill record's size (in lots) and price (in ticks) are 32 bits each."""


def require_record_fits(maker: int, taker: int, lots: int, ticks: int) -> None:
    """A fill's record holds its accounts, its size in lots and its price in ticks.

    Raises:
        ZkUnprovable: a field is beyond its width in the record.
    """
    if maker >= RECORD_ACCOUNTS or taker >= RECORD_ACCOUNTS:
        raise ZkUnprovable(
            f"ZK mode: a fill's record holds accounts below {RECORD_ACCOUNTS}"
            f" (maker {maker}, taker {taker})"
        )
    if lots >= RECORD_UNITS or ticks >= RECORD_UNITS:
        raise ZkUnprovable(
            f"ZK mode: a fill's record holds sizes and prices below {RECORD_UNITS} lots and"
            f" ticks (this fill: {lots} lots at {ticks} ticks)"
        )


def refuse_options(underlying: str) -> NoReturn:
    """ZK mode lists perpetuals only (``ListInstrument`` lists nothing else).

    Raises:
        ZkUnprovable: always; an option chain is a listing ZK mode cannot prove fills of.
    """
    raise ZkUnprovable(
        f"ZK mode lists perpetuals only: its fill circuit cannot prove fills of "
        f"options ({underlying} calls and puts)"
    )


def require_instrument_id(instrument_id: int) -> None:
    """A listing's id has a place in the fill circuit's instrument cache.

    Raises:
        ZkUnprovable: an id of :data:`ZK_INSTRUMENTS` or more.
    """
    if instrument_id >= ZK_INSTRUMENTS:
        raise ZkUnprovable(
            f"ZK mode lists instrument ids below {ZK_INSTRUMENTS} (its fill circuit's "
            f"instrument cache), got {instrument_id}"
        )


def require_position_bound(max_positions: int) -> None:
    """A position bound within the fill circuit's ``N``.

    Raises:
        ZkUnprovable: ``max_positions`` above :data:`ZK_POSITIONS`.
    """
    if max_positions > ZK_POSITIONS:
        raise ZkUnprovable(
            f"ZK mode allows at most {ZK_POSITIONS} positions per account (its fill "
            f"circuit's bound), got {max_positions}"
        )


def require_standard_margin(account: int, portfolio: bool) -> None:
    """Accounts stay in standard margin, the only rule the fill circuit checks.

    Raises:
        ZkUnprovable: a switch to portfolio margin.
    """
    if portfolio:
        raise ZkUnprovable(
            "ZK mode has standard margin only: its fill circuit cannot prove portfolio margin",
            account=account,
        )


def require_not_fund(account: int, role: str) -> None:
    """A fill's order is not the insurance fund's.

    The error names account 0, so a sequencer cancels the fund's order, not the other
    side's.

    Raises:
        ZkUnprovable: the order is of account 0.
    """
    if account == INSURANCE_FUND:
        raise ZkUnprovable(
            f"ZK mode: the insurance fund (account 0) takes positions only in "
            f"liquidations, not by orders ({role} order)",
            account=account,
        )


def zk_globals() -> Globals:
    """A ZK genesis's globals: the defaults, with the position bound at :data:`ZK_POSITIONS`."""
    return Globals(max_positions=ZK_POSITIONS)


def unprovable(state: State) -> list[str]:
    """Why ZK mode's circuits could not prove txs on ``state``: empty when they can.

    Checks the rules of the module docstring against a whole state (a genesis): the
    position bound, every listing, every account's margin mode and position count.
    The insurance fund's positions (taken in liquidations) are the liquidation
    circuit's to bound.
    """
    problems: list[str] = []
    for key, leaf in state.items():
        if isinstance(leaf, Globals) and leaf.max_positions > ZK_POSITIONS:
            problems.append(f"max_positions is {leaf.max_positions}, above {ZK_POSITIONS}")
        elif isinstance(leaf, Instrument):
            if leaf.kind.is_option:
                problems.append(f"instrument {leaf.instrument_id} ({leaf.symbol}) is an option")
            if leaf.instrument_id >= ZK_INSTRUMENTS:
                problems.append(f"instrument id {leaf.instrument_id} is {ZK_INSTRUMENTS} or more")
        elif isinstance(leaf, Account):
            index = key[1]
            if leaf.portfolio:
                problems.append(f"account {index} is in portfolio margin")
            if index != INSURANCE_FUND and len(leaf.instruments) > ZK_POSITIONS:
                problems.append(
                    f"account {index} holds {len(leaf.instruments)} positions, above {ZK_POSITIONS}"
                )
    return problems
