"""Accounts and collateral: deposits, withdrawals, transfers, keys, the nonce floor.

The auth model (docs/design/consensus.md section 2): the *owner* (an L1 address)
alone moves collateral and manages trading keys, by an EIP-712 signature on L2 or as
the L1 sender of a forced tx; *trading keys* sign orders and nonce floors. Owner txs
on L2 carry the account's sequential ``tx_nonce``; forced txs from L1 are ordered by
the L1 queue instead and carry nonce 0.
"""

from __future__ import annotations

from rollbook.crypto.eip712 import typed_digest
from rollbook.exchange.env import TxEnv
from rollbook.exchange.errors import (
    BadNonce,
    BadSignature,
    InvariantError,
    MalformedTx,
    Unauthorized,
    WrongOrigin,
)
from rollbook.exchange.expiry import cover_flat_deficit, is_expired, settle_expired
from rollbook.exchange.leaves import (
    GLOBALS_KEY,
    NO_KEY,
    Account,
    OwnerIndex,
    Withdrawal,
    account_key,
    instrument_key,
    owner_key,
    position_key,
    withdrawal_key,
)
from rollbook.exchange.margin import require_initial_margin
from rollbook.exchange.positions import settle_position
from rollbook.exchange.state import State
from rollbook.exchange.txs import (
    Deposit,
    NonceFloor,
    Origin,
    OwnerTx,
    RegisterKey,
    RevokeKey,
    SetMarginMode,
    SettleAccount,
    Transfer,
    Withdraw,
)
from rollbook.exchange.zkmode import require_standard_margin

MAX_KEYS = 4


def owner_account(state: State, owner: bytes) -> int | None:
    """The account index of an owner address, if it has one."""
    leaf = state.get(owner_key(owner))
    return leaf.account if isinstance(leaf, OwnerIndex) else None


def authorise_owner(state: State, env: TxEnv, tx: OwnerTx, index: int) -> Account:
    """Check the owner's authority over ``tx`` and consume its nonce.

    On L2 the owner's EIP-712 signature and the account's ``tx_nonce`` are required;
    from L1 the L1 sender must be the owner and the nonce must be 0.
    """
    state.step("auth.owner", account_key(index))
    account = state.account(index)
    if env.origin is Origin.L1:
        if tx.signature is not None or env.l1_sender != account.owner:
            raise Unauthorized(f"L1 sender is not the owner of account {index}")
        if tx.nonce != 0:
            raise BadNonce("a forced tx from L1 carries nonce 0")
        return account
    if tx.signature is None:
        raise BadSignature("owner signature is missing")
    signer = env.signer(typed_digest(env.domain_separator, tx.struct_hash()), tx.signature)
    if signer != account.owner:
        raise BadSignature(f"not signed by the owner of account {index}")
    if tx.nonce != account.tx_nonce:
        raise BadNonce(f"account {index} expects tx nonce {account.tx_nonce}, got {tx.nonce}")
    account = account._replace(tx_nonce=account.tx_nonce + 1)
    state.put(account_key(index), account)
    return account


def credit_deposit(state: State, env: TxEnv, tx: Deposit) -> None:
    """Credit an L1 deposit, creating the owner's account at its first deposit."""
    if env.origin is not Origin.L1:
        raise WrongOrigin("deposits are derived from L1 only")
    state.step("deposit", GLOBALS_KEY, owner_key(tx.owner))
    glob = state.globals()
    if tx.deposit_id != glob.next_deposit_id:
        raise BadNonce(f"expected deposit {glob.next_deposit_id}, got {tx.deposit_id}")
    index = owner_account(state, tx.owner)
    if index is None:
        index = glob.next_account
        state.put(GLOBALS_KEY, glob._replace(next_account=index + 1))
        state.put(owner_key(tx.owner), OwnerIndex(index))
        state.step("deposit.open", account_key(index), carry=(index,))
        state.put(account_key(index), Account(owner=tx.owner, balance=tx.amount))
    else:
        state.step("deposit.credit", account_key(index), carry=(index,))
        account = state.account(index)
        state.put(account_key(index), account._replace(balance=account.balance + tx.amount))
    state.step("deposit.totals", GLOBALS_KEY)
    glob = state.globals()
    state.put(
        GLOBALS_KEY,
        glob._replace(
            next_deposit_id=tx.deposit_id + 1,
            total_deposits=glob.total_deposits + tx.amount,
        ),
    )


def debit(state: State, index: int, amount: int) -> None:
    """Take ``amount`` from the account's balance (margin is checked by the caller)."""
    state.step("debit", account_key(index))
    account = state.account(index)
    state.put(account_key(index), account._replace(balance=account.balance - amount))


def withdraw(state: State, env: TxEnv, tx: Withdraw) -> None:
    """Move free collateral out: the account must stay at or above initial margin."""
    authorise_owner(state, env, tx, tx.account)
    if tx.account == 0:
        raise Unauthorized("the insurance fund withdraws only through governance")
    debit(state, tx.account, tx.amount)
    require_initial_margin(state, tx.account, env.timestamp, then="withdraw.record")
    state.step("withdraw.record", GLOBALS_KEY, account_key(tx.account))
    glob = state.globals()
    withdrawal_id = glob.next_withdrawal_id
    state.put(
        GLOBALS_KEY,
        glob._replace(
            next_withdrawal_id=withdrawal_id + 1,
            total_withdrawals=glob.total_withdrawals + tx.amount,
        ),
    )
    owner = state.account(tx.account).owner
    carry = (withdrawal_id, int.from_bytes(owner, "big"))
    state.step("withdraw.leaf", withdrawal_key(withdrawal_id), carry=carry)
    state.put(withdrawal_key(withdrawal_id), Withdrawal(owner, tx.amount))


