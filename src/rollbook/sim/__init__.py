"""Simulation kit: a world of traders, an oracle and listings over the real STF."""
