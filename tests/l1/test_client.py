"""The client on a node that mines by itself: writes wait for confirmations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rollbook.cli import main
from rollbook.crypto.keccak import keccak256
from rollbook.l1.anvil import FAUCET_KEY, Anvil
from rollbook.l1.compile import NAMES, compiled


def test_deploy_on_a_node_that_mines_every_second_waits_for_confirmations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Anvil(block_time=1) as node:
        monkeypatch.setenv("ROLLBOOK_L1_KEY", FAUCET_KEY.hex())
        out = tmp_path / "deployment.json"
        args = ["l1", "deploy", "--l1", node.url, "--out", str(out), "--confirmations", "2"]
        assert main(args) == 0
        record = json.loads(out.read_text())
    assert set(record["addresses"]) == set(NAMES)
    for name, code_hash in record["code_hashes"].items():
        assert code_hash == "0x" + keccak256(compiled(name).runtime).hex(), name
    # The mainnet preset's delays: freeze after the window, governance ≥ exit window.
    params = record["params"]
    assert params["freeze_delay"] > params["challenge_window"]
    assert params["governance_delay"] >= params["freeze_delay"] + params["claim_period"]


def test_a_missing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROLLBOOK_L1_KEY", raising=False)
    with pytest.raises(SystemExit):
        main(["l1", "deploy", "--l1", "http://127.0.0.1:9"])


def test_an_existing_erc20_can_be_the_collateral() -> None:
    from rollbook.chain.blocks import Mode, output_version
    from rollbook.l1.client import L1Client
    from rollbook.l1.system import Roles, deploy

    client = L1Client.embedded()
    faucet = client.faucet_key()
    now = int(client.block("latest")["timestamp"]) + 12
    client.open_block(now)
    token_tx = client.deploy("Collateral", faucet, "Existing USD", "EUSD")
    client.seal_block()
    token = client.receipt(token_tx)["contractAddress"]
    system = deploy(
        client,
        Roles(faucet, faucet, faucet),
        now + 12,
        output_version=output_version(Mode.OPTIMISTIC),
        challenge_window=60,
        forced_fee=0,
        collateral=token,
    )
    record = system.deployment
    assert record.addresses["Collateral"] == token
    assert client.read(system.portal, "collateral") == token
    assert "Collateral" not in record.source_sha256  # not ours: no source to check
    assert "Collateral" not in record.constructor_args
