pragma circom 2.1.0;

// FillBatch of 1 fill slots at 32 positions per account and 64 instruments.

include "batch.circom";

component main = FillBatch(1, 32, 64);
