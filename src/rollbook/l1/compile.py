"""Compile the Vyper contracts from source (the `vyper` package, pinned).

Each contract pins its compiler and EVM version in its pragmas (``# pragma version
0.4.3``, ``# pragma evm-version prague``). :func:`compiled` returns the ABI, the
deploy bytecode and the SHA-256 of the source, which the deployment record keeps, so
anyone can check a deployed contract against the source in this repository.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import vyper

CONTRACTS = Path(__file__).resolve().parent / "contracts"
NAMES = (
    "Collateral",
    "DepositSteps",
    "AccountSteps",
    "MarginSteps",
    "OracleSteps",
    "NormalTable0",
    "NormalTable1",
    "NormalTable2",
    "Black76",
    "StepExecutor",
    "DisputeGame",
    "OutputOracle",
    "BatchInbox",
    "Portal",
    "Timelock",
)


@dataclass(frozen=True)
class Compiled:
    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    runtime: bytes
    source_sha256: str


def source_path(name: str) -> Path:
    path = CONTRACTS / f"{name}.vy"
    if not path.is_file():
        raise FileNotFoundError(f"no contract {name!r} in {CONTRACTS}")
    return path


@cache
def compiled(name: str) -> Compiled:
    """Compile contract ``name`` (cached per process)."""
    path = source_path(name)
    source = path.read_text()
    out = vyper.compile_code(
        source,
        contract_path=str(path),
        output_formats=["abi", "bytecode", "bytecode_runtime"],
    )
    return Compiled(
        name,
        out["abi"],
        bytes.fromhex(out["bytecode"].removeprefix("0x")),
        bytes.fromhex(out["bytecode_runtime"].removeprefix("0x")),
        hashlib.sha256(source.encode()).hexdigest(),
    )
