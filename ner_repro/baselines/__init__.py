"""Baseline embedding methods, registered as method kinds (see :mod:`ner_repro.methods`).

============ =================================== =============================================
kind         module                              what
============ =================================== =============================================
``pca``      :mod:`ner_repro.baselines.pca`      PCA of the direction-averaged trajectories
``dpca``     :mod:`ner_repro.baselines.dpca`     demixed PCA (stimulus x time), ``dPCA`` package
``umap``     :mod:`ner_repro.baselines.umap`     UMAP, unsupervised or with the angle as label
``pivae``    :mod:`ner_repro.baselines.pivae`    conv pi-VAE (Zhou & Wei 2020), in PyTorch
============ =================================== =============================================

Each returns an :class:`~ner_repro.embedding.EmbeddingRun` for the session's 80/20 trial split.
The submodules are imported on demand (:func:`ner_repro.methods.get` imports the module of the
kind it is asked for), so that using one baseline does not import the others' dependencies.
"""
