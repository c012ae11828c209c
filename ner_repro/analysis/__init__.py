"""What is computed from embeddings: decoding (linear / k-NN, in-sample and held-out),
alignment (rotations onto an anchor), the figure evaluations (explained variance, cross
decoding, statistics), the per-rule steps that write their tables, and the MC_Maze analyses.
"""
