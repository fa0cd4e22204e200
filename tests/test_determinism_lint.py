"""The determinism lint refuses what ARCHITECTURE section 9 forbids, and passes the tree."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location(
    "determinism_lint", ROOT / "tools" / "determinism_lint.py"
)
assert spec is not None and spec.loader is not None
lint = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lint)


@pytest.mark.parametrize(
    "source",
    [
        "import time\n",
        "from datetime import datetime\n",
        "import random\n",
        "from os import environ\n",
        "x = 1.5\n",
        "y = 3 / 2\n",
        "z = float(3)\n",
        "h = hash(b'x')\n",
        "for k in {1, 2}:\n    pass\n",
        "for k in set([1]):\n    pass\n",
        "xs = [k for k in frozenset((1,))]\n",
        "open('f')\n",
    ],
)
def test_lint_refuses(source: str) -> None:
    assert lint.check_source(source, "x.py"), source


def test_lint_accepts_integer_code() -> None:
    assert lint.check_source("a = 7 // 2\nb = {1: 2}\nfor k in b:\n    pass\n", "x.py") == []


def test_pure_packages_are_clean() -> None:
    assert lint.main(["lint", str(ROOT / "src")]) == 0
