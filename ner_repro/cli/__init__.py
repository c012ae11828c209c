"""Commands for users' own data: the last stage, free to use every other one.

What belongs here is a command someone runs on their own recordings, outside the workflow:
reading their files (:mod:`~ner_repro.cli.inputs`: ``.npz``, ``.mat`` of either container,
``.csv``), checking them with messages that name the file or the option at fault, and writing
the same contracts as the workflow (:class:`~ner_repro.core.embedding.EmbeddingRun`, run
metadata, figures with a provenance footer). Nothing in the workflow imports from here.

* :mod:`~ner_repro.cli.embed` -- ``ner-embed``: NER on one recording's neural data and
  continuous labels; the embedding, the model, two figures and a decoding summary.
"""
