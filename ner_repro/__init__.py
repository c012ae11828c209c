"""Reproduction of "Neural Embeddings Rank" (NeurIPS 2024) around the :mod:`ner_patch` plugin.

Sub-packages by stage, lowest first; a module imports only from its own stage or a lower one
(``tests/test_layout.py`` checks it, and that there is no import cycle):

* :mod:`ner_repro.core`      -- errors, atomic writes, provenance, configuration, the session and
  embedding ``.npz`` contracts, how a workflow job runs.
* :mod:`ner_repro.data`      -- recordings: names, download and checksums, MATLAB containers,
  smoothing, ingestion, the MC_Maze NWB reader, the authors' published intermediates.
* :mod:`ner_repro.synthetic` -- the centre-out simulator and a synthetic MC_Maze NWB file.
* :mod:`ner_repro.analysis`  -- decoding, alignment, the figure evaluations, MC_Maze analyses.
* :mod:`ner_repro.methods`   -- the method registry and one module per method kind.
* :mod:`ner_repro.plan`      -- every output path and every figure's spec (what the rules use).
* :mod:`ner_repro.plotting`  -- one module per figure, plus the shared drawing code.
* :mod:`ner_repro.report`    -- the reproduction report: published numbers next to ours.
* :mod:`ner_repro.cli`       -- commands for users' own data (``ner-embed``); the workflow
  uses none of it.
"""

__version__ = "0.1.0"
