# pragma version 0.4.3
# pragma evm-version prague
"""
@title StateProofs
@notice Reads and writes of the rollup's state tree from proofs, for anyone on L1:
        the `smt` module's checks as external views (what the one-step executor of #7
        runs per leaf, and what tools use to check a node's account or withdrawal
        proofs on-chain).
"""

import smt


@view
@external
def includes(root: bytes32, path: bytes32, value_hash: bytes32, proof: smt.Proof) -> bool:
    return smt.includes(root, path, value_hash, proof)


@view
@external
def excludes(root: bytes32, path: bytes32, proof: smt.Proof) -> bool:
    return smt.excludes(root, path, proof)


@view
@external
def root_after_update(
    root: bytes32,
    path: bytes32,
    has_old: bool,
    old_value: bytes32,
    has_new: bool,
    new_value: bytes32,
    proof: smt.Proof,
) -> bytes32:
    return smt.root_after_update(root, path, has_old, old_value, has_new, new_value, proof)
