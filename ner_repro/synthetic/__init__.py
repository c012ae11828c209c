"""Simulated data with known latents: the centre-out reaching simulator (offline demo, tests)
and a small MC_Maze-like NWB file. Both are read back through :mod:`ner_repro.data`."""
