"""Benchmark: L1 gas of ZK mode (``rollbook bench zk_l1``; docs/design/zk.md "On L1").

On titanoboa's py-evm (Prague), contracts from source, proofs real (the verifier holds
``free_input_test``'s key: a Groth16 check costs the same for any key with one public
input):

- ``submit``: ``ZkRollup.submit`` of a second batch (the counters warm, as in steady
  state) with 0..100 L1 inputs (deposits) and 0..100 withdrawals; execution gas and
  the whole tx (21,000 + calldata at max(standard, EIP-7623 floor)); the fixed part
  and the slopes per input and per withdrawal;
- ``withdraw``: ``Portal.withdraw_verified`` of one withdrawal out of 1, 10, 100;
- ``options``: three ways to make withdrawals payable at once, each over the same
  28-byte records (owner, amount), every owner a fresh address: pay each in the
  submit tx, credit per-owner pending balances claimed later, or record one Merkle
  root per batch claimed later with a path (the choice built). Execution gas of the
  batch's share and of one claim.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import boa
from tests.l1.zk_rig import deploy_zk

from rollbook.l1.compile import CONTRACTS
from rollbook.zk import batchdata as bd

SIZES = (1, 10, 100)


def tx_gas(calldata: bytes, execution: int) -> int:
    """A tx's gas under Prague: 21,000 + max(4/16 per zero/non-zero byte + execution,
    10/40 per byte) (EIP-7623)."""
    tokens = sum(1 if b == 0 else 4 for b in calldata)
    return 21_000 + max(4 * tokens + execution, 10 * tokens)


def submit_gas(inputs: int, withdrawals: int) -> dict[str, int]:
    with boa.env.anchor():
        l1 = deploy_zk()
        # a first batch, so the rollup's counters are warm (non-zero) as in steady state
        l1.deposit(1_000_000)
        l1.submit(1, l1.batch(withdrawals=[(boa.env.generate_address(), 1)]).encode())
        for _ in range(inputs):
            l1.deposit(1_000_000)
        owners = [(boa.env.generate_address(), 1_000) for _ in range(withdrawals)]
        data = l1.batch(withdrawals=owners).encode()
        proof = l1.prove(2, data)
        l1.rollup.submit(1, 2, data, proof)
        execution = l1.rollup._computation.get_gas_used()
        calldata = l1.rollup.submit.prepare_calldata(1, 2, data, proof)
        return {
            "inputs": inputs,
            "withdrawals": withdrawals,
            "data_bytes": len(data),
            "execution": execution,
            "tx": tx_gas(calldata, execution),
        }


def withdraw_gas(count: int) -> int:
    with boa.env.anchor():
        l1 = deploy_zk()
        l1.deposit(count * 1_000)
        batch = l1.batch(withdrawals=[(boa.env.generate_address(), 1_000) for _ in range(count)])
        l1.submit(1, batch.encode())
        w = batch.withdrawals[count // 2]
        path = list(bd.withdrawal_path(batch.withdrawals, count // 2))
        owner = "0x" + w.owner.hex()
        l1.portal.withdraw_verified(0, w.id, owner, w.amount, count // 2, path)
        return int(l1.portal._computation.get_gas_used())


OPTIONS = """
# pragma version 0.4.3
# pragma evm-version prague
from ethereum.ercs import IERC20
import txroot

token: IERC20
pending: HashMap[address, uint256]
roots: HashMap[uint256, bytes32]
paid: HashMap[uint256, bool]
batches: uint256

@deploy
def __init__(token: IERC20):
    self.token = token

@internal
@pure
def _owner(records: Bytes[4096], at: uint256) -> address:
    return convert(convert(slice(records, at, 20), bytes20), address)

@internal
@pure
def _amount(records: Bytes[4096], at: uint256) -> uint256:
    return convert(slice(records, at + 20, 8), uint256)

@external
def pay_now(records: Bytes[4096]):
    for i: uint256 in range(128):
        if 28 * i >= len(records):
            break
        extcall self.token.transfer(self._owner(records, 28 * i), self._amount(records, 28 * i))

