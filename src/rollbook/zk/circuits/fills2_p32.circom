pragma circom 2.1.0;

// FillBatch of 2 fill slots at 32 positions per account and 64 instruments.

include "batch.circom";

component main = FillBatch(2, 32, 64);
