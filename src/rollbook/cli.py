"""The ``rollbook`` command line.

- ``rollbook devnet [--duration S] [--seed N]``: a simulated trading session through the
  matching engine and the STF (until the node of #6 exists), with a summary at the end.
- ``rollbook bench NAME [args]``: run benchmark ``bench/NAME.py``; prints one JSON
  object whose ``headline`` is ``{"name", "value", "unit", "goal"}``.
- ``rollbook vectors [--out DIR]``: write the STF test vectors.
- ``rollbook l1 deploy [--l1 embedded|URL] [--out FILE]``: deploy the L1 contracts and
  write the deployment record.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
BENCH_DIR = REPO / "bench"


def bench_names() -> list[str]:
    """The benchmarks available in ``bench/``."""
    if not BENCH_DIR.is_dir():
        return []
    return sorted(p.stem for p in BENCH_DIR.glob("*.py") if not p.stem.startswith("_"))


def load_bench(name: str) -> ModuleType:
    path = BENCH_DIR / f"{name}.py"
    if not path.is_file():
        known = ", ".join(bench_names()) or "none found"
        raise SystemExit(f"rollbook bench: no benchmark named {name!r} (known: {known})")
    spec = importlib.util.spec_from_file_location(f"rollbook_bench_{name}", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"rollbook bench: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cmd_bench(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: rollbook bench NAME [args]\nbenchmarks: " + ", ".join(bench_names()))
        return 0 if argv else 2
    result = load_bench(argv[0]).run(argv[1:])
    print(json.dumps(result))
    return 0


def cmd_devnet(argv: list[str]) -> int:
    from rollbook.node.devnet_run import main as devnet_main

    return devnet_main(argv)


def cmd_sim(argv: list[str]) -> int:
    from rollbook.sim.session import main as session_main

    return session_main(argv)


def cmd_vectors(argv: list[str]) -> int:
    from rollbook.sim.vectors import main as vectors_main

    code: int = vectors_main(argv)
    return code


def cmd_l1(argv: list[str]) -> int:
    from rollbook.l1.cli import main as l1_main

    return l1_main(argv)


def cmd_node(argv: list[str]) -> int:
    from rollbook.node.cli import main as node_main

    return node_main(argv, "node")


def cmd_gateway(argv: list[str]) -> int:
    from rollbook.node.cli import main as node_main

    return node_main(argv, "gateway")


COMMANDS = {
    "bench": cmd_bench,
    "devnet": cmd_devnet,
    "gateway": cmd_gateway,
    "l1": cmd_l1,
    "node": cmd_node,
    "sim": cmd_sim,
    "vectors": cmd_vectors,
}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="rollbook", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=sorted(COMMANDS))
    if not args or args[0] in ("-h", "--help"):
        parser.print_help()
        return 0 if args else 2
    if args[0] not in COMMANDS:
        parser.error(f"unknown command {args[0]!r}")
    return COMMANDS[args[0]](args[1:])


if __name__ == "__main__":
    sys.exit(main())
