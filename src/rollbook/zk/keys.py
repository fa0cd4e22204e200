"""Circuits, their keys and their proofs (ZK mode, issue #8; docs/design/zk.md).

A circuit is a circom 2 source in ``rollbook/zk/circuits/`` (its ``main`` component
last), compiled in process by groth16py (the circom compiler's crates, ``--O2``'s
simplification) against the circomlib it vendors. Its keys come from a **single-party
setup that is unsafe for real funds**: whoever ran it could forge proofs. It is what a
devnet needs; production imports a ceremony's key (``rollbook zk setup --ptau``, to
come). Keys are cached under ``~/.cache/rollbook/zk``, keyed by the SHA-256 of the
circuit's sources and the prover's version: an artefact, never needed for correctness
(a missing key is made again, with new toxic waste, and the verifier deployed with it).

:func:`prove` proves and then verifies its own proof: groth16py does not check that the
witness satisfies the constraints, so a bad witness (a forged signature, an
over-filled order) would otherwise come back as a proof that fails on L1.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

CIRCUITS = Path(__file__).resolve().parent / "circuits"
R = 21888242871839275222246405745257275088548364400416034343698204186575808495617
"""The order of BN254's scalar field: public inputs are below it."""


class ZkUnavailable(ImportError):
    """The ``rollbook[zk]`` extra (groth16py, GPL-3.0) is not installed."""


class ZkCacheError(Exception):
    """The key cache holds something this code did not write there."""


class CircuitError(Exception):
    """A circuit does not compile; the message holds the compiler's report."""


class Unprovable(Exception):
    """The witness does not satisfy the circuit: what it claims is not so."""


def _groth16() -> Any:
    try:
        import groth16py
    except ImportError as exc:  # pragma: no cover - make installs the extra
        raise ZkUnavailable(
            "ZK mode needs the zk extra: pip install 'rollbook[zk]' (make does this)"
        ) from exc
    return groth16py


@dataclass(frozen=True)
class CircuitKeys:
    """A circuit's proving and verifying keys (groth16py objects) and its digest."""

    name: str
    digest: str
    proving: Any
    verifying: Any
    constraints: int
    """The circuit's (non-linear) constraints, as the compiler counted them."""

    def verifier_args(self) -> list[Any]:
        """The verifying key as ``Groth16Verifier.vy``'s constructor arguments."""
        return verifier_args(json.loads(self.verifying.to_json()))


INCLUDE = re.compile(rb'^\s*include\s+"([^"]+)"\s*;', re.MULTILINE)


def _sources(name: str) -> list[Path]:
    """The circuit's file and every file of ours it includes, transitively (circomlib's
    are the prover's version)."""
    seen: dict[str, Path] = {}
    todo = [f"{name}.circom"]
    while todo:
        file = todo.pop()
        path = CIRCUITS / file
        if file in seen or not path.is_file():
            continue
        seen[file] = path
        todo += [m.decode() for m in INCLUDE.findall(path.read_bytes())]
    return [seen[file] for file in sorted(seen)]


CACHE_LAYOUT = b"keys+stats"
"""What a cache folder holds; part of the digest, so a change of it makes new folders."""


def circuit_digest(name: str) -> str:
    """SHA-256 of the cache's layout, the prover's version, the circuit's name and its
    sources."""
    digest = hashlib.sha256(
        CACHE_LAYOUT + b"\0" + _groth16().__version__.encode() + b"\0" + name.encode()
    )
    for path in _sources(name):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rollbook" / "zk"


@cache
def circuit_keys(name: str) -> CircuitKeys:
    """The keys of circuit ``name`` (``circuits/<name>.circom``), from the cache or a
    fresh dev setup."""
    groth16py = _groth16()
    source = CIRCUITS / f"{name}.circom"
    if not source.is_file():
        raise FileNotFoundError(f"no circuit {name!r} in {CIRCUITS}")
    digest = circuit_digest(name)
    folder = cache_dir() / f"{name}-{digest[:16]}"
    if not (folder / "proving.key").is_file():
        # A fresh setup goes to a folder of its own, renamed into place whole: of two
        # processes that set up at once, one wins and the other loads the winner's
        # keys, so a proving key is never paired with another setup's verifying key.
        folder.parent.mkdir(parents=True, exist_ok=True)
        fresh = Path(tempfile.mkdtemp(prefix=f"{folder.name}.", dir=folder.parent))
        try:
            proving, verifying, constraints = _setup(groth16py, source, fresh / "compiler.log")
        except BaseException:
            shutil.rmtree(fresh, ignore_errors=True)
            raise
        (fresh / "verification_key.json").write_text(verifying.to_json())
        (fresh / "stats.json").write_text(json.dumps({"constraints": constraints}))
        proving.save(str(fresh / "proving.key"))
        try:
            fresh.rename(folder)
        except OSError:  # another process put its keys there first
            shutil.rmtree(fresh, ignore_errors=True)
        else:
            return CircuitKeys(name, digest, proving, verifying, constraints)
        if not (folder / "proving.key").is_file():
            # Never ours (a folder lands whole), and deleting it could delete another
            # process's keys as they land: the user removes it.
            raise ZkCacheError(f"{folder} is not a complete key folder: remove it")
    proving = groth16py.ProvingKey.load(str(folder / "proving.key"))
    verifying = groth16py.VerifyingKey.from_snarkjs((folder / "verification_key.json").read_text())
    constraints = json.loads((folder / "stats.json").read_text())["constraints"]
    return CircuitKeys(name, digest, proving, verifying, int(constraints))


