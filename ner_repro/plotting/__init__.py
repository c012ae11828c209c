"""Figure rendering: one module per figure target, each with ``render(inputs, outputs, params)``.

The notebooks in ``workflow/notebooks`` call these functions with the papermill
parameters set by the workflow; they read analysis outputs only (no training or
decoding happens here). :mod:`ner_repro.plotting.style` holds what all figures share:
the authors' colours and axis styling, and the provenance footer every figure carries.
"""
