"""Anvil, the local Ethereum node from Foundry, installed from npm and run on request.

``make devnet`` / ``make test`` install the pinned ``@foundry-rs/anvil`` (its binary
arrives through the optional dependency ``@foundry-rs/anvil-linux-amd64``; never
install with ``--omit=optional``). :class:`Anvil` starts it on 127.0.0.1 on a free
port with manual mining (the client mines each block at its slot's timestamp, as on
the embedded EVM) and Prague rules, and stops it when done.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

REPO = Path(__file__).resolve().parents[3]
BINARY = REPO / "node_modules" / ".bin" / "anvil"
# Anvil's first default account (mnemonic "test test ... junk"): funded at genesis.
FAUCET_KEY = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")


class AnvilError(Exception):
    """Anvil is not installed or did not start."""


def available() -> bool:
    return BINARY.exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Anvil:
    """A running Anvil node (a context manager that stops it)."""

    def __init__(
        self, genesis_time: int | None = None, chain_id: int = 31337, block_time: int = 0
    ) -> None:
        """``block_time`` 0: mine only on request (the slot clock); otherwise mine a
        block every ``block_time`` seconds, like a network (``rollbook l1 deploy``)."""
        if not available():
            raise AnvilError(f"anvil is not installed at {BINARY}: run `make setup` (npm install)")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                str(BINARY),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                *(["--no-mining"] if block_time == 0 else ["--block-time", str(block_time)]),
                "--hardfork",
                "prague",
                *(["--timestamp", str(genesis_time)] if genesis_time is not None else []),
                "--chain-id",
                str(chain_id),
                "--silent",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise AnvilError(f"anvil exited at start: {err.strip()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise AnvilError("anvil did not open its port within 20 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Anvil:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
