"""Tests of the compact codec (:mod:`rollbook.codec`)."""
