# pragma version 0.4.3
"""
@title zkclaim
@notice A ZK batch's one public input (rollbook.zk.claim, docs/design/zk.md):
        sha256(old root || new root || data hash) mod r, the roots being Poseidon
        roots (field elements) and the data hash the SHA-256 of the batch's public data.
"""

R: constant(uint256) = 21888242871839275222246405745257275088548364400416034343698204186575808495617


@pure
@internal
def claim(old_root: uint256, new_root: uint256, data_hash: bytes32) -> uint256:
    assert old_root < R and new_root < R, "zkclaim: a state root is a field element"
    return convert(sha256(concat(convert(old_root, bytes32), convert(new_root, bytes32), data_hash)), uint256) % R