@external
def credit(records: Bytes[4096]):
    for i: uint256 in range(128):
        if 28 * i >= len(records):
            break
        self.pending[self._owner(records, 28 * i)] += self._amount(records, 28 * i)

@external
def claim_pending(owner: address):
    amount: uint256 = self.pending[owner]
    self.pending[owner] = 0
    extcall self.token.transfer(owner, amount)

@external
def commit(records: Bytes[4096]):
    frontier: bytes32[txroot.DEPTH] = empty(bytes32[txroot.DEPTH])
    n: uint256 = len(records) // 28
    for i: uint256 in range(128):
        if i >= n:
            break
        leaf: bytes32 = keccak256(
            concat(b"\\x00", convert(convert(i, uint64), bytes8), slice(records, 28 * i, 28))
        )
        frontier = txroot.push(frontier, i, leaf)
    self.roots[self.batches] = txroot.frontier_root(frontier, n)
    self.batches += 1

@external
def claim_committed(
    batch: uint256, id: uint256, owner: address, amount: uint256, path: DynArray[bytes32, 20]
):
    assert not self.paid[id]
    leaf: bytes32 = keccak256(concat(
        b"\\x00", convert(convert(id, uint64), bytes8), convert(owner, bytes20),
        convert(convert(amount, uint64), bytes8),
    ))
    assert txroot.fold(leaf, id, path) == self.roots[batch]
    self.paid[id] = True
    extcall self.token.transfer(owner, amount)
"""


def option_gas(count: int) -> dict[str, int]:
    token = boa.load_partial(str(CONTRACTS / "Collateral.vy")).deploy("USD Coin", "USDC")
    harness = boa.loads_partial(OPTIONS, filename=str(CONTRACTS / "PayoutOptions.vy"))
    out: dict[str, int] = {"withdrawals": count}
    records = [(boa.env.generate_address(), 1_000) for _ in range(count)]
    data = b"".join(bytes.fromhex(o[2:]) + a.to_bytes(8, "big") for o, a in records)
    with boa.env.anchor():
        h = harness.deploy(token.address)
        token.mint(h.address, 10**12)
        h.pay_now(data)
        out["pay_in_submit"] = h._computation.get_gas_used()
    with boa.env.anchor():
        h = harness.deploy(token.address)
        token.mint(h.address, 10**12)
        h.credit(data)
        out["credit_submit"] = h._computation.get_gas_used()
        h.claim_pending(records[0][0])
        out["credit_claim"] = h._computation.get_gas_used()
    with boa.env.anchor():
        h = harness.deploy(token.address)
        token.mint(h.address, 10**12)
        h.commit(data)
        out["commit_submit"] = h._computation.get_gas_used()
        leaves = [
            bd.PublishedWithdrawal(i, bytes.fromhex(o[2:]), a) for i, (o, a) in enumerate(records)
        ]
        k = count // 2
        path = list(bd.withdrawal_path(leaves, k))
        h.claim_committed(0, k, records[k][0], records[k][1], path)
        out["commit_claim"] = h._computation.get_gas_used()
    return out


def run(argv: list[str]) -> dict[str, Any]:
    argparse.ArgumentParser(prog="rollbook bench zk_l1").parse_args(argv)
    grid = [(0, 0), (1, 0), (10, 0), (100, 0), (0, 1), (0, 10), (0, 100), (10, 10)]
    submits = [submit_gas(i, w) for i, w in grid]
    by = {(s["inputs"], s["withdrawals"]): s for s in submits}
    per_input = (by[(100, 0)]["execution"] - by[(10, 0)]["execution"]) / 90
    per_withdrawal = (by[(0, 100)]["execution"] - by[(0, 10)]["execution"]) / 90
    return {
        "bench": "zk_l1",
        "evm": "py-evm (titanoboa), prague",
        "submit": submits,
        "submit_fixed_execution": by[(0, 0)]["execution"],
        "submit_fixed_tx": by[(0, 0)]["tx"],
        "per_input_execution": round(per_input),
        "per_withdrawal_execution": round(per_withdrawal),
        "withdraw_verified": {str(n): withdraw_gas(n) for n in SIZES},
        "options": [option_gas(n) for n in SIZES],
    }


if __name__ == "__main__":
    print(json.dumps(run([]), indent=1))
