"""Embedding methods, one module per kind, behind one registry (:mod:`ner_repro.methods.registry`).

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

:mod:`ner_repro.methods.common` holds what they share (trial blocks, parameters, the output
record). Each returns an :class:`~ner_repro.core.embedding.EmbeddingRun` for the session's split.
The kind modules are imported on demand (:func:`get` imports the module of the kind it is asked
for), so that using one method does not import the others' dependencies.
"""

from ner_repro.methods.registry import (
    MethodFn,
    get,
    is_resumable,
    options,
    register,
    run_method,
)

__all__ = ["MethodFn", "get", "is_resumable", "options", "register", "run_method"]
