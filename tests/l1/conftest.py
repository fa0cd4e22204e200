"""Contract tests run on titanoboa's in-process EVM (py-evm), each in a snapshot."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import boa
import pytest

from rollbook.chain.blocks import Mode, output_version
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
FREEZE_DELAY = 600  # seconds after a forced tx is posted before it can freeze the system
CLAIM_PERIOD = 300  # seconds for escape claims after a freeze


@cache
def deployer_of(name: str) -> Any:
    """The compiled contract, once per test run (compiling is the slow part)."""
    return boa.load_partial(str(source_path(name)))


def load(name: str, *args: Any, **kwargs: Any) -> Any:
    return deployer_of(name).deploy(*args, **kwargs)


def deploy_executor(version: int, domain_separator: bytes) -> Any:
    """The one-step executor with every step family deployed so far (and the
    contracts they call)."""
    helpers: dict[str, Any] = {}
    for name in FAMILY_HELPERS:
        helpers[name] = load(name, *helper_args(name, helpers)).address
    families = [ZERO_ADDRESS] * FAMILY_SLOTS
    for index, name in FAMILY_CONTRACTS.items():
        families[index] = load(name, *family_args(name, domain_separator, helpers)).address
    return load("StepExecutor", version, families)


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


@pytest.fixture
def portal(usdc: Any, oracle: Any) -> Any:
    version = output_version(Mode.OPTIMISTIC)
    return load(
        "Portal", usdc.address, oracle.address, version, 10**15, 0, FREEZE_DELAY, CLAIM_PERIOD
    )


@pytest.fixture
def inbox(deployer: Any) -> Any:
    return load("BatchInbox", deployer)
