"""``rollbook node`` and ``rollbook gateway``: run the sequencer and a trader's gateway.

- ``rollbook node init --data DIR [--l1 URL]``: a devnet genesis (listings, oracle set,
  funded demo accounts) and a sequencer key in ``DIR``; with ``--l1 URL`` (a JSON-RPC
  node, the deployer key in ``ROLLBOOK_L1_KEY``) it also deploys the contracts there,
  escrows the genesis allocation and writes ``DIR/deployment.json``. The demo accounts'
  keys go to ``DIR/devnet-keys.json`` (devnet keys only).
- ``rollbook node run --data DIR [--port P] [--block-ms MS] [--l1 URL]``: recover and
  serve. With ``--l1`` the node follows the deployment's L1, posts batches and proposes
  roots (the batcher and proposer key in ``ROLLBOOK_L1_KEY``); without it, it sequences
  only (blocks keep the genesis origin: a sequencer test mode, not a rollup).
- ``rollbook node verify --data DIR --l1 URL [--port P]``: the verifier: follows L1
  alone from the genesis in ``DIR``, derives, checks every proposed root (prints an
  ALARM on a mismatch) and serves ``rollbook_syncStatus`` (unsafe / safe / finalised).
- ``rollbook gateway init --dir DIR --node URL --account N``: encrypt the trading key
  (hex in ``ROLLBOOK_TRADING_KEY``) with ``ROLLBOOK_KEYSTORE_PASSWORD`` and create
  API credentials; prints them.
- ``rollbook gateway run --dir DIR [--port P]``.

Servers listen on 127.0.0.1 only; each prints ``listening on URL`` once it serves.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from rollbook.chain.blocks import Mode, block_output, output_version
from rollbook.chain.derive import ChainConfig, genesis_block
from rollbook.chain.l1 import L1Ref
from rollbook.crypto.keccak import keccak256
from rollbook.l1.client import L1Client, checksum
from rollbook.l1.system import (
    Deployment,
    DisputeParams,
    Roles,
    anchor_game,
    bind,
    deploy,
    read_block,
)
from rollbook.node.api import NodeApi
from rollbook.node.devnet import devnet_world
from rollbook.node.gateway import (
    Credentials,
    Gateway,
    new_credentials,
    read_keystore,
    write_keystore,
)
from rollbook.node.l1port import ChainPort
from rollbook.node.service import Genesis, L1Port, Node
from rollbook.sdk import TradingKey

CHAIN_ID = 901


async def serve(app: web.Application, port: int) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{bound}"


def l1_key() -> bytes:
    value = os.environ.get("ROLLBOOK_L1_KEY", "")
    if not value:
        raise SystemExit("set ROLLBOOK_L1_KEY to the funded L1 key (hex)")
    return bytes.fromhex(value.removeprefix("0x"))


def genesis_for(devnet_now: int, l1_genesis: L1Ref) -> tuple[Genesis, Any]:
    devnet = devnet_world(devnet_now)
    state = devnet.world.state.copy()
    grid = {}
    for key in state.keys_of_kind("inst"):
        if isinstance(key[1], int):
            inst = state.instrument(key[1])
            grid[key[1]] = (inst.tick, inst.lot)
    cfg = ChainConfig(CHAIN_ID, devnet.world.separator)
    return Genesis(state, cfg, l1_genesis, grid), devnet


def cmd_init(args: argparse.Namespace) -> int:
    data: Path = args.data
    now = int(time.time())
    if args.l1:
        key = l1_key()
        client = L1Client.rpc(args.l1)
        start = max(now, int(client.block("latest")["timestamp"]) + 1)
        probe, _ = genesis_for(start, L1Ref(0, bytes(32), start))
        system = deploy(
            client,
            Roles(key, key, key),
            start,
            output_version=output_version(Mode.OPTIMISTIC),
            challenge_window=args.challenge_window,
            forced_fee=10**15,
            first_deposit_id=probe.state.globals().next_deposit_id,
            dispute=DisputeParams(domain_separator=probe.cfg.domain_separator),
        )
        escrow = probe.state.globals().total_deposits
        client.call_tx(key, system.collateral, "mint", system.portal.address, escrow)
        client.seal_block()
        origin = read_block(system, system.deployment.block)
        l1_genesis = L1Ref(origin.number, origin.hash, origin.timestamp)
        data.mkdir(parents=True, exist_ok=True)
        (data / "deployment.json").write_text(system.deployment.to_json() + "\n")
    else:
        l1_genesis = L1Ref(0, keccak256(b"rollbook: no L1"), now)
    genesis, devnet = genesis_for(now, l1_genesis)
    if args.l1:
        anchor_game(
            system, key, block_output(genesis_block(genesis.state, l1_genesis), Mode.OPTIMISTIC)
        )
        client.seal_block()
    sequencer = bytes.fromhex(
        os.environ.get("ROLLBOOK_SEQUENCER_KEY", "").removeprefix("0x")
    ) or os.urandom(32)
    Node.init(data, genesis, sequencer)
    keys = {
        t.name: {
            "account": t.index,
            "trading_key": t.trading_key.hex(),
            "owner_key": t.owner_key.hex(),
            "owner": checksum(t.owner),
        }
        for t in devnet.world.traders.values()
    }
    (data / "devnet-keys.json").write_text(json.dumps(keys, indent=1) + "\n")
    print(f"node initialised in {data}: {len(keys)} devnet accounts, chain {CHAIN_ID}")
    return 0


async def run_node(args: argparse.Namespace) -> int:
    port: L1Port | None = None
    if args.l1:
        key = l1_key()
        deployment = Deployment.from_json((args.data / "deployment.json").read_text())
        client = L1Client.rpc(args.l1)
        port = ChainPort(bind(client, deployment), key, key)
    node = Node.open(
        args.data, block_ms=args.block_ms, l1=port, snapshot_every=args.snapshot_blocks
    )
    api = NodeApi(node)
    await node.start()
    api.start()
    runner, url = await serve(api.server.app(), args.port)
    print(f"listening on {url} (sequencer 0x{node.address.hex()}, seq {node.core.seq})", flush=True)
    await _until_signal()
    api.stop()
    await runner.cleanup()
    await node.stop()
    return 0


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM (Ctrl-C stops a server cleanly)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _until_signal() -> None:
    await stop_on_signals().wait()


def spawn(argv: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    """Start ``rollbook ARGV`` as a process and wait for its ``listening on URL`` line;
    returns the process and the URL (tests, benchmarks)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rollbook.cli", *argv],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("listening on "):
        process.kill()
        raise RuntimeError(f"`rollbook {' '.join(argv[:2])}` did not start: {line!r}")
    return process, line.split()[2]


