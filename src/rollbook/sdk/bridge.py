"""The L1 side of a trader's money: deposit, withdraw on L2, prove and get paid on L1.

1. :func:`deposit`: approve the portal and deposit (on a devnet collateral, mint
   first). The deposit reaches L2 when derivation reaches its L1 block (``k`` blocks
   deep): poll :meth:`rollbook.sdk.Client.call` ``rollbook_getAccount``.
2. Withdraw on L2: an owner-signed ``Withdraw`` tx (:func:`withdraw_tx`), sent with
   :meth:`~rollbook.sdk.Client.send_tx`; it debits the account and records a
   withdrawal leaf (its id is in the account's ``rollbook_tx_nonce`` order).
3. Once an output root covering that block is *final* on L1 (proposed, and the
   challenge window has passed), :func:`claim` asks the node for the withdrawal's
   proof against that root (``rollbook_proveWithdrawal``) and calls the portal's
   ``withdraw``; anyone may send it, the money goes to the owner.

If the sequencer leaves an L1 input (a deposit, a forced withdrawal) out for longer
than the inclusion window, :func:`force_include` has the inbox put it in.

These functions are synchronous (web3); each names the L1 block it reads at.
"""

from __future__ import annotations

from typing import Any

from rollbook.exchange.txs import Withdraw, sign_owner_tx
from rollbook.l1.client import L1Client, checksum
from rollbook.l1.system import System


def deposit(
    system: System, owner_key: bytes, amount: int, minter_key: bytes | None = None
) -> list[bytes]:
    """Send the deposit txs of ``amount`` (6-decimal units) from ``owner_key``'s
    address to its own L2 account; returns the tx hashes (mined by the network). With
    ``minter_key`` (a devnet collateral's minter), mint the amount first."""
    client = system.client
    owner = client.address_of(owner_key)
    sent = []
    if minter_key is not None:
        sent.append(client.call_tx(minter_key, system.collateral, "mint", owner, amount))
    sent.append(
        client.call_tx(owner_key, system.collateral, "approve", system.portal.address, amount)
    )
    sent.append(client.call_tx(owner_key, system.portal, "deposit", amount, owner))
    return sent


def withdraw_tx(
    account: int, amount: int, tx_nonce: int, owner_key: bytes, separator: bytes
) -> Withdraw:
    """The owner-signed L2 tx that withdraws ``amount`` from ``account``."""
    unsigned = Withdraw(account, amount, tx_nonce)
    return Withdraw(account, amount, tx_nonce, sign_owner_tx(unsigned, owner_key, separator))


def final_output(system: System, l2_block: int) -> tuple[int, dict[str, Any]] | None:
    """The index and record of the newest final output root at or after ``l2_block``."""
    client, oracle = system.client, system.oracle
    count = int(client.read(oracle, "count"))
    for index in range(count - 1, -1, -1):
        root, block, proposed_at, origin = client.read(oracle, "outputs", index)
        if block < l2_block:
            return None
        if client.read(oracle, "is_final", index):
            return index, {
                "root": bytes(root),
                "l2_block": int(block),
                "proposed_at": int(proposed_at),
                "l1_origin": int(origin),
            }
    return None


def claim(system: System, payer_key: bytes, output_index: int, proof: dict[str, Any]) -> bytes:
    """Pay a withdrawal on L1 with the node's proof (``rollbook_proveWithdrawal``)."""

    def raw(value: str) -> bytes:
        return bytes.fromhex(value.removeprefix("0x"))

    return system.client.call_tx(
        payer_key,
        system.portal,
        "withdraw",
        output_index,
        raw(proof["state_root"]),
        raw(proof["withdrawals_root"]),
        raw(proof["block_hash"]),
        int(proof["withdrawal_id"]),
        checksum(raw(proof["owner"])),
        int(proof["amount"]),
        [raw(s) for s in proof["siblings"]],
        gas=2_000_000,
    )


def balance(client: L1Client, system: System, address: str) -> int:
    """The collateral ``address`` holds on L1."""
    return int(client.read(system.collateral, "balanceOf", address))


def force_include(system: System, payer_key: bytes, index: int) -> bytes:
    """Have the inbox force L1 input ``index`` in (a deposit, forced tx or governance
    tx, by its place in the input queue) once it has waited the inclusion window and
    no posted block has taken it: the inbox records a batch of one empty block whose
    L1 origin takes it (derivation's rule 4, Arbitrum's ``forceInclusion``). Anyone
    may send it; returns the tx hash."""
    return system.client.call_tx(payer_key, system.inbox, "force_include", index)
