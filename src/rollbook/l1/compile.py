"""Compile the Vyper contracts from source (the `vyper` package, pinned).

Each contract pins its compiler and EVM version in its pragmas (``# pragma version
0.4.3``, ``# pragma evm-version prague``). :func:`compiled` returns the ABI, the
deploy bytecode and the SHA-256 of the source, which the deployment record keeps, so
anyone can check a deployed contract against the source in this repository.
"""

from __future__ import annotations

import hashlib
import json
import os
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
    "TradingSteps",
    "LiquidationSteps",
    "ExpirySteps",
    "GovernanceSteps",
    "OracleSteps",
    "NormalTable0",
    "NormalTable1",
    "NormalTable2",
    "Black76",
    "LiquidationMoves",
    "InputQueue",
    "BatchDecoder",
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


def cache_dir() -> Path:
    """Where compiled contracts are kept between processes (``~/.cache/rollbook``):
    an artefact keyed by the content it was made from, never needed for correctness."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rollbook" / "vyper"


def _cache_key(name: str) -> str:
    """The compiler's version and every contract source (a contract imports modules
    from the same folder), hashed: any change compiles afresh."""
    digest = hashlib.sha256(vyper.__version__.encode() + name.encode())
    for path in sorted(CONTRACTS.glob("*.vy")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@cache
def compiled(name: str) -> Compiled:
    """Compile contract ``name`` (cached per process, and on disk by content hash: the
    system's contracts take ~40 s to compile, and every process that deploys them —
    `node init`, the devnet, a test's subprocess — would pay it)."""
    path = source_path(name)
    source = path.read_text()
    stored = cache_dir() / f"{name}-{_cache_key(name)}.json"
    try:
        out = json.loads(stored.read_text())
    except (OSError, ValueError):
        out = vyper.compile_code(
            source,
            contract_path=str(path),
            output_formats=["abi", "bytecode", "bytecode_runtime"],
        )
        try:
            stored.parent.mkdir(parents=True, exist_ok=True)
            partial = stored.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(json.dumps(out))
            partial.replace(stored)
        except OSError:
            pass  # no cache: compile each time
    return Compiled(
        name,
        out["abi"],
        bytes.fromhex(out["bytecode"].removeprefix("0x")),
        bytes.fromhex(out["bytecode_runtime"].removeprefix("0x")),
        hashlib.sha256(source.encode()).hexdigest(),
    )
