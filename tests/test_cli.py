"""The CLI: every benchmark prints one JSON object with the headline the issues require."""

from __future__ import annotations

import json

import pytest

from rollbook.cli import bench_names, main


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("matching", ["--ops", "3000", "--resting", "300", "--repeat", "1"]),
        ("stf", ["--fills", "300", "--repeat", "1"]),
        ("pricing", ["--options", "50", "--repeat", "1"]),
        ("margin", ["--chain", "5"]),
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
