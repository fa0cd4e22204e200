"""The deployed system: its contracts, the deployment record, and derivation's view.

:func:`deploy` deploys Collateral (devnets), the step families, StepExecutor,
DisputeGame, OutputOracle, BatchInbox, Portal and Timelock (and the contracts the
families call: the normal CDF's table and the Black-76 pricer) and
returns a :class:`Deployment` — addresses, runtime code hashes, constructor arguments
and source checksums — that ``rollbook l1 deploy`` writes as JSON.

:func:`read_block` turns one L1 block into derivation's input
(:class:`rollbook.chain.l1.L1Block`): the Portal's ``Deposited`` and ``Forced`` logs and the
Timelock's ``GovernanceExecuted`` logs in log order, and the data of every batch the
inbox recorded, read from the posting tx's calldata.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from web3 import Web3
from web3.contract import Contract

from rollbook.chain.l1 import L1Block, L1Deposit, L1Forced, L1Governance, L1Input
from rollbook.crypto.keccak import keccak256
from rollbook.l1.client import FORK, L1Client, L1Error, raw_address
from rollbook.l1.compile import compiled
from rollbook.l1.onestep import (
    FAMILY_CONTRACTS,
    FAMILY_HELPERS,
    FAMILY_SLOTS,
    family_args,
    helper_args,
)

ZERO_ADDRESS = "0x" + "00" * 20


@dataclass(frozen=True)
class DisputeParams:
    """The dispute game's parameters (docs/design/fraud-proofs.md section 6)."""

    arity: int = 2
    clock: int = 300
    bond: int = 10**17
    domain_separator: bytes = bytes(32)
    """The L2's EIP-712 domain separator: the executor checks owners' signatures."""


@dataclass(frozen=True)
class InboxParams:
    """The chain's rules the batch inbox holds (rollbook.chain.derive.ChainConfig's:
    the chain id, the L1 origins' confirmation depth, the timestamps' drift bound, the
    inclusion window after which anyone forces an L1 input in)."""

    chain_id: int = 901
    depth: int = 4
    max_drift: int = 1800
    window: int = 600


@dataclass(frozen=True)
class Roles:
    """The keys of the system's operators (the deployer mints devnet collateral)."""

    deployer: bytes
    proposer: bytes
    batcher: bytes


@dataclass
class Deployment:
    """What was deployed where, and from which source."""

    chain_id: int
    fork: str
    block: int
    addresses: dict[str, str]
    code_hashes: dict[str, str]
    constructor_args: dict[str, list[Any]]
    source_sha256: dict[str, str]
    params: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Deployment:
        return cls(**json.loads(text))


@dataclass
class System:
    """A deployment with bound contract objects."""

    client: L1Client
    deployment: Deployment
    collateral: Contract
    oracle: Contract
    inbox: Contract
    portal: Contract
    timelock: Contract
    game: Contract
    executor: Contract
    queue: Contract


