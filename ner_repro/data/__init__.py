"""Getting the recordings in: files and their names, download and checksums, MATLAB containers,
the authors' smoothing, ingestion into sessions, the MC_Maze NWB reader, and the authors'
published intermediates (their Fig8 embeddings, the paper's published numbers).
"""
