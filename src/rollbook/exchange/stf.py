"""The state transition function: ``apply_tx`` and ``apply_block``.

``apply_tx(state, tx, env)`` runs one tx inside a journal: on success its writes are
kept; on an :class:`ExchangeError` they are rolled back and the receipt carries the
error code and message. Dispatch is a table keyed on the tx's type (raiden's
architecture). An :class:`InvariantError` or any unexpected exception is a bug: the
journal is rolled back and the exception propagates, so a node stops instead of
committing a wrong state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rollbook.exchange.accounts import (
    credit_deposit,
    raise_nonce_floor,
    register_key,
    revoke_key,
    set_margin_mode,
    settle_account,
    transfer,
    withdraw,
)
from rollbook.exchange.env import SignatureCache, TxEnv
from rollbook.exchange.errors import ExchangeError, MalformedTx, WrongOrigin
from rollbook.exchange.fast import Fallback, settle_fill_fast
from rollbook.exchange.governance import (
    list_instrument,
    list_option_chain,
    set_instrument_params,
    set_oracle,
    set_risk_params,
)
from rollbook.exchange.leaves import GLOBALS_KEY, Account, OwnerIndex, account_key, owner_key
from rollbook.exchange.liquidation import backstop, forced_close, liquidate
from rollbook.exchange.oracle import apply_oracle_update
from rollbook.exchange.state import State
from rollbook.exchange.trading import settle_fill
from rollbook.exchange.txs import (
    Backstop,
    Deposit,
    Fill,
    ForcedClose,
    Liquidate,
    ListInstrument,
    ListOptionChain,
    NonceFloor,
    OracleUpdate,
    Origin,
    RegisterKey,
    RevokeKey,
    SetInstrumentParams,
    SetMarginMode,
    SetOracle,
    SetRiskParams,
    SettleAccount,
    Transfer,
    Tx,
    Unreadable,
    Withdraw,
)
from rollbook.exchange.zkmode import zk_globals

STF_VERSION = 1

Handler = Callable[[State, TxEnv, Any], None]


def refuse_unreadable(state: State, env: TxEnv, tx: Unreadable) -> None:
    """An L1 input that is no allowed tx, or a batch item that does not decode, keeps
    its place in the block and is refused."""
    raise MalformedTx(f"the tx ({len(tx.data)} bytes) does not decode as one its source may send")


HANDLERS: dict[type, Handler] = {
    Deposit: credit_deposit,
    Withdraw: withdraw,
    Transfer: transfer,
    RegisterKey: register_key,
    RevokeKey: revoke_key,
    NonceFloor: raise_nonce_floor,
    Fill: settle_fill,
    Liquidate: liquidate,
    Backstop: backstop,
    ForcedClose: forced_close,
    SettleAccount: settle_account,
    SetMarginMode: set_margin_mode,
    OracleUpdate: apply_oracle_update,
    ListInstrument: list_instrument,
    ListOptionChain: list_option_chain,
    SetInstrumentParams: set_instrument_params,
    SetOracle: set_oracle,
    SetRiskParams: set_risk_params,
    Unreadable: refuse_unreadable,
}

# Txs that may come from L1 (derivation); every other type from L1 is refused.
FROM_L1 = (
    Deposit,
    Withdraw,
    Transfer,
    RegisterKey,
    RevokeKey,
    NonceFloor,
    SetMarginMode,
    ForcedClose,
    ListInstrument,
    ListOptionChain,
    SetInstrumentParams,
    SetOracle,
    SetRiskParams,
    Unreadable,
)


@dataclass(frozen=True, slots=True)
class Receipt:
    """The outcome of one tx: applied, or rejected with a code and a message."""

    ok: bool
    code: int = 0
    error: str = ""
    message: str = ""
    account: int | None = None


OK = Receipt(True)


def apply_tx(state: State, tx: Tx, env: TxEnv) -> Receipt:
    """Apply one tx. A rejected tx changes nothing and returns a rejection receipt."""
    handler = HANDLERS.get(type(tx))
    if handler is None:
        return Receipt(False, 11029, "invalid_arguments", f"unknown tx type {type(tx).__name__}")
    state.begin()
    try:
        if env.origin is Origin.L1 and not isinstance(tx, FROM_L1):
            raise WrongOrigin(f"{type(tx).__name__} cannot come from L1")
        if env.fast and type(tx) is Fill:
            try:
                settle_fill_fast(state, env, tx)
            except Fallback:
                handler(state, env, tx)
        else:
            handler(state, env, tx)
    except ExchangeError as exc:
        state.rollback()
        return Receipt(False, exc.code, type(exc).__name__, exc.message, exc.account)
    except BaseException:
        state.rollback()
        raise
    state.commit()
    return OK


@dataclass(frozen=True, slots=True)
class BlockTx:
    """A tx in a block, with its origin (and L1 sender for forced txs)."""

    tx: Tx
    origin: Origin = Origin.L2
    l1_sender: bytes | None = None


@dataclass(frozen=True, slots=True)
class Block:
    """An L2 block as the STF sees it: number, timestamp and ordered txs."""

    number: int
    timestamp: int
    txs: tuple[BlockTx, ...]


def apply_block(
    state: State,
    block: Block,
    domain_separator: bytes,
    cache: SignatureCache | None = None,
    zk: bool = False,
) -> list[Receipt]:
    """Apply every tx of a block in order; returns one receipt per tx.

    ``zk``: the deployment is in ZK mode (orders are signed by Baby Jubjub keys,
    :class:`rollbook.exchange.env.TxEnv`).
    """
    receipts: list[Receipt] = []
    env = TxEnv(block.timestamp, domain_separator, cache=cache, zk=zk)
    for item in block.txs:
        env.origin = item.origin
        env.l1_sender = item.l1_sender
        receipts.append(apply_tx(state, item.tx, env))
    return receipts


def genesis(governance: bytes, zk: bool = False) -> State:
    """The genesis state: the insurance fund as account 0, owned by governance.

    A ZK chain's genesis (``zk``) starts with the position bound of ZK mode's fill
    circuit (:func:`rollbook.exchange.zkmode.zk_globals`), so it never holds a state
    its circuits cannot prove; governance cannot raise it there.
    """
    state = State({GLOBALS_KEY: zk_globals()} if zk else None)
    state.put(account_key(0), Account(owner=governance))
    state.put(owner_key(governance), OwnerIndex(0))
    return state
