pragma circom 2.1.0;

// The standard-mode margin of perpetual positions, as rollbook.exchange.margin and
// rollbook.exchange.positions compute it (dYdX v4's and Derive's per-market IM/MM
// fractions of notional at mark), one position at a time:
//
//   payment = ceil(size * (F - funding_snap) / D) + ceil(|size| * (L_side - loss_snap) / D)
//   value   = floor(mark * size / SIZE_ONE)
//   IM      = ceil(|value| * im_ppm / PPM),  MM = ceil(|value| * mm_ppm / PPM)
//
// with D = SIZE_ONE * INDEX_SCALE and L_side the loss index of the position's side.
//
// Widths (each is checked where a value enters, or follows from a checked value):
// sizes and prices below 2^64, funding and loss indices below 2^110 in size, a
// position's value below 2^102, fee and margin rates below 2^32, balances and
// equities below 2^124 in size. The state keeps far inside them (every deposit is
// below 2^64 and there are fewer than 2^32; an index of 2^110 is 10^13 years of funding
// at the cap); a state outside them could not be proven, never proven wrongly.

include "arith.circom";
include "comparators.circom";
include "state.circom";

function SIZE_ONE() { return 100000000; }
function PPM() { return 1000000; }
function INDEX_DENOMINATOR() { return 100000000000000000000; }
function PERPETUAL() { return 1; }

// An instrument's values (zkroot.leaf_values, 31 of them): the places the margin
// engine and a fill read.
function I_ID() { return 1; }
function I_KIND() { return 3; }
function I_TICK() { return 5; }
function I_LOT() { return 6; }
function I_IM() { return 7; }
function I_MM() { return 8; }
function I_MAKER_FEE() { return 9; }
function I_TAKER_FEE() { return 10; }
function I_MAX_OI() { return 13; }
function I_ACTIVE() { return 17; }
function I_MARK() { return 18; }
function I_MARK_TIME() { return 19; }
function I_FUNDING() { return 23; }
function I_LOSS_LONG() { return 27; }
function I_LOSS_SHORT() { return 28; }
function I_OI() { return 29; }
function I_POOL() { return 30; }
function INSTRUMENT_VALUES() { return 31; }

// What a position's margin reads of its instrument, in this order.
function PRICED() { return 8; }
function PRICED_FIELD(i) {
    var fields[8] = [I_MARK(), I_MARK_TIME(), I_IM(), I_MM(), I_FUNDING(), I_LOSS_LONG(),
                     I_LOSS_SHORT(), I_KIND()];
    return fields[i];
}

// One instrument of the K a batch holds (instrument id = place): out[] are its PRICED
// fields and pick[] is one-hot on it. sum(pick) = enabled, so an enabled position
// names an instrument below K.
template PickInstrument(K) {
    signal input enabled;
    signal input id;
    signal input cache[K][INSTRUMENT_VALUES()];
    signal output pick[K];
    signal output out[PRICED()];

    signal found[K + 1];
    found[0] <== 0;
    component same[K];
    for (var j = 0; j < K; j++) {
        same[j] = IsEqual();
        same[j].in[0] <== id;
        same[j].in[1] <== j;
        pick[j] <== same[j].out * enabled;
        found[j + 1] <== found[j] + pick[j];
    }
    found[K] === enabled;
    signal terms[PRICED()][K];
    for (var f = 0; f < PRICED(); f++) {
        var sum = 0;
        for (var j = 0; j < K; j++) {
            terms[f][j] <== pick[j] * cache[j][PRICED_FIELD(f)];
            sum += terms[f][j];
        }
        out[f] <== sum;
    }
}

// The lazy settlement of one position (positions.pending_payment): what it pays its
// pool, and the loss snapshot it keeps (its side's index). neg and abs are its size's
// sign and size.
template Settle() {
    signal input size;
    signal input funding_snap;
    signal input loss_snap;
    signal input funding;
    signal input loss_long;
    signal input loss_short;
    signal output neg;
    signal output abs;
    signal output loss_side;
    signal output payment;

    component sign = SignAbs(64);
    sign.in <== size;
    neg <== sign.neg;
    abs <== sign.abs;
    loss_side <== loss_long + neg * (loss_short - loss_long);
    component funding_due = CeilDiv(175, INDEX_DENOMINATOR());
    funding_due.in <== size * (funding - funding_snap);
    component loss_due = CeilDiv(175, INDEX_DENOMINATOR());
    loss_due.in <== abs * (loss_side - loss_snap);
    payment <== funding_due.q + loss_due.q;
}

// A perpetual position's (value, IM, MM) at mark (margin.contribution); neg is the
// sign of size (a position's value has its size's sign or is 0).
template Contribution() {
    signal input size;
    signal input neg;
    signal input mark;
    signal input im_ppm;
    signal input mm_ppm;
    signal output value;
    signal output initial;
    signal output maintenance;

    component at_mark = FloorDiv(128, SIZE_ONE());
    at_mark.in <== mark * size;
    value <== at_mark.q;
    signal gross <== value * (1 - 2 * neg);
    component im = CeilDiv(134, PPM());
    im.in <== gross * im_ppm;
    initial <== im.q;
    component mm = CeilDiv(134, PPM());
    mm.in <== gross * mm_ppm;
    maintenance <== mm.q;
}

