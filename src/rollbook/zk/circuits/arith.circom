pragma circom 2.1.0;

// Signed integer arithmetic in the field, exactly as rollbook.exchange.numeric rounds.
//
// An integer v is the field element v mod p (zkroot.elements), so a negative v is
// p - |v|. Every template here bounds what it is given by a bit width, so that no
// product it forms wraps around p: a quotient and remainder are unique only while
// |q * d + r| < p / 2 (about 2^253). The widths the margin engine needs are in
// margin.circom's header.

include "bitify.circom";
include "comparators.circom";

// The number of bits of a positive constant.
function bit_width(d) {
    var n = 0;
    var x = d;
    while (x > 0) {
        n++;
        x = x \ 2;
    }
    return n;
}

// -2^b <= in < 2^b.
template SignedRange(b) {
    signal input in;
    component bits = Num2Bits(b + 1);
    bits.in <== in + 2 ** b;
}

// neg = 1 when in < 0, for -2^b <= in < 2^b (which it checks); abs = |in|.
template SignAbs(b) {
    signal input in;
    signal output neg;
    signal output abs;
    component bits = Num2Bits(b + 1);
    bits.in <== in + 2 ** b;
    neg <== 1 - bits.out[b];
    abs <== in * (1 - 2 * neg);
}

// q = floor(in / d) for a constant d > 0 and -2^nb <= in < 2^nb (nb + bits(d) <= 251).
template FloorDiv(nb, d) {
    signal input in;
    signal output q;
    var db = bit_width(d);
    assert(nb + db <= 251);
    signal r;
    var neg = in < 0;
    var magnitude = neg ? -in : in;
    var quotient = neg ? -((magnitude + d - 1) \ d) : magnitude \ d;
    q <-- quotient;
    r <-- in - quotient * d;
    in === q * d + r;
    // 0 <= r < d
    component low = Num2Bits(db);
    low.in <== r;
    component high = Num2Bits(db);
    high.in <== d - 1 - r;
    component range = SignedRange(nb - db + 2);
    range.in <== q;
}

// ceil(in / d) = -floor(-in / d).
template CeilDiv(nb, d) {
    signal input in;
    signal output q;
    component floor = FloorDiv(nb, d);
    floor.in <== -in;
    q <== -floor.q;
}

// q = floor(in / d) for a signal d >= 1 and -2^nb <= in < 2^nb (nb + db <= 250). It
// checks 0 <= r < d and d - 1 - r < 2^db, so a divisor of more than db + 1 bits has no
// witness; q and r are unique while |q * d + r| < p / 2.
template FloorDivBy(nb, db) {
    signal input in;
    signal input d;
    signal output q;
    assert(nb + db <= 250);
    signal r;
    var neg = in < 0;
    var magnitude = neg ? -in : in;
    var quotient = neg ? -((magnitude + d - 1) \ d) : magnitude \ d;
    q <-- quotient;
    r <-- in - quotient * d;
    in === q * d + r;
    // 0 <= r < d (so d >= 1)
    component low = Num2Bits(db);
    low.in <== r;
    component high = Num2Bits(db);
    high.in <== d - 1 - r;
    component range = SignedRange(nb);
    range.in <== q;
}

// out = 1 when a <= b, for -2^n <= a, b < 2^n (not checked: the caller bounds them).
template SignedLessEq(n) {
    signal input a;
    signal input b;
    signal output out;
    // b - a + 2^(n+1) is in [0, 2^(n+2)); it is >= 2^(n+1) exactly when a <= b.
    component bits = Num2Bits(n + 2);
    bits.in <== b - a + 2 ** (n + 1);
    out <== bits.out[n + 1];
}

// Assert a <= b (both bounded by 2^n in size, which it checks).
template AssertSignedLessEq(n) {
    signal input a;
    signal input b;
    component ra = SignedRange(n);
    ra.in <== a;
    component rb = SignedRange(n);
    rb.in <== b;
    component le = SignedLessEq(n);
    le.a <== a;
    le.b <== b;
    le.out === 1;
}

// out = c ? t : f, for a bit c.
template Pick() {
    signal input c;
    signal input t;
    signal input f;
    signal output out;
    out <== c * (t - f) + f;
}
