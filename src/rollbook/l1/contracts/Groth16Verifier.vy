# pragma version 0.4.3
# pragma evm-version prague
"""
@title Groth16Verifier
@notice Checks a Groth16 proof over BN254 with one public input (ZK mode, issue #8):
        e(A, B) = e(alpha, beta) * e(IC0 + x * IC1, gamma) * e(C, delta), with the EIP-196
        and EIP-197 precompiles. The verifying key is fixed at deployment (constructor
        arguments, kept as immutables), so one source serves every circuit's key.
@dev    `verify` reverts unless the proof checks; it never returns false. A verifier
        that returns false is a trap: with too little gas the pairing call fails, and
        a caller that reads "false" as "not yet" or an estimate that "succeeds" proves
        nothing. Here a failed precompile call reverts the whole call.
        Groth16 proofs are malleable (anyone can re-randomise a valid proof), so a
        caller keys replay protection on what is proven (the batch), never on the
        proof's bytes. The public input must be below the scalar field's order R: a
        caller reduces its hash first (x and x + R would otherwise verify alike).
        Proof layout (256 bytes, the EIP-197 word order): A.x, A.y, B.x.c1, B.x.c0,
        B.y.c1, B.y.c0, C.x, C.y.
"""

R: constant(uint256) = 21888242871839275222246405745257275088548364400416034343698204186575808495617
Q: constant(uint256) = 21888242871839275222246405745257275088696311157297823662689037894645226208583
PAIRING_GAS: constant(uint256) = 45000 + 4 * 34000  # EIP-1108: four pairs

ALPHA: immutable(uint256[2])
BETA: immutable(uint256[4])  # G2: x.c1, x.c0, y.c1, y.c0
GAMMA: immutable(uint256[4])
DELTA: immutable(uint256[4])
IC0: immutable(uint256[2])
IC1: immutable(uint256[2])


@deploy
def __init__(alpha: uint256[2], beta: uint256[4], gamma: uint256[4], delta: uint256[4], ic0: uint256[2], ic1: uint256[2]):
    ALPHA = alpha
    BETA = beta
    GAMMA = gamma
    DELTA = delta
    IC0 = ic0
    IC1 = ic1


@pure
@internal
def _g1(p: uint256[2]) -> Bytes[64]:
    return concat(convert(p[0], bytes32), convert(p[1], bytes32))


@pure
@internal
def _g2(p: uint256[4]) -> Bytes[128]:
    return concat(convert(p[0], bytes32), convert(p[1], bytes32), convert(p[2], bytes32), convert(p[3], bytes32))


@view
@external
def verify(proof: Bytes[256], public_input: uint256):
    """Revert unless `proof` proves the circuit for `public_input`."""
    assert len(proof) == 256, "Groth16Verifier: a proof is 256 bytes"
    assert public_input < R, "Groth16Verifier: the public input is not below the field's order"
    p: uint256[8] = abi_decode(proof, uint256[8])
    for i: uint256 in range(8):
        assert p[i] < Q, "Groth16Verifier: a proof coordinate is not below the base field's order"
    # vk_x = IC0 + x * IC1 (the precompiles revert on a point off the curve)
    vk_x: uint256[2] = ecadd(IC0, ecmul(IC1, public_input))
    # e(-A, B) * e(alpha, beta) * e(vk_x, gamma) * e(C, delta) == 1
    minus_a: uint256[2] = [p[0], (Q - p[1] % Q) % Q]
    pairs: Bytes[768] = concat(
        self._g1(minus_a),
        self._g2([p[2], p[3], p[4], p[5]]),
        self._g1(ALPHA),
        self._g2(BETA),
        self._g1(vk_x),
        self._g2(GAMMA),
        self._g1([p[6], p[7]]),
        self._g2(DELTA),
    )
    assert msg.gas > PAIRING_GAS, "Groth16Verifier: too little gas for the pairing check"
    ok: bool = False
    result: Bytes[32] = b""
    ok, result = raw_call(
        0x0000000000000000000000000000000000000008, pairs, max_outsize=32, is_static_call=True, revert_on_failure=False
    )
    assert ok and len(result) == 32, "Groth16Verifier: the pairing check failed to run"
    assert convert(result, uint256) == 1, "Groth16Verifier: the proof does not verify"
