"""Reproduction of "Neural Embeddings Rank" (NeurIPS 2024): ingestion, decoding,
alignment, baselines, figures and report around the :mod:`ner_patch` plugin.

Every concept lives in one module:

* :mod:`ner_repro.errors`      -- the one error type for bad input.
* :mod:`ner_repro.atomic`      -- all-or-nothing file writing.
* :mod:`ner_repro.provenance`  -- checksums, package versions, device, run metadata.
* :mod:`ner_repro.matfile`     -- MATLAB v5 / v7.3 containers.
* :mod:`ner_repro.smoothing`   -- the authors' Gaussian smoothing, ported from MATLAB.
* :mod:`ner_repro.ingest`      -- the three input formats -> :class:`~ner_repro.session.SessionData`.
* :mod:`ner_repro.session`     -- the per-session ``.npz`` contract.
* :mod:`ner_repro.embedding`   -- the per-run embedding ``.npz`` contract.
* :mod:`ner_repro.simulate`    -- the centre-out simulator (offline demo, tests' known latents).
* :mod:`ner_repro.acquire`     -- the recording manifest, download and checksum checks.
* :mod:`ner_repro.config`      -- configuration loading, validation and session lists.
"""

__version__ = "0.1.0"