async def run_verifier(args: argparse.Namespace) -> int:
    """Follow L1 alone from the genesis in ``--data``; serve the heads and alarms."""
    from rollbook.node.jsonrpc import Request, Server
    from rollbook.node.verifier import Verifier
    from rollbook.node.wal import Log

    log = Log(args.data / "node.db")
    genesis = log.get_meta("genesis")
    log.close()
    deployment = Deployment.from_json((args.data / "deployment.json").read_text())
    verifier = Verifier(bind(L1Client.rpc(args.l1), deployment), genesis)
    server = Server()

    async def status(params: dict[str, Any], req: Request) -> Any:
        return verifier.status()

    server.methods["rollbook_syncStatus"] = status
    runner, url = await serve(server.app(), args.port)
    print(f"listening on {url} (verifier of {args.l1})", flush=True)
    loop = asyncio.get_running_loop()
    stop = stop_on_signals()
    told = 0
    while not stop.is_set():
        try:
            await loop.run_in_executor(None, verifier.poll)
        except Exception as exc:  # L1 trouble: report and retry
            print(f"verifier: {type(exc).__name__}: {exc}", flush=True)
        for alarm in verifier.alarms[told:]:
            print(
                f"ALARM: output {alarm.output_index} (L2 block {alarm.l2_block}) proposed"
                f" 0x{alarm.proposed.hex()}, derived 0x{alarm.derived.hex()}",
                flush=True,
            )
        told = len(verifier.alarms)
        try:  # (asyncio.timeout: wait_for can swallow a cancellation on 3.11)
            async with asyncio.timeout(args.every):
                await stop.wait()
        except TimeoutError:
            pass
    await runner.cleanup()
    return 0


