"""The CLI: every benchmark prints one JSON object with the headline the issues require."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rollbook.cli import bench_names, main


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("matching", ["--ops", "3000", "--resting", "300", "--repeat", "1"]),
        ("stf", ["--fills", "300", "--repeat", "1"]),
        ("pricing", ["--options", "50", "--repeat", "1"]),
        ("margin", ["--chain", "5"]),
        ("commitment", ["--fills", "600", "--traders", "50", "--block", "100", "--repeat", "1"]),
        ("codec", ["--fills", "400"]),
        ("gas", ["--fills", "200", "--withdrawals", "5"]),
    ],
)
def test_bench_prints_one_headline(
    name: str, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert name in bench_names()
    assert main(["bench", name, *args]) == 0
    result = json.loads(capsys.readouterr().out)
    headline = result["headline"]
    assert set(headline) == {"name", "value", "unit", "goal"}
    assert headline["name"] == name and headline["value"] > 0


def test_unknown_bench_is_a_clear_error() -> None:
    with pytest.raises(SystemExit, match="no benchmark named"):
        main(["bench", "nope"])


def test_vectors_command_writes_files(tmp_path: object) -> None:
    from pathlib import Path

    out = Path(str(tmp_path))
    assert main(["vectors", "--out", str(out)]) == 0
    assert (out / "manifest.json").is_file() and len(list(out.glob("*.json"))) > 10


def test_l1_deploy_writes_a_record_that_matches_the_sources(tmp_path: Path) -> None:
    from rollbook.crypto.keccak import keccak256
    from rollbook.l1.compile import NAMES, compiled

    out = tmp_path / "deployment.json"
    assert main(["l1", "deploy", "--out", str(out), "--challenge-window", "60"]) == 0
    record = json.loads(out.read_text())
    assert set(record["addresses"]) == set(NAMES)
    for name, code_hash in record["code_hashes"].items():
        # The code on chain is the code compiled from this repository's source.
        assert code_hash == "0x" + keccak256(compiled(name).runtime).hex(), name
        assert record["source_sha256"][name] == compiled(name).source_sha256
    assert record["params"]["challenge_window"] == 60
    assert record["fork"] == "prague"
