"""``rollbook devnet``: the whole rollup on one machine, driven over its own API.

1. L1: the contracts on the embedded EVM (py-evm) or on an Anvil node (``--l1 anvil``),
   mined on a 12-second slot clock by the devnet.
2. The node (sequencer, batcher, proposer) on 127.0.0.1, its data in a temporary
   directory; a gateway for one demo trader (Deribit API, CCXT-ready credentials).
3. The oracle feeder, market makers quoting the perpetual and the option chain, and
   takers, all SDK clients over the node's WebSocket API.
4. L1 users: a deposit, and a withdrawal on L2 that is proven and paid on L1 once an
   output root over it is final.
5. A live line every few seconds (L2 head, fills/s, batches, bytes per fill, L1 gas,
   proposed and final roots); at the end (``--duration`` or Ctrl-C) the batcher posts
   what is left, a fresh verifier derives the chain from L1 alone and must reach the
   node's block hashes, and the bridge must be whole (L1 escrow = what L2 owes).

``--speed X`` runs the devnet's clock X times faster than the wall clock (default
10), so a minute shows confirmations, the challenge window and withdrawals paid.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rollbook.chain.blocks import L2Block, output_version
from rollbook.chain.derive import ChainConfig, Deriver, genesis_block
from rollbook.chain.l1 import L1Deposit
from rollbook.exchange.audit import escrow_gap
from rollbook.exchange.numeric import QUOTE_ONE
from rollbook.l1.driver import EvmL1
from rollbook.node.api import NodeApi
from rollbook.node.cli import serve, stop_on_signals
from rollbook.node.devnet import (
    Feeder,
    MarketMaker,
    Stats,
    Taker,
    devnet_world,
    feed_forever,
    trade_forever,
)
from rollbook.node.faults import FAULTS, Disputes, FaultyPort
from rollbook.node.gateway import Gateway, new_credentials, read_keystore, write_keystore
from rollbook.node.l1port import DevnetPort
from rollbook.node.service import Genesis, Node
from rollbook.node.verifier import Verifier
from rollbook.sdk import Client, RpcError, TradingKey, bridge

CHALLENGE_WINDOW = 60
DISPUTE_CLOCK = 7_200
"""Each side's chess clock, in devnet seconds: at ×10 a side has 12 minutes of wall
time for its ~22 moves, each of which waits for the challenger's derivation and
tracing on a busy two-core machine (a 300-second clock lost an honest challenger a
game on time under load)."""
CHAIN_ID = 901


@dataclass
class Devnet:
    args: argparse.Namespace
    start: int = field(default_factory=lambda: int(time.time()))
    real: float = field(default_factory=time.monotonic)
    summary: dict[str, Any] = field(default_factory=dict)
    paid: int = 0
    disputes: Disputes | None = None

    def clock(self) -> float:
        return self.start + (time.monotonic() - self.real) * float(self.args.speed)


async def run(args: argparse.Namespace) -> int:
    d = Devnet(args)
    devnet = devnet_world(d.start)
    world = devnet.world
    state = world.state.copy()
    cfg = ChainConfig(CHAIN_ID, world.separator)
    glob = state.globals()
    make = EvmL1.anvil if args.l1 == "anvil" else EvmL1.embedded
    l1 = make(
        d.start,
        output_version=output_version(cfg.mode),
        challenge_window=CHALLENGE_WINDOW,
        first_deposit_id=glob.next_deposit_id,
        domain_separator=world.separator,
        dispute_clock=DISPUTE_CLOCK,
        chain=cfg,
    )
    try:
        return await _run(d, devnet, state, cfg, l1)
    finally:
        l1.close()


async def _run(d: Devnet, devnet: Any, state: Any, cfg: ChainConfig, l1: EvmL1) -> int:
    args = d.args
    genesis_deposits = state.globals().total_deposits
    l1.back_genesis(genesis_deposits)
    users = devnet.takers
    l1.add_owners({t.owner: t.owner_key for t in users})
    grid = {}
    for key in state.keys_of_kind("inst"):
        if isinstance(key[1], int):
            inst = state.instrument(key[1])
            grid[key[1]] = (inst.tick, inst.lot)
    genesis = Genesis(state, cfg, l1.genesis_ref, grid)
    l1.anchor(genesis_block(state, l1.genesis_ref))
    with tempfile.TemporaryDirectory(prefix="rollbook-devnet-") as tmp:
        data = Path(tmp) / "node"
        Node.init(data, genesis, secrets.token_bytes(32))
        lies: dict[bytes, Any] = {}
        port = (
            # (a deposit is credited early: its lie starts with the first root)
            FaultyPort(
                l1,
                genesis=genesis,
                fault=args.fault,
                at=1 if args.fault == "skipped-deposit" else 3,
                lies=lies,
            )
            if args.fault
            else DevnetPort(l1)
        )
        node = Node.open(data, block_ms=250, l1=port, clock=d.clock)
        if isinstance(port, FaultyPort):
            port.blocks = lambda: node.core.builder.blocks
            # The defender traces the chain as L1 holds it (each block with its batch).
            view = Deriver(cfg, genesis.state, l1.genesis_ref)

            def posted() -> list[L2Block]:
                view.update(l1.blocks)
                return view.blocks

            d.disputes = Disputes(l1, genesis, posted, lies)
        api = NodeApi(node)
        await node.start(l1_every=0.2)
        api.start()
        runner, url = await serve(api.server.app(), args.port)
        gw, gw_runner, gw_url, creds = await _gateway(Path(tmp), url, devnet.takers[0], args)
        print(
            f"rollbook devnet: L1 {'Anvil' if l1.node else 'embedded py-evm'}"
            f" (portal {l1.system.portal.address}), clock ×{args.speed}"
        )
        print(f"  node     {url}  (JSON-RPC /api/v2, WebSocket /ws/api/v2)")
        print(
            f"  gateway  {gw_url}  account {devnet.takers[0].index}:"
            f" client_id {creds.client_id} client_secret {creds.client_secret}"
        )
        print(
            f"  ccxt     ccxt.deribit({{'apiKey': '{creds.client_id}', 'secret': '...',"
            f" 'urls': {{'api': {{'rest': '{gw_url}'}}}}}})"
        )
        try:
            code = await _session(d, node, url, devnet, l1, genesis, genesis_deposits)
        finally:
            await gw_runner.cleanup()
            await gw.stop()
            api.stop()
            await runner.cleanup()
            await node.stop()
    if args.summary:
        Path(args.summary).write_text(json.dumps(d.summary, indent=1) + "\n")
        print(f"summary written to {args.summary}")
    return code


async def _gateway(tmp: Path, url: str, trader: Any, args: argparse.Namespace) -> Any:
    password = secrets.token_hex(8)
    keystore = tmp / "keystore.json"
    write_keystore(keystore, trader.trading_key, password)
    creds = new_credentials()
    gw = Gateway(url, TradingKey(read_keystore(keystore, password), trader.index), creds)
    await gw.start()
    runner, gw_url = await serve(gw.server.app(), args.gateway_port)
    return gw, runner, gw_url, creds


async def _session(
    d: Devnet, node: Node, url: str, devnet: Any, l1: EvmL1, genesis: Genesis, genesis_deposits: int
) -> int:
    args = d.args
    loop = asyncio.get_running_loop()

    def on_l1(fn: Any, *a: Any) -> Any:
        return loop.run_in_executor(node._l1_io, fn, *a)

    stats = Stats()
    rng = random.Random(args.seed)
    clients: list[Client] = []

    async def connect(trader: Any) -> tuple[Client, TradingKey]:
        client = Client(url)
        await client.open()
        await client.connect()
        key = TradingKey(trader.trading_key, trader.index)
        await key.attach(client)
        clients.append(client)
        return client, key

    feeder = Feeder(devnet, seed=args.seed)
    feed_client, _ = await connect(devnet.makers[0])
    makers = []
    for i, trader in enumerate(devnet.makers):
        c, k = await connect(trader)
        makers.append(MarketMaker(c, k, stats, random.Random(rng.random()), spread_ticks=2 + i))
    c, k = await connect(devnet.option_maker)
    makers.append(MarketMaker(c, k, stats, random.Random(rng.random()), options=True))
    takers = []
    for trader in devnet.takers:
        c, k = await connect(trader)
        takers.append(Taker(c, k, stats, random.Random(rng.random())))

    stop = stop_on_signals()
    tasks = [asyncio.ensure_future(feed_forever(feed_client, feeder))]
    await asyncio.sleep(0.5)
    tasks.append(asyncio.ensure_future(trade_forever(makers, takers, feeder, every=0.1)))
    if d.disputes is not None:
        tasks.append(asyncio.ensure_future(_dispute_forever(d.disputes, on_l1)))
    depositor, withdrawer = devnet.takers[1], devnet.takers[2]
    await on_l1(
        bridge.deposit, l1.system, depositor.owner_key, 1_000 * QUOTE_ONE, l1.roles.deployer
    )
    withdrawal: dict[str, Any] = {}
    started = time.monotonic()
    last_print = started
    fills_before = 0
    while not stop.is_set() and time.monotonic() - started < args.duration:
        await asyncio.sleep(0.2)
        elapsed = time.monotonic() - started
        if not withdrawal and elapsed > args.duration / 4:
            withdrawal = await _withdraw(feed_client, withdrawer, devnet.world.separator)
        if withdrawal and "paid" not in withdrawal:
            await _claim(on_l1, feed_client, l1, withdrawal)
            d.paid += withdrawal.get("paid", 0)
        if time.monotonic() - last_print >= 3:
            status = await feed_client.call("rollbook_syncStatus")
            costs = await feed_client.call("rollbook_costs")
            fills = status["fills"]
            rate = (fills - fills_before) / (time.monotonic() - last_print)
            fills_before, last_print = fills, time.monotonic()
            final = await on_l1(_final_count, l1)
            print(
                f"  L2 {status['unsafe_l2']:5d}  fills {fills:6d} ({rate:5.0f}/s)  batches"
                f" {costs['batches']:3d} ({costs['batch_bytes'] / max(fills, 1):5.1f} B/fill)"
                f"  L1 gas {costs['l1_gas']:>11,}  roots {costs['proposals']} proposed,"
                f" {final} final",
                flush=True,
            )
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for client in clients:
        await client.close()
    return await _finish(d, node, l1, genesis, genesis_deposits, stats, on_l1, withdrawal)


async def _withdraw(client: Client, trader: Any, separator: bytes) -> dict[str, Any]:
    acct = await client.call("rollbook_getAccount", account=trader.index)
    amount = 100 * QUOTE_ONE
    tx = bridge.withdraw_tx(
        trader.index, amount, acct["rollbook_tx_nonce"], trader.owner_key, separator
    )
    try:
        sent = await client.send_tx(tx)
    except RpcError as exc:
        print(f"  withdrawal refused: {exc}")
        return {"failed": True}
    recorded = await client.call("rollbook_getWithdrawals", account=trader.index)
    print(f"  withdrawal of $100 from account {trader.index} in L2 block {sent['block']}")
    return {"block": sent["block"], "amount": amount, "id": recorded[-1]["withdrawal_id"]}


async def _claim(on_l1: Any, client: Client, l1: EvmL1, w: dict[str, Any]) -> None:
    if w.get("failed"):
        return
    found = await on_l1(bridge.final_output, l1.system, w["block"])
    if found is None:
        return
    index, output = found
    try:
        proof = await client.call(
            "rollbook_proveWithdrawal", block=output["l2_block"], withdrawal_id=w["id"]
        )
    except RpcError:
        return
    await on_l1(bridge.claim, l1.system, l1.roles.deployer, index, proof)
    w["paid"] = w["amount"]
    print(
        f"  withdrawal {w['id']} proven against final root {index}"
        f" (L2 block {output['l2_block']}) and paid on L1"
    )


async def _dispute_forever(disputes: Disputes, on_l1: Any, every: float = 0.5) -> None:
    """The challenger and the proposer play every game due, in the L1 thread."""
    while True:
        try:
            await on_l1(disputes.step)
        except Exception as exc:  # an L1 hiccup: report and go on with the next round
            print(f"  dispute step failed: {type(exc).__name__}: {exc}", flush=True)
        await asyncio.sleep(every)


async def _settle_disputes(disputes: Disputes, on_l1: Any, timeout: float = 300.0) -> None:
    """Play on until no game is open (or ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await on_l1(disputes.step)
        games = await on_l1(disputes.report)
        if games and all(g["winner"] != "open" for g in games):
            return
        await asyncio.sleep(0.5)


def _final_count(l1: EvmL1) -> int:
    client, oracle = l1.client, l1.system.oracle
    count = int(client.read(oracle, "count"))
    return sum(1 for i in range(count) if client.read(oracle, "is_final", i))


async def _finish(
    d: Devnet,
    node: Node,
    l1: EvmL1,
    genesis: Genesis,
    genesis_deposits: int,
    stats: Stats,
    on_l1: Any,
    withdrawal: dict[str, Any],
) -> int:
    """Let the batcher post the rest, then verify from L1 and check the bridge."""
    disputes: list[dict[str, Any]] = []
    if d.disputes is not None:
        await _settle_disputes(d.disputes, on_l1)
        disputes = await on_l1(d.disputes.report)
    head = node.core.builder.blocks[-1].number
    verifier = Verifier(l1.system, genesis)
    deadline = time.monotonic() + 60
    while True:  # until L1 holds (and the verifier derived) every block up to the head
        await on_l1(verifier.poll)
        if verifier.deriver.head.number >= head or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.3)
    blocks = node.core.builder.blocks
    derived = verifier.deriver.head
    same = derived.number < len(blocks) and blocks[derived.number].hash == derived.hash
    glob = node.core.state.globals()
    on_l1_deposits = sum(i.amount for b in l1.blocks for i in b.inputs if isinstance(i, L1Deposit))
    escrow = await on_l1(l1.escrow)
    gap = escrow_gap(node.core.state, genesis_deposits, on_l1_deposits, d.paid, escrow)
    costs = node.costs
    # A fault run is right when every lie lost and every honest root stood.
    disputes_ok = all((g["winner"] == "challenger") == g["lie"] for g in disputes)
    if d.args.fault:
        disputes_ok = disputes_ok and any(g["lie"] for g in disputes)
    ok = same and not verifier.alarms and gap == 0 and derived.number >= head and disputes_ok
    d.summary = {
        "l2_blocks": len(blocks) - 1,
        "fills": node.core.fill_count,
        "orders": stats.orders,
        "refused": stats.refused,
        "errors": {str(k): v for k, v in stats.errors.items()},
        "batches": costs.batches,
        "batch_bytes": costs.batch_bytes,
        "bytes_per_fill": round(costs.batch_bytes / max(node.core.fill_count, 1), 1),
        "l1_gas": costs.gas,
        "proposals": costs.proposals,
        "final_roots": await on_l1(_final_count, l1),
        "withdrawal_paid_on_l1": bool(withdrawal.get("paid")),
        "fees_usdc": glob.fees / QUOTE_ONE,
        "verifier_head": derived.number,
        "verifier_match": same,
        "verifier_alarms": len(verifier.alarms),
        "escrow_gap": gap,
        "fault": d.args.fault or None,
        "disputes": disputes,
        "state_root": "0x" + blocks[-1].header.state_root.hex(),
        "ok": ok,
    }
    s = d.summary
    print("summary:")
    print(
        f"  L2 chain           {s['l2_blocks']} blocks, {s['fills']} fills of {s['orders']}"
        f" orders ({s['refused']} refused: {s['errors']})"
    )
    print(
        f"  L1                 {s['batches']} batches, {s['batch_bytes']:,} bytes"
        f" ({s['bytes_per_fill']} B/fill), {s['l1_gas']:,} gas; {s['proposals']} roots"
        f" proposed, {s['final_roots']} final"
    )
    print(f"  fees earned        ${s['fees_usdc']:,.2f}")
    print(f"  withdrawal         {'paid on L1' if s['withdrawal_paid_on_l1'] else 'not yet final'}")
    print(f"  escrow gap         {gap} (must be 0)")
    print(
        f"  verifier (from L1) block {derived.number} 0x{derived.hash.hex()[:16]}…"
        f" {'MATCH' if same else 'MISMATCH'}, {len(verifier.alarms)} alarms"
    )
    for g in disputes:
        claim = "a lie" if g["lie"] else "an honest root"
        print(
            f"  dispute            game {g['game']}: output {g['output']} ({claim},"
            f" {g['blocks']} blocks), {g['rounds']} rounds, {g['winner']} won"
        )
    return 0 if ok else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="rollbook devnet")
    parser.add_argument("--duration", type=float, default=60.0, help="wall-clock seconds")
    parser.add_argument("--l1", choices=["embedded", "anvil"], default="embedded")
    parser.add_argument("--port", type=int, default=0, help="the node's port (0: any free)")
    parser.add_argument("--gateway-port", type=int, default=0)
    parser.add_argument(
        "--speed",
        type=float,
        default=10.0,
        help="the devnet clock runs this many times faster than the wall clock",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--fault",
        choices=FAULTS,
        default="",
        help="make the proposer lie (from its third root) so a dispute game can be watched",
    )
    parser.add_argument("--summary", default="", help="write the JSON summary to this file")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.speed <= 0:
        parser.error("--duration and --speed must be positive")
    # (asyncio reads any PYTHONASYNCIODEBUG value, "0" too, as debug mode: slow, and
    # it prints every slow callback; debug=False overrides it)
    return asyncio.run(run(args), debug=False)
