pragma circom 2.1.0;

// A signature by a Baby Jubjub key (rollbook.crypto.babyjub): the rule every signed
// step of a batch checks. circomlib's EdDSAPoseidonVerifier checks S < L, a key of
// more than small order and S * BASE8 == R8 + 8 h A; it does not check that A and R8
// are on the curve, which rollbook.crypto.babyjub.verify refuses, so SignedBy does.

include "babyjub.circom";
include "eddsaposeidon.circom";

// (x, y) is on Baby Jubjub when enabled is 1; anything goes when it is 0. BabyCheck
// asserts unconditionally, so a disabled slot checks the identity (0, 1) instead.
template OnCurveIfEnabled() {
    signal input enabled;
    signal input x;
    signal input y;
    enabled * (enabled - 1) === 0;
    component check = BabyCheck();
    check.x <== x * enabled;
    check.y <== (y - 1) * enabled + 1;
}

template SignedBy() {
    signal input enabled;
    signal input ax;
    signal input ay;
    signal input s;
    signal input r8x;
    signal input r8y;
    signal input m;

    component key = OnCurveIfEnabled();
    key.enabled <== enabled;
    key.x <== ax;
    key.y <== ay;
    component r8 = OnCurveIfEnabled();
    r8.enabled <== enabled;
    r8.x <== r8x;
    r8.y <== r8y;

    component eddsa = EdDSAPoseidonVerifier();
    eddsa.enabled <== enabled;
    eddsa.Ax <== ax;
    eddsa.Ay <== ay;
    eddsa.S <== s;
    eddsa.R8x <== r8x;
    eddsa.R8y <== r8y;
    eddsa.M <== m;
}
