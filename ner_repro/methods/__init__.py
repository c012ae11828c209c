"""Embedding methods, one module per kind; every kind declared once, in :mod:`ner_repro.methods.kinds`.

============ ======================================== =============================================
kind         module                                   what
============ ======================================== =============================================
``ner``      :mod:`ner_repro.methods.contrastive`     NER (:class:`ner_patch.NER`, rank loss)
``cebra``    :mod:`ner_repro.methods.contrastive`     stock CEBRA, seeded sampling
``pca``      :mod:`ner_repro.methods.pca`             PCA of the direction-averaged trajectories
``dpca``     :mod:`ner_repro.methods.dpca`            demixed PCA (stimulus x time), ``dPCA`` package
``umap``     :mod:`ner_repro.methods.umap`            UMAP, unsupervised or with the angle as label
``pivae``    :mod:`ner_repro.methods.pivae`           conv pi-VAE (Zhou & Wei 2020), in PyTorch
============ ======================================== =============================================

:mod:`~ner_repro.methods.kinds` declares each kind's implementation, settings (defaults and
checks; the paper's NER/CEBRA settings are there), and how the workflow runs it;
:mod:`~ner_repro.methods.registry` runs a configured method; :mod:`~ner_repro.methods.common`
holds what the methods share (the preamble :func:`~ner_repro.methods.common.start`, trial
blocks, the output record) and :mod:`~ner_repro.methods.checkpoint` the one checkpoint format of
the resumable kinds. Each method returns an :class:`~ner_repro.core.embedding.EmbeddingRun`
for the session's split. A kind's module is imported only when that kind runs, so that using
one method does not import the others' dependencies.
"""

from ner_repro.methods.registry import (
    MethodFn,
    get,
    is_resumable,
    options,
    run_method,
)

__all__ = ["MethodFn", "get", "is_resumable", "options", "run_method"]
