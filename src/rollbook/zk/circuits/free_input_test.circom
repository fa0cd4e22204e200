pragma circom 2.1.0;

// A test circuit whose one public input is free: any x is provable. The rollup
// contract's own rules (batch order, inputs, withdrawals, replay) are tested with it,
// fast and with real proofs; the claim's binding is BatchClaim's (claim_test).

template FreeInput() {
    signal input x;
    signal x2;
    x2 <== x * x;
}

component main {public [x]} = FreeInput();