def transfer(state: State, env: TxEnv, tx: Transfer) -> None:
    """Move collateral between two existing accounts; the sender keeps IM."""
    authorise_owner(state, env, tx, tx.sender)
    if tx.sender == 0:
        raise Unauthorized("the insurance fund transfers only through governance")
    state.step("transfer.recipient", account_key(tx.recipient))
    recipient = state.account(tx.recipient)
    debit(state, tx.sender, tx.amount)
    require_initial_margin(state, tx.sender, env.timestamp, then="transfer.credit")
    state.step("transfer.credit", account_key(tx.recipient))
    recipient = state.account(tx.recipient)
    state.put(account_key(tx.recipient), recipient._replace(balance=recipient.balance + tx.amount))


def register_key(state: State, env: TxEnv, tx: RegisterKey) -> None:
    """Put a trading key at a free key index."""
    account = authorise_owner(state, env, tx, tx.account)
    if tx.key_index >= MAX_KEYS:
        raise MalformedTx(f"key index must be below {MAX_KEYS}")
    if account.keys[tx.key_index] != NO_KEY:
        raise MalformedTx(f"key index {tx.key_index} is in use; revoke it first")
    if tx.key in account.keys:
        raise MalformedTx("this key is already registered")
    keys = list(account.keys)
    keys[tx.key_index] = tx.key
    state.put(account_key(tx.account), account._replace(keys=tuple(keys)))


def revoke_key(state: State, env: TxEnv, tx: RevokeKey) -> None:
    """Clear a trading key; its orders can no longer fill."""
    account = authorise_owner(state, env, tx, tx.account)
    if tx.key_index >= MAX_KEYS or account.keys[tx.key_index] == NO_KEY:
        raise MalformedTx(f"no key at index {tx.key_index}")
    keys = list(account.keys)
    keys[tx.key_index] = NO_KEY
    state.put(account_key(tx.account), account._replace(keys=tuple(keys)))


def raise_nonce_floor(state: State, env: TxEnv, tx: NonceFloor) -> None:
    """Cancel on-chain every order of the account with a nonce below the new floor."""
    state.step("nonce_floor", account_key(tx.account))
    account = state.account(tx.account)
    if env.origin is Origin.L1:
        if tx.signature is not None or env.l1_sender != account.owner:
            raise Unauthorized(f"L1 sender is not the owner of account {tx.account}")
    else:
        if tx.signature is None:
            raise BadSignature("nonce floor signature is missing")
        signer = env.signer(typed_digest(env.domain_separator, tx.struct_hash()), tx.signature)
        if signer != account.owner and signer not in account.keys:
            raise BadSignature("nonce floor is not signed by the owner or a trading key")
    if tx.floor <= account.nonce_floor:
        raise BadNonce(f"nonce floor must rise above {account.nonce_floor}")
    state.put(account_key(tx.account), account._replace(nonce_floor=tx.floor))


def settle_account(state: State, env: TxEnv, tx: SettleAccount) -> None:
    """Apply every position's pending funding and loss, and pay out expired options
    whose settlement price is fixed (permissionless). An account this leaves flat and
    owing is bankrupt at expiry: the insurance fund takes the deficit.

    Needs no fresh mark: settlement moves only what the indices and fixed settlement
    prices already say.
    """
    state.step("settle.begin", account_key(tx.account))
    cursor = 0  # the position's place in the account's current list (carried)
    for instrument_id in state.account(tx.account).instruments:
        state.step(
            "settle.position",
            account_key(tx.account),
            position_key(tx.account, instrument_id),
            instrument_key(instrument_id),
            carry=(cursor,),
        )
        if state.account(tx.account).instruments[cursor] != instrument_id:
            raise InvariantError("the settlement cursor lost its position")
        settle_position(state, tx.account, instrument_id)
        if is_expired(state.instrument(instrument_id), env.timestamp) and settle_expired(
            state, tx.account, instrument_id, (cursor,)
        ):
            continue
        cursor += 1
    cover_flat_deficit(state, tx.account)


def set_margin_mode(state: State, env: TxEnv, tx: SetMarginMode) -> None:
    """Switch the account between standard and portfolio margin (owner-signed).

    The account must meet its initial margin in the new mode; no risk-reducing
    exemption applies, since a switch changes no position. ZK mode has standard
    margin only (:mod:`rollbook.exchange.zkmode`): a switch to portfolio margin is
    refused there.
    """
    account = authorise_owner(state, env, tx, tx.account)
    if env.zk:
        require_standard_margin(tx.account, tx.portfolio)
    if account.portfolio == tx.portfolio:
        mode = "portfolio" if tx.portfolio else "standard"
        raise MalformedTx(f"account {tx.account} is already in {mode} margin")
    state.put(account_key(tx.account), account._replace(portfolio=tx.portfolio))
    require_initial_margin(state, tx.account, env.timestamp, then="tx.end")
