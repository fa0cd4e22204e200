pragma circom 2.1.0;

// A signature by a Baby Jubjub key (rollbook.crypto.babyjub): the rule every signed
// step of a batch checks. circomlib's EdDSAPoseidonVerifier checks S < L, a key of
// more than small order and S * BASE8 == R8 + 8 h A; it does not check that A and R8
// are on the curve, which rollbook.crypto.babyjub.verify refuses, so SignedBy does.

include "babyjub.circom";
include "eddsaposeidon.circom";

template SignedBy() {
    signal input enabled;
    signal input ax;
    signal input ay;
    signal input s;
    signal input r8x;
    signal input r8y;
    signal input m;

    // On the curve when enabled (BabyCheck asserts unconditionally, so a disabled
    // slot checks the identity (0, 1) instead).
    component key = BabyCheck();
    key.x <== ax * enabled;
    key.y <== (ay - 1) * enabled + 1;
    component r8 = BabyCheck();
    r8.x <== r8x * enabled;
    r8.y <== (r8y - 1) * enabled + 1;

    component eddsa = EdDSAPoseidonVerifier();
    eddsa.enabled <== enabled;
    eddsa.Ax <== ax;
    eddsa.Ay <== ay;
    eddsa.S <== s;
    eddsa.R8x <== r8x;
    eddsa.R8y <== r8y;
    eddsa.M <== m;
}
