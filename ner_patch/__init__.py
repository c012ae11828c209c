"""NER (Neural Embeddings Rank) as a plugin on the released CEBRA package."""