// margin.require_fresh_mark, when enabled: a mark, at most `staleness` seconds old.
template FreshMark() {
    signal input enabled;
    signal input mark_time;
    signal input now;
    signal input staleness;
    component none = IsZero();
    none.in <== mark_time;
    none.out * enabled === 0;
    component age = SignedLessEq(64);
    age.a <== now - mark_time;
    age.b <== staleness;
    (1 - age.out) * enabled === 0;
}

// The instruments' root: zkroot.ZERO[h] is the root of an empty subtree of height h.
function ZERO_HASH(h) {
    var zeros[17] = [
        0,
        14744269619966411208579211824598458697587494354926760081771325075741142829156,
        7423237065226347324353380772367382631490014989348495481811164164159255474657,
        11286972368698509976183087595462810875513684078608517520839298933882497716792,
        3607627140608796879659380071776844901612302623152076817094415224584923813162,
        19712377064642672829441595136074946683621277828620209496774504837737984048981,
        20775607673010627194014556968476266066927294572720319469184847051418138353016,
        3396914609616007258851405644437304192397291162432396347162513310381425243293,
        21551820661461729022865262380882070649935529853313286572328683688269863701601,
        6573136701248752079028194407151022595060682063033565181951145966236778420039,
        12413880268183407374852357075976609371175688755676981206018884971008854919922,
        14271763308400718165336499097156975241954733520325982997864342600795471836726,
        20066985985293572387227381049700832219069292839614107140851619262827735677018,
        9394776414966240069580838672673694685292165040808226440647796406499139370960,
        11331146992410411304059858900317123658895005918277453009197229807340014528524,
        15819538789928229930262697811477882737253464456578333862691129291651619515538,
        19217088683336594659449020493828377907203207941212636669271704950158751593251
    ];
    return zeros[h];
}

// The root of a tree of the given depth whose first N places (N a power of two) hold
// leaves and whose other places are empty.
template PrefixRoot(N, depth) {
    signal input leaves[N];
    signal output root;
    var levels = 0;
    while ((1 << levels) < N) {
        levels++;
    }
    assert((1 << levels) == N && levels <= depth);
    var nodes = N - 1 + depth - levels;
    component hash[nodes];
    signal layer[levels + 1][N];
    for (var i = 0; i < N; i++) {
        layer[0][i] <== leaves[i];
    }
    var at = 0;
    for (var h = 0; h < levels; h++) {
        for (var i = 0; i < (N >> (h + 1)); i++) {
            hash[at] = Poseidon(2);
            hash[at].inputs[0] <== layer[h][2 * i];
            hash[at].inputs[1] <== layer[h][2 * i + 1];
            layer[h + 1][i] <== hash[at].out;
            at++;
        }
        for (var i = N >> (h + 1); i < N; i++) {
            layer[h + 1][i] <== 0;
        }
    }
    signal up[depth - levels + 1];
    up[0] <== layer[levels][0];
    for (var h = levels; h < depth; h++) {
        hash[at] = Poseidon(2);
        hash[at].inputs[0] <== up[h - levels];
        hash[at].inputs[1] <== ZERO_HASH(h);
        up[h - levels + 1] <== hash[at].out;
        at++;
    }
    root <== up[depth - levels];
}

// zkroot.positions_hash of the first n of N positions (5 values each; the places past
// n hold zeros, which the caller checks): Poseidon over eleven values a call, the
// count first; the hash after the call that takes the n-th position's last value.
template PositionsHash(N) {
    signal input n;
    signal input list[N][5];
    signal output out;
    var values = 5 * N;
    var calls = (values + 10) \ 11;
    component hash[calls];
    for (var c = 0; c < calls; c++) {
        hash[c] = Poseidon(12);
        if (c == 0) {
            hash[c].inputs[0] <== n;
        } else {
            hash[c].inputs[0] <== hash[c - 1].out;
        }
        for (var k = 0; k < 11; k++) {
            var at = 11 * c + k;
            if (at < values) {
                hash[c].inputs[1 + k] <== list[at \ 5][at % 5];
            } else {
                hash[c].inputs[1 + k] <== 0;
            }
        }
    }
    // n positions take max(1, ceil(5n / 11)) calls.
    component count[N + 1];
    signal terms[N + 1];
    var sum = 0;
    for (var k = 0; k <= N; k++) {
        count[k] = IsEqual();
        count[k].in[0] <== n;
        count[k].in[1] <== k;
        var used = k == 0 ? 1 : (5 * k + 10) \ 11;
        terms[k] <== count[k].out * hash[used - 1].out;
        sum += terms[k];
    }
    out <== sum;
}