CONSTRAINTS = re.compile(rb"non-linear constraints: (\d+)")
ANSI = re.compile(rb"\x1b\[[0-9;]*m")


def _setup(groth16py: Any, source: Path, log: Path) -> tuple[Any, Any, int]:
    """groth16py's setup of ``source``, with the compiler's report (which it prints
    on the process's standard output) kept in ``log`` for the constraint count."""
    sys.stdout.flush()
    saved = os.dup(1)
    with log.open("wb") as out:
        os.dup2(out.fileno(), 1)
        try:
            proving, verifying = groth16py.setup_circom(str(source), [groth16py.circomlib_path(2)])
        except groth16py.WitnessError as exc:
            os.dup2(saved, 1)
            report = ANSI.sub(b"", log.read_bytes()).decode(errors="replace")
            raise CircuitError(f"{source.name} does not compile:\n{report}") from exc
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    found = CONSTRAINTS.search(ANSI.sub(b"", log.read_bytes()))
    log.unlink()
    if found is None:
        raise ZkCacheError(f"the compiler reported no constraint count for {source.name}")
    return proving, verifying, int(found.group(1))


def prove(keys: CircuitKeys, inputs: Mapping[str, object], public: int) -> bytes:
    """A proof (256 bytes, EIP-197 word order) that the circuit holds for ``inputs``
    with public input ``public``; :class:`Unprovable` if it does not."""
    groth16py = _groth16()
    if not 0 <= public < R:
        raise ValueError("a public input is below the scalar field's order")
    try:
        proof: bytes = groth16py.prove(keys.proving, dict(inputs))
    except groth16py.WitnessError as exc:
        raise Unprovable(f"{keys.name}: the witness cannot be computed: {exc}") from exc
    if not groth16py.Verifier(keys.verifying).verify(proof, [public]):
        raise Unprovable(f"{keys.name}: the inputs do not satisfy the circuit")
    return proof


def verify(keys: CircuitKeys, proof: bytes, public: int) -> bool:
    """Check a proof off-chain (the node's own check; L1 runs Groth16Verifier.vy)."""
    groth16py = _groth16()
    if not 0 <= public < R or len(proof) != 256:
        return False
    try:
        return bool(groth16py.Verifier(keys.verifying).verify(proof, [public]))
    except (groth16py.EncodingError, groth16py.VerificationError):
        return False  # a coordinate off its curve


def snarkjs_proof(proof: bytes) -> dict[str, Any]:
    """A proof as snarkjs's ``proof.json`` (affine coordinates as decimal strings, G2
    in ``[c0, c1]`` order), for checking with other tools."""
    if len(proof) != 256:
        raise ValueError("a proof is 256 bytes")
    w = [str(int.from_bytes(proof[32 * i : 32 * i + 32], "big")) for i in range(8)]
    return {
        "pi_a": [w[0], w[1], "1"],
        "pi_b": [[w[3], w[2]], [w[5], w[4]], ["1", "0"]],
        "pi_c": [w[6], w[7], "1"],
        "protocol": "groth16",
        "curve": "bn128",
    }


def verifier_args(vk: Mapping[str, Any]) -> list[Any]:
    """A snarkjs ``verification_key.json`` (one public input) as the constructor
    arguments of ``Groth16Verifier.vy``: G1 points ``[x, y]``, G2 points in EIP-197's
    word order ``[x.c1, x.c0, y.c1, y.c0]``."""
    if vk.get("protocol") != "groth16" or vk.get("curve") != "bn128":
        raise ValueError("a Groth16 key over BN254 (bn128) is expected")
    if int(vk["nPublic"]) != 1 or len(vk["IC"]) != 2:
        raise ValueError("Groth16Verifier takes exactly one public input")

    def g1(point: list[str]) -> list[int]:
        # snarkjs writes projective points; z = 0 is the point at infinity, which the
        # precompiles take as (0, 0)
        if int(point[2]) == 0:
            return [0, 0]
        if int(point[2]) != 1:
            raise ValueError("a G1 point of the key is not affine (z is neither 1 nor 0)")
        return [int(point[0]), int(point[1])]

    def g2(point: list[list[str]]) -> list[int]:
        if [int(c) for c in point[2]] == [0, 0]:
            return [0, 0, 0, 0]
        if [int(c) for c in point[2]] != [1, 0]:
            raise ValueError("a G2 point of the key is not affine (z is neither 1 nor 0)")
        (x0, x1), (y0, y1) = point[0], point[1]
        return [int(x1), int(x0), int(y1), int(y0)]

    return [
        g1(vk["vk_alpha_1"]),
        g2(vk["vk_beta_2"]),
        g2(vk["vk_gamma_2"]),
        g2(vk["vk_delta_2"]),
        g1(vk["IC"][0]),
        g1(vk["IC"][1]),
    ]