def deploy(
    client: L1Client,
    roles: Roles,
    timestamp: int,
    *,
    output_version: int,
    challenge_window: int,
    forced_fee: int,
    first_deposit_id: int = 0,
    required_bond: int = 0,
    governance_delay: int | None = None,
    freeze_delay: int | None = None,
    claim_period: int = 7 * 86_400,
    collateral: str | None = None,
    dispute: DisputeParams | None = None,
    chain: InboxParams | None = None,
) -> System:
    """Deploy the system in the L1 blocks that end with one mined at ``timestamp + 1``
    (as many as the contracts' gas needs, a second apart: :func:`_deploy_in_blocks`).

    ``freeze_delay`` defaults to the challenge window plus a day (the Portal requires
    it to exceed the window), ``governance_delay`` to the exit window (freeze delay +
    claim period). ``collateral`` is an existing ERC-20's address (6 decimals, like
    USDC); by default a devnet Collateral is deployed. The dispute game (#7) with its
    one-step executor and step families is deployed with it, at addresses
    computed in advance (the oracle names the game as its remover, the game the
    executor, the executor its families); ``dispute`` sets its parameters. The game
    takes its anchor — the genesis output root, which cites the deployment's L1 block —
    from :func:`anchor_game` once the L2 genesis is built on it; until then no game
    can be opened. The contracts the families call (``FAMILY_HELPERS``: the normal
    CDF's table and the Black-76 pricer, 60 KB of code) follow, before the Portal,
    also at computed addresses (a family calls them only when it executes a step).
    """
    if dispute is None:
        dispute = DisputeParams()
    if chain is None:
        chain = InboxParams()
    if freeze_delay is None:
        freeze_delay = challenge_window + 86_400
    if governance_delay is None:
        # At least the exit window: users who disagree with a change can leave first.
        governance_delay = freeze_delay + claim_period
    deployer = client.address_of(roles.deployer)
    proposer = client.address_of(roles.proposer)
    batcher = client.address_of(roles.batcher)
    names = ([] if collateral is not None else ["Collateral"]) + list(FAMILY_CONTRACTS.values())
    names += ["InputQueue", "BatchDecoder", "StepExecutor", "DisputeGame", "OutputOracle"]
    names += ["BatchInbox", "Timelock"]
    later = list(FAMILY_HELPERS)
    ahead = {name: client.next_address(roles.deployer, i) for i, name in enumerate(names + later)}
    families = [ZERO_ADDRESS] * FAMILY_SLOTS
    for index, family in FAMILY_CONTRACTS.items():
        families[index] = ahead[family]
    args: dict[str, list[Any]] = {
        "Collateral": ["USD Coin (rollbook devnet)", "USDC"],
        **{
            family: family_args(family, dispute.domain_separator, ahead)
            for family in FAMILY_CONTRACTS.values()
        },
        "InputQueue": [],
        "BatchDecoder": [],
        "StepExecutor": [
            output_version,
            families,
            ahead["InputQueue"],
            ahead["BatchInbox"],
            ahead["BatchDecoder"],
        ],
        "DisputeGame": [
            ahead["StepExecutor"],
            output_version,
            dispute.arity,
            dispute.clock,
            dispute.bond,
        ],
        "OutputOracle": [proposer, required_bond, challenge_window, ahead["DisputeGame"]],
        "BatchInbox": [
            batcher,
            ahead["InputQueue"],
            chain.chain_id,
            chain.depth,
            chain.max_drift,
            chain.window,
        ],
        "Timelock": [deployer, governance_delay, ahead["InputQueue"]],
    }
    helpers = {name: helper_args(name, ahead) for name in later}
    args = {name: args[name] for name in names}
    collateral_address = (
        Web3.to_checksum_address(collateral) if collateral is not None else ahead["Collateral"]
    )
    args |= helpers
    args["Portal"] = [
        collateral_address,
        ahead["OutputOracle"],
        output_version,
        forced_fee,
        first_deposit_id,
        freeze_delay,
        claim_period,
        ahead["InputQueue"],
    ]
    # The queue names its pushers once the Portal exists: the last block's last tx.
    portal = client.next_address(roles.deployer, len(names) + len(later))
    queue = client.contract("InputQueue", ahead["InputQueue"])
    pushers = (queue, "bind", portal, ahead["Timelock"])
    hashes = _deploy_in_blocks(client, roles.deployer, args, timestamp + 1, then=[pushers])
    addresses = {
        name: client.receipt(h)["contractAddress"] for name, h in hashes.items() if name != "bind"
    }
    if not client.receipt(hashes["bind"])["status"]:
        raise L1Error("the input queue did not accept its pushers")
    if any(addresses[n] != ahead[n] for n in names + later):
        raise L1Error("a contract did not land at its computed address")
    addresses["Collateral"] = collateral_address
    deployment = Deployment(
        chain_id=client.chain_id,
        fork=FORK,
        block=client.head(),
        addresses=addresses,
        code_hashes={n: "0x" + client.code_hash(a).hex() for n, a in addresses.items()},
        constructor_args={n: [str(x) for x in a] for n, a in args.items()},
        source_sha256={n: compiled(n).source_sha256 for n in args},
        params={
            "output_version": output_version,
            "challenge_window": challenge_window,
            "forced_fee": forced_fee,
            "first_deposit_id": first_deposit_id,
            "governance_delay": governance_delay,
            "freeze_delay": freeze_delay,
            "claim_period": claim_period,
            "dispute_arity": dispute.arity,
            "dispute_clock": dispute.clock,
            "dispute_bond": dispute.bond,
        },
    )
    return bind(client, deployment)


BLOCK_GAS_SHARE = 0.9
"""Of a block's gas limit, what the deployment's txs may ask for in one block (the
limit drifts from block to block)."""


def _deploy_in_blocks(
    client: L1Client,
    deployer: bytes,
    args: dict[str, list[Any]],
    last: int,
    then: Sequence[tuple[Any, ...]] = (),
) -> dict[str, bytes]:
    """Send the deployments in ``args``' order (their addresses were computed from
    it), as many to a block as its gas limit takes, the last block mined at ``last``
    and each earlier one a second before, then the calls ``then`` (contract, function,
    arguments) in the last block; returns the tx hashes by name (a call's by its
    function's)."""
    budget = int(client.block_gas_limit() * BLOCK_GAS_SHARE)
    txs = {name: client.deployment_tx(name, *a) for name, a in args.items()}
    blocks: list[list[str]] = [[]]
    used = 0
    for name, tx in txs.items():
        if used + tx["gas"] > budget and blocks[-1]:
            blocks.append([])
            used = 0
        blocks[-1].append(name)
        used += tx["gas"]
    hashes: dict[str, bytes] = {}
    for k, names in enumerate(blocks):
        client.open_block(last - (len(blocks) - 1 - k))
        for name in names:
            hashes[name] = client.send(deployer, txs[name])
        if k == len(blocks) - 1:
            for contract, fn, *call_args in then:
                hashes[fn] = client.call_tx(deployer, contract, fn, *call_args)
        client.seal_block()
    return hashes


