"""snarkjs (npm, the reference implementation) checks rollbook's keys and proofs.

An independent cross-check of groth16py (#8): the verifying key groth16py made and a
proof it produced verify under ``snarkjs groth16 verify``; a proof of another
statement does not.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from rollbook.zk import keys as zk
from tests.zk.test_verifier import proven

SNARKJS = Path(__file__).resolve().parents[2] / "node_modules" / ".bin" / "snarkjs"


def snarkjs_verifies(tmp_path: Path, proof: bytes, public: int) -> bool:
    keys = zk.circuit_keys("key_auth")
    (tmp_path / "vk.json").write_text(keys.verifying.to_json())
    (tmp_path / "public.json").write_text(json.dumps([str(public)]))
    (tmp_path / "proof.json").write_text(json.dumps(zk.snarkjs_proof(proof)))
    run = subprocess.run(
        [str(SNARKJS), "groth16", "verify", "vk.json", "public.json", "proof.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return run.returncode == 0 and "OK" in run.stdout


def test_snarkjs_accepts_our_proof_and_refuses_another_statement(tmp_path: Path) -> None:
    assert SNARKJS.exists(), "make installs snarkjs (package.json)"
    proof, public = proven(1)
    assert snarkjs_verifies(tmp_path, proof, public)
    _, other = proven(4)
    assert not snarkjs_verifies(tmp_path, proof, other)
