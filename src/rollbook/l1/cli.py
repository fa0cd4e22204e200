"""``rollbook l1 deploy``: deploy the system and write its deployment record.

- ``--l1 embedded`` (default): a fresh in-process EVM (the record shows what a
  deployment contains; the chain ends with the process).
- ``--l1 http://host:port``: any Ethereum JSON-RPC node; the deployer, proposer and
  batcher key is read from ``ROLLBOOK_L1_KEY`` (hex) and must be funded; each write
  waits until it is ``--confirmations`` blocks deep.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from rollbook.chain.blocks import Mode, output_version
from rollbook.l1.client import L1Client, L1Error
from rollbook.l1.system import Roles, deploy


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="rollbook l1")
    sub = parser.add_subparsers(dest="command", required=True)
    dep = sub.add_parser("deploy", help="deploy the contracts and write the record")
    dep.add_argument("--l1", default="embedded", help="'embedded' or a JSON-RPC URL")
    dep.add_argument("--out", type=Path, default=None, help="write the record here (JSON)")
    dep.add_argument("--challenge-window", type=int, default=7 * 86_400)
    dep.add_argument("--forced-fee", type=int, default=10**15, help="wei per forced tx")
    dep.add_argument("--mode", choices=["optimistic", "zk"], default="optimistic")
    dep.add_argument(
        "--confirmations", type=int, default=1, help="blocks each write waits (JSON-RPC)"
    )
    dep.add_argument(
        "--collateral", default=None, help="an existing ERC-20 (6 decimals) instead of a devnet one"
    )
    dep.add_argument("--bond", type=int, default=0, help="the proposer's required bond (wei)")
    args = parser.parse_args(argv)
    try:
        if args.l1 == "embedded":
            client = L1Client.embedded()
            faucet = client.faucet_key()
            roles = Roles(faucet, faucet, faucet)
            now = int(client.block("latest")["timestamp"]) + 12
        else:
            key_hex = os.environ.get("ROLLBOOK_L1_KEY")
            if not key_hex:
                parser.error("set ROLLBOOK_L1_KEY to a funded private key (hex)")
            key = bytes.fromhex(key_hex.removeprefix("0x"))
            client = L1Client.rpc(args.l1, confirmations=args.confirmations)
            roles = Roles(key, key, key)
            now = max(int(time.time()), int(client.block("latest")["timestamp"]) + 1)
        mode = Mode.OPTIMISTIC if args.mode == "optimistic" else Mode.ZK
        system = deploy(
            client,
            roles,
            now,
            output_version=output_version(mode),
            challenge_window=args.challenge_window,
            forced_fee=args.forced_fee,
            collateral=args.collateral,
            required_bond=args.bond,
        )
    except L1Error as exc:
        print(f"rollbook l1 deploy: {exc}")
        return 1
    record = system.deployment.to_json()
    if args.out is not None:
        args.out.write_text(record + "\n")
        print(f"deployment record written to {args.out}")
    print(record)
    return 0