def anchor_game(system: System, deployer: bytes, genesis_root: bytes) -> bytes:
    """Send the deployer's one call that names the oracle and the genesis output root
    to the dispute game (mined with the caller's next block); returns the tx hash."""
    oracle = system.deployment.addresses["OutputOracle"]
    return system.client.call_tx(deployer, system.game, "bind", oracle, genesis_root)


def bind(client: L1Client, deployment: Deployment) -> System:
    a = deployment.addresses
    return System(
        client,
        deployment,
        client.contract("Collateral", a["Collateral"]),
        client.contract("OutputOracle", a["OutputOracle"]),
        client.contract("BatchInbox", a["BatchInbox"]),
        client.contract("Portal", a["Portal"]),
        client.contract("Timelock", a["Timelock"]),
        client.contract("DisputeGame", a["DisputeGame"]),
        client.contract("StepExecutor", a["StepExecutor"]),
        client.contract("InputQueue", a["InputQueue"]),
    )


def read_block(system: System, number: int) -> L1Block:
    """L1 block ``number`` as derivation reads it (one header and one log query)."""
    client = system.client
    block = client.block(number)
    deposited = system.portal.events.Deposited()
    forced = system.portal.events.Forced()
    posted = system.inbox.events.BatchPosted()
    forced_batch = system.inbox.events.ForcedBatch()
    executed = system.timelock.events.GovernanceExecuted()
    topics = {
        _topic(system.timelock, "GovernanceExecuted"): executed,
        _topic(system.portal, "Deposited"): deposited,
        _topic(system.portal, "Forced"): forced,
        _topic(system.inbox, "BatchPosted"): posted,
        _topic(system.inbox, "ForcedBatch"): forced_batch,
    }
    block_hash = bytes(block["hash"])
    logs = client.w3.eth.get_logs(
        {
            "fromBlock": number,
            "toBlock": number,
            "address": [system.portal.address, system.inbox.address, system.timelock.address],
        }
    )
    # Every log must come from the header's block: a reorg between the two reads would
    # otherwise mix two forks' data (eth-tester has no blockHash filter to ask for it).
    if any(bytes(log["blockHash"]) != block_hash for log in logs):
        raise L1Error(f"L1 block {number} changed while it was read (a reorg): read it again")
    inputs: list[L1Input] = []
    batches: list[bytes] = []
    # In execution order, which is the input queue's: (tx, log) — some nodes number
    # logs per tx, not per block.
    for log in sorted(logs, key=lambda entry: (entry["transactionIndex"], entry["logIndex"])):
        event = topics.get(bytes(log["topics"][0]))
        if event is None:
            continue
        args = event.process_log(log)["args"]
        if event is deposited:
            recipient = raw_address(args["recipient"])
            inputs.append(L1Deposit(args["deposit_id"], recipient, args["amount"]))
        elif event is forced:
            inputs.append(L1Forced(raw_address(args["sender"]), bytes(args["data"])))
        elif event is executed:
            inputs.append(L1Governance(bytes(args["data"])))
        elif event is forced_batch:
            batches.append(bytes(args["data"]))  # rule 4: its head is in the log
        else:
            data = _batch_data(system, log)
            if data is None or keccak256(data) != bytes(args["data_hash"]):
                raise L1Error(
                    f"L1 block {number}: a batch posted through {log['transactionHash'].hex()}"
                    " cannot be read from its calldata (the batcher must call the inbox directly)"
                )
            batches.append(data)
    return L1Block(
        number,
        block_hash,
        bytes(block["parentHash"]),
        int(block["timestamp"]),
        tuple(inputs),
        tuple(batches),
    )


def _batch_data(system: System, log: Any) -> bytes | None:
    """The batch bytes of an inbox post, from the posting tx's calldata (None if the tx
    did not call the inbox's ``post`` directly)."""
    tx = system.client.w3.eth.get_transaction(log["transactionHash"])
    if tx["blockHash"] != log["blockHash"] or tx["to"] != system.inbox.address:
        return None
    try:
        function, params = system.inbox.decode_function_input(tx["input"])
    except ValueError:
        return None
    if function.fn_name != "post":
        return None
    return bytes(params["data"])


def _topic(contract: Contract, name: str) -> bytes:
    """topic0 of event ``name``: keccak of its signature."""
    entries: list[dict[str, Any]] = [dict(e) for e in contract.abi]
    abi = next(e for e in entries if e.get("type") == "event" and e.get("name") == name)
    signature = f"{name}({','.join(i['type'] for i in abi['inputs'])})"
    return bytes(Web3.keccak(text=signature))
