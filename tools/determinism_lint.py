"""Determinism lint for rollbook's pure packages (ARCHITECTURE section 9).

The settlement STF and everything consensus depends on must give the same state root
on every run and every machine. Inside ``crypto/``, ``exchange/``, ``matching/``,
``commitment/``, ``codec/`` and ``chain/`` this lint refuses:

- imports of clocks, randomness and the environment (``time``, ``datetime``,
  ``random``, ``secrets``, ``uuid``, ``os``, ``sys``, ``socket``, ``threading``);
- floats: ``float`` as a name, float literals, and true division ``/`` (use ``//``
  or ``numeric.mul_div`` with a named rounding);
- ``hash()`` (salted per process for str and bytes);
- iteration over a set: ``for``/comprehensions over a set literal, a set
  comprehension, or a ``set(...)``/``frozenset(...)`` call;
- ``open()``, ``print()`` and ``input()`` (no I/O).

Exit status 1 with one line per finding, 0 when clean.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PURE = ("crypto", "exchange", "matching", "commitment", "codec", "chain")
BANNED_MODULES = {
    "time",
    "datetime",
    "random",
    "secrets",
    "uuid",
    "os",
    "sys",
    "socket",
    "threading",
    "multiprocessing",
    "asyncio",
    "subprocess",
}
BANNED_CALLS = {"hash", "open", "print", "input", "float"}


def _is_set_expr(node: ast.AST) -> bool:
    if isinstance(node, ast.Set | ast.SetComp):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in {"set", "frozenset"}
    )


def check_source(source: str, filename: str) -> list[str]:
    """Return the findings for one file's source text."""
    findings: list[str] = []
    tree = ast.parse(source, filename)

    def report(node: ast.AST, what: str) -> None:
        findings.append(f"{filename}:{getattr(node, 'lineno', 0)}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in BANNED_MODULES:
                    report(node, f"import of {alias.name} (clock, randomness or I/O)")
        elif isinstance(node, ast.ImportFrom):
            if node.module and node.module.split(".")[0] in BANNED_MODULES:
                report(node, f"import from {node.module} (clock, randomness or I/O)")
        elif isinstance(node, ast.Constant) and isinstance(node.value, float):
            report(node, f"float literal {node.value!r}")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            report(node, "true division '/' yields a float; use // or mul_div")
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Div):
            report(node, "true division '/=' yields a float")
        elif isinstance(node, ast.Name) and node.id == "float":
            report(node, "the float type")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in BANNED_CALLS:
                report(node, f"call of {node.func.id}()")
        if isinstance(node, ast.For | ast.AsyncFor) and _is_set_expr(node.iter):
            report(node, "iteration over a set (order is not deterministic)")
        if isinstance(node, ast.comprehension) and _is_set_expr(node.iter):
            report(node, "comprehension over a set (order is not deterministic)")
    return findings


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1] / "src"
    findings: list[str] = []
    for package in PURE:
        for path in sorted((root / "rollbook" / package).rglob("*.py")):
            findings.extend(check_source(path.read_text(), str(path)))
    for line in findings:
        print(line)
    if findings:
        print(f"determinism lint: {len(findings)} finding(s)")
        return 1
    print("determinism lint: clean")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
