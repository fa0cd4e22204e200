pragma circom 2.1.0;

// One signed message, proven: the public input is Poseidon(A.x, A.y, m), so the
// proof says "the key A signed m" without the signature. The smallest circuit with
// rollbook's rules in it: the prover's, the verifier contract's and the EdDSA tests.

include "poseidon.circom";
include "signed.circom";

template KeyAuth() {
    signal input ax;
    signal input ay;
    signal input s;
    signal input r8x;
    signal input r8y;
    signal input m;
    signal output claim;

    component signed = SignedBy();
    signed.enabled <== 1;
    signed.ax <== ax;
    signed.ay <== ay;
    signed.s <== s;
    signed.r8x <== r8x;
    signed.r8y <== r8y;
    signed.m <== m;

    component hash = Poseidon(3);
    hash.inputs[0] <== ax;
    hash.inputs[1] <== ay;
    hash.inputs[2] <== m;
    claim <== hash.out;
}

component main = KeyAuth();
