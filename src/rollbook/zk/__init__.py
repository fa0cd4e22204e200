"""ZK mode (issue #8): circuits, their keys and proofs (docs/design/zk.md).

Needs the optional extra ``rollbook[zk]`` (groth16py, GPL-3.0: docs/licenses.md).
"""
