"""``benchmarks/authors_embeddings.py``: finding the authors' stored embeddings in a checkout of
their repository, and counting where their embedding, decoded by us, gives the published
number and where the published number lies inside our seeds' range.

The benchmark stays outside the suite (it needs that checkout); this checks its pure parts.
"""

from __future__ import annotations

import pandas as pd
import pytest


def test_the_authors_files_are_found_under_both_naming_schemes(tmp_path, bench_module):
    us = bench_module("umap_spread")
    root = tmp_path / "data_NER"
    files = {
        ("NER", "Chewie_20161007_M1"): "M1 4+6+6/NER_Chewie2016/NPZ/"
        "Chewie_161007_embed_20000itr_M1.npz",
        ("UMAP", "Han_20171204_S1"): "S1 3/UMAP_Han2017/NPZ/Han_201171204_embed_S1.npz",
    }
    decoy = "PMd 6+6/NER_Chewie2016_M1PMd/NPZ/Chewie_161007_embed_20000itr_PMd.npz"
    for rel in [*files.values(), decoy]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"")
    for (method, session), rel in files.items():
        assert us.authors_embedding(tmp_path, method, session) == root / rel
    # the two-area (M1+PMd) runs are other embeddings, not the session's own
    assert us.authors_embedding(tmp_path, "NER", "Chewie_20161007_PMd") is None
    assert us.authors_embedding(tmp_path, "Cebra", "Chewie_20161007_M1") is None


def test_verdicts_count_equal_numbers_and_published_inside_our_range(bench_module):
    ae = bench_module("authors_embeddings")
    rows = []

    def add(variant, session, metric, values, published):
        for seed, value in enumerate(values):
            rows.append(
                {
                    "implementation": f"NER {variant}",
                    "method": "NER",
                    "variant": variant,
                    "session": session,
                    "seed": seed,
                    "split": "test",
                    "metric": metric,
                    "value": value,
                    "published": published,
                }
            )

    # equal to the published (to 7 digits), which lies inside our range
    add("authors", "A", "pos_R2", [0.9012345], 0.901234)
    add("ours", "A", "pos_R2", [0.89, 0.90, 0.91], 0.901234)
    # equal, but outside our range: their one run landed outside our seeds'
    add("authors", "A", "vel_R2", [0.60], 0.60)
    add("ours", "A", "vel_R2", [0.55, 0.56, 0.57], 0.60)
    # not equal (our evaluation of their embedding gives another number)
    add("authors", "B", "pos_R2", [0.70], 0.75)
    add("ours", "B", "pos_R2", [0.74, 0.76], 0.75)
    stats = ae.summary_table(pd.DataFrame(rows))
    authors = stats[stats["variant"] == "authors"].set_index(["session", "metric"])
    assert list(authors["authors_equal_published"]) == ["True", "True", "False"]
    assert authors.loc[("B", "pos_R2"), "authors_minus_published"] == pytest.approx(-0.05)
    assert (stats.loc[stats["variant"] == "ours", "authors_equal_published"] == "").all()
    counts = ae.verdicts(stats)
    assert counts == {"exact": (2, 3), "inside": (2, 3), "authors_inside": (1, 3)}