def cmd_gateway_init(args: argparse.Namespace) -> int:
    password = os.environ.get("ROLLBOOK_KEYSTORE_PASSWORD", "")
    key_hex = os.environ.get("ROLLBOOK_TRADING_KEY", "")
    if not password or not key_hex:
        raise SystemExit("set ROLLBOOK_TRADING_KEY (hex) and ROLLBOOK_KEYSTORE_PASSWORD")
    args.dir.mkdir(parents=True, exist_ok=True)
    write_keystore(args.dir / "keystore.json", bytes.fromhex(key_hex.removeprefix("0x")), password)
    creds = new_credentials()
    config = {
        "node": args.node,
        "account": args.account,
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
    }
    path = args.dir / "gateway.json"
    path.write_text(json.dumps(config, indent=1) + "\n")
    path.chmod(0o600)
    print(json.dumps({"client_id": creds.client_id, "client_secret": creds.client_secret}))
    return 0


async def run_gateway(args: argparse.Namespace) -> int:
    config = json.loads((args.dir / "gateway.json").read_text())
    password = os.environ.get("ROLLBOOK_KEYSTORE_PASSWORD", "")
    key = read_keystore(args.dir / "keystore.json", password)
    gw = Gateway(
        config["node"],
        TradingKey(key, int(config["account"])),
        Credentials(config["client_id"], config["client_secret"]),
    )
    await gw.start()
    runner, url = await serve(gw.server.app(), args.port)
    print(f"listening on {url} (account {config['account']}, node {config['node']})", flush=True)
    await _until_signal()
    await runner.cleanup()
    await gw.stop()
    return 0


def main(argv: list[str], program: str) -> int:
    parser = argparse.ArgumentParser(prog=f"rollbook {program}")
    sub = parser.add_subparsers(dest="command", required=True)
    if program == "node":
        init = sub.add_parser("init", help="create a devnet genesis (and deploy on --l1)")
        init.add_argument("--data", type=Path, required=True)
        init.add_argument("--l1", default="", help="a JSON-RPC URL to deploy on and follow")
        init.add_argument("--challenge-window", type=int, default=60)
        run = sub.add_parser("run", help="recover and serve the node")
        run.add_argument("--data", type=Path, required=True)
        run.add_argument("--port", type=int, default=0)
        run.add_argument(
            "--block-ms",
            type=int,
            default=1000,
            help="seal a block this often (0: only the first block opens)",
        )
        run.add_argument(
            "--snapshot-blocks",
            type=int,
            default=600,
            help="snapshot the sequencer every this many blocks",
        )
        run.add_argument("--l1", default="", help="the JSON-RPC URL of the deployment's L1")
        verify = sub.add_parser("verify", help="follow L1 alone and check every root")
        verify.add_argument("--data", type=Path, required=True, help="holds the genesis")
        verify.add_argument("--l1", required=True, help="the deployment's JSON-RPC URL")
        verify.add_argument("--port", type=int, default=0)
        verify.add_argument("--every", type=float, default=1.0, help="seconds between polls")
        args = parser.parse_args(argv)
        if args.command == "init":
            return cmd_init(args)
        if args.command == "verify":
            return asyncio.run(run_verifier(args))
        return asyncio.run(run_node(args))
    init = sub.add_parser("init", help="create the keystore and API credentials")
    init.add_argument("--dir", type=Path, required=True)
    init.add_argument("--node", required=True, help="the node's URL")
    init.add_argument("--account", type=int, required=True)
    run = sub.add_parser("run", help="serve the gateway")
    run.add_argument("--dir", type=Path, required=True)
    run.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "init":
        return cmd_gateway_init(args)
    return asyncio.run(run_gateway(args))
