"""Contract tests run on titanoboa's in-process EVM (py-evm), each in a snapshot."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

import boa
import pytest

from rollbook.chain.blocks import BatchSource, Mode, output_version
from rollbook.chain.trace import BlockTrace, TraceStep
from rollbook.codec.batch import frame
from rollbook.crypto.keccak import keccak256
from rollbook.exchange.steps import TX_LOAD
from rollbook.exchange.txs import Origin
from rollbook.l1.compile import source_path
from rollbook.l1.onestep import (
    FAMILY_CONTRACTS,
    FAMILY_HELPERS,
    FAMILY_SLOTS,
    family_args,
    helper_args,
)

ZERO_ADDRESS = "0x" + "00" * 20

WINDOW = 100  # seconds: the devnet's challenge window
FORCED_WITHDRAW = b"\x41" + bytes(4) + (1).to_bytes(8, "big") + bytes(4)
"""A forced tx the Portal takes: an unsigned Withdraw(account 0, amount 1, nonce 0)."""
FREEZE_DELAY = 600  # seconds after a forced tx is posted before it can freeze the system
CLAIM_PERIOD = 300  # seconds for escape claims after a freeze


@cache
def deployer_of(name: str) -> Any:
    """The compiled contract, once per test run (compiling is the slow part)."""
    return boa.load_partial(str(source_path(name)))


def contract_constant(contract: str, name: str) -> int:
    """An integer constant of a contract's source: ``NAME: constant(...) = 123``, or a
    sum or difference of numbers (``= 4096 - 21``)."""
    source = source_path(contract).read_text()
    found = re.search(rf"^{name}: constant\(u?int\d+\) = ([0-9 +-]+?)\s*(#.*)?$", source, re.M)
    assert found, f"{name} not in {contract}"
    terms = re.findall(r"([+-]?)\s*(\d+)", found.group(1))
    return sum(-int(number) if sign == "-" else int(number) for sign, number in terms)


def load(name: str, *args: Any, **kwargs: Any) -> Any:
    return deployer_of(name).deploy(*args, **kwargs)


def input_queue(entries: Sequence[tuple[bytes, int]] = ()) -> Any:
    """An ``InputQueue`` whose pushers are the test's account, holding ``entries``
    (block tx item, L1 block number) in order: the L1 inputs of a chain the tests
    derived from a simulated L1."""
    queue = load("InputQueue")
    queue.bind(boa.env.eoa, boa.env.eoa)
    number = boa.env.evm.patch.block_number
    for item, l1_block in entries:
        boa.env.evm.patch.block_number = l1_block
        queue.push(keccak256(item))
    boa.env.evm.patch.block_number = number
    return queue


def is_l1_load(step: TraceStep) -> bool:
    """A ``tx.load`` of an L1 tx (from the input queue)."""
    return step.name == TX_LOAD and step.item[:1] == bytes([Origin.L1])


def l1_loads(traces: Sequence[BlockTrace]) -> list[tuple[bytes, int]]:
    """Every L1 tx a chain traced from its first block loads, in order, each from the
    L1 block of its block's origin: the chain's input queue."""
    return [(s.item, t.inputs.l1_origin) for t in traces for s in t.steps if is_l1_load(s)]


def queue_for(traces: Sequence[BlockTrace]) -> Any:
    return input_queue(l1_loads(traces))


def inbox_for(sources: Sequence[BatchSource | None], queue: Any, chain_id: int = 901) -> Any:
    """A ``BatchInbox`` (the test's account its batcher) holding the batches of
    ``sources`` (a chain's blocks' sources: their records, in order from 0, each
    posted once), with no confirmation depth and no drift bound: the inbox of a chain
    the tests derived from a simulated L1 or built."""
    inbox = load("BatchInbox", boa.env.eoa, queue.address, chain_id, 0, 1 << 62, 600)
    number = boa.env.evm.patch.block_number
    posted: dict[int, bytes] = {}
    for source in sources:
        if source is not None and source.record not in posted:
            posted[source.record] = source.head + b"".join(frame(i) for i in source.items)
    assert sorted(posted) == list(range(len(posted))), "the records are not 0, 1, ..."
    boa.env.evm.patch.block_number = 1 << 40  # every origin is deep enough
    for record in range(len(posted)):
        inbox.post(posted[record])
    boa.env.evm.patch.block_number = number
    return inbox


def deploy_executor(
    version: int, domain_separator: bytes, queue: Any = None, sources: Sequence[Any] = ()
) -> Any:
    """The one-step executor with every step family deployed so far (and the
    contracts they call), loading L1 txs from ``queue`` (default: an empty one) and
    sequenced txs from an inbox of the batches of ``sources`` (blocks' sources, or
    traces with one)."""
    helpers: dict[str, Any] = {}
    for name in FAMILY_HELPERS:
        helpers[name] = load(name, *helper_args(name, helpers)).address
    families = [ZERO_ADDRESS] * FAMILY_SLOTS
    for index, name in FAMILY_CONTRACTS.items():
        families[index] = load(name, *family_args(name, domain_separator, helpers)).address
    if queue is None:
        queue = input_queue()
    inbox = inbox_for([getattr(s, "source", s) for s in sources], queue)
    decoder = load("BatchDecoder")
    return load("StepExecutor", version, families, queue.address, inbox.address, decoder.address)


def events(contract: Any, name: str) -> list[Any]:
    """The decoded logs named ``name`` of the last call."""
    return [e for e in contract.get_logs() if type(e).__name__ == name]


def address(raw: bytes) -> str:
    return "0x" + raw.hex()


@pytest.fixture(autouse=True)
def isolated() -> Iterator[None]:
    with boa.env.anchor():
        yield


@pytest.fixture
def deployer() -> Any:
    return boa.env.eoa


@pytest.fixture
def usdc() -> Any:
    return load("Collateral", "USD Coin", "USDC")


@pytest.fixture
def oracle(deployer: Any) -> Any:
    return load("OutputOracle", deployer, 0, WINDOW, deployer)


def load_portal(*args: Any) -> Any:
    """A Portal (constructor ``args`` but its queue) with its own ``InputQueue``, whose
    other pusher (the Timelock's place) is the test's account."""
    queue = load("InputQueue")
    portal = load("Portal", *args, queue.address)
    queue.bind(portal.address, boa.env.eoa)
    return portal


def load_timelock(governor: Any, delay: int) -> Any:
    """A Timelock with its own ``InputQueue`` (the Portal's place: the test's account)."""
    queue = load("InputQueue")
    timelock = load("Timelock", governor, delay, queue.address)
    queue.bind(boa.env.eoa, timelock.address)
    return timelock


@pytest.fixture
def portal(usdc: Any, oracle: Any) -> Any:
    version = output_version(Mode.OPTIMISTIC)
    return load_portal(usdc.address, oracle.address, version, 10**15, 0, FREEZE_DELAY, CLAIM_PERIOD)


INBOX_CHAIN, INBOX_DEPTH, INBOX_DRIFT, INBOX_WINDOW = 901, 4, 1800, 600


@pytest.fixture
def inbox(deployer: Any) -> Any:
    queue = input_queue()
    return load(
        "BatchInbox", deployer, queue.address, INBOX_CHAIN, INBOX_DEPTH, INBOX_DRIFT, INBOX_WINDOW
    )
